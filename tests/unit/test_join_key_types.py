"""point_in_time_join's key columns: keys match by value within one kind of type (any
integer width, string or large_string, a dictionary of either) and keys of different kinds
are refused, never cast into each other (a bool key joined every row of any customer;
zero-padded strings matched no integer key, silently)."""
from __future__ import annotations

import pyarrow as pa
import pytest

from featureplat.errors import InputError
from featureplat.feast.point_in_time import key_kind, point_in_time_join

TS = pa.timestamp("s", tz="UTC")


def _entity(keys) -> pa.Table:
    return pa.table({"k": keys, "ts": pa.array([100] * len(keys), TS)})


def _view(keys) -> dict:
    table = pa.table({"k": keys, "ts": pa.array([10] * len(keys), TS), "f": list(range(len(keys)))})
    return {"table": table, "keys": ["k"], "timestamp": "ts", "features": ["f"]}


def _join(entity_keys, view_keys) -> list:
    return point_in_time_join(_entity(entity_keys), ["k"], "ts", [_view(view_keys)]).column("f").to_pylist()


@pytest.mark.parametrize("entity_keys, view_keys, kinds", [
    (pa.array([True, False, True]), pa.array([1001, 1002, 1003], pa.int64()), "integer keys never equal bool"),
    (pa.array(["00001001", "00001002"]), pa.array([1001, 1002], pa.int64()), "integer keys never equal string"),
    (pa.array([1001, 1002], pa.int64()), pa.array(["1001", "1002"]), "string keys never equal integer"),
    (pa.array([1.0, 2.0]), pa.array([1, 2], pa.int64()), "integer keys never equal float"),
    (pa.array([b"a"]), pa.array(["a"]), "string keys never equal binary"),
])
def test_keys_of_different_kinds_are_refused_naming_both_columns(entity_keys, view_keys, kinds):
    with pytest.raises(InputError, match=f"key column 'k' \\({view_keys.type}\\) cannot be matched with entity "
                                         f"column 'k' \\({entity_keys.type}\\): {kinds} keys"):
        _join(entity_keys, view_keys)


def test_integer_keys_of_any_width_match_by_value():
    # The entity's narrow type must not truncate the view's wide keys (it used to refuse them).
    assert _join(pa.array([1, 7], pa.int32()), pa.array([1, 2**40, 7], pa.int64())) == [0, 2]
    assert _join(pa.array([1, 7], pa.uint8()), pa.array([7, 1], pa.int64())) == [1, 0]
    assert _join(pa.array([3, 2**40], pa.int64()), pa.array([9, 3], pa.int16())) == [1, None]


def test_an_unsigned_key_beyond_int64_is_refused():
    with pytest.raises(InputError, match="key column 'k' \\(uint64\\) cannot be compared as int64"):
        _join(pa.array([1], pa.int64()), pa.array([2**63 + 5, 1], pa.uint64()))


def test_string_keys_match_across_string_types_and_dictionaries():
    view = pa.array(["PT-LIS", "ES-MAD"], pa.large_string())
    assert _join(pa.array(["ES-MAD", "PT-LIS", "FR-PAR"]), view) == [1, 0, None]
    assert _join(pa.array(["ES-MAD", "PT-LIS"]).dictionary_encode(), view) == [1, 0]


def test_an_all_null_key_column_matches_nothing():
    assert _join(pa.array([None, None], pa.null()), pa.array([1, 2], pa.int64())) == [None, None]


def test_a_key_type_that_cannot_be_a_key_is_refused():
    with pytest.raises(InputError, match="entity key column 'k' has type list<item: int64>, which cannot be a join key"):
        _join(pa.array([[1], [2]]), pa.array([1, 2], pa.int64()))


@pytest.mark.parametrize("arrow_type, kind", [
    (pa.int8(), "integer"), (pa.uint64(), "integer"), (pa.string(), "string"), (pa.large_string(), "string"),
    (pa.binary(), "binary"), (pa.bool_(), "bool"), (pa.float32(), "float"), (pa.timestamp("ms"), "timestamp"),
    (pa.date32(), "date"), (pa.null(), "null"), (pa.dictionary(pa.int32(), pa.large_string()), "string"),
    (pa.list_(pa.int64()), None), (pa.decimal128(10, 2), None),
])
def test_key_kind(arrow_type, kind):
    assert key_kind(arrow_type) == kind
