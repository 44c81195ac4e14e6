"""The analyze pass: streaming, mergeable, frozen into the plan and its hash."""
import math

import numpy as np
import pyarrow as pa
import pytest

import featureplat as fp
from featureplat.plan.inputs import to_batches
from featureplat.testing.parity import assert_identical

INPUTS = {"x": fp.request("float64"), "n": fp.request("int64"), "c": fp.request("string")}


def feature_set(**extra):
    x, n, c = fp.col("x"), fp.col("n"), fp.col("c")
    feats = {
        "z": x.log1p().standard_scale(),
        "mm": n.min_max_scale(),
        "rb": x.robust_scale(),
        "q": x.quantile_bucketize(10),
        "v": c.vocabulary(top_k=3, num_oov_buckets=2),
        "imp": x.impute("median"),
        "nested": x.standard_scale().quantile_bucketize(4),
        "city": c.one_hot(),
    }
    feats.update(extra)
    return fp.FeatureSet("fitme", inputs=INPUTS, features=feats)


def data(n=20_000, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.lognormal(0, 1, n)
    x[rng.random(n) < 0.05] = np.nan
    return pa.table({
        "x": pa.array(x, mask=rng.random(n) < 0.05),
        "n": rng.integers(-50, 50, n),
        "c": rng.choice(["a", "b", "c", "d", "é"], n, p=[.4, .3, .15, .1, .05]),
    })


def test_fit_returns_an_executable_fitted_plan():
    plan = fp.compile(feature_set())
    assert plan.needs_fit
    with pytest.raises(fp.PlanError, match="call plan.fit"):
        plan.transform(data(10))
    with pytest.raises(fp.PlanError, match="call plan.fit"):
        plan.transform_row({"x": 1.0, "n": 1, "c": "a"})
    fitted = plan.fit(data())
    assert isinstance(fitted, fp.FittedPlan) and not fitted.needs_fit
    assert fitted.features[:7] == ["z", "mm", "rb", "q", "v", "imp", "nested"]
    assert fitted.features[7:] == ["city__a", "city__b", "city__c", "city__d", "city__é"]
    out = fitted.transform(data(100, seed=2))
    assert out.num_rows == 100
    stats = fitted.statistics()
    assert set(stats) >= {"z", "mm", "rb", "q", "v", "imp", "nested", "city"}
    assert [s["transform"] for s in stats["nested"]] == ["standard_scale", "quantile_bucketize"]


def test_no_analyzer_survives_fitting():
    fitted = fp.compile(feature_set()).fit(data())
    from featureplat.plan.fit import FITTED_OPS
    assert not [s for s in fitted.steps if s["op"] in FITTED_OPS]


def test_statistics_are_in_the_hash_and_round_trip(tmp_path):
    fitted = fp.compile(feature_set()).fit(data())
    other = fp.compile(feature_set()).fit(data(seed=9))
    assert fitted.plan_hash != other.plan_hash
    loaded = fp.load_plan(fitted.save(tmp_path / "f.fpplan"))
    assert isinstance(loaded, fp.FittedPlan)
    assert loaded.plan_hash == fitted.plan_hash
    assert repr(loaded.statistics()) == repr(fitted.statistics())  # repr: NaN-safe equality
    probe = data(500, seed=4)
    assert_identical(loaded.transform(probe), fitted.transform(probe))


def test_fitting_twice_gives_the_same_hash():
    assert fp.compile(feature_set()).fit(data()).plan_hash == fp.compile(feature_set()).fit(data()).plan_hash


@pytest.mark.parametrize("seed", range(4))
def test_merging_random_splits_equals_fitting_the_whole(seed):
    """Exact analyzers (moments, min/max, exact quantiles, vocabularies) give the same fitted
    plan, hash included, however the data is split into batches and threads."""
    table = data(30_000, seed=seed)
    whole = fp.compile(feature_set()).fit(table)
    rng = np.random.default_rng(seed)
    cuts = sorted(set(rng.integers(0, table.num_rows, 7).tolist()))
    pieces = [table.slice(a, b - a) for a, b in zip([0] + cuts, cuts + [table.num_rows])]
    split = fp.compile(feature_set()).fit(pieces, threads=2)
    assert split.plan_hash == whole.plan_hash
    batches = pa.Table.from_batches(table.to_batches(max_chunksize=int(rng.integers(1, 5000))))
    assert fp.compile(feature_set()).fit(batches, threads=2).plan_hash == whole.plan_hash


def test_fitted_plan_parity_batch_row_threads():
    fitted = fp.compile(feature_set()).fit(data())
    probe = data(3000, seed=7)
    batch = fitted.transform(probe)
    assert_identical(fitted.transform(probe, threads=2), batch)
    rows = fitted._transform_rows(to_batches(probe, fitted.input_names), "arrow")
    assert_identical(rows, batch)


def test_nan_is_ignored_not_poisoning():
    x = np.array([1.0, np.nan, 3.0, np.nan])
    fs = fp.FeatureSet("t", inputs={"x": fp.request("float64")},
                       features={"s": fp.col("x").standard_scale(), "m": fp.col("x").impute("mean")})
    fitted = fp.compile(fs).fit({"x": x})
    st = fitted.statistics()
    assert st["s"][0]["mean"] == 2.0 and st["s"][0]["std"] == 1.0
    out = fitted.transform({"x": x}).to_pydict()
    assert out["s"][0] == -1.0 and math.isnan(out["s"][1])
    assert out["m"] == [1.0, 2.0, 3.0, 2.0]


def test_zero_variance_and_constant_range_scale_by_one():
    fs = fp.FeatureSet("t", inputs={"x": fp.request("float64")},
                       features={"s": fp.col("x").standard_scale(), "m": fp.col("x").min_max_scale(),
                                 "r": fp.col("x").robust_scale()})
    fitted = fp.compile(fs).fit({"x": [4.0, 4.0, 4.0]})
    assert fitted.transform({"x": [4.0, 5.0]}).to_pydict() == {"s": [0.0, 1.0], "m": [0.0, 1.0], "r": [0.0, 1.0]}


def test_all_null_column_and_empty_data_are_clear_errors():
    fs = fp.FeatureSet("t", inputs={"x": fp.request("float64")}, features={"s": fp.col("x").standard_scale()})
    with pytest.raises(fp.PlanError, match=r"cannot fit standard_scale for feature 's'.*no present"):
        fp.compile(fs).fit({"x": pa.array([None, None], pa.float64())})
    with pytest.raises(fp.PlanError, match="has no rows"):
        fp.compile(fs).fit({"x": pa.array([], pa.float64())})
    with pytest.raises(fp.PlanError, match="has no rows"):
        fp.compile(fs).fit([])


def test_unseen_categories_and_ties():
    fs = fp.FeatureSet("t", inputs={"c": fp.request("string")}, features={
        "v": fp.col("c").vocabulary(num_oov_buckets=2), "none": fp.col("c").vocabulary(num_oov_buckets=0)})
    fitted = fp.compile(fs).fit({"c": ["b", "a", "b", "a", "c"]})
    # a and b tie at 2: ties break by ascending value, deterministically.
    assert fitted.statistics()["v"][0]["keys"] == ["a", "b", "c"]
    out = fitted.transform({"c": ["a", "b", "c", "zzz", None]}).to_pydict()
    assert out["v"][:3] == [0, 1, 2] and out["v"][3] in (3, 4) and out["v"][4] is None
    assert out["none"] == [0, 1, 2, None, None]


def test_values_outside_the_fitted_range():
    fs = fp.FeatureSet("t", inputs={"x": fp.request("float64")},
                       features={"q": fp.col("x").quantile_bucketize(4), "m": fp.col("x").min_max_scale()})
    fitted = fp.compile(fs).fit({"x": np.arange(100.0)})
    out = fitted.transform({"x": [-1000.0, 1e9, float("inf"), float("-inf")]}).to_pydict()
    assert out["q"] == [0, 3, 3, 0]
    assert out["m"][0] < 0 and out["m"][1] > 1


def test_one_shot_iterator_with_nested_transforms_is_a_clear_error():
    fs = fp.FeatureSet("t", inputs={"x": fp.request("float64")},
                       features={"n": fp.col("x").standard_scale().quantile_bucketize(3)})
    with pytest.raises(fp.PlanError, match="one-shot iterator"):
        fp.compile(fs).fit(iter([{"x": [1.0, 2.0, 3.0]}]))
    # A function returning a fresh iterator works.
    fitted = fp.compile(fs).fit(lambda: iter([{"x": [1.0, 2.0]}, {"x": [3.0]}]))
    assert fitted.transform({"x": [1.0, 3.0]}).column("n").to_pylist() == [0, 2]


def test_one_hot_must_be_a_whole_feature():
    fs = fp.FeatureSet("t", inputs={"c": fp.request("string")}, features={"o": fp.col("c").one_hot() * 2})
    with pytest.raises(fp.PlanError, match="one_hot must be the whole feature"):
        fp.compile(fs).fit({"c": ["a"]})


def test_fitted_types_are_checked_at_compile():
    with pytest.raises(fp.FeatureTypeError, match="standard_scale"):
        fp.compile(fp.FeatureSet("t", inputs={"c": fp.request("string")}, features={"s": fp.col("c").standard_scale()}))
    with pytest.raises(fp.PlanError, match="n must be between"):
        fp.compile(fp.FeatureSet("t", inputs={"x": fp.request("float64")},
                                 features={"q": fp.col("x").quantile_bucketize(1)}))
