"""The core's row path also reads a row as a list of values in input order (the serving
fast path), and many rows into one matrix; both equal the dict path bit for bit."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import featureplat as fp


@pytest.fixture(scope="module")
def plan():
    fs = fp.FeatureSet("s", inputs={"x": fp.request("float64"), "n": fp.request("int64"), "c": fp.request("string"),
                                    "t": fp.request("timestamp")},
                       features={"a": fp.col("x") * 2, "b": fp.col("n").fill_null(-1), "h": fp.col("c").str.len(),
                                 "d": fp.col("t").dt.hour()})
    return fp.compile(fs)


ROWS = [[1.5, 3, "abc", dt.datetime(2026, 1, 1, 5, tzinfo=dt.timezone.utc)], [None, None, None, None],
        [float("nan"), -(2**63), "", 0], [-0.0, 2**63 - 1, "héllo", 1_000_000 * 3600 * 7]]


def test_list_rows_equal_dict_rows(plan):
    prog = plan._program
    names = plan.input_names
    for r in ROWS:
        want = plan.transform_row(dict(zip(names, r)), to="numpy")
        assert prog.row_vector(r).tobytes() == want.tobytes()
        got, ref = prog.row_dict(r), plan.transform_row(dict(zip(names, r)))
        assert repr(got) == repr(ref)  # NaN != NaN: compare the values' reprs
    matrix = prog.rows_matrix(ROWS)
    assert matrix.shape == (len(ROWS), len(plan.features))
    assert matrix.tobytes() == np.stack([plan.transform_row(dict(zip(names, r)), to="numpy") for r in ROWS]).tobytes()
    assert prog.rows_matrix([]).shape == (0, len(plan.features))


def test_bad_sequence_rows(plan):
    prog = plan._program
    with pytest.raises(fp.InputError, match="must hold 4 values \\(one per input\\), got 3"):
        prog.row_vector([1.0, 2, "x"])
    with pytest.raises(fp.InputError, match="rows must be a list"):
        prog.rows_matrix((ROWS[0],))
    with pytest.raises(fp.InputError, match="a row must be a dict"):
        prog.rows_matrix([5])
    with pytest.raises(fp.InputError, match="a row must be a dict of input name -> value, got list"):
        plan.transform_row(ROWS[0])  # the public API takes dicts only
