"""Immutable expression nodes. Every method only coerces its arguments and builds a
node; semantics live in the C++ op registry (see ``featureplat.ops()``)."""
from __future__ import annotations

import datetime as _dt
from typing import Any, Iterable, Mapping

from featureplat import _core
from featureplat.errors import InputError, PlanError
from featureplat.plan.dtypes import COMPUTED_DTYPES
from featureplat.plan.text import render_node

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
MAX_IS_IN_COMPARISONS = 256  # numbers and times: one comparison each
DTYPES = COMPUTED_DTYPES


def _scalar(value: Any, dtype: str | None = None) -> dict:
    """A plan scalar ``{"dtype": ..., "value": ...}`` from a Python value."""
    if dtype is not None and dtype not in DTYPES + ("null",):
        raise PlanError(f"unknown dtype {dtype!r}; expected one of {', '.join(DTYPES)}")
    if value is None:
        return {"dtype": dtype or "null", "value": None}
    if hasattr(value, "item") and not isinstance(value, (bool, int, float, str)):
        value = value.item()  # numpy scalar
    if isinstance(value, bool):
        kind, v = "bool", value
    elif isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise PlanError(f"integer literal {value} does not fit int64")
        kind, v = "int64", value
    elif isinstance(value, float):
        kind, v = "float64", value
    elif isinstance(value, str):
        kind, v = "string", value
    elif isinstance(value, _dt.datetime):
        try:  # the core's one datetime conversion: a naive datetime is refused, as for inputs
            kind, v = "timestamp", _core.datetime_to_micros(value, f"literal {value!r}")
        except InputError as err:
            raise PlanError(str(err)) from None
    else:
        raise PlanError(f"unsupported literal {value!r} of type {type(value).__name__}")
    if dtype is not None and dtype != kind:
        if dtype == "float64" and kind == "int64":
            kind, v = "float64", float(v)
        elif dtype == "timestamp" and kind == "int64":
            kind = "timestamp"
        else:
            raise PlanError(f"literal {value!r} is not a {dtype}")
    return {"dtype": kind, "value": v}


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    return value


class Expr:
    """A feature expression. Build with :func:`col`, :func:`lit`, :func:`when`, operators
    and methods; it is immutable and cheap to share.

    >>> import featureplat as fp
    >>> (fp.col("trips").log1p() * 2).clip(0, 10)
    (col('trips').log1p() * lit(2)).clip(lo=0, hi=10)
    """

    __slots__ = ("_op", "_args", "_params", "_name")

    def __init__(self, op: str, args: Iterable["Expr"] = (), params: Mapping[str, Any] | None = None,
                 name: str | None = None):
        object.__setattr__(self, "_op", op)
        object.__setattr__(self, "_args", tuple(args))
        object.__setattr__(self, "_params", dict(params or {}))
        object.__setattr__(self, "_name", name)

    def __setattr__(self, key, value):
        raise AttributeError("Expr is immutable")

    __hash__ = object.__hash__

    @property
    def op(self) -> str:
        """The registered op this node applies ("col" for a column reference)."""
        return self._op

    @property
    def args(self) -> tuple["Expr", ...]:
        """Argument expressions."""
        return self._args

    @property
    def params(self) -> dict:
        """Literal parameters, in plan-scalar form."""
        return dict(self._params)

    def key(self) -> tuple:
        """A structural key: equal for structurally equal expressions."""
        return (self._op, self._name, _freeze(self._params), tuple(a.key() for a in self._args))

    def __bool__(self):
        raise TypeError(
            "a feature expression has no truth value: use & (and), | (or) and ~ (not) instead of "
            "and/or/not, fp.when(cond).then(a).otherwise(b) instead of if/else, and parenthesise "
            "comparisons: (fp.col('a') > 1) & (fp.col('b') < 2)")

    # ---- arithmetic -----------------------------------------------------------------
    def __add__(self, o): return _call("add", self, o)
    def __radd__(self, o): return _call("add", o, self)
    def __sub__(self, o): return _call("sub", self, o)
    def __rsub__(self, o): return _call("sub", o, self)
    def __mul__(self, o): return _call("mul", self, o)
    def __rmul__(self, o): return _call("mul", o, self)
    def __truediv__(self, o): return _call("div", self, o)
    def __rtruediv__(self, o): return _call("div", o, self)
    def __floordiv__(self, o): return _call("floordiv", self, o)
    def __rfloordiv__(self, o): return _call("floordiv", o, self)
    def __mod__(self, o): return _call("mod", self, o)
    def __rmod__(self, o): return _call("mod", o, self)
    def __pow__(self, o): return _call("pow", self, o)
    def __rpow__(self, o): return _call("pow", o, self)
    def __neg__(self): return _call("neg", self)
    def __pos__(self): return self
    def __abs__(self): return _call("abs", self)

    # ---- comparison and logic -------------------------------------------------------
    def __eq__(self, o): return _call("eq", self, o)  # type: ignore[override]
    def __ne__(self, o): return _call("ne", self, o)  # type: ignore[override]
    def __lt__(self, o): return _call("lt", self, o)
    def __le__(self, o): return _call("le", self, o)
    def __gt__(self, o): return _call("gt", self, o)
    def __ge__(self, o): return _call("ge", self, o)
    def __and__(self, o): return _call("and", self, o)
    def __rand__(self, o): return _call("and", o, self)
    def __or__(self, o): return _call("or", self, o)
    def __ror__(self, o): return _call("or", o, self)
    def __invert__(self): return _call("not", self)

    # ---- math -----------------------------------------------------------------------
    def abs(self) -> "Expr":
        """Absolute value."""
        return _call("abs", self)

    def log(self) -> "Expr":
        """Natural logarithm (float64)."""
        return _call("log", self)

    def log1p(self) -> "Expr":
        """log(1 + x), accurate near 0 (float64)."""
        return _call("log1p", self)

    def exp(self) -> "Expr":
        """e ** x (float64)."""
        return _call("exp", self)

    def sqrt(self) -> "Expr":
        """Square root (float64)."""
        return _call("sqrt", self)

    def pow(self, exponent) -> "Expr":
        """x ** exponent (float64)."""
        return _call("pow", self, exponent)

    def clip(self, lo=None, hi=None) -> "Expr":
        """Limit to [lo, hi]; either bound may be None."""
        return _call("clip", self, params={"lo": _num_param(lo, "clip lo"), "hi": _num_param(hi, "clip hi")})

    def floor(self) -> "Expr":
        """Round toward -inf."""
        return _call("floor", self)

    def ceil(self) -> "Expr":
        """Round toward +inf."""
        return _call("ceil", self)

    def round(self, ndigits: int = 0) -> "Expr":
        """Round half to even at ``ndigits`` decimals (-15..15)."""
        return _call("round", self, params={"ndigits": _int_param(ndigits, "round ndigits")})

    def sign(self) -> "Expr":
        """-1, 0 or 1 (float64 keeps ±0.0 and NaN)."""
        return _call("sign", self)

    # ---- nulls ----------------------------------------------------------------------
    def is_null(self) -> "Expr":
        """True where the value is missing."""
        return _call("is_null", self)

    def is_not_null(self) -> "Expr":
        """True where the value is present."""
        return ~_call("is_null", self)

    def is_nan(self) -> "Expr":
        """True where the value is NaN."""
        return _call("is_nan", self)

    def fill_null(self, value) -> "Expr":
        """Replace null with ``value`` (a literal or an expression)."""
        return _call("fill_null", self, value)

    def fill_nan(self, value) -> "Expr":
        """Replace NaN with ``value`` (a literal or an expression)."""
        return _call("fill_nan", self, value)

    # ---- membership and ranges ------------------------------------------------------
    def is_in(self, values) -> "Expr":
        """True where the value equals one of ``values`` (compared as ``==`` compares: strings
        by bytes, int64 with float64 as float64, NaN never matches). Null in, null out.

        >>> col("tier").is_in(["basic", "plus"])
        col('tier').map(keys=['basic', 'plus'], values=[True, True], default=False)
        """
        if isinstance(values, (str, bytes, Mapping)):
            raise PlanError("is_in: give a list of values, not a single string or a dict")
        try:
            items = list(values)
        except TypeError:
            raise PlanError(f"is_in: give a list of values, got {type(values).__name__}") from None
        if any(v is None for v in items):
            raise PlanError("is_in: None is not a value to match; test for missing values with is_null()")
        if not items:
            return when(self.is_null()).then(lit(None, "bool")).otherwise(False)
        kinds = {_scalar(v)["dtype"] for v in items}
        if len(kinds) == 1 and kinds <= {"string", "bool"}:
            keys = list(dict.fromkeys(items))  # a lookup table: exact, one probe per row
            return _call("map", self, params={"keys": [_scalar(k) for k in keys],
                                              "values": [_scalar(True)] * len(keys), "default": _scalar(False)})
        if len(items) > MAX_IS_IN_COMPARISONS:
            raise PlanError(f"is_in: {len(items)} numbers or times is more than {MAX_IS_IN_COMPARISONS}; cast the "
                            "column to string (or int64) and give values of that type for a lookup table")
        out = self == items[0]
        for v in items[1:]:
            out = out | (self == v)
        return out

    def between(self, lo, hi, closed: str = "both") -> "Expr":
        """``lo <= value <= hi`` (``closed``: "both", "left", "right" or "none" says which bounds
        are included). Null in, null out; NaN is never between.

        >>> col("price").between(0, 500)
        ((col('price') >= lit(0)) & (col('price') <= lit(500)))
        """
        if closed not in ("both", "left", "right", "none"):
            raise PlanError(f"between: closed must be 'both', 'left', 'right' or 'none', got {closed!r}")
        low = self >= lo if closed in ("both", "left") else self > lo
        high = self <= hi if closed in ("both", "right") else self < hi
        return low & high

    # ---- conversion and encoding ----------------------------------------------------
    def cast(self, dtype: str) -> "Expr":
        """Convert to ``dtype`` (bool, int64, float64, string, timestamp)."""
        if dtype not in DTYPES:
            raise PlanError(f"cast: unknown dtype {dtype!r}; expected one of {', '.join(DTYPES)}")
        return _call("cast", self, params={"dtype": _scalar(dtype)})

    def hash_bucket(self, n: int) -> "Expr":
        """xxHash64 (seed 0) of the value modulo ``n``."""
        return _call("hash_bucket", self, params={"n": _int_param(n, "hash_bucket n")})

    def bucketize(self, boundaries) -> "Expr":
        """Index of the bucket: the number of boundaries <= value."""
        try:
            items = list(boundaries)
        except TypeError:
            raise PlanError("bucketize: boundaries must be a list of numbers") from None
        return _call("bucketize", self, params={"boundaries": [_num_param(b, "bucketize boundary", False) for b in items]})

    def map(self, mapping: Mapping, default=None) -> "Expr":
        """Look the value up in ``mapping``; missing keys give ``default``."""
        if not isinstance(mapping, Mapping):
            raise PlanError("map: expects a dict of key -> value")
        keys = list(mapping.keys())
        return _call("map", self, params={
            "keys": [_scalar(k) for k in keys],
            "values": [_scalar(mapping[k]) for k in keys],
            "default": _scalar(default),
        })

    # ---- fitted transforms (statistics come from plan.fit) ---------------------------
    def standard_scale(self) -> "Expr":
        """(x - mean) / std, with mean and std fitted on training data."""
        return _call("standard_scale", self)

    def min_max_scale(self) -> "Expr":
        """(x - min) / (max - min), fitted on training data."""
        return _call("min_max_scale", self)

    def robust_scale(self) -> "Expr":
        """(x - median) / (q75 - q25), fitted on training data."""
        return _call("robust_scale", self)

    def quantile_bucketize(self, n: int) -> "Expr":
        """Bucket index by the fitted n-quantiles of the training data."""
        return _call("quantile_bucketize", self, params={"n": _int_param(n, "quantile_bucketize n")})

    def vocabulary(self, top_k: int | None = None, min_frequency: int = 1, num_oov_buckets: int = 1,
                   order: str = "frequency") -> "Expr":
        """Index in the fitted vocabulary; unseen values hash into ``num_oov_buckets``."""
        return _call("vocabulary", self, params={
            "top_k": _scalar(None, "int64") if top_k is None else _int_param(top_k, "vocabulary top_k"),
            "min_frequency": _int_param(min_frequency, "vocabulary min_frequency"),
            "num_oov_buckets": _int_param(num_oov_buckets, "vocabulary num_oov_buckets"),
            "order": _str_param(order, "vocabulary order"),
        })

    def one_hot(self, top_k: int | None = None, min_frequency: int = 1, order: str = "value") -> "Expr":
        """One 0/1 column per fitted vocabulary value, named ``<feature>__<value>``."""
        return _call("one_hot", self, params={
            "top_k": _scalar(None, "int64") if top_k is None else _int_param(top_k, "one_hot top_k"),
            "min_frequency": _int_param(min_frequency, "one_hot min_frequency"),
            "order": _str_param(order, "one_hot order"),
        })

    def impute(self, strategy="mean") -> "Expr":
        """Replace missing values (null, and NaN for floats) with the fitted mean, median or
        most frequent value, or with a constant."""
        if isinstance(strategy, str) and strategy in ("mean", "median", "most_frequent"):
            return _call("impute", self, params={"strategy": _scalar(strategy)})
        return self.fill_missing(strategy)

    def fill_missing(self, value) -> "Expr":
        """Replace null, and NaN for float64, with ``value``."""
        return _call("fill_missing", self, value)

    @property
    def str(self) -> "StringNamespace":
        """String functions."""
        return StringNamespace(self)

    @property
    def dt(self) -> "TimestampNamespace":
        """Timestamp functions."""
        return TimestampNamespace(self)

    def __repr__(self) -> str:
        return _render(self)


class StringNamespace:
    """``expr.str``: string functions (ASCII case mapping and whitespace)."""

    __slots__ = ("_e",)

    def __init__(self, e: Expr):
        self._e = e

    def lower(self) -> Expr:
        """ASCII lowercase."""
        return _call("str_lower", self._e)

    def upper(self) -> Expr:
        """ASCII uppercase."""
        return _call("str_upper", self._e)

    def strip(self) -> Expr:
        """Strip ASCII whitespace at both ends."""
        return _call("str_strip", self._e)

    def len(self) -> Expr:
        """Length in code points."""
        return _call("str_len", self._e)

    def contains(self, pattern: str) -> Expr:
        """Substring test."""
        return _call("str_contains", self._e, params={"pattern": _str_param(pattern, "contains")})

    def starts_with(self, prefix: str) -> Expr:
        """Prefix test."""
        return _call("str_starts_with", self._e, params={"pattern": _str_param(prefix, "starts_with")})

    def ends_with(self, suffix: str) -> Expr:
        """Suffix test."""
        return _call("str_ends_with", self._e, params={"pattern": _str_param(suffix, "ends_with")})

    def concat(self, *others) -> Expr:
        """Concatenate with other strings (null if any is null)."""
        if not others:
            raise PlanError("str.concat: give at least one other string")
        return _call("str_concat", self._e, *others)


class TimestampNamespace:
    """``expr.dt``: calendar fields (UTC, proleptic Gregorian) and differences."""

    __slots__ = ("_e",)

    def __init__(self, e: Expr):
        self._e = e

    def year(self) -> Expr:
        """Calendar year."""
        return _call("dt_year", self._e)

    def month(self) -> Expr:
        """Month 1-12."""
        return _call("dt_month", self._e)

    def day(self) -> Expr:
        """Day of month 1-31."""
        return _call("dt_day", self._e)

    def hour(self) -> Expr:
        """Hour 0-23."""
        return _call("dt_hour", self._e)

    def minute(self) -> Expr:
        """Minute 0-59."""
        return _call("dt_minute", self._e)

    def day_of_week(self) -> Expr:
        """Monday=0 .. Sunday=6."""
        return _call("dt_day_of_week", self._e)

    def epoch_seconds(self) -> Expr:
        """Whole seconds since 1970-01-01 (floor)."""
        return _call("dt_epoch_seconds", self._e)

    def diff_seconds(self, other) -> Expr:
        """(self - other) in seconds, float64."""
        return _call("dt_diff_seconds", self._e, other)


def col(name: str) -> Expr:
    """Reference a declared input of the feature set.

    >>> col("trips") + 1
    (col('trips') + 1)
    """
    if not isinstance(name, str) or not name:
        raise PlanError("col: the name must be a non-empty string")
    return Expr("col", name=name)


def lit(value, dtype: str | None = None) -> Expr:
    """A literal. ``lit(None, dtype="float64")`` is a typed null.

    >>> lit(1.5)
    lit(1.5)
    """
    if isinstance(value, Expr):
        return value
    return Expr("const", params={"value": _scalar(value, dtype)})


def coalesce(*exprs) -> Expr:
    """The first argument that is not null."""
    if not exprs:
        raise PlanError("coalesce: give at least one expression")
    return _call("coalesce", *exprs)


class When:
    """``when(cond).then(a)[.when(c2).then(b)].otherwise(c)``."""

    __slots__ = ("_branches", "_cond")

    def __init__(self, branches: tuple, cond: Expr):
        self._branches = branches
        self._cond = cond

    def then(self, value) -> "Then":
        """Value where the condition holds."""
        return Then(self._branches + ((self._cond, lit(value)),))


class Then(Expr):
    """A conditional missing its ``otherwise``: as an expression, unmatched rows are null."""

    __slots__ = ("_branches_",)

    def __init__(self, branches: tuple):
        built = _build_when(branches, lit(None))
        super().__init__(built._op, built._args, built._params, built._name)
        object.__setattr__(self, "_branches_", branches)

    def when(self, cond) -> When:
        """Another condition, tried when the previous ones did not hold."""
        return When(self._branches_, lit(cond))

    def otherwise(self, value) -> Expr:
        """Value where no condition holds."""
        return _build_when(self._branches_, lit(value))


def _build_when(branches: tuple, otherwise: Expr) -> Expr:
    out = otherwise
    for cond, value in reversed(branches):
        out = Expr("if_else", (cond, value, out))
    return out


def when(cond) -> When:
    """Start a conditional expression.

    >>> when(col("x") > 0).then(1.0).otherwise(0.0)
    when(col('x') > 0).then(1.0).otherwise(0.0)
    """
    return When((), lit(cond))


# ---- helpers ------------------------------------------------------------------------

def _call(op: str, *args, params: Mapping[str, Any] | None = None) -> Expr:
    return Expr(op, tuple(lit(a) for a in args), params)


def _num_param(v, what: str, allow_none: bool = True) -> dict:
    if v is None and allow_none:
        return {"dtype": "null", "value": None}
    if hasattr(v, "item") and not isinstance(v, (bool, int, float)):
        v = v.item()
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise PlanError(f"{what} must be a number, got {v!r}")
    return _scalar(v)


def _int_param(v, what: str) -> dict:
    if hasattr(v, "item") and not isinstance(v, (bool, int)):
        v = v.item()
    if isinstance(v, bool) or not isinstance(v, int):
        raise PlanError(f"{what} must be an integer, got {v!r}")
    return _scalar(v)


def _str_param(v, what: str) -> dict:
    if not isinstance(v, str):
        raise PlanError(f"{what}: expected a string, got {v!r}")
    return _scalar(v)


def _render(e: Expr) -> str:
    """The expression in DSL syntax, written by the plan's renderer (one set of rules for
    an Expr and for a plan step)."""
    if e._op == "col":
        return render_node("col", [], {}, e._name)
    return render_node(e._op, [_render(a) for a in e._args], e._params, arg_ops=[a._op for a in e._args])
