"""The registry as the source of truth for serving: a ``models:/`` URI resolves to a
model version whose plan artifact is verified against what the version, its run and the
model metadata recorded (and the core's major version) before anything serves it."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from featureplat.errors import FeatureplatError, InputError, PlanError
from featureplat.feast.repo import feature_store
from featureplat.feast.serving import OnlineFeatures
from featureplat.mlflow.runs import ESTIMATOR_ARTIFACT, PLAN_ARTIFACT, TAG, score
from featureplat.mlflow.tracking import _mlflow, use_repo_tracking
from featureplat.plan import FittedPlan, load_plan
from featureplat.version import __version__

__all__ = ["LineageError", "ModelRecord", "ServedModel", "load_model_plan", "online_features_for_model",
           "serving_for_model"]


class LineageError(FeatureplatError):
    """A model version's recorded lineage does not hold (tampered or swapped artifacts,
    a core version that cannot serve it, a missing record)."""


def _core_major(version: str) -> str:
    return version.split(".")[0]


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
    if _core_major(core) != _core_major(__version__):
        raise LineageError(f"{uri} (version {mv.version}) was trained with featureplat core {core}; this is "
                           f"{__version__} (major versions differ), so it cannot serve it")
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
    plan (:class:`~featureplat.feast.serving.OnlineFeatures`), then its estimator."""

    def __init__(self, store: Any, uri: str, *, expected_plan_hash: str | None = None, **serving_kwargs):
        self.features = online_features_for_model(store, uri, expected_plan_hash=expected_plan_hash,
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


def online_features_for_model(store: Any, uri: str, *, expected_plan_hash: str | None = None,
                              **kwargs) -> OnlineFeatures:
    """The serving object for a registered model (``models:/name@alias`` or
    ``models:/name/3``): its plan is loaded from the registry and verified first
    (:func:`load_model_plan`), or serving is refused. The record is its ``model``.
    The registry is the tracking URI set for MLflow, else the store's repo database."""
    store = feature_store(store)
    use_repo_tracking(store)
    record = load_model_plan(uri, expected_plan_hash=expected_plan_hash)
    served = OnlineFeatures(store, record.plan, **kwargs)
    served.model = record
    return served


def serving_for_model(store: Any, uri: str, **kwargs) -> ServedModel:
    """:class:`ServedModel` for ``uri`` (``models:/name@alias`` or ``models:/name/3``)."""
    return ServedModel(store, uri, **kwargs)
