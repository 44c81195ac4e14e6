"""point_in_time_join against a slow pure-Python reference of Feast's offline-store
semantics (see cpp/include/featureplat/pit_join.h), plus edge cases and bad input."""
import datetime as dt
import random

import numpy as np
import pyarrow as pa
import pytest

from featureplat import _core
from featureplat.errors import InputError
from featureplat.feast.point_in_time import point_in_time_join

SCALE = {"s": 1_000_000, "ms": 1000, "us": 1}


# ---- reference -------------------------------------------------------------------------

def micros(col: pa.ChunkedArray) -> list:
    """Python ints (microseconds, UTC) or None, computed independently of featureplat.pit."""
    unit = col.type.unit
    raw = col.cast(pa.int64()).to_pylist()
    return [None if v is None else (v // 1000 if unit == "ns" else v * SCALE[unit]) for v in raw]


def reference(entity, entity_keys, timestamp, views):
    """O(n * m) loop: Feast's rule, written as plainly as possible."""
    n = entity.num_rows
    ets = micros(entity.column(timestamp))
    ekey_vals = {k: entity.column(k).to_pylist() for k in entity_keys}
    out = {}
    for view in views:
        t = view["table"]
        keys = view["keys"]
        ekeys = view.get("entity_keys") or (keys if all(k in entity_keys for k in keys) else entity_keys)
        vkeys = list(zip(*[t.column(k).to_pylist() for k in keys]))
        vts = micros(t.column(view["timestamp"]))
        vcr = micros(t.column(view["created"])) if view.get("created") else [0] * t.num_rows
        ttl = view.get("ttl_us") or 0
        chosen = []
        for i in range(n):
            key = tuple(ekey_vals[k][i] for k in ekeys)
            best = None
            if ets[i] is not None and None not in key:
                for r in range(t.num_rows):
                    if vkeys[r] != key or vts[r] is None or vts[r] > ets[i]:
                        continue
                    if ttl > 0 and vts[r] < ets[i] - ttl:
                        continue
                    rank = (vts[r], -(2**63) if vcr[r] is None else vcr[r], r)
                    if best is None or rank > best:
                        best = rank
            chosen.append(None if best is None else best[2])
        for f in view["features"]:
            name = f"{view['prefix']}__{f}" if view.get("prefix") else f
            vals = t.column(f).to_pylist()
            out[name] = [None if r is None else vals[r] for r in chosen]
    return out


def check_against_reference(entity, entity_keys, timestamp, views, threads=(1, 3)):
    want = reference(entity, entity_keys, timestamp, views)
    first = None
    for th in threads:
        got = point_in_time_join(entity, entity_keys, timestamp, views, threads=th)
        assert got.column_names == entity.column_names + list(want)
        assert got.num_rows == entity.num_rows
        for i in range(entity.num_columns):
            assert got.column(i).equals(entity.column(i))
        for name, vals in want.items():
            assert got.column(name).to_pylist() == vals, name
        if first is None:
            first = got
        else:
            assert got.equals(first)
    return first


# ---- randomised comparison ---------------------------------------------------------------

def ts_array(values_us, unit, tz):
    div = SCALE.get(unit)
    if unit == "ns":
        vals = [None if v is None else v * 1000 for v in values_us]
    else:
        vals = [None if v is None else v // div for v in values_us]
    return pa.array(vals, pa.timestamp(unit, tz=tz))


def random_case(seed):
    rng = random.Random(seed)
    step = 1_000_000  # whole seconds, so every unit represents the values exactly
    n_drivers, n_cities = rng.randint(1, 6), rng.randint(1, 3)
    cities = ["north", "south", "é-east"][:n_cities]
    ttl = rng.choice([0, 5, 10]) * step

    def key():
        d = rng.randrange(n_drivers) if rng.random() > 0.05 else None
        c = rng.choice(cities) if rng.random() > 0.05 else None
        return d, c

    # view 1: keyed on (driver, city), created timestamps, duplicate event timestamps.
    v1 = {"driver": [], "city": [], "ts": [], "created": [], "rate": [], "tag": []}
    for _ in range(rng.randint(0, 60)):
        d, c = key()
        t = rng.randrange(0, 40) * step if rng.random() > 0.03 else None
        v1["driver"].append(d)
        v1["city"].append(c)
        v1["ts"].append(t)
        # late rows with older created timestamps, some null created
        v1["created"].append(None if rng.random() < 0.05 else rng.randrange(0, 5) * step)
        v1["rate"].append(None if rng.random() < 0.2 else rng.randrange(100) / 4)
        v1["tag"].append(None if rng.random() < 0.2 else rng.choice("abc"))
    view1 = pa.table({
        "driver": pa.array(v1["driver"], pa.int32()),  # narrower than the entity's int64
        "city": pa.array(v1["city"], pa.string()),
        "ts": ts_array(v1["ts"], rng.choice(["s", "ms", "us", "ns"]), rng.choice([None, "UTC"])),
        "created": ts_array(v1["created"], "us", "UTC"),
        "rate": pa.array(v1["rate"], pa.float64()),
        "tag": pa.array(v1["tag"], pa.string()),
    })
    # view 2: keyed on driver only (a subset of the entity keys), no created column.
    v2 = {"driver": [], "event_ts": [], "trips": []}
    for _ in range(rng.randint(0, 40)):
        v2["driver"].append(key()[0])
        v2["event_ts"].append(rng.randrange(0, 40) * step)
        v2["trips"].append(None if rng.random() < 0.2 else rng.randrange(10))
    view2 = pa.table({"driver": pa.array(v2["driver"], pa.int64()),
                      "event_ts": ts_array(v2["event_ts"], "ms", "UTC"),
                      "trips": pa.array(v2["trips"], pa.int64())})
    # view 3: keyed on a differently named column mapped to the entity's city.
    v3 = {"region": [], "ts": [], "temp": []}
    for _ in range(rng.randint(0, 20)):
        v3["region"].append(key()[1])
        v3["ts"].append(rng.randrange(0, 40) * step)
        v3["temp"].append(rng.randrange(-5, 30))
    view3 = pa.table({"region": pa.array(v3["region"], pa.string()).dictionary_encode(),
                      "ts": ts_array(v3["ts"], "s", "UTC"), "temp": pa.array(v3["temp"], pa.int16())})

    e = {"driver": [], "city": [], "ts": [], "label": []}
    for _ in range(rng.randint(0, 50)):
        if e["ts"] and rng.random() < 0.2:  # duplicate entity row with a different label
            j = rng.randrange(len(e["ts"]))
            row = (e["driver"][j], e["city"][j], e["ts"][j])
        elif v1["ts"] and rng.random() < 0.3 and v1["ts"][-1] is not None:
            # exactly at the TTL edge (or exactly at the feature timestamp when wider)
            j = rng.randrange(len(v1["ts"]))
            base = v1["ts"][j] if v1["ts"][j] is not None else 0
            row = (v1["driver"][j], v1["city"][j], base + ttl + rng.choice([0, 0, 1, -1]))
        else:
            d, c = key()
            row = (d, c, rng.randrange(-5, 50) * step if rng.random() > 0.03 else None)
        e["driver"].append(row[0])
        e["city"].append(row[1])
        e["ts"].append(row[2])
        e["label"].append(rng.random())
    entity = pa.table({"driver": pa.array(e["driver"], pa.int64()), "city": pa.array(e["city"], pa.string()),
                       "ts": ts_array(e["ts"], "us", "UTC"), "label": pa.array(e["label"], pa.float64())})
    views = [
        {"table": view1, "keys": ["driver", "city"], "timestamp": "ts", "created": "created", "ttl_us": ttl,
         "features": ["rate", "tag"], "prefix": "v1"},
        {"table": view2, "keys": ["driver"], "timestamp": "event_ts", "created": None,
         "ttl_us": rng.choice([0, 7 * step]), "features": ["trips"], "prefix": None},
        {"table": view3, "keys": ["region"], "entity_keys": ["city"], "timestamp": "ts", "created": None,
         "ttl_us": 0, "features": ["temp"], "prefix": "weather"},
    ]
    return entity, views


@pytest.mark.parametrize("seed", range(40))
def test_random_matches_reference(seed):
    entity, views = random_case(seed)
    check_against_reference(entity, ["driver", "city"], "ts", views)


def test_large_random_threads_identical():
    rng = np.random.default_rng(7)
    n, m = 200_000, 50_000
    entity = pa.table({
        "k": rng.integers(0, 5000, n), "s": pa.array(rng.integers(0, 3, n).astype(str)),
        "ts": pa.array(rng.integers(0, 10**9, n), pa.timestamp("us", tz="UTC")),
    })
    feats = pa.table({
        "k": rng.integers(0, 5000, m), "s": pa.array(rng.integers(0, 3, m).astype(str)),
        "ts": pa.array(rng.integers(0, 10**9, m), pa.timestamp("us")),
        "cr": pa.array(rng.integers(0, 3, m), pa.timestamp("us")), "x": rng.random(m),
    })
    view = {"table": feats, "keys": ["k", "s"], "timestamp": "ts", "created": "cr", "ttl_us": 10**7,
            "features": ["x"], "prefix": "f"}
    one = point_in_time_join(entity, ["k", "s"], "ts", [view], threads=1)
    four = point_in_time_join(entity, ["k", "s"], "ts", [view], threads=4)
    assert one.equals(four)
    assert 0 < one.column("f__x").null_count < n
    # spot-check against the reference on a slice
    sub = entity.slice(0, 300)
    small = {**view, "table": feats}
    want = reference(sub, ["k", "s"], "ts", [small])
    assert one.slice(0, 300).column("f__x").to_pylist() == want["f__x"]


# ---- hand-written edge cases ---------------------------------------------------------------

def T(*secs, unit="s", tz="UTC"):
    return pa.array(list(secs), pa.timestamp(unit, tz=tz))


def test_ttl_edge_ties_and_order():
    entity = pa.table({"k": [1, 1, 1, 2, 3, 1], "ts": T(150, 151, 100, 100, 100, 150),
                       "label": [0, 1, 2, 3, 4, 5]})
    feats = pa.table({"k": [1, 1, 1, 2, 2], "ts": T(100, 100, 100, 100, 100),
                      "cr": T(5, 9, 9, 1, 1), "x": ["a", "b", "c", "d", "e"]})
    view = {"table": feats, "keys": ["k"], "timestamp": "ts", "created": "cr", "ttl_us": 50 * 10**6,
            "features": ["x"], "prefix": None}
    out = point_in_time_join(entity, ["k"], "ts", [view])
    # 150 - 50s = 100: at the bound, kept; 151: expired; created 9 twice -> the later row;
    # key 3 has no history; row order and duplicates preserved.
    assert out.column("x").to_pylist() == ["c", None, "c", "e", None, "c"]
    assert out.column("label").to_pylist() == [0, 1, 2, 3, 4, 5]
    wider = ["c", "c", "c", "e", None, "c"]
    view["ttl_us"] = dt.timedelta(seconds=51)
    assert point_in_time_join(entity, ["k"], "ts", [view]).column("x").to_pylist() == wider
    view["ttl_us"] = None
    assert point_in_time_join(entity, ["k"], "ts", [view]).column("x").to_pylist() == wider


def test_null_created_is_oldest_and_null_ts_never_matches():
    entity = pa.table({"k": [1, 2], "ts": T(10, 10)})
    feats = pa.table({"k": [1, 1, 2], "ts": T(5, 5, None), "cr": T(None, 0, 0), "x": [1, 2, 3]})
    out = point_in_time_join(entity, ["k"], "ts", [
        {"table": feats, "keys": ["k"], "timestamp": "ts", "created": "cr", "ttl_us": 0, "features": ["x"],
         "prefix": None}])
    assert out.column("x").to_pylist() == [2, None]


def test_entity_columns_kept_as_is_with_duplicate_names_and_time_zones():
    entity = pa.Table.from_arrays(
        [pa.array([1, None, 1]), T(10 * 10**9, 10 * 10**9, 20 * 10**9, unit="ns", tz="America/New_York"),
         pa.array(["x", "y", "z"]),
         pa.array([0.5, 1.5, 2.5])],
        names=["k", "when", "lab", "lab"])
    feats = pa.table({"k": [1], "ts": T(15_000, unit="ms", tz=None), "v": pa.array([True])})
    out = point_in_time_join(entity, ["k"], "when", [
        {"table": feats, "keys": ["k"], "timestamp": "ts", "features": ["v"], "prefix": "f"}])
    assert out.column_names == ["k", "when", "lab", "lab", "f__v"]
    assert out.schema.field("when").type == pa.timestamp("ns", tz="America/New_York")
    assert out.column("f__v").to_pylist() == [None, None, True]


def test_empty_tables():
    entity = pa.table({"k": pa.array([], pa.int64()), "ts": T(unit="us")})
    feats = pa.table({"k": [1], "ts": T(1), "x": [1.0]})
    out = point_in_time_join(entity, ["k"], "ts", [
        {"table": feats, "keys": ["k"], "timestamp": "ts", "features": ["x"]}])
    assert out.num_rows == 0 and out.column_names == ["k", "ts", "x"]
    entity = pa.table({"k": [1], "ts": T(5)})
    out = point_in_time_join(entity, ["k"], "ts", [
        {"table": feats.slice(0, 0), "keys": ["k"], "timestamp": "ts", "features": ["x"]}])
    assert out.column("x").to_pylist() == [None]


def test_chunked_inputs():
    entity = pa.concat_tables([pa.table({"k": [1], "ts": T(5)}), pa.table({"k": [2], "ts": T(6)})])
    feats = pa.concat_tables([pa.table({"k": [2], "ts": T(1), "x": [7]}),
                              pa.table({"k": [1], "ts": T(2), "x": [8]})])
    out = point_in_time_join(entity, ["k"], "ts", [{"table": feats, "keys": ["k"], "timestamp": "ts",
                                                     "features": ["x"]}])
    assert out.column("x").to_pylist() == [8, 7]


# ---- bad input -----------------------------------------------------------------------------

ENTITY = pa.table({"k": [1], "ts": T(5), "x": [0]})
FEATS = pa.table({"k": [1], "ts": T(1), "f": [2], "x": [3], "s": ["a"]})


def view(**kw):
    v = {"table": FEATS, "keys": ["k"], "timestamp": "ts", "created": None, "ttl_us": 0, "features": ["f"],
         "prefix": None}
    v.update(kw)
    return v


@pytest.mark.parametrize("entity, keys, ts, views, match", [
    (pa.table({"k": [1], "ts": T(5, tz=None)}), ["k"], "ts", [view()], "'ts' has no time zone"),
    (ENTITY, ["k"], "when", [view()], "column 'when' is missing"),
    (ENTITY, ["nope"], "ts", [view()], "column 'nope' is missing"),
    (ENTITY, ["k"], "x", [view()], "'x' must be a timestamp"),
    (ENTITY, ["k"], "ts", [view(keys=["kk"])], "column 'kk' is missing"),
    (pa.table({"k": [1], "j": [2], "ts": T(5)}), ["k", "j"], "ts", [view(keys=["kk"])],
     "keys \\['kk'\\] are not entity key columns"),
    (ENTITY, ["k"], "ts", [view(features=["missing"])], "column 'missing' is missing"),
    (ENTITY, ["k"], "ts", [view(timestamp="nots")], "column 'nots' is missing"),
    (ENTITY, ["k"], "ts", [view(timestamp="f")], "'f' must be a timestamp"),
    (ENTITY, ["k"], "ts", [view(created="gone")], "column 'gone' is missing"),
    (ENTITY, ["k"], "ts", [view(features=["x"])], "'x' clashes"),
    (ENTITY, ["k"], "ts", [view(), view()], "'f' clashes"),
    (ENTITY, ["k"], "ts", [view(ttl_us=-1)], "ttl_us must be >= 0"),
    (ENTITY, ["k"], "ts", [view(ttl_us=1.5)], "ttl_us must be an int"),
    (ENTITY, ["k"], "ts", [view(keys=["s"], entity_keys=["k"])], "cannot be matched"),
    (ENTITY, ["k"], "ts", [view(entity_keys=["ts"])], "not one of the entity keys"),
    (ENTITY, ["k"], "ts", [view(bogus=1)], "unknown fields"),
    (ENTITY, ["k"], "ts", [{"table": FEATS}], "missing 'keys'"),
    (ENTITY, ["k"], "ts", [view(table={"k": [1]})], "must be a pyarrow Table"),
    (pa.Table.from_arrays([pa.array([1]), pa.array([1]), T(1)], names=["k", "k", "ts"]), ["k"], "ts",
     [view()],
     "'k' appears 2 times"),
])
def test_bad_input(entity, keys, ts, views, match):
    with pytest.raises(InputError, match=match):
        point_in_time_join(entity, keys, ts, views)


def test_bad_threads():
    for bad in (-1, 2.0, True):
        with pytest.raises(InputError, match=r"threads must be a non-negative integer \(0: every core\)"):
            point_in_time_join(ENTITY, ["k"], "ts", [view()], threads=bad)
    # 0 is every core, as for plan.transform and fit.
    assert point_in_time_join(ENTITY, ["k"], "ts", [view()], threads=0).equals(
        point_in_time_join(ENTITY, ["k"], "ts", [view()], threads=1))


def test_core_validates_arrays():
    i = np.array([1, 2], np.int64)
    ok = (i, None, i, i, None, i, None, 0, 1)
    assert list(_core.asof_join(*ok)) == [0, 1]
    with pytest.raises(InputError, match="entity_ts must have dtype int64, got float64"):
        _core.asof_join(i, None, i.astype(float), i, None, i, None, 0, 1)
    with pytest.raises(InputError, match="feat_ts has 1 rows but feat_key has 2"):
        _core.asof_join(i, None, i, i, None, i[:1], None, 0, 1)
    with pytest.raises(InputError, match="entity_key_valid has 3 rows"):
        _core.asof_join(i, np.ones(3, np.uint8), i, i, None, i, None, 0, 1)
    with pytest.raises(InputError, match="feat_key_valid must have dtype uint8"):
        _core.asof_join(i, None, i, i, i, i, None, 0, 1)
    with pytest.raises(InputError, match="one-dimensional"):
        _core.asof_join(i.reshape(1, 2), None, i, i, None, i, None, 0, 1)
    with pytest.raises(InputError, match="must be a numpy array"):
        _core.asof_join([1, 2], None, i, i, None, i, None, 0, 1)
    with pytest.raises(InputError, match="entity_ts is required"):
        _core.asof_join(i, None, None, i, None, i, None, 0, 1)
    with pytest.raises(InputError, match="threads"):
        _core.asof_join(*ok[:-1], 0)
    # strided views and bool validity are accepted
    big = np.array([1, 9, 2, 9], np.int64)[::2]
    assert list(_core.asof_join(big, np.array([True, False]), big, i, None, i, None, 0, 2)) == [0, -1]
