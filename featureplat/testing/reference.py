"""Pure-Python reference interpreter for featureplat plans (test-only).

This module defines what every op means, written from the op doc strings in the
registry (``featureplat._core.ops()``) and NOT from the C++ kernels, so that property
tests can compare the compiled core against an independent implementation.

``evaluate(plan, row)`` interprets a plan dict step by step on plain Python values
(``None`` is null).  It is meant for the normalized plan returned by
``featureplat._core.optimize`` (explicit casts, every step typed), but it also accepts an
un-normalized plan: the result type of every step is inferred here from the op rules,
int64 -> float64 promotions are applied by the op functions themselves, and an untyped
null constant takes whatever type its use requires.  When a step carries a ``dtype``
that disagrees with the inferred one, ``ReferenceTypeMismatch`` is raised, so the
reference also checks the optimizer's typing.

Value representation (the same as ``Program.row_dict(row, raw=True)``):
bool -> bool, int64 -> int, float64 -> float, string -> str,
timestamp -> int microseconds since 1970-01-01T00:00:00Z (UTC, any int64 value).
"""
from __future__ import annotations

import bisect
import math
import re
import struct
from collections.abc import Callable
from typing import Any

import featureplat._core as core

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "REFERENCE_OPS",
    "STRUCTURAL_OPS",
    "TRANSCENDENTAL",
    "ReferenceTypeMismatch",
    "civil_to_days",
    "days_to_civil",
    "evaluate",
    "evaluate_step",
    "float_bits_equal",
    "format_timestamp",
    "infer_dtype",
    "split_timestamp",
    "to_float32",
    "transcendental_ops",
    "values_identical",
    "within_one_ulp",
    "xxh64",
]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_U64 = (1 << 64) - 1
_INF = float("inf")
_NAN = float("nan")
_US_PER_SECOND = 1_000_000
_US_PER_DAY = 86_400 * _US_PER_SECOND

class ReferenceTypeMismatch(AssertionError):
    """A step's declared ``dtype`` differs from the type the reference infers for it."""


# ---------------------------------------------------------------------------------------
# small numeric helpers
# ---------------------------------------------------------------------------------------


def _int64_or_null(x: int) -> int | None:
    return x if INT64_MIN <= x <= INT64_MAX else None


def to_float32(x: float) -> float:
    """Round a double to float32 (round to nearest even, overflow to +-inf), widen back."""
    x = float(x)
    if math.isnan(x):
        # (float)x quiets a signaling NaN; the payload does not matter to anyone
        return math.copysign(_NAN, x)
    if math.isinf(x):
        return x
    try:
        return struct.unpack("<f", struct.pack("<f", x))[0]
    except OverflowError:  # struct refuses exactly when (float)x would be infinite
        return math.copysign(_INF, x)


def _is_odd_integer(y: float) -> bool:
    if not math.isfinite(y) or y != math.floor(y):
        return False
    if abs(y) >= 2.0**53:  # every double this large is even
        return False
    return int(y) % 2 == 1


def _is_signaling_nan(x: float) -> bool:
    bits = struct.unpack("<Q", struct.pack("<d", x))[0]
    return (bits >> 52) & 0x7FF == 0x7FF and bits & ((1 << 52) - 1) != 0 and not bits & (1 << 51)


def _signbit(x: float) -> bool:
    return math.copysign(1.0, x) < 0


def _ieee_div(a: float, b: float) -> float:
    if b == 0.0:
        if math.isnan(a) or a == 0.0:
            return _NAN
        negative = _signbit(a) != _signbit(b)
        return -_INF if negative else _INF
    return a / b  # Python float division is the IEEE quotient apart from b == 0


def _floor_f(q: float) -> float:
    if not math.isfinite(q) or q == 0.0:
        return q  # keeps inf, NaN and the sign of zero
    return float(math.floor(q))


def _ceil_f(q: float) -> float:
    if not math.isfinite(q) or q == 0.0:
        return q
    r = float(math.ceil(q))
    if r == 0.0:  # -1 < q < 0
        return -0.0
    return r


def _nearbyint(y: float) -> float:
    """Round half to even, keeping the sign of zero (C nearbyint in the default mode)."""
    if not math.isfinite(y):
        return y
    r = float(round(y))  # round(float) -> int is exact half-to-even
    if r == 0.0:
        return math.copysign(0.0, y)
    return r


def _as_float(x: Any, dtype: str) -> float:
    """int64 -> float64 promotion (round to nearest, ties to even, like float(int))."""
    if dtype == "float64":
        return x
    if dtype == "int64":
        return float(x)
    raise TypeError(f"reference: cannot promote {dtype} to float64")


# ---------------------------------------------------------------------------------------
# xxHash64 (XXH64), pure Python
# ---------------------------------------------------------------------------------------

_P1 = 0x9E3779B185EBCA87
_P2 = 0xC2B2AE3D27D4EB4F
_P3 = 0x165667B19E3779F9
_P4 = 0x85EBCA77C2B2AE63
_P5 = 0x27D4EB2F165667C5


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _U64


def _xx_round(acc: int, lane: int) -> int:
    acc = (acc + lane * _P2) & _U64
    acc = _rotl(acc, 31)
    return (acc * _P1) & _U64


def _xx_merge(acc: int, v: int) -> int:
    acc ^= _xx_round(0, v)
    return (acc * _P1 + _P4) & _U64


def xxh64(data: bytes, seed: int = 0) -> int:
    """XXH64 of ``data`` as an unsigned 64-bit integer."""
    n = len(data)
    seed &= _U64
    pos = 0
    if n >= 32:
        v1 = (seed + _P1 + _P2) & _U64
        v2 = (seed + _P2) & _U64
        v3 = seed
        v4 = (seed - _P1) & _U64
        while pos + 32 <= n:
            l1, l2, l3, l4 = struct.unpack_from("<4Q", data, pos)
            v1 = _xx_round(v1, l1)
            v2 = _xx_round(v2, l2)
            v3 = _xx_round(v3, l3)
            v4 = _xx_round(v4, l4)
            pos += 32
        h = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & _U64
        for v in (v1, v2, v3, v4):
            h = _xx_merge(h, v)
    else:
        h = (seed + _P5) & _U64
    h = (h + n) & _U64
    while pos + 8 <= n:
        (lane,) = struct.unpack_from("<Q", data, pos)
        h ^= _xx_round(0, lane)
        h = (_rotl(h, 27) * _P1 + _P4) & _U64
        pos += 8
    if pos + 4 <= n:
        (lane,) = struct.unpack_from("<I", data, pos)
        h ^= (lane * _P1) & _U64
        h = (_rotl(h, 23) * _P2 + _P3) & _U64
        pos += 4
    while pos < n:
        h ^= (data[pos] * _P5) & _U64
        h = (_rotl(h, 11) * _P1) & _U64
        pos += 1
    h ^= h >> 33
    h = (h * _P2) & _U64
    h ^= h >> 29
    h = (h * _P3) & _U64
    h ^= h >> 32
    return h


# ---------------------------------------------------------------------------------------
# proleptic Gregorian calendar on day numbers (day 0 = 1970-01-01)
# ---------------------------------------------------------------------------------------

_DAYS_PER_400Y = 146_097  # 400 * 365 + 97 leap days
# Day number of 0000-03-01 relative to 1970-01-01.  Counting years from March 1st puts
# the leap day at the end of the year, which makes the month lengths regular.
_MARCH_1_YEAR_0 = -719_468


def days_to_civil(days: int) -> tuple[int, int, int]:
    """(year, month, day) of a day number; astronomical years, any integer works."""
    z = days - _MARCH_1_YEAR_0
    cycle, day_in_cycle = divmod(z, _DAYS_PER_400Y)  # floor division: also before year 0
    # Year within the 400-year cycle (March-based): subtract the leap days seen so far.
    year_in_cycle = (
        day_in_cycle - day_in_cycle // 1460 + day_in_cycle // 36_524 - day_in_cycle // 146_096
    ) // 365
    day_in_year = day_in_cycle - (365 * year_in_cycle + year_in_cycle // 4 - year_in_cycle // 100)
    # Months from March: lengths 31 30 31 30 31 31 30 31 30 31 31 (28|29); a 153-day
    # period covers five months.
    m_from_march = (5 * day_in_year + 2) // 153
    day = day_in_year - (153 * m_from_march + 2) // 5 + 1
    month = m_from_march + 3 if m_from_march < 10 else m_from_march - 9
    year = year_in_cycle + cycle * 400 + (1 if month <= 2 else 0)
    return year, month, day


def civil_to_days(year: int, month: int, day: int) -> int:
    """Inverse of ``days_to_civil``."""
    y = year - (1 if month <= 2 else 0)
    cycle, year_in_cycle = divmod(y, 400)
    m_from_march = month - 3 if month > 2 else month + 9
    day_in_year = (153 * m_from_march + 2) // 5 + day - 1
    day_in_cycle = year_in_cycle * 365 + year_in_cycle // 4 - year_in_cycle // 100 + day_in_year
    return cycle * _DAYS_PER_400Y + day_in_cycle + _MARCH_1_YEAR_0


def split_timestamp(us: int) -> tuple[int, int, int, int, int, int, int]:
    """(year, month, day, hour, minute, second, microsecond) of a UTC instant."""
    days, us_of_day = divmod(us, _US_PER_DAY)  # floor: -1 us is the previous day
    year, month, day = days_to_civil(days)
    secs, micro = divmod(us_of_day, _US_PER_SECOND)
    hour, rem = divmod(secs, 3600)
    minute, second = divmod(rem, 60)
    return year, month, day, hour, minute, second, micro


def format_timestamp(us: int) -> str:
    """ISO 8601 'YYYY-MM-DDTHH:MM:SS.ffffffZ'; a year outside 0..9999 gets a sign."""
    year, month, day, hour, minute, second, micro = split_timestamp(us)
    if 0 <= year <= 9999:
        ys = f"{year:04d}"
    else:
        ys = ("+" if year > 0 else "-") + f"{abs(year):04d}"
    return f"{ys}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}.{micro:06d}Z"


# ---------------------------------------------------------------------------------------
# value comparison helpers used by the tests
# ---------------------------------------------------------------------------------------


def float_bits_equal(a: float, b: float) -> bool:
    """Bit-for-bit equality, except that any NaN equals any NaN (sign and payload ignored)."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return struct.pack("<d", a) == struct.pack("<d", b)


def values_identical(a: Any, b: Any) -> bool:
    """Exact equality of two result values, type included (True is not 1, 0.0 is not -0.0)."""
    if a is None or b is None:
        return a is None and b is None
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return float_bits_equal(a, b)
    return a == b


def within_one_ulp(got: Any, want: Any) -> bool:
    """``got`` equals ``want`` or is one of its two floating-point neighbours.

    NaN matches only NaN; zeros must have the same sign unless the other side is a
    neighbour; an infinity may be matched by the largest finite double of its sign (and
    vice versa), which is one ulp away in the nextafter sense.
    """
    if not (isinstance(got, float) and isinstance(want, float)):
        return values_identical(got, want)
    if values_identical(got, want):
        return True
    if math.isnan(got) or math.isnan(want):
        return False
    return got in (math.nextafter(want, _INF), math.nextafter(want, -_INF))


# ---------------------------------------------------------------------------------------
# ops
# ---------------------------------------------------------------------------------------


class _Call:
    """What an op function gets: its parameters (decoded), argument types, result type."""

    __slots__ = ("arg_dtypes", "dtype", "params")

    def __init__(self, params: dict[str, Any], arg_dtypes: list[str], dtype: str):
        self.params = params
        self.arg_dtypes = arg_dtypes
        self.dtype = dtype


def _decode_scalar(s: dict) -> tuple[str, Any]:
    return s["dtype"], s["value"]


def _decode_params(params: dict) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in params.items():
        if isinstance(v, list):
            out[k] = [_decode_scalar(e) for e in v]
        else:
            out[k] = _decode_scalar(v)
    return out


def _param_value(call: _Call, name: str, default: Any = None) -> Any:
    p = call.params.get(name)
    if p is None:
        return default
    return p[1]


def _null_in_null_out(fn: Callable) -> Callable:
    def wrapped(call: _Call, *args: Any) -> Any:
        if any(a is None for a in args):
            return None
        return fn(call, *args)

    wrapped.__name__ = fn.__name__
    wrapped.__doc__ = fn.__doc__
    return wrapped


def _numeric_pair(call: _Call, a: Any, b: Any) -> tuple[bool, Any, Any]:
    """(is_int, a, b): both int64 stays int64, anything else is float64."""
    ta, tb = call.arg_dtypes
    if ta == "int64" and tb == "int64":
        return True, a, b
    return False, _as_float(a, ta), _as_float(b, tb)


OPS: dict[str, Callable[..., Any]] = {}


def _op(name: str) -> Callable[[Callable], Callable]:
    def register(fn: Callable) -> Callable:
        OPS[name] = fn
        return fn

    return register


# ---- arithmetic ----------------------------------------------------------------------


@_op("add")
@_null_in_null_out
def _add(call, a, b):
    is_int, a, b = _numeric_pair(call, a, b)
    return _int64_or_null(a + b) if is_int else a + b


@_op("sub")
@_null_in_null_out
def _sub(call, a, b):
    is_int, a, b = _numeric_pair(call, a, b)
    return _int64_or_null(a - b) if is_int else a - b


@_op("mul")
@_null_in_null_out
def _mul(call, a, b):
    is_int, a, b = _numeric_pair(call, a, b)
    return _int64_or_null(a * b) if is_int else a * b


@_op("div")
@_null_in_null_out
def _div(call, a, b):
    ta, tb = call.arg_dtypes
    return _ieee_div(_as_float(a, ta), _as_float(b, tb))


@_op("floordiv")
@_null_in_null_out
def _floordiv(call, a, b):
    is_int, a, b = _numeric_pair(call, a, b)
    if is_int:
        if b == 0:
            return None
        return _int64_or_null(a // b)  # INT64_MIN // -1 overflows -> null
    return _floor_f(_ieee_div(a, b))


@_op("mod")
@_null_in_null_out
def _mod(call, a, b):
    is_int, a, b = _numeric_pair(call, a, b)
    if is_int:
        if b == 0:
            return None
        return a % b  # Python int %: sign of the divisor; INT64_MIN % -1 == 0
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or b == 0.0:
        return _NAN
    m = math.fmod(a, b)  # exact
    if m == 0.0:
        return math.copysign(0.0, b)
    if (m < 0.0) != (b < 0.0):
        m += b
    return m


@_op("pow")
@_null_in_null_out
def _pow(call, a, b):
    ta, tb = call.arg_dtypes
    x, y = _as_float(a, ta), _as_float(b, tb)
    # IEEE 754 / C99: pow(x, +-0) = 1 and pow(1, y) = 1 even for a quiet NaN.  A
    # signaling NaN raises invalid and gives NaN instead (the C library pow does this).
    if _is_signaling_nan(x) or _is_signaling_nan(y):
        return _NAN
    if y == 0.0:
        return 1.0
    if x == 1.0:
        return 1.0
    if math.isnan(x) or math.isnan(y):
        return _NAN
    if x == 0.0 and y < 0.0:
        # pow(+-0, y<0): +-inf for odd integer y (sign of the zero), else +inf
        if _is_odd_integer(y):
            return math.copysign(_INF, x)
        return _INF
    if math.isfinite(x) and x < 0.0 and math.isfinite(y) and y != math.floor(y):
        return _NAN  # negative ** non-integer
    try:
        return math.pow(x, y)
    except OverflowError:
        negative = x < 0.0 and _is_odd_integer(y)
        return -_INF if negative else _INF
    except ValueError:  # any remaining domain error
        return _NAN


@_op("neg")
@_null_in_null_out
def _neg(call, a):
    if call.arg_dtypes[0] == "int64":
        return _int64_or_null(-a)
    return -a  # flips the sign bit


@_op("abs")
@_null_in_null_out
def _abs(call, a):
    if call.arg_dtypes[0] == "int64":
        return _int64_or_null(abs(a))
    return math.fabs(a)  # clears the sign bit


# ---- comparison ----------------------------------------------------------------------


def _comparable_pair(call: _Call, a: Any, b: Any) -> tuple[Any, Any]:
    ta, tb = call.arg_dtypes
    if ta != tb:
        if {ta, tb} <= {"int64", "float64"}:
            return _as_float(a, ta), _as_float(b, tb)
        raise TypeError(f"reference: cannot compare {ta} with {tb}")
    if ta == "string":
        return a.encode("utf-8"), b.encode("utf-8")  # bytewise
    return a, b  # bool: False < True; int64/timestamp exact; float64 IEEE (NaN unordered)


def _comparison(name: str, pred: Callable[[Any, Any], bool]) -> None:
    @_op(name)
    @_null_in_null_out
    def _cmp(call, a, b):
        x, y = _comparable_pair(call, a, b)
        return bool(pred(x, y))

    _cmp.__name__ = f"_{name}"


_comparison("eq", lambda x, y: x == y)
_comparison("ne", lambda x, y: x != y)
_comparison("lt", lambda x, y: x < y)
_comparison("le", lambda x, y: x <= y)
_comparison("gt", lambda x, y: x > y)
_comparison("ge", lambda x, y: x >= y)


# ---- logic (Kleene) ------------------------------------------------------------------


@_op("and")
def _and(call, a, b):
    if a is False or b is False:
        return False
    if a is True and b is True:
        return True
    return None


@_op("or")
def _or(call, a, b):
    if a is True or b is True:
        return True
    if a is False and b is False:
        return False
    return None


@_op("not")
@_null_in_null_out
def _not(call, a):
    return not a


# ---- math ----------------------------------------------------------------------------


@_op("log")
@_null_in_null_out
def _log(call, a):
    x = _as_float(a, call.arg_dtypes[0])
    if math.isnan(x):
        return x
    if x == 0.0:
        return -_INF
    if x < 0.0:
        return _NAN
    if math.isinf(x):
        return _INF
    return math.log(x)


@_op("log1p")
@_null_in_null_out
def _log1p(call, a):
    x = _as_float(a, call.arg_dtypes[0])
    if math.isnan(x):
        return x
    if x == -1.0:
        return -_INF
    if x < -1.0:
        return _NAN
    if math.isinf(x):
        return _INF
    return math.log1p(x)  # log1p(-0.0) == -0.0


@_op("exp")
@_null_in_null_out
def _exp(call, a):
    x = _as_float(a, call.arg_dtypes[0])
    if math.isnan(x):
        return x
    try:
        return math.exp(x)
    except OverflowError:
        return _INF


@_op("sqrt")
@_null_in_null_out
def _sqrt(call, a):
    x = _as_float(a, call.arg_dtypes[0])
    if math.isnan(x):
        return x
    if x < 0.0:
        return _NAN
    return math.sqrt(x)  # correctly rounded; sqrt(-0.0) == -0.0, sqrt(inf) == inf


@_op("floor")
@_null_in_null_out
def _floor(call, a):
    return a if call.arg_dtypes[0] == "int64" else _floor_f(a)


@_op("ceil")
@_null_in_null_out
def _ceil(call, a):
    return a if call.arg_dtypes[0] == "int64" else _ceil_f(a)


def _round_int_half_even(a: int, m: int) -> int:
    q, r = divmod(a, m)  # a = q*m + r with 0 <= r < m
    if 2 * r > m or (2 * r == m and q % 2 == 1):
        q += 1
    return q * m


@_op("round")
@_null_in_null_out
def _round(call, a):
    nd = _param_value(call, "ndigits", 0)
    if nd is None:
        nd = 0
    if call.arg_dtypes[0] == "int64":
        if nd >= 0:
            return a
        return _int64_or_null(_round_int_half_even(a, 10 ** (-nd)))
    if not math.isfinite(a):
        return a
    if nd >= 0:
        p = float(10**nd)  # exact for nd <= 22
        y = a * p
        if not math.isfinite(y):
            return a
        return _nearbyint(y) / p
    p = float(10 ** (-nd))
    y = a / p
    if not math.isfinite(y):
        return a
    return _nearbyint(y) * p


@_op("sign")
@_null_in_null_out
def _sign(call, a):
    if call.arg_dtypes[0] == "int64":
        return (a > 0) - (a < 0)
    if a > 0.0:
        return 1.0
    if a < 0.0:
        return -1.0
    return a  # +-0.0 and NaN


@_op("clip")
@_null_in_null_out
def _clip(call, a):
    out = call.dtype
    lo = call.params.get("lo")
    hi = call.params.get("hi")

    def bound(p):
        if p is None or p[1] is None:
            return None
        return float(p[1]) if out == "float64" else p[1]

    lo_v, hi_v = bound(lo), bound(hi)
    x = _as_float(a, call.arg_dtypes[0]) if out == "float64" else a
    if lo_v is not None and x < lo_v:
        return lo_v
    if hi_v is not None and x > hi_v:
        return hi_v
    return x


# ---- nulls ---------------------------------------------------------------------------


def _to_dtype(v: Any, src: str, dst: str) -> Any:
    """Branch-type unification: only int64 -> float64 changes a value."""
    if v is None or src == dst or src == "null":
        return v
    if src == "int64" and dst == "float64":
        return float(v)
    raise TypeError(f"reference: cannot unify {src} into {dst}")


@_op("is_null")
def _is_null(call, a):
    return a is None


@_op("is_nan")
@_null_in_null_out
def _is_nan(call, a):
    if call.arg_dtypes[0] == "int64":
        return False
    return math.isnan(a)


@_op("fill_null")
def _fill_null(call, a, b):
    ta, tb = call.arg_dtypes
    if a is not None:
        return _to_dtype(a, ta, call.dtype)
    return _to_dtype(b, tb, call.dtype)


@_op("fill_missing")
def _fill_missing(call, a, b):
    ta, tb = call.arg_dtypes
    out = call.dtype
    if a is not None and not (out == "float64" and math.isnan(_as_float(a, ta))):
        return _to_dtype(a, ta, out)
    return _to_dtype(b, tb, out)


@_op("fill_nan")
def _fill_nan(call, a, b):
    if a is None:
        return None
    x = _as_float(a, call.arg_dtypes[0])
    if math.isnan(x):
        return None if b is None else _as_float(b, call.arg_dtypes[1])
    return x


@_op("coalesce")
def _coalesce(call, *args):
    for v, t in zip(args, call.arg_dtypes):
        if v is not None:
            return _to_dtype(v, t, call.dtype)
    return None


# ---- control -------------------------------------------------------------------------


@_op("if_else")
def _if_else(call, cond, a, b):
    _, ta, tb = call.arg_dtypes
    if cond is True:
        return _to_dtype(a, ta, call.dtype)
    return _to_dtype(b, tb, call.dtype)  # false or null


# ---- cast ----------------------------------------------------------------------------

_INT_RE = re.compile(r"[+-]?[0-9]+")
_FLOAT_RE = re.compile(
    r"[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)",
    re.IGNORECASE,
)


def _float_to_int64(x: float) -> int | None:
    if not math.isfinite(x):
        return None
    return _int64_or_null(int(x))  # int(float) truncates toward zero, exactly


def _string_to_float(s: str) -> float | None:
    if _FLOAT_RE.fullmatch(s) is None:
        return None
    return float(s)  # correctly rounded; overflow gives +-inf, underflow +-0.0


def _string_to_int(s: str) -> int | None:
    if _INT_RE.fullmatch(s) is None:
        return None
    return _int64_or_null(int(s))


_CASTS: dict[tuple[str, str], Callable[[Any], Any]] = {
    ("bool", "int64"): lambda v: 1 if v else 0,
    ("bool", "float64"): lambda v: 1.0 if v else 0.0,
    ("bool", "string"): lambda v: "true" if v else "false",
    ("int64", "float64"): float,
    ("int64", "bool"): lambda v: v != 0,
    ("int64", "string"): str,
    ("int64", "timestamp"): lambda v: v,
    ("float64", "int64"): _float_to_int64,
    ("float64", "bool"): lambda v: v != 0.0,  # NaN != 0 is true
    ("float64", "string"): repr,
    ("string", "int64"): _string_to_int,
    ("string", "float64"): _string_to_float,
    ("string", "bool"): lambda v: {"true": True, "false": False, "1": True, "0": False}.get(v),
    ("timestamp", "int64"): lambda v: v,
    ("timestamp", "string"): format_timestamp,
}


@_op("cast")
@_null_in_null_out
def _cast(call, a):
    src = call.arg_dtypes[0]
    dst = _param_value(call, "dtype")
    if src == dst:
        return a
    fn = _CASTS.get((src, dst))
    if fn is None:
        raise NotImplementedError(f"reference: cast {src} -> {dst} is not defined by the docs")
    return fn(a)


# ---- string --------------------------------------------------------------------------

_ASCII_WS = " \t\n\v\f\r"


def _ascii_case(s: str, lo: int, hi: int, delta: int) -> str:
    b = bytes(c + delta if lo <= c <= hi else c for c in s.encode("utf-8"))
    return b.decode("utf-8")


@_op("str_lower")
@_null_in_null_out
def _str_lower(call, a):
    return _ascii_case(a, 0x41, 0x5A, 0x20)


@_op("str_upper")
@_null_in_null_out
def _str_upper(call, a):
    return _ascii_case(a, 0x61, 0x7A, -0x20)


@_op("str_strip")
@_null_in_null_out
def _str_strip(call, a):
    return a.strip(_ASCII_WS)


@_op("str_len")
@_null_in_null_out
def _str_len(call, a):
    return sum(1 for c in a.encode("utf-8") if c & 0xC0 != 0x80)


@_op("str_contains")
@_null_in_null_out
def _str_contains(call, a):
    return _param_value(call, "pattern").encode("utf-8") in a.encode("utf-8")


@_op("str_starts_with")
@_null_in_null_out
def _str_starts_with(call, a):
    return a.encode("utf-8").startswith(_param_value(call, "pattern").encode("utf-8"))


@_op("str_ends_with")
@_null_in_null_out
def _str_ends_with(call, a):
    return a.encode("utf-8").endswith(_param_value(call, "pattern").encode("utf-8"))


@_op("str_concat")
@_null_in_null_out
def _str_concat(call, *args):
    out = b"".join(s.encode("utf-8") for s in args)
    if len(out) > 0xFFFFFFFF:
        return None
    return out.decode("utf-8")


# ---- temporal ------------------------------------------------------------------------


@_op("dt_year")
@_null_in_null_out
def _dt_year(call, a):
    return split_timestamp(a)[0]


@_op("dt_month")
@_null_in_null_out
def _dt_month(call, a):
    return split_timestamp(a)[1]


@_op("dt_day")
@_null_in_null_out
def _dt_day(call, a):
    return split_timestamp(a)[2]


@_op("dt_hour")
@_null_in_null_out
def _dt_hour(call, a):
    return split_timestamp(a)[3]


@_op("dt_minute")
@_null_in_null_out
def _dt_minute(call, a):
    return split_timestamp(a)[4]


@_op("dt_day_of_week")
@_null_in_null_out
def _dt_day_of_week(call, a):
    days = a // _US_PER_DAY
    return (days + 3) % 7  # 1970-01-01 is a Thursday; Monday = 0


@_op("dt_epoch_seconds")
@_null_in_null_out
def _dt_epoch_seconds(call, a):
    return a // _US_PER_SECOND


@_op("dt_diff_seconds")
@_null_in_null_out
def _dt_diff_seconds(call, a, b):
    d = _int64_or_null(a - b)
    if d is None:
        return None
    return float(d) / 1e6


# ---- encoding ------------------------------------------------------------------------


@_op("hash_bucket")
@_null_in_null_out
def _hash_bucket(call, a):
    n = _param_value(call, "n")
    t = call.arg_dtypes[0]
    if t == "string":
        data = a.encode("utf-8")
    elif t == "int64":
        data = struct.pack("<q", a)
    else:
        raise TypeError(f"reference: hash_bucket of {t}")
    return xxh64(data, 0) % n


@_op("bucketize")
@_null_in_null_out
def _bucketize(call, a):
    x = _as_float(a, call.arg_dtypes[0])
    if math.isnan(x):
        return None
    bounds = [float(v) for _, v in call.params.get("boundaries", [])]
    return bisect.bisect_right(bounds, x)  # number of boundaries b with b <= x


@_op("map")
@_null_in_null_out
def _map(call, a):
    keys = call.params.get("keys", [])
    values = call.params.get("values", [])
    arg_t = call.arg_dtypes[0]
    for (kt, kv), (vt, vv) in zip(keys, values):
        if kt != arg_t:
            raise TypeError(f"reference: map key of type {kt} for a {arg_t} argument")
        if kv == a and type(kv) is type(a):
            return _to_dtype(vv, vt, call.dtype)
    default = call.params.get("default")
    if default is None:
        return None
    return _to_dtype(default[1], default[0], call.dtype)


# ---------------------------------------------------------------------------------------
# type inference (so that un-normalized plans can be run, and optimizer typing checked)
# ---------------------------------------------------------------------------------------


def _unify(dtypes: list[str]) -> str:
    ts = {t for t in dtypes if t != "null"}
    if not ts:
        return "null"
    if ts == {"int64", "float64"}:
        return "float64"
    if len(ts) != 1:
        raise TypeError(f"reference: cannot unify {sorted(ts)}")
    return ts.pop()


_FIXED_RESULT = {
    **dict.fromkeys(["div", "pow", "log", "log1p", "exp", "sqrt", "fill_nan", "dt_diff_seconds"], "float64"),
    **dict.fromkeys(
        ["eq", "ne", "lt", "le", "gt", "ge", "and", "or", "not", "is_null", "is_nan",
         "str_contains", "str_starts_with", "str_ends_with"],
        "bool",
    ),
    **dict.fromkeys(["str_lower", "str_upper", "str_strip", "str_concat"], "string"),
    **dict.fromkeys(
        ["str_len", "dt_year", "dt_month", "dt_day", "dt_hour", "dt_minute", "dt_day_of_week",
         "dt_epoch_seconds", "hash_bucket", "bucketize"],
        "int64",
    ),
}


def infer_dtype(op: str, arg_dtypes: list[str], params: dict, inputs: list[dict] | None = None) -> str:
    """Result type of one step under the documented typing rules."""
    if op == "input":
        idx = params["index"]["value"]
        declared = inputs[idx]["dtype"]
        return "float64" if declared == "float32" else declared
    if op == "const":
        return params["value"]["dtype"]
    if op in _FIXED_RESULT:
        return _FIXED_RESULT[op]
    if op in ("add", "sub", "mul", "floordiv", "mod"):
        # an untyped null operand takes the other operand's type
        return "int64" if all(t in ("int64", "null") for t in arg_dtypes) else "float64"
    if op in ("neg", "abs", "floor", "ceil", "round", "sign"):
        return arg_dtypes[0]
    if op == "clip":
        bounds = [params[k]["dtype"] for k in ("lo", "hi") if k in params]
        if arg_dtypes[0] == "int64" and all(t in ("int64", "null") for t in bounds):
            return "int64"
        return "float64"
    if op in ("fill_null", "coalesce", "fill_missing"):
        return _unify(list(arg_dtypes))
    if op == "if_else":
        return _unify(list(arg_dtypes[1:]))
    if op == "cast":
        return params["dtype"]["value"]
    if op == "map":
        vt = _unify([v["dtype"] for v in params.get("values", []) if v["value"] is not None])
        if vt == "null" and "default" in params and params["default"]["value"] is not None:
            vt = params["default"]["dtype"]
        return vt
    raise NotImplementedError(f"reference: no typing rule for op {op!r}")


# ---------------------------------------------------------------------------------------
# the interpreter
# ---------------------------------------------------------------------------------------

STRUCTURAL_OPS = frozenset({"input", "const"})
REFERENCE_OPS = frozenset(OPS) | STRUCTURAL_OPS


def transcendental_ops() -> frozenset[str]:
    """Ops whose registry entry says ``transcendental`` (results may differ by 1 ulp)."""
    return frozenset(o["name"] for o in core.ops() if o["transcendental"])


TRANSCENDENTAL = transcendental_ops()


def _convert_input(declared: str, v: Any, name: str) -> Any:
    if v is None:
        return None
    if declared == "bool":
        if not isinstance(v, bool):
            raise TypeError(f"input {name!r}: bool expected, got {v!r}")
        return v
    if isinstance(v, bool):
        raise TypeError(f"input {name!r}: declared {declared} but got a bool")
    if declared == "int64" and isinstance(v, float):
        # The core's rule: NaN is null (pandas' missing integer), integral floats in range
        # are exact, any other float is refused.
        if math.isnan(v):
            return None
        if not (-(2.0**63) <= v < 2.0**63) or v != math.floor(v):
            raise TypeError(f"input {name!r}: float {v!r} is not an int64")
        return int(v)
    if declared in ("int64", "timestamp"):
        if not isinstance(v, int) or _int64_or_null(v) is None:
            raise TypeError(f"input {name!r}: int64 value expected, got {v!r}")
        return v
    if declared == "float64":
        return float(v)
    if declared == "float32":
        return to_float32(float(v))
    if declared == "string":
        if not isinstance(v, str):
            raise TypeError(f"input {name!r}: str expected, got {v!r}")
        return v
    raise NotImplementedError(f"reference: input type {declared!r}")


def evaluate_step(op: str, args: list[Any], arg_dtypes: list[str], params: dict, dtype: str) -> Any:
    """Run one op on already computed argument values."""
    fn = OPS.get(op)
    if fn is None:
        raise NotImplementedError(f"reference: unknown op {op!r}")
    return fn(_Call(_decode_params(params), list(arg_dtypes), dtype), *args)


def evaluate(plan: dict, row: dict) -> dict:
    """Interpret ``plan`` on one ``row`` (input name -> Python value); {output: value}."""
    inputs = plan["inputs"]
    values: list[Any] = []
    dtypes: list[str] = []
    for i, step in enumerate(plan["steps"]):
        op = step["op"]
        params = step.get("params", {})
        args = step.get("args", [])
        arg_dtypes = [dtypes[a] for a in args]
        if op not in REFERENCE_OPS:
            raise NotImplementedError(f"reference: unknown op {op!r} at step {i}")
        dtype = infer_dtype(op, arg_dtypes, params, inputs)
        declared = step.get("dtype")
        if op == "input" and declared == inputs[params["index"]["value"]]["dtype"]:
            declared = dtype  # an input step may be annotated with its declared type
        if declared is not None and declared != dtype:
            if dtype == "null":  # an untyped null takes the type its use requires
                dtype = declared
            else:
                raise ReferenceTypeMismatch(
                    f"step {i} ({op}): plan says {declared}, reference infers {dtype}"
                )
        if op == "input":
            spec = inputs[params["index"]["value"]]
            value = _convert_input(spec["dtype"], row[spec["name"]], spec["name"])
        elif op == "const":
            value = params["value"]["value"]
        else:
            value = evaluate_step(op, [values[a] for a in args], arg_dtypes, params, dtype)
        values.append(value)
        dtypes.append(dtype)
    return {o["name"]: values[o["step"]] for o in plan["outputs"]}
