"""Fitted transforms agree with scikit-learn (a test-only peer) on generated data and on
datasets scikit-learn ships. Where our semantics deliberately differ, the test says so."""
import numpy as np
import pyarrow as pa
import pytest
from sklearn.datasets import load_diabetes, load_wine
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import (KBinsDiscretizer, MinMaxScaler, OneHotEncoder, OrdinalEncoder, RobustScaler,
                                   StandardScaler)

import featureplat as fp

RTOL = 1e-12


def _datasets():
    rng = np.random.default_rng(3)
    out = {
        "diabetes_bmi": load_diabetes().data[:, 2],
        "diabetes_s5": load_diabetes().data[:, 8],
        "wine_proline": load_wine().data[:, 12],
        "wine_magnesium": load_wine().data[:, 4],
        "normal": rng.normal(5.0, 3.0, 5000),
        "lognormal": rng.lognormal(0.0, 2.0, 3001),
        "ties": rng.integers(0, 5, 2000).astype(np.float64),
        "tiny": np.array([2.5]),
        "two": np.array([1.0, -1.0]),
    }
    return out


DATA = _datasets()


def _fit_transform(x: np.ndarray, expr_of):
    fs = fp.FeatureSet("t", inputs={"x": fp.request("float64")}, features={"y": expr_of(fp.col("x"))})
    plan = fp.compile(fs).fit({"x": x})
    return plan, plan.transform({"x": x}, to="numpy")[:, 0]


@pytest.mark.parametrize("name", sorted(DATA))
def test_standard_scaler(name):
    x = DATA[name]
    plan, got = _fit_transform(x, lambda c: c.standard_scale())
    ref = StandardScaler().fit(x[:, None])
    stats = plan.statistics()["y"][0]
    # Our mean is the correctly rounded exact mean; scikit-learn sums in floating point. On
    # centred data (diabetes features have mean ~1e-16) the relative gap is large, so the
    # tolerance is relative to the data's magnitude there.
    np.testing.assert_allclose(stats["mean"], ref.mean_[0], rtol=RTOL, atol=RTOL * np.abs(x).max())
    np.testing.assert_allclose(stats["scale"], ref.scale_[0], rtol=RTOL, atol=0)
    np.testing.assert_allclose(got, ref.transform(x[:, None])[:, 0], rtol=RTOL, atol=1e-12)


@pytest.mark.parametrize("name", sorted(DATA))
def test_min_max_scaler(name):
    x = DATA[name]
    plan, got = _fit_transform(x, lambda c: c.min_max_scale())
    ref = MinMaxScaler().fit(x[:, None])
    stats = plan.statistics()["y"][0]
    assert stats["min"] == ref.data_min_[0] and stats["max"] == ref.data_max_[0]
    # scikit-learn computes x * scale_ + min_; we compute (x - min) / range: equal within rounding.
    np.testing.assert_allclose(got, ref.transform(x[:, None])[:, 0], rtol=RTOL, atol=1e-12)


@pytest.mark.parametrize("name", sorted(DATA))
def test_robust_scaler(name):
    x = DATA[name]
    plan, got = _fit_transform(x, lambda c: c.robust_scale())
    ref = RobustScaler().fit(x[:, None])
    stats = plan.statistics()["y"][0]
    assert stats["median"] == ref.center_[0]
    np.testing.assert_allclose(stats["scale"], ref.scale_[0], rtol=RTOL, atol=0)
    np.testing.assert_allclose(got, ref.transform(x[:, None])[:, 0], rtol=RTOL, atol=1e-12)


@pytest.mark.parametrize("name", sorted(DATA))
@pytest.mark.parametrize("n", [2, 4, 10])
def test_kbins_quantile_edges_exact(name, n):
    x = DATA[name]
    plan, got = _fit_transform(x, lambda c: c.quantile_bucketize(n))
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scikit-learn warns when it merges narrow bins
            ref = KBinsDiscretizer(n_bins=n, encode="ordinal", strategy="quantile", quantile_method="linear",
                                   subsample=None).fit(x[:, None])
    stats = plan.statistics()["y"][0]
    assert stats["exact"] is True
    # The raw quantile edges equal numpy.percentile(method="linear") bit for bit, and after
    # merging edges closer than 1e-8 (scikit-learn's rule) they equal scikit-learn's.
    assert stats["edges"] == list(np.percentile(x, np.linspace(0, 100, n + 1), method="linear"))
    assert stats["boundaries"] == list(ref.bin_edges_[0][1:-1])
    np.testing.assert_array_equal(got, ref.transform(x[:, None])[:, 0])


def test_kbins_sketch_within_documented_rank_error():
    rng = np.random.default_rng(11)
    x = rng.lognormal(0.0, 1.0, 400_000)
    fs = fp.FeatureSet("t", inputs={"x": fp.request("float64")}, features={"y": fp.col("x").quantile_bucketize(10)})
    plan = fp.compile(fs).fit({"x": x}, exact_budget=10_000)
    stats = plan.statistics()["y"][0]
    assert stats["exact"] is False
    sorted_x = np.sort(x)
    eps = 0.01  # documented bound for the default sketch size, as a fraction of n
    for p, edge in zip(np.linspace(0, 1, 11)[1:-1], stats["edges"][1:-1]):
        rank = np.searchsorted(sorted_x, edge, side="right") / len(x)
        assert abs(rank - p) <= eps, (p, rank)


def _cats():
    rng = np.random.default_rng(5)
    train = rng.choice(["lisbon", "porto", "faro", "braga", "évora", ""], 3000, p=[.3, .25, .2, .1, .1, .05])
    test = np.concatenate([train[:500], ["unseen", "LISBON"]])
    return train, test


def test_ordinal_encoder_exact():
    train, test = _cats()
    fs = fp.FeatureSet("t", inputs={"c": fp.request("string")},
                       features={"i": fp.col("c").vocabulary(order="value", num_oov_buckets=0)})
    plan = fp.compile(fs).fit({"c": train})
    ref = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan).fit(train[:, None])
    assert plan.statistics()["i"][0]["keys"] == list(ref.categories_[0])
    got = plan.transform({"c": test}, to="numpy")[:, 0]
    # Unknown values: scikit-learn's unknown_value=NaN; ours null (NaN in a float matrix), with
    # num_oov_buckets=0. The default (num_oov_buckets=1) hashes them into a bucket instead.
    np.testing.assert_array_equal(got, ref.transform(test[:, None])[:, 0])


def test_ordinal_encoder_on_integers_and_frequency_order():
    rng = np.random.default_rng(6)
    train = rng.integers(-3, 4, 1000)
    fs = fp.FeatureSet("t", inputs={"c": fp.request("int64")},
                       features={"v": fp.col("c").vocabulary(order="value", num_oov_buckets=0),
                                 "f": fp.col("c").vocabulary()})
    plan = fp.compile(fs).fit({"c": train})
    ref = OrdinalEncoder().fit(train[:, None])
    np.testing.assert_array_equal(plan.transform({"c": train}, to="numpy")[:, 0], ref.transform(train[:, None])[:, 0])
    # Frequency order (our default, as in TensorFlow Transform): by count, ties by value.
    keys = plan.statistics()["f"][0]["keys"]
    values, counts = np.unique(train, return_counts=True)
    assert keys == [int(v) for _, v in sorted(zip(-counts, values))]


def test_one_hot_encoder_exact():
    train, test = _cats()
    fs = fp.FeatureSet("t", inputs={"c": fp.request("string")}, features={"city": fp.col("c").one_hot()})
    plan = fp.compile(fs).fit({"c": train})
    ref = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(train[:, None])
    assert plan.features == [f"city__{k}" for k in ref.categories_[0]]
    np.testing.assert_array_equal(plan.transform({"c": test}, to="numpy"), ref.transform(test[:, None]))


@pytest.mark.parametrize("strategy", ["mean", "median", "most_frequent"])
def test_simple_imputer_exact(strategy):
    rng = np.random.default_rng(8)
    x = np.round(rng.normal(10, 3, 4001), 1)
    x[rng.random(len(x)) < 0.2] = np.nan
    fs = fp.FeatureSet("t", inputs={"x": fp.request("float64")}, features={"y": fp.col("x").impute(strategy)})
    if strategy == "most_frequent":
        # Ours works on strings and integers; compare on the integer column.
        xi = np.where(np.isnan(x), -1, x * 10).astype(np.int64)
        table = pa.table({"x": pa.array(xi, mask=np.isnan(x))})
        fs = fp.FeatureSet("t", inputs={"x": fp.request("int64")}, features={"y": fp.col("x").impute(strategy)})
        plan = fp.compile(fs).fit(table)
        ref = SimpleImputer(strategy=strategy).fit(np.where(np.isnan(x), np.nan, xi)[:, None])
        np.testing.assert_array_equal(plan.transform(table, to="numpy")[:, 0],
                                      ref.transform(np.where(np.isnan(x), np.nan, xi)[:, None])[:, 0])
        return
    plan = fp.compile(fs).fit({"x": x})
    ref = SimpleImputer(strategy=strategy).fit(x[:, None])
    stats = plan.statistics()["y"][0]
    if strategy == "mean":
        np.testing.assert_allclose(stats["value"], ref.statistics_[0], rtol=RTOL)
    else:
        assert stats["value"] == ref.statistics_[0]
    np.testing.assert_allclose(plan.transform({"x": x}, to="numpy")[:, 0], ref.transform(x[:, None])[:, 0],
                               rtol=RTOL)
