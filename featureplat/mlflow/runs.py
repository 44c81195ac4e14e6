"""Training runs: the fitted plan, features, data digest, entity set, statistics
baseline and the pyfunc model of one training, logged in an MLflow run and registered.

:func:`log_training` logs, in one run, the fitted plan, the Feast project, feature
references and feature-view versions, the entity set (an artifact, with its time range
and row count), the training data as a dataset input carrying **our content digest of
the exact training matrix**, the per-feature statistics (the monitoring baseline), and
the model: a pyfunc logged from code (:mod:`featureplat.mlflow.model`) whose artifacts
are the plan and the estimator (a skops file, never a pickle), with the sha256 of every
file the model loads -- and, with ``$FEATUREPLAT_SIGNING_KEY`` set, their HMAC signature
-- in the model's metadata and the run's tags (:mod:`featureplat.mlflow.artifacts`).
Feast's own MLflow logger tags the run with the project, views and feature references.
:func:`register` registers the model with the plan hash, feature references, data digest,
artifact digests and signature as version tags; :func:`set_alias` promotes it.
"""
from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from featureplat.feast.repo import feature_store, view_records
from featureplat.feast.training import TrainingSet
from featureplat.feast.views import feast_refs
from featureplat.mlflow.artifacts import (
    CODE_PATH,
    ESTIMATOR_ARTIFACT,
    ESTIMATOR_PATH,
    PLAN_ARTIFACT,
    PLAN_PATH,
    TAG,
    ArtifactRecord,
    save_estimator,
)
from featureplat.mlflow.tracking import _mlflow, tracking_call, tracking_client, use_repo_tracking
from featureplat.version import __version__
from featureplat.plan.files import write_parquet

__all__ = ["ESTIMATOR_ARTIFACT", "PLAN_ARTIFACT", "RUN_DIR", "TAG", "TrainingRecord", "content_digest",
           "log_training", "register", "score", "set_alias", "statistics_baseline"]

RUN_DIR = "featureplat"  # run artifacts: plan, entity set, baseline, digest
MODEL_CODE = Path(__file__).with_name("model.py")


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


def _model_io(plan: Any, estimator: Any, X: np.ndarray) -> tuple[Any, pd.DataFrame | None]:
    """The pyfunc's signature and input example. The output is declared (one score per row,
    typed as the estimator gives it); the input schema is not, because MLflow would then
    convert and refuse what ``predict`` takes (an Arrow table, int columns with nulls).
    The example names the plan's raw inputs, one row of nulls: no training data is copied
    into the model. With both, MLflow neither guesses a signature nor asks for them."""
    if not X.shape[0]:
        return None, None
    from mlflow.models import infer_signature

    signature = infer_signature(model_output=score(estimator, X[:1]))
    example = pd.DataFrame({i["name"]: [None] for i in plan.inputs}, dtype=object)
    return signature, example


@tracking_call
def log_training(ts: TrainingSet, estimator: Any, *, store: Any, feature_set: str | None = None,
                 timestamp: str = "event_timestamp", tracking_uri: str | None = None,
                 register_as: str | None = None, run_name: str | None = None,
                 params: dict | None = None) -> TrainingRecord:
    """Logs a training run for ``ts`` (a :class:`~featureplat.feast.training.TrainingSet`) and
    the fitted ``estimator`` (a scikit-learn estimator with predict/predict_proba, stored
    with skops: one holding types serving would not load is refused before any run is
    made), inside the active MLflow run or a new one. ``register_as`` also registers the
    model (see :func:`register`). Returns the run id, model URI, plan hash and data digest.

    Tracking: ``tracking_uri``, else the URI set for MLflow (``mlflow.set_tracking_uri``,
    ``$MLFLOW_TRACKING_URI``, :func:`~featureplat.mlflow.configure`), else the store's repo
    database ``sqlite:///<repo>/data/mlflow.db`` -- where ``featureplat serve --repo``
    looks (see :func:`~featureplat.mlflow.tracking.use_repo_tracking`)."""
    mlflow = _mlflow()
    store = feature_store(store)
    plan = ts.plan
    digest = content_digest(ts)
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        # The model's files first: an estimator skops cannot store, or a bad signing key,
        # fails before any run exists.
        plan_path = plan.save(tmpd / PLAN_ARTIFACT)
        est_path = tmpd / ESTIMATOR_ARTIFACT
        save_estimator(estimator, est_path)
        artifacts = ArtifactRecord.create(plan.plan_hash, __version__, digest["digest"],
                                          {PLAN_PATH: plan_path, ESTIMATOR_PATH: est_path, CODE_PATH: MODEL_CODE})
        uri = use_repo_tracking(store, tracking_uri)
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
                TAG + "plan_name": plan.name, TAG + "feature_set": feature_set or plan.name,
                TAG + "plan_format": str(plan.format_version),
                TAG + "feature_refs": json.dumps(refs), TAG + "feature_views": json.dumps(views, sort_keys=True),
                TAG + "repo": str(Path(store.repo_path).resolve()),
                TAG + "entity_rows": str(ts.num_rows), TAG + "entity_start": start or "",
                TAG + "entity_end": end or "", TAG + "labels": json.dumps(ts.label_names), TAG + "timestamp": timestamp,
                **{f"{TAG}view.{v}": json.dumps(info, sort_keys=True) for v, info in views.items()},
                **artifacts.tags(),  # plan hash, core version, data digest, artifact digests, signature
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
            write_parquet(tmpd / "entity_set.parquet", ts.entity)
            (tmpd / "baseline.json").write_text(json.dumps(statistics_baseline(ts), indent=1, sort_keys=True))
            (tmpd / "digest.json").write_text(json.dumps(digest, indent=1, sort_keys=True))
            for name in (PLAN_ARTIFACT, "entity_set.parquet", "baseline.json", "digest.json"):
                mlflow.log_artifact(str(tmpd / name), artifact_path=RUN_DIR)
            signature, example = _model_io(plan, estimator, ts.X)
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=str(MODEL_CODE),
                signature=signature,
                input_example=example,
                artifacts={"plan": str(plan_path), "estimator": str(est_path)},
                metadata=artifacts.metadata(),
                pip_requirements=[f"featureplat=={__version__}", "scikit-learn", "skops"],
            )
            result = TrainingRecord(run_id=run_id, model_uri=info.model_uri, plan_hash=plan.plan_hash,
                                    digest=digest["digest"])
            if register_as:
                result.version = register(result, register_as)
            return result
        finally:
            if active is None:
                mlflow.end_run()


VERSION_TAGS = tuple(TAG + t for t in ("plan_hash", "core_version", "plan_format", "feature_refs", "feature_views",
                                        "data_digest", "feature_set", "artifact_digests", "signature",
                                        "signing_key_id")) + ("feast.project",)


@tracking_call
def register(record: TrainingRecord, name: str) -> str:
    """Registers the run's model as a new version of ``name``, tagged with the plan hash,
    core version, feature references, data digest, artifact digests and signature;
    returns the version."""
    mlflow = _mlflow()
    run = tracking_client().get_run(record.run_id)
    tags = {k: v for k, v in run.data.tags.items() if k in VERSION_TAGS}
    mv = mlflow.register_model(record.model_uri, name, tags=tags)
    return str(mv.version)


@tracking_call
def set_alias(name: str, alias: str, version: str | int) -> None:
    """Points ``models:/name@alias`` at ``version``."""
    tracking_client().set_registered_model_alias(name, alias, str(version))
