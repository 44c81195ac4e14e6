"""The C++ core must agree with the pure-Python reference interpreter.

For every registered op and every argument-type combination the core accepts, random
rows (biased towards edge values) are run through ``core.Program.row_dict`` and through
``featureplat.testing.reference.evaluate``; results must be identical bit for bit (NaN
matches NaN whatever its sign or payload, 0.0 does not match -0.0), except for ops whose
registry entry is ``transcendental``, which may differ by one ulp.  Random expression
trees check composition, the optimizer's typing / rewriting and constant folding.
"""
from __future__ import annotations

import datetime
import json
import os
import struct
import subprocess
import sys
import textwrap

import featureplat._core as core
import numpy as np
import pyarrow as pa
import pytest
import xxhash
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from featureplat.errors import InputError
from featureplat.testing import reference
from featureplat.testing import strategies as fst
from featureplat.testing.reference import INT64_MAX, INT64_MIN

# ---------------------------------------------------------------------------------------
# discovery of the supported argument types
# ---------------------------------------------------------------------------------------


OP_SPECS = {o["name"]: o for o in core.ops()}
TESTED_OPS = sorted(n for n in OP_SPECS
                    if n not in reference.STRUCTURAL_OPS and OP_SPECS[n]["family"] != "fitted")
COMBOS = fst.supported_combinations()
assert COMBOS, "no op/type combination compiled"


def _combo_id(c: dict) -> str:
    s = f"{c['op']}({','.join(c['arg_dtypes'])})"
    return s + (f"[{c['variant']}]" if c["variant"] else "")


CASES = {"started": 0, "run": 0}

# FEATUREPLAT_PROPERTY_SCALE=N multiplies every example budget (for long bug hunts).
SCALE = max(1, int(os.environ.get("FEATUREPLAT_PROPERTY_SCALE", "1")))

SETTINGS = settings(
    max_examples=40 * SCALE,
    deadline=None,
    database=None,  # inner @given functions share a name: keep their examples apart
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module", autouse=True)
def _at_least_one_case():
    yield
    # every agreement test also asserts its own count; this guards the module as a whole
    if CASES["started"]:
        assert CASES["run"] > 0, "the agreement tests compared zero cases"


# ---------------------------------------------------------------------------------------
# comparison
# ---------------------------------------------------------------------------------------


def _plan_key(obj) -> str:
    """Cache key of a plan that tells floats apart by their bits (NaN payloads, -0.0)."""

    def enc(o):
        if isinstance(o, float):
            return f"f:{struct.unpack('<Q', struct.pack('<d', o))[0]:016x}"
        if isinstance(o, dict):
            return {k: enc(v) for k, v in o.items()}
        if isinstance(o, list):
            return [enc(v) for v in o]
        return o

    return json.dumps(enc(obj), sort_keys=True)


_PROGRAMS: dict[str, tuple[dict, core.Program]] = {}


def _program(plan: dict) -> tuple[dict, core.Program]:
    key = _plan_key(plan)
    hit = _PROGRAMS.get(key)
    if hit is None:
        norm = core.optimize(plan)
        hit = (norm, core.Program(norm))
        if len(_PROGRAMS) < 4096:
            _PROGRAMS[key] = hit
    return hit


def _describe(v) -> str:
    if isinstance(v, float):
        return f"{v!r} (0x{struct.unpack('<Q', struct.pack('<d', v))[0]:016x})"
    return repr(v)


def assert_agree(plan: dict, row: dict, tolerant: bool, what: str = "") -> None:
    CASES["started"] += 1
    norm, prog = _program(plan)
    got = prog.row_dict(row, raw=True)["out"]
    want = reference.evaluate(norm, row)["out"]
    want_raw = reference.evaluate(plan, row)["out"]
    same = reference.within_one_ulp if tolerant else reference.values_identical
    ctx = f"{what}\nplan steps: {json.dumps(plan['steps'], default=repr)}\nrow: {row!r}"
    assert same(got, want), f"core {_describe(got)} != reference {_describe(want)}\n{ctx}"
    assert same(want_raw, want), (
        f"reference on the plan as written {_describe(want_raw)} != on the optimized plan "
        f"{_describe(want)}\n{ctx}\noptimized: {json.dumps(norm['steps'], default=repr)}"
    )
    CASES["run"] += 1


# ---------------------------------------------------------------------------------------
# coverage of the registry
# ---------------------------------------------------------------------------------------


def test_reference_implements_every_registered_op():
    # Fitted ops never execute: fit rewrites them into ordinary ops with constants (their
    # statistics are checked against scikit-learn in tests/fitted), so the reference needs
    # every other op.
    executable = {n for n, o in OP_SPECS.items() if o["family"] != "fitted"}
    assert executable <= reference.REFERENCE_OPS, executable - reference.REFERENCE_OPS
    assert reference.REFERENCE_OPS <= executable, reference.REFERENCE_OPS - executable
    assert reference.TRANSCENDENTAL == {n for n, o in OP_SPECS.items() if o["transcendental"]}


def test_reference_rejects_unknown_op():
    plan = fst.one_step_plan("no_such_op", ["int64"], {})
    with pytest.raises(NotImplementedError):
        reference.evaluate(plan, {"a0": 1})


@pytest.mark.parametrize("op", TESTED_OPS)
def test_every_op_has_supported_signatures(op):
    assert [c for c in COMBOS if c["op"] == op], f"{op}: no argument-type combination compiles"


# ---------------------------------------------------------------------------------------
# helpers of the reference, checked against independent implementations
# ---------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    data=st.one_of(st.binary(max_size=80), st.binary(min_size=200, max_size=300)),
    seed=st.sampled_from([0, 1, 2**64 - 1]),
)
@example(data=b"", seed=0)
@example(data=b"a" * 31, seed=0)
@example(data=b"a" * 32, seed=0)
@example(data=bytes(range(39)), seed=0)
def test_xxh64_matches_xxhash_package(data, seed):
    assert reference.xxh64(data, seed) == xxhash.xxh64_intdigest(data, seed=seed)
    assert core.xxh64(data, seed) == xxhash.xxh64_intdigest(data, seed=seed)


_ORD_1970 = datetime.date(1970, 1, 1).toordinal()


@settings(max_examples=500, deadline=None)
@given(st.integers(datetime.date.min.toordinal(), datetime.date.max.toordinal()))
@example(datetime.date.min.toordinal())
@example(datetime.date.max.toordinal())
@example(datetime.date(2000, 2, 29).toordinal())
@example(datetime.date(1900, 3, 1).toordinal())
def test_civil_calendar_matches_datetime(ordinal):
    d = datetime.date.fromordinal(ordinal)
    days = ordinal - _ORD_1970
    assert reference.days_to_civil(days) == (d.year, d.month, d.day)
    assert reference.civil_to_days(d.year, d.month, d.day) == days
    assert (days + 3) % 7 == d.weekday()


@settings(max_examples=300, deadline=None)
@given(st.integers(-(2**62), 2**62))
@example(INT64_MIN // 86_400_000_000 - 1)
@example(INT64_MAX // 86_400_000_000 + 1)
def test_civil_calendar_round_trips_everywhere(days):
    y, m, d = reference.days_to_civil(days)
    assert 1 <= m <= 12 and 1 <= d <= 31
    assert reference.civil_to_days(y, m, d) == days
    # the next day is the next calendar date
    y2, m2, d2 = reference.days_to_civil(days + 1)
    assert (y2, m2, d2) > (y, m, d)


@settings(max_examples=300, deadline=None)
@given(st.integers(-62135596800000000, 253402300799999999))
@example(0)
@example(-1)
@example(-62135596800000000)
@example(253402300799999999)
def test_timestamp_format_matches_datetime(us):
    dt = datetime.datetime(1970, 1, 1) + datetime.timedelta(microseconds=us)
    assert reference.format_timestamp(us) == dt.isoformat(timespec="microseconds") + "Z"
    fields = (dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, dt.microsecond)
    assert reference.split_timestamp(us) == fields


@settings(max_examples=500, deadline=None)
@given(fst.values("float32", nullable=False))
@example(3.4028235677973366e38)
@example(3.4028235677973362e38)
@example(-1e300)
@example(7.006492321624085e-46)
def test_float32_rounding_matches_numpy(x):
    with np.errstate(all="ignore"):
        want = float(np.float64(x).astype(np.float32))
    assert reference.float_bits_equal(reference.to_float32(x), want)


# ---------------------------------------------------------------------------------------
# one op, one step, every supported signature
# ---------------------------------------------------------------------------------------

_TYPICAL = {
    "bool": True, "int64": 3, "float64": 2.5, "float32": 2.5, "string": "aÄ b", "timestamp": 86_400_000_123,
}
_EDGE = {
    "bool": [None, True, False],
    "int64": [None, 0, 1, -1, 2, -7, INT64_MIN, INT64_MAX, INT64_MIN + 1, 2**53 + 1, 10**18],
    "float64": list(fst.FLOAT_SPECIALS) + [None],
    "float32": list(fst.FLOAT32_SPECIALS) + [None],
    "string": list(fst.STRING_SPECIALS) + [None],
    "timestamp": list(fst.TIMESTAMP_SPECIALS) + [None],
}
_GRID = {
    "int64": [0, 1, -1, 7, -7, INT64_MIN, INT64_MAX],
    "float64": [
        0.0, -0.0, 1.0, -1.0, 0.5, -2.5, float("inf"), float("-inf"), float("nan"),
        5e-324, 1.7976931348623157e308,
    ],
    "float32": [0.0, -0.0, -1.0, 3.5e38, float("nan")],
    "bool": [None, True, False],
}


def _edge_rows(arg_dtypes: list[str]) -> list[dict]:
    names = [f"a{i}" for i in range(len(arg_dtypes))]
    base = {n: _TYPICAL[t] for n, t in zip(names, arg_dtypes)}
    out = []
    for n, t in zip(names, arg_dtypes):
        for v in _EDGE[t]:
            out.append({**base, n: v})
    if len(arg_dtypes) == 2 and all(t in _GRID for t in arg_dtypes):
        for a in _GRID[arg_dtypes[0]]:
            for b in _GRID[arg_dtypes[1]]:
                out.append({"a0": a, "a1": b})
    return out


@pytest.mark.parametrize("combo", COMBOS, ids=[_combo_id(c) for c in COMBOS])
def test_op_agrees_with_reference(combo):
    op, arg_dtypes, variant = combo["op"], combo["arg_dtypes"], combo["variant"]
    tolerant = op in reference.TRANSCENDENTAL
    inputs = [(f"a{i}", t) for i, t in enumerate(arg_dtypes)]
    count = [0]

    @SETTINGS
    @given(params=fst.params_for(op, arg_dtypes, variant), row=fst.rows(inputs))
    def run(params, row):
        plan = fst.one_step_plan(op, arg_dtypes, params)
        assert_agree(plan, row, tolerant, _combo_id(combo))
        count[0] += 1

    # pin the edge values: each argument in turn takes every special value
    fixed = fst.default_params(op, arg_dtypes, variant)
    for r in _edge_rows(arg_dtypes):
        run = example(params=fixed, row=r)(run)
    run()
    assert count[0] > 0


# ---------------------------------------------------------------------------------------
# expression trees
# ---------------------------------------------------------------------------------------

EXACT_SIGS = [c for c in COMBOS if c["op"] not in reference.TRANSCENDENTAL]
TRANSCENDENTAL_SIGS = [c for c in COMBOS if c["op"] in reference.TRANSCENDENTAL]
TREE_INPUTS = fst.tree_inputs()


def _check_tree(tree, row, tolerant: bool) -> None:
    plan = fst.tree_to_plan(tree)
    assert_agree(plan, row, tolerant, "tree")
    # the same tree over constants only: the optimizer folds it completely
    folded_plan = fst.tree_to_plan(tree, row=row)
    _, prog = _program(folded_plan)
    got = prog.row_dict(row, raw=True)["out"]
    want = reference.evaluate(plan, row)["out"]
    same = reference.within_one_ulp if tolerant else reference.values_identical
    assert same(got, want), (
        f"constant-folded core {_describe(got)} != reference {_describe(want)}\n"
        f"plan steps: {json.dumps(folded_plan['steps'], default=repr)}"
    )


def test_exact_expression_trees():
    count = [0]

    @settings(SETTINGS, max_examples=800 * SCALE)
    @given(tree=fst.expression_trees(EXACT_SIGS, max_depth=3), row=fst.rows(TREE_INPUTS))
    def run(tree, row):
        _check_tree(tree, row, tolerant=False)
        count[0] += 1

    run()
    assert count[0] > 0


def test_transcendental_rooted_expression_trees():
    count = [0]

    @settings(SETTINGS, max_examples=400 * SCALE)
    @given(
        tree=fst.expression_trees(EXACT_SIGS, max_depth=3, root_signatures=TRANSCENDENTAL_SIGS),
        row=fst.rows(TREE_INPUTS),
    )
    def run(tree, row):
        _check_tree(tree, row, tolerant=True)
        count[0] += 1

    run()
    assert count[0] > 0


@pytest.mark.parametrize("op", ["if_else", "fill_null", "coalesce"])
@pytest.mark.parametrize("dtype", fst.VALUE_DTYPES)
def test_untyped_null_takes_the_other_type(op, dtype):
    count = [0]

    @settings(SETTINGS, max_examples=10 * SCALE)
    @given(row=fst.rows([("c", "bool"), ("x", dtype)]), null_first=st.booleans())
    def run(row, null_first):
        inputs = [{"name": "c", "dtype": "bool"}, {"name": "x", "dtype": dtype}]
        steps = [
            {"op": "input", "args": [], "params": {"index": fst.scalar("int64", 0)}},
            {"op": "input", "args": [], "params": {"index": fst.scalar("int64", 1)}},
            {"op": "const", "args": [], "params": {"value": fst.scalar("null", None)}},
        ]
        pair = [2, 1] if null_first else [1, 2]
        args = [0, *pair] if op == "if_else" else pair
        steps.append({"op": op, "args": args, "params": {}})
        plan = {"inputs": inputs, "steps": steps, "outputs": [{"name": "out", "step": 3}]}
        assert_agree(plan, row, False, op)
        count[0] += 1

    run()
    assert count[0] > 0


# ---------------------------------------------------------------------------------------
# the examples the op docs state literally: both sides must produce exactly these
# ---------------------------------------------------------------------------------------

_S = fst.scalar
INF, NAN = float("inf"), float("nan")
_SNAN = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000001))[0]
_F = "float64"
_I = "int64"
_T = "timestamp"
_STR = "string"

_MAP_MIXED = {"keys": [_S(_I, 1), _S(_I, 2)], "values": [_S(_I, 1), _S(_F, 2.5)], "default": _S(_I, 7)}
_MAP_NULL_VALUE = {"keys": [_S("bool", True)], "values": [_S("null", None)], "default": _S(_STR, "x")}

DOC_EXAMPLES = [
    # (op, arg dtypes, params, args, expected)
    ("add", [_F, _F], {}, [INF, -INF], NAN),
    ("add", [_I, _I], {}, [INT64_MAX, 1], None),
    ("add", [_I, _F], {}, [1, None], None),
    ("sub", [_I, _I], {}, [INT64_MIN, 1], None),
    ("mul", [_F, _F], {}, [0.0, INF], NAN),
    ("mul", [_I, _I], {}, [2**32, 2**31], None),
    ("div", [_F, _F], {}, [1.0, -0.0], -INF),
    ("div", [_F, _F], {}, [-1.0, 0.0], -INF),
    ("div", [_F, _F], {}, [0.0, 0.0], NAN),
    ("div", [_I, _I], {}, [2**53 + 1, 1], 9007199254740992.0),
    ("div", [_I, _I], {}, [1, 0], INF),
    ("floordiv", [_I, _I], {}, [7, 0], None),
    ("floordiv", [_I, _I], {}, [INT64_MIN, -1], None),
    ("floordiv", [_I, _I], {}, [-7, 2], -4),
    ("floordiv", [_F, _F], {}, [1.0, 0.0], INF),
    ("floordiv", [_F, _F], {}, [0.0, 0.0], NAN),
    ("floordiv", [_F, _F], {}, [-7.0, 2.0], -4.0),
    ("mod", [_I, _I], {}, [5, 0], None),
    ("mod", [_I, _I], {}, [INT64_MIN, -1], 0),
    ("mod", [_I, _I], {}, [-7, 3], 2),
    ("mod", [_I, _I], {}, [7, -3], -2),
    ("mod", [_F, _F], {}, [4.0, -2.0], -0.0),
    ("mod", [_F, _F], {}, [-4.0, 2.0], 0.0),
    ("mod", [_F, _F], {}, [-1.0, 3.0], 2.0),
    ("mod", [_F, _F], {}, [5.0, 0.0], NAN),
    ("mod", [_F, _F], {}, [INF, 3.0], NAN),
    ("pow", [_F, _F], {}, [NAN, 0.0], 1.0),
    ("pow", [_F, _I], {}, [NAN, 0], 1.0),
    # a *signaling* NaN is not covered by "pow(x, 0) = 1 even for NaN": the C library pow
    # follows IEEE 754 (invalid operation -> quiet NaN).  Pinned so a change is noticed.
    ("pow", [_F, _F], {}, [_SNAN, 0.0], NAN),
    ("pow", [_I, _I], {}, [0, -1], INF),
    ("pow", [_F, _F], {}, [-0.0, -1.0], -INF),
    ("pow", [_F, _F], {}, [-8.0, 1 / 3], NAN),
    ("pow", [_F, _F], {}, [10.0, 400.0], INF),
    ("pow", [_F, _F], {}, [-10.0, 401.0], -INF),
    ("neg", [_I], {}, [INT64_MIN], None),
    ("neg", [_F], {}, [-0.0], 0.0),
    ("neg", [_F], {}, [0.0], -0.0),
    ("abs", [_I], {}, [INT64_MIN], None),
    ("abs", [_F], {}, [-0.0], 0.0),
    ("abs", [_F], {}, [-INF], INF),
    ("eq", [_F, _F], {}, [NAN, NAN], False),
    ("ne", [_F, _F], {}, [NAN, NAN], True),
    ("eq", [_F, _F], {}, [-0.0, 0.0], True),
    ("lt", [_F, _F], {}, [-0.0, 0.0], False),
    ("eq", [_I, _F], {}, [2**53 + 1, 2.0**53], True),
    ("lt", ["bool", "bool"], {}, [False, True], True),
    ("lt", [_STR, _STR], {}, ["\uffff", "\U0001f600"], True),
    ("lt", [_STR, _STR], {}, ["Z", "a"], True),
    ("lt", [_T, _T], {}, [-1, 0], True),
    ("eq", [_I, _I], {}, [None, None], None),
    ("and", ["bool", "bool"], {}, [False, None], False),
    ("and", ["bool", "bool"], {}, [None, False], False),
    ("and", ["bool", "bool"], {}, [True, None], None),
    ("and", ["bool", "bool"], {}, [True, True], True),
    ("or", ["bool", "bool"], {}, [None, True], True),
    ("or", ["bool", "bool"], {}, [False, None], None),
    ("or", ["bool", "bool"], {}, [False, False], False),
    ("not", ["bool"], {}, [None], None),
    ("log", [_F], {}, [0.0], -INF),
    ("log", [_F], {}, [-0.0], -INF),
    ("log", [_F], {}, [-1.0], NAN),
    ("log", [_F], {}, [INF], INF),
    ("log", [_I], {}, [1], 0.0),
    ("log1p", [_F], {}, [-1.0], -INF),
    ("log1p", [_F], {}, [-2.0], NAN),
    ("log1p", [_F], {}, [-0.0], -0.0),
    ("exp", [_F], {}, [1000.0], INF),
    ("exp", [_F], {}, [-INF], 0.0),
    ("sqrt", [_F], {}, [-1.0], NAN),
    ("sqrt", [_F], {}, [-0.0], -0.0),
    ("sqrt", [_I], {}, [4], 2.0),
    ("floor", [_I], {}, [INT64_MIN], INT64_MIN),
    ("floor", [_F], {}, [-0.0], -0.0),
    ("floor", [_F], {}, [-0.5], -1.0),
    ("floor", [_F], {}, [-INF], -INF),
    ("ceil", [_F], {}, [-0.5], -0.0),
    ("ceil", [_F], {}, [0.5], 1.0),
    ("round", [_F], {}, [2.5], 2.0),
    ("round", [_F], {}, [-0.5], -0.0),
    ("round", [_F], {"ndigits": _S(_I, 2)}, [0.125], 0.12),
    ("round", [_F], {"ndigits": _S(_I, 2)}, [2.675], 2.68),  # 2.675*100 is 267.5 in binary64: a tie
    ("round", [_F], {"ndigits": _S(_I, -1)}, [25.0], 20.0),
    ("round", [_F], {"ndigits": _S(_I, 15)}, [1e300], 1e300),
    ("round", [_F], {}, [INF], INF),
    ("round", [_I], {"ndigits": _S(_I, -1)}, [25], 20),
    ("round", [_I], {"ndigits": _S(_I, -1)}, [35], 40),
    ("round", [_I], {"ndigits": _S(_I, -1)}, [-25], -20),
    ("round", [_I], {"ndigits": _S(_I, -1)}, [INT64_MAX], None),
    ("round", [_I], {"ndigits": _S(_I, 3)}, [INT64_MAX], INT64_MAX),
    ("sign", [_F], {}, [-0.0], -0.0),
    ("sign", [_F], {}, [NAN], NAN),
    ("sign", [_F], {}, [-INF], -1.0),
    ("sign", [_I], {}, [INT64_MIN], -1),
    ("clip", [_F], {"lo": _S(_F, 0.0)}, [-0.0], -0.0),
    ("clip", [_F], {"lo": _S(_F, 0.0), "hi": _S(_F, 1.0)}, [NAN], NAN),
    ("clip", [_I], {"lo": _S(_I, 0), "hi": _S(_I, 10)}, [-5], 0),
    ("clip", [_I], {"lo": _S(_I, 0), "hi": _S(_F, 2.5)}, [7], 2.5),
    ("clip", [_I], {"lo": _S("null", None), "hi": _S(_I, 2)}, [-9], -9),
    ("is_null", [_F], {}, [NAN], False),
    ("is_null", [_STR], {}, [None], True),
    ("is_nan", [_I], {}, [0], False),
    ("is_nan", [_F], {}, [None], None),
    ("fill_null", [_I, _F], {}, [None, 1.5], 1.5),
    ("fill_null", [_I, _F], {}, [3, 1.5], 3.0),
    ("fill_null", [_F, _F], {}, [NAN, 1.5], NAN),
    ("fill_nan", [_F, _F], {}, [NAN, 1.5], 1.5),
    ("fill_nan", [_F, _F], {}, [None, 1.5], None),
    ("fill_nan", [_F, _F], {}, [NAN, None], None),
    ("coalesce", [_I, _F, _I], {}, [None, NAN, 1], NAN),
    ("coalesce", [_I, _F], {}, [None, None], None),
    ("if_else", ["bool", _I, _F], {}, [None, 1, 2.5], 2.5),
    ("if_else", ["bool", _I, _F], {}, [True, 1, 2.5], 1.0),
    ("cast", ["bool"], {"dtype": _S(_STR, "string")}, [True], "true"),
    ("cast", ["bool"], {"dtype": _S(_STR, "float64")}, [True], 1.0),
    ("cast", [_I], {"dtype": _S(_STR, "float64")}, [2**53 + 1], 9007199254740992.0),
    ("cast", [_I], {"dtype": _S(_STR, "float64")}, [2**53 + 3], 9007199254740996.0),
    ("cast", [_I], {"dtype": _S(_STR, "bool")}, [-3], True),
    ("cast", [_I], {"dtype": _S(_STR, "string")}, [INT64_MIN], "-9223372036854775808"),
    ("cast", [_I], {"dtype": _S(_STR, "timestamp")}, [-1], -1),
    ("cast", [_F], {"dtype": _S(_STR, "int64")}, [-2.7], -2),
    ("cast", [_F], {"dtype": _S(_STR, "int64")}, [NAN], None),
    ("cast", [_F], {"dtype": _S(_STR, "int64")}, [-INF], None),
    ("cast", [_F], {"dtype": _S(_STR, "int64")}, [2.0**63], None),
    ("cast", [_F], {"dtype": _S(_STR, "int64")}, [-(2.0**63)], INT64_MIN),
    ("cast", [_F], {"dtype": _S(_STR, "bool")}, [NAN], True),
    ("cast", [_F], {"dtype": _S(_STR, "bool")}, [-0.0], False),
    ("cast", [_F], {"dtype": _S(_STR, "string")}, [0.1], "0.1"),
    ("cast", [_F], {"dtype": _S(_STR, "string")}, [1e16], "1e+16"),
    ("cast", [_F], {"dtype": _S(_STR, "string")}, [NAN], "nan"),
    ("cast", [_F], {"dtype": _S(_STR, "string")}, [-INF], "-inf"),
    ("cast", [_F], {"dtype": _S(_STR, "string")}, [-0.0], "-0.0"),
    ("cast", [_STR], {"dtype": _S(_STR, "int64")}, ["+12"], 12),
    ("cast", [_STR], {"dtype": _S(_STR, "int64")}, [" 12"], None),
    ("cast", [_STR], {"dtype": _S(_STR, "int64")}, ["1.0"], None),
    ("cast", [_STR], {"dtype": _S(_STR, "int64")}, ["9223372036854775808"], None),
    ("cast", [_STR], {"dtype": _S(_STR, "float64")}, ["1e-3"], 0.001),
    ("cast", [_STR], {"dtype": _S(_STR, "float64")}, ["INFINITY"], INF),
    ("cast", [_STR], {"dtype": _S(_STR, "float64")}, ["-Inf"], -INF),
    ("cast", [_STR], {"dtype": _S(_STR, "float64")}, ["NaN"], NAN),
    ("cast", [_STR], {"dtype": _S(_STR, "float64")}, ["1_000"], None),
    ("cast", [_STR], {"dtype": _S(_STR, "float64")}, [" 1"], None),
    ("cast", [_STR], {"dtype": _S(_STR, "float64")}, ["0.1"], 0.1),
    ("cast", [_STR], {"dtype": _S(_STR, "float64")}, ["9007199254740993"], 9007199254740992.0),
    ("cast", [_STR], {"dtype": _S(_STR, "bool")}, ["1"], True),
    ("cast", [_STR], {"dtype": _S(_STR, "bool")}, ["false"], False),
    ("cast", [_STR], {"dtype": _S(_STR, "bool")}, ["True"], None),
    ("cast", [_T], {"dtype": _S(_STR, "int64")}, [-5], -5),
    ("cast", [_T], {"dtype": _S(_STR, "string")}, [-1], "1969-12-31T23:59:59.999999Z"),
    ("cast", [_T], {"dtype": _S(_STR, "string")}, [0], "1970-01-01T00:00:00.000000Z"),
    ("cast", [_T], {"dtype": _S(_STR, "string")}, [253402300800000000], "+10000-01-01T00:00:00.000000Z"),
    ("cast", [_T], {"dtype": _S(_STR, "string")}, [-62167219200000000], "0000-01-01T00:00:00.000000Z"),
    ("cast", [_T], {"dtype": _S(_STR, "string")}, [-62167219200000001], "-0001-12-31T23:59:59.999999Z"),
    ("str_lower", [_STR], {}, ["ÄbC"], "Äbc"),
    ("str_upper", [_STR], {}, ["äbc"], "äBC"),
    ("str_upper", [_STR], {}, ["ß"], "ß"),
    ("str_strip", [_STR], {}, ["\u00a0 x \u3000"], "\u00a0 x \u3000"),
    ("str_strip", [_STR], {}, [" \t\n\v\f\rx\r\n"], "x"),
    ("str_strip", [_STR], {}, [" \t\n"], ""),
    ("str_len", [_STR], {}, ["Äb"], 2),
    ("str_len", [_STR], {}, [""], 0),
    ("str_len", [_STR], {}, ["e\u0301😀"], 3),
    ("str_contains", [_STR], {"pattern": _S(_STR, "")}, [""], True),
    ("str_contains", [_STR], {"pattern": _S(_STR, "a")}, ["A"], False),
    ("str_contains", [_STR], {"pattern": _S(_STR, "*")}, ["abc"], False),
    ("str_starts_with", [_STR], {"pattern": _S(_STR, "")}, [""], True),
    ("str_ends_with", [_STR], {"pattern": _S(_STR, "\u0301")}, ["e\u0301"], True),
    ("str_concat", [_STR, _STR], {}, ["", "x"], "x"),
    ("str_concat", [_STR, _STR, _STR], {}, ["a", None, "b"], None),
    ("dt_year", [_T], {}, [-1], 1969),
    ("dt_year", [_T], {}, [-62167219200000001], -1),
    ("dt_month", [_T], {}, [-1], 12),
    ("dt_day", [_T], {}, [951782400000000], 29),  # 2000-02-29
    ("dt_hour", [_T], {}, [-1], 23),
    ("dt_minute", [_T], {}, [-1], 59),
    ("dt_day_of_week", [_T], {}, [0], 3),
    ("dt_day_of_week", [_T], {}, [-1], 2),
    ("dt_epoch_seconds", [_T], {}, [-1], -1),
    ("dt_epoch_seconds", [_T], {}, [INT64_MIN], INT64_MIN // 10**6),
    ("dt_diff_seconds", [_T, _T], {}, [0, 1_500_000], -1.5),
    ("dt_diff_seconds", [_T, _T], {}, [INT64_MAX, -1], None),
    ("dt_diff_seconds", [_T, _T], {}, [None, 0], None),
    ("hash_bucket", [_STR], {"n": _S(_I, 2**62)}, [""], xxhash.xxh64_intdigest(b"", seed=0) % 2**62),
    ("hash_bucket", [_STR], {"n": _S(_I, 1000)}, ["1"], xxhash.xxh64_intdigest(b"1", seed=0) % 1000),
    ("hash_bucket", [_I], {"n": _S(_I, 1000)}, [1], xxhash.xxh64_intdigest(b"\1" + bytes(7), seed=0) % 1000),
    ("hash_bucket", [_I], {"n": _S(_I, 1)}, [-1], 0),
    ("bucketize", [_F], {"boundaries": [_S(_F, 0.0), _S(_F, 1.0)]}, [1.0], 2),
    ("bucketize", [_F], {"boundaries": [_S(_F, 0.0), _S(_F, 1.0)]}, [-0.0], 1),
    ("bucketize", [_F], {"boundaries": [_S(_F, 0.0), _S(_F, 1.0)]}, [-1.0], 0),
    ("bucketize", [_F], {"boundaries": [_S(_F, 0.0), _S(_F, 1.0)]}, [INF], 2),
    ("bucketize", [_F], {"boundaries": [_S(_F, -INF), _S(_F, 1.0)]}, [-INF], 1),
    ("bucketize", [_F], {"boundaries": [_S(_F, 0.0), _S(_F, 1.0)]}, [NAN], None),
    ("bucketize", [_F], {"boundaries": []}, [5.0], 0),
    ("bucketize", [_I], {"boundaries": [_S(_I, 2**53), _S(_F, 2.0**60)]}, [2**53 + 1], 1),
    ("map", [_STR], {"keys": [_S(_STR, "a")], "values": [_S(_I, 1)], "default": _S(_I, 0)}, ["A"], 0),
    ("map", [_STR], {"keys": [_S(_STR, "a")], "values": [_S(_I, 1)], "default": _S(_I, 0)}, [None], None),
    ("map", [_STR], {"keys": [_S(_STR, "a")], "values": [_S(_I, 1)]}, ["b"], None),
    ("map", [_I], _MAP_MIXED, [1], 1.0),
    ("map", [_I], _MAP_MIXED, [3], 7.0),
    ("map", ["bool"], _MAP_NULL_VALUE, [True], None),
    ("map", ["bool"], _MAP_NULL_VALUE, [False], "x"),
]


def _doc_id(case) -> str:
    op, _, params, args, _ = case
    shown = {k: v["value"] if isinstance(v, dict) else "[...]" for k, v in params.items()}
    return f"{op}{tuple(args)!r}" + (repr(shown) if shown else "")


@pytest.mark.parametrize("case", DOC_EXAMPLES, ids=[_doc_id(c) for c in DOC_EXAMPLES])
def test_documented_examples(case):
    op, arg_dtypes, params, args, expected = case
    CASES["started"] += 1
    plan = fst.one_step_plan(op, arg_dtypes, params)
    row = {f"a{i}": v for i, v in enumerate(args)}
    norm, prog = _program(plan)
    got = prog.row_dict(row, raw=True)["out"]
    want = reference.evaluate(norm, row)["out"]
    assert reference.values_identical(want, expected), (
        f"reference {_describe(want)}, doc says {_describe(expected)}"
    )
    assert reference.values_identical(got, expected), f"core {_describe(got)}, doc says {_describe(expected)}"
    CASES["run"] += 1


# ---------------------------------------------------------------------------------------
# input conversion: floats for an int64 input
# ---------------------------------------------------------------------------------------


@SETTINGS
@given(st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(2**63), 2**63 - 1).map(float))
@example(1400.0)
@example(1400.5)
@example(float(2**63))
@example(float(-(2**63)))
@example(-0.0)
@example(float("nan"))
@example(float("-inf"))
@example(5e-324)
def test_int64_input_takes_the_floats_the_reference_takes(value):
    """The core's rule for a float given for an int64 input (exact when integral and in
    range, NaN null, else refused) on the row and batch paths, against the reference."""
    plan = fst.one_step_plan("add", ["int64", "int64"], {})
    norm, prog = _program(plan)
    try:
        want = reference.evaluate(norm, {"a0": value, "a1": 0})["out"]
    except TypeError:
        want = "refused"
    outcomes = []
    for run in (lambda: prog.row_dict({"a0": value, "a1": 0})["out"],
                lambda: prog.transform([(1, [pa.array([value]).__arrow_c_array__(),
                                             pa.array([0]).__arrow_c_array__()])], 1)):
        try:
            got = run()
        except InputError:
            got = "refused"
        if isinstance(got, list):  # the batch path's Arrow buffers, one int64 row
            _, _, nulls, _, data, _, _ = got[0]
            got = None if nulls else int(np.frombuffer(data, np.int64)[0])
        outcomes.append(got)
    assert outcomes == [want, want], (value, outcomes, want)


# ---------------------------------------------------------------------------------------
# process-level behaviour of the core module
# ---------------------------------------------------------------------------------------


def test_core_error_does_not_crash_the_interpreter_at_exit():
    code = textwrap.dedent(
        """
        import featureplat._core as core
        from featureplat.errors import PlanError
        try:
            core.optimize({"inputs": [], "steps": [{"op": "nope", "args": [], "params": {}}], "outputs": []})
        except PlanError:
            pass
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60, check=False)
    assert proc.returncode == 0, f"exit status {proc.returncode}"
