"""Batch throughput of the 20-feature plan at FEATUREPLAT_BENCH_ROWS rows (default 10M).

featureplat reads the Arrow table zero-copy; Polars starts from a DataFrame and numpy
from column arrays, both converted once outside the timing. Everything on 1 thread
(Polars' pool is pinned to 1 thread in conftest) except the featureplat threads=2 runs of
the thread-scaling comparison. Each benchmark: 1 warm-up round, then
FEATUREPLAT_BENCH_ROUNDS (default 7) timed rounds of one call; the ratio table compares
medians.
"""
from __future__ import annotations

import numpy as np
import pytest

from conftest import bench_rounds
from features20 import FEATURE_NAMES, numpy_features, numpy_matrix, polars_exprs

NF = len(FEATURE_NAMES)


def _run(benchmark, fn, *args, **kwargs):
    return benchmark.pedantic(fn, args=args, kwargs=kwargs, rounds=bench_rounds(), iterations=1,
                              warmup_rounds=1)


# ---- float64 matrix (rows x 20), the training-matrix shape -----------------------------

@pytest.mark.parametrize("threads", [1, 2])
def test_featureplat_matrix(benchmark, plan, bench_data, collector, threads):
    benchmark.group = "batch: float64 matrix"
    benchmark.extra_info["rows"] = bench_data.n
    out = _run(benchmark, plan.transform, bench_data.table, threads=threads, to="numpy")
    assert out.shape == (bench_data.n, NF) and out.dtype == np.float64
    collector.record(f"fp.matrix.t{threads}", benchmark, bench_data.n)


def test_polars_matrix(benchmark, bench_data, collector):
    benchmark.group = "batch: float64 matrix"
    exprs = polars_exprs(as_float=True)
    frame = bench_data.frame
    out = _run(benchmark, lambda: frame.select(exprs).to_numpy())
    assert out.shape == (bench_data.n, NF) and out.dtype == np.float64
    collector.record("polars.matrix", benchmark, bench_data.n)


def test_numpy_matrix(benchmark, bench_data, collector):
    benchmark.group = "batch: float64 matrix"
    out = _run(benchmark, numpy_matrix, bench_data.np)
    assert out.shape == (bench_data.n, NF)
    collector.record("numpy.matrix", benchmark, bench_data.n)


# ---- columnar output (native types per feature) ----------------------------------------

@pytest.mark.parametrize("threads", [1, 2])
def test_featureplat_arrow(benchmark, plan, bench_data, collector, threads):
    benchmark.group = "batch: columns"
    out = _run(benchmark, plan.transform, bench_data.table, threads=threads)
    assert out.num_rows == bench_data.n and out.num_columns == NF
    collector.record(f"fp.arrow.t{threads}", benchmark, bench_data.n)


def test_polars_frame(benchmark, bench_data, collector):
    benchmark.group = "batch: columns"
    exprs = polars_exprs()
    frame = bench_data.frame
    out = _run(benchmark, frame.select, exprs)
    assert out.shape == (bench_data.n, NF)
    collector.record("polars.frame", benchmark, bench_data.n)


def test_numpy_columns(benchmark, bench_data, collector):
    benchmark.group = "batch: columns"
    out = _run(benchmark, numpy_features, bench_data.np)
    assert len(out) == NF and all(len(c) == bench_data.n for c in out.values())
    collector.record("numpy.columns", benchmark, bench_data.n)
