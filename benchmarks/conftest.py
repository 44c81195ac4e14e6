"""Shared data and the ratio table for the featureplat benchmarks.

Run (headline numbers, 10M rows)::

    .venv/bin/python -m pytest benchmarks -q -p no:cacheprovider --benchmark-disable-gc

Smoke run: ``FEATUREPLAT_BENCH_ROWS=100000`` (rows of the batch data; the default, 10M, is
the one to quote). ``FEATUREPLAT_BENCH_ROUNDS`` sets the rounds of each batch benchmark
(default 7, plus one warm-up round).

Everything runs on one thread unless a benchmark says otherwise: Polars' pool is pinned to
one thread below (POLARS_MAX_THREADS must be set before polars is imported). No peer uses
BLAS (no matmul/dot: numpy runs elementwise ufuncs only), so OPENBLAS_CORETYPE /
OPENBLAS_L2_SIZE, which only pick OpenBLAS kernels, do not affect these numbers; they are
deliberately left as the machine sets them.

At the end of the session a table prints, for each comparison, the median featureplat
time, the median peer time and the ratio peer / featureplat (> 1: featureplat is faster),
then the same ratio of the minimums: the 10M-row matrix runs allocate 1.6 GB per call and
their page-fault cost varies a lot on a shared VM, so a median and a min ratio that
disagree mean a disturbed run.
"""
from __future__ import annotations

import datetime as _dt
import os

os.environ["POLARS_MAX_THREADS"] = "1"  # before any import of polars

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pytest  # noqa: E402

DEFAULT_ROWS = 10_000_000
SEED = 20240601
SAMPLE_ROWS = 20_000  # the equivalence test's sample
SAMPLE_SEED = 7

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_T0_US = 1_577_836_800_000_000  # 2020-01-01T00:00:00Z
_SPAN_US = 4 * 365 * 86_400_000_000
_PREFIXES = ["Shop", "home", "WORK", "shopping", "travel", "Food", "auto", "eShop", "SHOPPER", "misc"]
_VOCAB = 20_000


def bench_rows() -> int:
    raw = os.environ.get("FEATUREPLAT_BENCH_ROWS", "")
    return int(raw.replace("_", "")) if raw else DEFAULT_ROWS


def bench_rounds() -> int:
    raw = os.environ.get("FEATUREPLAT_BENCH_ROUNDS", "")
    return int(raw) if raw else 7


class BenchData:
    """One seeded data set in the three shapes the contenders read.

    ``table``: pyarrow Table (x, y, z float64; n int64; s string; t timestamp[us, UTC]),
    one chunk per column. ``frame``: the same as a Polars DataFrame (converted once, not
    timed). ``np``: numpy columns (s as 'S16' ASCII bytes, t as int64 microseconds).
    ``row(i)``: row i as a request dict of Python values (t a UTC datetime)."""

    def __init__(self, n: int, seed: int):
        rng = np.random.default_rng(seed)
        x = rng.normal(0.0, 2.0, n)
        y = rng.lognormal(0.0, 1.0, n)
        z = rng.uniform(-5.0, 5.0, n)
        nn = rng.integers(0, 1000, n, dtype=np.int64)
        nn[rng.random(n) < 0.01] = 0  # some exact zeros for f13
        vocab = [f"{_PREFIXES[i % len(_PREFIXES)]}_{i:05d}" for i in range(_VOCAB)]
        idx = rng.integers(0, _VOCAB, n)
        t = _T0_US + rng.integers(0, _SPAN_US, n, dtype=np.int64)
        self.n = n
        self.np = {
            "x": x, "y": y, "z": z, "n": nn,
            "s": np.array(vocab, dtype="S16")[idx],
            "t": t,
        }
        self.table = pa.table({
            "x": pa.array(x), "y": pa.array(y), "z": pa.array(z), "n": pa.array(nn),
            "s": pa.array(vocab, pa.string()).take(pa.array(idx)),
            "t": pa.array(t, pa.timestamp("us", tz="UTC")),
        })
        self._frame = None

    @property
    def frame(self):
        if self._frame is None:
            import polars as pl
            self._frame = pl.from_arrow(self.table, rechunk=True)
        return self._frame

    def row(self, i: int) -> dict:
        d = self.np
        return {
            "x": float(d["x"][i]), "y": float(d["y"][i]), "z": float(d["z"][i]), "n": int(d["n"][i]),
            "s": d["s"][i].decode("ascii"),
            "t": _EPOCH + _dt.timedelta(microseconds=int(d["t"][i])),
        }


@pytest.fixture(scope="session")
def bench_data() -> BenchData:
    """The headline data: FEATUREPLAT_BENCH_ROWS rows (default 10M)."""
    return BenchData(bench_rows(), SEED)


@pytest.fixture(scope="session")
def sample_data() -> BenchData:
    """A small sample for the equivalence test."""
    return BenchData(SAMPLE_ROWS, SAMPLE_SEED)


@pytest.fixture(scope="session")
def plan():
    from features20 import compile_plan
    return compile_plan()


# ---- the ratio table -------------------------------------------------------------------

# (comparison, featureplat measurement, peer measurement). For thread scaling the "peer"
# is featureplat on 1 thread, so the ratio is the speedup of 2 threads.
COMPARISONS = [
    ("batch to=numpy matrix, 1 thread", "fp.matrix.t1", "polars.matrix"),
    ("batch to=numpy matrix, 1 thread", "fp.matrix.t1", "numpy.matrix"),
    ("batch to=arrow columns, 1 thread", "fp.arrow.t1", "polars.frame"),
    ("batch to=arrow columns, 1 thread", "fp.arrow.t1", "numpy.columns"),
    ("thread scaling to=numpy (speedup)", "fp.matrix.t2", "fp.matrix.t1"),
    ("thread scaling to=arrow (speedup)", "fp.arrow.t2", "fp.arrow.t1"),
    ("row to=numpy vs Python fn", "fp.row.numpy", "python.row"),
    ("row to=dict vs Python fn", "fp.row.dict", "python.row"),
    # test_bench_fit.py: plan.fit / fitted transform vs scikit-learn (5 transformers).
    ("fit 5 transforms, fp 1 thread", "fp.fit.t1", "sklearn.fit"),
    ("fit 5 transforms, fp 2 threads", "fp.fit.t2", "sklearn.fit"),
    ("fitted to=numpy, fp 1 thread", "fp.fitted.t1", "sklearn.transform"),
    ("fitted to=numpy, fp 2 threads", "fp.fitted.t2", "sklearn.transform"),
    ("thread scaling fit (speedup)", "fp.fit.t2", "fp.fit.t1"),
    ("thread scaling fitted (speedup)", "fp.fitted.t2", "fp.fitted.t1"),
    # test_bench_training_set.py: training_set (native join + plan) vs Feast
    # get_historical_features (DuckDB store, pandas ODFV); the native join alone on 1 and 2 threads.
    ("training set 1M x 1M, fp 1 thread", "fp.ts.t1", "feast.duckdb.pandas_odfv"),
    ("training set 1M x 1M, fp 2 threads", "fp.ts.t2", "feast.duckdb.pandas_odfv"),
    ("thread scaling train set (speedup)", "fp.ts.t2", "fp.ts.t1"),
    ("thread scaling native join (speedup)", "fp.pit.t2", "fp.pit.t1"),
    # test_bench_serving.py: OnlineFeatures.get (lookup + plan) vs Feast get_online_features with
    # the plan as a python ODFV, hand-written python / pandas ODFVs, and the raw read (p50 per call).
    ("serve SQLite 1e vs py ODFV(plan)", "fp.serve.sqlite.1", "feast.py_odfv.sqlite.1"),
    ("serve SQLite 1e vs py ODFV(hand)", "fp.serve.sqlite.1", "feast.py_hand_odfv.sqlite.1"),
    ("serve SQLite 1e vs pandas ODFV", "fp.serve.sqlite.1", "feast.pandas_odfv.sqlite.1"),
    ("serve SQLite 1e vs raw read", "fp.serve.sqlite.1", "feast.raw.sqlite.1"),
    ("serve SQLite 100e vs py ODFV(plan)", "fp.serve.sqlite.100", "feast.py_odfv.sqlite.100"),
    ("serve SQLite 100e vs py ODFV(hand)", "fp.serve.sqlite.100", "feast.py_hand_odfv.sqlite.100"),
    ("serve SQLite 100e vs pandas ODFV", "fp.serve.sqlite.100", "feast.pandas_odfv.sqlite.100"),
    ("serve SQLite 100e vs raw read", "fp.serve.sqlite.100", "feast.raw.sqlite.100"),
    ("serve Redis 1e vs py ODFV(plan)", "fp.serve.redis.1", "feast.py_odfv.redis.1"),
    ("serve Redis 1e vs py ODFV(hand)", "fp.serve.redis.1", "feast.py_hand_odfv.redis.1"),
    ("serve Redis 1e vs pandas ODFV", "fp.serve.redis.1", "feast.pandas_odfv.redis.1"),
    ("serve Redis 1e vs raw read", "fp.serve.redis.1", "feast.raw.redis.1"),
    ("serve Redis 100e vs py ODFV(plan)", "fp.serve.redis.100", "feast.py_odfv.redis.100"),
    ("serve Redis 100e vs py ODFV(hand)", "fp.serve.redis.100", "feast.py_hand_odfv.redis.100"),
    ("serve Redis 100e vs pandas ODFV", "fp.serve.redis.100", "feast.pandas_odfv.redis.100"),
    ("serve Redis 100e vs raw read", "fp.serve.redis.100", "feast.raw.redis.100"),
]

LABELS = {
    "fp.matrix.t1": "featureplat to=numpy, threads=1",
    "fp.matrix.t2": "featureplat to=numpy, threads=2",
    "fp.arrow.t1": "featureplat to=arrow, threads=1",
    "fp.arrow.t2": "featureplat to=arrow, threads=2",
    "polars.matrix": "polars select(Float64).to_numpy()",
    "polars.frame": "polars select -> DataFrame",
    "numpy.matrix": "numpy -> (N, 20) float64 matrix",
    "numpy.columns": "numpy -> dict of 20 arrays",
    "fp.row.numpy": "transform_row(dict, to='numpy')",
    "fp.row.dict": "transform_row(dict) -> dict",
    "python.row": "Python function over a dict",
    "fp.fit.t1": "featureplat plan.fit, threads=1",
    "fp.fit.t2": "featureplat plan.fit, threads=2",
    "sklearn.fit": "scikit-learn 5 x fit",
    "fp.fitted.t1": "fitted to=numpy, threads=1",
    "fp.fitted.t2": "fitted to=numpy, threads=2",
    "sklearn.transform": "scikit-learn 5 x transform + hstack",
    "fp.ts.t1": "training_set().features, threads=1",
    "fp.ts.t2": "training_set().features, threads=2",
    "feast.duckdb.pandas_odfv": "Feast DuckDB + pandas ODFV, to_arrow",
    "fp.pit.t1": "point_in_time_join, threads=1",
    "fp.pit.t2": "point_in_time_join, threads=2",
    "fp.serve.sqlite.1": "OnlineFeatures.get SQLite 1 ent",
    "feast.py_odfv.sqlite.1": "Feast py ODFV(plan) SQLite 1 ent",
    "feast.py_hand_odfv.sqlite.1": "Feast py ODFV(hand) SQLite 1 ent",
    "feast.pandas_odfv.sqlite.1": "Feast pandas ODFV SQLite 1 ent",
    "feast.raw.sqlite.1": "Feast raw read SQLite 1 ent",
    "fp.serve.sqlite.100": "OnlineFeatures.get SQLite 100 ent",
    "feast.py_odfv.sqlite.100": "Feast py ODFV(plan) SQLite 100 ent",
    "feast.py_hand_odfv.sqlite.100": "Feast py ODFV(hand) SQLite 100 ent",
    "feast.pandas_odfv.sqlite.100": "Feast pandas ODFV SQLite 100 ent",
    "feast.raw.sqlite.100": "Feast raw read SQLite 100 ent",
    "fp.serve.redis.1": "OnlineFeatures.get Redis 1 ent",
    "feast.py_odfv.redis.1": "Feast py ODFV(plan) Redis 1 ent",
    "feast.py_hand_odfv.redis.1": "Feast py ODFV(hand) Redis 1 ent",
    "feast.pandas_odfv.redis.1": "Feast pandas ODFV Redis 1 ent",
    "feast.raw.redis.1": "Feast raw read Redis 1 ent",
    "fp.serve.redis.100": "OnlineFeatures.get Redis 100 ent",
    "feast.py_odfv.redis.100": "Feast py ODFV(plan) Redis 100 ent",
    "feast.py_hand_odfv.redis.100": "Feast py ODFV(hand) Redis 100 ent",
    "feast.pandas_odfv.redis.100": "Feast pandas ODFV Redis 100 ent",
    "feast.raw.redis.100": "Feast raw read Redis 100 ent",
}


class Collector:
    """Medians (seconds) by measurement key, filled by the benchmarks."""

    def __init__(self):
        self.medians: dict[str, float] = {}
        self.mins: dict[str, float] = {}
        self.rows: dict[str, int] = {}

    def record(self, key: str, benchmark, rows: int = 1) -> None:
        stats = getattr(benchmark, "stats", None)
        if stats is None:  # --benchmark-disable
            return
        self.medians[key] = stats.stats.median
        self.mins[key] = stats.stats.min
        self.rows[key] = rows


_COLLECTOR = Collector()


@pytest.fixture(scope="session")
def collector() -> Collector:
    return _COLLECTOR


def _fmt(seconds: float, per_row: bool) -> str:
    return f"{seconds * 1e6:9.2f} us" if per_row else f"{seconds * 1e3:9.1f} ms"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    c = _COLLECTOR
    if not c.medians:
        return
    tr = terminalreporter
    tr.write_sep("=", f"featureplat ratio table (batch: {bench_rows():,} rows; medians)")
    header = (f"{'comparison':36} {'featureplat':34} {'median':>12}   {'peer':36} {'median':>12} "
              f"{'peer/fp':>8} {'(min ratio)':>11}")
    tr.write_line(header)
    tr.write_line("-" * len(header))
    for title, fk, pk in COMPARISONS:
        if fk not in c.medians or pk not in c.medians:
            continue
        per_row = c.rows[fk] == 1
        f, p = c.medians[fk], c.medians[pk]
        tr.write_line(f"{title:36} {LABELS[fk]:34} {_fmt(f, per_row):>12}   {LABELS[pk]:36} "
                      f"{_fmt(p, per_row):>12} {p / f:8.2f} {c.mins[pk] / c.mins[fk]:11.2f}")
    tr.write_line("")
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    tr.write_line(f"load average at the end (1, 5, 15 min): {load} on {os.cpu_count()} cores "
                  "(anything else running shares these cores and skews the thread-scaling row most)")
    tr.write_line("throughput (1 thread unless noted):")
    for key, med in c.medians.items():
        if c.rows[key] > 1:
            tr.write_line(f"  {LABELS[key]:36} {c.rows[key] / med / 1e6:8.2f} M rows/s")
