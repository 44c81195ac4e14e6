"""User data -> Arrow record batches holding exactly the plan's declared inputs.

Accepted: pyarrow Table / RecordBatch, anything exporting ``__arrow_c_stream__`` or
``__arrow_c_array__``, a pandas DataFrame, or a mapping of column name -> array-like.
No values are converted here: the core converts them to the declared types, the same
way on the batch and row paths."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import pyarrow as pa

from featureplat.errors import InputError


def _missing(names: Sequence[str], have: Sequence[str]) -> InputError:
    missing = [n for n in names if n not in have]
    return InputError(
        f"missing input column(s) {', '.join(repr(m) for m in missing)}; "
        f"the plan needs {list(names)}, the data has {list(have)}")


def _to_table(data: Any, names: Sequence[str]) -> pa.Table | pa.RecordBatch:
    if isinstance(data, (pa.Table, pa.RecordBatch)):
        return data
    if isinstance(data, Mapping):
        missing = [n for n in names if n not in data]
        if missing:
            raise _missing(names, list(data))
        cols = {}
        for n in names:
            v = data[n]
            try:
                cols[n] = v if isinstance(v, (pa.Array, pa.ChunkedArray)) else pa.array(v)
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as err:
                raise InputError(f"input column {n!r} cannot be read as an Arrow array: {err}") from None
        lengths = {n: len(c) for n, c in cols.items()}
        if len(set(lengths.values())) > 1:
            raise InputError(f"input columns have different lengths: {lengths}")
        return pa.table(cols)
    if hasattr(data, "__arrow_c_stream__"):
        return pa.table(data)
    if hasattr(data, "__arrow_c_array__"):
        return pa.record_batch(data)
    module = type(data).__module__
    if module.startswith("pandas"):
        try:
            return pa.Table.from_pandas(data, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
            raise InputError(f"the DataFrame cannot be converted to Arrow: {err}") from None
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
