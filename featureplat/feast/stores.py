"""Readers of Feast's online stores (SQLite, Redis): one round trip per request, every
view of the request at once (SQLite: one statement per ``keys_per_statement`` keys, within
SQLite's limit on bound variables), values as Feast's serialized ``Value`` bytes (decoded
by the core). Connections and timeouts are set up once, when the reader is made. Errors
are :class:`StoreUnavailable`, whose message names the store and whose ``public`` text
does not."""
from __future__ import annotations

import datetime as _dt
import os
import sqlite3
import threading
from dataclasses import dataclass
from typing import Any

from featureplat import _core
from featureplat.errors import InputError

__all__ = ["KeyGroup", "RedisReader", "SqliteReader", "StoreUnavailable", "StoreView"]

_STATEMENT_CACHE = 256


class StoreUnavailable(InputError):
    """The online store could not be reached (or did not answer in time).

    The message names the store (its file or address) for the operator; ``public`` says
    the same without the file, the address or anything from the connection settings, for
    answers that leave the process (the HTTP server's 503)."""

    def __init__(self, message: str, public: str | None = None):
        super().__init__(message)
        self.public = public if public is not None else "the online store is unavailable"


@dataclass
class StoreView:
    """One feature view as the online store holds it for a plan."""

    name: str
    join_keys: list[str]  # Feast join keys, in the view's order
    entity_columns: list[str]  # request-row names of those keys (projection join_key_map)
    ttl_us: int
    features: list[str]
    slots: list[tuple[int, str, str]]  # (plan input index, feature, dtype)
    group: int = 0  # index into the KeyGroup list: views sharing one entity key
    base: int = 0  # first of this view's slots in the per-row slot list


@dataclass
class KeyGroup:
    """Views read with one entity key."""

    join_keys: tuple[str, ...]
    entity_columns: tuple[str, ...]
    value_types: tuple[str, ...]  # Feast value type per join key: INT64, INT32, STRING, ...
    views: list[int]


class SqliteReader:
    """Reads Feast's SQLite online store: one statement over every view's table (more for
    more keys than one statement may bind)."""

    keys_per_statement = 30_000  # at most this many keys in one statement (and SQLite's own limit)

    def __init__(self, store, views: list[StoreView], fvs: dict):
        from feast.infra.online_stores.sqlite import _table_id

        cfg = store.config
        path = cfg.online_store.path
        if not os.path.isabs(path):
            path = os.path.join(str(store.repo_path), path)
        if not os.path.isfile(path):
            raise StoreUnavailable(f"the SQLite online store {path} does not exist; run `feast materialize` first",
                                   "the SQLite online store does not exist; run `feast materialize` first")
        self._path = path
        versioning = bool(getattr(cfg.registry, "enable_online_feature_view_versioning", False))
        self._tables = ['"' + _table_id(cfg.project, fvs[v.name], versioning).replace('"', '""') + '"'
                        for v in views]
        self._view_group = [v.group for v in views]
        self._local = threading.local()
        self._sql: dict[tuple[tuple[int, int], ...], str] = {}

    def _conn(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(f"file:{self._path}?mode=ro", uri=True, timeout=5.0,
                                       check_same_thread=False)
            except sqlite3.Error as e:
                raise StoreUnavailable(f"cannot open the SQLite online store {self._path}: {e}",
                                       f"cannot open the SQLite online store: {_sqlite_reason(e, self._path)}") from None
            self._local.conn = conn
        return conn

    def _keys_per_statement(self, conn) -> int:
        # SQLite refuses a statement with more bound variables than its compiled limit
        # (999 before 3.32, 32766 after, other values in distributions' builds).
        limit = self.keys_per_statement
        getlimit = getattr(conn, "getlimit", None)  # Python 3.11+
        if getlimit is not None:
            return min(limit, getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
        return min(limit, 999)

    def read(self, keys_per_group: list[list[bytes]]) -> list[dict[bytes, tuple[int, dict[str, bytes]]]]:
        """Per view: serialized entity key -> (event time us, {feature: value bytes}), for
        the distinct keys of each entity group. One statement (``UNION ALL`` over the
        views' tables) while the keys fit SQLite's limit on bound variables, else one per
        chunk of keys."""
        keys_per_view = [keys_per_group[g] for g in self._view_group]
        out: list[dict] = [{} for _ in keys_per_view]
        conn = self._conn()
        step = self._keys_per_statement(conn)
        statement: list[tuple[int, list[bytes]]] = []  # (view, keys) parts of one statement
        size = 0
        for vi, keys in enumerate(keys_per_view):
            for start in range(0, len(keys), step):
                part = keys[start:start + step]
                if size + len(part) > step:
                    self._run(conn, statement, out)
                    statement, size = [], 0
                statement.append((vi, part))
                size += len(part)
        if statement:
            self._run(conn, statement, out)
        return out

    def _run(self, conn, parts: list[tuple[int, list[bytes]]], out: list[dict]) -> None:
        shape = tuple((vi, len(keys)) for vi, keys in parts)
        sql = self._sql.get(shape)
        if sql is None:
            sql = " UNION ALL ".join(f"SELECT {vi}, entity_key, feature_name, value, event_ts FROM {self._tables[vi]} "
                                     f"WHERE entity_key IN ({','.join('?' * n)})" for vi, n in shape)
            if len(self._sql) >= _STATEMENT_CACHE:  # request sizes vary without bound; the cache must not
                self._sql.clear()
            self._sql[shape] = sql
        params = [k for _, keys in parts for k in keys]
        try:
            rows = conn.execute(sql, params).fetchall()
        except sqlite3.Error as e:
            raise StoreUnavailable(f"reading the SQLite online store {self._path} failed: {e}",
                                   f"reading the SQLite online store failed: {_sqlite_reason(e, self._path)}") from None
        for vi, ek, feature, value, ts in rows:
            slot = out[vi].get(ek)
            if slot is None:
                out[vi][ek] = slot = [_ts_micros(ts), {}]
            slot[1][feature] = value


def _sqlite_reason(e: sqlite3.Error, path: str) -> str:
    # SQLite's own messages do not name the file, but keep it out should one ever do.
    return str(e).replace(path, "<online store>")


def _ts_micros(ts: Any) -> int:
    # The core's conversions: seconds scaled as Arrow's, datetimes as row inputs'.
    if isinstance(ts, int):
        return _core.timestamp_to_micros(ts, "s")
    if isinstance(ts, str):  # older stores wrote ISO text
        d = _dt.datetime.fromisoformat(ts)
        d = d if d.tzinfo else d.replace(tzinfo=_dt.timezone.utc)  # Feast wrote UTC without an offset
        return _core.datetime_to_micros(d, "online store event time")
    raise InputError(f"unreadable event time {ts!r} in the online store")


class RedisReader:
    """Reads Feast's Redis online store: one pipeline, one HMGET per entity key (every
    view of that entity lives in one hash)."""

    def __init__(self, store, views: list[StoreView], groups: list[KeyGroup], fvs: dict, timeout: float):
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
        """As :meth:`SqliteReader.read`."""
        import redis

        pipe = self._client.pipeline(transaction=False)
        for gi, keys in enumerate(keys_per_group):
            for k in keys:
                pipe.hmget(k + self._project, self._fields[gi])
        try:
            replies = pipe.execute()
        except redis.exceptions.TimeoutError as e:
            raise StoreUnavailable(f"the Redis online store at {self._where} is unreachable: {e}",
                                   "the Redis online store is unreachable (no answer within the timeout)") from None
        except redis.exceptions.ConnectionError as e:
            raise StoreUnavailable(f"the Redis online store at {self._where} is unreachable: {e}",
                                   "the Redis online store is unreachable (connection failed)") from None
        except redis.exceptions.RedisError as e:
            # Redis's reply text (e.g. NOAUTH, LOADING) names no address or setting.
            raise StoreUnavailable(f"the Redis online store at {self._where} failed: {e}",
                                   f"the Redis online store failed: {type(e).__name__}") from None
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
                    us = _core.timestamp_to_micros(t.seconds, "s") + t.nanos // 1000
                    out[vi][k] = [us, {f: vals[p] for f, p in feats}]
        return out
