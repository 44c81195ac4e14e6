"""Single-row latency (the serving path): featureplat transform_row(dict, to="numpy") and
transform_row(dict) -> dict, against the plain Python function over the same dict (how a
Python on-demand transform runs per request). The row is a request dict of Python values
(floats, an int, a str and a UTC datetime). Each benchmark: ROUNDS rounds of ITERATIONS
calls after a warm-up; the median of the per-call round means is the p50 in the table."""
from __future__ import annotations

import numpy as np
import pytest

from features20 import FEATURE_NAMES, python_features

ROUNDS = 2000
ITERATIONS = 50
WARMUP = 200


@pytest.fixture(scope="module")
def row(sample_data):
    return sample_data.row(0)


def _run(benchmark, fn, row):
    return benchmark.pedantic(fn, args=(row,), rounds=ROUNDS, iterations=ITERATIONS, warmup_rounds=WARMUP)


def test_featureplat_row_numpy(benchmark, plan, row, collector):
    benchmark.group = "row"
    out = _run(benchmark, lambda r: plan.transform_row(r, to="numpy"), row)
    assert out.shape == (len(FEATURE_NAMES),)
    collector.record("fp.row.numpy", benchmark)


def test_featureplat_row_dict(benchmark, plan, row, collector):
    benchmark.group = "row"
    out = _run(benchmark, plan.transform_row, row)
    assert list(out) == FEATURE_NAMES
    collector.record("fp.row.dict", benchmark)


def test_python_function_row(benchmark, plan, row, collector):
    benchmark.group = "row"
    out = _run(benchmark, python_features, row)
    assert out == plan.transform_row(row)
    as_floats = np.array([float(v) for v in out.values()])
    np.testing.assert_array_equal(as_floats, plan.transform_row(row, to="numpy"))
    collector.record("python.row", benchmark)
