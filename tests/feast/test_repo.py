"""`featureplat apply`: Feast's apply plus checked, recorded featureplat plans."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import featureplat as fp
from featureplat.cli import main as cli
from featureplat.feast.repo import apply, check_feature_set, load_repo, plan_index, registered_plan
from tests.feast.conftest import copy_repo


def test_apply_records_plans_and_feast_objects(churn_repo):
    index = plan_index(churn_repo)
    entry = index["feature_sets"]["churn_features"]
    plan = registered_plan(churn_repo, "churn_features")
    assert plan.plan_hash == entry["plan_hash"]
    assert index["project"] == "churn"
    assert sorted(entry["feature_views"]) == ["customer_activity", "customer_billing", "customer_profile",
                                              "region_stats"]
    assert entry["feature_views"]["customer_activity"]["ttl_seconds"] == 3 * 86_400
    assert entry["feature_views"]["customer_profile"]["ttl_seconds"] == 0
    assert "customer_activity:sessions_7d" in entry["feature_refs"]
    assert set(entry["request_inputs"]) == {"offer_discount_pct", "channel", "event_timestamp"}
    store = fp_store(churn_repo)
    assert {v.name for v in store.list_feature_views()} == set(entry["feature_views"])
    assert {e.name for e in store.list_entities()} >= {"customer", "region"}


def fp_store(repo):
    from featureplat.feast.repo import feature_store

    return feature_store(repo)


def test_load_repo_finds_feature_sets_and_definitions(churn_repo):
    defs = load_repo(churn_repo)
    assert list(defs.feature_sets) == ["churn_features"]
    assert defs.views()["customer_billing"] == {"monthly_price": "Float64", "failed_payments_90d": "Int64",
                                                "plan_tier": "String"}
    assert defs.request_fields() == {"offer_discount_pct": "Float64", "channel": "String"}


VIEWS = {"stats": {"trips": "Int64", "rating": "Float64", "city": "String", "seen": "UnixTimestamp",
                   "tags": "Array(String)"}}


@pytest.mark.parametrize("inp, message", [
    (fp.feast("nostats:trips", "int64"), "unknown feature view 'nostats' (known: stats)"),
    (fp.feast("stats:nope", "int64"), "unknown feature reference 'stats:nope': feature view 'stats' has no "
                                      "feature 'nope'"),
    (fp.feast("stats:trips", "float64"), "stats:trips is Int64 in Feast but declared float64 (use int64)"),
    (fp.feast("stats:city", "int64"), "stats:city is String in Feast but declared int64"),
    (fp.feast("stats:seen", "int64"), "stats:seen is UnixTimestamp in Feast but declared int64 (use timestamp)"),
    (fp.feast("stats:tags", "string"), "has Feast type Array(String), which featureplat cannot read"),
    (fp.request("string"), "request field 'x' is Float64 in the request source, declared string"),
])
def test_check_refuses_mismatches_naming_them(inp, message):
    fs = fp.FeatureSet("bad", inputs={"x": inp}, features={"y": fp.col("x").is_null()})
    with pytest.raises(fp.PlanError) as err:
        check_feature_set(fs, VIEWS, {"x": "Float64"})
    assert "feature set 'bad'" in str(err.value) and "input 'x'" in str(err.value)
    assert message in str(err.value)


def test_check_lists_every_problem_at_once():
    fs = fp.FeatureSet("bad", inputs={"a": fp.feast("nostats:a", "int64"), "b": fp.feast("stats:zz", "int64"),
                                      "c": fp.feast("stats:trips", "int64")},
                       features={"y": fp.col("c") + 1})
    with pytest.raises(fp.PlanError) as err:
        check_feature_set(fs, VIEWS, {})
    assert "input 'a'" in str(err.value) and "input 'b'" in str(err.value) and "input 'c'" not in str(err.value)


def test_apply_refuses_a_bad_feature_set_and_applies_nothing(tmp_path):
    repo = copy_repo(tmp_path / "repo")
    (repo / "data").mkdir()
    (repo / "more_features.py").write_text(
        "import featureplat as fp\n"
        "broken = fp.FeatureSet('broken', inputs={\n"
        "    'x': fp.feast('customer_activity:sessions_7d', 'float64'),\n"
        "    'y': fp.feast('customer_activity:no_such_feature', 'int64'),\n"
        "    'z': fp.feast('no_such_view:f', 'int64')},\n"
        "    features={'f': fp.col('x') + 1})\n")
    with pytest.raises(fp.PlanError) as err:
        apply(repo)
    msg = str(err.value)
    assert "feature set 'broken'" in msg
    assert "customer_activity:sessions_7d is Int64 in Feast but declared float64" in msg
    assert "unknown feature reference 'customer_activity:no_such_feature'" in msg
    assert "unknown feature view 'no_such_view'" in msg
    assert not (repo / "data" / "registry.db").exists()  # Feast's apply never ran
    assert not (repo / "data" / "featureplat").exists()


def test_apply_refuses_two_feature_sets_with_one_name(tmp_path):
    repo = copy_repo(tmp_path / "repo")
    (repo / "dup.py").write_text(
        "import featureplat as fp\n"
        "again = fp.FeatureSet('churn_features', inputs={'x': fp.request('int64')}, features={'y': fp.col('x')})\n")
    with pytest.raises(fp.PlanError, match="feature set name 'churn_features' is defined twice"):
        load_repo(repo)


def test_apply_never_writes_outside_its_plans_folder(tmp_path):
    # A feature set renamed to a path after construction: compile refuses it before any write.
    repo = copy_repo(tmp_path / "repo")
    (repo / "data").mkdir()
    (repo / "escape.py").write_text(
        "import featureplat as fp\n"
        "esc = fp.FeatureSet('esc', inputs={'x': fp.request('int64')}, features={'y': fp.col('x')})\n"
        "esc.name = '../../escaped'\n")
    with pytest.raises(fp.PlanError, match="feature set name '../../escaped' is not allowed"):
        apply(repo)
    assert not list(tmp_path.rglob("escaped*"))


def test_altered_index_file_entry_is_refused(churn_repo, tmp_path):
    repo = copy_repo(tmp_path / "repo")
    from featureplat.examples.churn import generate

    generate(repo / "data", customers=20, days=21)
    apply(repo)
    index_path = repo / "data" / "featureplat" / "index.json"
    index = json.loads(index_path.read_text())
    index["feature_sets"]["churn_features"]["file"] = "../../elsewhere.fpplan"
    index_path.write_text(json.dumps(index))
    with pytest.raises(fp.PlanError, match="records file '../../elsewhere.fpplan' .* the index was altered"):
        registered_plan(repo, "churn_features")


def test_not_a_repo(tmp_path):
    with pytest.raises(fp.InputError, match="has no feature_store.yaml"):
        apply(tmp_path)


def test_unknown_registered_plan(churn_repo):
    with pytest.raises(fp.InputError, match="no feature set 'nope' was applied \\(applied: churn_features\\)"):
        registered_plan(churn_repo, "nope")


def test_tampered_recorded_plan_is_refused(churn_repo, tmp_path):
    repo = copy_repo(tmp_path / "repo")
    from featureplat.examples.churn import generate

    generate(repo / "data", customers=20, days=21)
    apply(repo)
    index_path = repo / "data" / "featureplat" / "index.json"
    index = json.loads(index_path.read_text())
    index["feature_sets"]["churn_features"]["plan_hash"] = "0" * 64
    index_path.write_text(json.dumps(index))
    with pytest.raises(fp.PlanError, match="recorded plan for 'churn_features' has hash"):
        registered_plan(repo, "churn_features")


def test_cli_apply_and_training_set(tmp_path):
    from featureplat.examples.churn import generate

    repo = copy_repo(tmp_path / "repo")
    generate(repo / "data", customers=30, days=21)
    runner = CliRunner()
    res = runner.invoke(cli, ["apply", "--repo", str(repo)])
    assert res.exit_code == 0, res.output
    assert "feature set churn_features: plan " in res.output
    out = tmp_path / "train.parquet"
    res = runner.invoke(cli, ["training-set", "churn_features", str(repo / "data" / "churn_labels.parquet"),
                              "--repo", str(repo), "--label", "churned", "--out", str(out),
                              "--plan-out", str(tmp_path / "p.fpplan")])
    assert res.exit_code == 0, res.output
    import pyarrow.parquet as pq

    table = pq.read_table(out)
    labels = pq.read_table(repo / "data" / "churn_labels.parquet")
    assert table.num_rows == labels.num_rows
    assert table.column("churned").equals(labels.column("churned"))
    assert fp.load_plan(tmp_path / "p.fpplan").plan_hash in res.output
    res = runner.invoke(cli, ["training-set", "nope", str(repo / "data" / "churn_labels.parquet"),
                              "--repo", str(repo), "--out", str(out)])
    assert res.exit_code != 0 and "no feature set 'nope' was applied" in res.output
