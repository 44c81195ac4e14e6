"""Point-in-time (as-of) join of feature tables onto an entity table, with Feast's
offline-store semantics (``get_historical_features``), run by the compiled core.

For every entity row and every view, the chosen feature row is the one with the same join
key whose event timestamp is ``<=`` the entity timestamp and, when the view has a TTL,
``>= entity timestamp - ttl`` (inclusive); the latest event timestamp wins, then the latest
created timestamp, then the row appearing last in the view table. No such row: the view's
features are null. Null keys (and null timestamps) never match. Every entity row gives
exactly one output row, in order. Key columns are matched by value within one kind of
type (:func:`key_kind`: integers of any width match each other, as do string and
large_string); keys of different kinds (a bool against an int, a string against an int)
are refused, never cast into each other. The semantics and their Feast source are
documented in ``cpp/include/featureplat/pit_join.h``.

>>> import pyarrow as pa
>>> entity = pa.table({"driver": [1, 1, 2],
...                    "ts": pa.array([10, 30, 30], pa.timestamp("s", tz="UTC"))})
>>> stats = pa.table({"driver": [1, 1], "ts": pa.array([5, 20], pa.timestamp("s", tz="UTC")),
...                   "trips": [3, 4]})
>>> out = point_in_time_join(entity, ["driver"], "ts", [
...     {"table": stats, "keys": ["driver"], "timestamp": "ts", "created": None,
...      "ttl_us": 0, "features": ["trips"], "prefix": "stats"}])
>>> out.column("stats__trips").to_pylist()
[3, 4, None]
"""
from __future__ import annotations

import datetime as _dt
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from featureplat import _core
from featureplat.errors import InputError
from featureplat.plan.threads import thread_count

__all__ = ["key_kind", "point_in_time_join"]

_INT64_MIN = np.iinfo(np.int64).min
_INT64_MAX = np.iinfo(np.int64).max
_VIEW_FIELDS = {"table", "keys", "timestamp", "created", "ttl_us", "features", "prefix", "entity_keys"}


def _as_table(t: Any, what: str) -> pa.Table:
    if isinstance(t, pa.Table):
        return t
    if isinstance(t, pa.RecordBatch):
        return pa.Table.from_batches([t])
    raise InputError(f"{what} must be a pyarrow Table, got {type(t).__name__}")


def _column(table: pa.Table, name: Any, what: str) -> pa.ChunkedArray:
    if not isinstance(name, str):
        raise InputError(f"{what}: column names must be strings, got {name!r}")
    idx = table.schema.get_all_field_indices(name)
    if not idx:
        raise InputError(f"{what}: column '{name}' is missing")
    if len(idx) > 1:
        raise InputError(f"{what}: column '{name}' appears {len(idx)} times")
    return table.column(idx[0])


def _micros(col: pa.ChunkedArray, name: str, what: str, require_tz: bool) -> tuple[np.ndarray, np.ndarray]:
    """int64 microseconds since the epoch (UTC) and a validity mask (bool)."""
    t = col.type
    if not pa.types.is_timestamp(t):
        raise InputError(f"{what}: column '{name}' must be a timestamp, got {t}")
    if require_tz and not t.tz:
        raise InputError(f"{what}: timestamp column '{name}' has no time zone; give it one (e.g. UTC)")
    valid = np.asarray(pc.is_valid(col).to_numpy(zero_copy_only=False), dtype=bool)
    raw = np.asarray(pc.fill_null(col.cast(pa.int64()), 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    if t.unit == "us":
        return raw.copy(), valid
    if t.unit == "ns":
        return np.floor_divide(raw, 1000), valid  # floored, as the batch path does
    scale = 1_000_000 if t.unit == "s" else 1000
    limit = _INT64_MAX // scale
    present = raw[valid]
    if present.size and (present.max() > limit or present.min() < -limit):
        raise InputError(f"{what}: column '{name}' holds a timestamp outside the microsecond range")
    return raw * scale, valid


def _plain(arr: pa.Array) -> pa.Array:
    return arr.cast(arr.type.value_type) if pa.types.is_dictionary(arr.type) else arr


_KEY_KINDS: tuple[tuple[str, Any], ...] = (
    ("integer", pa.types.is_integer),
    ("string", lambda t: pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)),
    ("binary", lambda t: pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t)
     or pa.types.is_fixed_size_binary(t)),
    ("bool", pa.types.is_boolean),
    ("float", pa.types.is_floating),
    ("timestamp", pa.types.is_timestamp),
    ("date", pa.types.is_date),
)
# Within a kind, keys are compared in one type that holds every value of the kind.
_KEY_COMMON = {"integer": pa.int64(), "string": pa.large_string(), "binary": pa.large_binary(),
               "float": pa.float64()}


def key_kind(t: pa.DataType) -> str | None:
    """The kind of value a join key column of Arrow type ``t`` holds (``integer``,
    ``string``, ``binary``, ``bool``, ``float``, ``timestamp``, ``date``; ``null`` for an
    all-null column, which matches nothing), or None when ``t`` cannot be a join key.
    Dictionary columns have the kind of their values.

    >>> key_kind(pa.int32()), key_kind(pa.large_string()), key_kind(pa.dictionary(pa.int8(), pa.string()))
    ('integer', 'string', 'string')
    """
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_null(t):
        return "null"
    for kind, test in _KEY_KINDS:
        if test(t):
            return kind
    return None


def _cast_key(arr: pa.Array, to: pa.DataType, name: str, original: pa.DataType, what: str) -> pa.Array:
    if arr.type == to:
        return arr
    try:
        return arr.cast(to)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        raise InputError(f"{what}: key column '{name}' ({original}) cannot be compared as {to}: {e}") from None


def _encode_keys(entity_cols: list[tuple[str, pa.ChunkedArray]], view_cols: list[tuple[str, pa.ChunkedArray]],
                 what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Codes in one space for the entity and view key columns, with validity.

    Each column pair is concatenated (entity rows first) and dictionary-encoded; several
    columns are combined by mixed radix and re-encoded, so codes stay below n + m.
    """
    n = len(entity_cols[0][1])
    combined = None  # int64 Array over n + m rows, nulls where any key is null
    for (ename, ecol), (vname, vcol) in zip(entity_cols, view_cols):
        lkind, rkind = key_kind(ecol.type), key_kind(vcol.type)
        for name, col, kind, side in ((ename, ecol, lkind, "entity"), (vname, vcol, rkind, "view")):
            if kind is None:
                raise InputError(f"{what}: {side} key column '{name}' has type {col.type}, which cannot be a join "
                                 "key (use integers, strings, bytes, bools, floats, timestamps or dates)")
        if "null" not in (lkind, rkind) and lkind != rkind:
            raise InputError(f"{what}: key column '{vname}' ({vcol.type}) cannot be matched with entity column "
                             f"'{ename}' ({ecol.type}): {rkind} keys never equal {lkind} keys; give both columns "
                             "the same kind of type")
        left = _plain(ecol.combine_chunks()) if ecol.num_chunks != 1 else _plain(ecol.chunk(0))
        right = _plain(vcol.combine_chunks()) if vcol.num_chunks != 1 else _plain(vcol.chunk(0))
        if pa.types.is_null(left.type):
            left = left.cast(right.type)  # an all-null column matches nothing, whatever its type
        common = _KEY_COMMON.get(lkind if lkind != "null" else rkind)
        if common is not None:
            left = _cast_key(left, common, ename, ecol.type, what)
            right = _cast_key(right, common, vname, vcol.type, what)
        elif right.type != left.type:
            try:
                right = right.cast(left.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
                raise InputError(f"{what}: key column '{vname}' ({vcol.type}) cannot be matched with entity "
                                 f"column '{ename}' ({ecol.type}): {e}") from None
        both = pa.concat_arrays([left, right])
        enc = pc.dictionary_encode(both)
        codes = enc.indices.cast(pa.int64())
        card = len(enc.dictionary)
        if combined is None:
            combined = codes
        else:
            radix = pa.scalar(max(card, 1), pa.int64())
            combined = pc.add_checked(pc.multiply_checked(combined, radix), codes)
            combined = pc.dictionary_encode(combined).indices.cast(pa.int64())
    valid = np.asarray(pc.is_valid(combined).to_numpy(zero_copy_only=False), dtype=bool)
    codes = np.asarray(pc.fill_null(combined, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    return codes[:n], valid[:n], codes[n:], valid[n:]


def _ttl_micros(v: Any, what: str) -> int:
    if v is None:
        return 0
    if isinstance(v, _dt.timedelta):
        v = (v.days * 86400 + v.seconds) * 1_000_000 + v.microseconds
    elif isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise InputError(f"{what}: ttl_us must be an int (microseconds), a timedelta or None, got {v!r}")
    v = int(v)
    if v < 0:
        raise InputError(f"{what}: ttl_us must be >= 0 (0 or None: unlimited), got {v}")
    if v > _INT64_MAX:
        raise InputError(f"{what}: ttl_us does not fit int64")
    return v


def point_in_time_join(entity: pa.Table, entity_keys: list[str], timestamp: str, views: list[dict],
                       threads: int = 1) -> pa.Table:
    """Join each view's features onto ``entity`` as of each entity row's ``timestamp``.

    ``entity``: the entity (label) rows; ``entity_keys``: its join key columns;
    ``timestamp``: its event timestamp column (any unit, must have a time zone).
    Each view is a dict:

    * ``table``: the feature rows (pyarrow Table);
    * ``keys``: the view's join key columns, matching ``entity_keys`` -- all of them or a
      subset; by name when every key is an entity key, else position by position (or
      give ``entity_keys``: the entity columns they join to, in the same order);
    * ``timestamp``: the event timestamp column (any unit; without a time zone it is
      read as UTC, as Feast does); ``created``: the created timestamp column or None;
    * ``ttl_us``: maximum age in microseconds (int or timedelta; 0 or None: unlimited);
    * ``features``: the columns to bring over; ``prefix``: output names become
      ``prefix__feature`` (Feast's full feature names), or the feature name when None.

    Returns the entity table's columns (all, in order, one row per entity row, order
    kept) followed by the feature columns; null where a view has no matching row.
    Raises InputError for missing or mistyped columns, key columns of different kinds
    (:func:`key_kind`) and clashing output names.
    """
    entity = _as_table(entity, "entity")
    if isinstance(entity_keys, str) or not isinstance(entity_keys, (list, tuple)):
        raise InputError("entity_keys must be a list of column names")
    if not isinstance(views, (list, tuple)):
        raise InputError("views must be a list of dicts")
    threads = thread_count(threads)
    ent_key_cols = {k: _column(entity, k, "entity") for k in entity_keys}
    if len(ent_key_cols) != len(entity_keys):
        raise InputError(f"entity_keys repeats a column: {list(entity_keys)}")
    ent_ts, ent_ts_valid = _micros(_column(entity, timestamp, "entity"), timestamp, "entity", require_tz=True)

    taken = set(entity.column_names)
    fields = list(entity.schema)
    gathers: list[tuple[pa.ChunkedArray, pa.Array]] = []  # (feature column, row per entity row)
    for vi, view in enumerate(views):
        what = f"views[{vi}]"
        if not isinstance(view, dict):
            raise InputError(f"{what} must be a dict, got {type(view).__name__}")
        unknown = set(view) - _VIEW_FIELDS
        if unknown:
            raise InputError(f"{what}: unknown fields {sorted(unknown)}")
        for req in ("table", "keys", "timestamp", "features"):
            if req not in view:
                raise InputError(f"{what} is missing '{req}'")
        table = _as_table(view["table"], f"{what}.table")
        keys = view["keys"]
        if isinstance(keys, str) or not isinstance(keys, (list, tuple)) or not keys:
            raise InputError(f"{what}: keys must be a non-empty list of column names")
        ekeys = view.get("entity_keys")
        if ekeys is None:
            if all(k in ent_key_cols for k in keys):
                ekeys = list(keys)
            elif len(keys) == len(entity_keys):
                ekeys = list(entity_keys)
            else:
                raise InputError(f"{what}: keys {list(keys)} are not entity key columns; give 'entity_keys' "
                                 f"(the entity columns, among {list(entity_keys)}, they join to)")
        if isinstance(ekeys, str) or not isinstance(ekeys, (list, tuple)) or len(ekeys) != len(keys):
            raise InputError(f"{what}: entity_keys must list one entity key column per view key")
        for k in ekeys:
            if k not in ent_key_cols:
                raise InputError(f"{what}: '{k}' is not one of the entity keys {list(entity_keys)}")
        if len(set(ekeys)) != len(ekeys):
            raise InputError(f"{what}: entity_keys repeats a column: {list(ekeys)}")
        view_cols = [(k, _column(table, k, what)) for k in keys]
        ecode, evalid, fcode, fvalid = _encode_keys([(k, ent_key_cols[k]) for k in ekeys], view_cols, what)

        ts_name = view["timestamp"]
        fts, fts_valid = _micros(_column(table, ts_name, what), ts_name, what, require_tz=False)
        created = view.get("created")
        fcreated = None
        if created is not None:
            c, c_valid = _micros(_column(table, created, what), created, what, require_tz=False)
            fcreated = np.where(c_valid, c, _INT64_MIN)  # null created: older than any
        ttl = _ttl_micros(view.get("ttl_us"), what)
        features = view["features"]
        if isinstance(features, str) or not isinstance(features, (list, tuple)):
            raise InputError(f"{what}: features must be a list of column names")
        prefix = view.get("prefix")
        if prefix is not None and not isinstance(prefix, str):
            raise InputError(f"{what}: prefix must be a string or None")
        feat_cols = [(f, _column(table, f, what)) for f in features]

        idx = _core.asof_join(
            ecode, (evalid & ent_ts_valid).astype(np.uint8), ent_ts,
            fcode, (fvalid & fts_valid).astype(np.uint8), fts, fcreated, ttl, threads)
        take_idx = pa.array(idx, type=pa.int64(), mask=idx < 0)
        for f, col in feat_cols:
            name = f"{prefix}__{f}" if prefix else f
            if name in taken:
                raise InputError(f"{what}: output column '{name}' clashes with an existing column; "
                                 "set a prefix or rename the feature")
            taken.add(name)
            field = table.schema.field(table.schema.get_field_index(f))
            fields.append(field.with_name(name).with_nullable(True))
            gathers.append((col, take_idx))
    if threads > 1 and len(gathers) > 1:
        # Arrow's take releases the GIL: gather the feature columns side by side.
        with ThreadPoolExecutor(max_workers=min(threads, len(gathers))) as pool:
            gathered = list(pool.map(lambda ct: ct[0].take(ct[1]), gathers))
    else:
        gathered = [c.take(i) for c, i in gathers]
    schema = pa.schema(fields, metadata=entity.schema.metadata)
    return pa.Table.from_arrays(list(entity.columns) + gathered, schema=schema)
