"""Online serving: the vector served for an entity at a time equals, bit for bit, the
training row built for the same entity at the same time -- on SQLite and on Redis."""
from __future__ import annotations

import ast
import base64
import datetime as dt
import inspect
import subprocess
import threading
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import featureplat as fp
from featureplat.feast import serving, stores
from featureplat.feast.on_demand import run_plan
from featureplat.feast.serving import OnlineFeatures, StoreUnavailable
from featureplat.feast.training import training_set
from tests.feast.conftest import build_served_repo, copy_repo, data_end, require_redis, use_redis

pytestmark = [
    pytest.mark.filterwarnings("ignore:On demand feature view is an experimental feature:RuntimeWarning"),
]
UTC = dt.timezone.utc


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def served(request, tmp_path_factory):
    if request.param == "redis":
        require_redis()
    store, plan = build_served_repo(tmp_path_factory.mktemp(request.param) / "repo", request.param)
    yield store, plan, request.param
    if request.param == "redis":
        store.teardown()


def _entities(store, n: int, seed: int, start: dt.datetime, span_hours: int) -> pa.Table:
    """Random entity rows after the data's end: known and unknown customers and regions,
    request times from ``start`` to ``start + span_hours`` (beyond every TTL at the end)."""
    labels = pq.read_table(f"{store.repo_path}/data/churn_labels.parquet")
    rng = np.random.default_rng(seed)
    cust = labels.column("customer_id").to_numpy()[rng.integers(0, labels.num_rows, n)].copy()
    cust[rng.random(n) < 0.1] = 888_888  # no such customer
    regions = np.array(labels.column("region").to_pylist(), dtype=object)[rng.integers(0, labels.num_rows, n)]
    regions[rng.random(n) < 0.05] = "XX-NOWHERE"
    t0 = int(start.timestamp()) * 1_000_000
    at = t0 + rng.integers(0, span_hours * 3600 + 1, n) * 1_000_000
    return pa.table({
        "customer_id": cust, "region": pa.array(list(regions), pa.string()),
        "event_timestamp": pa.array(at, pa.timestamp("us", tz="UTC")),
        "offer_discount_pct": rng.choice([0.0, 5.0, 12.5, 20.0], n),
        "channel": rng.choice(["web", "app", "call_center"], n),
    })


def _request(row: dict) -> tuple[dict, dict]:
    return ({"customer_id": row["customer_id"], "region": row["region"]},
            {"offer_discount_pct": row["offer_discount_pct"], "channel": row["channel"]})


def test_online_vector_equals_training_row(served):
    store, plan, _ = served
    ent = _entities(store, 400, seed=1, start=data_end(), span_hours=5 * 24)
    train = training_set(store, plan, ent)
    sv = OnlineFeatures(store, plan)
    rows = ent.to_pylist()
    for i, row in enumerate(rows):
        e, q = _request(row)
        got = sv.get(e, q, at=row["event_timestamp"])
        assert got.tobytes() == train.X[i].tobytes(), (i, row, sv.raw(e, q, at=row["event_timestamp"]),
                                                       train.inputs.slice(i, 1).to_pylist())
    # Expired views and missing entities both occur in this sample, with null inputs.
    inputs = train.inputs
    assert inputs.column("sessions_7d").null_count > 0 and inputs.column("price_index").null_count > 0
    assert inputs.column("sessions_7d").null_count < inputs.num_rows


def test_many_entities_at_once_equal_one_at_a_time(served):
    store, plan, _ = served
    at = data_end() + dt.timedelta(hours=20)
    ent = _entities(store, 150, seed=2, start=at, span_hours=0)
    sv = OnlineFeatures(store, plan)
    rows = ent.to_pylist()
    ents = [_request(r)[0] for r in rows]
    reqs = [_request(r)[1] for r in rows]
    matrix = sv.get(ents, reqs, at=at)
    assert matrix.shape == (len(rows), len(plan.features))
    single = np.stack([sv.get(e, q, at=at) for e, q in zip(ents, reqs)])
    assert matrix.tobytes() == single.tobytes()
    assert matrix.tobytes() == training_set(store, plan, ent).X.tobytes()
    dicts = sv.get(ents, reqs, at=at, to="dict")
    assert dicts == plan.transform(training_set(store, plan, ent).inputs).to_pylist()
    # Request fields may come inside the entity rows, as in Feast.
    merged = [{**e, **q} for e, q in zip(ents, reqs)]
    assert sv.get(merged, at=at).tobytes() == matrix.tobytes()


def test_request_time_defaults_to_now_and_fills_the_timestamp_input(served):
    store, plan, _ = served
    sv = OnlineFeatures(store, plan)
    e, q = {"customer_id": 1001, "region": "PT-LIS"}, {"offer_discount_pct": 0.0, "channel": "web"}
    before = time.time_ns() // 1000
    raw = sv.raw(e, q)[0]
    assert before <= raw["event_timestamp"] <= time.time_ns() // 1000
    # Long after the data every TTL-bound view has expired; the profile (no TTL) remains.
    assert raw["sessions_7d"] is None and raw["monthly_price"] is None and raw["price_index"] is None
    assert raw["country"] is not None
    explicit = dt.datetime(2030, 1, 1, tzinfo=UTC)
    assert sv.raw(e, {**q, "event_timestamp": explicit}, at=explicit)[0]["event_timestamp"] == explicit


def test_ttl_is_applied_where_feasts_online_read_is_not(served):
    """Feast's get_online_features returns a value past its view's TTL as present (Feast
    issue #6821); the serving object nulls it, as the point-in-time join does offline."""
    store, plan, _ = served
    act = pq.read_table(f"{store.repo_path}/data/customer_activity.parquet").to_pandas()
    last = act.groupby("customer_id").event_timestamp.max()
    cid = int(last.index[0])
    at = last.iloc[0] + dt.timedelta(days=3, seconds=1)  # one second past the 3-day TTL
    sv = OnlineFeatures(store, plan)
    e = {"customer_id": cid, "region": "PT-LIS"}
    q = {"offer_discount_pct": 0.0, "channel": "web"}
    assert sv.raw(e, q, at=at)[0]["sessions_7d"] is None
    at_edge = last.iloc[0] + dt.timedelta(days=3)  # exactly at the TTL edge: still visible
    assert sv.raw(e, q, at=at_edge)[0]["sessions_7d"] is not None
    feast_row = store.get_online_features(features=["customer_activity:sessions_7d"],
                                          entity_rows=[{"customer_id": cid}]).to_dict()
    assert feast_row["sessions_7d"][0] is not None  # Feast: expired value served as present
    for t in (at, at_edge):
        ent = pa.table({"customer_id": [cid], "region": ["PT-LIS"], "event_timestamp": pa.array([t]),
                        "offer_discount_pct": [0.0], "channel": ["web"]})
        assert sv.get(e, q, at=t).tobytes() == training_set(store, plan, ent).X[0].tobytes()


def test_freshly_pushed_values_are_served_as_trained(served, tmp_path):
    store, plan, _ = served
    cid = 777_001 if served[2] == "sqlite" else 777_002
    t = data_end() + dt.timedelta(days=2)
    row = pd_frame({"customer_id": [cid], "event_timestamp": [t], "sessions_7d": [41], "watch_minutes_7d": [1234.5],
                    "support_tickets_30d": [2]})
    # Offline: the new row lands in the view's source; online: written the way a push is.
    path = f"{store.repo_path}/data/customer_activity.parquet"
    src = pq.read_table(path)
    pq.write_table(pa.concat_tables([src, pa.Table.from_pandas(row, schema=src.schema, preserve_index=False)]), path)
    store.write_to_online_store("customer_activity", row)
    sv = OnlineFeatures(store, plan)
    at = t + dt.timedelta(hours=1)
    e, q = {"customer_id": cid, "region": "ES-MAD"}, {"offer_discount_pct": 5.0, "channel": "app"}
    raw = sv.raw(e, q, at=at)[0]
    assert (raw["sessions_7d"], raw["watch_minutes_7d"], raw["support_tickets_30d"]) == (41, 1234.5, 2)
    ent = pa.table({"customer_id": [cid], "region": ["ES-MAD"], "event_timestamp": pa.array([at]),
                    "offer_discount_pct": [5.0], "channel": ["app"]})
    assert sv.get(e, q, at=at).tobytes() == training_set(store, plan, ent).X[0].tobytes()
    # Before the pushed event time the value is not visible (offline: no row yet).
    assert sv.raw(e, q, at=t - dt.timedelta(seconds=1))[0]["sessions_7d"] is None


def pd_frame(d):
    import pandas as pd

    return pd.DataFrame(d)


def test_concurrent_gets_match_serial(served):
    store, plan, _ = served
    sv = OnlineFeatures(store, plan)
    ent = _entities(store, 200, seed=5, start=data_end(), span_hours=48)
    rows = ent.to_pylist()
    serial = [sv.get(*_request(r), at=r["event_timestamp"]).tobytes() for r in rows]
    results: dict[tuple[int, int], bytes] = {}
    errors = []

    def worker(k: int):
        try:
            for j in range(len(rows)):
                i = (j * 7 + k * 13) % len(rows)
                results[(k, i)] = sv.get(*_request(rows[i]), at=rows[i]["event_timestamp"]).tobytes()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 8 * len(rows)
    for (k, i), v in results.items():
        assert v == serial[i], (k, i)


def test_feast_on_demand_view_adapter_matches_serving(served):
    from featureplat.feast.on_demand import on_demand_view

    store, plan, _ = served
    view = on_demand_view(store, plan)
    assert view.tags["featureplat.plan_hash"] == plan.plan_hash
    store.apply([view])  # Feast's apply-time validation runs the plan on random inputs
    sv = OnlineFeatures(store, plan)
    at = data_end() + dt.timedelta(hours=30)
    ent = _entities(store, 120, seed=9, start=at, span_hours=0)
    rows = ent.to_pylist()
    feast_rows = [{**_request(r)[0], **_request(r)[1], "event_timestamp": at} for r in rows]
    refs = [f"{view.name}:{f}" for f in plan.features]
    got = store.get_online_features(features=refs, entity_rows=feast_rows).to_dict()
    raw_refs = sorted({i["source"][len("feast:"):] for i in plan.inputs if i["source"].startswith("feast:")})
    feast_raw = store.get_online_features(features=raw_refs, entity_rows=[_request(r)[0] for r in rows]).to_dict()
    ours = sv.get([_request(r)[0] for r in rows], [_request(r)[1] for r in rows], at=at, to="dict")
    ours_raw = sv.raw([_request(r)[0] for r in rows], [_request(r)[1] for r in rows], at=at)
    name_of = {i["source"][len("feast:"):]: i["name"] for i in plan.inputs if i["source"].startswith("feast:")}
    ttl_days = {"customer_activity": 3, "customer_billing": 40, "region_stats": 2, "customer_profile": None}
    same = differ = 0
    for k, row in enumerate(ours):
        adapter = {f: got[f][k] for f in plan.features}
        raw_equal = all(_micros(feast_raw[ref.split(":")[1]][k]) == ours_raw[k][name_of[ref]] for ref in raw_refs)
        if raw_equal:
            assert adapter == row, k
            same += 1
        else:
            # The only difference allowed: Feast passed values of a view past its TTL.
            for ref in raw_refs:
                view, feature = ref.split(":")
                if _micros(feast_raw[feature][k]) != ours_raw[k][name_of[ref]]:
                    assert ours_raw[k][name_of[ref]] is None and ttl_days[view] is not None, (k, ref)
            differ += 1
    assert same > 0 and differ > 0


def _micros(v):
    """Feast returns timestamps as datetimes; the serving object's raw inputs hold microseconds."""
    if isinstance(v, dt.datetime):
        return round(v.timestamp()) * 1_000_000
    return v


def test_adapter_is_a_new_view_when_the_plan_changes(served):
    from featureplat.feast.on_demand import on_demand_view

    store, plan, _ = served
    a = on_demand_view(store, plan)
    refit = training_set(store, "churn_features",
                         pq.read_table(f"{store.repo_path}/data/churn_labels.parquet").slice(0, 200)).plan
    b = on_demand_view(store, refit)
    assert refit.plan_hash != plan.plan_hash
    assert a.feature_transformation != b.feature_transformation  # Feast's diff identity
    # The source embeds the plan file itself (base64), so a new plan is new text.
    assert base64.b64encode(plan.to_bytes()).decode() in a.feature_transformation.udf_string
    assert on_demand_view(store, plan).feature_transformation == a.feature_transformation


# ---- bad input -------------------------------------------------------------------------------

def test_bad_entity_keys_and_request_fields(served):
    store, plan, _ = served
    sv = OnlineFeatures(store, plan)
    q = {"offer_discount_pct": 0.0, "channel": "web"}
    with pytest.raises(fp.InputError, match="entity row 0: join key 'customer_id' must be an integer \\(INT64\\), "
                                            "got str 'abc'"):
        sv.get({"customer_id": "abc", "region": "PT-LIS"}, q)
    with pytest.raises(fp.InputError, match="join key 'customer_id' must be an integer .* got float"):
        sv.get({"customer_id": 1001.0, "region": "PT-LIS"}, q)
    with pytest.raises(fp.InputError, match="join key 'region' must be a string, got int 7"):
        sv.get({"customer_id": 1001, "region": 7}, q)
    with pytest.raises(fp.InputError, match="entity row 1: missing join key 'region'"):
        sv.get([{"customer_id": 1001, "region": "PT-LIS"}, {"customer_id": 1001}], q)
    with pytest.raises(fp.InputError, match="entity row 0: missing request field 'channel'"):
        sv.get({"customer_id": 1001, "region": "PT-LIS"}, {"offer_discount_pct": 0.0})
    with pytest.raises(fp.InputError, match=r"^request time 'at': naive datetime .* give it a time zone"):
        sv.get({"customer_id": 1001, "region": "PT-LIS"}, q, at=dt.datetime(2026, 9, 1))
    with pytest.raises(fp.InputError, match=r"^input 'event_timestamp': naive datetime .* give it a time zone"):
        sv.get({"customer_id": 1001, "region": "PT-LIS"}, {**q, "event_timestamp": dt.datetime(2026, 9, 1)})
    with pytest.raises(fp.InputError, match="entity_rows must be a dict or a list of dicts"):
        sv.get("customer 1001", q)
    with pytest.raises(fp.InputError, match="request_data must be a dict"):
        sv.get([{"customer_id": 1001, "region": "PT-LIS"}], [q, q])
    # A null key matches nothing (as offline), it is not an error.
    assert sv.raw({"customer_id": None, "region": "PT-LIS"}, q)[0]["sessions_7d"] is None


def test_int64_inputs_read_alike_in_training_sets_and_serving(served):
    """An int64 input given as a float or a string: training sets used to accept both
    (Arrow's cast) while every serving path refused them. One rule, in the core, now:
    integral floats are exact, NaN is null, any other float and any string are refused,
    with the same words on both sides."""
    store, _, _ = served
    plan = fp.compile(fp.FeatureSet("int_request", inputs={
        "sessions_7d": fp.feast("customer_activity:sessions_7d", "int64"), "n": fp.request("int64"),
        "event_timestamp": fp.request("timestamp")}, features={"n1": fp.col("n") + 1,
                                                               "s": fp.col("sessions_7d").fill_null(-1)}))
    at = data_end() + dt.timedelta(hours=1)
    sv = OnlineFeatures(store, plan)
    e = {"customer_id": 1001}

    def outcome(run):
        try:
            return np.asarray(run(), dtype=np.float64).tobytes()
        except fp.InputError as err:
            return str(err)

    seen = {}
    for value in (1400.0, float("nan"), 1400.5, float("inf"), float(2**63), "1400"):
        ent = pa.table({"customer_id": [1001], "event_timestamp": pa.array([at]), "n": pa.array([value])})
        q = {"n": value}
        got = {"training set": outcome(lambda t=ent: training_set(store, plan, t).X[0]),
               "one entity": outcome(lambda q=q: sv.get(e, q, at=at)),
               "entity list": outcome(lambda q=q: sv.get([e], [q], at=at)[0]),
               "dict": outcome(lambda q=q: list(sv.get(e, q, at=at, to="dict").values()))}
        assert len(set(got.values())) == 1, (value, got)
        seen[repr(value)] = got["training set"]
    assert np.frombuffer(seen["1400.0"])[0] == 1401.0
    assert np.isnan(np.frombuffer(seen["nan"])[0])
    assert seen["1400.5"] == "input 'n' row 0: float 1400.5 is not an integer (an int64 input takes integral floats)"
    assert seen["inf"] == "input 'n' row 0: float inf is outside the int64 range"
    assert seen["9.223372036854776e+18"] == \
        "input 'n' row 0: float 9.223372036854776e+18 is outside the int64 range"
    assert seen["'1400'"] == \
        "input 'n': declared int64 but got string values; convert them or declare the input accordingly"


def test_on_demand_view_reads_feast_times_without_a_zone_as_utc():
    """Feast hands an on-demand view its event data as it holds it (tz-less means UTC, by
    Feast's convention); request fields are the caller's, and a naive one is refused."""
    plan = fp.compile(fp.FeatureSet("odfv_times", inputs={
        "signup_at": fp.feast("customer_profile:signup_at", "timestamp"), "when": fp.request("timestamp")},
        features={"signup_hour": fp.col("signup_at").dt.hour(), "when_hour": fp.col("when").dt.hour()}))
    blob = base64.b64encode(plan.to_bytes()).decode("ascii")
    bindings = [("signup_at", "customer_profile__signup_at"), ("when", "when")]
    aware = dt.datetime(2026, 1, 1, 20, tzinfo=UTC)
    for feast_value in (aware, aware.replace(tzinfo=None)):
        out = run_plan(plan.plan_hash, blob, bindings, {"customer_profile__signup_at": feast_value, "when": aware})
        assert out == {"signup_hour": 20, "when_hour": 20}
        many = run_plan(plan.plan_hash, blob, bindings, {"customer_profile__signup_at": [feast_value, None],
                                                         "when": [aware, aware]})
        assert many == {"signup_hour": [20, None], "when_hour": [20, 20]}
    with pytest.raises(fp.InputError, match="^input 'when': naive datetime"):
        run_plan(plan.plan_hash, blob, bindings, {"customer_profile__signup_at": aware,
                                                  "when": aware.replace(tzinfo=None)})


def test_serving_holds_no_ttl_arithmetic():
    """The TTL rule has one implementation, in the core (``visible_at``, pit_join.h), used
    by the point-in-time join and called by serving: no comparison or arithmetic on a TTL
    or the request time is left in the serving modules."""
    for module in (serving, stores):
        tree = ast.parse(inspect.getsource(module))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Compare, ast.BinOp, ast.BoolOp, ast.AugAssign)):
                names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
                names |= {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}
                assert not {n for n in names if "ttl" in n.lower() or n == "at_us"}, \
                    f"{module.__name__}:{node.lineno}: {ast.unparse(node)}"
    assert "_core.visible_mask(" in inspect.getsource(serving)


def test_unknown_feature_reference_and_unfitted_plan(served):
    store, plan, _ = served
    fs = fp.FeatureSet("bad", inputs={"x": fp.feast("customer_activity:nope", "int64")},
                       features={"y": fp.col("x") + 1})
    with pytest.raises(fp.InputError, match="unknown feature reference 'customer_activity:nope'"):
        OnlineFeatures(store, fp.compile(fs))
    with pytest.raises(fp.PlanError, match="has unfitted transforms"):
        OnlineFeatures(store, "churn_features")


def test_missing_sqlite_store_is_reported(tmp_path):
    from featureplat.examples.churn import generate
    from featureplat.feast.repo import apply

    repo = copy_repo(tmp_path / "repo")
    generate(repo / "data", customers=20, days=21)
    store = apply(repo).store
    plan = training_set(store, "churn_features", repo / "data" / "churn_labels.parquet").plan
    (repo / "data" / "online_store.db").unlink()
    with pytest.raises(StoreUnavailable, match="online store .*online_store.db does not exist"):
        OnlineFeatures(store, plan)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_redis_fails_fast_instead_of_hanging(tmp_path):
    """A private Redis server is filled, then stopped: requests fail within the timeout."""
    require_redis()
    from featureplat.examples.churn import generate
    from featureplat.feast.repo import apply

    port = _free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import redis

        client = redis.Redis(host="127.0.0.1", port=port)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        repo = copy_repo(tmp_path / "repo")
        use_redis(repo, port=port)
        generate(repo / "data", customers=20, days=21)
        store = apply(repo).store
        store.materialize(dt.datetime(1970, 1, 1, tzinfo=UTC), dt.datetime(2027, 1, 1, tzinfo=UTC))
        plan = training_set(store, "churn_features", repo / "data" / "churn_labels.parquet").plan
        sv = OnlineFeatures(store, plan, timeout=1.0)
        e, q = {"customer_id": 1001, "region": "PT-LIS"}, {"offer_discount_pct": 0.0, "channel": "web"}
        sv.get(e, q)  # reachable
    finally:
        server.terminate()
        server.wait(timeout=10)
    t = time.perf_counter()
    with pytest.raises(StoreUnavailable, match=f"Redis online store at redis 127.0.0.1:{port} is unreachable"):
        sv.get(e, q)
    assert time.perf_counter() - t < 3.0


def test_redis_port_with_nothing_listening(tmp_path):
    from featureplat.examples.churn import generate
    from featureplat.feast.repo import apply

    repo = copy_repo(tmp_path / "repo")
    use_redis(repo, port=_free_port())
    generate(repo / "data", customers=20, days=21)
    store = apply(repo).store
    plan = training_set(store, "churn_features", repo / "data" / "churn_labels.parquet").plan
    sv = OnlineFeatures(store, plan, timeout=0.5)
    t = time.perf_counter()
    with pytest.raises(StoreUnavailable, match="is unreachable"):
        sv.get({"customer_id": 1001, "region": "PT-LIS"}, {"offer_discount_pct": 0.0, "channel": "web"})
    assert time.perf_counter() - t < 2.0
