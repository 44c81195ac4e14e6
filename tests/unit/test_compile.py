import pytest

import featureplat as fp

INPUTS = {"x": fp.request("float64"), "n": fp.request("int64"), "s": fp.request("string")}


def compile_one(expr, **more):
    return fp.compile(fp.FeatureSet("f", inputs=INPUTS, features={"out": expr, **more}))


def test_type_error_names_the_feature_and_subexpression():
    with pytest.raises(fp.FeatureTypeError) as info:
        compile_one(fp.col("x").log(), bad=(fp.col("s") + 1).log1p())
    msg = str(info.value)
    assert "feature 'bad'" in msg
    assert "(col('s') + lit(1))" in msg
    assert "add" in msg and "string" in msg


def test_unknown_column_names_the_feature():
    with pytest.raises(fp.PlanError, match=r"feature 'out': col\('nope'\) is not a declared input"):
        compile_one(fp.col("nope") + 1)


def test_bad_params_are_plan_errors():
    with pytest.raises(fp.PlanError, match="clip"):
        compile_one(fp.col("x").clip(2, 1))
    with pytest.raises(fp.PlanError, match="round"):
        compile_one(fp.col("x").round(99))
    with pytest.raises(fp.PlanError, match="bucketize"):
        compile_one(fp.col("x").bucketize([2.0, 1.0]))


def test_constant_folding_uses_the_core():
    plan = compile_one(fp.lit(2) * 3 + fp.col("x"))
    ops = [s["op"] for s in plan.steps]
    assert ops.count("mul") == 0 and ops.count("const") == 1
    const = next(s for s in plan.steps if s["op"] == "const")
    assert const["params"]["value"] == {"dtype": "float64", "value": "6.0"}


def test_folding_keeps_runtime_semantics():
    # int64 overflow folds to null, exactly as it would at run time.
    plan = compile_one(fp.lit(2**62) * 4 + fp.col("n"))
    assert plan.transform({"x": [1.0], "n": [1], "s": ["a"]}).column("out").to_pylist() == [None]


def test_common_subexpressions_are_merged():
    a = fp.col("x").log1p() * 2
    b = fp.col("x").log1p() * 2  # structurally equal, different objects
    plan = compile_one(a + b, other=fp.col("x").log1p())
    assert [s["op"] for s in plan.steps].count("log1p") == 1


def test_dead_steps_and_unused_inputs_are_dropped():
    plan = compile_one(fp.col("x") + 1)
    assert [s["op"] for s in plan.steps] == ["input", "const", "add"]
    assert plan.input_names == ["x", "n", "s"]  # declared schema is kept


def test_implicit_promotion_is_an_explicit_cast():
    plan = compile_one(fp.col("n") + 0.5)
    ops = [s["op"] for s in plan.steps]
    assert "cast" in ops
    assert plan.feature_types == {"out": "float64"}


def test_untyped_null_takes_its_context_type():
    plan = compile_one(fp.when(fp.col("x") > 0).then(fp.col("n")).otherwise(None), z=fp.lit(None))
    assert plan.feature_types == {"out": "int64", "z": "float64"}
    out = plan.transform({"x": [1.0, -1.0], "n": [5, 6], "s": ["a", "b"]})
    assert out.column("out").to_pylist() == [5, None]
    assert out.column("z").to_pylist() == [None, None]


def test_compile_rejects_non_featureset():
    with pytest.raises(fp.PlanError, match="expects a FeatureSet"):
        fp.compile({"x": 1})


def test_feature_set_validation():
    with pytest.raises(fp.PlanError, match="declares no features"):
        fp.FeatureSet("f", inputs=INPUTS, features={})
    with pytest.raises(fp.PlanError, match="must be fp.feast"):
        fp.FeatureSet("f", inputs={"x": "float64"}, features={"y": fp.col("x")})
