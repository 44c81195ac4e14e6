"""The plan loader under hostile files: every defect is a PlanError naming the file (never
a TypeError, UnicodeEncodeError or RecursionError), the structural limits (README
"Limits") are checked before the body is parsed, and a body near the 64 MiB limit loads or
is refused in seconds."""
from __future__ import annotations

import hashlib
import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import featureplat as fp
import featureplat.plan.plan as plan_module
from featureplat import _core
from featureplat.plan.plan import MAGIC, _HEADER, canonical_json


def _file(body: bytes) -> bytes:
    return _HEADER.pack(MAGIC, fp.FORMAT_VERSION, len(body), hashlib.sha256(body).digest()) + body


def _doc(**changes) -> dict:
    plan = fp.compile(fp.FeatureSet("loader", inputs={"s": fp.request("string"), "x": fp.request("float64")},
                                    features={"n": fp.col("s").str.len(), "y": fp.col("x") * 0.5}))
    doc = plan.to_dict()
    doc.update(changes)
    return doc


def _write(tmp_path, doc: dict, meta=None):
    path = tmp_path / "hostile.fpplan"
    path.write_bytes(_file(canonical_json({"meta": {} if meta is None else meta, "plan": doc})))
    return path


def _refused(path, match: str) -> fp.PlanError:
    with pytest.raises(fp.PlanError, match=match) as err:
        fp.load_plan(path)
    assert str(err.value).startswith(f"{path}: "), "the file is named"
    assert not getattr(err.value, "unexpected", False), "a defect the loader names, not its safety net"
    return err.value


def test_an_op_of_the_wrong_type_is_a_plan_error(tmp_path):
    # Before: TypeError (unhashable list) from the fitted-op lookup.
    for op in (["log"], {"op": "log"}, 3, None):
        doc = _doc()
        doc["steps"][1]["op"] = op
        _refused(_write(tmp_path, doc), r"steps\[1\]: op and dtype must be strings")


@pytest.mark.parametrize(("where", "value", "match"), [
    ("name", 5, "plan 'name' must be a str"),
    ("format_version", "3", "'format_version' must be an int"),
    ("inputs", [{"dtype": "string", "name": 7, "source": "request"}], r"inputs\[0\] must have exactly"),
    ("outputs", [{"name": "n", "step": "1"}], r"outputs\[0\] must have exactly"),
    ("outputs", [{"name": "n", "step": 99}], r"outputs\[0\] refers to missing step 99"),
    ("fitted", [{"expression": "x", "features": ["y"], "rows": 5, "statistics": {}, "transform": "t"}],
     r"fitted\[0\]\.rows: a scalar must be an object"),
    ("fitted", [{"expression": "x", "features": [1], "rows": {"dtype": "int64", "value": 1}, "statistics": {},
                 "transform": "t"}], r"fitted\[0\] is malformed"),
])
def test_fields_of_the_wrong_type_are_plan_errors(tmp_path, where, value, match):
    _refused(_write(tmp_path, _doc(**{where: value})), match)


@pytest.mark.parametrize("scalar", [
    {"dtype": "int64", "value": True}, {"dtype": "int64", "value": 2**63}, {"dtype": "bool", "value": 1},
    {"dtype": "float64", "value": 0.5}, {"dtype": "float64", "value": "1e-1"}, {"dtype": "string", "value": 1},
    {"dtype": "decimal", "value": 1}, {"dtype": ["int64"], "value": 1}, {"dtype": "null", "value": 0},
    {"value": 1}, [], "x",
])
def test_malformed_scalars_are_plan_errors(tmp_path, scalar):
    doc = _doc()
    doc["steps"][0]["params"]["index"] = "SCALAR"
    text = json.dumps(scalar, sort_keys=True, separators=(",", ":")).encode()
    body = canonical_json({"meta": {}, "plan": doc}).replace(b'"SCALAR"', text)
    path = tmp_path / "hostile.fpplan"
    path.write_bytes(_file(body))
    _refused(path, r"steps\[0\]\.params\.index|bare JSON number|parameter 'index'")


@pytest.mark.parametrize("field", ["name", "input", "feature", "param"])
def test_a_lone_surrogate_escape_is_a_plan_error(tmp_path, field):
    # Before: UnicodeEncodeError from re-encoding the text, for a body that is valid UTF-8
    # (the JSON escape \ud800 is plain ASCII).
    doc = _doc()
    if field == "name":
        doc["name"] = "MARK"
    elif field == "input":
        doc["inputs"][0]["name"] = "MARK"
    elif field == "feature":
        doc["outputs"][0]["name"] = "MARK"
    else:
        doc["steps"].append({"args": [0], "dtype": "bool", "op": "str_contains",
                             "params": {"pattern": {"dtype": "string", "value": "MARK"}}})
    body = canonical_json({"meta": {}, "plan": doc}).replace(b"MARK", b"a\\ud800")
    path = tmp_path / "hostile.fpplan"
    path.write_bytes(_file(body))
    _refused(path, r"escaped surrogate \(\\ud800\)")
    # The same text given as a document is refused too, before it is encoded.
    doc = json.loads(body)["plan"]
    with pytest.raises(fp.PlanError, match="not valid UTF-8"):
        fp.Plan(doc)


@pytest.mark.parametrize("where", ["meta", "plan", "params"])
def test_deep_nesting_is_a_plan_error(tmp_path, where):
    # Before: RecursionError from re-serializing a metadata section nested 450 deep (json
    # parses it; the Python walk that wrote it back ran out of stack).
    doc = _doc()
    meta = {}
    if where == "meta":
        meta = {"x": "DEEP"}
    elif where == "plan":
        doc["name"] = "DEEP"
    else:
        doc["steps"][0]["params"]["index"] = "DEEP"
    body = canonical_json({"meta": meta, "plan": doc}).replace(b'"DEEP"', b"[" * 450 + b"]" * 450)
    path = tmp_path / "hostile.fpplan"
    path.write_bytes(_file(body))
    _refused(path, "nested too deeply")


def test_messages_quoting_bytes_that_are_not_utf8_stay_plan_errors(tmp_path):
    # Found by fuzzing: a message quoting a stray byte (or a parameter cut inside a
    # character) failed to become a Python str, and a UnicodeDecodeError escaped.
    path = tmp_path / "stray.fpplan"
    path.write_bytes(_file(b'{"meta":{},"plan":\xbb}'))
    _refused(path, "unexpected character 0xbb")
    doc = _doc()
    key = {"dtype": "string", "value": "a" + "é" * 30}  # byte 40 falls inside an "é"
    doc["steps"].append({"args": [0], "dtype": "int64", "op": "map",
                         "params": {"keys": [key, key], "values": [{"dtype": "int64", "value": 1}] * 2}})
    err = _refused(_write(tmp_path, doc), "duplicate key")
    str(err).encode("utf-8")


def test_metadata_must_be_an_object_of_strings(tmp_path):
    _refused(_write(tmp_path, _doc(), meta={"featureplat_version": {"x": "1"}}), "'meta' must be an object of strings")
    assert fp.load_plan(_write(tmp_path, _doc(), meta={"featureplat_version": "9"})).features == ["n", "y"]


def test_the_loaders_safety_net_is_marked(monkeypatch, tmp_path):
    # A defect no check names is still a PlanError naming the file, marked so that the
    # fuzz target (fuzz/fuzz_plan_loader.py) reports it.
    path = _write(tmp_path, _doc())

    def broken(doc):
        raise KeyError("surprise")

    monkeypatch.setattr(plan_module, "_read_document", broken)
    with pytest.raises(fp.PlanError, match=r"malformed plan file \(KeyError") as err:
        fp.load_plan(path)
    assert err.value.unexpected is True
    assert str(err.value).startswith(str(path))


def _splice(n_keys: int, pad: int = 0) -> bytes:
    """A canonical body: one map step with `n_keys` string keys and int values (2 scalars
    per key), and a constant of `pad` bytes, built as text (no 1M dicts in Python)."""
    keys = ",".join('{"dtype":"string","value":"k%07d"}' % i for i in range(n_keys))
    values = ",".join('{"dtype":"int64","value":%d}' % i for i in range(n_keys))
    doc = {"fitted": [], "format_version": fp.FORMAT_VERSION, "name": "near_limit",
           "inputs": [{"dtype": "string", "name": "s", "source": "request"}],
           "outputs": [{"name": "v", "step": 1}, {"name": "pad", "step": 2}],
           "steps": [{"args": [], "dtype": "string", "op": "input", "params": {"index": {"dtype": "int64", "value": 0}}},
                     {"args": [0], "dtype": "int64", "op": "map", "params": {"keys": ["KEYS"], "values": ["VALUES"]}},
                     {"args": [], "dtype": "string", "op": "const", "params": {"value": {"dtype": "string",
                                                                                         "value": "PAD"}}}]}
    body = canonical_json({"meta": {}, "plan": doc})
    return (body.replace(b'"KEYS"', keys.encode()).replace(b'"VALUES"', values.encode())
            .replace(b'"PAD"', b'"' + b"p" * pad + b'"'))


def test_a_plan_near_the_size_limit_loads_in_seconds():
    # Before: a 65 MB plan took 48 s and 2.5 GB. Half a million keys and values (every
    # scalar the limit allows) plus a constant up to 60 MiB: parsing it into Python objects
    # (json.loads) is the floor; the checks, the walk and the core's binding add about as
    # much again, never a multiple of the size.
    body = _splice(_core.MAX_PLAN_SCALARS // 2 - 1, pad=60 * 2**20 - 40 * 2**20)
    assert 50 * 2**20 < len(body) <= plan_module.MAX_PLAN_BYTES
    blob = _file(body)
    started = time.perf_counter()
    json.loads(body)
    floor = time.perf_counter() - started
    started = time.perf_counter()
    plan = fp.plan_from_bytes(blob)
    took = time.perf_counter() - started
    assert plan.transform_row({"s": "k0000007"})["v"] == 7
    assert took < 5 * floor + 3, (took, floor)
    assert took < 60


@pytest.mark.parametrize(("body", "match"), [
    (b'{"meta":{},"plan":{"x":[' + b"[]," * 20_000_000 + b"[]]}}", "more than 4000000 JSON values"),
    (b'{"meta":{},"plan":{"x":[' + b'{"dtype":"int64","value":0},' * 2_000_000 + b"0]}}", "2000000 scalars"),
    (b'{"meta":{},"plan":{"x":' + b"[" * 30_000_000 + b"]" * 30_000_000 + b"}}", "nested too deeply"),
    (b'{"meta":{},"plan":{"x":[' + b"1 ," * 20_000_000 + b"0]}}", "not in canonical form"),
])
def test_hostile_bodies_are_refused_before_they_are_parsed(body, match):
    # Parsing 20 million empty arrays into Python objects alone takes ten seconds.
    blob = _file(body[:plan_module.MAX_PLAN_BYTES])
    started = time.perf_counter()
    with pytest.raises(fp.PlanError, match=match):
        fp.plan_from_bytes(blob)
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize(("edit", "match"), [
    (lambda d: d.update(steps=d["steps"] * (_core.MAX_PLAN_STEPS // 2 + 1)), "over the limit of 20000"),
    (lambda d: d["inputs"].extend({"dtype": "int64", "name": f"i{k}", "source": "request"}
                                  for k in range(_core.MAX_PLAN_INPUTS)), "20002 inputs, over the limit of 20000"),
    (lambda d: d["outputs"].extend({"name": f"o{k}", "step": 0} for k in range(_core.MAX_PLAN_OUTPUTS)),
     "20002 outputs, over the limit of 20000"),
    (lambda d: d["steps"].append({"args": [0] * 1025, "dtype": "string", "op": "str_concat", "params": {}}),
     "1025 arguments, over the limit of 1024"),
])
def test_structural_limits_are_plan_errors(tmp_path, edit, match):
    doc = _doc()
    edit(doc)
    _refused(_write(tmp_path, doc), match)


def _json_values():
    scalars = st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70) | st.text(max_size=8)
    return st.recursive(scalars, lambda kids: st.lists(kids, max_size=4) |
                        st.dictionaries(st.text(max_size=4), kids, max_size=4), max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(_json_values())
def test_the_cores_canonical_check_agrees_with_json_dumps(value):
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    _core.check_plan_json(canonical)
    for variant in (json.dumps(value, sort_keys=True, ensure_ascii=False).encode(),
                    json.dumps(value, sort_keys=True, separators=(",", ":")).encode(),
                    json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()):
        if variant == canonical:
            _core.check_plan_json(variant)
        else:
            with pytest.raises(fp.PlanError, match="canonical|surrogate"):
                _core.check_plan_json(variant)
