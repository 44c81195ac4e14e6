"""The validation core: rule verdicts and batch expectations computed by the core, counts
that reconcile, and the batch pass equal to the row path on edge values."""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import featureplat as fp
from featureplat.validation import Validator, compile_expectations, row_verdict

T = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
COLUMNS = {"x": "float64", "n": "int64", "t": "string", "e": "timestamp", "s": "timestamp"}


def _expectations():
    return fp.Expectations("v", rules={
        "x_range": fp.col("x").between(0, 10),
        "tier": fp.col("t").is_in(["a", "b"]),
        "n_small": fp.col("n").is_in([0, 1, -(2**63)]),
        "order": fp.Rule(fp.col("e") >= fp.col("s"), null="pass"),
        "warned": fp.Rule(fp.col("x") < 5, severity="warn"),
        "present": ~fp.col("t").is_null(),
    }, batch={"rows": fp.expect.row_count(min=1), "nulls": fp.expect.null_fraction("t", max=0.5),
              "distinct": fp.expect.distinct_count("t", max=3), "top": fp.expect.max("x", max=9)})


def _brute(row: dict) -> dict:
    """Each rule by definition, in plain Python (null verdict = failure unless null='pass')."""
    x, n, t, e, s = (row[k] for k in ("x", "n", "t", "e", "s"))
    return {
        "x_range": x is not None and not math.isnan(x) and 0 <= x <= 10,
        "tier": t in ("a", "b"),
        "n_small": n in (0, 1, -(2**63)),
        "order": e is None or s is None or e >= s,
        "warned": x is not None and not math.isnan(x) and x < 5,
        "present": t is not None,
    }


floats = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([-0.0, 0.0, 10.0]))
ints = st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.sampled_from([0, 1, -(2**63)]))
texts = st.one_of(st.none(), st.sampled_from(["a", "b", "", "A", "c"]), st.text(max_size=3))
times = st.one_of(st.none(), st.integers(-(2**40), 2**40).map(lambda s: T + dt.timedelta(microseconds=s)))
rows = st.fixed_dictionaries({"x": floats, "n": ints, "t": texts, "e": times, "s": times})


@settings(max_examples=60, deadline=None)
@given(st.lists(rows, max_size=40), st.integers(1, 3))
def test_verdicts_equal_brute_force_and_row_path_and_counts_reconcile(batch, threads):
    rs = compile_expectations(_expectations(), COLUMNS)
    v = Validator(rs, threads=threads)
    table = pa.table({k: pa.array([r[k] for r in batch], {"x": pa.float64(), "n": pa.int64(), "t": pa.string(),
                                                          "e": pa.timestamp("us", "UTC"),
                                                          "s": pa.timestamp("us", "UTC")}[k]) for k in COLUMNS})
    verdict = v.check(table)
    for i, row in enumerate(batch):
        want = _brute(row)
        got = dict(zip(rs.rules, verdict.passed[i].tolist()))
        assert got == want, row
        assert bool(verdict.ok[i]) == all(want[r] for r in rs.reject_rules)
        rv = row_verdict(rs, row)
        assert rv.ok == bool(verdict.ok[i]) and set(rv.failed) == {r for r, p in want.items() if not p}
    r = v.result()
    assert r.rows == len(batch) == r.accepted + r.quarantined
    assert r.accepted == int(np.sum(verdict.ok))
    for name in rs.rules:
        assert r.rules[name]["failed"] == sum(not _brute(row)[name] for row in batch)
    nulls = sum(row["t"] is None for row in batch)
    if batch:
        assert r.expectations["nulls"]["value"] == nulls / len(batch)
        assert r.expectations["distinct"]["value"] == len({row["t"] for row in batch if row["t"] is not None})
    assert r.expectations["rows"]["passed"] == bool(batch)


def test_profile_merges_over_chunks_exactly():
    rs = compile_expectations(_expectations(), COLUMNS)
    data = pa.table({"x": [1.0, 20.0, None, 3.0], "n": [0, 5, None, 1], "t": ["a", "z", None, "b"],
                     "e": [T] * 4, "s": [T] * 4})
    whole, parts = Validator(rs), Validator(rs, threads=2)
    whole.check(data)
    for k in range(4):
        parts.check(data.slice(k, 1))
    assert whole.result().to_dict() == parts.result().to_dict()
    assert whole.result().expectations["top"] == {**whole.result().expectations["top"], "value": 20.0,
                                                  "passed": False}


@pytest.mark.parametrize("ex, message", [
    (fp.Expectations("v", rules={"r": fp.col("nope") > 0}), "rule 'r' of view 'v' reads column 'nope'"),
    (fp.Expectations("v", rules={"r": fp.col("x") + 1}), "rule 'r' of view 'v' is a float64 expression"),
    (fp.Expectations("v", batch={"b": fp.expect.distinct_count("x", max=3)}), "distinct_count of float64"),
    (fp.Expectations("v", batch={"b": fp.expect.oov_fraction("t", max=0.1)}), "give a fitted plan"),
    (fp.Expectations("v", rules={"r": fp.col("x").standard_scale() > 0}), "fitted transform"),
])
def test_bad_rules_are_refused_naming_them(ex, message):
    with pytest.raises(fp.PlanError, match=message.replace("(", r"\(")):
        compile_expectations(ex, COLUMNS)
