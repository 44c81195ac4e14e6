"""Point-in-time training sets from a Feast repo, through the plan that will serve.

:func:`training_set` joins the plan's Feast inputs onto the entity rows as of each row's
timestamp (the core's native join by default, Feast's ``get_historical_features`` with
``method="feast"``), hands the joined columns to the plan as they are (the core converts
every input to its declared type, with the rule serving uses), fits the plan when it has
unfitted transforms, and runs it. Every entity row gives one training row, in order,
duplicates included; labels stay with their rows.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from featureplat.errors import InputError, PlanError
from featureplat.feast.point_in_time import point_in_time_join
from featureplat.feast.repo import feature_store
from featureplat.feast.views import ViewSource, resolve_plan, resolve_views
from featureplat.plan import FittedPlan
from featureplat.plan.files import read_parquet
from featureplat.plan.sources import feast_ref
from featureplat.plan.threads import thread_count

__all__ = ["TrainingSet", "as_online", "entity_table", "training_set"]

_ROW = "__featureplat_row__"


def entity_table(entity_df: Any) -> pa.Table:
    """The entity rows as an Arrow table (pandas frames are converted once, index dropped;
    parquet files are read with their page checksums verified). A file that cannot be
    read or a frame column that holds no one Arrow type is an InputError naming it."""
    if isinstance(entity_df, pa.Table):
        return entity_df
    if isinstance(entity_df, pa.RecordBatch):
        return pa.Table.from_batches([entity_df])
    if isinstance(entity_df, (str, Path)):
        if not os.path.isfile(entity_df):
            raise InputError(f"entity file {entity_df} does not exist")
        return read_parquet(entity_df, what="entity file")
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        pd = None
    if pd is not None and isinstance(entity_df, pd.DataFrame):
        return _from_pandas(entity_df)
    raise InputError(f"entity_df must be a pyarrow Table, a pandas DataFrame or a parquet path, "
                     f"got {type(entity_df).__name__}")


def _from_pandas(frame: Any) -> pa.Table:
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as err:
        # Name the column: convert them one by one to find the first that fails.
        for name in frame.columns:
            try:
                pa.Array.from_pandas(frame[name])
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as col_err:
                kinds = sorted({type(v).__name__ for v in frame[name] if v is not None})
                raise InputError(f"entity table: column {name!r} ({frame[name].dtype}) cannot be read as one Arrow "
                                 f"type: it holds values of types {kinds} ({col_err}); give the column one type"
                                 ) from None
        raise InputError(f"entity table: the DataFrame cannot be converted to Arrow: {err}") from None


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


def feast_time_zone(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """A Feast feature column with its time zone said: Feast reads event data without a
    time zone as UTC (its offline stores cast such columns to UTC), while the core refuses
    naive timestamps. Only the Feast layer may make that assumption, for Feast's data."""
    if pa.types.is_timestamp(col.type) and not col.type.tz:
        return col.cast(pa.timestamp(col.type.unit, tz="UTC"))  # the same instants, zone named
    return col


def as_online(col: pa.ChunkedArray, dtype: str) -> pa.ChunkedArray:
    """A Feast feature column as Feast's online store will hold it: NaN becomes null
    (materialization writes NaN as an empty value) and timestamps keep whole seconds
    (the store's ``unix_timestamp_val`` is in seconds, floored). Training on this
    representation keeps the training rows equal to what serving computes."""
    if dtype in ("float64", "float32") and pa.types.is_floating(col.type):
        nan = pc.is_nan(col)
        if pc.any(nan).as_py():
            return pc.if_else(nan, pa.scalar(None, col.type), col)
        return col
    if dtype == "timestamp" and pa.types.is_timestamp(col.type):
        us = col.cast(pa.timestamp("us", tz=col.type.tz or "UTC"))
        floored = pc.floor_temporal(us, unit="second")
        return floored
    return col  # other columns: the core converts or refuses them


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
    inputs: pa.Table  # the plan's inputs, one row per entity row, as joined (the core converts them)
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
    threads = thread_count(threads)
    store = feature_store(store)
    plan = resolve_plan(store, feature_set)
    entity = entity_table(entity_df)
    ts = _timestamp_column(entity, timestamp)
    labels = _labels(entity, label)
    views = resolve_views(store, plan)
    for v in views:
        v.check_entity(entity)  # before any join: a key of the wrong type matches wrong rows or none
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
        ref = feast_ref(source)
        if ref is not None:
            view, feature = ref
            col = feast_time_zone(joined.column(f"{view}__{feature}"))
            if online_repr:
                col = as_online(col, dtype)
        else:
            if name not in entity.column_names:
                raise InputError(f"request input {name!r} is not a column of the entity table "
                                 f"(columns: {entity.column_names})")
            col = entity.column(name)  # a request field: no Feast convention applies
        cols.append(col)
        names.append(name)
    inputs = pa.Table.from_arrays(cols, names=names)

    if not isinstance(plan, FittedPlan):
        if fit is False and plan.needs_fit:
            raise PlanError(f"plan {plan.name!r} has unfitted transforms and fit=False")
        plan = plan.fit(inputs, threads=threads)
    plan.check_inputs(inputs)  # a column the core refuses is named now, not when features are read
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
