"""Where MLflow tracks: the repo's embedded SQLite database by default, or the URI the
user gives (``--tracking-uri``, ``$MLFLOW_TRACKING_URI``, ``mlflow.set_tracking_uri``, a
server or PostgreSQL).

Every call that is given a feature repo or store (``log_training(store=...)``,
``serving_for_model``, ``online_features_for_model``, ``retrain``, ``reproduce(store=...)``)
goes through :func:`use_repo_tracking`: unless the user chose a tracking URI, it points
MLflow at ``sqlite:///<repo>/data/mlflow.db`` -- never MLflow's own default, a
``./mlflow.db`` in whatever directory the process runs in, where ``featureplat serve
--repo`` would not find the model.

Every tracking call the project makes is bounded. Before MLflow is given a PostgreSQL or
HTTP(S) tracking (or registry) URI, :func:`check_tracking` probes it within
``$FEATUREPLAT_TRACKING_TIMEOUT`` seconds (default 3): a closed port, a server that
accepts and never answers, refused credentials give a :class:`TrackingError` naming the
URI (password redacted) instead of MLflow's ~100 s of engine retries or an unbounded wait.
MLflow's own PostgreSQL connections to a probed server get the same connect timeout, TCP
keepalives and a ``statement_timeout`` of ``$FEATUREPLAT_TRACKING_STATEMENT_TIMEOUT``
seconds (default 30) unless the URI sets them; for an HTTP(S) server MLflow's request
timeout and retries default to 15 s and 2 (``MLFLOW_HTTP_REQUEST_TIMEOUT``,
``MLFLOW_HTTP_REQUEST_MAX_RETRIES``, when not set). A connection lost during a call is
reported the same way (:func:`tracking_call`).
"""
from __future__ import annotations

import functools
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from featureplat.errors import FeatureplatError, InputError
from featureplat.feast.repo import feature_store

__all__ = ["TrackingError", "check_tracking", "configure", "default_tracking_uri", "explicit_tracking_uri",
           "redact", "tracking_call", "tracking_client", "use_repo_tracking"]

TIMEOUT_ENV = "FEATUREPLAT_TRACKING_TIMEOUT"
STATEMENT_TIMEOUT_ENV = "FEATUREPLAT_TRACKING_STATEMENT_TIMEOUT"
# MLflow's HTTP client defaults (120 s per request, 7 retries with backoff) wait minutes.
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_TIMEOUT": "15", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
                 "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1"}


class TrackingError(FeatureplatError, ConnectionError):
    """The MLflow tracking store (or model registry) cannot be reached or refused the
    connection; the message names its URI, password redacted."""


def _mlflow():
    import mlflow

    return mlflow


# ---- bounded tracking calls -----------------------------------------------------------------

def redact(uri: str) -> str:
    """``uri`` with its password (user info or a ``password`` query parameter) replaced by ***."""
    try:
        parts = urllib.parse.urlsplit(uri)
        netloc = parts.netloc
        if parts.password is not None:
            user, _, host = netloc.rpartition("@")
            netloc = f"{user.split(':', 1)[0]}:***@{host}"
        query = parts.query
        if query:
            pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
            query = urllib.parse.urlencode([(k, "***" if k.lower() == "password" else v) for k, v in pairs], safe="/")
        return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return "<an unparsable URI>"


def _seconds(var: str, default: int) -> int:
    raw = os.environ.get(var, "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise InputError(f"${var} must be a whole number of seconds >= 1, got {raw!r}")
    return value


def _timeouts() -> tuple[int, int]:
    # libpq's connect_timeout counts whole seconds and treats 1 as 2.
    return max(2, _seconds(TIMEOUT_ENV, 3)), _seconds(STATEMENT_TIMEOUT_ENV, 30)


def _scheme(uri: str) -> str:
    return uri.split(":", 1)[0].lower() if isinstance(uri, str) else ""


def check_tracking(uri: str) -> str:
    """Probes a PostgreSQL or HTTP(S) tracking URI within ``$FEATUREPLAT_TRACKING_TIMEOUT``
    seconds (other URIs -- SQLite, files -- need no probe) and bounds MLflow's later
    connections to it; returns ``uri`` or raises :class:`TrackingError`."""
    scheme = _scheme(uri)
    if scheme.startswith("postgres"):
        _check_postgres(uri)
    elif scheme in ("http", "https"):
        _check_http(uri)
    return uri


def _libpq_params(uri: str) -> dict:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(uri)
    except ArgumentError as err:
        raise InputError(f"not a tracking URI: {redact(uri)} ({err})") from None
    params = url.translate_connect_args(username="user", database="dbname")
    params.update({k: v for k, v in url.query.items() if isinstance(v, str)})
    return params


def _check_postgres(uri: str) -> None:
    import psycopg2

    connect, _ = _timeouts()
    params = _libpq_params(uri)
    options = f"{params.get('options', '')} -c statement_timeout={connect * 1000}".strip()
    start = time.monotonic()
    try:
        conn = psycopg2.connect(**{**params, "connect_timeout": connect, "options": options})
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
        finally:
            conn.close()
    except psycopg2.Error as err:
        reason = " ".join(str(err).split()) or type(err).__name__
        raise TrackingError(f"cannot reach the MLflow tracking store {redact(uri)} (gave up after "
                            f"{time.monotonic() - start:.1f} s, limit {connect} s per address): {reason}") from None
    _bound_connections(params)


_bounded: set[tuple] = set()


def _target(params: dict) -> tuple:
    return params.get("host"), int(params["port"]) if params.get("port") else None, params.get("dbname")


def _bound_connections(params: dict) -> None:
    """MLflow's engine for a probed server connects with the same bounds."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not _bounded:
        event.listen(Engine, "do_connect", _bounded_connect)
    _bounded.add(_target(params))


def _bounded_connect(dialect, conn_rec, cargs, cparams) -> None:
    if dialect.name != "postgresql" or dialect.driver not in ("psycopg2", "psycopg") or \
            _target(cparams) not in _bounded:
        return
    connect, statement = _timeouts()
    cparams.setdefault("connect_timeout", connect)
    for key, value in (("keepalives", 1), ("keepalives_idle", 10), ("keepalives_interval", 5),
                       ("keepalives_count", 3)):
        cparams.setdefault(key, value)
    options = cparams.get("options", "")
    if "statement_timeout" not in options:
        cparams["options"] = f"{options} -c statement_timeout={statement * 1000}".strip()


def _check_http(uri: str) -> None:
    for var, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(var, value)
    connect, _ = _timeouts()
    start = time.monotonic()
    try:
        # Any HTTP answer (a 401 from a proxy too) shows the server is there.
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=connect):  # http(s) only: the scheme was checked
            pass
    except urllib.error.HTTPError:
        pass
    except (urllib.error.URLError, OSError, ValueError) as err:  # TimeoutError is an OSError
        reason = getattr(err, "reason", err)
        raise TrackingError(f"cannot reach the MLflow tracking server {redact(uri)} (gave up after "
                            f"{time.monotonic() - start:.1f} s, limit {connect} s): {reason}") from None


def tracking_client():
    """``mlflow.MlflowClient()`` for the tracking and registry URIs set for MLflow, once
    both answered :func:`check_tracking`."""
    mlflow = _mlflow()
    tracking = check_tracking(mlflow.get_tracking_uri())
    registry = mlflow.get_registry_uri()
    if registry != tracking:
        check_tracking(registry)
    return mlflow.MlflowClient()


F = TypeVar("F", bound=Callable[..., Any])


def _lost_connection(err: BaseException) -> bool:
    """Whether ``err`` (or what caused it) is a tracking store that stopped answering."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if getattr(err, "error_code", None) == "TEMPORARILY_UNAVAILABLE":
            return True
        module = type(err).__module__
        if type(err).__name__ in ("OperationalError", "InterfaceError") and module.startswith(
                ("sqlalchemy", "psycopg2")):
            return True
        if module.startswith("requests") and type(err).__name__ in ("ConnectionError", "Timeout", "ReadTimeout",
                                                                    "ConnectTimeout", "RetryError"):
            return True
        err = err.__cause__ or err.__context__
    return False


def tracking_call(fn: F) -> F:
    """A public call that talks to MLflow: a tracking store lost during it is reported as
    :class:`TrackingError` naming the URI, not as the driver's exception."""
    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except FeatureplatError:
            raise
        except Exception as err:
            if not _lost_connection(err):
                raise
            uri = redact(_mlflow().get_tracking_uri())
            first = " ".join(str(err).split())[:300]
            raise TrackingError(f"the MLflow tracking store {uri} stopped answering during {fn.__name__}: "
                                f"{first}") from err
    return call  # type: ignore[return-value]


@dataclass
class _Defaulted:
    """What :func:`use_repo_tracking` set on its own: the repo default's URI and the
    experiment it selected. Anything else MLflow holds was the user's choice."""

    uri: str
    experiment_id: str | None


_defaulted: _Defaulted | None = None


def default_tracking_uri(repo: str | os.PathLike, *, create: bool = True) -> str:
    """The embedded default: an SQLite tracking and registry database in the repo's data
    dir. ``create=False`` (read-only commands) raises when there is none yet."""
    path = (Path(repo) / "data" / "mlflow.db").resolve()
    if not create and not path.is_file():
        raise InputError(f"no MLflow tracking database at {path}; train first, or give --tracking-uri "
                         "(or set MLFLOW_TRACKING_URI)")
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def explicit_tracking_uri() -> str | None:
    """The tracking URI the user chose (``mlflow.set_tracking_uri``, ``$MLFLOW_TRACKING_URI``,
    :func:`configure`), or None when none was chosen -- a repo default that
    :func:`use_repo_tracking` set is not a choice."""
    from mlflow.tracking._tracking_service import utils

    chosen = utils._tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not chosen or (_defaulted is not None and chosen == _defaulted.uri):
        return None
    return chosen


def _experiment_chosen() -> bool:
    from mlflow.tracking import fluent

    ours = _defaulted.experiment_id if _defaulted is not None else None
    active = fluent._active_experiment_id or os.environ.get("MLFLOW_EXPERIMENT_ID")
    return bool(os.environ.get("MLFLOW_EXPERIMENT_NAME")) or (active is not None and active != ours)


def _select_experiment(repo: str | os.PathLike, name: str) -> str:
    """Selects experiment ``name``, creating it with its artifacts under
    ``<repo>/data/mlartifacts`` (not a ``mlruns`` directory wherever the process runs)."""
    mlflow = _mlflow()
    client = mlflow.MlflowClient()
    exp = client.get_experiment_by_name(name)
    if exp is None:
        root = (Path(repo) / "data" / "mlartifacts").resolve()
        exp_id = client.create_experiment(name, artifact_location=root.as_uri())
    else:
        exp_id = exp.experiment_id
    mlflow.set_experiment(experiment_id=exp_id)
    return exp_id


@tracking_call
def configure(repo: str | os.PathLike, tracking_uri: str | None = None, experiment: str | None = None, *,
              create: bool = True) -> str:
    """Points MLflow's tracking and registry at ``tracking_uri`` (default: the URI the user
    chose, ``$MLFLOW_TRACKING_URI`` included, else the repo's embedded SQLite database) and,
    with ``experiment``, selects it -- created with its artifacts under
    ``<repo>/data/mlartifacts`` rather than a ``mlruns`` directory wherever the process
    happens to run. What it sets counts as chosen: later calls given another repo keep it."""
    global _defaulted
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow = _mlflow()
    uri = check_tracking(tracking_uri or explicit_tracking_uri() or default_tracking_uri(repo, create=create))
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    _defaulted = None
    if experiment:
        _select_experiment(repo, experiment)
    return uri


@tracking_call
def use_repo_tracking(store: Any, tracking_uri: str | None = None) -> str:
    """The tracking URI for work on ``store`` (a ``feast.FeatureStore`` or repo path):
    ``tracking_uri`` when given (then set, as a choice), else the URI the user chose, else
    the repo's ``sqlite:///<repo>/data/mlflow.db`` -- set for this process together with
    an experiment named after the Feast project (artifacts under ``<repo>/data/mlartifacts``)
    unless an experiment was chosen. Inside an active run nothing changes: the run lives
    in the store it was started in."""
    global _defaulted
    mlflow = _mlflow()
    if tracking_uri:
        mlflow.set_tracking_uri(check_tracking(tracking_uri))
        _defaulted = None
        return tracking_uri
    chosen = explicit_tracking_uri()
    if mlflow.active_run() is not None:
        return chosen or mlflow.get_tracking_uri()  # the run's store: it answered when the run started
    if chosen:
        return check_tracking(chosen)
    store = feature_store(store)
    repo = Path(store.repo_path)
    uri = default_tracking_uri(repo)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    keep_experiment = _experiment_chosen()
    if _defaulted is not None and _defaulted.uri == uri == mlflow.get_tracking_uri() and \
            (keep_experiment or _defaulted.experiment_id is not None):
        return uri  # already this repo's default
    mlflow.set_tracking_uri(uri)
    _defaulted = _Defaulted(uri, None)  # before selecting: set_experiment exports what it selects
    if not keep_experiment:
        _defaulted.experiment_id = _select_experiment(repo, store.config.project)
    return uri
