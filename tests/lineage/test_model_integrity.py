"""A registered model's files are checked before anything of them is loaded
(featureplat/mlflow/artifacts.py, registry.py, model.py), on SQLite- and PostgreSQL-backed
MLflow: the estimator is a skops file (never a pickle), every file the model loads has its
sha256 in the model's metadata, its run's tags and its version's tags, and with
FEATUREPLAT_SIGNING_KEY set the record must carry that key's HMAC signature. Tampered
estimators, plans, code files and rewritten tags are refused; the code-execution cases
check that a marker file their payload would write is never written."""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

import featureplat as fp
from featureplat import mlflow as fpm
from featureplat.feast.training import training_set
from featureplat.mlflow.artifacts import CODE_PATH, ESTIMATOR_PATH, PLAN_PATH, SIGNING_KEY_ENV
from featureplat.mlflow.runs import MODEL_CODE
from tests.feast.conftest import build_served_repo

pytestmark = [
    # MLflow's SQLAlchemy store uses a loader strategy SQLAlchemy has deprecated.
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated"),
    # Importing mlflow.pyfunc infers a schema for MLflow's own ResponsesAgentRequest.
    pytest.mark.filterwarnings("ignore:.*Any type hint is inferred as AnyType:UserWarning"),
]

KEY = "k" * 16 + "0123456789abcdef0123456789abcdef"
OTHER_KEY = "o" * 48
GOLDEN_MODEL = Path(__file__).parents[1] / "golden" / "artifacts" / "model_churn"


class WritesMarker:
    """A type whose loading writes a marker file: what a hostile estimator file would do."""

    def __init__(self, marker: str):
        self.marker = marker

    def __setstate__(self, state):
        Path(state["marker"]).write_text("ran")


class _PicklePayload:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return exec, (f"import pathlib; pathlib.Path({self.marker!r}).write_text('ran')",)


def _train(X, y, iters=20):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=iters, random_state=0).fit(X, y.astype(np.int64))


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    store, _ = build_served_repo(tmp_path_factory.mktemp("integrity") / "repo", "sqlite")
    return store


@pytest.fixture(scope="module")
def data(repo):
    labels = pq.read_table(f"{repo.repo_path}/data/churn_labels.parquet")
    ts = training_set(repo, "churn_features", labels, label="churned")
    other = training_set(repo, "churn_features", labels.slice(0, 150), label="churned")
    assert other.plan.plan_hash != ts.plan.plan_hash
    return ts, _train(ts.X, ts.y), other


def _log(repo, ts, model, name):
    return fpm.log_training(ts, model, store=repo, feature_set="churn_features", register_as=name)


def _model_dir(tracking, record) -> Path:
    """The logged model's directory in the artifact store (what a download copies)."""
    model_id = record.model_uri.rsplit("/", 1)[-1]
    found = [p.parent for p in tracking["artifacts"].rglob("MLmodel") if model_id in p.parts]
    assert len(found) == 1, found
    return found[0]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _forge(name: str, record, model_dir: Path, *, signature: str | None = None, plan_hash: str | None = None) -> None:
    """Rewrites the model's record everywhere it is kept -- the version's tags, the run's
    tags, the MLmodel metadata -- to match the files now in ``model_dir``: what anyone who
    can write to the tracking and artifact stores can do with ordinary MLflow calls."""
    import mlflow

    client = mlflow.MlflowClient()
    digests = {rel: _sha(model_dir / rel) for rel in (CODE_PATH, ESTIMATOR_PATH, PLAN_PATH)}
    tags = {"featureplat.artifact_digests": json.dumps(digests, sort_keys=True, separators=(",", ":"))}
    meta_changes = {"featureplat_artifact_digests": digests}
    if plan_hash:
        tags["featureplat.plan_hash"] = meta_changes["featureplat_plan_hash"] = plan_hash
    if signature:
        tags["featureplat.signature"] = meta_changes["featureplat_signature"] = signature
    for k, v in tags.items():
        client.set_model_version_tag(name, record.version, k, v)
        client.set_tag(record.run_id, k, v)
    mlmodel = model_dir / "MLmodel"
    doc = yaml.safe_load(mlmodel.read_text())
    doc["metadata"].update(meta_changes)
    mlmodel.write_text(yaml.safe_dump(doc))


def _logged(repo, tracking, ts, model, name):
    record = _log(repo, ts, model, name)
    return record, _model_dir(tracking, record)


def test_estimator_is_a_skops_file_and_every_loaded_file_has_its_digest_everywhere(repo, data, tracking):
    import mlflow

    ts, model, _ = data
    record, model_dir = _logged(repo, tracking, ts, model, "integrity_layout")
    assert zipfile_magic(model_dir / ESTIMATOR_PATH)
    assert not list(model_dir.rglob("*.joblib")) and not list(model_dir.rglob("*.pkl"))
    assert "skops" in (model_dir / "requirements.txt").read_text()
    files = {rel: _sha(model_dir / rel) for rel in (CODE_PATH, ESTIMATOR_PATH, PLAN_PATH)}
    assert (model_dir / CODE_PATH).read_bytes() == Path(MODEL_CODE).read_bytes()
    client = mlflow.MlflowClient()
    copies = [client.get_model_version("integrity_layout", record.version).tags,
              client.get_run(record.run_id).data.tags]
    for tags in copies:
        assert json.loads(tags["featureplat.artifact_digests"]) == files
        assert tags["featureplat.plan_hash"] == ts.plan.plan_hash
        assert "featureplat.signature" not in tags  # no key configured
    meta = yaml.safe_load((model_dir / "MLmodel").read_text())["metadata"]
    assert meta["featureplat_artifact_digests"] == files
    served = fpm.serving_for_model(repo, f"models:/integrity_layout/{record.version}")
    assert fpm.score(served._estimator, ts.X).tobytes() == fpm.score(model, ts.X).tobytes()  # bit for bit
    loaded = fpm.load_pyfunc(f"models:/integrity_layout/{record.version}")
    assert np.asarray(loaded.predict(ts.inputs.slice(0, 30).to_pandas())).tobytes() == \
        fpm.score(model, ts.X[:30]).tobytes()


def zipfile_magic(path: Path) -> bool:
    return path.read_bytes()[:4] == b"PK\x03\x04"


def test_a_tampered_estimator_file_is_refused_and_never_unpickled(repo, data, tracking, tmp_path):
    import mlflow

    ts, model, _ = data
    record, model_dir = _logged(repo, tracking, ts, model, "integrity_estimator")
    marker = tmp_path / "marker"
    payload = pickle.dumps(_PicklePayload(str(marker)))
    proof = tmp_path / "proof"
    pickle.loads(pickle.dumps(_PicklePayload(str(proof))))  # the payload works when unpickled
    assert proof.read_text() == "ran"
    (model_dir / ESTIMATOR_PATH).write_bytes(payload)
    uri = f"models:/integrity_estimator/{record.version}"
    refused = r"estimator artifact \(artifacts/estimator.skops\) hashes to .* tampered with or swapped"
    with pytest.raises(fpm.LineageError, match=refused):
        fpm.serving_for_model(repo, uri)
    with pytest.raises(fpm.LineageError, match=refused):
        fpm.load_pyfunc(uri)
    with pytest.raises(fpm.LineageError, match=refused):  # the model's own load_context checks too
        mlflow.pyfunc.load_model(uri)
    assert not marker.exists()
    # With every digest rewritten to match, the pickle is still never loaded.
    _forge("integrity_estimator", record, model_dir)
    with pytest.raises(fpm.LineageError, match="not a skops file"):
        fpm.serving_for_model(repo, uri)
    with pytest.raises(fpm.LineageError, match="not a skops file"):
        mlflow.pyfunc.load_model(uri)
    assert not marker.exists()


def test_a_rewritten_skops_file_builds_only_trusted_types(repo, data, tracking, tmp_path):
    import skops.io as sio

    ts, model, _ = data
    record, model_dir = _logged(repo, tracking, ts, model, "integrity_skops")
    uri = f"models:/integrity_skops/{record.version}"
    marker = tmp_path / "marker"
    hostile = sio.dumps(WritesMarker(str(marker)))
    sio.loads(sio.dumps(WritesMarker(str(tmp_path / "proof"))), trusted=[f"{__name__}.WritesMarker"])
    assert (tmp_path / "proof").read_text() == "ran"  # the type does write its marker when trusted
    (model_dir / ESTIMATOR_PATH).write_bytes(hostile)
    _forge("integrity_skops", record, model_dir)  # no signing key: digests alone are rewritable
    with pytest.raises(fpm.LineageError, match="names types featureplat does not trust .*WritesMarker"):
        fpm.serving_for_model(repo, uri)
    assert not marker.exists()
    # A tree whose split points back at itself (predict would never end) or past its end.
    bad = _train(ts.X, ts.y, iters=3)
    bad._predictors[1][0].nodes["left"][0] = 0
    (model_dir / ESTIMATOR_PATH).write_bytes(sio.dumps(bad))
    _forge("integrity_skops", record, model_dir)
    with pytest.raises(fpm.LineageError, match="trees are malformed .*child is not a later node"):
        fpm.serving_for_model(repo, uri)


def test_a_tampered_code_file_is_refused_before_mlflow_runs_it(repo, data, tracking, tmp_path):
    ts, model, _ = data
    record, model_dir = _logged(repo, tracking, ts, model, "integrity_code")
    uri = f"models:/integrity_code/{record.version}"
    marker = tmp_path / "marker"
    code = model_dir / CODE_PATH
    original = code.read_text()
    code.write_text(f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n" + original)
    refused = r"model code file \(model.py\) hashes to .* tampered with or swapped"
    with pytest.raises(fpm.LineageError, match=refused):
        fpm.serving_for_model(repo, uri)
    with pytest.raises(fpm.LineageError, match=refused):
        fpm.load_pyfunc(uri)  # MLflow would execute the file: it is refused before
    with pytest.raises(fpm.LineageError, match=refused):
        fpm.load_model_plan(uri)
    assert not marker.exists()
    # An MLmodel rewritten to load the model another way (an installed flavor that unpickles).
    code.write_text(original)
    mlmodel = model_dir / "MLmodel"
    doc = yaml.safe_load(mlmodel.read_text())
    doc["flavors"]["python_function"]["loader_module"] = "mlflow.sklearn"
    doc["flavors"]["python_function"]["code"] = "code"
    mlmodel.write_text(yaml.safe_dump(doc))
    with pytest.raises(fpm.LineageError, match="MLmodel is not the model featureplat logged: loader_module "
                                               "'mlflow.sklearn'.*code 'code'"):
        fpm.load_pyfunc(uri)


def test_a_tampered_plan_is_refused_by_serving_and_by_the_pyfunc(repo, data, tracking):
    import mlflow

    ts, model, other = data
    record, model_dir = _logged(repo, tracking, ts, model, "integrity_plan")
    uri = f"models:/integrity_plan/{record.version}"
    other.plan.save(model_dir / PLAN_PATH)  # a valid plan, with other fitted statistics
    refused = r"plan artifact \(artifacts/plan.fpplan\) hashes to .* tampered with or swapped"
    with pytest.raises(fpm.LineageError, match=refused):
        fpm.serving_for_model(repo, uri)
    with pytest.raises(fpm.LineageError, match=refused):
        mlflow.pyfunc.load_model(uri)  # load_context checks the plan against the model's metadata
    # Digests rewritten, plan hash not: the plan's own hash still disagrees with the record.
    _forge("integrity_plan", record, model_dir)
    with pytest.raises(fpm.LineageError, match="the plan artifact hashes to plan .* its record says"):
        mlflow.pyfunc.load_model(uri)


def test_rewritten_tags_are_refused(repo, data, tracking):
    import mlflow

    ts, model, _ = data
    record, _ = _logged(repo, tracking, ts, model, "integrity_tags")
    uri = f"models:/integrity_tags/{record.version}"
    client = mlflow.MlflowClient()
    tags = client.get_model_version("integrity_tags", record.version).tags
    digests = json.loads(tags["featureplat.artifact_digests"])
    forged = json.dumps({**digests, ESTIMATOR_PATH: "0" * 64}, sort_keys=True, separators=(",", ":"))
    client.set_model_version_tag("integrity_tags", record.version, "featureplat.artifact_digests", forged)
    with pytest.raises(fpm.LineageError, match="version's tags and its training run's tags disagree on "
                                               "artifact_digests: tags were rewritten"):
        fpm.serving_for_model(repo, uri)
    client.set_tag(record.run_id, "featureplat.artifact_digests", forged)
    with pytest.raises(fpm.LineageError, match="model's metadata and the registry disagree on artifact_digests"):
        fpm.serving_for_model(repo, uri)
    client.delete_model_version_tag("integrity_tags", record.version, "featureplat.artifact_digests")
    with pytest.raises(fpm.LineageError, match="no recorded artifact digests"):
        fpm.load_model_plan(uri)


def test_signing_key_signs_and_serving_refuses_anything_else(repo, data, tracking, monkeypatch):
    import mlflow

    ts, model, other = data
    client = mlflow.MlflowClient()
    monkeypatch.setenv(SIGNING_KEY_ENV, KEY)
    signed, signed_dir = _logged(repo, tracking, ts, model, "integrity_signed")
    tags = client.get_model_version("integrity_signed", signed.version).tags
    assert len(tags["featureplat.signature"]) == 64 and tags["featureplat.signing_key_id"]
    uri = f"models:/integrity_signed/{signed.version}"
    assert fpm.serving_for_model(repo, uri).plan.plan_hash == ts.plan.plan_hash
    assert np.asarray(mlflow.pyfunc.load_model(uri).predict(ts.inputs.slice(0, 5).to_pandas())).tobytes() == \
        fpm.score(model, ts.X[:5]).tobytes()

    monkeypatch.setenv(SIGNING_KEY_ENV, OTHER_KEY)
    with pytest.raises(fpm.LineageError, match="signed by another key"):
        fpm.serving_for_model(repo, uri)
    with pytest.raises(fpm.LineageError, match="signed by another key"):
        mlflow.pyfunc.load_model(uri)
    monkeypatch.delenv(SIGNING_KEY_ENV)
    assert fpm.load_model_plan(uri).plan.plan_hash == ts.plan.plan_hash  # no key: digests only

    unsigned, _ = _logged(repo, tracking, ts, model, "integrity_unsigned")
    monkeypatch.setenv(SIGNING_KEY_ENV, KEY)
    with pytest.raises(fpm.LineageError, match="is not signed, and .*FEATUREPLAT_SIGNING_KEY is set"):
        fpm.serving_for_model(repo, f"models:/integrity_unsigned/{unsigned.version}")

    # Swap the signed model's plan for another, rewriting every record with ordinary MLflow
    # calls and keeping the old signature: the signature no longer matches.
    other.plan.save(signed_dir / PLAN_PATH)
    _forge("integrity_signed", signed, signed_dir, plan_hash=other.plan.plan_hash)
    with pytest.raises(fpm.LineageError, match="signature does not match .*the record was altered"):
        fpm.serving_for_model(repo, uri)
    with pytest.raises(fpm.LineageError, match="signature does not match"):
        mlflow.pyfunc.load_model(uri)
    _forge("integrity_signed", signed, signed_dir, plan_hash=other.plan.plan_hash, signature="f" * 64)
    with pytest.raises(fpm.LineageError, match="signature does not match"):
        fpm.serving_for_model(repo, uri)


def test_a_short_signing_key_is_refused_before_any_run(repo, data, tracking, monkeypatch):
    import mlflow

    ts, model, _ = data
    monkeypatch.setenv(SIGNING_KEY_ENV, "short")
    runs = len(mlflow.search_runs(search_all_experiments=True))
    with pytest.raises(fpm.LineageError, match="at least 32 characters"):
        fpm.log_training(ts, model, store=repo)
    assert len(mlflow.search_runs(search_all_experiments=True)) == runs


def test_an_estimator_serving_would_not_load_is_refused_before_any_run(repo, data, tracking):
    import mlflow

    ts, _, _ = data
    runs = len(mlflow.search_runs(search_all_experiments=True))
    with pytest.raises(fp.InputError, match="holds types featureplat does not load"):
        fpm.log_training(ts, WritesMarker("unused"), store=repo)
    assert len(mlflow.search_runs(search_all_experiments=True)) == runs


def test_a_model_logged_before_digests_is_refused_saying_what_is_missing(repo, tracking, tmp_path):
    import mlflow

    # The stored old-layout model (a joblib estimator, no digests) registered as it was.
    local = tmp_path / "model_churn"
    shutil.copytree(GOLDEN_MODEL, local)
    meta = yaml.safe_load((local / "MLmodel").read_text())["metadata"]
    tags = {"featureplat.plan_hash": meta["featureplat_plan_hash"], "featureplat.core_version": "0.1.0"}
    client = mlflow.MlflowClient()
    with mlflow.start_run(tags=tags) as run:
        pass
    client.create_registered_model("integrity_old")
    mv = client.create_model_version("integrity_old", source=str(local), run_id=run.info.run_id, tags=tags)
    with pytest.raises(fpm.LineageError, match=r"no recorded artifact digests \(featureplat.artifact_digests\).*"
                                               r"pickle \(estimator.joblib\).*log it again"):
        fpm.serving_for_model(repo, f"models:/integrity_old/{mv.version}")


def test_load_model_plan_leaves_no_temporary_files(repo, data, tracking, tmp_path, monkeypatch):
    ts, model, _ = data
    record, _ = _logged(repo, tracking, ts, model, "integrity_tmp")
    uri = f"models:/integrity_tmp/{record.version}"
    fpm.load_model_plan(uri)  # MLflow's own first-use state, if any, before counting
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    for _ in range(3):
        rec = fpm.load_model_plan(uri)
        assert rec.plan.plan_hash == ts.plan.plan_hash
    assert fpm.score(rec.estimator(), ts.X[:10]).tobytes() == fpm.score(model, ts.X[:10]).tobytes()
    fpm.serving_for_model(repo, uri)
    fpm.load_pyfunc(uri)
    assert sorted(os.listdir(tmp)) == []
