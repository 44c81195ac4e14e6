"""Online serving: raw features from Feast's online store, through the fitted plan, under
the point-in-time join's time semantics.

:class:`OnlineFeatures` resolves everything once, at construction: the plan's feature
views and their join keys, value types and TTLs, the online store's tables (SQLite) or
hash fields (Redis), the key serialisation. A request is then one store read (one SQL
statement over every view, or one Redis pipeline) plus the core's row path.

Time semantics, the same as :func:`featureplat.feast.point_in_time.point_in_time_join`
offline (one rule in the core, ``visible_at`` in ``pit_join.h``, used by both): a view's
stored value is used when ``request time - ttl <= event time <= request time``;
otherwise (expired, or newer than the request time) the view's features are null, as
they are for an entity the store does not have. Feast's own online read returns expired
values as present (Feast issue #6821); this does not.

Every lookup of an entity in a view has an outcome (:data:`OUTCOMES`), so that an emptied
or stale store is visible and not only a row of imputed features: ``found`` (a value
visible at the request time), ``expired`` (a stored value older than the view's TTL),
``future`` (a stored value newer than the request time) or ``missing`` (the store has no
value for the entity, or a join key is null). :meth:`OnlineFeatures.lookup` returns them
with the features; ``get(..., report=True)`` gives them per row and view.
"""
from __future__ import annotations

import datetime as _dt
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from featureplat import _core
from featureplat.errors import InputError, PlanError
from featureplat.feast.repo import feature_store
from featureplat.feast.stores import KeyGroup, RedisReader, SqliteReader, StoreUnavailable, StoreView
from featureplat.feast.views import resolve_plan, resolve_views
from featureplat.plan import FittedPlan, Plan, load_plan
from featureplat.plan.dtypes import DTYPES
from featureplat.plan.sources import feast_ref

__all__ = ["OUTCOMES", "Lookup", "OnlineFeatures", "StoreUnavailable"]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_KEY_CACHE_LIMIT = 200_000
_CORE_ROWS = 1024  # rows per core call: a large request lets other threads in between calls

# A lookup's outcome, by code (the bytes of Lookup.outcomes).
OUTCOMES = ("missing", "found", "expired", "future")
_MISSING, _FOUND, _EXPIRED, _FUTURE = range(4)


def _utc_micros(at: Any) -> int:
    if at is None:
        return time.time_ns() // 1000
    if isinstance(at, _dt.datetime):
        return _core.datetime_to_micros(at, "request time 'at'")  # the row inputs' conversion; naive refused
    if isinstance(at, (int, np.integer)) and not isinstance(at, (bool, np.bool_)):
        if not _INT64_MIN <= int(at) <= _INT64_MAX:
            raise InputError(f"request time 'at' must be int64 microseconds since the epoch, got {int(at)}")
        return int(at)
    raise InputError(f"request time 'at' must be a datetime or int microseconds, got {type(at).__name__}")


@dataclass
class Lookup:
    """The result of :meth:`OnlineFeatures.lookup`: the features, and how each view's
    lookup went for each entity row."""

    features: Any  # what get() returns for the same arguments
    views: list[str]  # the plan's feature views, in outcome order
    outcomes: bytes  # rows x views codes, row-major: OUTCOMES[code]
    rows: int
    single: bool  # one entity (a dict) was asked for

    def report(self) -> dict[str, str] | list[dict[str, str]]:
        """Per entity row, view name -> ``found`` / ``expired`` / ``future`` / ``missing``
        (one dict for a single entity)."""
        nv, codes = len(self.views), self.outcomes
        rows = [{v: OUTCOMES[codes[r * nv + j]] for j, v in enumerate(self.views)} for r in range(self.rows)]
        return rows[0] if self.single else rows

    def counts(self) -> dict[tuple[str, str], int]:
        """(view, outcome) -> number of entity rows with it (0 included)."""
        nv = len(self.views)
        return {(v, name): self.outcomes[j::nv].count(code)
                for j, v in enumerate(self.views) for code, name in enumerate(OUTCOMES)}


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
        views: list[StoreView] = []
        for rv in resolved:
            slots = []
            for i in inputs:
                ref = feast_ref(i["source"])
                if ref is not None:
                    view, feature = ref
                    if view == rv.name:
                        slots.append((index[i["name"]], feature, i["dtype"]))
            views.append(StoreView(rv.name, rv.join_keys, rv.entity_keys, rv.ttl_us, list(rv.features), slots))
        groups: list[KeyGroup] = []
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
                groups.append(KeyGroup(tuple(v.join_keys), tuple(v.entity_columns),
                                     tuple(types[k] for k in v.join_keys), [vi]))
        self._views, self._groups = views, groups
        self._requests = [(index[i["name"]], i["name"], i["dtype"]) for i in inputs if feast_ref(i["source"]) is None]
        self._ts_input = None
        for k, name, dtype in self._requests:
            if name == timestamp_input and dtype == "timestamp":
                self._ts_input = k
        self.entity_columns = sorted({c for g in groups for c in g.entity_columns})
        self.request_fields = [name for _, name, _ in self._requests]
        self.request_dtypes = {name: dtype for _, name, dtype in self._requests}  # field -> declared dtype
        kind = type(self.store.config.online_store).__name__
        # Every Feast-bound input, view by view: decoded in one core call per request.
        self._slot_index: list[int] = []
        kinds, slot_names = [], []
        for v in views:
            v.base = len(self._slot_index)
            for idx, feature, dtype in v.slots:
                self._slot_index.append(idx)
                kinds.append(DTYPES[dtype].value_kind)
                slot_names.append(f"{v.name}:{feature}")
        self._kinds, self._slot_names = "".join(kinds), slot_names
        if "Sqlite" in kind:
            self._reader: Any = SqliteReader(self.store, views, fvs)
        elif "Redis" in kind:
            self._reader = RedisReader(self.store, views, groups, fvs, timeout)
        else:
            raise InputError(f"online store {kind} is not supported (SQLite or Redis)")
        self._version = self.store.config.entity_key_serialization_version
        self._key_cache: dict[tuple, bytes] = {}
        from feast.infra.key_encoding_utils import serialize_entity_key
        from feast.protos.feast.types.EntityKey_pb2 import EntityKey
        from feast.protos.feast.types.Value_pb2 import Value

        self._serialize, self._EntityKey, self._Value = serialize_entity_key, EntityKey, Value

    @property
    def view_names(self) -> list[str]:
        """The plan's feature views, in the order of :class:`Lookup` outcomes."""
        return [v.name for v in self._views]

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

    def _rows(self, entity_rows: Any, request_data: Any, at: Any) -> tuple[list[list], bool, bytes]:
        """(plan input rows, a single entity?, outcome codes per row and view)."""
        single = isinstance(entity_rows, Mapping)
        rows = [entity_rows] if single else entity_rows
        if not isinstance(rows, Sequence) or isinstance(rows, (str, bytes)):
            raise InputError("entity_rows must be a dict or a list of dicts")
        n = len(rows)
        if request_data is None:
            reqs: Sequence[Any] = [None] * n
        elif isinstance(request_data, Mapping):
            reqs = [request_data] * n
        elif isinstance(request_data, Sequence) and not isinstance(request_data, (str, bytes)) \
                and len(request_data) == n:
            reqs = request_data
            for r, req in enumerate(reqs):
                if req is not None and not isinstance(req, Mapping):
                    raise InputError(f"request_data[{r}] must be a dict of request fields, got {type(req).__name__}")
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
        n_slots, n_views = len(self._slot_index), len(self._views)
        blobs: list = [None] * (n * n_slots)
        outcomes = bytearray(n * n_views)  # _MISSING unless the store had a value
        hits: list[tuple[int, int, StoreView, dict]] = []  # (outcome position, first slot, view, values)
        event_times: list[int] = []
        ttls: list[int] = []
        for r in range(n):
            off = r * n_slots
            for vi, v in enumerate(self._views):
                k = row_keys[r][v.group]
                hit = found[vi].get(k) if k is not None else None
                if hit is not None:
                    hits.append((r * n_views + vi, off + v.base, v, hit[1]))
                    event_times.append(hit[0])
                    ttls.append(v.ttl_us)
        # Not yet visible or expired: null, by the point-in-time join's own TTL rule (the core's).
        visible = _core.visible_mask(event_times, ttls, at_us)
        hidden: list[int] = []
        for h, ((pos, base, v, values), shown) in enumerate(zip(hits, visible)):
            if shown:
                outcomes[pos] = _FOUND
                for j, (_, feature, _) in enumerate(v.slots):
                    blobs[base + j] = values.get(feature)
            else:
                hidden.append(h)
        if hidden:
            # The same rule without a TTL tells the two kinds of hidden value apart: visible
            # then means older than the TTL allows, hidden still means newer than `at`.
            older = _core.visible_mask([event_times[h] for h in hidden], [0] * len(hidden), at_us)
            for h, old in zip(hidden, older):
                outcomes[hits[h][0]] = _EXPIRED if old else _FUTURE
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
        return out, single, bytes(outcomes)

    def lookup(self, entity_rows: Any, request_data: Any = None, *, at: Any = None, to: str = "numpy") -> Lookup:
        """:meth:`get`'s features together with each view's outcome per entity row
        (:class:`Lookup`; ``lookup(...).report()`` is what ``get(..., report=True)`` adds)."""
        if to not in ("numpy", "dict"):
            raise InputError(f"to must be 'numpy' or 'dict', got {to!r}")
        vecs, single, outcomes = self._rows(entity_rows, request_data, at)
        prog = self._program
        if to == "numpy":
            if single:
                features = prog.row_vector(vecs[0])
            elif len(vecs) <= _CORE_ROWS:
                features = prog.rows_matrix(vecs)
            else:  # the core holds the GIL for a call: bounded calls keep other threads answering
                features = np.concatenate([prog.rows_matrix(vecs[i:i + _CORE_ROWS])
                                           for i in range(0, len(vecs), _CORE_ROWS)])
        else:
            dicts = [prog.row_dict(v, index=r) for r, v in enumerate(vecs)]  # errors name the entity row
            features = dicts[0] if single else dicts
        return Lookup(features, self.view_names, outcomes, len(vecs), single)

    def get(self, entity_rows: Any, request_data: Any = None, *, at: Any = None, to: str = "numpy",
            report: bool = False):
        """Features for one entity (a dict: returns a vector / dict) or many (a list of
        dicts: returns a rows x features matrix / list of dicts).

        ``entity_rows`` hold the join keys (and may hold request fields);
        ``request_data``: request fields, one dict for all rows or one per row;
        ``at``: the request time (aware datetime or int microseconds; default now).
        ``to``: ``"numpy"`` (float64, null -> NaN) or ``"dict"``.
        ``report``: return ``(features, report)``, the report giving per entity row each
        view's outcome, ``found`` / ``expired`` / ``future`` / ``missing`` (one dict for a
        single entity)::

            >>> # vector, report = serving.get({"customer_id": 1001, "region": "PT-LIS"}, req, report=True)
            >>> # report -> {"customer_activity": "found", "region_stats": "expired", ...}
        """
        found = self.lookup(entity_rows, request_data, at=at, to=to)
        return (found.features, found.report()) if report else found.features

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
            lo, hi = (_INT64_MIN, _INT64_MAX) if vtype == "INT64" else (_INT32_MIN, _INT32_MAX)
            if not lo <= int(v) <= hi:
                raise InputError(f"entity row {r}: join key {col!r} ({vtype}) must be between {lo} and {hi}, "
                                 f"got {int(v)}")
            return int(v)
        raise InputError(f"entity row {r}: join key {col!r} must be an integer ({vtype}), "
                         f"got {type(v).__name__} {v!r}")
    if vtype == "STRING":
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                raise InputError(f"entity row {r}: join key {col!r} is not valid Unicode text "
                                 f"(a lone surrogate), got {v!r}") from None
            return v
        raise InputError(f"entity row {r}: join key {col!r} must be a string, got {type(v).__name__} {v!r}")
    raise InputError(f"entity row {r}: join key {col!r} has Feast type {vtype}, which featureplat cannot serve")


def _key_value(Value, v, vtype: str):
    if vtype == "INT64":
        return Value(int64_val=v)
    if vtype == "INT32":
        return Value(int32_val=v)
    return Value(string_val=v)
