"""The registry as the source of truth for serving: a ``models:/`` URI resolves to a
model version whose record -- plan hash, core version, data digest, the sha256 of every
file the model loads and, with a signing key configured, its signature -- agrees between
the version's tags, its run's tags and the model's metadata, and whose files match it,
before anything is loaded (:mod:`featureplat.mlflow.artifacts`)."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from featureplat.errors import InputError
from featureplat.feast.repo import feature_store
from featureplat.feast.serving import OnlineFeatures
from featureplat.mlflow.artifacts import (
    ArtifactRecord,
    LineageError,
    VerifiedModel,
    check_flavor,
    verified_model,
)
from featureplat.mlflow.runs import TAG, score
from featureplat.mlflow.tracking import _mlflow, tracking_call, tracking_client, use_repo_tracking
from featureplat.plan import FittedPlan
from featureplat.version import __version__

__all__ = ["LineageError", "ModelRecord", "ServedModel", "load_model_plan", "load_pyfunc",
           "online_features_for_model", "serving_for_model"]


def _core_major(version: str) -> str:
    return version.split(".")[0]


@dataclass
class ModelRecord:
    """A model version resolved from a ``models:/`` URI, with its verified plan and
    estimator file (nothing of the download is kept on disk)."""

    name: str
    version: str
    run_id: str
    plan: FittedPlan
    tags: dict
    run_tags: dict
    artifacts: ArtifactRecord
    verified: VerifiedModel = field(repr=False)
    aliases: list = field(default_factory=list)

    def estimator(self):
        """The estimator, built from its verified skops file (trusted types only)."""
        return self.verified.estimator()


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


def _verify(uri: str, expected_plan_hash: str | None, dst: str) -> tuple[ModelRecord, Path]:
    """Resolves ``uri`` and checks everything recorded about it against everything else
    (tags, signature), then downloads the model into ``dst`` and checks its files."""
    mlflow = _mlflow()
    from mlflow.exceptions import MlflowException
    from mlflow.models import Model

    client = tracking_client()
    name, version, alias = _parse_model_uri(uri)
    try:
        mv = client.get_model_version_by_alias(name, alias) if alias else client.get_model_version(name, version)
    except MlflowException as e:
        if getattr(e, "error_code", None) == "TEMPORARILY_UNAVAILABLE":
            raise
        raise LineageError(f"{uri}: no such model version in the registry ({e.message})") from None
    where = f"{uri} (version {mv.version})"
    tags = dict(mv.tags)
    want = tags.get(TAG + "plan_hash")
    if not want:
        raise LineageError(f"{where} carries no {TAG}plan_hash tag: not a featureplat model")
    core = tags.get(TAG + "core_version", "")
    if _core_major(core) != _core_major(__version__):
        raise LineageError(f"{where} was trained with featureplat core {core}; this is {__version__} (major "
                           "versions differ), so it cannot serve it")
    run_tags = client.get_run(mv.run_id).data.tags if mv.run_id else {}
    if run_tags.get(TAG + "plan_hash") != want:
        raise LineageError(f"{where}: the version says plan {want[:16]}, its training run {mv.run_id} logged plan "
                           f"{str(run_tags.get(TAG + 'plan_hash'))[:16]}: swapped model")
    if expected_plan_hash is not None and expected_plan_hash != want:
        raise LineageError(f"{uri} now resolves to version {mv.version} with plan {want[:16]}, not the expected "
                           f"{expected_plan_hash[:16]}; refusing to serve a different plan")
    record = ArtifactRecord.from_tags(tags, where)
    record.require_digests(where)  # a model logged before digests were recorded: refused, saying so
    differ = record.differences(ArtifactRecord.from_tags(run_tags, where))
    if differ:
        raise LineageError(f"{where}: the version's tags and its training run's tags disagree on {', '.join(differ)}: "
                           "tags were rewritten; refusing to load the model")
    record.check_signature(where)  # before anything is downloaded
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{mv.version}", dst_path=dst))
    model = Model.load(str(local))
    differ = record.differences(ArtifactRecord.from_metadata(model.metadata, where))
    if differ:
        raise LineageError(f"{where}: the model's metadata and the registry disagree on {', '.join(differ)}: the "
                           "model was tampered with or swapped; refusing to load it")
    check_flavor(model, where)
    verified = verified_model(local, record, where)
    rec = ModelRecord(name=name, version=str(mv.version), run_id=mv.run_id, plan=verified.plan, tags=tags,
                      run_tags=dict(run_tags), artifacts=record, verified=verified,
                      aliases=list(getattr(mv, "aliases", []) or []))
    return rec, local


@tracking_call
def load_model_plan(uri: str, *, expected_plan_hash: str | None = None) -> ModelRecord:
    """Resolves ``uri`` in the registry and verifies the model before loading any of it:
    the plan hash, core version, data digest and artifact digests must agree between the
    version's tags, its training run's tags and the model's metadata (and the plan hash
    equal ``expected_plan_hash`` when given); with ``$FEATUREPLAT_SIGNING_KEY`` set they
    must be signed by that key; the plan, the estimator file and the pyfunc's code file
    must hash to their digests; the core's major version must match the one that trained
    it. Raises :class:`LineageError` otherwise. The download is removed before it returns."""
    with tempfile.TemporaryDirectory(prefix="featureplat-model-") as tmp:
        record, _ = _verify(uri, expected_plan_hash, tmp)
    return record


@tracking_call
def load_pyfunc(uri: str, *, expected_plan_hash: str | None = None):
    """``mlflow.pyfunc.load_model`` for a registered model, after :func:`load_model_plan`'s
    checks on the very files MLflow then loads -- including the code file it executes and
    the MLmodel entries that say how (MLflow's code-model loader, no code directory, no
    pickled Python model). ``mlflow.pyfunc.load_model`` alone runs the stored code file
    unchecked; the model's own ``load_context`` checks its plan and estimator."""
    mlflow = _mlflow()
    with tempfile.TemporaryDirectory(prefix="featureplat-model-") as tmp:
        _, local = _verify(uri, expected_plan_hash, tmp)
        return mlflow.pyfunc.load_model(str(local))


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


@tracking_call
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
    """:class:`ServedModel` for ``uri`` (``models:/name@alias`` or ``models:/name/3``),
    verified as :func:`load_model_plan` verifies it."""
    return ServedModel(store, uri, **kwargs)
