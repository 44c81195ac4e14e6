"""MLflow lineage on SQLite- and PostgreSQL-backed MLflow: round trip, tamper refusal,
reproduce, guarded retraining, lineage queries."""
from __future__ import annotations

import datetime as dt
import json
import re
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import featureplat as fp
from featureplat import mlflow as fpm
from featureplat.mlflow.runs import PLAN_ARTIFACT
from featureplat.cli import main as cli
from featureplat.feast.training import training_set
from tests.feast.conftest import build_served_repo, data_end
from tests.lineage.conftest import forget_tracking

pytestmark = [
    # MLflow's SQLAlchemy store uses a loader strategy SQLAlchemy has deprecated.
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated"),
    # Importing mlflow.pyfunc infers a schema for MLflow's own ResponsesAgentRequest. (The
    # pyfunc's predict has type hints MLflow accepts: no "Add type hints" warning is let through.)
    pytest.mark.filterwarnings("ignore:.*Any type hint is inferred as AnyType:UserWarning"),
]


def _train(X, y):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=40, random_state=0).fit(X, y.astype(np.int64))


def _bad_train(X, y):
    from sklearn.dummy import DummyClassifier

    return DummyClassifier(strategy="uniform", random_state=0).fit(X, y.astype(np.int64))


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    store, _ = build_served_repo(tmp_path_factory.mktemp("lineage") / "repo", "sqlite")
    return store


@pytest.fixture(scope="module")
def trained(repo, tracking):
    labels = pq.read_table(f"{repo.repo_path}/data/churn_labels.parquet")
    ts = training_set(repo, "churn_features", labels, label="churned")
    model = _train(ts.X, ts.y)
    record = fpm.log_training(ts, model, store=repo, feature_set="churn_features", register_as="churn")
    fpm.set_alias("churn", "champion", record.version)
    return ts, model, record


def _entities(n: int, at: dt.datetime) -> pa.Table:
    ids = [1001 + 3 * i for i in range(n)] + [999_999]
    regions = ["PT-LIS", "ES-MAD", "FR-PAR", "DE-BER", "IT-ROM"]
    return pa.table({"customer_id": ids, "region": [regions[i % 5] for i in range(len(ids))],
                     "event_timestamp": pa.array([at] * len(ids), pa.timestamp("us", tz="UTC")),
                     "offer_discount_pct": [5.0 * (i % 3) for i in range(len(ids))],
                     "channel": [["web", "app", "call_center"][i % 3] for i in range(len(ids))]})


def test_round_trip_serving_from_champion_predicts_as_on_training_rows(repo, trained):
    ts, model, record = trained
    served = fpm.serving_for_model(repo, "models:/churn@champion")
    assert served.plan.plan_hash == ts.plan.plan_hash == record.plan_hash
    at = data_end() + dt.timedelta(hours=10)
    ent = _entities(60, at)
    offline = training_set(repo, served.plan, ent)
    want = fpm.score(model, offline.X)
    rows = ent.to_pylist()
    for i, r in enumerate(rows):
        e = {"customer_id": r["customer_id"], "region": r["region"]}
        q = {"offer_discount_pct": r["offer_discount_pct"], "channel": r["channel"]}
        assert served.features.get(e, q, at=at).tobytes() == offline.X[i].tobytes()
        assert served.predict(e, q, at=at) == want[i]
    many = served.predict([{"customer_id": r["customer_id"], "region": r["region"]} for r in rows],
                          [{"offer_discount_pct": r["offer_discount_pct"], "channel": r["channel"]} for r in rows],
                          at=at)
    assert many.tobytes() == want.tobytes()
    # The pyfunc applies the same plan to raw features (no pickled feature logic).
    import mlflow

    pyfunc = mlflow.pyfunc.load_model("models:/churn@champion")
    got = np.asarray(pyfunc.predict(offline.inputs.to_pandas()))
    assert got.tobytes() == want.tobytes()
    assert np.asarray(pyfunc.predict(ts.inputs.slice(0, 50).to_pandas())).tobytes() == \
        fpm.score(model, ts.X[:50]).tobytes()


def test_run_and_version_carry_the_lineage(repo, trained, tracking):
    import mlflow

    ts, _, record = trained
    client = mlflow.MlflowClient()
    run = client.get_run(record.run_id)
    tags = run.data.tags
    assert tags["featureplat.plan_hash"] == ts.plan.plan_hash
    assert tags["featureplat.data_digest"] == record.digest == fpm.content_digest(ts)["digest"]
    assert tags["featureplat.entity_rows"] == str(ts.num_rows)
    assert tags["feast.project"] == "churn"  # Feast's own MLflow logger
    assert "customer_activity:sessions_7d" in tags["feast.feature_refs"]
    assert set(tags["feast.feature_views"].split(",")) == {"customer_activity", "customer_billing",
                                                           "customer_profile", "region_stats"}
    datasets = run.inputs.dataset_inputs
    assert len(datasets) == 1 and datasets[0].dataset.digest == record.digest[:32]
    assert {t.key: t.value for t in datasets[0].tags}["featureplat.data_digest"] == record.digest
    mv = client.get_model_version("churn", record.version)
    assert mv.tags["featureplat.plan_hash"] == ts.plan.plan_hash
    assert "customer_billing:plan_tier" in mv.tags["featureplat.feature_refs"]
    assert "champion" in client.get_registered_model("churn").aliases
    baseline = mlflow.artifacts.load_dict(f"runs:/{record.run_id}/featureplat/baseline.json")
    assert set(baseline) == set(ts.plan.features)
    assert baseline["discount"]["rows"] == ts.num_rows


def test_digest_covers_every_row_and_bit():
    class Fake:
        def __init__(self, X):
            self.X = X
            self.label_names = []
            self.plan = type("P", (), {"features": ["a", "b"]})()

    X = np.zeros((100_000, 2))
    base = fpm.content_digest(Fake(X))["digest"]
    Y = X.copy()
    Y[99_999, 1] = -0.0  # the last row, one sign bit
    assert fpm.content_digest(Fake(Y))["digest"] != base
    assert fpm.content_digest(Fake(Y))["columns"]["a"] == fpm.content_digest(Fake(X))["columns"]["a"]


def _other_plan(repo):
    labels = pq.read_table(f"{repo.repo_path}/data/churn_labels.parquet")
    return training_set(repo, "churn_features", labels.slice(0, 150), label="churned")


def test_tampered_plan_artifact_is_refused(repo, trained, tracking):
    ts, _, record = trained
    other = _other_plan(repo)
    assert other.plan.plan_hash != ts.plan.plan_hash
    rec = fpm.log_training(ts, _train(ts.X, ts.y), store=repo, feature_set="churn_features",
                           register_as="churn_tamper")
    model_id = rec.model_uri.rsplit("/", 1)[-1]  # models:/<model id>: this logged model only
    files = [p for p in tracking["artifacts"].rglob(PLAN_ARTIFACT) if model_id in p.parts]
    assert files and all(f.read_bytes() == ts.plan.to_bytes() for f in files), "the model's plan artifact"
    for f in files:
        other.plan.save(f)  # a valid plan file, just not this model's
    refused = r"plan artifact \(artifacts/plan.fpplan\) hashes to .* the artifact was tampered with or swapped"
    with pytest.raises(fpm.LineageError, match=refused):
        fpm.serving_for_model(repo, f"models:/churn_tamper/{rec.version}")
    for f in files:
        f.write_bytes(b"garbage")
    with pytest.raises(fpm.LineageError, match=refused):
        fpm.load_model_plan(f"models:/churn_tamper/{rec.version}")


def test_alias_on_a_version_whose_plan_differs_is_refused(repo, trained, tracking):
    import mlflow

    ts, _, record = trained
    other = _other_plan(repo)
    rec2 = fpm.log_training(other, _train(other.X, other.y), store=repo, feature_set="churn_features")
    client = mlflow.MlflowClient()
    # A version registered from one run's model but tagged with another plan: swapped.
    mv = mlflow.register_model(rec2.model_uri, "churn_swap", tags={"featureplat.plan_hash": ts.plan.plan_hash,
                                                                   "featureplat.core_version": "0.1.0"})
    client.set_registered_model_alias("churn_swap", "champion", mv.version)
    with pytest.raises(fpm.LineageError, match="its training run .* logged plan .*: swapped model"):
        fpm.serving_for_model(repo, "models:/churn_swap@champion")
    # A serving process pinned to the plan it validated refuses when the alias moves.
    v_good = fpm.register(rec2, "churn_pinned")
    v_first = fpm.register(record, "churn_pinned")
    fpm.set_alias("churn_pinned", "champion", v_first)
    served = fpm.serving_for_model(repo, "models:/churn_pinned@champion", expected_plan_hash=ts.plan.plan_hash)
    assert served.plan.plan_hash == ts.plan.plan_hash
    fpm.set_alias("churn_pinned", "champion", v_good)
    with pytest.raises(fpm.LineageError, match="now resolves to version .* not the expected"):
        fpm.serving_for_model(repo, "models:/churn_pinned@champion", expected_plan_hash=ts.plan.plan_hash)
    # A different core major version cannot serve it.
    client.set_model_version_tag("churn_pinned", v_first, "featureplat.core_version", "9.0.0")
    with pytest.raises(fpm.LineageError, match="trained with featureplat core 9.0.0"):
        fpm.load_model_plan(f"models:/churn_pinned/{v_first}")
    with pytest.raises(fpm.LineageError, match="no such model version"):
        fpm.load_model_plan("models:/churn/999")
    with pytest.raises(fp.InputError, match="model URI must look like"):
        fpm.load_model_plan("runs:/abc/model")


def test_reproduce_matches_then_reports_changed_sources(repo, trained, tracking):
    _, _, record = trained
    r = fpm.reproduce(record.run_id, store=repo)
    assert r.matches and r.rows_rebuilt == r.rows_logged and not r.differing_columns
    path = f"{repo.repo_path}/data/customer_billing.parquet"
    backup = path + ".bak"
    shutil.copy(path, backup)
    try:
        t = pq.read_table(path)
        price = pc.multiply(t.column("monthly_price"), 1.25)
        pq.write_table(t.set_column(t.schema.get_field_index("monthly_price"), "monthly_price", price), path)
        r2 = fpm.reproduce(record.run_id, store=repo)
        assert not r2.matches
        assert r2.differing_columns == ["price_scaled"]
        res = CliRunner().invoke(cli, ["reproduce", record.run_id, "--repo", str(repo.repo_path),
                                       "--tracking-uri", tracking["uri"]])
        assert res.exit_code == 1 and "columns that differ: price_scaled" in res.output
    finally:
        shutil.move(backup, path)
    res = CliRunner().invoke(cli, ["reproduce", record.run_id, "--repo", str(repo.repo_path),
                                   "--tracking-uri", tracking["uri"]])
    assert res.exit_code == 0 and "matches the run" in res.output


def test_retrain_promotes_only_a_no_worse_candidate(repo, trained, tracking):
    import mlflow

    spec = fpm.Retraining(model_name="churn_rt", feature_set="churn_features", labels="data/churn_labels.parquet",
                          label="churned", train=_train, metric="roc_auc")
    now = data_end()
    first = fpm.retrain(repo, spec, now=now)
    assert first.promoted and first.champion_version is None and "no model held" in first.reason
    worse = fpm.retrain(repo, spec, now=now, train=_bad_train)
    assert not worse.promoted and worse.champion_version == first.version
    assert worse.candidate_metric < worse.champion_metric
    client = mlflow.MlflowClient()
    assert str(client.get_model_version_by_alias("churn_rt", "champion").version) == first.version
    better = fpm.retrain(repo, spec, now=now)
    assert better.promoted and better.candidate_metric >= better.champion_metric
    assert str(client.get_model_version_by_alias("churn_rt", "champion").version) == better.version
    for outcome, decision in ((worse, "kept"), (better, "promoted")):
        tags = client.get_run(outcome.run_id).data.tags
        assert tags["featureplat.retrain.decision"] == decision
        assert tags["featureplat.retrain.reason"] == outcome.reason
        assert client.get_model_version("churn_rt", outcome.version).tags["featureplat.retrain.decision"] == decision
    assert "is worse than version" in worse.reason


def test_lineage_and_reverse_query(repo, trained, tracking):
    ts, _, record = trained
    doc = fpm.lineage(f"models:/churn/{record.version}")
    assert doc["data"]["digest"] == record.digest and doc["data"]["rows"] == ts.num_rows
    assert doc["data"]["entity_start"] < doc["data"]["entity_end"]
    assert doc["plan"]["hash"] == ts.plan.plan_hash
    assert doc["run"]["id"] == record.run_id
    assert doc["model_version"]["version"] == record.version and "champion" in doc["model_version"]["aliases"]
    assert doc["feature_views"]["customer_activity"]["ttl_seconds"] == 3 * 86_400
    text = fpm.format_lineage(doc)
    assert record.digest in text and ts.plan.plan_hash in text and record.run_id in text
    users = fpm.models_using_view("customer_activity", name="churn")
    assert {u["version"] for u in users} >= {record.version}
    assert fpm.models_using_view("no_such_view") == []
    res = CliRunner().invoke(cli, ["lineage", f"models:/churn/{record.version}", "--tracking-uri", tracking["uri"]])
    assert res.exit_code == 0 and record.digest in res.output
    res = CliRunner().invoke(cli, ["lineage", "--feature-view", "region_stats", "--tracking-uri", tracking["uri"]])
    assert res.exit_code == 0 and f"churn version {record.version}" in res.output


def test_reverse_query_shows_each_versions_aliases(repo, trained, tracking):
    # search_model_versions leaves a version's aliases empty; the listing must not.
    _, _, record = trained
    v1 = fpm.register(record, "churn_aliases")
    v2 = fpm.register(record, "churn_aliases")
    v3 = fpm.register(record, "churn_aliases")
    fpm.set_alias("churn_aliases", "champion", v2)
    fpm.set_alias("churn_aliases", "challenger", v3)
    fpm.set_alias("churn_aliases", "shadow", v3)
    users = {u["version"]: u for u in fpm.models_using_view("customer_activity", name="churn_aliases")}
    assert {v: u["aliases"] for v, u in users.items()} == {v1: [], v2: ["champion"], v3: ["challenger", "shadow"]}
    res = CliRunner().invoke(cli, ["lineage", "--feature-view", "customer_activity", "--tracking-uri",
                                   tracking["uri"]])
    assert res.exit_code == 0, res.output
    lines = [line for line in res.output.splitlines() if line.startswith("churn_aliases ")]
    assert len(lines) == 3
    assert f"churn_aliases version {v1} [] plan" in res.output
    assert f"churn_aliases version {v2} ['champion'] plan" in res.output
    assert f"churn_aliases version {v3} ['challenger', 'shadow'] plan" in res.output
    res = CliRunner().invoke(cli, ["lineage", "--feature-view", "customer_activity", "--tracking-uri",
                                   tracking["uri"], "--json"])
    rows = {r["version"]: r["aliases"] for r in json.loads(res.output) if r["name"] == "churn_aliases"}
    assert rows == {v1: [], v2: ["champion"], v3: ["challenger", "shadow"]}


def test_serving_object_and_http_server_from_a_model_uri(repo, trained, tracking, tmp_path):
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request


    ts, _, record = trained
    sv = fpm.online_features_for_model(repo, "models:/churn@champion")
    assert sv.plan.plan_hash == ts.plan.plan_hash and sv.model.version == record.version
    with pytest.raises(fpm.LineageError, match="not the expected"):
        fpm.online_features_for_model(repo, "models:/churn@champion", expected_plan_hash="0" * 64)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "featureplat.cli", "serve", "--repo", str(repo.repo_path), "--model",
           "models:/churn@champion", "--tracking-uri", tracking["uri"], "--port", str(port)]
    bad = subprocess.run(cmd + ["--expect-plan", "0" * 64], capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "not the expected" in bad.stderr
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd + ["--expect-plan", ts.plan.plan_hash], stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ})
    try:
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as resp:
                    doc = json.loads(resp.read())
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise AssertionError(log.read_text()) from None
                time.sleep(0.25)
        assert doc["plan_hash"] == ts.plan.plan_hash
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_retrain_command_runs_the_repos_declared_retraining(repo, trained, tracking):
    import mlflow

    res = CliRunner().invoke(cli, ["retrain", "--repo", str(repo.repo_path), "--tracking-uri", tracking["uri"]])
    assert res.exit_code == 0, res.output
    assert "registered churn version" in res.output
    assert ("PROMOTED to @champion" in res.output) or ("kept the current @champion" in res.output)
    # MLflow's own log lines (stderr) may come first: the command's line starts with "run <id>:".
    run_id = re.search(r"^run (\w+): registered", res.output, re.MULTILINE).group(1)
    tags = mlflow.MlflowClient().get_run(run_id).data.tags
    assert tags["featureplat.retrain.decision"] in ("promoted", "kept")
    assert tags["featureplat.retrain.reason"] in res.output


def test_read_commands_need_a_tracking_database(tmp_path, monkeypatch):
    # As a fresh process: no tracking URI in the environment or set in MLflow by earlier tests.
    forget_tracking(monkeypatch)
    res = CliRunner().invoke(cli, ["lineage", "models:/churn/1", "--repo", str(tmp_path)])
    assert res.exit_code != 0 and "no MLflow tracking database" in res.output
    assert not (tmp_path / "data").exists()
