"""Input conversion is one rule, in the core, on every path: a batch (``plan.transform``),
one row (``transform_row``) and many rows (the ``rows_matrix`` serving calls) give the same
value or the same error for the same input value."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

import featureplat as fp
from featureplat import _core

PLAN = fp.compile(fp.FeatureSet("conv", inputs={"n": fp.request("int64"), "x": fp.request("float64")},
                                features={"n1": fp.col("n") + 1, "x": fp.col("x") * 1}))
UTC = dt.timezone.utc


def _paths(value):
    """(values or error message) per path for ``n = value``, ``x = 1.0``: batch, row, rows."""
    out = {}
    for path, run in {
        "batch": lambda: PLAN.transform(pa.table({"n": pa.array([value]), "x": [1.0]}), to="numpy")[0],
        "row": lambda: PLAN.transform_row({"n": value, "x": 1.0}, to="numpy"),
        "rows": lambda: PLAN._require_program().rows_matrix([[value, 1.0]])[0],
    }.items():
        try:
            out[path] = run().tolist()
        except fp.InputError as e:
            out[path] = str(e)
    return out


@pytest.mark.parametrize(("value", "want"), [
    (1400.0, [1401.0, 1.0]),
    (-0.0, [1.0, 1.0]),
    (float(-2**63), [float(-2**63 + 1), 1.0]),
    (float("nan"), "null"),  # pandas' marker for a missing integer
    (1400.5, "input 'n' row 0: float 1400.5 is not an integer (an int64 input takes integral floats)"),
    (float("inf"), "input 'n' row 0: float inf is outside the int64 range"),
    (float("-inf"), "input 'n' row 0: float -inf is outside the int64 range"),
    (float(2**63), "input 'n' row 0: float 9.223372036854776e+18 is outside the int64 range"),
    ("1400", "input 'n': declared int64 but got string values; convert them or declare the input accordingly"),
])
def test_int64_input_reads_alike_on_every_path(value, want):
    got = _paths(value)
    if want == "null":
        assert all(np.isnan(v[0]) and v[1] == 1.0 for v in got.values()), got
    else:
        assert got == {"batch": want, "row": want, "rows": want}


def test_int64_errors_name_the_row_on_every_path():
    values = [1.0, 2.0, float("nan"), 3.5]
    msg = "input 'n' row 3: float 3.5 is not an integer (an int64 input takes integral floats)"
    with pytest.raises(fp.InputError) as batch:
        PLAN.transform({"n": values, "x": [0.0] * 4})
    with pytest.raises(fp.InputError) as rows:
        PLAN._require_program().rows_matrix([[v, 0.0] for v in values])
    assert str(batch.value) == str(rows.value) == msg
    assert batch.value.index == rows.value.index == 3
    ok = PLAN.transform({"n": values[:3], "x": [0.0] * 3}).column("n1").to_pylist()
    assert ok == [2, 3, None]
    # numpy floats (float32 too) follow the same rule.
    assert PLAN.transform_row({"n": np.float32(7.0), "x": 0.0})["n1"] == 8
    assert PLAN.transform({"n": np.array([7.0, np.nan], np.float32), "x": [0.0, 0.0]}).column("n1").to_pylist() \
        == [8, None]


def test_pandas_nullable_integers_arrive_as_float_with_nan():
    import pandas as pd  # a declared dependency: missing, this fails rather than skips
    frame = pd.DataFrame({"n": [1, None, 3], "x": [0.5, 0.5, 0.5]})
    assert frame["n"].dtype == np.float64
    assert PLAN.transform(frame).column("n1").to_pylist() == [2, None, 4]
    assert [PLAN.transform_row(r)["n1"] for r in frame.to_dict("records")] == [2, None, 4]


def test_naive_times_are_refused_on_every_path():
    plan = fp.compile(fp.FeatureSet("t", inputs={"t": fp.request("timestamp")}, features={"h": fp.col("t").dt.hour()}))
    msg = "input 't': naive datetime (a timestamp without a time zone) is ambiguous; give it a time zone (e.g. UTC)"
    for run in (lambda: plan.transform(pa.table({"t": pa.array([0], pa.timestamp("us"))})),
                lambda: plan.transform_row({"t": dt.datetime(2026, 1, 1, 5)}),
                lambda: plan._require_program().rows_matrix([[dt.datetime(2026, 1, 1, 5)]])):
        with pytest.raises(fp.InputError) as e:
            run()
        assert str(e.value) == msg
    aware = dt.datetime(2026, 1, 1, 5, tzinfo=UTC)
    assert plan.transform_row({"t": aware})["h"] == 5
    assert plan.transform(pa.table({"t": pa.array([aware])})).column("h").to_pylist() == [5]


def test_datetime_to_micros_is_the_row_conversion():
    aware = dt.datetime(2026, 7, 1, 12, 30, 1, 250, tzinfo=dt.timezone(dt.timedelta(hours=-3)))
    us = _core.datetime_to_micros(aware)
    assert us == (aware - dt.datetime(1970, 1, 1, tzinfo=UTC)) // dt.timedelta(microseconds=1)
    plan = fp.compile(fp.FeatureSet("t", inputs={"t": fp.request("timestamp")}, features={"t": fp.col("t")}))
    assert plan.transform_row({"t": aware}) == plan.transform_row({"t": us})
    assert _core.datetime_to_micros(dt.datetime(1, 1, 1, tzinfo=UTC)) == -62135596800 * 10**6
    with pytest.raises(fp.InputError, match=r"^request time 'at': naive datetime .*give it a time zone \(e.g. UTC\)"):
        _core.datetime_to_micros(dt.datetime(2026, 1, 1), "request time 'at'")
    with pytest.raises(fp.InputError, match="expected a datetime"):
        _core.datetime_to_micros("2026-01-01T00:00:00+00:00")
