"""Point-in-time training sets from a Feast repo, through the plan that will serve.

:func:`training_set` joins the plan's Feast inputs onto the entity rows as of each row's
timestamp (the core's native join by default, Feast's ``get_historical_features`` with
``method="feast"``), casts the joined columns to the plan's declared input types with
Arrow, fits the plan when it has unfitted transforms, and runs it. Every entity row gives
one training row, in order, duplicates included; labels stay with their rows.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from featureplat.compile import compile as compile_feature_set
from featureplat.dsl.feature_set import FeatureSet
from featureplat.errors import InputError, PlanError
from featureplat.pit import point_in_time_join
from featureplat.plan import FittedPlan, Plan
from featureplat.repo import check_inputs, feast_type_name, feature_store, registered_plan

__all__ = ["TrainingSet", "ViewSource", "as_online", "coerce_inputs", "entity_table", "feast_refs", "resolve_plan", "resolve_views", "training_set"]

_ARROW_TYPES = {"bool": pa.bool_(), "int64": pa.int64(), "float64": pa.float64(), "float32": pa.float32(),
                "string": pa.string()}
_ROW = "__featureplat_row__"


@dataclass
class ViewSource:
    """What the native join needs of one feature view: its offline file and columns."""

    name: str
    path: str
    join_keys: list[str]  # the view's key columns (Feast names)
    entity_keys: list[str]  # the entity-table columns they join to
    timestamp: str
    created: str | None
    ttl_us: int
    features: dict[str, str]  # requested feature -> Feast type name
    source_columns: dict[str, str] = field(default_factory=dict)  # Feast name -> file column
    feature_view: Any = None  # the Feast FeatureView this was resolved from

    def read(self) -> pa.Table:
        """The columns of the view's parquet file the join needs, under Feast's names."""
        if not os.path.isfile(self.path):
            raise InputError(f"feature view {self.name!r}: source file {self.path} does not exist")
        wanted = [*self.join_keys, self.timestamp, *([self.created] if self.created else []), *self.features]
        cols = list(dict.fromkeys(self.source_columns.get(c, c) for c in wanted))
        try:
            schema = pq.read_schema(self.path)
        except (pa.ArrowInvalid, OSError) as e:
            raise InputError(f"feature view {self.name!r}: cannot read {self.path}: {e}") from None
        missing = [c for c in cols if c not in schema.names]
        if missing:
            raise InputError(f"feature view {self.name!r}: {self.path} has no column(s) {missing}")
        table = pq.read_table(self.path, columns=cols)
        rename = {v: k for k, v in self.source_columns.items()}
        return table.rename_columns([rename.get(c, c) for c in table.column_names])

    def join_spec(self, table: pa.Table) -> dict:
        return {"table": table, "keys": self.join_keys, "entity_keys": self.entity_keys,
                "timestamp": self.timestamp, "created": self.created, "ttl_us": self.ttl_us,
                "features": list(self.features), "prefix": self.name}


def resolve_plan(store: Any, feature_set: Any) -> Plan:
    """A plan from a FeatureSet (compiled), a plan, or the name of an applied feature set."""
    if isinstance(feature_set, Plan):
        return feature_set
    if isinstance(feature_set, FeatureSet):
        return compile_feature_set(feature_set)
    if isinstance(feature_set, str):
        return registered_plan(store, feature_set)
    raise InputError(f"feature_set must be a FeatureSet, a Plan or an applied feature set's name, "
                     f"got {type(feature_set).__name__}")


def _feature_view(store: Any, name: str):
    from feast.errors import FeatureViewNotFoundException

    try:
        return store.get_feature_view(name)
    except FeatureViewNotFoundException:
        known = ", ".join(sorted(v.name for v in store.list_feature_views())) or "none"
        raise InputError(f"unknown feature view {name!r} in project {store.config.project!r} "
                         f"(known: {known}); was the repo applied?") from None


def feast_refs(plan: Plan) -> dict[str, list[str]]:
    """The Feast features the plan's inputs read: view -> features, in input order."""
    refs: dict[str, list[str]] = {}
    for i in plan.inputs:
        if i["source"].startswith("feast:"):
            view, feature = i["source"][len("feast:"):].split(":")
            features = refs.setdefault(view, [])
            if feature not in features:
                features.append(feature)
    return refs


def resolve_views(store: Any, plan: Plan) -> list[ViewSource]:
    """The feature views the plan's Feast inputs read, checked against the registry:
    unknown views or features and mismatched types raise, naming them."""
    from feast import FileSource

    refs = feast_refs(plan)
    fvs = {v: _feature_view(store, v) for v in refs}
    views_schema = {v: {f.name: feast_type_name(f.dtype) for f in fv.features} for v, fv in fvs.items()}
    triples = [(i["name"], i["dtype"], i["source"]) for i in plan.inputs]
    try:
        check_inputs(f"plan {plan.name!r}", triples, views_schema, {})
    except PlanError as e:
        raise InputError(str(e)) from None
    out = []
    for v, features in refs.items():
        fv = fvs[v]
        src = fv.batch_source
        keys = [c.name for c in fv.entity_columns]
        key_map = dict(fv.projection.join_key_map or {})
        if not isinstance(src, FileSource):
            raise InputError(f"feature view {v!r}: its source is a {type(src).__name__}, which the native join "
                             "cannot read; use method='feast'")
        path = FileSource.get_uri_for_file_path(store.repo_path, src.path)
        if "://" in str(path):
            raise InputError(f"feature view {v!r}: source {path} is remote; use method='feast'")
        ttl = int(fv.ttl.total_seconds() * 1_000_000) if fv.ttl else 0
        out.append(ViewSource(
            name=v, path=str(path), join_keys=keys, entity_keys=[key_map.get(k, k) for k in keys],
            timestamp=src.timestamp_field, created=src.created_timestamp_column or None, ttl_us=ttl,
            features={f: views_schema[v][f] for f in features},
            source_columns={dst: s for s, dst in (src.field_mapping or {}).items()}, feature_view=fv))
    return out


def entity_table(entity_df: Any) -> pa.Table:
    """The entity rows as an Arrow table (pandas frames are converted once, index dropped)."""
    if isinstance(entity_df, pa.Table):
        return entity_df
    if isinstance(entity_df, pa.RecordBatch):
        return pa.Table.from_batches([entity_df])
    if isinstance(entity_df, (str, Path)):
        if not os.path.isfile(entity_df):
            raise InputError(f"entity file {entity_df} does not exist")
        return pq.read_table(entity_df)
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        pd = None
    if pd is not None and isinstance(entity_df, pd.DataFrame):
        return pa.Table.from_pandas(entity_df, preserve_index=False)
    raise InputError(f"entity_df must be a pyarrow Table, a pandas DataFrame or a parquet path, "
                     f"got {type(entity_df).__name__}")


def _timestamp_column(entity: pa.Table, timestamp: str | None) -> str:
    if timestamp is not None:
        if timestamp not in entity.column_names:
            raise InputError(f"entity table has no timestamp column {timestamp!r} "
                             f"(columns: {entity.column_names})")
        return timestamp
    if "event_timestamp" in entity.column_names:
        return "event_timestamp"
    stamps = [f.name for f in entity.schema if pa.types.is_timestamp(f.type)]
    if len(stamps) == 1:
        return stamps[0]
    raise InputError("entity table needs an 'event_timestamp' column (or exactly one timestamp column, or "
                     f"timestamp=...); its columns are {entity.column_names}")


def _cast(col: pa.ChunkedArray, dtype: str, what: str) -> pa.ChunkedArray:
    if dtype == "timestamp":
        if pa.types.is_timestamp(col.type):
            return col
        target = pa.timestamp("us", tz="UTC")
    else:
        target = _ARROW_TYPES[dtype]
    if col.type == target:
        return col
    try:
        return pc.cast(col, target, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        raise InputError(f"{what}: cannot cast {col.type} to the declared {dtype}: {e}") from None


def as_online(col: pa.ChunkedArray, dtype: str) -> pa.ChunkedArray:
    """A Feast feature column as Feast's online store will hold it: NaN becomes null
    (materialization writes NaN as an empty value) and timestamps keep whole seconds
    (the store's ``unix_timestamp_val`` is in seconds, floored). Training on this
    representation keeps the training rows equal to what serving computes."""
    if dtype in ("float64", "float32"):
        nan = pc.is_nan(col)
        if pc.any(nan).as_py():
            return pc.if_else(nan, pa.scalar(None, col.type), col)
        return col
    if dtype == "timestamp":
        us = col.cast(pa.timestamp("us", tz=col.type.tz or "UTC"))
        floored = pc.floor_temporal(us, unit="second")
        return floored
    return col


def coerce_inputs(plan: Plan, data: Any) -> pa.Table:
    """The plan's inputs from a pandas frame, Arrow table or list of row dicts, cast to the
    declared types (pandas' float64-with-NaN stand-ins for nullable ints become int64
    with nulls; a non-integral value raises)."""
    if isinstance(data, list):
        data = pa.Table.from_pylist(data)
    table = entity_table(data)
    cols = []
    for i in plan.inputs:
        if i["name"] not in table.column_names:
            raise InputError(f"input {i['name']!r} is missing (columns: {table.column_names})")
        col = table.column(i["name"])
        if pa.types.is_floating(col.type) and i["dtype"] in ("int64", "bool"):
            col = pc.if_else(pc.is_nan(col), pa.scalar(None, col.type), col)
        cols.append(_cast(col, i["dtype"], f"input {i['name']!r}"))
    return pa.Table.from_arrays(cols, names=[i["name"] for i in plan.inputs])


def _labels(entity: pa.Table, label: Any) -> list[str]:
    if label is None:
        return []
    names = [label] if isinstance(label, str) else list(label)
    for n in names:
        if not isinstance(n, str) or n not in entity.column_names:
            raise InputError(f"label column {n!r} is not a column of the entity table ({entity.column_names})")
    return names


@dataclass
class TrainingSet:
    """A point-in-time training set: the joined raw inputs, the fitted plan, the features
    it computes (Arrow, or a float64 matrix with :attr:`X`) and the labels."""

    plan: FittedPlan
    inputs: pa.Table  # the plan's inputs, one row per entity row, declared types
    entity: pa.Table  # the entity rows as given (keys, timestamp, labels, request fields, ...)
    label_names: list[str]
    threads: int = 1
    _features: pa.Table | None = None
    _X: np.ndarray | None = None

    @property
    def num_rows(self) -> int:
        return self.inputs.num_rows

    @property
    def features(self) -> pa.Table:
        """The plan's output features (Arrow), one row per entity row."""
        if self._features is None:
            self._features = self.plan.transform(self.inputs, threads=self.threads)
        return self._features

    @property
    def X(self) -> np.ndarray:  # noqa: N802 - the conventional name for a model's input matrix
        """The features as a float64 matrix (rows x features; null -> NaN), for model input."""
        if self._X is None:
            self._X = self.plan.transform(self.inputs, threads=self.threads, to="numpy")
        return self._X

    @property
    def labels(self) -> pa.Table:
        """The label columns, row-aligned with the features."""
        return self.entity.select(self.label_names)

    @property
    def y(self) -> np.ndarray:
        """The label as a numpy vector (one label) or matrix (several)."""
        if not self.label_names:
            raise InputError("this training set has no label; pass label=... to training_set")
        cols = [np.asarray(self.entity.column(n).to_numpy()) for n in self.label_names]
        return cols[0] if len(cols) == 1 else np.column_stack(cols)

    def to_arrow(self) -> pa.Table:
        """Features followed by labels, one table."""
        t = self.features
        for n in self.label_names:
            t = t.append_column(n if n not in t.column_names else f"label__{n}", self.entity.column(n))
        return t


def training_set(store: Any, feature_set: Any, entity_df: Any, *, label: str | Sequence[str] | None = None,
                 timestamp: str | None = None, method: str = "native", fit: bool = True,
                 threads: int = 1, online_repr: bool = True) -> TrainingSet:
    """Builds the point-in-time training set of ``feature_set`` for ``entity_df``.

    ``store``: a ``feast.FeatureStore`` or a repo path. ``feature_set``: a FeatureSet, a
    Plan/FittedPlan, or the name of a feature set recorded by ``featureplat apply``.
    ``entity_df``: the entity rows (Arrow table, pandas frame or parquet path) with the
    views' join keys, a time-zone-aware timestamp column (``timestamp``, default
    ``event_timestamp``), the plan's request inputs and the label columns.
    ``method``: ``"native"`` (the core's as-of join over the views' parquet files) or
    ``"feast"`` (Feast's ``get_historical_features``; for offline stores the native join
    cannot read). An unfitted plan is fitted on the joined rows (``fit=False`` refuses
    one that needs fitting); a FittedPlan is applied as it is. ``online_repr`` (default)
    gives Feast inputs the representation Feast's online store holds (:func:`as_online`:
    NaN -> null, timestamps in whole seconds), so serving computes exactly these rows;
    False keeps the offline values as they are.
    """
    if method not in ("native", "feast"):
        raise InputError(f"method must be 'native' or 'feast', got {method!r}")
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise InputError(f"threads must be an int >= 1, got {threads!r}")
    store = feature_store(store)
    plan = resolve_plan(store, feature_set)
    entity = entity_table(entity_df)
    ts = _timestamp_column(entity, timestamp)
    labels = _labels(entity, label)
    views = resolve_views(store, plan)
    for v in views:
        for k in v.entity_keys:
            if k not in entity.column_names:
                raise InputError(f"entity table has no column {k!r}, the join key of feature view {v.name!r} "
                                 f"(columns: {entity.column_names})")
    ts_type = entity.schema.field(ts).type
    if not pa.types.is_timestamp(ts_type):
        raise InputError(f"entity table: column {ts!r} must be a timestamp, got {ts_type}")
    if not ts_type.tz:
        raise InputError(f"entity table: timestamp column {ts!r} has no time zone; give it one (e.g. UTC)")

    if method == "native":
        keys = list(dict.fromkeys(k for v in views for k in v.entity_keys))
        joined = point_in_time_join(entity, keys, ts, [v.join_spec(v.read()) for v in views], threads=threads)
    else:
        joined = _feast_join(store, entity, ts, views)

    cols, names = [], []
    for i in plan.inputs:
        name, dtype, source = i["name"], i["dtype"], i["source"]
        if source.startswith("feast:"):
            view, feature = source[len("feast:"):].split(":")
            what = f"input {name!r} ({view}:{feature})"
            col = _cast(joined.column(f"{view}__{feature}"), dtype, what)
            if online_repr:
                col = as_online(col, dtype)
        else:
            if name not in entity.column_names:
                raise InputError(f"request input {name!r} is not a column of the entity table "
                                 f"(columns: {entity.column_names})")
            what = f"request input {name!r}"
            col = _cast(entity.column(name), dtype, what)
        cols.append(col)
        names.append(name)
    inputs = pa.Table.from_arrays(cols, names=names)

    if not isinstance(plan, FittedPlan):
        if fit is False and plan.needs_fit:
            raise PlanError(f"plan {plan.name!r} has unfitted transforms and fit=False")
        plan = plan.fit(inputs, threads=threads)
    return TrainingSet(plan=plan, inputs=inputs, entity=entity, label_names=labels, threads=threads)


def _feast_join(store: Any, entity: pa.Table, ts: str, views: list[ViewSource]) -> pa.Table:
    """Feast's ``get_historical_features`` (the reference path), rows put back in entity order."""
    refs = [f"{v.name}:{f}" for v in views for f in v.features]
    if _ROW in entity.column_names:
        raise InputError(f"entity table may not have a column named {_ROW!r}")
    frame = entity.append_column(_ROW, pa.array(np.arange(entity.num_rows, dtype=np.int64))).to_pandas()
    if ts != "event_timestamp" and "event_timestamp" not in frame.columns:
        frame = frame.rename(columns={ts: "event_timestamp"})
    out = store.get_historical_features(entity_df=frame, features=refs, full_feature_names=True).to_arrow()
    if out.num_rows != entity.num_rows:
        raise InputError(f"Feast returned {out.num_rows} rows for {entity.num_rows} entity rows")
    order = pc.sort_indices(out.column(_ROW))
    out = out.take(order)
    cols = {f"{v.name}__{f}": out.column(f"{v.name}__{f}") for v in views for f in v.features}
    return pa.table(cols)
