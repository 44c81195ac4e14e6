"""Feature sets whose compiled plans are pinned as golden files. Regenerate with
``python tests/golden/regenerate.py`` only together with a plan format version bump."""
import featureplat as fp

INPUTS = {
    "amount": fp.request("float64"),
    "count": fp.feast("stats:count", "int64"),
    "ratio32": fp.feast("stats:ratio", "float32"),
    "city": fp.feast("profile:city", "string"),
    "seen_at": fp.request("timestamp"),
    "active": fp.request("bool"),
}


def arithmetic() -> fp.FeatureSet:
    a, n = fp.col("amount"), fp.col("count")
    return fp.FeatureSet("golden_arithmetic", inputs=INPUTS, features={
        "sum": a + n, "int_math": (n * 3 - 7) // 2 % 5, "ratio": a / (n + 1), "power": a ** 0.5,
        "neg_abs": abs(-a), "rounded": a.round(2), "clipped": n.clip(0, 100), "f32": fp.col("ratio32") * 1,
        "logs": a.log1p() + a.exp().log() + a.sqrt(), "signs": a.sign() + a.floor() + a.ceil(),
    })


def logic_and_nulls() -> fp.FeatureSet:
    a, n = fp.col("amount"), fp.col("count")
    return fp.FeatureSet("golden_logic", inputs=INPUTS, features={
        "flag": ((a > 10) & ~fp.col("active")) | (n == 0),
        "choice": fp.when(a > 100).then("big").when(a > 10).then("mid").otherwise("small"),
        "filled": a.fill_null(-1.0).fill_nan(-2.0), "first": fp.coalesce(n, 0),
        "missing": a.is_null() | a.is_nan(), "as_int": a.cast("int64"), "as_text": a.cast("string"),
    })


def strings_time_encoding() -> fp.FeatureSet:
    c, t = fp.col("city"), fp.col("seen_at")
    return fp.FeatureSet("golden_text_time", inputs=INPUTS, features={
        "city_bucket": c.str.strip().str.lower().hash_bucket(1000), "city_len": c.str.len(),
        "is_lis": c.str.starts_with("Lis") | c.str.ends_with("bon") | c.str.contains("sbo"),
        "label": c.str.upper().str.concat("-", fp.col("count").cast("string")),
        "region": c.map({"Lisbon": "south", "Porto": "north"}, "other"),
        "band": fp.col("amount").bucketize([0, 10, 100, 1000]),
        "hour": t.dt.hour(), "dow": t.dt.day_of_week(), "ymd": t.dt.year() * 10000 + t.dt.month() * 100 + t.dt.day(),
        "minute": t.dt.minute(), "epoch": t.dt.epoch_seconds(), "age_s": t.dt.diff_seconds(fp.lit(0).cast("timestamp")),
    })


def fitted() -> fp.FeatureSet:
    a, c = fp.col("amount"), fp.col("city")
    return fp.FeatureSet("golden_fitted", inputs=INPUTS, features={
        "z": a.log1p().standard_scale(), "mm": fp.col("count").min_max_scale(), "rb": a.robust_scale(),
        "q": a.quantile_bucketize(4), "v": c.vocabulary(top_k=2, num_oov_buckets=2), "imp": a.impute("median"),
        "city": c.one_hot(),
    })


def fitted_variants() -> fp.FeatureSet:
    """Every other branch of the fitted rewrites: no OOV buckets, value order, frequency
    floors, degenerate scales, duplicate quantile edges, nested fits, integer one_hot."""
    a, n, c = fp.col("amount"), fp.col("count"), fp.col("city")
    const = fp.col("ratio32")
    return fp.FeatureSet("golden_fitted_variants", inputs=INPUTS, features={
        "v_no_oov": c.vocabulary(num_oov_buckets=0), "v_value": c.vocabulary(order="value", num_oov_buckets=3),
        "v_rare": c.vocabulary(min_frequency=100, num_oov_buckets=2), "v_none": c.vocabulary(min_frequency=100,
                                                                                             num_oov_buckets=0),
        "z_const": const.standard_scale(), "mm_const": const.min_max_scale(), "rb_const": const.robust_scale(),
        "q_dup": (n > 0).cast("int64").quantile_bucketize(5), "q_many": a.quantile_bucketize(10),
        "nested": a.impute("mean").standard_scale().min_max_scale(), "imp_mean": a.impute("mean"),
        "imp_freq": c.impute("most_frequent"), "imp_int": n.impute("median"), "imp_const": a.impute(7.5),
        "top1": c.vocabulary(top_k=1), "count_hot": (n % 3).one_hot(), "flag_hot": fp.col("active").cast("int64").one_hot(top_k=1),
    })


ALL = {"arithmetic": arithmetic, "logic": logic_and_nulls, "text_time": strings_time_encoding, "fitted": fitted,
       "fitted_variants": fitted_variants}

# Deterministic training data for the fitted golden plan.
FIT_DATA = {
    "amount": [float(v) for v in range(1, 41)] + [None, float("nan")],
    "count": list(range(-20, 22)),
    "ratio32": [0.5] * 42,
    "city": (["Lisbon", "Porto", "Faro"] * 14),
    "seen_at": [1_700_000_000_000_000 + i for i in range(42)],
    "active": [True, False] * 21,
}


def plan_for(name: str) -> fp.Plan:
    """The golden plan of ``name``, fitted on FIT_DATA when it has fitted transforms."""
    import pyarrow as pa
    plan = fp.compile(ALL[name]())
    if plan.needs_fit:
        data = dict(FIT_DATA)
        data["seen_at"] = pa.array(data["seen_at"], pa.timestamp("us", tz="UTC"))
        data["ratio32"] = pa.array(data["ratio32"], pa.float32())
        plan = plan.fit(data)
    return plan

ROWS = [
    {"amount": 12.5, "count": 3, "ratio32": 0.1, "city": " Lisbon ", "seen_at": 1_700_000_000_000_000, "active": False},
    {"amount": None, "count": None, "ratio32": None, "city": None, "seen_at": None, "active": None},
    {"amount": float("nan"), "count": 0, "ratio32": -0.0, "city": "Porto", "seen_at": -1, "active": True},
    {"amount": -0.0, "count": -(2**63), "ratio32": 3.4e38, "city": "Zürich", "seen_at": -62_135_596_800_000_000,
     "active": True},
    {"amount": 1e308, "count": 2**63 - 1, "ratio32": 1e-45, "city": "", "seen_at": 253_402_300_799_999_999,
     "active": False},
]
