"""Peak memory of a training-set build: featureplat (native join + plan) vs Feast.

    .venv/bin/python benchmarks/training_set_memory.py [--side both|featureplat|feast]
        [--entities 10000] [--hours 100] [--rows 1000000] [--threads 1[,2]] [--repo DIR]

Builds (or, with ``--repo``, reuses) the Feast repo of ``test_bench_training_set.py`` --
one feature view of ENTITIES x HOURS hourly rows, a pandas-mode on-demand feature view
computing the same features as the featureplat FeatureSet, and an entity table of ROWS
rows -- then runs each side in a fresh child process (``ru_maxrss`` is a per-process
high-water mark, so one process cannot report two peaks):

* featureplat: ``training_set(store, fitted_plan, entity_arrow, threads=T).features``;
* Feast: ``store.get_historical_features(entity_df=entity_pandas, features=[view features
  + ODFV features], full_feature_names=True).to_arrow()`` on the DuckDB offline store.

Each child imports everything, loads the store and the entity rows (Arrow for featureplat,
pandas for Feast, as the benchmark passes them), makes one warm-up call on 1,000 entity
rows (so lazy imports, registry parsing and allocator pools are in the baseline), then
samples the baseline (VmRSS and ru_maxrss), makes the measured call and reads ru_maxrss
again. The table shows the baseline, the peak and peak - baseline RSS (what the call
itself added at its high-water mark). Defaults come from FEATUREPLAT_TS_ENTITIES /
FEATUREPLAT_TS_HOURS / FEATUREPLAT_TS_ROWS when set.

This module also holds the data, Feast definitions and feature set shared with
``test_bench_training_set.py`` (importable without side effects).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SEED = 20240611
HOUR_US = 3_600_000_000
T0_US = 1_709_251_200_000_000  # 2024-03-01T00:00:00Z
TTL_HOURS = 48
UNKNOWN_FRACTION = 0.02  # entity rows whose id has no feature rows at all
PAST_END_FRACTION = 0.10  # entity rows after the last feature row (half of them beyond the TTL)
EXACT_FRACTION = 0.01  # entity rows exactly at a feature row's event timestamp (the <= edge)
TTL_EDGE_FRACTION = 0.002  # entity rows exactly at last row + TTL (kept) or one microsecond later (null)
WARMUP_ROWS = 1000

VIEW = "user_stats"
ODFV = "user_features"
KEY = "user_id"
ROW_ID = "row_id"
VIEW_FEATURES = ["trips", "sessions", "rating", "spend"]  # int64 (nulls), int64, float64 and float64 (nulls)
BUCKETS = [0.0, 10.0, 50.0, 100.0, 500.0]
FEATURES = {  # output feature -> featureplat dtype (the ODFV schema says the same in Feast types)
    "log_trips": "float64", "trips_missing": "bool", "rating_c": "float64", "spend_per_session": "float64",
    "amount_log": "float64", "amount_vs_spend": "float64", "discounted": "float64", "spend_bucket": "int64",
    "sqrt_sessions": "float64", "score": "float64",
}


@dataclass(frozen=True)
class Scale:
    entities: int
    hours: int
    rows: int

    @property
    def feature_rows(self) -> int:
        return self.entities * self.hours


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return int(raw.replace("_", "")) if raw else default


def scale_from_env() -> Scale:
    """FEATUREPLAT_TS_ENTITIES (10_000), FEATUREPLAT_TS_HOURS (100), FEATUREPLAT_TS_ROWS (1_000_000)."""
    return Scale(_env_int("FEATUREPLAT_TS_ENTITIES", 10_000), _env_int("FEATUREPLAT_TS_HOURS", 100),
                 _env_int("FEATUREPLAT_TS_ROWS", 1_000_000))


# ---- data ------------------------------------------------------------------------------

_TS = pa.timestamp("us", tz="UTC")


def _with_nulls(values: np.ndarray, rng, fraction: float) -> pa.Array:
    return pa.array(values, mask=rng.random(len(values)) < fraction)


def _event_us(scale: Scale) -> np.ndarray:
    """(hours, entities) event timestamps: hour h plus a seeded jitter within the hour, so
    each entity's rows are strictly increasing (no ties for either side to break)."""
    rng = np.random.default_rng((SEED, 0))
    jitter = rng.integers(0, HOUR_US, (scale.hours, scale.entities), dtype=np.int64)
    return T0_US + np.arange(scale.hours, dtype=np.int64)[:, None] * HOUR_US + jitter


def make_feature_table(scale: Scale) -> pa.Table:
    """ENTITIES x HOURS rows, hour-major (each hour's snapshot appended in turn):
    user_id, event_timestamp, created (event + 0..10 min), trips (int64, 5% null),
    sessions (int64), rating (float64 in [0.5, 5.5], 5% null), spend (float64 lognormal,
    3% null). No NaN anywhere: missing is null, so pandas' NaN stands for null exactly."""
    n = scale.feature_rows
    rng = np.random.default_rng((SEED, 1))
    event = _event_us(scale).reshape(-1)
    ids = np.tile(np.arange(scale.entities, dtype=np.int64), scale.hours)
    created = event + rng.integers(0, 600_000_000, n, dtype=np.int64)
    return pa.table({
        KEY: pa.array(ids),
        "event_timestamp": pa.array(event, _TS),
        "created": pa.array(created, _TS),
        "trips": _with_nulls(rng.poisson(5.0, n).astype(np.int64), rng, 0.05),
        "sessions": pa.array(rng.poisson(20.0, n).astype(np.int64)),
        "rating": _with_nulls(np.round(rng.uniform(0.5, 5.5, n), 2), rng, 0.05),
        "spend": _with_nulls(rng.lognormal(3.0, 1.0, n), rng, 0.03),
    })


def make_entity_table(scale: Scale, rows: int | None = None, seed_part: int = 2) -> pa.Table:
    """ROWS entity rows: row_id (0..n-1, to align Feast's unordered output), user_id
    (2% unknown ids), event_timestamp (mostly across the feature rows' 100 hours, from 2 h
    before the first; 10% after the last row, up to 60 h -- beyond the 48 h TTL for about
    half of those; 1% exactly at a feature row's timestamp; 0.2% exactly at the last row
    + TTL or one microsecond past it), amount (request field, float64 lognormal), label
    (int64 0/1)."""
    n = scale.rows if rows is None else rows
    rng = np.random.default_rng((SEED, seed_part))
    ids = rng.integers(0, scale.entities, n, dtype=np.int64)
    unknown = rng.random(n) < UNKNOWN_FRACTION
    ids[unknown] = scale.entities + rng.integers(0, scale.entities, int(unknown.sum()), dtype=np.int64)
    end_us = T0_US + scale.hours * HOUR_US
    ts = rng.integers(T0_US - 2 * HOUR_US, end_us, n, dtype=np.int64)
    u = rng.random(n)
    past = u < PAST_END_FRACTION
    ts[past] = rng.integers(end_us, end_us + 60 * HOUR_US, int(past.sum()), dtype=np.int64)
    event = _event_us(scale)
    exact = (u >= PAST_END_FRACTION) & (u < PAST_END_FRACTION + EXACT_FRACTION) & ~unknown
    ts[exact] = event[rng.integers(0, scale.hours, int(exact.sum())), ids[exact]]
    lo = PAST_END_FRACTION + EXACT_FRACTION
    edge = (u >= lo) & (u < lo + TTL_EDGE_FRACTION)
    edge &= ~unknown
    off_by = rng.integers(0, 2, int(edge.sum()), dtype=np.int64)  # 0: kept (inclusive), 1: expired
    ts[edge] = event[-1, ids[edge]] + TTL_HOURS * HOUR_US + off_by
    return pa.table({
        ROW_ID: pa.array(np.arange(n, dtype=np.int64)),
        KEY: pa.array(ids),
        "event_timestamp": pa.array(ts, _TS),
        "amount": pa.array(rng.lognormal(3.0, 1.2, n)),
        "label": pa.array((rng.random(n) < 0.1).astype(np.int64)),
    })


# ---- the same features, twice -----------------------------------------------------------

def feature_set():
    """The featureplat definition (no fitted transforms, so pandas can do exactly the same)."""
    import featureplat as fp
    trips, sessions, rating = fp.col("trips"), fp.col("sessions"), fp.col("rating")
    spend, amount = fp.col("spend"), fp.col("amount")
    return fp.FeatureSet("training_bench", inputs={
        "trips": fp.feast(f"{VIEW}:trips", "int64"),
        "sessions": fp.feast(f"{VIEW}:sessions", "int64"),
        "rating": fp.feast(f"{VIEW}:rating", "float64"),
        "spend": fp.feast(f"{VIEW}:spend", "float64"),
        "amount": fp.request("float64"),
    }, features={
        "log_trips": trips.fill_null(0).log1p(),
        "trips_missing": trips.is_null(),
        "rating_c": rating.clip(1.0, 5.0),
        "spend_per_session": spend / (sessions + 1),
        "amount_log": amount.log1p(),
        "amount_vs_spend": amount / (spend.fill_null(0.0) + 1.0),
        "discounted": fp.when(rating.fill_null(0.0) >= 4.5).then(amount * 0.9).otherwise(amount),
        "spend_bucket": spend.fill_null(-1.0).bucketize(BUCKETS),
        "sqrt_sessions": sessions.fill_null(0).sqrt(),
        "score": trips.fill_null(0) * 0.3 + rating.fill_null(3.0) * 2.0 - amount.log1p(),
    })


def fitted_plan():
    """The compiled plan as a FittedPlan (it has nothing to fit: fitted on zero rows), so
    ``training_set`` applies it as is and the timing holds no compile or fit."""
    import featureplat as fp
    empty = pa.table({"trips": pa.array([], pa.int64()), "sessions": pa.array([], pa.int64()),
                      "rating": pa.array([], pa.float64()), "spend": pa.array([], pa.float64()),
                      "amount": pa.array([], pa.float64())})
    return fp.compile(feature_set()).fit(empty)


def odfv_transform(inputs):
    """The same features in pandas/numpy, as a Feast pandas-mode ODFV. Feast hands the
    joined rows over as ``pa_table.to_pandas()``: a missing int64 becomes NaN in a float64
    column, a missing float64 NaN, and the data holds no real NaN, so NaN here is null.
    NaN propagates through arithmetic as null does in featureplat; ``fillna`` is
    ``fill_null``; ``searchsorted(side='right')`` is ``bucketize`` (bisect_right)."""
    import numpy as np
    import pandas as pd

    trips, sessions = inputs["trips"], inputs["sessions"]
    rating, spend, amount = inputs["rating"], inputs["spend"], inputs["amount"]
    out = pd.DataFrame(index=inputs.index)
    trips0 = trips.fillna(0).astype("float64")
    out["log_trips"] = np.log1p(trips0)
    out["trips_missing"] = trips.isna()
    out["rating_c"] = rating.clip(1.0, 5.0)
    out["spend_per_session"] = spend / (sessions + 1)
    out["amount_log"] = np.log1p(amount)
    out["amount_vs_spend"] = amount / (spend.fillna(0.0) + 1.0)
    out["discounted"] = np.where(rating.fillna(0.0) >= 4.5, amount * 0.9, amount)
    out["spend_bucket"] = np.searchsorted(np.array([0.0, 10.0, 50.0, 100.0, 500.0]),
                                          spend.fillna(-1.0).to_numpy(), side="right").astype("int64")
    out["sqrt_sessions"] = np.sqrt(sessions.fillna(0).astype("float64"))
    out["score"] = trips0 * 0.3 + rating.fillna(3.0) * 2.0 - np.log1p(amount)
    return out


def feast_refs() -> list[str]:
    """What the Feast user asks for: the view's features and the ODFV's."""
    return [f"{VIEW}:{f}" for f in VIEW_FEATURES] + [f"{ODFV}:{f}" for f in FEATURES]


def feast_objects(feature_path: Path) -> list:
    from feast import Entity, FeatureView, Field, FileSource, RequestSource, ValueType
    from feast.on_demand_feature_view import on_demand_feature_view
    from feast.types import Bool, Float64, Int64

    feast_type = {"float64": Float64, "int64": Int64, "bool": Bool}
    user = Entity(name="user", join_keys=[KEY], value_type=ValueType.INT64)
    source = FileSource(name=f"{VIEW}_source", path=str(feature_path), timestamp_field="event_timestamp",
                        created_timestamp_column="created")
    view = FeatureView(
        name=VIEW, entities=[user], ttl=_dt.timedelta(hours=TTL_HOURS), source=source,
        schema=[Field(name=KEY, dtype=Int64), Field(name="trips", dtype=Int64),
                Field(name="sessions", dtype=Int64), Field(name="rating", dtype=Float64),
                Field(name="spend", dtype=Float64)])
    request = RequestSource(name="user_request", schema=[Field(name="amount", dtype=Float64)])
    odfv = on_demand_feature_view(
        name=ODFV, sources=[view, request], mode="pandas",
        schema=[Field(name=f, dtype=feast_type[t]) for f, t in FEATURES.items()])(odfv_transform)
    return [user, source, view, request, odfv]


# ---- the repo -------------------------------------------------------------------------

def repo_paths(root: Path) -> dict[str, Path]:
    root = Path(root)
    return {"features": root / "data" / f"{VIEW}.parquet", "entity": root / "data" / "entity.parquet",
            "meta": root / "data" / "scale.json"}


def build_repo(root: Path, scale: Scale):
    """Writes the feature and entity parquet files and feature_store.yaml under ``root``,
    applies the Feast objects and returns the FeatureStore."""
    from feast import FeatureStore

    root = Path(root).resolve()
    paths = repo_paths(root)
    paths["features"].parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(make_feature_table(scale), paths["features"])
    pq.write_table(make_entity_table(scale), paths["entity"])
    paths["meta"].write_text(json.dumps(scale.__dict__))
    (root / "feature_store.yaml").write_text(
        "project: training_bench\n"
        f"registry: {root / 'data' / 'registry.db'}\n"
        "provider: local\n"
        f"online_store:\n  type: sqlite\n  path: {root / 'data' / 'online.db'}\n"
        "offline_store:\n  type: duckdb\n"
        "entity_key_serialization_version: 3\n")
    store = FeatureStore(repo_path=str(root))
    store.apply(feast_objects(paths["features"]))
    return store


def open_store(root: Path):
    from feast import FeatureStore
    return FeatureStore(repo_path=str(Path(root).resolve()))


# ---- the two timed calls ----------------------------------------------------------------

def run_featureplat(store, plan, entity: pa.Table, threads: int = 1) -> pa.Table:
    from featureplat.feast.training import training_set
    return training_set(store, plan, entity, threads=threads).features


def run_feast(store, entity_df) -> pa.Table:
    return store.get_historical_features(entity_df=entity_df, features=feast_refs(),
                                         full_feature_names=True).to_arrow()


# ---- the memory run ---------------------------------------------------------------------

def _vm_rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0  # pragma: no cover


def _maxrss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux


def run_child(root: Path, side: str, threads: int) -> dict:
    import warnings
    warnings.simplefilter("ignore")  # Feast/ibis deprecation notices; stderr is shown only on failure
    t0 = time.perf_counter()
    import featureplat.feast.training  # noqa: F401
    store = open_store(root)
    entity = pq.read_table(repo_paths(root)["entity"])
    if side == "featureplat":
        plan = fitted_plan()
        call = lambda e: run_featureplat(store, plan, e, threads)  # noqa: E731
        data = entity
    else:
        import duckdb  # noqa: F401
        import ibis  # noqa: F401
        call = lambda e: run_feast(store, e)  # noqa: E731
        data = entity.to_pandas()
        del entity
    warm = call(data[:WARMUP_ROWS])
    del warm
    base_rss, base_max = _vm_rss_kb(), _maxrss_kb()
    t1 = time.perf_counter()
    out = call(data)
    seconds = time.perf_counter() - t1
    peak = _maxrss_kb()
    after_rss = _vm_rss_kb()
    return {"side": side, "threads": threads, "rows": len(data), "out_rows": out.num_rows,
            "out_columns": out.num_columns, "setup_seconds": t1 - t0, "seconds": seconds,
            "baseline_rss_kb": base_rss, "baseline_maxrss_kb": base_max, "peak_kb": peak,
            "after_rss_kb": after_rss, "added_kb": peak - base_rss}


def measure(root: Path, runs: list[tuple[str, int]]) -> list[dict]:
    """Each (side, threads) run in a fresh child process over the repo at ``root``."""
    results = []
    for side, threads in runs:
        cmd = [sys.executable, os.path.abspath(__file__), "--repo", str(root), "--child", side,
               "--threads", str(threads)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{side} child failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return results


def _mb(kb: int) -> str:
    return f"{kb / 1024:9.0f}"


def format_table(results: list[dict]) -> str:
    lines = [f"{'side':12} {'threads':>7} {'rows':>10} {'call s':>7} {'baseline RSS MB':>15} "
             f"{'peak (ru_maxrss) MB':>19} {'peak - baseline MB':>18}"]
    for r in results:
        threads = r["threads"] if r["side"] == "featureplat" else "-"
        lines.append(f"{r['side']:12} {threads:>7} {r['rows']:>10,} {r['seconds']:7.1f} "
                     f"{_mb(r['baseline_rss_kb']):>15} {_mb(r['peak_kb']):>19} {_mb(r['added_kb']):>18}")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    env = scale_from_env()
    p.add_argument("--side", choices=["both", "featureplat", "feast"], default="both")
    p.add_argument("--entities", type=int, default=env.entities)
    p.add_argument("--hours", type=int, default=env.hours)
    p.add_argument("--rows", type=int, default=env.rows)
    p.add_argument("--threads", default="1", help="featureplat threads, or a comma list (default 1)")
    p.add_argument("--repo", default=None, help="an existing repo built by build_repo (its scale is used)")
    p.add_argument("--json", action="store_true", help="print the results as one JSON line at the end")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(run_child(Path(args.repo), args.child, int(args.threads))))
        return
    runs = []
    if args.side in ("both", "featureplat"):
        runs += [("featureplat", int(t)) for t in args.threads.split(",")]
    if args.side in ("both", "feast"):
        runs.append(("feast", 1))
    with tempfile.TemporaryDirectory(prefix="fp_ts_mem_") as tmp:
        if args.repo:
            root = Path(args.repo)
        else:
            root = Path(tmp) / "repo"
            import warnings

            import feast  # noqa: F401 - first: importing it puts "once" filters (RuntimeWarning...) first
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "On demand feature view is an experimental feature",
                                        RuntimeWarning)
                build_repo(root, Scale(args.entities, args.hours, args.rows))
        scale = json.loads(repo_paths(root)["meta"].read_text())
        results = measure(root, runs)
    feature_rows = scale["entities"] * scale["hours"]
    print(f"training set: {scale['rows']:,} entity rows over {feature_rows:,} feature rows "
          f"({scale['entities']:,} entities x {scale['hours']} hours); peak RSS per side, "
          "each in a fresh process")
    print(format_table(results))
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
