"""Online serving: raw features from Feast's online store, through the fitted plan, under
the point-in-time join's time semantics.

:class:`OnlineFeatures` resolves everything once, at construction: the plan's feature
views and their join keys, value types and TTLs, the online store's tables (SQLite) or
hash fields (Redis), the key serialisation. A request is then one store read (one SQL
statement over every view, or one Redis pipeline) plus the core's row path.

Time semantics, the same as :func:`featureplat.pit.point_in_time_join` offline: a
view's stored value is used when ``request time - ttl <= event time <= request time``;
otherwise (expired, or newer than the request time) the view's features are null, as
they are for an entity the store does not have. Feast's own online read returns expired
values as present (Feast issue #6821); this does not.
"""
from __future__ import annotations

import datetime as _dt
import math
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from featureplat import _core
from featureplat.errors import InputError, PlanError
from featureplat.plan import FittedPlan, Plan
from featureplat.repo import feature_store
from featureplat.training import resolve_plan, resolve_views

__all__ = ["OnlineFeatures", "StoreUnavailable"]

_INT64_MIN = -(2**63)
_KEY_CACHE_LIMIT = 200_000


class StoreUnavailable(InputError):
    """The online store could not be reached (or did not answer in time)."""


@dataclass
class _View:
    name: str
    join_keys: list[str]  # Feast join keys, in the view's order
    entity_columns: list[str]  # request-row names of those keys (projection join_key_map)
    ttl_us: int
    features: list[str]
    slots: list[tuple[int, str, str]]  # (plan input index, feature, dtype)
    group: int = 0  # index into _Group list: views sharing one entity key
    base: int = 0  # first of this view's slots in the per-row slot list


@dataclass
class _Group:
    join_keys: tuple[str, ...]
    entity_columns: tuple[str, ...]
    value_types: tuple[str, ...]  # Feast value type per join key: INT64, INT32, STRING, ...
    views: list[int]


def _utc_micros(at: Any) -> int:
    if at is None:
        return time.time_ns() // 1000
    if isinstance(at, _dt.datetime):
        if at.tzinfo is None:
            raise InputError("request time 'at' must be time-zone aware (e.g. UTC)")
        delta = at - _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if isinstance(at, (int, np.integer)) and not isinstance(at, bool):
        return int(at)
    raise InputError(f"request time 'at' must be a datetime or int microseconds, got {type(at).__name__}")


class _SqliteReader:
    """Reads Feast's SQLite online store: one statement over every view's table."""

    remote = False

    def __init__(self, store, views: list[_View], fvs: dict):
        from feast.infra.online_stores.sqlite import _table_id

        cfg = store.config
        path = cfg.online_store.path
        if not os.path.isabs(path):
            path = os.path.join(str(store.repo_path), path)
        if not os.path.isfile(path):
            raise StoreUnavailable(f"the SQLite online store {path} does not exist; run `feast materialize` first")
        self._path = path
        versioning = bool(getattr(cfg.registry, "enable_online_feature_view_versioning", False))
        self._tables = ['"' + _table_id(cfg.project, fvs[v.name], versioning).replace('"', '""') + '"'
                        for v in views]
        self._view_group = [v.group for v in views]
        self._local = threading.local()
        self._sql: dict[tuple[int, ...], str] = {}

    def _conn(self):
        import sqlite3

        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(f"file:{self._path}?mode=ro", uri=True, timeout=5.0,
                                       check_same_thread=False)
            except sqlite3.Error as e:
                raise StoreUnavailable(f"cannot open the SQLite online store {self._path}: {e}") from None
            self._local.conn = conn
        return conn

    def read(self, keys_per_group: list[list[bytes]]) -> list[dict[bytes, tuple[int, dict[str, bytes]]]]:
        """Per view: serialized entity key -> (event time us, {feature: value bytes}), for
        the distinct keys of each entity group."""
        import sqlite3

        keys_per_view = [keys_per_group[g] for g in self._view_group]
        shape = tuple(len(k) for k in keys_per_view)
        sql = self._sql.get(shape)
        if sql is None:
            parts = [f"SELECT {i}, entity_key, feature_name, value, event_ts FROM {t} "
                     f"WHERE entity_key IN ({','.join('?' * n)})"
                     for i, (t, n) in enumerate(zip(self._tables, shape)) if n]
            sql = " UNION ALL ".join(parts)
            self._sql[shape] = sql
        params = [k for keys in keys_per_view for k in keys]
        try:
            rows = self._conn().execute(sql, params).fetchall()
        except sqlite3.Error as e:
            raise StoreUnavailable(f"reading the SQLite online store {self._path} failed: {e}") from None
        out: list[dict] = [{} for _ in keys_per_view]
        for vi, ek, feature, value, ts in rows:
            slot = out[vi].get(ek)
            if slot is None:
                out[vi][ek] = slot = [_ts_micros(ts), {}]
            slot[1][feature] = value
        return out


def _ts_micros(ts: Any) -> int:
    if isinstance(ts, int):
        return ts * 1_000_000
    if isinstance(ts, str):  # older stores wrote ISO text
        d = _dt.datetime.fromisoformat(ts)
        d = d if d.tzinfo else d.replace(tzinfo=_dt.timezone.utc)
        return _utc_micros(d)
    raise InputError(f"unreadable event time {ts!r} in the online store")


class _RedisReader:
    """Reads Feast's Redis online store: one pipeline, one HMGET per entity key (every
    view of that entity lives in one hash)."""

    remote = True

    def __init__(self, store, views: list[_View], groups: list[_Group], fvs: dict, timeout: float):
        import redis
        from feast.infra.online_stores.helpers import _mmh3
        from feast.infra.online_stores.redis import RedisOnlineStore, RedisType, _versioned_fv_name

        cfg = store.config
        oc = cfg.online_store
        if oc.redis_type != RedisType.redis:
            raise InputError(f"online store redis_type {oc.redis_type} is not supported (plain redis only)")
        startup, params = RedisOnlineStore._parse_connection_string(oc.connection_string)
        host, port = startup[0]["host"], int(startup[0]["port"])
        self._where = f"redis {host}:{port}"
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # No retries: a request fails within ``timeout`` instead of hanging on a dead store.
        kwargs = {"socket_timeout": timeout, "socket_connect_timeout": timeout, **params}
        self._client = redis.Redis(host=host, port=port, retry=Retry(NoBackoff(), 0), **kwargs)
        self._project = cfg.project.encode()
        # Per group: the hash fields to HMGET and where each lands.
        self._fields: list[list[bytes]] = []
        self._layout: list[list[tuple[int, int, list[tuple[str, int]]]]] = []
        for g in groups:
            fields: list[bytes] = []
            layout = []
            for vi in g.views:
                v = views[vi]
                fv_name = _versioned_fv_name(fvs[v.name], cfg)
                ts_pos = len(fields)
                fields.append(f"_ts:{fv_name}".encode())
                feats = []
                for f in v.features:
                    feats.append((f, len(fields)))
                    fields.append(_mmh3(f"{fv_name}:{f}"))
                layout.append((vi, ts_pos, feats))
            self._fields.append(fields)
            self._layout.append(layout)
        from google.protobuf.timestamp_pb2 import Timestamp

        self._ts = Timestamp.FromString
        self._n_views = len(views)

    def read(self, keys_per_group: list[list[bytes]]) -> list[dict]:
        """As :meth:`_SqliteReader.read`."""
        import redis

        pipe = self._client.pipeline(transaction=False)
        for gi, keys in enumerate(keys_per_group):
            for k in keys:
                pipe.hmget(k + self._project, self._fields[gi])
        try:
            replies = pipe.execute()
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as e:
            raise StoreUnavailable(f"the Redis online store at {self._where} is unreachable: {e}") from None
        except redis.exceptions.RedisError as e:
            raise StoreUnavailable(f"the Redis online store at {self._where} failed: {e}") from None
        out: list[dict] = [{} for _ in range(self._n_views)]
        r = 0
        for gi, keys in enumerate(keys_per_group):
            for k in keys:
                vals = replies[r]
                r += 1
                for vi, ts_pos, feats in self._layout[gi]:
                    ts_blob = vals[ts_pos]
                    if not ts_blob:
                        continue
                    t = self._ts(ts_blob)
                    out[vi][k] = [t.seconds * 1_000_000 + t.nanos // 1000, {f: vals[p] for f, p in feats}]
        return out


class OnlineFeatures:
    """Model-ready features for entities, computed from Feast's online store by a fitted plan.

    >>> # serving = OnlineFeatures("feature_repo", fitted_plan)
    >>> # serving.get({"customer_id": 1001, "region": "PT-LIS"},
    >>> #             {"offer_discount_pct": 10.0, "channel": "app"})   # -> float64 vector

    ``store``: a ``feast.FeatureStore`` or repo path (SQLite or Redis online store).
    ``plan``: a FittedPlan, a saved plan's path, or a plan without fitted transforms.
    ``timestamp_input``: a timestamp request input of this name, when a request does not
    give it, is the request time (training sets get it from the entity rows' timestamp).
    ``timeout``: seconds to wait for a remote store before :class:`StoreUnavailable`.
    """

    def __init__(self, store: Any, plan: Any, *, timestamp_input: str = "event_timestamp", timeout: float = 2.0):
        self.store = feature_store(store)
        if isinstance(plan, (str, os.PathLike)) and os.path.isfile(plan):
            from featureplat.plan import load_plan

            plan = load_plan(plan)
        plan = resolve_plan(self.store, plan)
        if plan.needs_fit:
            raise PlanError(f"plan {plan.name!r} has unfitted transforms; serve the FittedPlan from training")
        self.plan: Plan = plan if isinstance(plan, FittedPlan) else FittedPlan(plan.to_dict())
        self._program = self.plan._require_program()
        inputs = self.plan.inputs
        self._names = [i["name"] for i in inputs]
        self.feature_names = self.plan.features
        resolved = resolve_views(self.store, self.plan)
        fvs = {v.name: v.feature_view for v in resolved}
        index = {n: k for k, n in enumerate(self._names)}
        views: list[_View] = []
        for rv in resolved:
            slots = []
            for i in inputs:
                if i["source"].startswith("feast:"):
                    view, feature = i["source"][len("feast:"):].split(":")
                    if view == rv.name:
                        slots.append((index[i["name"]], feature, i["dtype"]))
            views.append(_View(rv.name, rv.join_keys, rv.entity_keys, rv.ttl_us, list(rv.features), slots))
        groups: list[_Group] = []
        for vi, v in enumerate(views):
            fv = fvs[v.name]
            types = {c.name: _value_type_name(c.dtype) for c in fv.entity_columns}
            key = (tuple(v.join_keys), tuple(v.entity_columns))
            for gi, g in enumerate(groups):
                if (g.join_keys, g.entity_columns) == key:
                    g.views.append(vi)
                    v.group = gi
                    break
            else:
                v.group = len(groups)
                groups.append(_Group(tuple(v.join_keys), tuple(v.entity_columns),
                                     tuple(types[k] for k in v.join_keys), [vi]))
        self._views, self._groups = views, groups
        self._requests = [(index[i["name"]], i["name"], i["dtype"]) for i in inputs if i["source"] == "request"]
        self._ts_input = None
        for k, name, dtype in self._requests:
            if name == timestamp_input and dtype == "timestamp":
                self._ts_input = k
        self.entity_columns = sorted({c for g in groups for c in g.entity_columns})
        self.request_fields = [name for _, name, _ in self._requests]
        kind = type(self.store.config.online_store).__name__
        # Every Feast-bound input, view by view: decoded in one core call per request.
        kind_code = {"int64": "i", "float64": "f", "float32": "f", "string": "s", "bool": "b", "timestamp": "t"}
        self._slot_index: list[int] = []
        kinds, slot_names = [], []
        for v in views:
            v.base = len(self._slot_index)
            for idx, feature, dtype in v.slots:
                self._slot_index.append(idx)
                kinds.append(kind_code[dtype])
                slot_names.append(f"{v.name}:{feature}")
        self._kinds, self._slot_names = "".join(kinds), slot_names
        if "Sqlite" in kind:
            self._reader: Any = _SqliteReader(self.store, views, fvs)
        elif "Redis" in kind:
            self._reader = _RedisReader(self.store, views, groups, fvs, timeout)
        else:
            raise InputError(f"online store {kind} is not supported (SQLite or Redis)")
        self._version = self.store.config.entity_key_serialization_version
        self._key_cache: dict[tuple, bytes] = {}
        from feast.infra.key_encoding_utils import serialize_entity_key
        from feast.protos.feast.types.EntityKey_pb2 import EntityKey
        from feast.protos.feast.types.Value_pb2 import Value

        self._serialize, self._EntityKey, self._Value = serialize_entity_key, EntityKey, Value

    @classmethod
    def from_model(cls, store: Any, model_uri: str, *, expected_plan_hash: str | None = None, **kwargs):
        """The serving object for a registered model (``models:/name@alias`` or
        ``models:/name/3``): its plan is loaded from the registry and verified first
        (:func:`featureplat.mlflow.load_model_plan`), or serving is refused."""
        from featureplat.mlflow import load_model_plan

        record = load_model_plan(model_uri, expected_plan_hash=expected_plan_hash)
        served = cls(store, record.plan, **kwargs)
        served.model = record
        return served

    @property
    def remote_store(self) -> bool:
        """Whether reads cross the network (the HTTP server runs them off its event loop)."""
        return self._reader.remote

    # ---- keys -------------------------------------------------------------------------
    def _entity_key(self, gi: int, row: Mapping[str, Any], r: int) -> bytes | None:
        g = self._groups[gi]
        vals = []
        for col, vtype in zip(g.entity_columns, g.value_types):
            if col not in row:
                raise InputError(f"entity row {r}: missing join key {col!r} (needed by feature view(s) "
                                 f"{', '.join(self._views[v].name for v in g.views)})")
            vals.append(_check_key(row[col], vtype, col, r))
        if any(v is None for v in vals):
            return None  # a null key matches nothing, as offline
        ck = (gi, *vals)
        b = self._key_cache.get(ck)
        if b is None:
            proto = self._EntityKey(join_keys=list(g.join_keys),
                                    entity_values=[_key_value(self._Value, v, t) for v, t in zip(vals, g.value_types)])
            b = self._serialize(proto, entity_key_serialization_version=self._version)
            if len(self._key_cache) >= _KEY_CACHE_LIMIT:
                self._key_cache.clear()
            self._key_cache[ck] = b
        return b

    # ---- the request path ---------------------------------------------------------------
    def raw(self, entity_rows: Any, request_data: Any = None, *, at: Any = None) -> list[dict]:
        """The plan's inputs per entity row (what :meth:`get` runs the plan on)."""
        return [dict(zip(self._names, r)) for r in self._rows(entity_rows, request_data, at)[0]]

    def _rows(self, entity_rows: Any, request_data: Any, at: Any) -> tuple[list[list], bool]:
        single = isinstance(entity_rows, Mapping)
        rows = [entity_rows] if single else entity_rows
        if not isinstance(rows, Sequence) or isinstance(rows, (str, bytes)):
            raise InputError("entity_rows must be a dict or a list of dicts")
        n = len(rows)
        if request_data is None:
            reqs: Sequence[Any] = [None] * n
        elif isinstance(request_data, Mapping):
            reqs = [request_data] * n
        elif isinstance(request_data, Sequence) and len(request_data) == n:
            reqs = request_data
        else:
            raise InputError("request_data must be a dict (for every row) or a list with one dict per entity row")
        at_us = _utc_micros(at)
        keys_per_group: list[list[bytes]] = [[] for _ in self._groups]
        row_keys: list[list[bytes | None]] = []
        for r, row in enumerate(rows):
            if not isinstance(row, Mapping):
                raise InputError(f"entity row {r} must be a dict, got {type(row).__name__}")
            ks = []
            for gi in range(len(self._groups)):
                k = self._entity_key(gi, row, r)
                ks.append(k)
                if k is not None:
                    keys_per_group[gi].append(k)
            row_keys.append(ks)
        found = self._reader.read([list(dict.fromkeys(k)) for k in keys_per_group])
        n_slots = len(self._slot_index)
        blobs: list = [None] * (n * n_slots)
        for r in range(n):
            off = r * n_slots
            for vi, v in enumerate(self._views):
                k = row_keys[r][v.group]
                hit = found[vi].get(k) if k is not None else None
                if hit is None:
                    continue
                ts, values = hit
                if ts > at_us or (v.ttl_us and ts < at_us - v.ttl_us):
                    continue  # not yet visible, or expired: as the point-in-time join
                for j, (_, feature, _) in enumerate(v.slots):
                    blobs[off + v.base + j] = values.get(feature)
        decoded = _core.feast_values(blobs, self._kinds, self._slot_names) if n_slots else []
        out = []
        slot_index = self._slot_index
        for r in range(n):
            vec: list[Any] = [None] * len(self._names)
            off = r * n_slots
            for j, idx in enumerate(slot_index):
                vec[idx] = decoded[off + j]
            row, req = rows[r], reqs[r]
            for idx, name, _ in self._requests:
                if req is not None and name in req:
                    vec[idx] = req[name]
                elif name in row:
                    vec[idx] = row[name]
                elif idx == self._ts_input:
                    vec[idx] = at_us
                else:
                    raise InputError(f"entity row {r}: missing request field {name!r}")
            out.append(vec)
        return out, single

    def get(self, entity_rows: Any, request_data: Any = None, *, at: Any = None, to: str = "numpy"):
        """Features for one entity (a dict: returns a vector / dict) or many (a list of
        dicts: returns a rows x features matrix / list of dicts).

        ``entity_rows`` hold the join keys (and may hold request fields);
        ``request_data``: request fields, one dict for all rows or one per row;
        ``at``: the request time (aware datetime or int microseconds; default now).
        ``to``: ``"numpy"`` (float64, null -> NaN) or ``"dict"``.
        """
        if to not in ("numpy", "dict"):
            raise InputError(f"to must be 'numpy' or 'dict', got {to!r}")
        vecs, single = self._rows(entity_rows, request_data, at)
        prog = self._program
        if to == "numpy":
            return prog.row_vector(vecs[0]) if single else prog.rows_matrix(vecs)
        dicts = [prog.row_dict(v) for v in vecs]
        return dicts[0] if single else dicts

    def close(self) -> None:
        """Releases store connections."""
        client = getattr(self._reader, "_client", None)
        if client is not None:
            client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _value_type_name(dtype: Any) -> str:
    return dtype.to_value_type().name


def _check_key(v: Any, vtype: str, col: str, r: int):
    if v is None:
        return None
    if vtype in ("INT64", "INT32"):
        if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
            return int(v)
        raise InputError(f"entity row {r}: join key {col!r} must be an integer ({vtype}), "
                         f"got {type(v).__name__} {v!r}")
    if vtype == "STRING":
        if isinstance(v, str):
            return v
        raise InputError(f"entity row {r}: join key {col!r} must be a string, got {type(v).__name__} {v!r}")
    raise InputError(f"entity row {r}: join key {col!r} has Feast type {vtype}, which featureplat cannot serve")


def _key_value(Value, v, vtype: str):  # noqa: N803 - the protobuf class
    if vtype == "INT64":
        return Value(int64_val=v)
    if vtype == "INT32":
        return Value(int32_val=v)
    return Value(string_val=v)
