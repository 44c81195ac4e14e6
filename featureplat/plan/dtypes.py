"""The one table of featureplat's data types and how each is spelled elsewhere.

Every layer reads this table: the DSL (which dtypes an input or a cast may name), the
plan (Arrow types of outputs), the Feast layer (which Feast types an input may read, the
Feast type of an output or request field, the online-store decoder's kind letter).

>>> DTYPES["float32"].arrow
DataType(float)
>>> feast_input_dtypes("Int32")
('int64',)
"""
from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa


@dataclass(frozen=True)
class DType:
    """One featureplat dtype."""

    name: str
    arrow: pa.DataType  # the Arrow type featureplat writes for it
    feast: str  # the Feast primitive type name for a field of this dtype
    value_kind: str  # the core's Feast Value decoder kind letter
    computed: bool  # whether plan steps compute it (float32 is an input type only)


DTYPES: dict[str, DType] = {d.name: d for d in (
    DType("bool", pa.bool_(), "Bool", "b", True),
    DType("int64", pa.int64(), "Int64", "i", True),
    DType("float64", pa.float64(), "Float64", "f", True),
    DType("float32", pa.float32(), "Float32", "f", False),
    DType("string", pa.large_string(), "String", "s", True),
    DType("timestamp", pa.timestamp("us", tz="UTC"), "UnixTimestamp", "t", True),
)}

INPUT_DTYPES: tuple[str, ...] = tuple(DTYPES)
"""Dtypes an input may be declared as."""

COMPUTED_DTYPES: tuple[str, ...] = tuple(n for n, d in DTYPES.items() if d.computed)
"""Dtypes a step (a cast, a literal, an output feature) may have."""

# A Feast type an input may read: every dtype reads its own Feast type; Int32 widens to
# int64, Float32 may be read as float64.
_FEAST_READS: dict[str, tuple[str, ...]] = {
    **{d.feast: (d.name,) for d in DTYPES.values()},
    "Int32": ("int64",),
    "Float32": ("float32", "float64"),
}


def feast_input_dtypes(feast_type: str) -> tuple[str, ...]:
    """The declared dtypes an input reading a Feast field of ``feast_type`` may have
    (empty: featureplat cannot read that Feast type)."""
    return _FEAST_READS.get(feast_type, ())


def feast_readable_types() -> list[str]:
    """Feast type names featureplat reads."""
    return list(_FEAST_READS)
