"""Deterministic, seeded data for the churn feature repo (``feature_repo/``).

A subscription service: customers (``customer_id``, int64) live in regions (``region``,
string). Four feature tables and one label table are written as parquet:

* ``customer_profile``: one row per customer at sign-up (no TTL);
* ``customer_activity``: daily snapshots while a customer is active (TTL 3 days: a
  customer without a recent snapshot has no activity features -- the TTL matters);
* ``customer_billing``: one row per billing cycle with an ingestion (created) timestamp;
  some cycles are corrected later (same event time, later created time, wins) and some
  stale re-deliveries arrive late in the file with an *older* created time (must lose);
* ``region_stats``: daily per region (TTL 2 days, some days missing);
* ``churn_labels``: the entity rows -- customer, region, observation time, request-time
  fields (``offer_discount_pct``, ``channel``) and the label ``churned``; includes
  duplicate entity rows and customers with no history at all.

The same seed gives the same tables, bit for bit.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa

from featureplat.plan.files import write_parquet

__all__ = ["DEFAULT_SEED", "START", "generate", "tables"]

DEFAULT_SEED = 7
START = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)
REGIONS = np.array(["PT-LIS", "PT-OPO", "ES-MAD", "ES-BCN", "FR-PAR", "FR-LYO", "DE-BER", "DE-MUC",
                    "IT-ROM", "IT-MIL", "NL-AMS", "BE-BRU"])
COUNTRIES = np.array(["PT", "ES", "FR", "DE", "IT", "NL", "BE"])
TIERS = np.array(["basic", "standard", "premium"])
PRICES = np.array([7.99, 12.99, 17.99])
CHANNELS = np.array(["web", "app", "call_center"])
_US = 1_000_000
_DAY = 86_400 * _US
_TS = pa.timestamp("us", tz="UTC")


def _start_us() -> int:
    return int(START.timestamp()) * _US


def tables(seed: int = DEFAULT_SEED, customers: int = 2_000, days: int = 90) -> dict[str, pa.Table]:
    """The five tables, keyed by name (see the module docstring)."""
    if customers < 1 or days < 21:
        raise ValueError("need at least 1 customer and 21 days")
    rng = np.random.default_rng(seed)
    t0 = _start_us()
    ids = np.arange(1001, 1001 + customers, dtype=np.int64)
    risk = rng.normal(0.0, 1.0, customers)  # latent churn propensity
    home = rng.integers(0, len(REGIONS), customers)
    tier = np.where(risk > 0.8, 0, rng.integers(0, 3, customers))

    # Profile: sign-up up to two years before the window, 10% inside it.
    signup = t0 - rng.integers(1, 730, customers) * _DAY - rng.integers(0, _DAY, customers)
    late = rng.random(customers) < 0.10
    signup[late] = t0 + rng.integers(0, days // 2, late.sum()) * _DAY + rng.integers(0, _DAY, late.sum())
    signup = signup // _US * _US
    age = rng.integers(18, 80, customers)
    profile = pa.table({
        "customer_id": ids,
        "event_timestamp": pa.array(signup, _TS),
        "signup_at": pa.array(signup, _TS),
        "country": pa.array(COUNTRIES[home % len(COUNTRIES)]),
        "age": pa.array(age, pa.int64(), mask=rng.random(customers) < 0.03),
    })

    # Churn day: risky customers are more likely to stop during the window.
    p_churn = 1.0 / (1.0 + np.exp(-(1.6 * risk - 1.2)))
    churn_day = np.where(rng.random(customers) < p_churn, rng.integers(10, days, customers), days + 1)

    # Activity: daily snapshots on active days, until churn.
    day_idx = np.arange(days)
    p_active = np.clip(0.9 - 0.15 * risk, 0.35, 0.98)
    active = (rng.random((customers, days)) < p_active[:, None]) & (day_idx[None, :] < churn_day[:, None])
    active &= (t0 + day_idx[None, :] * _DAY) >= signup[:, None]
    ci, di = np.nonzero(active)
    n_act = ci.size
    act_ts = t0 + di * _DAY + rng.integers(0, 86_400, n_act) * _US
    sessions = rng.poisson(np.clip(14 - 4 * risk[ci], 1, None)).astype(np.int64)
    watch = rng.gamma(2.0, 30.0, n_act) * (sessions + 1)
    activity = pa.table({
        "customer_id": ids[ci],
        "event_timestamp": pa.array(act_ts, _TS),
        "sessions_7d": sessions,
        "watch_minutes_7d": pa.array(np.round(watch, 2), mask=rng.random(n_act) < 0.02),
        "support_tickets_30d": rng.poisson(np.clip(0.4 + 0.5 * risk[ci], 0.05, None)).astype(np.int64),
    })

    # Billing: one cycle every 30 days from a per-customer offset, until churn.
    cycle0 = rng.integers(0, 30, customers)
    rows_c, rows_d = [], []
    for k in range(0, days // 30 + 1):
        d = cycle0 + 30 * k
        ok = (d < np.minimum(days, churn_day)) & ((t0 + d * _DAY) >= signup)
        rows_c.append(np.nonzero(ok)[0])
        rows_d.append(d[ok])
    bc = np.concatenate(rows_c)
    bd = np.concatenate(rows_d)
    n_bill = bc.size
    bill_ts = t0 + bd * _DAY + 3_600 * _US
    created = bill_ts + rng.integers(60, 6 * 3_600, n_bill) * _US
    failed = rng.poisson(np.clip(0.2 + 0.6 * risk[bc], 0.02, None)).astype(np.int64)
    price = np.round(PRICES[tier[bc]] * (1 + rng.normal(0, 0.02, n_bill)), 2)
    plan_tier = TIERS[tier[bc]].astype(object)
    plan_tier[rng.random(n_bill) < 0.02] = None
    # Corrections (later created time, same event time) and stale re-deliveries
    # (appended last, older created time).
    corr = rng.random(n_bill) < 0.10
    stale = rng.random(n_bill) < 0.03
    parts = [
        (bc, bill_ts, created, failed, price, plan_tier),
        (bc[corr], bill_ts[corr], created[corr] + rng.integers(1, 4, corr.sum()) * _DAY,
         failed[corr] + 1, price[corr], plan_tier[corr]),
        (bc[stale], bill_ts[stale], created[stale] - 30 * _US, failed[stale] + 5,
         np.round(price[stale] * 0.5, 2), plan_tier[stale]),
    ]
    billing = pa.table({
        "customer_id": ids[np.concatenate([p[0] for p in parts])],
        "event_timestamp": pa.array(np.concatenate([p[1] for p in parts]), _TS),
        "created": pa.array(np.concatenate([p[2] for p in parts]), _TS),
        "monthly_price": np.concatenate([p[4] for p in parts]),
        "failed_payments_90d": np.concatenate([p[3] for p in parts]),
        "plan_tier": pa.array(np.concatenate([p[5] for p in parts]), pa.string()),
    })

    # Region stats: daily, 5% of region-days missing.
    ri, rd = np.nonzero(rng.random((len(REGIONS), days)) >= 0.05)
    n_reg = ri.size
    price_index = 100 + rng.normal(0, 4, n_reg)
    price_index[rng.random(n_reg) < 0.01] = np.nan
    regions = pa.table({
        "region": pa.array(REGIONS[ri]),
        "event_timestamp": pa.array(t0 + rd * _DAY + 6 * 3_600 * _US, _TS),
        "competitor_promo": pa.array(rng.random(n_reg) < 0.2),
        "price_index": np.round(price_index, 3),
    })

    # Labels: 1-4 observations per customer in the second half of the window; the
    # label is whether the customer churns within 14 days of the observation.
    per = rng.integers(1, 5, customers)
    lc = np.repeat(np.arange(customers), per)
    n_lab = lc.size
    obs_day = rng.integers(14, days, n_lab)
    obs_ts = t0 + obs_day * _DAY + rng.integers(0, 86_400, n_lab) * _US
    discount = np.array([0.0, 5.0, 10.0, 20.0])[rng.integers(0, 4, n_lab)]
    churned = (churn_day[lc] >= obs_day) & (churn_day[lc] < obs_day + 14)
    churned |= (churn_day[lc] < obs_day)  # already gone
    churned &= rng.random(n_lab) > discount / 100.0  # offers retain some
    lab_ids = ids[lc]
    lab_region = home[lc].copy()
    travel = rng.random(n_lab) < 0.05
    lab_region[travel] = rng.integers(0, len(REGIONS), travel.sum())
    channel = CHANNELS[rng.integers(0, 3, n_lab)]
    # Customers unknown to every feature table, and duplicated entity rows (same customer
    # and time) whose labels may differ.
    unknown = rng.random(n_lab) < 0.02
    lab_ids = np.where(unknown, 900_000 + np.arange(n_lab), lab_ids)
    dup = np.nonzero(rng.random(n_lab) < 0.01)[0]
    order = np.concatenate([np.arange(n_lab), dup])
    churned_all = np.concatenate([churned, ~churned[dup]])
    labels = pa.table({
        "customer_id": lab_ids[order],
        "region": pa.array(REGIONS[lab_region[order]]),
        "event_timestamp": pa.array(obs_ts[order], _TS),
        "offer_discount_pct": discount[order],
        "channel": pa.array(channel[order]),
        "churned": churned_all,
    })
    return {"customer_profile": profile, "customer_activity": activity, "customer_billing": billing,
            "region_stats": regions, "churn_labels": labels}


def generate(data_dir: str | Path, seed: int = DEFAULT_SEED, customers: int = 2_000,
             days: int = 90) -> dict[str, Path]:
    """Writes the tables as ``<data_dir>/<name>.parquet`` (atomically, with page checksums,
    so a corrupted copy fails loudly when read); returns the paths."""
    out = Path(data_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, table in tables(seed, customers, days).items():
        paths[name] = write_parquet(out / f"{name}.parquet", table, compression="zstd")
    return paths
