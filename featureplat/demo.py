"""The quick-start demo: define features, compile, run a batch and single rows, show
that both paths agree bit for bit, save and reload the plan, print its hash."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa

import featureplat as fp


def trip_features() -> fp.FeatureSet:
    """Features of a ride request: driver statistics from Feast plus request fields."""
    trips = fp.col("trips_7d")
    rating = fp.col("avg_rating")
    fare = fp.col("fare")
    return fp.FeatureSet(
        "trip_quality",
        inputs={
            "trips_7d": fp.feast("driver_stats:trips_7d", "int64"),
            "avg_rating": fp.feast("driver_stats:avg_rating", "float64"),
            "city": fp.feast("driver_profile:city", "string"),
            "fare": fp.request("float64"),
            "requested_at": fp.request("timestamp"),
        },
        features={
            "log_trips": trips.log1p(),
            "rating_filled": rating.fill_null(4.5).clip(1.0, 5.0),
            "fare_per_trip": fare / (trips + 1),
            "is_busy": trips > 50,
            "fare_band": fare.bucketize([5.0, 10.0, 20.0, 50.0]),
            "city_bucket": fp.col("city").str.lower().hash_bucket(64),
            "hour": fp.col("requested_at").dt.hour(),
            "weekend": fp.col("requested_at").dt.day_of_week() >= 5,
            "surge": fp.when(fare > 30).then(fare.sqrt()).otherwise(0.0),
            # Fitted transforms: statistics come from the training data via plan.fit.
            "fare_z": fare.log1p().standard_scale(),
            "trips_decile": trips.quantile_bucketize(10),
            "city_id": fp.col("city").vocabulary(num_oov_buckets=2),
            "rating_imputed": rating.impute("median"),
        },
    )


def demo_data(rows: int, seed: int = 7) -> pa.Table:
    """Deterministic synthetic requests, with nulls and NaN where real data has them."""
    rng = np.random.default_rng(seed)
    trips = rng.poisson(30, rows).astype(np.int64)
    rating = rng.uniform(1, 5, rows)
    rating_mask = rng.random(rows) < 0.05
    fare = rng.gamma(2.0, 8.0, rows)
    fare[rng.random(rows) < 0.01] = np.nan
    cities = np.array(["Lisbon", "PORTO", "Faro", "Braga", "Coimbra"])[rng.integers(0, 5, rows)]
    start = int(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc).timestamp() * 1_000_000)
    ts = start + rng.integers(0, 365 * 86_400_000_000, rows)
    return pa.table({
        "trips_7d": trips,
        "avg_rating": pa.array(rating, mask=rating_mask),
        "city": cities,
        "fare": fare,
        "requested_at": pa.array(ts, pa.timestamp("us", tz="UTC")),
    })


def run(rows: int = 100_000, out_dir: str = "out", check_rows: int = 1000) -> str:
    """Runs the demo, printing what it does; returns the plan hash."""
    fs = trip_features()
    compiled = fp.compile(fs)
    print(f"compiled {compiled!r}")
    table = demo_data(rows)
    # The analyze pass: one streaming pass over the training batches.
    plan = compiled.fit(table.to_batches(max_chunksize=25_000), threads=2)
    for feature, fitted in plan.statistics().items():
        for t in fitted:
            shown = {k: v for k, v in t.items() if k not in ("expression", "counts", "edges")}
            print(f"fitted {feature}: {shown}")
    batch = plan.transform(table, threads=2)
    print(f"batch: {batch.num_rows} rows x {batch.num_columns} features")
    print(batch.slice(0, 5).to_pandas().to_string())
    # Serving: the same rows one request at a time.
    sample = table.slice(0, check_rows).to_pylist()
    print(f"row 0 served: {plan.transform_row(sample[0])}")
    mismatches = 0
    for i, row in enumerate(sample):
        vec = plan.transform_row(row, to="numpy")
        ref = plan.transform(table.slice(i, 1), to="numpy")[0]
        if vec.tobytes() != ref.tobytes():
            mismatches += 1
    matrix = plan.transform(table.slice(0, check_rows), to="numpy")
    rows_matrix = np.stack([plan.transform_row(r, to="numpy") for r in sample])
    same = matrix.tobytes() == rows_matrix.tobytes() and mismatches == 0
    print(f"batch vs row path on {check_rows} rows: {'identical bit for bit' if same else 'DIFFERENT'}")
    if not same:
        raise SystemExit("batch and row paths disagree")
    path = Path(out_dir)
    path.mkdir(parents=True, exist_ok=True)
    saved = plan.save(path / "trip_quality.fpplan")
    loaded = fp.load_plan(saved)
    assert loaded.plan_hash == plan.plan_hash
    print(f"saved {saved} and reloaded it")
    print(f"plan hash: {plan.plan_hash}")
    return plan.plan_hash
