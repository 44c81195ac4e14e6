"""User data -> Arrow record batches holding exactly the plan's declared inputs.

Accepted: pyarrow Table / RecordBatch, anything exporting ``__arrow_c_stream__`` or
``__arrow_c_array__``, a pandas DataFrame, or a mapping of column name -> array-like.
No values are converted here: the core converts them to the declared types, the same
way on the batch and row paths."""
from __future__ import annotations

import datetime as _dt
from typing import Any, Mapping, Sequence

import numpy as np
import pyarrow as pa

from featureplat import _core
from featureplat.errors import InputError


def _missing(names: Sequence[str], have: Sequence[str]) -> InputError:
    missing = [n for n in names if n not in have]
    return InputError(
        f"missing input column(s) {', '.join(repr(m) for m in missing)}; "
        f"the plan needs {list(names)}, the data has {list(have)}")


def _has_datetimes(values: Any) -> bool:
    return any(isinstance(v, _dt.datetime) for v in values)


def _datetimes(name: str, values: Any, nan_is_null: bool = False) -> pa.Array:
    """Python datetime objects read by the core, as the row path reads them: pyarrow takes
    whatever a datetime subclass's utcoffset() returns (an int offset became the year
    27646), the core refuses it naming the input and the row."""
    micros, valid, naive = _core.datetime_column(values, name, nan_is_null)
    return pa.array(micros, pa.timestamp("us", tz=None if naive else "UTC"), mask=~valid)


def _python_objects(v: Any) -> bool:
    """A column given as Python objects (a list, tuple or object-dtype array or Series)."""
    return isinstance(v, (list, tuple)) or getattr(v, "dtype", None) == np.dtype(object)


def _column(name: str, v: Any) -> pa.Array | pa.ChunkedArray:
    if isinstance(v, (pa.Array, pa.ChunkedArray)):
        return v
    try:
        arr = pa.array(v)
    except Exception as err:  # noqa: BLE001 -- pyarrow runs the objects' own code (tzinfo)
        if _python_objects(v) and _has_datetimes(v):
            return _datetimes(name, v)  # the core names the value it cannot read
        raise InputError(f"input column {name!r} cannot be read as an Arrow array: {err}") from None
    if pa.types.is_timestamp(arr.type) and _python_objects(v) and _has_datetimes(v):
        return _datetimes(name, v)
    return arr


def _to_table(data: Any, names: Sequence[str]) -> pa.Table | pa.RecordBatch:
    if isinstance(data, (pa.Table, pa.RecordBatch)):
        return data
    if isinstance(data, Mapping):
        missing = [n for n in names if n not in data]
        if missing:
            raise _missing(names, list(data))
        cols = {n: _column(n, data[n]) for n in names}
        lengths = {n: len(c) for n, c in cols.items()}
        if len(set(lengths.values())) > 1:
            raise InputError(f"input columns have different lengths: {lengths}")
        return pa.table(cols)
    module = type(data).__module__
    # Object columns of a DataFrame that hold datetimes are read by the core (_datetimes),
    # whichever way the rest of the frame is converted.
    objects = {n: data[n] for n in names if n in data.columns and getattr(data[n], "dtype", None) == object
               and _has_datetimes(data[n])} if module.startswith("pandas") else {}
    if not objects and hasattr(data, "__arrow_c_stream__"):
        return pa.table(data)
    if hasattr(data, "__arrow_c_array__"):
        return pa.record_batch(data)
    if module.startswith("pandas"):
        try:
            table = pa.Table.from_pandas(data.drop(columns=list(objects)) if objects else data,
                                         preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
            raise InputError(f"the DataFrame cannot be converted to Arrow: {err}") from None
        for n, col in objects.items():
            table = table.append_column(n, _datetimes(n, col.tolist(), nan_is_null=True))
        return table
    raise InputError(
        f"cannot read input data of type {type(data).__name__}: pass a pyarrow Table/RecordBatch, an "
        "object with __arrow_c_stream__/__arrow_c_array__, a pandas DataFrame or a dict of arrays")


def to_batches(data: Any, names: Sequence[str]) -> list[pa.RecordBatch]:
    """Record batches with exactly the columns ``names``, in that order."""
    table = _to_table(data, names)
    have = table.schema.names
    if any(n not in have for n in names):
        raise _missing(names, have)
    dup = [n for n in names if have.count(n) > 1]
    if dup:
        raise InputError(f"input column(s) {dup} appear more than once in the data")
    table = table.select(list(names))
    if any(pa.types.is_dictionary(field.type) for field in table.schema):
        arrays = []
        for name in names:
            c = table.column(name)
            if pa.types.is_dictionary(c.type):
                c = c.cast(c.type.value_type)
            arrays.append(c)
        table = pa.table(dict(zip(names, arrays))) if isinstance(table, pa.Table) else \
            pa.record_batch(dict(zip(names, arrays)))
    if isinstance(table, pa.RecordBatch):
        return [table]
    return table.to_batches()


def input_table(plan: Any, data: Any) -> pa.Table:
    """The plan's input columns of ``data`` as one Arrow table, values as given (the core
    converts them when the plan runs, the same way on every path). ``data``: anything
    :func:`to_batches` reads, or a list of row dicts (an MLflow pyfunc's model input)."""
    if isinstance(data, list) and all(isinstance(r, Mapping) for r in data):
        try:
            data = pa.Table.from_pylist(data)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as err:
            raise InputError(f"the rows cannot be read as Arrow columns: {err}") from None
    names = plan.input_names
    table = _to_table(data, names)
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    missing = [n for n in names if n not in table.column_names]
    if missing:
        raise _missing(names, table.column_names)
    return table.select(list(names))
