import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import featureplat as fp
from featureplat.testing.parity import assert_identical, assert_matrix_identical

INPUTS = {"x": fp.request("float64"), "n": fp.request("int64"), "s": fp.request("string"),
          "t": fp.request("timestamp"), "f": fp.request("float32"), "b": fp.request("bool")}
FEATURES = {
    "x2": fp.col("x") * 2, "n1": fp.col("n") + 1, "sl": fp.col("s").str.upper(), "hr": fp.col("t").dt.hour(),
    "f": fp.col("f") + 0, "nb": ~fp.col("b"), "ts": fp.col("t"),
}
PLAN = fp.compile(fp.FeatureSet("t", inputs=INPUTS, features=FEATURES))
NUMERIC = fp.compile(fp.FeatureSet("num", inputs=INPUTS, features={
    "x2": fp.col("x") * 2, "n1": fp.col("n") + 1, "nb": ~fp.col("b"), "len": fp.col("s").str.len()}))


def table(n=5):
    return pa.table({
        "x": pa.array([1.5, None, float("nan"), -0.0, 1e300][:n]),
        "n": pa.array([1, None, -(2**63), 2**63 - 1, 0][:n], pa.int64()),
        "s": pa.array(["a", None, "é", "", "xyz"][:n]),
        "t": pa.array([0, None, -1, 10**15, -(10**15)][:n], pa.timestamp("us", tz="UTC")),
        "f": pa.array([0.1, None, 3.0, -1.0, 2.5][:n], pa.float32()),
        "b": pa.array([True, None, False, True, False][:n]),
    })


def test_pyarrow_table_record_batch_and_c_interfaces_agree():
    t = table()
    base = PLAN.transform(t)
    assert base.num_rows == 5
    assert_identical(PLAN.transform(t.to_batches()[0]), base)

    class Stream:  # any producer of the Arrow C stream interface
        def __arrow_c_stream__(self, requested_schema=None):
            return t.__arrow_c_stream__(requested_schema)

    class ArrayExporter:
        def __arrow_c_array__(self, requested_schema=None):
            return t.to_batches()[0].__arrow_c_array__(requested_schema)

    assert_identical(PLAN.transform(Stream()), base)
    assert_identical(PLAN.transform(ArrayExporter()), base)


def test_pandas_and_numpy_dict_inputs():
    t = table(1)
    df = t.to_pandas()
    assert_identical(PLAN.transform(df), PLAN.transform(t))
    d = {"x": np.array([1.5, 2.5]), "n": np.array([1, 2], dtype=np.int32), "s": np.array(["a", "b"]),
         "t": pd.DatetimeIndex(["2020-01-01T05:00", "1960-06-01T23:59"]).tz_localize("UTC"),
         "f": np.array([0.5, 1.5], dtype=np.float32), "b": np.array([True, False])}
    out = PLAN.transform(d)
    assert out.column("n1").to_pylist() == [2, 3]
    assert out.column("hr").to_pylist() == [5, 23]
    # numpy datetimes carry no time zone: refused, not guessed.
    naive = {**d, "t": np.array(["2020-01-01T05:00", "1960-06-01T23:59"], dtype="datetime64[ns]")}
    with pytest.raises(fp.InputError, match="input 't': naive datetime"):
        PLAN.transform(naive)


def test_output_types():
    out = PLAN.transform(table())
    assert out.schema.types == [pa.float64(), pa.int64(), pa.large_string(), pa.int64(), pa.float64(),
                                pa.bool_(), pa.timestamp("us", tz="UTC")]
    assert out.column("f").to_pylist()[0] == float(np.float32(0.1))  # float32 widened exactly


def test_numpy_matrix_matches_arrow_and_rows():
    t = table()
    m = NUMERIC.transform(t, to="numpy")
    assert m.shape == (5, 4) and m.dtype == np.float64
    arrow = NUMERIC.transform(t)
    for j, name in enumerate(NUMERIC.features):
        col = arrow.column(name).to_pylist()
        for i, v in enumerate(col):
            if v is None:
                assert np.isnan(m[i, j])
            else:
                assert np.float64(v).tobytes() == m[i, j].tobytes() or (np.isnan(v) and np.isnan(m[i, j]))
    rows = np.stack([NUMERIC.transform_row(r, to="numpy") for r in t.to_pylist()])
    assert_matrix_identical(m, rows, "matrix vs row vectors")


def test_string_features_cannot_be_a_float_matrix():
    with pytest.raises(fp.InputError, match="cannot be part of a float matrix|string or timestamp"):
        PLAN.transform(table(), to="numpy")
    with pytest.raises(fp.InputError, match="use to='dict'"):
        PLAN.transform_row(table(1).to_pylist()[0], to="numpy")


def test_threads_and_chunks_do_not_change_results():
    rng = np.random.default_rng(0)
    n = 200_003
    big = pa.table({
        "x": rng.normal(size=n), "n": rng.integers(-1000, 1000, n), "s": rng.choice(["a", "bb", "é"], n),
        "t": pa.array(rng.integers(-10**15, 10**15, n), pa.timestamp("us", tz="UTC")),
        "f": rng.normal(size=n).astype(np.float32), "b": rng.random(n) < 0.5,
    })
    one = PLAN.transform(big, threads=1)
    assert_identical(PLAN.transform(big, threads=2), one, "2 threads")
    assert_identical(PLAN.transform(big, threads=0), one, "all cores")
    chunked = pa.Table.from_batches(big.to_batches(max_chunksize=7777))
    assert_identical(PLAN.transform(chunked, threads=2), one, "7777-row batches")


def test_empty_inputs():
    empty = table().slice(0, 0)
    out = PLAN.transform(empty)
    assert out.num_rows == 0 and out.schema.names == PLAN.features
    assert NUMERIC.transform(empty, to="numpy").shape == (0, 4)
    assert PLAN.transform(pa.Table.from_batches([], schema=empty.schema)).num_rows == 0


def test_missing_column_names_it():
    with pytest.raises(fp.InputError, match=r"missing input column\(s\) 'n'"):
        PLAN.transform(table().drop_columns(["n"]))
    with pytest.raises(fp.InputError, match="missing input 'n'"):
        PLAN.transform_row({"x": 1.0, "s": "a", "t": 0, "f": 1.0, "b": True})


def test_wrong_dtype_names_the_input():
    bad = table().set_column(1, "n", pa.array(["1", "2", "3", "4", "5"]))
    with pytest.raises(fp.InputError, match="input 'n': declared int64 but got string values"):
        PLAN.transform(bad)
    with pytest.raises(fp.InputError, match="input 's'"):
        PLAN.transform_row({"x": 1.0, "n": 1, "s": 5, "t": 0, "f": 1.0, "b": True})
    with pytest.raises(fp.InputError, match="input 'x'"):
        PLAN.transform_row({"x": "1.0", "n": 1, "s": "a", "t": 0, "f": 1.0, "b": True})
    with pytest.raises(fp.InputError, match="unsupported value of type"):
        PLAN.transform_row({"x": [1.0], "n": 1, "s": "a", "t": 0, "f": 1.0, "b": True})


def test_uint64_overflow_is_an_error_on_both_paths():
    t = table(2).set_column(1, "n", pa.array([1, 2**63], pa.uint64()))
    with pytest.raises(fp.InputError, match="does not fit int64"):
        PLAN.transform(t)
    with pytest.raises(fp.InputError, match="does not fit int64"):
        PLAN.transform_row({**table(1).to_pylist()[0], "n": 2**63})
    with pytest.raises(fp.InputError, match="does not fit 64 bits"):
        PLAN.transform_row({**table(1).to_pylist()[0], "n": 2**64})


def test_timestamp_units_and_time_zones():
    for unit in ("s", "ms", "us", "ns"):
        # One unit before the epoch, with a non-UTC zone (an instant is an instant).
        t = table(1).set_column(3, "t", pa.array([-1], pa.timestamp(unit, tz="Europe/Lisbon")))
        got = PLAN.transform(t).column("ts")[0].value
        want = {"s": -1_000_000, "ms": -1_000, "us": -1, "ns": -1}[unit]
        assert got == want, unit
    # ns are floored, not truncated toward zero.
    t = table(1).set_column(3, "t", pa.array([-1], pa.timestamp("ns", tz="UTC")))
    assert PLAN.transform(t).column("ts")[0].value == -1
    # Aware datetimes are converted to UTC; naive ones (datetime, numpy datetime64, an
    # Arrow timestamp without a zone) are refused on both paths, in the same words.
    row = table(1).to_pylist()[0]
    lisbon_summer = dt.datetime(2026, 7, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert PLAN.transform_row({**row, "t": lisbon_summer})["hr"] == 11
    naive = "input 't': naive datetime (a timestamp without a time zone) is ambiguous; give it a time zone (e.g. UTC)"
    for value in (dt.datetime(2026, 7, 1, 12), np.datetime64("2026-07-01T13:00:00.123456789")):
        with pytest.raises(fp.InputError) as e:
            PLAN.transform_row({**row, "t": value})
        assert str(e.value) == naive
    for unit in ("s", "ms", "us", "ns"):
        with pytest.raises(fp.InputError) as e:
            PLAN.transform(table(1).set_column(3, "t", pa.array([-1], pa.timestamp(unit))))
        assert str(e.value) == naive
    # pandas' NaT is a null, as it is in an Arrow column.
    assert PLAN.transform_row({**row, "t": pd.NaT})["ts"] is None


def test_seconds_overflow_is_an_error():
    t = table(1).set_column(3, "t", pa.array([2**62], pa.timestamp("s", tz="UTC")))
    with pytest.raises(fp.InputError, match="outside the microsecond range|out of range"):
        PLAN.transform(t)


def test_transform_row_returns_python_values():
    row = table(1).to_pylist()[0]
    out = PLAN.transform_row(row)
    assert out["x2"] == 3.0 and out["n1"] == 2 and out["sl"] == "A" and out["nb"] is False
    assert out["ts"] == dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    assert PLAN.transform_row({**row, "x": None})["x2"] is None


def test_bad_arguments():
    with pytest.raises(fp.InputError, match="cannot read input data"):
        PLAN.transform([1, 2, 3])
    with pytest.raises(fp.InputError, match="threads"):
        PLAN.transform(table(), threads=-1)
    with pytest.raises(fp.InputError, match="to must be"):
        PLAN.transform(table(), to="polars")
    with pytest.raises(fp.InputError, match="different lengths"):
        PLAN.transform({"x": [1.0], "n": [1, 2], "s": ["a"], "t": [0], "f": [1.0], "b": [True]})
