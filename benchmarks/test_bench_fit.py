"""Fitting and applying fitted transforms at FEATUREPLAT_BENCH_ROWS rows (default 10M):
featureplat ``plan.fit`` / ``FittedPlan.transform(to="numpy")`` against scikit-learn.

The plan (defined in ``fit_memory.py``, shared with the memory script): standard_scale(a),
robust_scale(b), quantile_bucketize(c, 10), vocabulary(s, order="value",
num_oov_buckets=0), impute(d, "mean"). The peers, each fitted on its own column (total
time of the five): StandardScaler, RobustScaler, KBinsDiscretizer(n_bins=10,
encode="ordinal", strategy="quantile", quantile_method="linear", subsample=None),
OrdinalEncoder, SimpleImputer(strategy="mean").

Inputs are built once outside the timing: featureplat reads a pyarrow Table (floats
zero-copy from numpy); scikit-learn gets (n, 1) numpy views, the strings as an object array
of ~1000 shared str objects (hashes cached: the cheapest object array it can get; what
converting an Arrow string column costs instead is timed by
``test_sklearn_input_strings_from_arrow``, not part of any ratio). The scikit-learn
transform is the five ``transform`` calls plus ``np.hstack`` into the same (rows x 5)
float64 matrix featureplat returns. Data: a normal, b lognormal, c normal, d lognormal with
~5% NaN (NaN, not null), s uniform over ~1000 strings.

Each benchmark: 1 warm-up round (the first 10M-row matrix transform pays the page faults of
a fresh 400 MB result), then ROUNDS (env FEATUREPLAT_FIT_ROUNDS, default 5) timed rounds of one call; the ratio table (conftest)
compares medians. featureplat runs on 1 thread, and on 2 for the threads=2 rows. The
correctness tests (not timed) check featureplat's outputs and statistics against
scikit-learn's on a 10k-row sample and at the benchmarked size.
"""
from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

import featureplat as fp
from conftest import bench_rows
from fit_memory import FEATURES, INPUT_OF, SEED, feature_set, make_columns, sklearn_inputs, sklearn_transformers, \
    to_arrow

ROUNDS = int(os.environ.get("FEATUREPLAT_FIT_ROUNDS", "5"))
SAMPLE_ROWS = 10_000
SAMPLE_SEED = 11
RTOL = 1e-12
ATOL = 1e-12  # outputs near 0 (x close to the mean/median) need an absolute floor
EXACT = {"q", "voc"}  # bucket indexes and ordinal codes: compared exactly


class FitData:
    def __init__(self, n: int, seed):
        cols = make_columns(n, seed)
        self.n = n
        self.table = to_arrow(cols)
        self.sk = sklearn_inputs(cols)  # feature input name -> (n, 1) array
        del cols


@pytest.fixture(scope="module")
def fit_data() -> FitData:
    return FitData(bench_rows(), SEED)


@pytest.fixture(scope="module")
def fit_plan():
    return fp.compile(feature_set())


def _sk_fit(sk: dict) -> dict:
    models = sklearn_transformers()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # KBinsDiscretizer warns if it merges narrow bins
        for name in FEATURES:
            models[name].fit(sk[INPUT_OF[name]])
    return models


def _sk_transform(models: dict, sk: dict) -> np.ndarray:
    return np.hstack([models[name].transform(sk[INPUT_OF[name]]) for name in FEATURES])


def _run(benchmark, fn, *args, **kwargs):
    return benchmark.pedantic(fn, args=args, kwargs=kwargs, rounds=ROUNDS, iterations=1, warmup_rounds=1)


# ---- correctness (not timed) ----------------------------------------------------------

def _check_against_sklearn(fitted, models, table, sk) -> None:
    stats = {f: fitted.statistics()[f][0] for f in FEATURES}
    assert stats["voc"]["keys"] == list(models["voc"].categories_[0])
    assert stats["q"]["boundaries"] == list(models["q"].bin_edges_[0][1:-1])
    assert stats["rob"]["median"] == models["rob"].center_[0]
    np.testing.assert_allclose(stats["rob"]["scale"], models["rob"].scale_[0], rtol=RTOL, atol=0)
    np.testing.assert_allclose(stats["std"]["mean"], models["std"].mean_[0], rtol=RTOL, atol=0)
    np.testing.assert_allclose(stats["std"]["scale"], models["std"].scale_[0], rtol=RTOL, atol=0)
    np.testing.assert_allclose(stats["imp"]["value"], models["imp"].statistics_[0], rtol=RTOL, atol=0)
    got = fitted.transform(table, to="numpy")
    ref = _sk_transform(models, sk)
    assert got.shape == ref.shape == (table.num_rows, len(FEATURES)) and got.dtype == np.float64
    for j, name in enumerate(FEATURES):
        if name in EXACT:
            np.testing.assert_array_equal(got[:, j], ref[:, j], err_msg=name)
        else:
            np.testing.assert_allclose(got[:, j], ref[:, j], rtol=RTOL, atol=ATOL, err_msg=name)
    assert not np.isnan(got).any()  # the imputer filled every NaN of d


def test_fit_matches_sklearn_on_sample(fit_plan):
    data = FitData(SAMPLE_ROWS, SAMPLE_SEED)
    assert np.isnan(data.sk["d"]).any()
    models = _sk_fit(data.sk)
    f1 = fit_plan.fit(data.table, threads=1)
    f2 = fit_plan.fit(data.table, threads=2)
    assert f1.statistics() == f2.statistics()
    _check_against_sklearn(f1, models, data.table, data.sk)
    # Streaming the same rows in uneven batches gives the same statistics.
    batches = [data.table.slice(o, 777).to_batches()[0] for o in range(0, data.n, 777)]
    assert fit_plan.fit(iter(batches)).statistics() == f1.statistics()


# ---- fit ------------------------------------------------------------------------------

@pytest.mark.parametrize("threads", [1, 2])
def test_featureplat_fit(benchmark, fit_plan, fit_data, collector, threads):
    benchmark.group = "fit: 5 transforms"
    benchmark.extra_info["rows"] = fit_data.n
    fitted = _run(benchmark, fit_plan.fit, fit_data.table, threads=threads)
    assert not fitted.needs_fit and fitted.statistics()["std"][0]["rows"] == fit_data.n
    collector.record(f"fp.fit.t{threads}", benchmark, fit_data.n)


def test_sklearn_fit(benchmark, fit_data, collector):
    benchmark.group = "fit: 5 transforms"
    models = _run(benchmark, _sk_fit, fit_data.sk)
    assert len(models["voc"].categories_[0]) > 0
    collector.record("sklearn.fit", benchmark, fit_data.n)


def test_sklearn_input_strings_from_arrow(benchmark, fit_data):
    """Not in the ratio table: what scikit-learn's string input costs when the data is in
    Arrow (one Python str per row), on top of the timed sklearn fit/transform."""
    benchmark.group = "fit: input conversion (not in ratios)"
    col = fit_data.table.column("s")
    out = _run(benchmark, lambda: col.to_numpy(zero_copy_only=False))
    assert out.dtype == object and len(out) == fit_data.n


# ---- transform with the fitted statistics --------------------------------------------

@pytest.fixture(scope="module")
def fp_fitted(fit_plan, fit_data):
    return fit_plan.fit(fit_data.table, threads=2)


@pytest.fixture(scope="module")
def sk_fitted(fit_data):
    return _sk_fit(fit_data.sk)


@pytest.mark.parametrize("threads", [1, 2])
def test_featureplat_fitted_transform(benchmark, fp_fitted, fit_data, collector, threads):
    benchmark.group = "fitted transform: float64 matrix"
    benchmark.extra_info["rows"] = fit_data.n
    out = _run(benchmark, fp_fitted.transform, fit_data.table, threads=threads, to="numpy")
    assert out.shape == (fit_data.n, len(FEATURES)) and out.dtype == np.float64
    collector.record(f"fp.fitted.t{threads}", benchmark, fit_data.n)


def test_sklearn_transform(benchmark, sk_fitted, fit_data, collector):
    benchmark.group = "fitted transform: float64 matrix"
    out = _run(benchmark, _sk_transform, sk_fitted, fit_data.sk)
    assert out.shape == (fit_data.n, len(FEATURES)) and out.dtype == np.float64
    collector.record("sklearn.transform", benchmark, fit_data.n)


def test_full_size_matches_sklearn(fp_fitted, sk_fitted, fit_data):
    """The benchmarked fit (threads=2) and its outputs agree with scikit-learn at full size;
    at 10M rows the quantiles are still exact (the default exact_budget is 10M values)."""
    stats = fp_fitted.statistics()
    exact = fit_data.n <= 10_000_000
    assert stats["q"][0]["exact"] is exact and stats["rob"][0]["exact"] is exact
    if not exact:
        pytest.skip("beyond the exact budget the quantiles are KLL estimates, not compared exactly")
    _check_against_sklearn(fp_fitted, sk_fitted, fit_data.table, fit_data.sk)
