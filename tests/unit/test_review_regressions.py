"""Regressions found in review: concurrency on the row path, hostile plans, silent clashes."""
import datetime as dt
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import featureplat as fp


class SlowZone(dt.tzinfo):
    """A pure-Python time zone: its utcoffset runs Python code (and can switch threads)."""

    def utcoffset(self, d):
        sum(range(50))
        return dt.timedelta(hours=2)

    def dst(self, d):
        return dt.timedelta(0)


def test_transform_row_is_correct_under_thread_switches():
    plan = fp.compile(fp.FeatureSet("r", inputs={"s": fp.request("string"), "t": fp.request("timestamp")},
                                    features={"u": fp.col("s").str.upper(), "h": fp.col("t").dt.hour()}))
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    wrong = []

    def work(k):
        for i in range(400):
            s = f"req{k}-{i}"
            out = plan.transform_row({"s": s, "t": dt.datetime(2026, 1, 1, (k + i) % 24, tzinfo=SlowZone())})
            if out["u"] != s.upper() or out["h"] != ((k + i) % 24 - 2) % 24:
                wrong.append((s, out))

    try:
        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert wrong == []


def test_memory_exhaustion_is_an_error_not_a_crash():
    code = textwrap.dedent("""
        import resource
        import featureplat as fp
        resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))
        e = fp.col("s")
        for _ in range(22):  # each step doubles the string: 4 GB per row at the end
            e = e.str.concat(e)
        plan = fp.compile(fp.FeatureSet("h", inputs={"s": fp.request("string")}, features={"big": e}))
        try:
            plan.transform({"s": ["a" * 1000] * 5000}, threads=2)
        except (fp.FeatureplatError, MemoryError) as err:
            print("error:", type(err).__name__)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "error:" in proc.stdout


def test_unused_inputs_are_checked_alike_on_both_paths():
    plan = fp.compile(fp.FeatureSet("u", inputs={"x": fp.request("int64"), "y": fp.request("float64")},
                                    features={"z": fp.col("y") * 2}))
    import pyarrow as pa
    batch = plan.transform({"x": pa.array([2**64 - 1], pa.uint64()), "y": [1.0]})
    assert batch.column("z").to_pylist() == [2.0]
    assert plan.transform_row({"x": 2**64 - 1, "y": 1.0}) == {"z": 2.0}
    with pytest.raises(fp.InputError, match="input 'x'"):
        plan.transform_row({"x": "not a number", "y": 1.0})


def test_one_hot_columns_cannot_shadow_another_feature():
    fs = fp.FeatureSet("o", inputs={"s": fp.request("string")},
                       features={"c": fp.col("s").one_hot(), "c__a": fp.col("s").str.len()})
    with pytest.raises(fp.PlanError, match="'c__a'"):
        fp.compile(fs).fit({"s": ["a", "b"]})


def test_plan_copies_its_document():
    doc = fp.compile(fp.FeatureSet("d", inputs={"x": fp.request("float64")},
                                   features={"y": fp.col("x") + 1})).to_dict()
    plan = fp.Plan(doc)
    before = plan.plan_hash
    doc["steps"][2]["op"] = "sub"
    assert plan.plan_hash == before
    assert fp.plan_from_bytes(plan.to_bytes()).transform_row({"x": 1.0}) == {"y": 2.0}


def test_load_plan_reads_regular_files_only(tmp_path):
    with pytest.raises(fp.PlanError, match="not a regular file"):
        fp.load_plan("/dev/zero")
    with pytest.raises(fp.PlanError, match="not a regular file"):
        fp.load_plan(tmp_path)
    with pytest.raises(fp.PlanError, match="expects a path"):
        fp.load_plan(None)


def test_transform_row_rejects_non_mappings():
    plan = fp.compile(fp.FeatureSet("n", inputs={"x": fp.request("float64")}, features={"y": fp.col("x")}))
    for bad in (None, "x", [("x", 1.0)]):
        with pytest.raises(fp.InputError, match="must be a dict"):
            plan.transform_row(bad)


def test_refitting_keeps_the_frozen_statistics():
    fs = fp.FeatureSet("f", inputs={"x": fp.request("float64")}, features={"z": fp.col("x").standard_scale()})
    fitted = fp.compile(fs).fit({"x": [1.0, 3.0]})
    again = fitted.fit({"x": [10.0]})
    assert again.statistics() == fitted.statistics()
    assert again.plan_hash == fitted.plan_hash


def test_deep_expressions_are_plan_errors():
    e = fp.col("x")
    for _ in range(5000):
        e = e + 1.0
    with pytest.raises(fp.PlanError, match="nested too deeply"):
        fp.compile(fp.FeatureSet("deep", inputs={"x": fp.request("float64")}, features={"y": e}))


def test_oversized_plans_are_rejected():
    steps = [{"op": "input", "args": [], "params": {"index": {"dtype": "int64", "value": 0}}, "dtype": "float64"}
             for _ in range(25_000)]
    doc = {"format_version": fp.FORMAT_VERSION, "name": "big", "fitted": [],
           "inputs": [{"name": "x", "dtype": "float64", "source": "request"}], "steps": steps,
           "outputs": [{"name": "y", "step": 0}]}
    with pytest.raises(fp.PlanError, match="over the limit"):
        fp.Plan(doc)


def test_transform_row_vector_matches_batch_under_threads():
    plan = fp.compile(fp.FeatureSet("v", inputs={"x": fp.request("float64")},
                                    features={"a": fp.col("x").log1p(), "b": fp.col("x") * 3}))
    xs = np.linspace(0, 10, 2000)
    want = plan.transform({"x": xs}, to="numpy")
    got = [None] * len(xs)

    def work(lo, hi):
        for i in range(lo, hi):
            got[i] = plan.transform_row({"x": float(xs[i])}, to="numpy")

    ts = [threading.Thread(target=work, args=(k * 500, (k + 1) * 500)) for k in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert np.stack(got).tobytes() == want.tobytes()
