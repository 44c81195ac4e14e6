"""Guarded retraining: a repo declares a :class:`Retraining`; :func:`retrain` runs it as
one MLflow run and moves the alias only when the candidate is no worse."""
from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from featureplat.errors import InputError, PlanError
from featureplat.feast.repo import feature_store, repo_objects
from featureplat.feast.training import training_set
from featureplat.mlflow.registry import load_model_plan
from featureplat.mlflow.runs import TAG, log_training, register, score, set_alias
from featureplat.mlflow.tracking import _mlflow, tracking_call, tracking_client, use_repo_tracking
from featureplat.plan.files import read_parquet

__all__ = ["RetrainOutcome", "Retraining", "evaluate", "retrain", "retrainings"]


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


@tracking_call
def retrain(store: Any, spec: Retraining, *, now: _dt.datetime | None = None, train: Callable | None = None,
            threads: int = 1) -> RetrainOutcome:
    """Runs ``spec`` as one MLflow run: a point-in-time training set of the labelled
    entity rows up to ``now``, a freshly fitted plan, the training function, evaluation of
    the candidate and of the current alias holder on the held-out rows, registration of
    the candidate, and promotion only when it is no worse. Decision and reason are logged.
    Tracking: the URI set for MLflow, else the store's repo database."""
    mlflow = _mlflow()
    store = feature_store(store)
    use_repo_tracking(store)
    now = now or _dt.datetime.now(_dt.timezone.utc)
    path = Path(store.repo_path) / spec.labels if not os.path.isabs(spec.labels) else Path(spec.labels)
    entity = read_parquet(path, what="the retraining's labelled entity rows")
    entity = entity.filter(pc.less_equal(entity.column(spec.timestamp), pa.scalar(now, entity.schema.field(
        spec.timestamp).type)))
    if entity.num_rows < 10:
        raise InputError(f"only {entity.num_rows} labelled entity rows up to {now.isoformat()}; too few to retrain")
    order = pc.sort_indices(entity, sort_keys=[(spec.timestamp, "ascending")])
    entity = entity.take(order)
    cut = int(round(entity.num_rows * (1 - spec.holdout_fraction)))
    train_rows, held = entity.slice(0, cut), entity.slice(cut)
    client = tracking_client()
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


def retrainings(repo: Any) -> dict[str, Retraining]:
    """The retrainings a feature repo declares, by model name (two for one model are refused)."""
    out: dict[str, Retraining] = {}
    for spec in repo_objects(repo, Retraining):
        if spec.model_name in out:
            raise PlanError(f"two retrainings for model {spec.model_name!r} in {repo}")
        out[spec.model_name] = spec
    return out
