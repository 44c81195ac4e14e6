"""Hypothesis strategies for featureplat values, rows, op parameters and small plans.

Everything here produces plain data in the plan-dict / row-dict formats accepted by
``featureplat._core`` and ``featureplat.testing.reference``:

* ``values(dtype)``: Python values of a declared input type, biased towards edge cases
  (null, NaN, +-inf, -0.0, subnormals, +-max, int64 limits, empty / non-ASCII strings,
  timestamps far before and after the epoch up to the int64 limits).
* ``rows(inputs)``: a row dict for a list of ``(name, dtype)`` pairs.
* ``params_for(op, arg_dtypes, variant=None)``: valid parameters for ops that take them.
* ``supported_combinations()``: which argument types each op accepts, found by asking
  ``core.optimize`` (see the note on that function).
* ``expression_trees(...)`` / ``tree_to_plan(...)``: random typed expression trees.
"""
from __future__ import annotations

import decimal
import itertools
import math
import struct
from collections.abc import Iterable
from typing import Any

from hypothesis import strategies as st

import featureplat._core as core
from featureplat.errors import PlanError
from featureplat.testing.reference import INT64_MAX, INT64_MIN, civil_to_days, to_float32

__all__ = [
    "CAST_TARGETS",
    "CLIP_KINDS",
    "FLOAT32_SPECIALS",
    "FLOAT_SPECIALS",
    "INPUT_DTYPES",
    "INT_SPECIALS",
    "MAP_VALUE_KINDS",
    "STRING_SPECIALS",
    "TIMESTAMP_SPECIALS",
    "VALUE_DTYPES",
    "default_params",
    "expression_trees",
    "one_step_plan",
    "params_for",
    "rows",
    "scalar",
    "scalars",
    "supported_combinations",
    "tree_inputs",
    "tree_to_plan",
    "values",
    "variants_for",
]

#: Types an input may be declared with.
INPUT_DTYPES = ("bool", "int64", "float64", "float32", "string", "timestamp")
#: Types a value inside a plan may have (float32 is widened on input).
VALUE_DTYPES = ("bool", "int64", "float64", "string", "timestamp")

CAST_TARGETS = ("bool", "int64", "float64", "string", "timestamp")
MAP_VALUE_KINDS = ("bool", "int64", "float64", "string", "int64+float64")
CLIP_KINDS = ("int", "float", "mixed")


def _f64_from_bits(bits: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


_MAX = 1.7976931348623157e308
_MIN_NORMAL = 2.2250738585072014e-308
_MIN_SUB = 5e-324

FLOAT_SPECIALS: tuple[float, ...] = (
    0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, 2.5, -2.5, 0.1, 1e-7, 2.675, 1.005, 0.125,
    float("inf"), float("-inf"), float("nan"),
    _f64_from_bits(0xFFF8000000000000),  # negative quiet NaN
    _f64_from_bits(0x7FF0000000000001),  # NaN with a payload
    _MAX, -_MAX, _MIN_NORMAL, -_MIN_NORMAL, _MIN_SUB, -_MIN_SUB, 2.225073858507201e-308,
    2.0**53, 2.0**53 + 2, -(2.0**53), 2.0**63, -(2.0**63), 9.223372036854775e18,
    2.0**64, 1e16, 1e15 + 0.5, 4503599627370495.5, 709.782712893384, 710.0, -745.1, -746.0,
    1e308, 1e-308, 3.4028234663852886e38, 3.4028235677973366e38, 1.401298464324817e-45,
)
FLOAT32_SPECIALS: tuple[float, ...] = FLOAT_SPECIALS + (
    3.4028235677973362e38,  # just below the float32 overflow tie
    3.5e38, -3.5e38, 7.006492321624085e-46, 7.006492321624087e-46, 1e-46, 0.1, 16777217.0,
)
INT_SPECIALS: tuple[int, ...] = (
    0, 1, -1, 2, -2, 3, 7, 10, -10, 100, 255, 256, 1000, -1000,
    INT64_MIN, INT64_MIN + 1, INT64_MAX, INT64_MAX - 1, 2**62, -(2**62), 2**32, -(2**31),
    2**53, 2**53 + 1, -(2**53) - 1, 2**63 - 512, 2**63 - 1024, 3037000499, 3037000500,
    5 * 10**18, 10**18, -(10**15) - 5, 25, -25, 15, 35, 45,
)
STRING_SPECIALS: tuple[str, ...] = (
    "", " ", "a", "A", "ab", "AbC", "abc", "\t", "\n", " \t\n\v\f\r", " x ", "\tx\n",
    "\u00a0x\u00a0", "\u3000", "\u2003a", "\x00", "a\x00b", "Ä", "Äb", "äbc", "ÄbC", "ß",
    "straße", "e\u0301", "\u0301", "日本語", "😀", "a😀b", "\U0010ffff", "İ", "ǅ", "ﬀ",
    "true", "false", "True", "1", "0", "-0", "+1", "01", "1.0", "1e5", "1E+5", ".5", "5.",
    "-.5e-3", "nan", "NaN", "-nan", "inf", "-Inf", "+infinity", "Infinity", "infin",
    " 1", "1 ", "1_000", "0x10", "9223372036854775807", "9223372036854775808",
    "-9223372036854775808", "-9223372036854775809", "1e400", "-1e400", "1e-400", "4.9e-324",
    "2.4703282292062328e-324", "0.1", "123456789012345678901234567890", "١٢", "²", "e5", "e",
    "+", "-", ".", "", "1.7976931348623159e308",
)

_US_PER_DAY = 86_400_000_000


def _ts(year: int, month: int, day: int, us_of_day: int = 0) -> int:
    return civil_to_days(year, month, day) * _US_PER_DAY + us_of_day


TIMESTAMP_SPECIALS: tuple[int, ...] = (
    0, -1, 1, 999_999, -999_999, 1_000_000, -1_000_000, _US_PER_DAY, -_US_PER_DAY,
    _US_PER_DAY - 1, -_US_PER_DAY + 1, 59_999_999, -60_000_001, 3_600_000_000,
    INT64_MIN, INT64_MIN + 1, INT64_MAX, INT64_MAX - 1,
    _ts(1, 1, 1), _ts(1, 1, 1) - 1, _ts(9999, 12, 31, _US_PER_DAY - 1), _ts(10000, 1, 1),
    _ts(0, 12, 31), _ts(0, 2, 29), _ts(0, 3, 1), _ts(-1, 12, 31, _US_PER_DAY - 1), _ts(-100, 3, 1),
    _ts(2000, 2, 29), _ts(2000, 3, 1) - 1, _ts(1900, 2, 28), _ts(1900, 3, 1), _ts(2100, 3, 1) - 1,
    _ts(1969, 12, 31, _US_PER_DAY - 1), _ts(1600, 1, 1), _ts(2024, 2, 29, 12 * 3_600_000_000),
    _ts(1582, 10, 4), _ts(2038, 1, 19, 11_647_000_000), 1_700_000_000_000_000,
    _ts(-290308, 12, 22), _ts(294247, 1, 10),
)


def scalar(dtype: str, value: Any) -> dict:
    """A plan scalar ``{"dtype": ..., "value": ...}``."""
    return {"dtype": dtype, "value": value}


# ---------------------------------------------------------------------------------------
# values and rows
# ---------------------------------------------------------------------------------------


def _floats64() -> st.SearchStrategy[float]:
    return st.one_of(
        st.sampled_from(FLOAT_SPECIALS),
        st.floats(),  # everything, NaN and infinities included
        st.floats(min_value=-1e6, max_value=1e6),
        st.integers(-(2**60), 2**60).map(float),  # integral values
        st.integers(-(10**6), 10**6).map(lambda k: k / 1000),  # decimal-looking, ties
        st.integers(-10**4, 10**4).map(lambda k: k + 0.5),  # binary halves
        st.floats(min_value=-1e-300, max_value=1e-300),  # tiny and subnormal
        st.floats(width=32),
    )


def _float32_inputs() -> st.SearchStrategy[float]:
    return st.one_of(
        st.sampled_from(FLOAT32_SPECIALS),
        st.floats(width=32),
        st.floats(),  # doubles that must be rounded (or overflow to inf)
        st.floats(min_value=3.3e38, max_value=3.5e38),
        st.floats(min_value=-1e-44, max_value=1e-44),
    )


def _int64s() -> st.SearchStrategy[int]:
    return st.one_of(
        st.sampled_from(INT_SPECIALS),
        st.integers(INT64_MIN, INT64_MAX),
        st.integers(-10, 10),
        st.integers(-(10**6), 10**6),
        st.integers(2**53 - 4, 2**53 + 4),
        st.integers(INT64_MAX - 2**12, INT64_MAX),
        st.integers(INT64_MIN, INT64_MIN + 2**12),
    )


_SMALL_ALPHABET = "aAbBÄß \t1.e"


def _decimal_near_tie(x: float, where: str) -> str:
    """Exact decimal text of x, of the midpoint to the next double up, or just off it."""
    with decimal.localcontext(decimal.Context(prec=2000)):
        d = decimal.Decimal(x)
        if where == "exact":
            return str(d)
        up = math.nextafter(x, math.inf)
        nxt = decimal.Decimal(up) if math.isfinite(up) else decimal.Decimal(2) ** 1024
        mid = (d + nxt) / 2  # exact at this precision
        tiny = (nxt - d) / decimal.Decimal(10) ** 30
        if where == "above":
            mid += tiny
        elif where == "below":
            mid -= tiny
        return str(mid)


def _numeric_strings() -> st.SearchStrategy[str]:
    digits = st.text(alphabet="0123456789", max_size=25)
    sign = st.sampled_from(["", "+", "-"])
    exponent = st.one_of(
        st.just(""),
        st.builds(
            lambda e, s, d: e + s + d,
            st.sampled_from("eE"), sign, st.text("0123456789", min_size=1, max_size=4),
        ),
    )
    decimal = st.builds(
        lambda s, a, dot, b, e: s + a + dot + b + e,
        sign, digits, st.sampled_from(["", "."]), digits, exponent,
    )
    words = st.builds(
        lambda s, w: s + w,
        sign,
        st.sampled_from(
            ["inf", "INF", "Infinity", "infinity", "iNfInItY", "nan", "NaN", "nAn", "infinit", "nana"]
        ),
    )
    return st.one_of(
        decimal,
        words,
        st.integers(INT64_MIN - 10, INT64_MAX + 10).map(str),
        st.floats().map(repr),
        st.floats().map(lambda x: f"{x:.17g}"),
        st.builds(
            _decimal_near_tie,
            st.one_of(
                st.floats(allow_nan=False, allow_infinity=False),
                st.sampled_from([_MAX, _MIN_SUB, 0.0, 1.0, 2.0**53]),
            ),
            st.sampled_from(["exact", "tie", "above", "below"]),
        ),
    )


def _strings() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(STRING_SPECIALS),
        st.text(alphabet=st.characters(codec="utf-8")),  # any code point except surrogates
        st.text(alphabet=_SMALL_ALPHABET, max_size=6),
        st.text(alphabet=st.characters(codec="utf-8", categories=["Zs", "Cc", "Mn", "Lu", "Ll"]), max_size=6),
        _numeric_strings(),
    )


def _timestamps() -> st.SearchStrategy[int]:
    day = st.integers(-(10**6), 10**6)
    return st.one_of(
        st.sampled_from(TIMESTAMP_SPECIALS),
        st.integers(INT64_MIN, INT64_MAX),
        st.integers(-(10**11), 10**11),  # about a day around the epoch
        st.integers(_ts(1, 1, 1), _ts(9999, 12, 31, _US_PER_DAY - 1)),
        st.builds(lambda d, us: d * _US_PER_DAY + us, day, st.sampled_from([0, 1, -1, _US_PER_DAY - 1])),
        st.builds(
            lambda y, m, d: _ts(y, m, d),
            st.integers(-3000, 3000), st.integers(1, 12), st.sampled_from([1, 28, 29]),
        ).filter(lambda v: INT64_MIN <= v <= INT64_MAX),
    )


_BY_DTYPE = {
    "bool": st.booleans,
    "int64": _int64s,
    "float64": _floats64,
    "float32": _float32_inputs,
    "string": _strings,
    "timestamp": _timestamps,
}


def values(dtype: str, nullable: bool = True) -> st.SearchStrategy[Any]:
    """Values of a declared input type (``None`` = null when ``nullable``).

    Timestamps are int microseconds since the epoch; float32 values are arbitrary
    doubles (the input conversion rounds them).
    """
    base = _BY_DTYPE[dtype]()
    if nullable:
        return st.one_of(st.none(), base)
    return base


def scalars(dtype: str, nullable: bool = True) -> st.SearchStrategy[dict]:
    """Plan scalars of a plan value type (a null has the given dtype)."""
    if dtype == "float32":
        raise ValueError("constants cannot be float32")
    return values(dtype, nullable).map(lambda v: scalar(dtype, v))


def rows(inputs: Iterable[tuple[str, str]], nullable: bool = True) -> st.SearchStrategy[dict]:
    """Row dicts for ``[(name, dtype), ...]``."""
    return st.fixed_dictionaries({name: values(dtype, nullable) for name, dtype in inputs})


# ---------------------------------------------------------------------------------------
# op parameters
# ---------------------------------------------------------------------------------------


def variants_for(op: str) -> tuple[Any, ...]:
    """Parameter variants that change an op's typing (None: the op has just one)."""
    if op == "cast":
        return CAST_TARGETS
    if op == "map":
        return MAP_VALUE_KINDS
    if op == "clip":
        return CLIP_KINDS
    return (None,)


def _patterns() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(["", "a", "A", "ab", "Ä", "ß", " ", "\u0301", "e\u0301", "😀", "\x00", "1"]),
        st.text(alphabet=_SMALL_ALPHABET, max_size=3),
        st.text(alphabet=st.characters(codec="utf-8"), max_size=3),
    )


def _int_bounds() -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from(INT_SPECIALS), st.integers(-100, 100), st.integers(INT64_MIN, INT64_MAX))


def _float_bounds() -> st.SearchStrategy[float]:
    return st.one_of(
        st.sampled_from(
            [0.0, -0.0, 0.5, -0.5, 1.5, float("inf"), float("-inf"), _MAX, -_MAX, 2.0**63, 2.0**53]
        ),
        st.floats(min_value=-100, max_value=100),
        st.floats(allow_nan=False),
    )


@st.composite
def _clip_params(draw, kind: str | None) -> dict:
    kind = kind or draw(st.sampled_from(CLIP_KINDS))
    if kind == "int":
        lo, hi = draw(_int_bounds()), draw(_int_bounds())
        lo_t = hi_t = "int64"
    elif kind == "float":
        lo, hi = draw(_float_bounds()), draw(_float_bounds())
        lo_t = hi_t = "float64"
    else:
        a, b = draw(_int_bounds()), draw(_float_bounds())
        if draw(st.booleans()):
            lo, hi, lo_t, hi_t = a, b, "int64", "float64"
        else:
            lo, hi, lo_t, hi_t = b, a, "float64", "int64"
    if hi < lo:  # Python compares int with float exactly; float(lo) <= float(hi) follows
        lo, hi, lo_t, hi_t = hi, lo, hi_t, lo_t
    params: dict = {}
    # each bound: present, null or absent -- but at least one real bound
    which = draw(st.sampled_from(["both", "lo", "hi"]))
    missing = draw(st.sampled_from(["absent", "null"]))
    if which in ("both", "lo"):
        params["lo"] = scalar(lo_t, lo)
    elif missing == "null":
        params["lo"] = scalar("null", None)
    if which in ("both", "hi"):
        params["hi"] = scalar(hi_t, hi)
    elif missing == "null":
        params["hi"] = scalar("null", None)
    return params


@st.composite
def _boundaries(draw) -> list[dict]:
    raw = draw(
        st.lists(
            st.one_of(
                st.floats(allow_nan=False).map(lambda v: ("float64", v)),
                st.sampled_from([float("inf"), float("-inf"), 0.0, -0.0, 0.5, 1.0, -1.0]).map(
                    lambda v: ("float64", v)
                ),
                st.integers(-(2**53), 2**53).map(lambda v: ("int64", v)),
                st.integers(-20, 20).map(lambda v: ("int64", v)),
                st.integers(-20, 20).map(lambda v: ("float64", v / 2)),
            ),
            max_size=8,
        )
    )
    seen: dict[float, tuple[str, Any]] = {}
    for t, v in raw:
        seen.setdefault(float(v), (t, v))  # -0.0 and 0.0 are one key
    return [scalar(t, v) for _, (t, v) in sorted(seen.items())]


def _map_keys(arg_dtype: str) -> st.SearchStrategy[list]:
    if arg_dtype == "bool":
        return st.sampled_from([[], [True], [False], [True, False], [False, True]])
    if arg_dtype == "int64":
        elem: st.SearchStrategy = st.one_of(st.integers(-10, 10), st.sampled_from(INT_SPECIALS))
    elif arg_dtype == "string":
        elem = st.one_of(st.sampled_from(STRING_SPECIALS), st.text(alphabet=_SMALL_ALPHABET, max_size=3))
    else:  # not a valid key type; used only to show that the core refuses it
        elem = values(arg_dtype, nullable=False)
    return st.lists(elem, max_size=6, unique_by=lambda v: (type(v), v))


def _map_value(kind: str) -> st.SearchStrategy[dict]:
    if kind == "int64+float64":
        return st.one_of(scalars("int64", False), scalars("float64", False))
    return scalars(kind, False)


@st.composite
def _map_params(draw, arg_dtype: str, kind: str | None) -> dict:
    kind = kind or draw(st.sampled_from(MAP_VALUE_KINDS))
    keys = draw(_map_keys(arg_dtype))
    key_t = "float64" if arg_dtype == "float32" else arg_dtype
    vals = [
        scalar("null", None) if draw(st.integers(0, 4)) == 0 else draw(_map_value(kind))
        for _ in keys
    ]
    out_t = kind
    if kind == "int64+float64":  # float64 unless every non-null value is an int64
        present = {v["dtype"] for v in vals if v["value"] is not None}
        out_t = "int64" if present == {"int64"} else "float64"
    params = {"keys": [scalar(key_t, k) for k in keys], "values": vals}
    all_null = all(v["value"] is None for v in vals)
    choice = draw(st.sampled_from(["absent", "null", "value", "int_for_float"]))
    if all_null and choice in ("absent", "null"):
        choice = "value"  # at least one non-null output is required
    if choice == "null":
        params["default"] = scalar("null", None)
    elif choice == "value" or (choice == "int_for_float" and out_t != "float64"):
        params["default"] = draw(scalars(out_t, False))
    elif choice == "int_for_float":
        params["default"] = draw(scalars("int64", False))  # converted to float64
    return params


def params_for(
    op_name: str, arg_dtypes: list[str] | tuple[str, ...], variant: Any = None
) -> st.SearchStrategy[dict]:
    """Valid params for ``op_name`` applied to arguments of ``arg_dtypes``.

    ``variant`` picks a typing variant (see ``variants_for``): the cast target, the map
    value type or the clip bound kind.  Ops without parameters get ``{}``.
    """
    if op_name == "round":
        return st.one_of(st.just({}), st.integers(-15, 15).map(lambda k: {"ndigits": scalar("int64", k)}))
    if op_name == "clip":
        return _clip_params(variant)
    if op_name == "cast":
        target = st.just(variant) if variant else st.sampled_from(CAST_TARGETS)
        return target.map(lambda t: {"dtype": scalar("string", t)})
    if op_name in ("str_contains", "str_starts_with", "str_ends_with"):
        return _patterns().map(lambda p: {"pattern": scalar("string", p)})
    if op_name == "hash_bucket":
        n = st.one_of(
            st.sampled_from([1, 2, 3, 7, 10, 1000, 2**31 - 1, 2**32, 2**62 - 1, 2**62]),
            st.integers(1, 2**62),
        )
        return n.map(lambda k: {"n": scalar("int64", k)})
    if op_name == "bucketize":
        return _boundaries().map(lambda b: {"boundaries": b})
    if op_name == "map":
        return _map_params(arg_dtypes[0], variant)
    return st.just({})


def default_params(op_name: str, arg_dtypes: list[str] | tuple[str, ...], variant: Any = None) -> dict:
    """A fixed, simple parameter set (used to find the supported argument types)."""
    if op_name == "clip":
        kind = variant or "float"
        lo = scalar("int64", -1) if kind in ("int", "mixed") else scalar("float64", -1.5)
        hi = scalar("int64", 10) if kind == "int" else scalar("float64", 2.5)
        return {"lo": lo, "hi": hi}
    if op_name == "cast":
        return {"dtype": scalar("string", variant or "string")}
    if op_name in ("str_contains", "str_starts_with", "str_ends_with"):
        return {"pattern": scalar("string", "a")}
    if op_name == "hash_bucket":
        return {"n": scalar("int64", 10)}
    if op_name == "bucketize":
        return {"boundaries": [scalar("float64", 0.0), scalar("float64", 1.0)]}
    if op_name == "map":
        arg = arg_dtypes[0]
        keys = {
            "bool": [True, False], "int64": [1, 2], "string": ["a", "b"], "float64": [1.0, 2.0],
            "float32": [1.0, 2.0], "timestamp": [1, 2],
        }[arg]
        key_t = "float64" if arg == "float32" else arg
        kind = variant or "int64"
        vals = {
            "bool": [scalar("bool", True), scalar("bool", False)],
            "int64": [scalar("int64", 1), scalar("int64", 2)],
            "float64": [scalar("float64", 1.5), scalar("float64", 2.5)],
            "string": [scalar("string", "x"), scalar("string", "y")],
            "int64+float64": [scalar("int64", 1), scalar("float64", 2.5)],
        }[kind]
        return {"keys": [scalar(key_t, k) for k in keys], "values": vals}
    return {}


# ---------------------------------------------------------------------------------------
# plans
# ---------------------------------------------------------------------------------------


def _input_step(index: int, dtype: str) -> dict:
    return {"op": "input", "args": [], "params": {"index": scalar("int64", index)}, "dtype": dtype}


def one_step_plan(op: str, arg_dtypes: list[str] | tuple[str, ...], params: dict) -> dict:
    """Inputs ``a0, a1, ...`` of ``arg_dtypes`` feeding one ``op`` step, output ``out``."""
    inputs = [{"name": f"a{i}", "dtype": t} for i, t in enumerate(arg_dtypes)]
    steps = [_input_step(i, t) for i, t in enumerate(arg_dtypes)]
    steps.append({"op": op, "args": list(range(len(arg_dtypes))), "params": params})
    return {"inputs": inputs, "steps": steps, "outputs": [{"name": "out", "step": len(arg_dtypes)}]}


def supported_combinations(max_args: int = 3) -> list[dict]:
    """Every (op, argument types, variant) that ``core.optimize`` accepts.

    Candidates are all tuples of declared input types (float32 included) for each
    arity from ``min_args`` up to ``max_args`` (or ``max(min_args, max_args)``
    for variadic ops), crossed with the op's variants.  Returns dicts with ``op``,
    ``arg_dtypes``, ``variant`` and the result ``dtype`` of the normalized plan.

    Most candidates do not compile: ``PlanError`` (or its subclass ``FeatureTypeError``)
    from ``core.optimize`` marks them unsupported.
    """
    found: list[dict] = []
    for spec in core.ops():
        op = spec["name"]
        # Fitted ops never execute: fit rewrites them into the ordinary ops covered here
        # (their statistics are checked against scikit-learn in tests/fitted).
        if op in ("input", "const") or spec["family"] == "fitted":
            continue
        lo = spec["min_args"]
        hi = spec["max_args"] if spec["max_args"] >= 0 else max(lo, max_args)
        hi = min(hi, max(lo, max_args))
        for n in range(lo, hi + 1):
            for arg_dtypes in itertools.product(INPUT_DTYPES, repeat=n):
                for variant in variants_for(op):
                    plan = one_step_plan(op, arg_dtypes, default_params(op, arg_dtypes, variant))
                    try:
                        norm = core.optimize(plan)
                    except PlanError:  # FeatureTypeError is a PlanError
                        continue
                    out_step = norm["outputs"][0]["step"]
                    found.append(
                        {"op": op, "arg_dtypes": list(arg_dtypes), "variant": variant,
                         "dtype": norm["steps"][out_step]["dtype"]}
                    )
    return found


# ---- random expression trees ---------------------------------------------------------
#
# A tree is a tuple:
#   ("input", name)                        an input column (see tree_inputs())
#   ("const", dtype, value)                a typed constant (value may be None)
#   ("op", op, [subtrees], params)         an op applied to subtrees

_TREE_INPUTS = {
    "bool": ["b"], "int64": ["i", "j"], "float64": ["f", "g", "f32"], "string": ["s"],
    "timestamp": ["t", "u"],
}
_TREE_INPUT_DTYPES = {
    "b": "bool", "i": "int64", "j": "int64", "f": "float64", "g": "float64", "f32": "float32",
    "s": "string", "t": "timestamp", "u": "timestamp",
}


# constants that invite wrong algebraic shortcuts (x * 0, x + 0, x ** 1, "" + s, ...)
_IDENTITY_CONSTS = {
    "bool": [True, False, None],
    "int64": [0, 1, -1, 2, None],
    "float64": [0.0, -0.0, 1.0, -1.0, 2.0, float("nan"), float("inf"), None],
    "string": ["", "a", None],
    "timestamp": [0, -1, None],
}


def tree_inputs() -> list[tuple[str, str]]:
    """The inputs that trees from ``expression_trees`` may read, as (name, dtype)."""
    return list(_TREE_INPUT_DTYPES.items())


def expression_trees(
    signatures: list[dict],
    max_depth: int = 3,
    root_signatures: list[dict] | None = None,
    const_probability: float = 0.2,
) -> st.SearchStrategy[tuple]:
    """Random well-typed trees built from ``signatures`` (as from supported_combinations).

    Signatures whose argument types include float32 are ignored (float32 only exists as
    an input).  ``root_signatures``, when given, chooses the op at the root only.
    """
    usable = [s for s in signatures if "float32" not in s["arg_dtypes"]]
    by_out: dict[str, list[dict]] = {}
    for s in usable:
        by_out.setdefault(s["dtype"], []).append(s)

    @st.composite
    def leaf(draw, dtype: str) -> tuple:
        if draw(st.floats(0, 1)) < const_probability:
            special = st.sampled_from(_IDENTITY_CONSTS[dtype])
            return ("const", dtype, draw(st.one_of(values(dtype), special)))
        return ("input", draw(st.sampled_from(_TREE_INPUTS[dtype])))

    def pick(draw, options: list[dict]) -> dict:
        # op first, then one of its signatures: ops with many signatures (coalesce,
        # cast) would crowd out the others otherwise
        names = sorted({s["op"] for s in options})
        name = draw(st.sampled_from(names))
        return draw(st.sampled_from([s for s in options if s["op"] == name]))

    @st.composite
    def node(draw, dtype: str, depth: int, choices: list[dict] | None = None, root: bool = False) -> tuple:
        options = choices if choices is not None else by_out.get(dtype, [])
        if choices is None and (depth <= 0 or not options or (not root and draw(st.integers(0, 3)) == 0)):
            return draw(leaf(dtype))
        sig = pick(draw, options)
        params = draw(params_for(sig["op"], sig["arg_dtypes"], sig["variant"]))
        args = [draw(node(t, depth - 1)) for t in sig["arg_dtypes"]]
        return ("op", sig["op"], args, params)

    @st.composite
    def tree(draw) -> tuple:
        if root_signatures:
            return draw(node("", max_depth, [s for s in root_signatures if "float32" not in s["arg_dtypes"]]))
        dtype = draw(st.sampled_from(sorted(by_out)))
        return draw(node(dtype, max_depth, root=True))

    return tree()


def tree_to_plan(tree: tuple, row: dict | None = None, annotate: bool = False) -> dict:
    """The plan computing ``tree`` as output ``out``; all tree inputs are declared.

    With ``row``, every input leaf is replaced by a constant holding that row's value
    (converted to its plan type, float32 rounded), which lets the optimizer fold the
    whole tree.  With ``annotate``, input and const steps carry their dtype.
    """
    names = list(_TREE_INPUT_DTYPES)
    inputs = [{"name": n, "dtype": _TREE_INPUT_DTYPES[n]} for n in names]
    steps: list[dict] = []

    def emit(t: tuple) -> int:
        kind = t[0]
        if kind == "input":
            name = t[1]
            decl = _TREE_INPUT_DTYPES[name]
            if row is not None:
                v = row[name]
                if decl == "float32":
                    v = None if v is None else to_float32(v)
                    decl = "float64"
                step = {"op": "const", "args": [], "params": {"value": scalar(decl, v)}}
            else:
                step = _input_step(names.index(name), decl)
        elif kind == "const":
            step = {"op": "const", "args": [], "params": {"value": scalar(t[1], t[2])}}
        else:
            args = [emit(a) for a in t[2]]
            step = {"op": t[1], "args": args, "params": t[3]}
        if not annotate and step["op"] in ("input", "const"):
            step.pop("dtype", None)
        steps.append(step)
        return len(steps) - 1

    out = emit(tree)
    return {"inputs": inputs, "steps": steps, "outputs": [{"name": "out", "step": out}]}

