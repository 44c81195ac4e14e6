import hashlib
import json
import random
import struct
import subprocess
import sys

import pytest

import featureplat as fp
from featureplat.plan.plan import MAGIC, _HEADER, canonical_json
from featureplat.testing.parity import assert_identical

INPUTS = {"x": fp.request("float64"), "s": fp.feast("profile:city", "string"), "t": fp.request("timestamp")}


def make_plan(**overrides):
    feats = {
        "a": (fp.col("x") * 0.1 + 3).log1p(),
        "b": fp.col("s").str.lower().hash_bucket(32),
        "c": fp.col("x").bucketize([0.0, 1.5, float("inf")]),
        "d": fp.col("s").map({"lisbon": 1.0, "porto": float("nan")}, -0.0),
        "e": fp.col("t").dt.hour(),
    }
    feats.update(overrides)
    return fp.compile(fp.FeatureSet("io", inputs=INPUTS, features=feats))


def with_body(doc: dict, meta=None) -> bytes:
    body = canonical_json({"meta": meta or {"featureplat_version": "test"}, "plan": doc})
    return _HEADER.pack(MAGIC, fp.FORMAT_VERSION, len(body), hashlib.sha256(body).digest()) + body


def test_round_trip(tmp_path):
    plan = make_plan()
    path = plan.save(tmp_path / "p.fpplan")
    loaded = fp.load_plan(path)
    assert loaded == plan
    assert loaded.plan_hash == plan.plan_hash
    assert canonical_json(loaded.to_dict()) == canonical_json(plan.to_dict())  # NaN-safe
    data = {"x": [0.5, None, float("nan")], "s": ["Lisbon", "PORTO", None], "t": [0, 3_600_000_000, None]}
    import pyarrow as pa
    data["t"] = pa.array(data["t"], pa.timestamp("us", tz="UTC"))
    assert_identical(loaded.transform(data), plan.transform(data))


def test_hash_is_stable_across_processes():
    code = (
        "import sys; sys.path.insert(0, %r); from test_plan_io import make_plan; print(make_plan().plan_hash)"
        % str(__import__("pathlib").Path(__file__).parent)
    )
    hashes = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
              for _ in range(2)}
    assert hashes == {make_plan().plan_hash}
    assert len(next(iter(hashes))) == 64


@pytest.mark.parametrize("change", [
    {"a": (fp.col("x") * 0.1 + 4).log1p()},                    # a literal
    {"a": (fp.col("x") * 0.1 + 3).log()},                      # an op
    {"b": fp.col("s").str.lower().hash_bucket(33)},            # a parameter
    {"c": fp.col("x").bucketize([0.0, 1.5000000000000002, float("inf")])},  # one ulp
    {"d": fp.col("s").map({"lisbon": 1.0, "porto": float("nan")}, 0.0)},   # -0.0 vs 0.0
    {"z": fp.col("x")},                                        # a new feature
])
def test_hash_changes_with_any_definition_change(change):
    assert make_plan(**change).plan_hash != make_plan().plan_hash


def test_hash_changes_with_input_binding_and_name():
    base = fp.compile(fp.FeatureSet("io", inputs=INPUTS, features={"a": fp.col("x")})).plan_hash
    other = fp.compile(fp.FeatureSet("io", inputs={**INPUTS, "s": fp.feast("profile:town", "string")},
                                     features={"a": fp.col("x")}))
    assert other.plan_hash != base
    renamed = fp.compile(fp.FeatureSet("io2", inputs=INPUTS, features={"a": fp.col("x")}))
    same = fp.compile(fp.FeatureSet("io", inputs=INPUTS, features={"a": fp.col("x")}))
    assert renamed.plan_hash != same.plan_hash


def test_truncated_file(tmp_path):
    blob = make_plan().to_bytes()
    for cut in (0, 5, _HEADER.size - 1, _HEADER.size, len(blob) - 1):
        with pytest.raises(fp.PlanError, match="truncated"):
            fp.plan_from_bytes(blob[:cut])


def test_bit_flip_is_detected():
    blob = bytearray(make_plan().to_bytes())
    blob[_HEADER.size + 10] ^= 0x04
    with pytest.raises(fp.PlanError, match="checksum mismatch"):
        fp.plan_from_bytes(bytes(blob))


def test_two_gigabyte_length_field():
    blob = bytearray(make_plan().to_bytes())
    struct.pack_into("<Q", blob, 12, 2 * 1024**3)
    with pytest.raises(fp.PlanError, match="exceeds the .*limit"):
        fp.plan_from_bytes(bytes(blob))


def test_bad_magic_and_version():
    blob = bytearray(make_plan().to_bytes())
    with pytest.raises(fp.PlanError, match="bad magic"):
        fp.plan_from_bytes(b"PK\x03\x04" + bytes(blob[4:]))
    struct.pack_into("<I", blob, 8, 99)
    with pytest.raises(fp.PlanError, match="format version 99 is not supported"):
        fp.plan_from_bytes(bytes(blob))


def test_unknown_op_in_a_well_formed_file():
    doc = make_plan().to_dict()
    doc["steps"][-1]["op"] = "launch_missiles"
    with pytest.raises(fp.PlanError, match="unknown op 'launch_missiles'"):
        fp.plan_from_bytes(with_body(doc))


def test_semantic_tampering_is_rejected():
    # A step reading a later step (a cycle), then a wrong recorded dtype.
    bad = make_plan().to_dict()
    bad["steps"][1]["args"] = [len(bad["steps"]) - 1]
    with pytest.raises(fp.PlanError):
        fp.plan_from_bytes(with_body(bad))
    bad = make_plan().to_dict()
    bad["steps"][-1]["dtype"] = "string"
    with pytest.raises(fp.PlanError, match="recorded type"):
        fp.plan_from_bytes(with_body(bad))


def test_non_canonical_float_text_is_rejected():
    blob = make_plan().to_bytes()
    body = blob[_HEADER.size:].replace(b'"value":"0.1"', b'"value":"1e-1"')
    assert body != blob[_HEADER.size:]
    fixed = _HEADER.pack(MAGIC, fp.FORMAT_VERSION, len(body), hashlib.sha256(body).digest()) + body
    with pytest.raises(fp.PlanError, match="canonical"):
        fp.plan_from_bytes(fixed)


def test_deeply_nested_json_is_a_plan_error():
    body = b'{"meta":{},"plan":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    blob = _HEADER.pack(MAGIC, fp.FORMAT_VERSION, len(body), hashlib.sha256(body).digest()) + body
    with pytest.raises(fp.PlanError):
        fp.plan_from_bytes(blob)


def test_missing_file_is_a_plan_error(tmp_path):
    with pytest.raises(fp.PlanError, match="cannot read plan file"):
        fp.load_plan(tmp_path / "none.fpplan")


def _mutate(rng: random.Random, blob: bytes, doc: dict) -> bytes:
    kind = rng.randrange(6)
    b = bytearray(blob)
    if kind == 0:  # raw bit flips anywhere
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
        return bytes(b)
    if kind == 1:  # truncate or extend
        return bytes(b[: rng.randrange(len(b))]) if rng.random() < 0.7 else bytes(b) + b"\x00" * rng.randint(1, 9)
    if kind == 2:  # random header fields
        struct.pack_into("<Q", b, 12, rng.choice([0, 1, len(b), 2**31, 2**63, rng.getrandbits(64)]))
        return bytes(b)
    # Structural edits with a valid checksum: what a hostile writer would do.
    d = json.loads(canonical_json(doc))
    steps = d["steps"]
    st = rng.choice(steps)
    edit = rng.randrange(8)
    if edit == 0:
        st["op"] = rng.choice(["add", "log", "map", "cast", "input", "const", "nope", ""])
    elif edit == 1:
        st["args"] = [rng.choice([-1, 0, len(steps), 2**40, "x", None]) for _ in range(rng.randint(0, 3))]
    elif edit == 2:
        st["params"] = rng.choice([{}, {"n": {"dtype": "int64", "value": -5}}, {"value": 3}, [], None,
                                   {"index": {"dtype": "int64", "value": 99}},
                                   {"boundaries": [{"dtype": "float64", "value": "nan"}]}])
    elif edit == 3:
        st["dtype"] = rng.choice(["int32", "", None, 5, "string"])
    elif edit == 4:
        d["outputs"].append({"name": rng.choice(["a", "new"]), "step": rng.choice([0, -1, 10**6])})
    elif edit == 5:
        d["inputs"][0]["dtype"] = rng.choice(["float16", None, "timestamp", 1])
    elif edit == 6:
        del d[rng.choice(["inputs", "steps", "outputs", "name"])]
    else:
        st.pop(rng.choice(["op", "args", "params"]), None)
    body = json.dumps({"meta": {}, "plan": d}, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return _HEADER.pack(MAGIC, fp.FORMAT_VERSION, len(body), hashlib.sha256(body).digest()) + body


def test_fuzz_mutated_plan_files_only_raise_plan_error():
    plan = make_plan()
    blob = plan.to_bytes()
    doc = plan.to_dict()
    rng = random.Random(1234)
    outcomes = {"rejected": 0, "accepted": 0}
    for _ in range(3000):
        mutated = _mutate(rng, blob, doc)
        try:
            loaded = fp.plan_from_bytes(mutated)
        except fp.PlanError:
            outcomes["rejected"] += 1
            continue
        # A mutation that still forms a valid plan must also run.
        outcomes["accepted"] += 1
        import pyarrow as pa
        data = {"x": [1.0], "s": ["a"], "t": pa.array([0], pa.timestamp("us", tz="UTC"))}
        try:
            loaded.transform(data)
        except fp.InputError:
            pass
    assert outcomes["rejected"] > 2000, outcomes
