"""The main job on the embedded default (SQLite online store, parquet + DuckDB offline, a
local registry; no server): generate the churn repo's data, apply the repo, build the
point-in-time training set with the native join, fit the plan, transform, and check it
three ways -- against Feast's own ``get_historical_features``, row path against batch
path, and a saved plan reloaded."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import featureplat as fp
from featureplat.examples import churn
from featureplat.repo import apply
from featureplat.training import training_set

DEFAULT_REPO = Path("feature_repo")


def _say(msg: str) -> None:
    print(msg, flush=True)


def run(repo: str | Path = DEFAULT_REPO, *, customers: int = 2_000, days: int = 90, seed: int = churn.DEFAULT_SEED,
        out_dir: str | Path = "out", threads: int = 2, check_rows: int = 500) -> str:
    """Runs the main job, printing what it does; returns the fitted plan's hash."""
    repo = Path(repo).resolve()
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
    return ts.plan.plan_hash
