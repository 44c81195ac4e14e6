"""Python values handed to the core: a datetime whose utcoffset() answers something other
than a timedelta is refused naming the input and the row, on the batch path as on the row
path (pyarrow used to read it as an offset of that many microseconds); and a conversion
that calls back into Python (a tzinfo) cannot free what the core is reading by mutating
the row, the list of rows or the columns."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

import featureplat as fp

HOUR = fp.compile(fp.FeatureSet("hours", inputs={"t": fp.request("timestamp"), "x": fp.request("float64")},
                                features={"h": fp.col("t").dt.hour(), "x": fp.col("x") + 1}))
UTC = dt.timezone.utc


class IntOffset(dt.datetime):
    """A datetime subclass whose utcoffset() is an int (20 years of seconds)."""

    def utcoffset(self):
        return 631152000


@pytest.mark.parametrize("answer", [631152000, 3.5, "01:00", dt.time(1)])
def test_a_utcoffset_that_is_not_a_timedelta_is_refused_on_every_path(answer):
    cls = type("Odd", (dt.datetime,), {"utcoffset": lambda self: answer})
    value = cls(2020, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    want = f"input 't' row 1: a Odd whose utcoffset() returned {type(answer).__name__}, not a timedelta"
    ok = dt.datetime(2020, 1, 1, tzinfo=UTC)
    runs = {
        "batch": lambda: HOUR.transform({"t": [ok, value], "x": [0.0, 0.0]}),
        "pandas": lambda: HOUR.transform(pd.DataFrame({"t": pd.Series([ok, value], dtype=object), "x": [0.0, 0.0]})),
        "rows": lambda: HOUR._require_program().rows_matrix([[ok, 0.0], [value, 0.0]]),
        "row": lambda: HOUR._require_program().row_dict({"t": value, "x": 0.0}, False, 1),
    }
    for path, run in runs.items():
        with pytest.raises(fp.InputError) as err:
            run()
        assert str(err.value) == want, path


def test_python_datetimes_in_a_batch_read_as_on_the_row_path():
    values = [dt.datetime(2020, 1, 1, 5, tzinfo=dt.timezone(dt.timedelta(hours=-3))), None,
              pd.Timestamp("2021-06-01 23:30", tz="Europe/Lisbon"), pd.NaT]
    got = HOUR.transform({"t": values, "x": [0.0] * 4}).column("h").to_pylist()
    assert got == [8, None, 22, None]
    assert [HOUR.transform_row({"t": v, "x": 0.0})["h"] for v in values] == got
    frame = pd.DataFrame({"t": pd.Series(values, dtype=object), "x": [0.0] * 4})
    assert HOUR.transform(frame).column("h").to_pylist() == got
    with pytest.raises(fp.InputError, match="naive datetime"):
        HOUR.transform({"t": [dt.datetime(2020, 1, 1)], "x": [0.0]})


def _run(code: str) -> subprocess.CompletedProcess:
    # A separate interpreter: before the fix these crashed (use after free), which would
    # take the test run down with them.
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)


PRELUDE = """
import datetime as dt
import featureplat as fp
plan = fp.compile(fp.FeatureSet("t", inputs={"t": fp.request("timestamp"), "x": fp.request("float64")},
                                features={"h": fp.col("t").dt.hour(), "x": fp.col("x") + 1}))
class Hostile(dt.tzinfo):
    def __init__(self, victim):
        self.victim = victim
    def utcoffset(self, d):
        self.victim.clear()  # frees the rows (or values) the core is converting
        return dt.timedelta(hours=1)
    def dst(self, d):
        return None
"""


def test_rows_matrix_survives_a_callback_that_empties_the_list_of_rows():
    done = _run(PRELUDE + """
rows = []
rows.extend([[dt.datetime(2020, 1, 1, 5, tzinfo=Hostile(rows)), 1.0], [dt.datetime(2020, 1, 1, 6), 2.0]])
try:
    plan._require_program().rows_matrix(rows)  # the second row is still read: refused as naive
except fp.InputError as err:
    print("refused:", err)
rows = []
rows.extend([[dt.datetime(2020, 1, 1, 5, tzinfo=Hostile(rows)), 1.0], [dt.datetime(2020, 1, 1, 7, tzinfo=dt.timezone.utc), 2.0]])
print(plan._require_program().rows_matrix(rows).tolist())
""")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "refused: input 't': naive datetime" in done.stdout
    assert "[[4.0, 2.0], [7.0, 3.0]]" in done.stdout


def test_row_dict_survives_a_callback_that_empties_the_row():
    done = _run(PRELUDE + """
row = {"x": 1.0}
row["t"] = dt.datetime(2020, 1, 1, 9, tzinfo=Hostile(row))
print(plan.transform_row(row))
seq = [None, 2.0]
seq[0] = dt.datetime(2020, 1, 1, 9, tzinfo=Hostile(seq))
print(plan._require_program().row_dict(seq, False, 0))
seq = [None, 2.0]
seq[0] = dt.datetime(2020, 1, 1, 9, tzinfo=Hostile(seq))
print(plan._require_program().row_vector(seq, 0).tolist())
""")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["{'h': 8, 'x': 2.0}", "{'h': 8, 'x': 3.0}", "[8.0, 3.0]"]


def test_a_batch_of_datetimes_survives_a_callback_that_empties_the_column():
    done = _run(PRELUDE + """
column = []
column.extend([dt.datetime(2020, 1, 1, 9, tzinfo=Hostile(column)), dt.datetime(2020, 1, 1, 10, tzinfo=dt.timezone.utc)])
print(plan.transform({"t": column, "x": [0.0, 0.0]}).column("h").to_pylist())
""")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[-1] == "[8, 10]"


def test_the_earliest_timestamp_converts_without_overflow():
    # Found by UBSan: the seconds of the day were computed as us - days * 86400000000,
    # which overflows for INT64_MIN; it is floor_mod now (defined for every int64).
    plan = fp.compile(fp.FeatureSet("ts", inputs={"t": fp.request("timestamp")}, features={"t": fp.col("t")}))
    program = plan._require_program()
    assert program.row_dict({"t": -2**63}, True, 0) == {"t": -2**63}
    with pytest.raises(fp.InputError, match="outside Python's datetime range"):
        program.row_dict({"t": -2**63}, False, 0)
    assert plan.transform({"t": [-2**63, 2**63 - 1]}).column("t").cast("int64").to_pylist() == [-2**63, 2**63 - 1]
