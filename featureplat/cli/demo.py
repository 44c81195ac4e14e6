"""The main job on the embedded default (SQLite online store, parquet + DuckDB offline, a
local registry, SQLite-backed MLflow; no server): generate the churn repo's data, apply
the repo, build the point-in-time training set with the native join, fit the plan,
transform and check it (against Feast's own ``get_historical_features``, row path
against batch path), train a model, log and register it in MLflow, materialize, serve
lookups through the registry-bound serving object, show the online vector equals the
training row, and print the lineage."""
from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa

import featureplat as fp
from featureplat import mlflow as fpm
from featureplat.examples import churn
from featureplat.feast.repo import apply
from featureplat.feast.training import training_set

DEFAULT_REPO = Path("feature_repo")

# Third-party deprecations the main job's output would otherwise be buried in; none is
# ours to fix. Silenced for the demo run only, each by its message and category.
THIRD_PARTY_WARNINGS = [
    # ibis (Feast's DuckDB offline store) calls a DuckDB method DuckDB has deprecated.
    (r"fetch_arrow_table\(\) is deprecated", DeprecationWarning),
    # MLflow's SQLAlchemy tracking store uses a loader strategy SQLAlchemy has deprecated
    # (SADeprecationWarning, a DeprecationWarning).
    (r"The ``noload`` loader strategy is deprecated", DeprecationWarning),
]


@contextlib.contextmanager
def third_party_warnings_silenced() -> Iterator[None]:
    """:data:`THIRD_PARTY_WARNINGS` ignored inside the block, every other warning as before."""
    # Importing Feast sets DeprecationWarnings to "once" ahead of every filter (its modules
    # call warnings.simplefilter), so it is imported before these filters go in front.
    import feast  # noqa: F401

    with warnings.catch_warnings():
        for message, category in THIRD_PARTY_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=category)
        yield


def _say(msg: str) -> None:
    print(msg, flush=True)


def run(repo: str | Path = DEFAULT_REPO, *, customers: int = 2_000, days: int = 90, seed: int = churn.DEFAULT_SEED,
        out_dir: str | Path = "out", threads: int = 2, check_rows: int = 500) -> str:
    """Runs the main job, printing what it does; returns the fitted plan's hash."""
    with third_party_warnings_silenced():
        return _main_job(Path(repo).resolve(), customers=customers, days=days, seed=seed, out_dir=out_dir,
                         threads=threads, check_rows=check_rows)


def _main_job(repo: Path, *, customers: int, days: int, seed: int, out_dir: str | Path, threads: int,
              check_rows: int) -> str:
    t = time.perf_counter()
    paths = churn.generate(repo / "data", seed=seed, customers=customers, days=days)
    _say(f"[data] generated {', '.join(p.name for p in paths.values())} (seed {seed}) "
         f"in {time.perf_counter() - t:.2f} s")

    t = time.perf_counter()
    applied = apply(repo)
    for name, entry in applied.index["feature_sets"].items():
        _say(f"[apply] feature set {name}: plan {entry['plan_hash'][:16]} reads "
             f"{', '.join(sorted(entry['feature_views']))} ({time.perf_counter() - t:.2f} s with Feast's apply)")
    store = applied.store

    labels = repo / "data" / "churn_labels.parquet"
    t = time.perf_counter()
    ts = training_set(store, "churn_features", labels, label="churned", threads=threads)
    t_join = time.perf_counter() - t
    t = time.perf_counter()
    features = ts.features
    t_transform = time.perf_counter() - t
    _say(f"[training set] {ts.num_rows} entity rows -> {ts.num_rows} training rows x {features.num_columns} "
         f"features; join + cast + fit {t_join:.3f} s, transform {t_transform:.3f} s ({threads} threads)")
    for feature, fitted in ts.plan.statistics().items():
        for s in fitted:
            shown = {k: v for k, v in s.items() if k not in ("expression", "counts", "edges", "vocabulary")}
            _say(f"[fit] {feature}: {shown}")
    _say(features.slice(0, 5).to_pandas().T.to_string())
    _say(f"[labels] churn rate {float(np.mean(ts.y)):.3f}")

    t = time.perf_counter()
    ref = training_set(store, ts.plan, labels, label="churned", method="feast")
    t_feast = time.perf_counter() - t
    same_join = ref.X.tobytes() == ts.X.tobytes()
    _say(f"[check] native join vs Feast get_historical_features (DuckDB, {t_feast:.2f} s): "
         f"{'identical bit for bit' if same_join else 'DIFFERENT'}")

    rows = ts.inputs.slice(0, check_rows).to_pylist()
    served = np.stack([ts.plan.transform_row(r, to="numpy") for r in rows])
    same_rows = served.tobytes() == ts.X[:check_rows].tobytes()
    _say(f"[check] row path vs batch path on {len(rows)} training rows: "
         f"{'identical bit for bit' if same_rows else 'DIFFERENT'}")

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    saved = ts.plan.save(out / "churn_features.fitted.fpplan")
    assert fp.load_plan(saved).plan_hash == ts.plan.plan_hash
    _say(f"[plan] saved {saved}; fitted plan hash {ts.plan.plan_hash}")
    if not (same_join and same_rows):
        raise SystemExit("consistency check failed")
    _train_register_serve(repo, store, ts, customers=customers, days=days)
    return ts.plan.plan_hash


def _train_register_serve(repo: Path, store, ts, *, customers: int, days: int) -> None:
    uri = fpm.configure(repo, experiment="churn")
    spec = importlib.util.spec_from_file_location("churn_training", repo / "training.py")
    training = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(training)
    t = time.perf_counter()
    model = training.train(ts.X, ts.y)
    record = fpm.log_training(ts, model, store=store, feature_set="churn_features", register_as="churn")
    fpm.set_alias("churn", "champion", record.version)
    _say(f"[mlflow] trained and logged run {record.run_id} ({time.perf_counter() - t:.2f} s, tracking {uri}); "
         f"registered churn version {record.version} as @champion; data digest {record.digest[:16]}")

    t = time.perf_counter()
    end = churn.START + dt.timedelta(days=days)
    store.materialize(dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc), end + dt.timedelta(days=1))
    _say(f"[materialize] online store filled in {time.perf_counter() - t:.2f} s")

    served = fpm.serving_for_model(store, "models:/churn@champion")
    at = end + dt.timedelta(hours=6)
    ids = [1001 + i for i in range(0, min(customers, 200), 7)] + [999_999]
    regions = ["PT-LIS", "ES-MAD", "FR-PAR", "DE-BER"]
    ent = pa.table({"customer_id": ids, "region": [regions[i % 4] for i in range(len(ids))],
                    "event_timestamp": pa.array([at] * len(ids), pa.timestamp("us", tz="UTC")),
                    "offer_discount_pct": [10.0] * len(ids), "channel": ["app"] * len(ids)})
    offline = training_set(store, served.plan, ent)
    rows = ent.to_pylist()
    same = 0
    lat = []
    for i, r in enumerate(rows):
        e = {"customer_id": r["customer_id"], "region": r["region"]}
        q = {"offer_discount_pct": r["offer_discount_pct"], "channel": r["channel"]}
        t0 = time.perf_counter()
        vec = served.features.get(e, q, at=at)
        lat.append(time.perf_counter() - t0)
        same += vec.tobytes() == offline.X[i].tobytes()
    p = served.predict({"customer_id": ids[0], "region": regions[0]},
                       {"offer_discount_pct": 10.0, "channel": "app"}, at=at)
    _say(f"[serve] models:/churn@champion -> plan {served.plan.plan_hash[:16]}; {same}/{len(rows)} online vectors "
         f"equal their training rows bit for bit (median lookup+transform {np.median(lat) * 1e6:.0f} us); "
         f"P(churn) for customer {ids[0]}: {p:.3f}")
    if same != len(rows):
        raise SystemExit("online vectors differ from training rows")
    _say("[lineage] models:/churn@champion")
    _say(fpm.format_lineage(fpm.lineage("models:/churn@champion")))
