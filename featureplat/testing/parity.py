"""Bit-for-bit comparison of results from the batch path, the row path, slices,
chunkings and thread counts."""
from __future__ import annotations

import numpy as np
import pyarrow as pa


def _bits(arr: pa.Array) -> list:
    """Comparable form of an array: None for null, raw bits for floats."""
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    if pa.types.is_floating(arr.type):
        values = np.asarray(arr.fill_null(0.0).to_numpy(zero_copy_only=False), dtype=np.float64).view(np.uint64)
        valid = arr.is_valid().to_pylist()
        return [int(v) if ok else None for v, ok in zip(values, valid)]
    if pa.types.is_timestamp(arr.type):
        arr = arr.cast(pa.int64())
    return arr.to_pylist()


def assert_identical(a: pa.Table, b: pa.Table, context: str = "") -> None:
    """Same schema, same nulls, same values bit for bit (NaN payloads and the sign of
    zero included)."""
    where = f" ({context})" if context else ""
    assert a.schema.names == b.schema.names, f"feature names differ{where}: {a.schema.names} vs {b.schema.names}"
    assert a.num_rows == b.num_rows, f"row counts differ{where}: {a.num_rows} vs {b.num_rows}"
    for name in a.schema.names:
        ca, cb = a.column(name), b.column(name)
        assert ca.type == cb.type, f"feature {name!r} types differ{where}: {ca.type} vs {cb.type}"
        ba, bb = _bits(ca), _bits(cb)
        if ba != bb:
            bad = next(i for i, (x, y) in enumerate(zip(ba, bb)) if x != y)
            raise AssertionError(
                f"feature {name!r} differs at row {bad}{where}: {ca[bad].as_py()!r} vs {cb[bad].as_py()!r} "
                f"(bits {ba[bad]!r} vs {bb[bad]!r})")


def assert_matrix_identical(a: np.ndarray, b: np.ndarray, context: str = "") -> None:
    """Two float64 matrices with identical bytes."""
    assert a.shape == b.shape, f"shapes differ ({context}): {a.shape} vs {b.shape}"
    if a.tobytes() != b.tobytes():
        diff = np.argwhere(a.view(np.uint64) != b.view(np.uint64))[0]
        raise AssertionError(f"matrices differ at {tuple(diff)} ({context}): {a[tuple(diff)]!r} vs {b[tuple(diff)]!r}")
