"""What a logged model loads, and how it is checked before anything is loaded: the
estimator file (skops, never pickle), the sha256 digest of every file the model loads,
and an optional HMAC-SHA256 signature over those digests.

**Estimators are stored with skops** (``artifacts/estimator.skops``), loaded with an
explicit list of trusted types: scikit-learn's estimators, numpy's and scipy's dtypes
and ufuncs and Python's primitive types (skops' defaults) plus :data:`TRUSTED_TYPES`.
A file naming any other type is refused before any object is built, so an estimator
file cannot run code. Not ONNX: an ONNX export of a scikit-learn model runs different
arithmetic (float32 tree thresholds and leaf values, another summation order), so its
scores are not bit-identical to the estimator's, and featureplat's promise -- the
served score equals the training-time score bit for bit -- would not hold.

**Digests** are recorded when the model is logged, in the model's metadata (``MLmodel``),
its run's tags and (:func:`~featureplat.mlflow.runs.register`) its version's tags:
``featureplat.artifact_digests`` maps each file's path in the model directory to its
sha256 -- the plan (``artifacts/plan.fpplan``), the estimator
(``artifacts/estimator.skops``) and the pyfunc's code file (``model.py``), which MLflow
executes when it loads the model.

**Signing**: with ``FEATUREPLAT_SIGNING_KEY`` set (at least 32 characters), logging adds
``featureplat.signature``: HMAC-SHA256 under that key of :func:`signed_record` -- the plan
hash, the core version, the data digest and the artifact digests (nothing that depends on
the name or version a model is registered under) -- and ``featureplat.signing_key_id``
(names the key; not secret). With the key set, loading refuses a model that is not
signed by it, so rewriting tags and artifacts with ordinary MLflow calls no longer swaps
what a model serves.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from featureplat.errors import FeatureplatError, InputError, PlanError
from featureplat.plan import FittedPlan, plan_from_bytes

__all__ = [
    "CODE_PATH",
    "ESTIMATOR_ARTIFACT",
    "ESTIMATOR_PATH",
    "PLAN_ARTIFACT",
    "PLAN_PATH",
    "SIGNING_KEY_ENV",
    "TRUSTED_TYPES",
    "ArtifactRecord",
    "LineageError",
    "VerifiedModel",
    "check_flavor",
    "file_digest",
    "load_estimator",
    "save_estimator",
    "signing_key",
    "verified_model",
]


class LineageError(FeatureplatError):
    """A model version's recorded lineage does not hold (tampered or swapped artifacts,
    a missing or wrong signature, a core version that cannot serve it, a missing record)."""


PLAN_ARTIFACT = "plan.fpplan"
ESTIMATOR_ARTIFACT = "estimator.skops"
# Paths in the model directory: MLflow puts the pyfunc's artifacts under artifacts/ and
# the code file at the top, under its own name (featureplat/mlflow/model.py).
PLAN_PATH = f"artifacts/{PLAN_ARTIFACT}"
ESTIMATOR_PATH = f"artifacts/{ESTIMATOR_ARTIFACT}"
CODE_PATH = "model.py"
_WHAT = {PLAN_PATH: "plan artifact", ESTIMATOR_PATH: "estimator artifact", CODE_PATH: "model code file"}

# Types trusted beyond skops' defaults. Each is a data holder of scikit-learn's whose
# loading builds arrays and numbers and calls no code of the file's choosing:
TRUSTED_TYPES = (
    # HistGradientBoosting*'s fitted trees: a structured array of nodes plus scalars.
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    # The trees of DecisionTree*, RandomForest*, ExtraTrees*, GradientBoosting*: node and
    # value arrays, rebuilt by the Tree's own __setstate__.
    "sklearn.tree._tree.Tree",
)

SIGNING_KEY_ENV = "FEATUREPLAT_SIGNING_KEY"
MIN_KEY_CHARS = 32
SIGNATURE_FORMAT = "featureplat-model-signature-v1"
PYFUNC_LOADER = "mlflow.pyfunc.loaders.code_model"


# ---- the estimator file ---------------------------------------------------------------------

def save_estimator(estimator: Any, path: Path) -> None:
    """Writes ``estimator`` with skops; refuses one that holds a type the loader would not
    trust (so no model is logged that serving would refuse)."""
    import skops.io as sio

    kind = type(estimator).__qualname__
    try:
        sio.dump(estimator, path)
    except Exception as err:  # skops refuses what it cannot store without pickle, in its own terms
        raise InputError(f"the estimator ({kind}) cannot be stored without pickle (skops): {err}") from err
    untrusted = sorted(set(sio.get_untrusted_types(file=path)) - set(TRUSTED_TYPES))
    if untrusted:
        raise InputError(f"the estimator ({kind}) holds types featureplat does not load: {untrusted}; models "
                         "are scikit-learn estimators (skops' trusted types plus "
                         "featureplat.mlflow.artifacts.TRUSTED_TYPES)")


def load_estimator(data: bytes, source: str, n_features: int) -> Any:
    """The estimator stored in skops file contents ``data``: only trusted types are built,
    and its trees are checked to stay inside themselves and inside the plan's
    ``n_features`` columns (see :func:`_check_trees`)."""
    import zipfile

    import skops.io as sio
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        estimator = sio.loads(data, trusted=list(TRUSTED_TYPES))
    except UntrustedTypesFoundException as err:
        found = str(err).split("\n", 1)[0]
        raise LineageError(f"{source}: the estimator file names types featureplat does not trust ({found}); "
                           "refusing to load it") from None
    except zipfile.BadZipFile:
        raise LineageError(f"{source}: the estimator file is not a skops file (a pickle is never loaded)") from None
    except Exception as err:  # a malformed skops file fails in skops' own terms
        raise LineageError(f"{source}: the estimator file cannot be loaded: {err}") from err
    width = getattr(estimator, "n_features_in_", None)
    if width is not None and width != n_features:
        raise LineageError(f"{source}: the estimator takes {width} features, the plan computes {n_features}; "
                           "refusing to load it")
    _check_trees(estimator, source)
    return estimator


def _check_trees(estimator: Any, source: str) -> None:
    """The two trusted tree types hold node indices that scikit-learn follows without
    bounds checks (skops does not trust them by default for that reason). They are loaded
    only from a file whose digest matched its record, and checked here as well: every
    split's children come after it and inside its tree (so a walk ends), its feature is a
    column of the matrix the tree is given -- fewer than the ``n_features_in_`` of every
    tree model around it (those check their input's width, or hand it on unchecked) --
    and no split is categorical."""
    from sklearn.ensemble._forest import BaseForest
    from sklearn.ensemble._gb import BaseGradientBoosting
    from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE
    from sklearn.ensemble._hist_gradient_boosting.gradient_boosting import BaseHistGradientBoosting
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
    from sklearn.tree._classes import BaseDecisionTree
    from sklearn.tree._tree import Tree

    def refuse(what: str):
        raise LineageError(f"{source}: the estimator's trees are malformed ({what}); refusing to load it")

    def check_splits(n: int, split, left, right, feature, width: int | None) -> None:
        if width is None:
            refuse("a tree outside a tree model")
        idx = np.arange(n)[split]
        left, right, feature = (np.asarray(a).astype(np.int64)[split] for a in (left, right, feature))
        if not (np.all(left > idx) and np.all(left < n) and np.all(right > idx) and np.all(right < n)):
            refuse("a split's child is not a later node of its tree")
        if not (np.all(feature >= 0) and np.all(feature < width)):
            refuse(f"a split reads a feature outside the {width} columns its model takes")

    seen: set[int] = set()
    stack: list[tuple[Any, int | None]] = [(estimator, None)]
    while stack:
        obj, width = stack.pop()
        if isinstance(obj, (str, bytes, int, float, bool, type(None))) or id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, (BaseDecisionTree, BaseForest, BaseGradientBoosting, BaseHistGradientBoosting)):
            own = getattr(obj, "n_features_in_", None)  # a forest's own trees have none: the forest checks
            if own is not None and (not isinstance(own, (int, np.integer)) or own < 1):
                refuse(f"a {type(obj).__name__} with a bad number of features")
            if own is not None:
                width = int(own) if width is None else min(width, int(own))
        if isinstance(obj, Tree):
            n = int(obj.node_count)
            cl, cr, f = obj.children_left, obj.children_right, obj.feature
            if n < 1 or not all(np.shape(a) == (n,) for a in (cl, cr, f)):
                refuse("node arrays disagree with the node count")
            split = np.asarray(cl) != -1
            if np.any(np.asarray(cr)[~split] != -1):
                refuse("a node with one child")
            check_splits(n, split, cl, cr, f, width)
        elif isinstance(obj, TreePredictor):
            nodes = obj.nodes
            if not isinstance(nodes, np.ndarray) or nodes.dtype != PREDICTOR_RECORD_DTYPE or nodes.ndim != 1 \
                    or nodes.size < 1:
                refuse("a predictor's nodes are not scikit-learn's node records")
            split = nodes["is_leaf"] == 0
            check_splits(nodes.size, split, nodes["left"], nodes["right"], nodes["feature_idx"], width)
            if np.any(split & (nodes["is_categorical"] != 0)):
                # Such a model keeps function references in its preprocessor, which save_estimator
                # refuses: featureplat never logs one.
                refuse("a categorical split")
        elif isinstance(obj, dict):
            stack.extend((v, width) for v in obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend((v, width) for v in obj)
        elif isinstance(obj, np.ndarray):
            if obj.dtype == object:
                stack.extend((v, width) for v in obj.ravel().tolist())
        elif hasattr(obj, "__dict__"):
            stack.extend((v, width) for v in vars(obj).values())


# ---- digests and the signature ------------------------------------------------------------------

def file_digest(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def signing_key() -> bytes | None:
    """The key of ``$FEATUREPLAT_SIGNING_KEY`` (None when unset or empty)."""
    raw = os.environ.get(SIGNING_KEY_ENV, "")
    if not raw:
        return None
    if len(raw) < MIN_KEY_CHARS:
        raise LineageError(f"${SIGNING_KEY_ENV} must be at least {MIN_KEY_CHARS} characters (it has {len(raw)}); "
                           "make one with: python -c 'import secrets; print(secrets.token_hex(32))'")
    return raw.encode("utf-8")


def key_id(key: bytes) -> str:
    """A name for a signing key (a hash of it), so a refusal can say which key signed."""
    return hashlib.sha256(b"featureplat-signing-key-id-v1\0" + key).hexdigest()[:16]


def signed_record(plan_hash: str, core_version: str, data_digest: str, digests: Mapping[str, str]) -> bytes:
    """The canonical bytes the signature covers: the fields that say what the model
    computes, none that depend on the name or version it is registered under."""
    doc = {"format": SIGNATURE_FORMAT, "plan_hash": plan_hash, "core_version": core_version,
           "data_digest": data_digest, "artifacts": dict(digests)}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _sign(record: bytes, key: bytes) -> str:
    return hmac.new(key, record, hashlib.sha256).hexdigest()


TAG = "featureplat."  # run and version tags
META = "featureplat_"  # model metadata keys
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class ArtifactRecord:
    """What a model's files are checked against, as one of its three copies holds it (the
    model's metadata, its run's tags, its version's tags)."""

    plan_hash: str | None
    core_version: str | None
    data_digest: str | None
    digests: dict | None = field(default=None, hash=False)
    signature: str | None = None
    signing_key_id: str | None = None

    @classmethod
    def create(cls, plan_hash: str, core_version: str, data_digest: str, files: Mapping[str, Path]) -> ArtifactRecord:
        """The record of ``files`` (path in the model directory -> local file), signed
        when ``$FEATUREPLAT_SIGNING_KEY`` is set."""
        digests = {rel: file_digest(p) for rel, p in sorted(files.items())}
        key = signing_key()
        if key is None:
            return cls(plan_hash, core_version, data_digest, digests)
        signature = _sign(signed_record(plan_hash, core_version, data_digest, digests), key)
        return cls(plan_hash, core_version, data_digest, digests, signature, key_id(key))

    @classmethod
    def from_tags(cls, tags: Mapping[str, str], where: str) -> ArtifactRecord:
        raw = tags.get(TAG + "artifact_digests")
        digests = None
        if raw:
            try:
                digests = json.loads(raw)
            except ValueError:
                raise LineageError(f"{where}: its {TAG}artifact_digests tag is not JSON") from None
        return cls(tags.get(TAG + "plan_hash"), tags.get(TAG + "core_version"), tags.get(TAG + "data_digest"),
                   _digests(digests, where), tags.get(TAG + "signature") or None,
                   tags.get(TAG + "signing_key_id") or None)

    @classmethod
    def from_metadata(cls, meta: Mapping[str, Any] | None, where: str) -> ArtifactRecord:
        meta = meta or {}
        return cls(*(meta.get(META + f) for f in ("plan_hash", "core_version", "data_digest")),
                   _digests(meta.get(META + "artifact_digests"), where), meta.get(META + "signature") or None,
                   meta.get(META + "signing_key_id") or None)

    def tags(self) -> dict[str, str]:
        out = {TAG + "plan_hash": self.plan_hash, TAG + "core_version": self.core_version,
               TAG + "data_digest": self.data_digest,
               TAG + "artifact_digests": json.dumps(self.digests, sort_keys=True, separators=(",", ":"))}
        if self.signature:
            out.update({TAG + "signature": self.signature, TAG + "signing_key_id": self.signing_key_id})
        return out

    def metadata(self) -> dict[str, Any]:
        out = {META + "plan_hash": self.plan_hash, META + "core_version": self.core_version,
               META + "data_digest": self.data_digest, META + "artifact_digests": dict(self.digests or {})}
        if self.signature:
            out.update({META + "signature": self.signature, META + "signing_key_id": self.signing_key_id})
        return out

    def differences(self, other: ArtifactRecord) -> list[str]:
        """The fields in which two copies of a record disagree."""
        names = {"digests": "artifact_digests"}
        return [names.get(f, f) for f in ("plan_hash", "core_version", "data_digest", "digests", "signature",
                                           "signing_key_id") if getattr(self, f) != getattr(other, f)]

    def require_digests(self, where: str) -> dict:
        if not self.digests:
            raise LineageError(
                f"{where} has no recorded artifact digests ({TAG}artifact_digests): it was logged before featureplat "
                f"recorded and verified model artifacts, and such models keep their estimator as a pickle "
                f"(estimator.joblib), which featureplat does not load; log it again with log_training to serve it")
        if set(self.digests) != set(_WHAT):
            raise LineageError(f"{where}: its artifact digests name {sorted(self.digests)}, expected "
                               f"{sorted(_WHAT)}; refusing to load the model")
        return self.digests

    def check_signature(self, where: str) -> None:
        """With ``$FEATUREPLAT_SIGNING_KEY`` set: the record must be signed by that key."""
        key = signing_key()
        if key is None:
            return
        if not self.signature:
            raise LineageError(f"{where} is not signed, and ${SIGNING_KEY_ENV} is set: this process serves only "
                               "models logged with that signing key; refusing to load it")
        if not isinstance(self.signature, str) or not _HEX_DIGEST.fullmatch(self.signature):
            raise LineageError(f"{where}: its signature is malformed; refusing to load it")
        if self.signing_key_id != key_id(key):
            raise LineageError(f"{where} was signed by another key (key id {self.signing_key_id}; this process's "
                               f"${SIGNING_KEY_ENV} has key id {key_id(key)}); refusing to load it")
        want = _sign(signed_record(self.plan_hash or "", self.core_version or "", self.data_digest or "",
                                   self.require_digests(where)), key)
        if not hmac.compare_digest(want, self.signature):
            raise LineageError(f"{where}: its signature does not match its plan hash, core version, data digest and "
                               "artifact digests: the record was altered after signing; refusing to load it")


def _digests(value: Any, where: str) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) and _HEX_DIGEST.fullmatch(v)
                                              for k, v in value.items()):
        raise LineageError(f"{where}: its artifact digests are malformed (expected path -> sha256 hex)")
    return dict(value)


# ---- checking a model directory --------------------------------------------------------------

def check_flavor(model: Any, where: str) -> None:
    """``model`` (an ``mlflow.models.Model``) must be the pyfunc featureplat logs: loaded by
    MLflow's code-model loader from the digested code file, with exactly the digested
    artifacts, no code directory put on ``sys.path`` and no pickled Python model."""
    conf = (model.flavors or {}).get("python_function")
    if not isinstance(conf, dict):
        raise LineageError(f"{where}: its MLmodel has no python_function flavor; refusing to load the model")
    artifacts = conf.get("artifacts") or {}
    paths = {name: (a or {}).get("path") for name, a in artifacts.items()} if isinstance(artifacts, dict) else None
    problems = []
    if conf.get("loader_module") != PYFUNC_LOADER:
        problems.append(f"loader_module {conf.get('loader_module')!r} (expected {PYFUNC_LOADER})")
    if Path(str(conf.get("model_code_path", ""))).name != CODE_PATH:
        problems.append(f"model_code_path {conf.get('model_code_path')!r} (expected a {CODE_PATH})")
    if conf.get("code"):
        problems.append(f"code {conf.get('code')!r} (a directory put on sys.path)")
    if conf.get("python_model"):
        problems.append("a pickled python_model")
    if paths != {"plan": PLAN_PATH, "estimator": ESTIMATOR_PATH}:
        problems.append(f"artifacts {paths} (expected plan: {PLAN_PATH}, estimator: {ESTIMATOR_PATH})")
    if problems:
        raise LineageError(f"{where}: its MLmodel is not the model featureplat logged: {'; '.join(problems)}; "
                           "refusing to load the model")


@dataclass
class VerifiedModel:
    """A model directory's contents after every digest matched: the plan and the
    estimator file's bytes (the estimator is built only when asked for)."""

    plan: FittedPlan
    estimator_file: bytes = field(repr=False)
    source: str

    def estimator(self) -> Any:
        return load_estimator(self.estimator_file, self.source, len(self.plan.features))


def _read(model_dir: Path, rel: str, digests: Mapping[str, str], where: str) -> bytes:
    path = model_dir / rel
    try:
        data = path.read_bytes()
    except OSError as err:
        raise LineageError(f"{where}: its {_WHAT[rel]} ({rel}) cannot be read: {err.strerror}") from None
    got = hashlib.sha256(data).hexdigest()
    if not hmac.compare_digest(got, digests[rel]):
        raise LineageError(f"{where}: the {_WHAT[rel]} ({rel}) hashes to {got[:16]}, its record says "
                           f"{digests[rel][:16]}: the artifact was tampered with or swapped; refusing to load the "
                           "model")
    return data


def verified_model(model_dir: str | os.PathLike, record: ArtifactRecord, where: str) -> VerifiedModel:
    """Checks every file ``record`` digests (and its signature, with a key configured),
    reading each once, then parses the plan from the verified bytes; the estimator file
    is kept as verified bytes. Raises :class:`LineageError` on any mismatch."""
    model_dir = Path(model_dir)
    digests = record.require_digests(where)
    record.check_signature(where)
    _read(model_dir, CODE_PATH, digests, where)
    blob = _read(model_dir, PLAN_PATH, digests, where)
    try:
        plan = plan_from_bytes(blob, f"{where}: {PLAN_PATH}")
    except PlanError as err:
        raise LineageError(f"{where}: its plan artifact is unreadable: {err}") from None
    if plan.plan_hash != record.plan_hash:
        raise LineageError(f"{where}: the plan artifact hashes to plan {plan.plan_hash[:16]}, its record says "
                           f"{str(record.plan_hash)[:16]}; refusing to load the model")
    if plan.needs_fit or not isinstance(plan, FittedPlan):
        plan = FittedPlan(plan.to_dict())
    return VerifiedModel(plan, _read(model_dir, ESTIMATOR_PATH, digests, where), f"{where}: {ESTIMATOR_PATH}")
