"""Online serving: lookup + transform latency of featureplat's serving object against Feast
``get_online_features``, in process (SQLite and Redis online stores, 1 and 100 entities),
and over HTTP (``featureplat serve`` against ``feast serve``).

Store and data (built once per store, in a tmp dir): the churn feature repo
(``feature_repo/``) with seeded data (FEATUREPLAT_SERVE_CUSTOMERS customers, default
5,000, over 40 days), applied and materialized into SQLite, or into the Redis at
127.0.0.1:6379 (FEATUREPLAT_SERVE_REDIS) under a project name of its own, removed
again (``store.teardown()``) at the end. Both stores get the same parquet files. The
plan is the churn feature set fitted on the repo's labels: it reads 11 features from 4
feature views (2 entities: customer, region) plus 3 request fields and outputs 22
features.

Request time: the views have TTLs, and the data lies in June-July 2026, so every request
is made at one fixed time ``AT`` just after the data (the 20th hour of the day after
it): featureplat's ``at=AT``, Feast's request field ``event_timestamp=AT`` (which the
features ``tenure_bucket`` and ``evening`` read). Feast's online read does not apply TTLs
(Feast issue #6821); featureplat does, and skips decoding an expired view. So that both
do the same work and give the same answers, the entities are those whose four views are
all within TTL at AT (from the parquet files), with the region and request fields of
their first label row.

Contenders, all returning every feature for the entities (the serving object's default
numpy vector / matrix, Feast's ``.to_dict()``):

* ``fp.serve``: ``OnlineFeatures(store, plan).get(entity(ies), request(s), at=AT)``; also
  shown (not in the ratio table): the same with ``to="dict"``.
* ``feast.py_odfv``: Feast ``get_online_features`` of a python-mode on-demand view that
  runs the same fitted plan (``featureplat.feast.on_demand.on_demand_view``): the same
  transform, as a Feast python-mode view.
* ``feast.py_hand_odfv``: a python-mode view computing the same 22 features in plain
  Python (list comprehensions; the fitted constants copied from ``plan.statistics()``).
* ``feast.pandas_odfv``: the same features in a pandas-mode view (vectorised pandas/numpy).
* ``feast.raw``: Feast ``get_online_features`` of the plan's 11 raw view features, no
  transform (entity rows with the join keys only).

The hand-written views are built from source text with the constants embedded
(``OnDemandFeatureView(..., feature_transformation=PythonTransformation(udf, udf_string))``,
what ``@on_demand_feature_view`` builds) because Feast rehydrates a UDF from its source
text when it reads the registry -- which ``get_online_features`` and ``feast serve`` both
do. Before timing, ``test_hand_written_views_agree`` checks (untimed) that all three Feast
views agree with the serving object on every entity of the pool.

Timing: per call, ``time.perf_counter_ns`` around one call; per contender and case
FEATUREPLAT_SERVE_CALLS calls of 1 entity (default 2,000) or FEATUREPLAT_SERVE_CALLS_100
calls of 100 entities (default 1,000), after FEATUREPLAT_SERVE_WARMUP warm-up calls
(default 100), interleaved: the calls are split into BLOCKS blocks, and each block runs
every contender in turn (the order rotating) so that load changes on the machine fall on
all of them alike. The garbage collector stays on (it is part of a serving process's
tail) but runs before each block. 1 entity: each call a different entity from a pool of
POOL entities (cycled); 100 entities: each call one of BATCHES fixed random batches of 100
distinct entities, each entity with its own request fields. The serving object keeps a
bounded cache of serialized entity keys, so after the first pass over the pool its keys
are cached: the steady state of a service with a warm key set (Feast has no such cache and
serializes every key on every call). p50 (the median) goes to the
session's ratio table (keys ``fp.serve.<store>.<n>``, ``feast.<contender>.<store>.<n>``);
p50 and p99 of every contender print in one table per case and a summary at the end, and
are stored in the pytest-benchmark ``extra_info`` of the case (the benchmark itself times
the whole interleaved run once; its duration means nothing).

HTTP (``test_http``): one server at a time, same requests (1 entity per request, cycled
through the pool), same closed-loop load from ``serving_http.py`` in its own process:
FEATUREPLAT_SERVE_HTTP_CONCURRENCY keep-alive connections (default 8) for
FEATUREPLAT_SERVE_HTTP_SECONDS (default 10) after 2 s of warm-up. featureplat: what
``featureplat serve --repo R --plan P`` runs (``featureplat.feast.http.serve`` of an
``OnlineFeatures``; uvicorn, one process), POST /features with
``format: vector``. Feast: ``feast -c R serve --no-access-log --max-requests 0``
(gunicorn, one uvicorn worker; no access log, as featureplat's server logs none, and no
worker restart every 1,000 requests) with the plan's python-mode view, POST
/get-online-features for the view's 22 features. JSON has no timestamp type: both get the
request time as int microseconds (featureplat's ``at``; Feast's ``event_timestamp`` field
reaches the plan as the int, which the plan reads as microseconds).

Run (full)::

    .venv/bin/python -m pytest benchmarks/test_bench_serving.py -q -p no:cacheprovider

Smoke: ``FEATUREPLAT_SERVE_CUSTOMERS=400 FEATUREPLAT_SERVE_CALLS=100 FEATUREPLAT_SERVE_CALLS_100=50
FEATUREPLAT_SERVE_WARMUP=5 FEATUREPLAT_SERVE_HTTP_SECONDS=2``.
"""
from __future__ import annotations

import datetime as _dt
import gc
import json
import math
import os
import secrets
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

pytest.importorskip("feast")

import serving_http  # noqa: E402

CUSTOMERS = int(os.environ.get("FEATUREPLAT_SERVE_CUSTOMERS", "5000"))
DAYS = 40
CALLS = int(os.environ.get("FEATUREPLAT_SERVE_CALLS", "2000"))  # per contender, 1 entity per call
CALLS_100 = int(os.environ.get("FEATUREPLAT_SERVE_CALLS_100", "1000"))  # per contender, 100 entities per call
WARMUP = int(os.environ.get("FEATUREPLAT_SERVE_WARMUP", "100"))
BLOCKS = 10
POOL = 500  # distinct single entities cycled through
BATCH = 100
BATCHES = 20
CHECK_BATCH = 50  # entities per get_online_features call in the (untimed) agreement check
HTTP_SECONDS = float(os.environ.get("FEATUREPLAT_SERVE_HTTP_SECONDS", "10"))
HTTP_WARMUP = 2.0
HTTP_CONCURRENCY = int(os.environ.get("FEATUREPLAT_SERVE_HTTP_CONCURRENCY", "8"))
REDIS = os.environ.get("FEATUREPLAT_SERVE_REDIS", "127.0.0.1:6379")

UTC = _dt.timezone.utc
START = _dt.datetime(2026, 6, 1, tzinfo=UTC)
END = START + _dt.timedelta(days=DAYS)  # materialization end: after every row
AT = END + _dt.timedelta(hours=19, minutes=30)  # the request time (an evening hour)
AT_US = int((AT - _dt.datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * 1_000_000
REPO_SRC = Path(__file__).resolve().parents[1] / "feature_repo"
BIN = Path(sys.executable).parent  # the venv's console scripts (feast)

VIEWS = {  # view -> (features the plan reads, TTL)
    "customer_activity": (["sessions_7d", "watch_minutes_7d", "support_tickets_30d"], _dt.timedelta(days=3)),
    "customer_billing": (["monthly_price", "failed_payments_90d", "plan_tier"], _dt.timedelta(days=40)),
    "customer_profile": (["signup_at", "country", "age"], None),
    "region_stats": (["competitor_promo", "price_index"], _dt.timedelta(days=2)),
}
RAW_REFS = [f"{v}:{f}" for v, (fs, _) in VIEWS.items() for f in fs]
PLAN_ODFV, HAND_PY, HAND_PANDAS = "churn_features_fp", "churn_hand_py", "churn_hand_pandas"
STORE_LABEL = {"sqlite": "SQLite", "redis": "Redis"}

# pyproject sets filterwarnings = ["error"]. Ignored here, by message and category:
# * FeatureStore.apply's warning that on-demand feature views are experimental (and do
#   not scale for offline retrieval, which is not used here).
pytestmark = [
    pytest.mark.filterwarnings(r"ignore:On demand feature view is an experimental feature\.:RuntimeWarning"),
]


# ---- the hand-written on-demand views ----------------------------------------------------

_PY_UDF = '''def {name}(inputs):
    """The churn features in plain Python; fitted constants of plan {plan_hash}."""
    import math
    from bisect import bisect_right

    def days(e, s):
        if e is None or s is None:
            return None
        d = e - s
        return ((d.days * 86400 + d.seconds) * 1000000 + d.microseconds) / 1e6 / 86400.0

    sess = inputs["sessions_7d"]
    fails = [0 if f is None else f for f in inputs["failed_payments_90d"]]
    tenure = [days(e, s) for e, s in zip(inputs["event_timestamp"], inputs["signup_at"])]
    country = inputs["country"]
    out = {{
        "active_recently": [s is not None for s in sess],
        "log_sessions": [math.log1p(0 if s is None else s) for s in sess],
        "watch_z": [(math.log1p({watch_fill!r} if w is None or w != w else w) - {watch_mean!r})
                    / {watch_scale!r} for w in inputs["watch_minutes_7d"]],
        "tickets": [min(max(0 if t is None else t, 0), 10) for t in inputs["support_tickets_30d"]],
        "price_scaled": [None if p is None else (p - {price_median!r}) / {price_scale!r}
                         for p in inputs["monthly_price"]],
        "failed_payments": fails,
        "has_failed_payment": [f > 0 for f in fails],
        "tier_id": [None if t is None else {tiers!r}.get(t, {oov!r}) for t in inputs["plan_tier"]],
        "tenure_bucket": [None if d is None or d != d else bisect_right({bounds!r}, d) for d in tenure],
        "age_z": [(({age_fill!r} if a is None else float(a)) - {age_mean!r}) / {age_scale!r}
                  for a in inputs["age"]],
    }}
    for key in {countries!r}:
        out["country__" + key] = [1.0 if c == key else 0.0 for c in country]
    out["competitor_promo"] = [p is True for p in inputs["competitor_promo"]]
    out["price_index_mm"] = [None if p is None else ((100.0 if p != p else p) - {pi_min!r}) / {pi_scale!r}
                             for p in inputs["price_index"]]
    out["discount"] = [None if d is None else d / 100.0 for d in inputs["offer_discount_pct"]]
    out["via_app"] = [None if c is None else c == "app" for c in inputs["channel"]]
    out["evening"] = [None if e is None else e.hour >= 18 for e in inputs["event_timestamp"]]
    return out
'''

# pandas cannot tell a null from a NaN in a float column (both NaN after to_pandas):
# price_index's fill_nan(100.0) is therefore not applied (Feast's online store holds
# nulls, not NaNs, for missing floats), and nullable integers use pandas' Int64.
_PANDAS_UDF = '''def {name}(df):
    """The churn features in pandas; fitted constants of plan {plan_hash}."""
    import numpy as np
    import pandas as pd

    s = df["sessions_7d"]
    w = df["watch_minutes_7d"].astype("float64").fillna({watch_fill!r})
    fails = df["failed_payments_90d"].fillna(0).astype("int64")
    tier = df["plan_tier"]
    tid = tier.map({tiers!r}).astype("float64")
    days = (df["event_timestamp"] - df["signup_at"]) / pd.Timedelta(seconds=1) / 86400.0
    bucket = np.searchsorted(np.array({bounds!r}), days.to_numpy(dtype="float64", na_value=np.nan),
                             side="right")
    country = df["country"]
    out = {{
        "active_recently": s.notna(),
        "log_sessions": np.log1p(s.fillna(0).astype("float64")),
        "watch_z": (np.log1p(w) - {watch_mean!r}) / {watch_scale!r},
        "tickets": df["support_tickets_30d"].fillna(0).astype("int64").clip(0, 10),
        "price_scaled": (df["monthly_price"].astype("float64") - {price_median!r}) / {price_scale!r},
        "failed_payments": fails,
        "has_failed_payment": fails > 0,
        "tier_id": tid.where(tier.isna() | tid.notna(), float({oov!r})).astype("Int64"),
        "tenure_bucket": pd.Series(bucket, index=df.index).where(days.notna()).astype("Int64"),
        "age_z": (df["age"].astype("float64").fillna({age_fill!r}) - {age_mean!r}) / {age_scale!r},
    }}
    for key in {countries!r}:
        out["country__" + key] = (country == key).astype("float64")
    out["competitor_promo"] = df["competitor_promo"].eq(True)
    out["price_index_mm"] = (df["price_index"].astype("float64") - {pi_min!r}) / {pi_scale!r}
    out["discount"] = df["offer_discount_pct"] / 100.0
    out["via_app"] = df["channel"] == "app"
    out["evening"] = df["event_timestamp"].dt.hour >= 18
    return pd.DataFrame(out)
'''


def _constants(plan) -> dict:
    """The fitted constants the hand-written views embed, from ``plan.statistics()``."""
    st = plan.statistics()

    def rec(feature, transform):
        (r,) = [r for r in st[feature] if r["transform"] == transform]
        return r

    tiers = rec("tier_id", "vocabulary")
    assert tiers["num_oov_buckets"] == 1  # hash_bucket(1) is 0: every unknown tier is len(keys)
    return {
        "plan_hash": plan.plan_hash,
        "watch_fill": rec("watch_z", "impute")["value"],
        "watch_mean": rec("watch_z", "standard_scale")["mean"],
        "watch_scale": rec("watch_z", "standard_scale")["scale"],
        "price_median": rec("price_scaled", "robust_scale")["median"],
        "price_scale": rec("price_scaled", "robust_scale")["scale"],
        "tiers": {k: i for i, k in enumerate(tiers["keys"])},
        "oov": len(tiers["keys"]),
        "bounds": [float(b) for b in rec("tenure_bucket", "quantile_bucketize")["boundaries"]],
        "age_fill": float(rec("age_z", "impute")["value"]),
        "age_mean": rec("age_z", "standard_scale")["mean"],
        "age_scale": rec("age_z", "standard_scale")["scale"],
        "countries": list(rec("country", "one_hot")["keys"]),
        "pi_min": rec("price_index_mm", "min_max_scale")["min"],
        "pi_scale": rec("price_index_mm", "min_max_scale")["scale"],
    }


def _hand_views(store, plan, request_source) -> list:
    from feast import Field, OnDemandFeatureView
    from feast import types as ft
    from feast.transformation.pandas_transformation import PandasTransformation
    from feast.transformation.python_transformation import PythonTransformation

    from featureplat.plan.dtypes import DTYPES

    consts = _constants(plan)
    sources = [store.get_feature_view(v)[fs] for v, (fs, _) in VIEWS.items()] + [request_source]
    schema = [Field(name=f, dtype=getattr(ft, DTYPES[t].feast)) for f, t in plan.feature_types.items()]
    views = []
    for name, template, mode, cls in [(HAND_PY, _PY_UDF, "python", PythonTransformation),
                                      (HAND_PANDAS, _PANDAS_UDF, "pandas", PandasTransformation)]:
        src = template.format(name=name, **consts)
        ns: dict = {}
        exec(compile(src, f"<{name}>", "exec"), ns)  # noqa: S102 - our own template
        views.append(OnDemandFeatureView(name=name, sources=sources, schema=schema, mode=mode,
                                         feature_transformation=cls(udf=ns[name], udf_string=src)))
    return views


# ---- store, data, entities ------------------------------------------------------------------

@dataclass
class Env:
    backend: str
    repo: Path
    store: object
    plan: object
    sv: object  # OnlineFeatures
    entities: list[tuple]  # (customer_id, region, offer_discount_pct, channel), all fresh at AT
    plan_refs: list[str] = field(default_factory=list)
    hand_py_refs: list[str] = field(default_factory=list)
    hand_pandas_refs: list[str] = field(default_factory=list)


def _latest(table, key: str) -> dict:
    g = table.group_by(key).aggregate([("event_timestamp", "max")])
    return dict(zip(g.column(key).to_pylist(), g.column("event_timestamp_max").to_pylist()))


def _fresh_entities(data: Path) -> list[tuple]:
    """Customers (with the region and request fields of their first label row) whose four
    views are all within TTL at AT, in a seeded random order."""
    latest = {v: _latest(pq.read_table(data / f"{v}.parquet"),
                         "region" if v == "region_stats" else "customer_id") for v in VIEWS}

    def fresh(view, key):
        ts = latest[view].get(key)
        ttl = VIEWS[view][1]
        return ts is not None and ts <= AT and (ttl is None or ts >= AT - ttl)

    labels = pq.read_table(data / "churn_labels.parquet")
    seen, out = set(), []
    cols = ["customer_id", "region", "offer_discount_pct", "channel"]
    for cid, region, disc, chan in zip(*(labels.column(c).to_pylist() for c in cols)):
        if cid in seen:
            continue
        seen.add(cid)
        if all(fresh(v, region if v == "region_stats" else cid) for v in VIEWS):
            out.append((cid, region, disc, chan))
    order = np.random.default_rng(11).permutation(len(out))
    return [out[i] for i in order]


@pytest.fixture(scope="module")
def churn_data(tmp_path_factory) -> Path:
    from featureplat.examples.churn import generate

    data = tmp_path_factory.mktemp("serve_data")
    generate(data, customers=CUSTOMERS, days=DAYS)
    with pq.ParquetFile(data / "customer_activity.parquet") as f:  # the data must end before END
        assert pc.max(f.read().column("event_timestamp")).as_py() < END
    return data


def _redis_up() -> bool:
    import redis

    host, _, port = REDIS.partition(":")
    try:
        return bool(redis.Redis(host=host, port=int(port or 6379), socket_connect_timeout=1).ping())
    except redis.exceptions.RedisError:
        return False


def _build_env(backend: str, root: Path, data: Path) -> Env:
    import yaml
    from feast import Field, RequestSource
    from feast.types import Float64, String, UnixTimestamp

    from featureplat.feast.on_demand import on_demand_view
    from featureplat.feast.repo import apply
    from featureplat.feast.serving import OnlineFeatures
    from featureplat.feast.training import training_set

    repo = root / "feature_repo"
    shutil.copytree(REPO_SRC, repo, ignore=shutil.ignore_patterns("data", "__pycache__"))
    shutil.copytree(data, repo / "data")
    if backend == "redis":
        cfg_path = repo / "feature_store.yaml"
        cfg = yaml.safe_load(cfg_path.read_text())
        cfg["project"] = f"bench_{secrets.token_hex(6)}"  # keys of their own, removed by teardown()
        cfg["online_store"] = {"type": "redis", "connection_string": REDIS}
        cfg_path.write_text(yaml.safe_dump(cfg))
    store = apply(repo).store
    store.materialize(_dt.datetime(1970, 1, 1, tzinfo=UTC), END)
    plan = training_set(store, "churn_features", repo / "data" / "churn_labels.parquet", label="churned").plan
    request = RequestSource(name="serve_bench_request", schema=[
        Field(name="offer_discount_pct", dtype=Float64), Field(name="channel", dtype=String),
        Field(name="event_timestamp", dtype=UnixTimestamp)])
    odfv = on_demand_view(store, plan, name=PLAN_ODFV, request_source=request)
    store.apply([request, odfv, *_hand_views(store, plan, request)])
    entities = _fresh_entities(repo / "data")
    assert len(entities) >= 100, f"only {len(entities)} entities are fresh at {AT}: more customers"
    env = Env(backend, repo, store, plan, OnlineFeatures(store, plan), entities)
    env.plan_refs = [f"{PLAN_ODFV}:{f}" for f in plan.features]
    env.hand_py_refs = [f"{HAND_PY}:{f}" for f in plan.features]
    env.hand_pandas_refs = [f"{HAND_PANDAS}:{f}" for f in plan.features]
    return env


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def env(request, churn_data, tmp_path_factory):
    backend = request.param
    if backend == "redis" and not _redis_up():
        pytest.skip(f"no Redis at {REDIS}")
    e = _build_env(backend, tmp_path_factory.mktemp(f"serve_{backend}"), churn_data)
    yield e
    e.sv.close()
    if backend == "redis":
        e.store.teardown()


def _fp_args(e):
    return ({"customer_id": e[0], "region": e[1]}, {"offer_discount_pct": e[2], "channel": e[3]})


def _feast_row(e):
    return {"customer_id": e[0], "region": e[1], "offer_discount_pct": e[2], "channel": e[3],
            "event_timestamp": AT}


# ---- correctness (not timed) -------------------------------------------------------------

# Features computed with log1p: numpy's log1p (pandas mode) may be a few ulp off the C
# library's (featureplat, math.log1p): relative 1e-14 there, everything else exact.
_LOG_FEATURES = {"log_sessions", "watch_z"}


def _same(a, b, tol: bool) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        a, b = float(a), float(b)
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b or (tol and math.isclose(a, b, rel_tol=1e-14, abs_tol=0.0))
    return a == b and type(a) is type(b)


def test_hand_written_views_agree(env):
    """Every Feast view, on every entity of the pools, against the serving object (to=dict)."""
    ents = env.entities[:max(POOL, 2 * CHECK_BATCH)]
    features = env.plan.features
    mismatches = []
    for lo in range(0, len(ents), CHECK_BATCH):
        chunk = ents[lo:lo + CHECK_BATCH]
        ours = env.sv.get([_fp_args(e)[0] for e in chunk], [_fp_args(e)[1] for e in chunk], at=AT, to="dict")
        rows = [_feast_row(e) for e in chunk]
        for name, refs, tol in [("plan ODFV", env.plan_refs, False), ("python ODFV", env.hand_py_refs, False),
                                ("pandas ODFV", env.hand_pandas_refs, True)]:
            got = env.store.get_online_features(features=refs, entity_rows=rows).to_dict()
            assert got["customer_id"] == [e[0] for e in chunk]
            for f in features:
                for r, (o, g) in enumerate(zip(ours, got[f])):
                    if not _same(o[f], g, tol and f in _LOG_FEATURES):
                        mismatches.append((name, chunk[r][0], f, o[f], g))
    assert not mismatches, f"{len(mismatches)} mismatches, e.g. {mismatches[:10]}"
    # The raw read carries the same values the serving object decodes.
    chunk = ents[:CHECK_BATCH]
    raw = env.sv.raw([_fp_args(e)[0] for e in chunk], [_fp_args(e)[1] for e in chunk], at=AT)
    got = env.store.get_online_features(features=RAW_REFS, entity_rows=[{"customer_id": e[0], "region": e[1]}
                                                                        for e in chunk]).to_dict()
    for ref in RAW_REFS:
        f = ref.split(":")[1]
        want = got[f]
        have = [r[f] for r in raw]
        if f == "signup_at":  # featureplat: int microseconds; Feast: an aware datetime
            want = [None if w is None else int(w.timestamp()) * 1_000_000 for w in want]
        assert have == want, f
    # Something of each kind occurs: nulls in the data, several tiers, countries, buckets.
    feats = env.sv.get([_fp_args(e)[0] for e in ents], [_fp_args(e)[1] for e in ents], at=AT, to="dict")
    assert len({r["tier_id"] for r in feats}) >= 3 and len({r["tenure_bucket"] for r in feats}) >= 4
    assert all(r["evening"] for r in feats) and all(r["active_recently"] for r in feats)


# ---- latency -------------------------------------------------------------------------------

RESULTS: dict[tuple[str, int], dict[str, dict]] = {}
CONTENDERS = [  # key, label
    ("fp.serve", "featureplat OnlineFeatures.get"),
    ("fp.serve_dict", "featureplat OnlineFeatures.get to=dict"),
    ("feast.py_odfv", "Feast python ODFV (plan)"),
    ("feast.py_hand_odfv", "Feast python ODFV (hand-written)"),
    ("feast.pandas_odfv", "Feast pandas ODFV"),
    ("feast.raw", "Feast raw read, no transform"),
]


def _calls(env: Env, n: int) -> tuple[dict, int]:
    """The contenders as functions of a call index, and the pool size to cycle through."""
    sv, gof = env.sv, env.store.get_online_features
    if n == 1:
        pool = env.entities[:POOL]
        fp_e = [_fp_args(e)[0] for e in pool]
        fp_r = [_fp_args(e)[1] for e in pool]
        rows = [[_feast_row(e)] for e in pool]
        keys = [[{"customer_id": e[0], "region": e[1]}] for e in pool]
    else:
        rng = np.random.default_rng(5)
        batches = [[env.entities[j] for j in rng.choice(len(env.entities), n, replace=False)]
                   for _ in range(BATCHES)]
        fp_e = [[_fp_args(e)[0] for e in b] for b in batches]
        fp_r = [[_fp_args(e)[1] for e in b] for b in batches]
        rows = [[_feast_row(e) for e in b] for b in batches]
        keys = [[{"customer_id": e[0], "region": e[1]} for e in b] for b in batches]
    pr, hp, hd = env.plan_refs, env.hand_py_refs, env.hand_pandas_refs
    fns = {
        "fp.serve": lambda i: sv.get(fp_e[i], fp_r[i], at=AT),
        "fp.serve_dict": lambda i: sv.get(fp_e[i], fp_r[i], at=AT, to="dict"),
        "feast.py_odfv": lambda i: gof(features=pr, entity_rows=rows[i]).to_dict(),
        "feast.py_hand_odfv": lambda i: gof(features=hp, entity_rows=rows[i]).to_dict(),
        "feast.pandas_odfv": lambda i: gof(features=hd, entity_rows=rows[i]).to_dict(),
        "feast.raw": lambda i: gof(features=RAW_REFS, entity_rows=keys[i]).to_dict(),
    }
    return fns, len(fp_e)


def _measure(fns: dict, pool: int, calls: int) -> dict[str, dict]:
    names = list(fns)
    for name in names:  # warm-up
        for i in range(WARMUP):
            fns[name](i % pool)
    per_block = max(1, calls // BLOCKS)
    times: dict[str, list[int]] = {k: [] for k in names}
    clock = time.perf_counter_ns
    for b in range(BLOCKS):
        for name in names[b % len(names):] + names[:b % len(names)]:
            fn, out = fns[name], times[name]
            gc.collect()
            for j in range(per_block):
                i = (b * per_block + j) % pool
                t0 = clock()
                fn(i)
                out.append(clock() - t0)
    res = {}
    for name, ts in times.items():
        a = np.array(ts, dtype=np.float64) / 1e9
        res[name] = {"calls": len(ts), "p50": float(np.median(a)), "p99": float(np.percentile(a, 99)),
                     "mean": float(a.mean()), "min": float(a.min()), "max": float(a.max())}
    return res


def _us(s: float) -> str:
    return f"{s * 1e6:10.1f}"


def _table(store: str, n: int, res: dict[str, dict]) -> list[str]:
    fp = res["fp.serve"]
    lines = [f"serving latency, {STORE_LABEL[store]}, {n} entit{'y' if n == 1 else 'ies'} per call "
             f"({fp['calls']} calls each, interleaved; microseconds; ratio = contender / featureplat)",
             f"  {'contender':36} {'p50':>10} {'p99':>10} {'mean':>10} {'p50 ratio':>10} {'p99 ratio':>10}"]
    for key, label in CONTENDERS:
        r = res.get(key)
        if r is None:
            continue
        lines.append(f"  {label:36} {_us(r['p50'])} {_us(r['p99'])} {_us(r['mean'])} "
                     f"{r['p50'] / fp['p50']:10.2f} {r['p99'] / fp['p99']:10.2f}")
    return lines


def _stand_in(r: dict):
    """What Collector.record reads from a pytest-benchmark fixture: median and min."""
    return SimpleNamespace(stats=SimpleNamespace(stats=SimpleNamespace(median=r["p50"], min=r["min"])))


@pytest.mark.parametrize("n", [1, BATCH])
def test_latency(benchmark, env, n, collector, capsys):
    fns, pool = _calls(env, n)
    # Every contender answers for every entity before anything is timed.
    for name, fn in fns.items():
        out = fn(0)
        if name == "fp.serve":
            assert out.shape == ((len(env.plan.features),) if n == 1 else (n, len(env.plan.features)))
            assert not np.isnan(out).all(axis=-1).any()
        elif name != "fp.serve_dict":
            assert len(out["customer_id"]) == n
    benchmark.group = f"serving latency {env.backend} {n} (one interleaved run; see extra_info)"
    calls = CALLS if n == 1 else CALLS_100
    res = benchmark.pedantic(_measure, args=(fns, pool, calls), rounds=1, iterations=1)
    RESULTS[(env.backend, n)] = res
    benchmark.extra_info.update(store=env.backend, entities=n, calls=calls, customers=CUSTOMERS,
                                **{f"{k}.{s}_us": round(r[s] * 1e6, 2) for k, r in res.items()
                                   for s in ("p50", "p99", "mean")})
    for key, r in res.items():
        if key != "fp.serve_dict":
            collector.record(f"{key}.{env.backend}.{n}", _stand_in(r), rows=1)
    with capsys.disabled():
        print("\n" + "\n".join(_table(env.backend, n, res)))


# ---- HTTP ------------------------------------------------------------------------------------

HTTP_RESULTS: dict[str, dict[str, dict]] = {}

# What ``featureplat serve --repo R --plan P --port N`` runs (featureplat/cli.py serve_cmd),
# without importing the CLI module: the server itself, not the command-line layer, is
# what is measured, and the CLI module is edited independently of this benchmark.
_FP_SERVE = ("import sys\n"
             "from featureplat.feast.http import serve\n"
             "from featureplat.feast.serving import OnlineFeatures\n"
             "serving = OnlineFeatures(sys.argv[1], sys.argv[2], timeout=2.0)\n"
             "serve(serving, host='127.0.0.1', port=int(sys.argv[3]))\n")


def _write_bodies(path: Path, docs: list[dict]) -> str:
    path.write_text("\n".join(json.dumps(d, separators=(",", ":")) for d in docs) + "\n")
    return str(path)


def test_http(benchmark, env, tmp_path, capsys):
    plan_path = env.plan.save(tmp_path / "churn.fpplan")
    pool = env.entities[:POOL]
    fp_docs = [{"entities": {"customer_id": e[0], "region": e[1]},
                "request_data": {"offer_discount_pct": e[2], "channel": e[3]},
                "at": AT_US, "format": "vector"} for e in pool]
    feast_docs = [{"features": env.plan_refs,
                   "entities": {"customer_id": [e[0]], "region": [e[1]], "offer_discount_pct": [e[2]],
                                "channel": [e[3]], "event_timestamp": [AT_US]}}
                  for e in pool]
    servers = {
        "featureplat serve": ([sys.executable, "-c", _FP_SERVE, str(env.repo), str(plan_path), "{port}"],
                              "/health", "/features", fp_docs),
        "feast serve (python ODFV)": ([str(BIN / "feast"), "-c", str(env.repo), "serve", "-p", "{port}",
                                       "--no-access-log", "--max-requests", "0"],
                                      "/health", "/get-online-features", feast_docs),
    }
    features = env.plan.features
    ours0 = env.sv.get(*_fp_args(pool[0]), at=AT)

    def run_all():
        res = {}
        for label, (cmd, health, path, docs) in servers.items():
            port = serving_http.free_port()
            cmd = [c.replace("{port}", str(port)) for c in cmd]
            with serving_http.Server(cmd, port, health, str(tmp_path / f"{label.split()[0]}.log"),
                                     cwd=str(env.repo)) as srv:
                srv.wait_ready()
                status, doc = srv.post(path, docs[0])  # the answer matches the serving object's
                assert status == 200, (label, doc)
                if path == "/features":
                    got = [math.nan if v is None else v for v in doc["values"]]
                else:
                    names = doc["metadata"]["feature_names"]
                    vals = {nm: r["values"][0] for nm, r in zip(names, doc["results"])}
                    got = [math.nan if vals[f] is None else float(vals[f]) for f in features]
                np.testing.assert_array_equal(np.array(got, dtype=np.float64), ours0, err_msg=label)
                bodies = _write_bodies(tmp_path / f"{label.split()[0]}.jsonl", docs)
                r = serving_http.load_in_subprocess(port, path, bodies, HTTP_CONCURRENCY, HTTP_SECONDS,
                                                    HTTP_WARMUP)
                assert r["errors"] == 0, (label, r["first_error"], srv.log_tail())
                assert r["requests"] > 0, (label, srv.log_tail())
                r.pop("first_body", None)
                res[label] = r
        return res

    benchmark.group = f"serving HTTP {env.backend} (one run of both servers; see extra_info)"
    res = benchmark.pedantic(run_all, rounds=1, iterations=1)
    HTTP_RESULTS[env.backend] = res
    for label, r in res.items():
        benchmark.extra_info[label] = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}
    fp = res["featureplat serve"]
    lines = [f"HTTP serving, {STORE_LABEL[env.backend]}, 1 entity per request, "
             f"{HTTP_CONCURRENCY} connections, "
             f"{HTTP_SECONDS:g} s (after {HTTP_WARMUP:g} s warm-up); latency in ms",
             f"  {'server':28} {'req/s':>9} {'p50':>8} {'p99':>8} {'max':>8} {'requests':>9}   req/s fp/this"]
    for label, r in res.items():
        lines.append(f"  {label:28} {r['requests_per_s']:9.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "
                     f"{r['max_ms']:8.2f} {r['requests']:9d}   "
                     f"{fp['requests_per_s'] / r['requests_per_s']:6.2f}")
    with capsys.disabled():
        print("\n" + "\n".join(lines))


# ---- the summary ----------------------------------------------------------------------------

@pytest.fixture(scope="module", autouse=True)
def _summary(request):
    yield
    if not RESULTS and not HTTP_RESULTS:
        return
    lines = ["", "=" * 30 + " serving benchmark summary " + "=" * 30,
             f"data: churn repo, {CUSTOMERS} customers x {DAYS} days; request time {AT.isoformat()}; "
             f"load average now {', '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores"]
    for (store, n), res in sorted(RESULTS.items()):
        lines += _table(store, n, res) + [""]
    fp_keys = ("feast.py_odfv", "feast.raw")
    for (store, n), res in sorted(RESULTS.items()):
        fp = res["fp.serve"]
        goal = " ".join(f"{k}: p50 {res[k]['p50'] / fp['p50']:.2f}x, p99 {res[k]['p99'] / fp['p99']:.2f}x;"
                        for k in fp_keys if k in res)
        lines.append(f"  goal check {STORE_LABEL[store]:6} {n:3}: {goal} (>= 2x vs python ODFV, > 1x vs raw)")
    for store, res in HTTP_RESULTS.items():
        for label, r in res.items():
            lines.append(f"  HTTP {STORE_LABEL[store]:6} {label:28} {r['requests_per_s']:8.0f} req/s, "
                         f"p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms")
    capman = request.config.pluginmanager.getplugin("capturemanager")
    with capman.global_and_fixture_disabled():
        print("\n".join(lines))
