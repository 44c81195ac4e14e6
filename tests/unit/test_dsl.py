import datetime as dt

import pytest

import featureplat as fp
from featureplat import _core

x = fp.col("x")
n = fp.col("n")
s = fp.col("s")
t = fp.col("t")
b = fp.col("b")

# One DSL expression per registered op: the DSL reaches every op, and every op the DSL
# builds is registered (checked both ways below).
DSL_EXAMPLES = {
    "input": x,
    "const": fp.lit(1.5),
    "add": x + 1, "sub": x - 1, "mul": x * 2, "div": x / 2, "floordiv": x // 2, "mod": x % 2,
    "pow": x ** 2, "neg": -x, "abs": abs(x),
    "eq": x == 1, "ne": x != 1, "lt": x < 1, "le": x <= 1, "gt": x > 1, "ge": x >= 1,
    "and": b & (x > 1), "or": b | (x > 1), "not": ~b,
    "log": x.log(), "log1p": x.log1p(), "exp": x.exp(), "sqrt": x.sqrt(), "floor": x.floor(),
    "ceil": x.ceil(), "round": x.round(2), "sign": x.sign(), "clip": x.clip(0, 1),
    "is_null": x.is_null(), "is_nan": x.is_nan(), "fill_null": x.fill_null(0.0),
    "fill_nan": x.fill_nan(0.0), "fill_missing": x.fill_missing(0.0), "coalesce": fp.coalesce(x, 0.0),
    "if_else": fp.when(b).then(x).otherwise(0.0),
    "cast": n.cast("float64"),
    "str_lower": s.str.lower(), "str_upper": s.str.upper(), "str_strip": s.str.strip(),
    "str_len": s.str.len(), "str_contains": s.str.contains("a"), "str_starts_with": s.str.starts_with("a"),
    "str_ends_with": s.str.ends_with("a"), "str_concat": s.str.concat("!"),
    "dt_year": t.dt.year(), "dt_month": t.dt.month(), "dt_day": t.dt.day(), "dt_hour": t.dt.hour(),
    "dt_minute": t.dt.minute(), "dt_day_of_week": t.dt.day_of_week(),
    "dt_epoch_seconds": t.dt.epoch_seconds(), "dt_diff_seconds": t.dt.diff_seconds(t),
    "hash_bucket": s.hash_bucket(10), "bucketize": x.bucketize([0.0, 1.0]), "map": s.map({"a": 1}, 0),
    "standard_scale": x.standard_scale(), "min_max_scale": x.min_max_scale(), "robust_scale": x.robust_scale(),
    "quantile_bucketize": x.quantile_bucketize(4), "vocabulary": s.vocabulary(), "one_hot": s.one_hot(),
    "impute": x.impute("median"),
}
INPUTS = {"x": fp.request("float64"), "n": fp.request("int64"), "s": fp.request("string"),
          "t": fp.request("timestamp"), "b": fp.request("bool")}


def _ops_in(e: fp.Expr) -> set[str]:
    out = {"input" if e.op == "col" else e.op}
    for a in e.args:
        out |= _ops_in(a)
    return out


def test_every_registered_op_is_reachable_from_the_dsl():
    registered = {o["name"] for o in _core.ops()}
    assert registered, "registry is empty"
    assert set(DSL_EXAMPLES) == registered


@pytest.mark.parametrize("op", sorted(DSL_EXAMPLES))
def test_dsl_example_builds_its_op_and_compiles(op):
    e = DSL_EXAMPLES[op]
    assert op in _ops_in(e)
    registered = {o["name"] for o in _core.ops()}
    assert _ops_in(e) <= registered
    plan = fp.compile(fp.FeatureSet("f", inputs=INPUTS, features={"out": e}))
    assert plan.features == ["out"]


def test_every_op_is_documented():
    for o in fp.ops():
        assert o["doc"] and o["signature"] and o["family"], o["name"]
        if o["family"] not in ("structural", "logic", "string", "temporal", "control"):
            assert "null" in o["doc"].lower() or "Null" in o["doc"], o["name"]


def test_expressions_are_immutable():
    with pytest.raises(AttributeError):
        x._op = "y"


def test_bool_teaches_operators():
    with pytest.raises(TypeError, match=r"use & \(and\), \| \(or\)"):
        if x > 1:
            pass
    with pytest.raises(TypeError, match="no truth value"):
        (x > 1) and (x < 2)


def test_repr_is_readable():
    assert repr((x.log1p() * 2).clip(0, 10)) == "(col('x').log1p() * lit(2)).clip(lo=0, hi=10)"
    assert repr(fp.when(x > 0).then(1.0).otherwise(0.0)) == \
        "when((col('x') > lit(0))).then(lit(1.0)).otherwise(lit(0.0))"
    assert repr(s.str.contains("a")) == "col('s').str.contains(pattern='a')"


def test_literal_coercion():
    assert fp.lit(True).params["value"] == {"dtype": "bool", "value": True}
    assert fp.lit(3).params["value"] == {"dtype": "int64", "value": 3}
    assert fp.lit(dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=dt.timezone.utc)).params["value"] == \
        {"dtype": "timestamp", "value": 1_000_000}
    with pytest.raises(fp.PlanError, match="does not fit int64"):
        fp.lit(2**63)
    with pytest.raises(fp.PlanError, match="unsupported literal"):
        fp.lit(object())


def test_chained_when_and_then_without_otherwise():
    e = fp.when(x > 1).then(1.0).when(x > 0).then(0.5).otherwise(0.0)
    plan = fp.compile(fp.FeatureSet("f", inputs={"x": fp.request("float64")},
                                    features={"w": e, "nothing": fp.when(x > 1).then(1.0)}))
    out = plan.transform({"x": [2.0, 0.5, -1.0]})
    assert out.column("w").to_pylist() == [1.0, 0.5, 0.0]
    assert out.column("nothing").to_pylist() == [1.0, None, None]


def test_param_validation_in_the_dsl():
    with pytest.raises(fp.PlanError, match="cast: unknown dtype"):
        x.cast("int32")
    with pytest.raises(fp.PlanError, match="hash_bucket n must be an integer"):
        s.hash_bucket(2.5)
    with pytest.raises(fp.PlanError, match="contains: expected a string"):
        s.str.contains(3)
    with pytest.raises(fp.PlanError, match="'view:feature'"):
        fp.feast("nocolon", "int64")
    with pytest.raises(fp.PlanError, match="unknown input dtype"):
        fp.request("int32")


def test_feast_input_survives_importing_the_feast_layer():
    # Importing featureplat.feast binds the package to the name of the DSL's fp.feast.
    import featureplat.feast  # noqa: F401

    inp = fp.feast("stats:trips", "int64")
    assert (inp.dtype, inp.source) == ("int64", "feast:stats:trips")


def test_naive_datetime_literal_is_refused():
    # A naive datetime was read as UTC; inputs refuse it, and so does a literal.
    with pytest.raises(fp.PlanError, match="naive datetime .* give it a time zone"):
        fp.lit(dt.datetime(2026, 1, 1))
    aware = dt.datetime(2026, 1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert fp.lit(aware).params["value"]["value"] == 1_767_225_600_000_000


def test_expr_repr_and_plan_steps_render_alike():
    from featureplat.plan.text import render_step

    x, c = fp.col("x"), fp.col("c")
    exprs = {"a": (x + 1).log1p().clip(0, 10), "b": fp.when(x > 1).then(1.0).when(x > 0).then(2.0).otherwise(3.0),
             "d": c.str.lower().str.starts_with("a") | x.is_null(), "e": fp.coalesce(x, -x, 0.0).round(2)}
    fs = fp.FeatureSet("r", inputs={"x": fp.request("float64"), "c": fp.request("string")}, features=exprs)
    plan = fp.compile(fs)
    doc = plan.to_dict()
    for o in doc["outputs"]:
        # The compiled step has explicit casts and sorted params; both come from the one renderer.
        assert render_step(doc, o["step"]).startswith(("(", "when(", "coalesce(", "col("))
    assert repr(exprs["b"]) == ("when((col('x') > lit(1))).then(lit(1.0)).when((col('x') > lit(0)))"
                                ".then(lit(2.0)).otherwise(lit(3.0))")


@pytest.mark.parametrize("name", ['x"""; import os; os.system("touch /tmp/pwned") #', "../escape", "a/b", "with space",
                                  "", "9lives", "a" * 129, "dot.name", "naïve"])
def test_feature_set_and_plan_names_keep_to_the_safe_alphabet(name):
    inputs, features = {"x": fp.request("float64")}, {"y": fp.col("x") + 1}
    with pytest.raises(fp.PlanError, match="is not allowed: use ASCII letters, digits"):
        fp.FeatureSet(name, inputs=inputs, features=features)
    # A plan document with such a name is refused on load as well.
    doc = fp.compile(fp.FeatureSet("ok", inputs=inputs, features=features)).to_dict()
    doc["name"] = name
    with pytest.raises(fp.PlanError, match="plan name .* is not allowed"):
        fp.Plan(doc)
    # And at compile, when the name was changed after construction.
    fs = fp.FeatureSet("ok", inputs=inputs, features=features)
    fs.name = name
    with pytest.raises(fp.PlanError, match="is not allowed"):
        fp.compile(fs)


def test_safe_names_are_accepted():
    for name in ("churn_features", "_private", "v2-shadow", "A" * 128):
        assert fp.compile(fp.FeatureSet(name, {"x": fp.request("float64")}, {"y": fp.col("x")})).name == name
