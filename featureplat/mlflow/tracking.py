"""Where MLflow tracks: the repo's embedded SQLite database by default, or the URI the
user gives (``--tracking-uri``, ``$MLFLOW_TRACKING_URI``, ``mlflow.set_tracking_uri``, a
server or PostgreSQL).

Every call that is given a feature repo or store (``log_training(store=...)``,
``serving_for_model``, ``online_features_for_model``, ``retrain``, ``reproduce(store=...)``)
goes through :func:`use_repo_tracking`: unless the user chose a tracking URI, it points
MLflow at ``sqlite:///<repo>/data/mlflow.db`` -- never MLflow's own default, a
``./mlflow.db`` in whatever directory the process runs in, where ``featureplat serve
--repo`` would not find the model.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from featureplat.errors import InputError
from featureplat.feast.repo import feature_store

__all__ = ["configure", "default_tracking_uri", "explicit_tracking_uri", "use_repo_tracking"]


def _mlflow():
    import mlflow

    return mlflow


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
    uri = tracking_uri or explicit_tracking_uri() or default_tracking_uri(repo, create=create)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    _defaulted = None
    if experiment:
        _select_experiment(repo, experiment)
    return uri


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
        mlflow.set_tracking_uri(tracking_uri)
        _defaulted = None
        return tracking_uri
    chosen = explicit_tracking_uri()
    if chosen or mlflow.active_run() is not None:
        return chosen or mlflow.get_tracking_uri()
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
