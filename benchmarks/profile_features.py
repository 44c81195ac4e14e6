"""Per-feature profile (not a test; run by hand):

    .venv/bin/python benchmarks/profile_features.py [ROWS [REPEAT]]

Times each of the 20 features alone at ROWS rows (default FEATUREPLAT_BENCH_ROWS or 10M),
1 thread: featureplat (a one-feature plan, to="arrow"), hand-written numpy and Polars;
plus baselines: a plan whose one feature is an input passed through (featureplat's fixed
cost of reading the batch and writing one output column) next to ``x + 1.0`` in numpy and
Polars, and the full 20-feature plan. Median of REPEAT runs (default
5), in ms, and ns per row. Run it on 100_000 rows too: there every array stays in cache
and the numbers are the kernels' compute cost without page faults.
"""
from __future__ import annotations

import gc
import os
import sys
import time

os.environ["POLARS_MAX_THREADS"] = "1"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

import featureplat as fp  # noqa: E402
from conftest import BenchData, bench_rows  # noqa: E402
from features20 import FEATURE_NAMES, NUMPY_FEATURES, compile_plan, feature_set, polars_exprs  # noqa: E402

REPEAT = int(sys.argv[2]) if len(sys.argv) > 2 else 5


def best(fn) -> float:
    """Median of REPEAT timed calls after one warm-up call."""
    fn()
    times = []
    for _ in range(REPEAT):
        gc.collect()
        t0 = time.perf_counter()
        r = fn()
        times.append(time.perf_counter() - t0)
        del r
    return float(np.median(times))


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else bench_rows()
    d = BenchData(rows, 20240601)
    frame = d.frame
    fs = feature_set()
    exprs = dict(zip(FEATURE_NAMES, polars_exprs()))
    per_row = 1e9 / rows

    def one(name, expr):
        return fp.compile(fp.FeatureSet("one", inputs=fs.inputs, features={name: expr}))

    print(f"{rows:,} rows, 1 thread, median of {REPEAT}; ms (ns/row); load average {os.getloadavg()}")
    print(f"{'feature':16} {'featureplat':>18} {'numpy':>18} {'polars':>18} {'numpy/fp':>9} {'polars/fp':>9}")
    for name in ["x (peers x+1)"] + FEATURE_NAMES:
        if name == "x (peers x+1)":
            plan = one("x", fp.col("x"))
            t_np = best(lambda: d.np["x"] + 1.0)
            t_pl = best(lambda: frame.select(pl.col("x") + 1.0))
        else:
            plan = one(name, fs.features[name])
            with np.errstate(invalid="ignore"):
                t_np = best(lambda: NUMPY_FEATURES[name](d.np))
            t_pl = best(lambda: frame.select(exprs[name]))
        t_fp = best(lambda: plan.transform(d.table))
        print(f"{name:16} {t_fp * 1e3:9.1f} ({t_fp * per_row:5.1f}) {t_np * 1e3:9.1f} "
              f"({t_np * per_row:5.1f}) {t_pl * 1e3:9.1f} ({t_pl * per_row:5.1f}) {t_np / t_fp:9.2f} "
              f"{t_pl / t_fp:9.2f}")
    full = compile_plan()
    for to in ("arrow", "numpy"):
        t = best(lambda: full.transform(d.table, to=to))
        print(f"{'all 20, to=' + to:16} {t * 1e3:9.1f} ({t * per_row:5.1f})")
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
