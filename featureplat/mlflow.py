"""MLflow lineage: model versions bound to their fitted plan, features and data.

* :func:`log_training` logs, in an MLflow run, the fitted plan, the Feast project,
  feature references and feature-view versions, the entity set (an artifact, with its
  time range and row count), the training data as a dataset input carrying **our
  content digest of the exact training matrix**, the per-feature statistics (the
  monitoring baseline), and the model: a pyfunc logged from code
  (:mod:`featureplat.mlflow_model`) whose artifacts are the plan and the estimator, so
  ``mlflow.pyfunc.load_model(uri).predict(raw_inputs)`` applies the same plan. Feast's
  own MLflow logger tags the run with the project, views and feature references.
* :func:`register` registers the model with the plan hash, feature references and
  digest as version tags; :func:`set_alias` promotes (``@champion``, ``@challenger``).
* :func:`load_model_plan` / :func:`serving_for_model` bind serving to the registry: the
  plan artifact must hash to what the version, its run and the model metadata say, and
  the core's major version must match, or serving is refused.
* :func:`lineage`, :func:`models_using_view`, :func:`reproduce` and :func:`retrain`
  answer where a model came from, what depends on a view, whether a training matrix
  can be rebuilt bit for bit, and run a guarded retraining.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import featureplat as fp
from featureplat.errors import FeatureplatError, InputError, PlanError
from featureplat.plan import FittedPlan, load_plan
from featureplat.repo import feature_store, view_records
from featureplat.training import TrainingSet, feast_refs, training_set

__all__ = [
    "ModelRecord", "Retraining", "TrainingRecord", "configure", "content_digest", "default_tracking_uri", "lineage",
    "load_model_plan", "log_training", "models_using_view", "register", "reproduce", "retrain", "score",
    "serving_for_model", "set_alias", "statistics_baseline",
]

TAG = "featureplat."
PLAN_ARTIFACT = "plan.fpplan"
ESTIMATOR_ARTIFACT = "estimator.joblib"
RUN_DIR = "featureplat"  # run artifacts: plan, entity set, baseline, digest


class LineageError(FeatureplatError):
    """A model version's recorded lineage does not hold (tampered or swapped artifacts,
    a core version that cannot serve it, a missing record)."""


def _mlflow():
    import mlflow

    return mlflow


def default_tracking_uri(repo: str | os.PathLike, *, create: bool = True) -> str:
    """The embedded default: an SQLite tracking and registry database in the repo's data
    dir. ``create=False`` (read-only commands) raises when there is none yet."""
    path = (Path(repo) / "data" / "mlflow.db").resolve()
    if not create and not path.is_file():
        raise InputError(f"no MLflow tracking database at {path}; train first, or give --tracking-uri "
                         "(or set MLFLOW_TRACKING_URI)")
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def configure(repo: str | os.PathLike, tracking_uri: str | None = None, experiment: str | None = None, *,
              create: bool = True) -> str:
    """Points MLflow's tracking and registry at ``tracking_uri`` (default:
    ``$MLFLOW_TRACKING_URI``, else the repo's embedded SQLite database) and, with
    ``experiment``, selects it -- created with its artifacts under ``<repo>/data/mlartifacts``
    rather than a ``mlruns`` directory wherever the process happens to run."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow = _mlflow()
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri(repo, create=create)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    if experiment:
        client = mlflow.MlflowClient()
        exp = client.get_experiment_by_name(experiment)
        if exp is None:
            root = (Path(repo) / "data" / "mlartifacts").resolve()
            exp_id = client.create_experiment(experiment, artifact_location=root.as_uri())
        else:
            exp_id = exp.experiment_id
        mlflow.set_experiment(experiment_id=exp_id)
    return uri


def _core_major(version: str) -> str:
    return version.split(".")[0]


def score(estimator: Any, X: np.ndarray) -> np.ndarray:  # noqa: N803 - a model input matrix
    """The estimator's score per row: P(positive class) when it has predict_proba."""
    if hasattr(estimator, "predict_proba"):
        return np.asarray(estimator.predict_proba(X))[:, -1]
    return np.asarray(estimator.predict(X))


# ---- digests and statistics ---------------------------------------------------------------

def _column_digest(name: str, values: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(b"featureplat-column-v1\0")
    h.update(name.encode() + b"\0")
    h.update(str(values.dtype).encode() + b"\0")
    h.update(np.ascontiguousarray(values).tobytes())
    return h.hexdigest()


def content_digest(ts: TrainingSet) -> dict:
    """sha256 of the exact training matrix (every float64 bit, NaN payloads included, in
    row order) and labels, with one digest per column so a difference can be located.
    MLflow's own dataset digest hashes only the first rows; this hashes everything."""
    X = ts.X
    cols = {name: _column_digest(name, X[:, j]) for j, name in enumerate(ts.plan.features)}
    for name in ts.label_names:
        arr = ts.entity.column(name).combine_chunks()
        values = np.asarray(pc.fill_null(arr, pa.scalar(0, arr.type)) if arr.null_count else arr)
        cols[f"label:{name}"] = _column_digest(f"label:{name}", values)
    h = hashlib.sha256(b"featureplat-training-v1\0")
    h.update(f"{X.shape[0]}x{X.shape[1]}\0".encode())
    for name, d in cols.items():
        h.update(name.encode() + b"\0" + d.encode())
    return {"digest": h.hexdigest(), "rows": int(X.shape[0]), "columns": cols}


def statistics_baseline(ts: TrainingSet) -> dict:
    """Per feature of the training matrix: count, nulls, mean, std, min, max and
    quantiles -- the baseline drift monitoring compares serving traffic against."""
    X = ts.X
    out = {}
    for j, name in enumerate(ts.plan.features):
        col = X[:, j]
        present = col[~np.isnan(col)]
        entry: dict[str, Any] = {"rows": int(col.size), "nulls": int(col.size - present.size)}
        if present.size:
            q = np.percentile(present, [1, 5, 25, 50, 75, 95, 99])
            entry.update(mean=float(present.mean()), std=float(present.std()), min=float(present.min()),
                         max=float(present.max()), quantiles=dict(zip(["p1", "p5", "p25", "p50", "p75", "p95", "p99"],
                                                                     map(float, q))))
        out[name] = entry
    return out


def _entity_range(ts: TrainingSet, timestamp: str) -> tuple[str | None, str | None]:
    col = ts.entity.column(timestamp)
    lo, hi = pc.min(col).as_py(), pc.max(col).as_py()
    return (lo.isoformat() if lo else None, hi.isoformat() if hi else None)


# ---- logging a training run ----------------------------------------------------------------

@dataclass
class TrainingRecord:
    """What :func:`log_training` logged."""

    run_id: str
    model_uri: str
    plan_hash: str
    digest: str
    version: str | None = None  # when registered


def _feast_logger(store: Any, tracking_uri: str):
    """Feast's own MLflow logger (tags feast.project, feast.feature_views,
    feast.feature_refs, entity metadata), configured for this tracking URI."""
    from types import SimpleNamespace

    from feast.mlflow_integration.config import MlflowConfig
    from feast.mlflow_integration.logger import FeastMlflowLogger

    mlflow = _mlflow()
    cfg = MlflowConfig(enabled=True, tracking_uri=tracking_uri)
    shim = SimpleNamespace(project=store.config.project, config=SimpleNamespace(mlflow=cfg))
    return FeastMlflowLogger(shim, mlflow, mlflow.MlflowClient(tracking_uri))


def log_training(ts: TrainingSet, estimator: Any, *, store: Any, feature_set: str | None = None,
                 timestamp: str = "event_timestamp", tracking_uri: str | None = None,
                 register_as: str | None = None, run_name: str | None = None,
                 params: dict | None = None) -> TrainingRecord:
    """Logs a training run for ``ts`` (a :class:`~featureplat.training.TrainingSet`) and
    the fitted ``estimator`` (anything joblib can store with predict/predict_proba),
    inside the active MLflow run or a new one. ``register_as`` also registers the model
    (see :func:`register`). Returns the run id, model URI, plan hash and data digest."""
    mlflow = _mlflow()
    store = feature_store(store)
    uri = tracking_uri or mlflow.get_tracking_uri()
    if tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)
    plan = ts.plan
    digest = content_digest(ts)
    by_view = feast_refs(plan)
    refs = [f"{v}:{f}" for v, features in by_view.items() for f in features]
    views = view_records(store, list(by_view))
    start, end = _entity_range(ts, timestamp)
    active = mlflow.active_run()
    run = active or mlflow.start_run(run_name=run_name or f"train_{plan.name}")
    try:
        run_id = run.info.run_id
        logger = _feast_logger(store, uri)
        logger.log_feature_retrieval(refs, ts.num_rows, 0.0, retrieval_type="historical")
        logger.log_entity_df_metadata(None, start, end)
        mlflow.set_tags({
            TAG + "plan_hash": plan.plan_hash, TAG + "plan_name": plan.name,
            TAG + "feature_set": feature_set or plan.name,
            TAG + "core_version": fp.__version__, TAG + "plan_format": str(plan.format_version),
            TAG + "feature_refs": json.dumps(refs), TAG + "feature_views": json.dumps(views, sort_keys=True),
            TAG + "repo": str(Path(store.repo_path).resolve()), TAG + "data_digest": digest["digest"],
            TAG + "entity_rows": str(ts.num_rows), TAG + "entity_start": start or "", TAG + "entity_end": end or "",
            TAG + "labels": json.dumps(ts.label_names), TAG + "timestamp": timestamp,
            **{f"{TAG}view.{v}": json.dumps(info, sort_keys=True) for v, info in views.items()},
        })
        if params:
            mlflow.log_params(params)
        from mlflow.data.code_dataset_source import CodeDatasetSource

        # Produced by code: the plan over Feast's point-in-time rows (reproduce() rebuilds it).
        source = CodeDatasetSource({"featureplat.repo": str(Path(store.repo_path).resolve()),
                                    "feast.project": store.config.project,
                                    "featureplat.plan_hash": plan.plan_hash})
        dataset = mlflow.data.from_numpy(ts.X, targets=ts.y if ts.label_names else None, source=source,
                                         name=f"{feature_set or plan.name}_training",
                                         digest=digest["digest"][:32])
        mlflow.log_input(dataset, context="training",
                         tags={"featureplat.data_digest": digest["digest"], "featureplat.rows": str(ts.num_rows)})
        with tempfile.TemporaryDirectory() as tmp:
            tmpd = Path(tmp)
            plan_path = plan.save(tmpd / PLAN_ARTIFACT)
            pq.write_table(ts.entity, tmpd / "entity_set.parquet")
            (tmpd / "baseline.json").write_text(json.dumps(statistics_baseline(ts), indent=1, sort_keys=True))
            (tmpd / "digest.json").write_text(json.dumps(digest, indent=1, sort_keys=True))
            for name in (PLAN_ARTIFACT, "entity_set.parquet", "baseline.json", "digest.json"):
                mlflow.log_artifact(str(tmpd / name), artifact_path=RUN_DIR)
            import joblib

            est_path = tmpd / ESTIMATOR_ARTIFACT
            joblib.dump(estimator, est_path)
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=str(Path(__file__).with_name("mlflow_model.py")),
                artifacts={"plan": str(plan_path), "estimator": str(est_path)},
                metadata={"featureplat_plan_hash": plan.plan_hash, "featureplat_core_version": fp.__version__,
                          "featureplat_data_digest": digest["digest"]},
                pip_requirements=[f"featureplat=={fp.__version__}", "scikit-learn", "joblib"],
            )
        record = TrainingRecord(run_id=run_id, model_uri=info.model_uri, plan_hash=plan.plan_hash,
                                digest=digest["digest"])
        if register_as:
            record.version = register(record, register_as)
        return record
    finally:
        if active is None:
            mlflow.end_run()


def register(record: TrainingRecord, name: str) -> str:
    """Registers the run's model as a new version of ``name``, tagged with the plan hash,
    core version, feature references and data digest; returns the version."""
    mlflow = _mlflow()
    client = mlflow.MlflowClient()
    run = client.get_run(record.run_id)
    tags = {k: v for k, v in run.data.tags.items()
            if k in (TAG + "plan_hash", TAG + "core_version", TAG + "plan_format", TAG + "feature_refs",
                     TAG + "feature_views", TAG + "data_digest", TAG + "feature_set", "feast.project")}
    mv = mlflow.register_model(record.model_uri, name, tags=tags)
    return str(mv.version)


def set_alias(name: str, alias: str, version: str | int) -> None:
    """Points ``models:/name@alias`` at ``version``."""
    _mlflow().MlflowClient().set_registered_model_alias(name, alias, str(version))


# ---- the registry as the source of truth for serving --------------------------------------

@dataclass
class ModelRecord:
    """A model version resolved from a ``models:/`` URI, with its verified plan."""

    name: str
    version: str
    run_id: str
    plan: FittedPlan
    tags: dict
    run_tags: dict
    local_dir: str
    aliases: list = field(default_factory=list)

    def estimator(self):
        import joblib

        return joblib.load(Path(self.local_dir) / "artifacts" / ESTIMATOR_ARTIFACT)


def _parse_model_uri(uri: str) -> tuple[str, str | None, str | None]:
    if not isinstance(uri, str) or not uri.startswith("models:/"):
        raise InputError(f"model URI must look like models:/name/3 or models:/name@alias, got {uri!r}")
    rest = uri[len("models:/"):]
    if "@" in rest:
        name, alias = rest.split("@", 1)
        if not name or not alias or "/" in alias:
            raise InputError(f"bad model URI {uri!r}")
        return name, None, alias
    name, _, version = rest.rpartition("/")
    if not name or not version.isdigit():
        raise InputError(f"model URI must look like models:/name/3 or models:/name@alias, got {uri!r}")
    return name, version, None


def load_model_plan(uri: str, *, expected_plan_hash: str | None = None) -> ModelRecord:
    """Resolves ``uri`` in the registry, downloads the model and verifies its plan: the
    artifact's hash must equal the version's tag, the training run's tag and the model's
    metadata (and ``expected_plan_hash`` when given), and the core's major version must
    match the one that trained it. Raises :class:`LineageError` otherwise."""
    mlflow = _mlflow()
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient()
    name, version, alias = _parse_model_uri(uri)
    try:
        mv = client.get_model_version_by_alias(name, alias) if alias else client.get_model_version(name, version)
    except MlflowException as e:
        raise LineageError(f"{uri}: no such model version in the registry ({e.message})") from None
    tags = dict(mv.tags)
    want = tags.get(TAG + "plan_hash")
    if not want:
        raise LineageError(f"{uri} (version {mv.version}) carries no {TAG}plan_hash tag: not a featureplat model")
    core = tags.get(TAG + "core_version", "")
    if _core_major(core) != _core_major(fp.__version__):
        raise LineageError(f"{uri} (version {mv.version}) was trained with featureplat core {core}; this is "
                           f"{fp.__version__} (major versions differ), so it cannot serve it")
    run_tags = client.get_run(mv.run_id).data.tags if mv.run_id else {}
    if run_tags.get(TAG + "plan_hash") != want:
        raise LineageError(f"{uri} (version {mv.version}): the version says plan {want[:16]}, its training run "
                           f"{mv.run_id} logged plan {str(run_tags.get(TAG + 'plan_hash'))[:16]}: swapped model")
    local = mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{mv.version}",
                                                dst_path=tempfile.mkdtemp(prefix="featureplat-model-"))
    plan_file = Path(local) / "artifacts" / PLAN_ARTIFACT
    try:
        plan = load_plan(plan_file)
    except PlanError as e:
        raise LineageError(f"{uri} (version {mv.version}): its plan artifact is unreadable: {e}") from None
    if plan.plan_hash != want:
        raise LineageError(f"{uri} (version {mv.version}): the plan artifact hashes to {plan.plan_hash[:16]}, the "
                           f"registry says {want[:16]}: the artifact was tampered with or swapped; refusing to serve")
    from mlflow.models import Model

    meta = (Model.load(local).metadata or {}).get("featureplat_plan_hash")
    if meta != want:
        raise LineageError(f"{uri} (version {mv.version}): the model's metadata says plan {str(meta)[:16]}, the "
                           f"registry says {want[:16]}")
    if expected_plan_hash is not None and expected_plan_hash != want:
        raise LineageError(f"{uri} now resolves to version {mv.version} with plan {want[:16]}, not the expected "
                           f"{expected_plan_hash[:16]}; refusing to serve a different plan")
    if plan.needs_fit or not isinstance(plan, FittedPlan):
        plan = FittedPlan(plan.to_dict())
    return ModelRecord(name=name, version=str(mv.version), run_id=mv.run_id, plan=plan, tags=tags,
                       run_tags=dict(run_tags), local_dir=str(local), aliases=list(getattr(mv, "aliases", []) or []))


class ServedModel:
    """A registered model served online: features from the store through its verified
    plan (:class:`~featureplat.serving.OnlineFeatures`), then its estimator."""

    def __init__(self, store: Any, uri: str, *, expected_plan_hash: str | None = None, **serving_kwargs):
        from featureplat.serving import OnlineFeatures

        self.features = OnlineFeatures.from_model(store, uri, expected_plan_hash=expected_plan_hash,
                                                  **serving_kwargs)
        self.record: ModelRecord = self.features.model
        self.uri = uri
        self._estimator = self.record.estimator()

    @property
    def plan(self) -> FittedPlan:
        return self.record.plan

    def predict(self, entity_rows: Any, request_data: Any = None, *, at: Any = None):
        """The model's score for one entity (a float) or many (an array)."""
        X = self.features.get(entity_rows, request_data, at=at)
        single = X.ndim == 1
        out = score(self._estimator, X.reshape(1, -1) if single else X)
        return float(out[0]) if single else out


def serving_for_model(store: Any, uri: str, **kwargs) -> ServedModel:
    """:class:`ServedModel` for ``uri`` (``models:/name@alias`` or ``models:/name/3``)."""
    return ServedModel(store, uri, **kwargs)


# ---- lineage ---------------------------------------------------------------------------------

def lineage(uri: str) -> dict:
    """The chain data -> feature views -> plan -> run -> model version for ``uri``."""
    mlflow = _mlflow()
    rec = load_model_plan(uri)
    client = mlflow.MlflowClient()
    run = client.get_run(rec.run_id)
    mv = client.get_model_version(rec.name, rec.version)
    rt = run.data.tags
    inputs = []
    for d in (run.inputs.dataset_inputs if run.inputs else []):
        inputs.append({"name": d.dataset.name, "digest": d.dataset.digest, "source": d.dataset.source,
                       "tags": {t.key: t.value for t in d.tags}})
    return {
        "data": {"digest": rt.get(TAG + "data_digest"), "rows": int(rt.get(TAG + "entity_rows", "0")),
                 "entity_start": rt.get(TAG + "entity_start"), "entity_end": rt.get(TAG + "entity_end"),
                 "labels": json.loads(rt.get(TAG + "labels", "[]")), "datasets": inputs},
        "feature_views": json.loads(rt.get(TAG + "feature_views", "{}")),
        "feast": {"project": rt.get("feast.project"), "feature_refs": json.loads(rt.get(TAG + "feature_refs", "[]"))},
        "plan": {"hash": rec.plan.plan_hash, "name": rec.plan.name, "format_version": rec.plan.format_version,
                 "features": rec.plan.features, "core_version": rt.get(TAG + "core_version")},
        "run": {"id": run.info.run_id, "experiment_id": run.info.experiment_id, "user": run.info.user_id,
                "start": _ms(run.info.start_time), "end": _ms(run.info.end_time), "status": run.info.status},
        "model_version": {"name": rec.name, "version": rec.version, "aliases": list(mv.aliases or []),
                          "created": _ms(mv.creation_timestamp), "user": mv.user_id or None, "source": mv.source},
    }


def _ms(ms: int | None) -> str | None:
    if not ms:
        return None
    return _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.timezone.utc).isoformat()


def format_lineage(doc: dict) -> str:
    """A readable rendering of :func:`lineage`."""
    d, p, r, m = doc["data"], doc["plan"], doc["run"], doc["model_version"]
    lines = [f"data        digest {d['digest']}",
             f"            {d['rows']} entity rows, {d['entity_start']} .. {d['entity_end']}; labels {d['labels']}"]
    for v, info in sorted(doc["feature_views"].items()):
        lines.append(f"  view      {v}: version {info.get('version')}, ttl {info.get('ttl_seconds')} s, "
                     f"source {info.get('source')}")
    lines += [f"  feast     project {doc['feast']['project']}, {len(doc['feast']['feature_refs'])} feature refs",
              f"plan        {p['name']} {p['hash']} (format {p['format_version']}, core {p['core_version']}, "
              f"{len(p['features'])} features)",
              f"run         {r['id']} by {r['user']}, {r['start']} .. {r['end']} ({r['status']})",
              f"model       {m['name']} version {m['version']} aliases {m['aliases']} created {m['created']}"]
    return "\n".join(lines)


def models_using_view(view: str, name: str | None = None) -> list[dict]:
    """Registered model versions whose plan reads feature view ``view`` (optionally only
    versions of model ``name``)."""
    client = _mlflow().MlflowClient()
    flt = f"name = '{name}'" if name else ""
    out = []
    for mv in client.search_model_versions(flt):
        views = json.loads(mv.tags.get(TAG + "feature_views", "{}") or "{}")
        if view in views:
            out.append({"name": mv.name, "version": str(mv.version), "aliases": list(mv.aliases or []),
                        "run_id": mv.run_id, "plan_hash": mv.tags.get(TAG + "plan_hash"),
                        "view_version": views[view].get("version")})
    return sorted(out, key=lambda x: (x["name"], int(x["version"])))


# ---- reproduce ----------------------------------------------------------------------------

@dataclass
class Reproduction:
    """The outcome of :func:`reproduce`."""

    run_id: str
    logged: str
    rebuilt: str
    rows_logged: int
    rows_rebuilt: int
    differing_columns: list

    @property
    def matches(self) -> bool:
        return self.logged == self.rebuilt


def reproduce(run_id: str, *, store: Any = None, method: str = "native", threads: int = 1) -> Reproduction:
    """Rebuilds a run's training matrix from Feast with its logged plan and entity set and
    compares it with the logged digest (overall and per column)."""
    mlflow = _mlflow()
    client = mlflow.MlflowClient()
    run = client.get_run(run_id)
    tags = run.data.tags
    if TAG + "data_digest" not in tags:
        raise LineageError(f"run {run_id} was not logged by featureplat (no {TAG}data_digest tag)")
    store = feature_store(store if store is not None else tags[TAG + "repo"])
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=RUN_DIR, dst_path=tmp))
        plan = load_plan(local / PLAN_ARTIFACT)
        if plan.plan_hash != tags[TAG + "plan_hash"]:
            raise LineageError(f"run {run_id}: the plan artifact hashes to {plan.plan_hash[:16]}, the run logged "
                               f"{tags[TAG + 'plan_hash'][:16]}")
        entity = pq.read_table(local / "entity_set.parquet")
        logged = json.loads((local / "digest.json").read_text())
    ts = training_set(store, plan, entity, label=json.loads(tags.get(TAG + "labels", "[]")) or None,
                      timestamp=tags.get(TAG + "timestamp") or None, method=method, threads=threads)
    rebuilt = content_digest(ts)
    differing = sorted(k for k in set(logged["columns"]) | set(rebuilt["columns"])
                       if logged["columns"].get(k) != rebuilt["columns"].get(k))
    return Reproduction(run_id=run_id, logged=logged["digest"], rebuilt=rebuilt["digest"],
                        rows_logged=logged["rows"], rows_rebuilt=rebuilt["rows"], differing_columns=differing)


# ---- retraining ------------------------------------------------------------------------------

_HIGHER_IS_BETTER = {"roc_auc": True, "accuracy": True, "average_precision": True, "log_loss": False,
                     "brier": False}


@dataclass
class Retraining:
    """A retraining declared in a feature repo (any module may define one; ``featureplat
    retrain`` runs it). ``train(X, y)`` returns a fitted estimator. The candidate is
    promoted to ``alias`` only when it is no worse than the current holder by ``metric``
    on the held-out (latest ``holdout_fraction`` by time) entity rows."""

    model_name: str
    feature_set: str
    labels: str  # entity rows with labels: a parquet path relative to the repo
    label: str
    train: Callable[[np.ndarray, np.ndarray], Any]
    metric: str = "roc_auc"
    holdout_fraction: float = 0.2
    alias: str = "champion"
    timestamp: str = "event_timestamp"

    def __post_init__(self):
        if self.metric not in _HIGHER_IS_BETTER:
            raise InputError(f"metric must be one of {sorted(_HIGHER_IS_BETTER)}, got {self.metric!r}")
        if not 0 < self.holdout_fraction < 1:
            raise InputError(f"holdout_fraction must be in (0, 1), got {self.holdout_fraction}")


def evaluate(metric: str, y: np.ndarray, scores: np.ndarray) -> float:
    """The named metric of ``scores`` against labels ``y``."""
    from sklearn import metrics as m

    y = np.asarray(y).astype(np.float64)
    if metric == "roc_auc":
        return float(m.roc_auc_score(y, scores))
    if metric == "average_precision":
        return float(m.average_precision_score(y, scores))
    if metric == "accuracy":
        return float(m.accuracy_score(y, scores >= 0.5))
    if metric == "log_loss":
        return float(m.log_loss(y, np.clip(scores, 1e-15, 1 - 1e-15), labels=[0.0, 1.0]))
    return float(np.mean((scores - y) ** 2))


@dataclass
class RetrainOutcome:
    run_id: str
    version: str
    promoted: bool
    reason: str
    candidate_metric: float
    champion_metric: float | None
    champion_version: str | None


def retrain(store: Any, spec: Retraining, *, now: _dt.datetime | None = None, train: Callable | None = None,
            threads: int = 1) -> RetrainOutcome:
    """Runs ``spec`` as one MLflow run: a point-in-time training set of the labelled
    entity rows up to ``now``, a freshly fitted plan, the training function, evaluation of
    the candidate and of the current alias holder on the held-out rows, registration of
    the candidate, and promotion only when it is no worse. Decision and reason are logged."""
    mlflow = _mlflow()
    store = feature_store(store)
    now = now or _dt.datetime.now(_dt.timezone.utc)
    path = Path(store.repo_path) / spec.labels if not os.path.isabs(spec.labels) else Path(spec.labels)
    entity = pq.read_table(path)
    entity = entity.filter(pc.less_equal(entity.column(spec.timestamp), pa.scalar(now, entity.schema.field(
        spec.timestamp).type)))
    if entity.num_rows < 10:
        raise InputError(f"only {entity.num_rows} labelled entity rows up to {now.isoformat()}; too few to retrain")
    order = pc.sort_indices(entity, sort_keys=[(spec.timestamp, "ascending")])
    entity = entity.take(order)
    cut = int(round(entity.num_rows * (1 - spec.holdout_fraction)))
    train_rows, held = entity.slice(0, cut), entity.slice(cut)
    client = mlflow.MlflowClient()
    train_fn = train or spec.train
    with mlflow.start_run(run_name=f"retrain_{spec.model_name}") as run:
        ts = training_set(store, spec.feature_set, train_rows, label=spec.label, timestamp=spec.timestamp,
                          threads=threads)
        estimator = train_fn(ts.X, ts.y)
        record = log_training(ts, estimator, store=store, feature_set=spec.feature_set, timestamp=spec.timestamp,
                              params={"holdout_fraction": spec.holdout_fraction, "metric": spec.metric,
                                      "trained_up_to": now.isoformat()})
        held_ts = training_set(store, ts.plan, held, label=spec.label, timestamp=spec.timestamp, threads=threads)
        cand = evaluate(spec.metric, held_ts.y, score(estimator, held_ts.X))
        mlflow.log_metric(f"holdout_{spec.metric}", cand)
        champ_metric = champ_version = None
        try:
            champ = client.get_model_version_by_alias(spec.model_name, spec.alias)
        except mlflow.exceptions.MlflowException:
            champ = None
        if champ is not None:
            champ_version = str(champ.version)
            rec = load_model_plan(f"models:/{spec.model_name}/{champ.version}")
            champ_ts = training_set(store, rec.plan, held, label=spec.label, timestamp=spec.timestamp,
                                    threads=threads)
            # The verified plan's matrix through the champion's estimator: what its pyfunc computes.
            champ_metric = evaluate(spec.metric, champ_ts.y, score(rec.estimator(), champ_ts.X))
            mlflow.log_metric(f"champion_holdout_{spec.metric}", champ_metric)
        version = register(record, spec.model_name)
        better = _HIGHER_IS_BETTER[spec.metric]
        if champ_metric is None:
            promoted, reason = True, f"no model held @{spec.alias}"
        elif (cand >= champ_metric) if better else (cand <= champ_metric):
            promoted = True
            reason = (f"candidate {spec.metric} {cand:.6f} is no worse than version {champ_version}'s "
                      f"{champ_metric:.6f}")
        else:
            promoted = False
            reason = (f"candidate {spec.metric} {cand:.6f} is worse than version {champ_version}'s "
                      f"{champ_metric:.6f}; @{spec.alias} stays on version {champ_version}")
        if promoted:
            set_alias(spec.model_name, spec.alias, version)
        mlflow.set_tags({TAG + "retrain.decision": "promoted" if promoted else "kept",
                         TAG + "retrain.reason": reason, TAG + "retrain.candidate_version": version,
                         TAG + "retrain.champion_version": champ_version or ""})
        client.set_model_version_tag(spec.model_name, version, TAG + "retrain.decision",
                                     "promoted" if promoted else "kept")
        client.set_model_version_tag(spec.model_name, version, TAG + "retrain.reason", reason)
        return RetrainOutcome(run_id=run.info.run_id, version=version, promoted=promoted, reason=reason,
                              candidate_metric=cand, champion_metric=champ_metric, champion_version=champ_version)
