"""The 20-feature benchmark plan, defined once in the featureplat DSL, plus the same 20
features written three more ways, as the peers a team would otherwise write:

* ``polars_exprs()``   -- Polars expressions (``df.select(...)``),
* ``numpy_features()`` -- hand-written vectorised numpy over column arrays,
* ``python_features()``-- a plain Python function over one request dict, the way a Python
  on-demand transform runs per request.

Inputs (6 columns): ``x``, ``y``, ``z`` float64; ``n`` int64; ``s`` string; ``t`` timestamp
(microseconds, UTC). The generated data has no nulls and no NaN (see conftest.py), so the
numpy peer needs no null masks; every peer computes the same values
(``test_features20_equivalence.py`` asserts it per feature), except ``f19_hash``: Polars and
numpy have no xxHash64, so those two peers use their own native hash as a cost stand-in and
that feature's values are only compared between featureplat and the Python function (which
uses the ``xxhash`` package, the exact definition featureplat documents).
"""
from __future__ import annotations

import bisect
import math

import numpy as np

import featureplat as fp

# Boundaries of f20_bucket (bucketize = bisect_right = number of boundaries <= x).
BOUNDARIES = [-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0]
HASH_BUCKETS = 1000
PATTERN = "shop"  # f16: s.lower() contains "shop"

US_PER_HOUR = 3_600_000_000
US_PER_DAY = 86_400_000_000

FEATURE_NAMES = [
    "f01_sum", "f02_ratio", "f03_lin", "f04_log1p_y", "f05_log1p_n", "f06_exp", "f07_sqrt",
    "f08_clip", "f09_clip_n", "f10_when_sqrt", "f11_when_mix", "f12_gt", "f13_or", "f14_mod_mul",
    "f15_absdiff", "f16_str", "f17_hour", "f18_dow", "f19_hash", "f20_bucket",
]
# Features whose value is an integer or a bool: compared exactly; the others with rtol 1e-12.
EXACT_FEATURES = {"f09_clip_n", "f12_gt", "f13_or", "f16_str", "f17_hour", "f18_dow", "f19_hash",
                  "f20_bucket"}
# Not compared between featureplat and the Polars / numpy peers (different hash function).
HASH_FEATURE = "f19_hash"
INPUTS = ["x", "y", "z", "n", "s", "t"]


# ---- (0) featureplat: the one definition ---------------------------------------------

def feature_set() -> fp.FeatureSet:
    x, y, z, n, s, t = (fp.col(c) for c in INPUTS)
    features = {
        "f01_sum": x + y,
        "f02_ratio": x / (y + 1.0),
        "f03_lin": x * 2.5 - z * 0.5 + 3.0,
        "f04_log1p_y": y.log1p(),
        "f05_log1p_n": n.log1p(),
        "f06_exp": (z * 0.5).exp(),
        "f07_sqrt": y.sqrt(),
        "f08_clip": x.clip(-1.0, 1.0),
        "f09_clip_n": n.clip(10, 500),
        "f10_when_sqrt": fp.when(x > 0).then(x.sqrt()).otherwise(0.0),
        "f11_when_mix": fp.when((n > 100) & (y < 1.0)).then(z).otherwise(x * y),
        "f12_gt": x > z,
        "f13_or": (y >= 2.0) | (n == 0),
        "f14_mod_mul": (n % 7) * x,
        "f15_absdiff": (x - z).abs(),
        "f16_str": s.str.lower().str.contains(PATTERN),
        "f17_hour": t.dt.hour(),
        "f18_dow": t.dt.day_of_week(),
        "f19_hash": s.hash_bucket(HASH_BUCKETS),
        "f20_bucket": x.bucketize(BOUNDARIES),
    }
    assert list(features) == FEATURE_NAMES
    return fp.FeatureSet(
        "bench20",
        inputs={"x": fp.request("float64"), "y": fp.request("float64"), "z": fp.request("float64"),
                "n": fp.request("int64"), "s": fp.request("string"), "t": fp.request("timestamp")},
        features=features,
    )


def compile_plan() -> fp.Plan:
    return fp.compile(feature_set())


# ---- (a) Polars ----------------------------------------------------------------------

def polars_exprs(as_float: bool = False) -> list:
    """The 20 features as Polars expressions over columns x, y, z, n, s, t (t a UTC
    Datetime). ``as_float`` casts each to Float64, for a float matrix via ``to_numpy()``."""
    import polars as pl

    x, y, z, n, s, t = (pl.col(c) for c in INPUTS)
    exprs = [
        x + y,
        x / (y + 1.0),
        x * 2.5 - z * 0.5 + 3.0,
        y.log1p(),
        n.log1p(),
        (z * 0.5).exp(),
        y.sqrt(),
        x.clip(-1.0, 1.0),
        n.clip(10, 500),
        pl.when(x > 0).then(x.sqrt()).otherwise(0.0),
        pl.when((n > 100) & (y < 1.0)).then(z).otherwise(x * y),
        x > z,
        (y >= 2.0) | (n == 0),
        (n % 7) * x,
        (x - z).abs(),
        s.str.to_lowercase().str.contains(PATTERN, literal=True),
        t.dt.hour(),
        t.dt.weekday() - 1,  # Polars: Monday = 1 .. Sunday = 7
        # COST STAND-IN, value not compared: Polars' native 64-bit hash, not xxHash64.
        s.hash(seed=0) % HASH_BUCKETS,
        # bisect_right over the boundaries = number of boundaries <= x.
        pl.lit(pl.Series(BOUNDARIES, dtype=pl.Float64)).search_sorted(x, side="right"),
    ]
    out = []
    for name, e in zip(FEATURE_NAMES, exprs):
        if as_float:
            e = e.cast(pl.Float64)
        out.append(e.alias(name))
    return out


# ---- (b) numpy -----------------------------------------------------------------------

def _days(d: dict) -> np.ndarray:
    """Whole days since the epoch (floor division, as featureplat); shared by f17/f18."""
    days = d.get("_days")
    return d["t"] // US_PER_DAY if days is None else days


# One function per feature over numpy inputs: x, y, z float64; n int64; s fixed-width bytes
# ('S16', ASCII); t int64 microseconds since the epoch (UTC).
NUMPY_FEATURES = {
    "f01_sum": lambda d: d["x"] + d["y"],
    "f02_ratio": lambda d: d["x"] / (d["y"] + 1.0),
    "f03_lin": lambda d: d["x"] * 2.5 - d["z"] * 0.5 + 3.0,
    "f04_log1p_y": lambda d: np.log1p(d["y"]),
    "f05_log1p_n": lambda d: np.log1p(d["n"].astype(np.float64)),
    "f06_exp": lambda d: np.exp(d["z"] * 0.5),
    "f07_sqrt": lambda d: np.sqrt(d["y"]),
    "f08_clip": lambda d: np.clip(d["x"], -1.0, 1.0),
    "f09_clip_n": lambda d: np.clip(d["n"], 10, 500),
    # sqrt(x < 0) = NaN is discarded by where (the errstate in _numpy_columns).
    "f10_when_sqrt": lambda d: np.where(d["x"] > 0, np.sqrt(d["x"]), 0.0),
    "f11_when_mix": lambda d: np.where((d["n"] > 100) & (d["y"] < 1.0), d["z"], d["x"] * d["y"]),
    "f12_gt": lambda d: d["x"] > d["z"],
    "f13_or": lambda d: (d["y"] >= 2.0) | (d["n"] == 0),
    "f14_mod_mul": lambda d: (d["n"] % 7) * d["x"],
    "f15_absdiff": lambda d: np.abs(d["x"] - d["z"]),
    "f16_str": lambda d: np.strings.find(np.strings.lower(d["s"]), PATTERN.encode()) >= 0,
    "f17_hour": lambda d: (d["t"] - _days(d) * US_PER_DAY) // US_PER_HOUR,
    "f18_dow": lambda d: (_days(d) + 3) % 7,
    # COST STAND-IN, value not compared: numpy has no string hash, so this is a
    # multiply-xorshift hash of the 16 bytes as two uint64 words.
    "f19_hash": lambda d: _numpy_hash16(d["s"]) % np.uint64(HASH_BUCKETS),
    "f20_bucket": lambda d: np.searchsorted(np.asarray(BOUNDARIES), d["x"], side="right"),
}
assert list(NUMPY_FEATURES) == FEATURE_NAMES


def _numpy_columns(d: dict) -> list:
    with np.errstate(invalid="ignore"):
        d = dict(d, _days=_days(d))  # computed once for f17 and f18, as a hand-writer would
        return [fn(d) for fn in NUMPY_FEATURES.values()]


_K1 = np.uint64(0x9E3779B97F4A7C15)
_K2 = np.uint64(0xC2B2AE3D27D4EB4F)


def _numpy_hash16(s: np.ndarray) -> np.ndarray:
    assert s.dtype == np.dtype("S16")
    w = s.view(np.uint64).reshape(len(s), 2)
    h = w[:, 0] * _K1
    h ^= w[:, 1] * _K2
    h ^= h >> np.uint64(29)
    h *= _K1
    h ^= h >> np.uint64(32)
    return h


def numpy_features(d: dict) -> dict:
    """Columnar result: feature name -> 1-D array in its natural dtype."""
    return dict(zip(FEATURE_NAMES, _numpy_columns(d)))


def numpy_matrix(d: dict) -> np.ndarray:
    """Row-major float64 matrix (rows x 20), like ``plan.transform(..., to="numpy")``."""
    cols = _numpy_columns(d)
    out = np.empty((len(d["x"]), len(cols)), dtype=np.float64)
    for j, c in enumerate(cols):
        out[:, j] = c
    return out


# ---- (c) plain Python, one request dict ------------------------------------------------

def python_features(r: dict) -> dict:
    """One request: a dict of Python values (t a timezone-aware UTC datetime) -> a dict of
    features, as a Python on-demand transform computes it."""
    import xxhash

    x, y, z, n, s, t = r["x"], r["y"], r["z"], r["n"], r["s"], r["t"]
    return {
        "f01_sum": x + y,
        "f02_ratio": x / (y + 1.0),
        "f03_lin": x * 2.5 - z * 0.5 + 3.0,
        "f04_log1p_y": math.log1p(y),
        "f05_log1p_n": math.log1p(n),
        "f06_exp": math.exp(z * 0.5),
        "f07_sqrt": math.sqrt(y),
        "f08_clip": min(max(x, -1.0), 1.0),
        "f09_clip_n": min(max(n, 10), 500),
        "f10_when_sqrt": math.sqrt(x) if x > 0 else 0.0,
        "f11_when_mix": z if (n > 100 and y < 1.0) else x * y,
        "f12_gt": x > z,
        "f13_or": y >= 2.0 or n == 0,
        "f14_mod_mul": (n % 7) * x,
        "f15_absdiff": abs(x - z),
        "f16_str": PATTERN in s.lower(),
        "f17_hour": t.hour,
        "f18_dow": t.weekday(),
        "f19_hash": xxhash.xxh64_intdigest(s.encode(), seed=0) % HASH_BUCKETS,
        "f20_bucket": bisect.bisect_right(BOUNDARIES, x),
    }
