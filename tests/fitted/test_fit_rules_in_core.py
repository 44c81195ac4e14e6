"""Every fitted-transform rule lives in the core: the Python fit driver only moves data,
the analyzer parameters are the core's, and every fitted transform treats training data
without a present value the same way."""
import ast
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import featureplat as fp
from featureplat import _core
from featureplat.plan import fit as fit_module

FIT_SOURCE = Path(fit_module.__file__).read_text()
OP_NAMES = {o["name"] for o in _core.ops()}


def _code_strings(tree: ast.AST) -> list[str]:
    """String constants of the module that are not docstrings."""
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]


def test_the_fit_driver_holds_no_rewrite_rule():
    tree = ast.parse(FIT_SOURCE)
    strings = _code_strings(tree)
    assert strings, "the AST walk found no string at all: the check would be vacuous"
    named_ops = sorted(set(strings) & OP_NAMES)
    assert not named_ops, f"fit.py names ops {named_ops}: rewrite rules belong in cpp/src/fit_rewrite.cc"
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
            assert not keys & {"op", "args", "params"}, f"fit.py builds a plan step at line {node.lineno}"


def test_the_fit_driver_sits_below_the_dsl_and_the_compiler():
    tree = ast.parse(FIT_SOURCE)
    imported = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            imported.append(node.module or "")
    assert "featureplat.plan.text" in imported
    assert not [m for m in imported if m.split(".")[:2] in (["featureplat", "compile"], ["featureplat", "dsl"])]
    assert "numpy" not in imported  # the quantile probabilities are the core's
    for fn in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))):
        inner = [n for n in ast.walk(fn) if isinstance(n, (ast.Import, ast.ImportFrom))]
        assert not inner, f"import inside {getattr(fn, 'name', 'a lambda')} (line {inner[0].lineno})"


def test_quantile_probabilities_are_numpy_linspace_bit_for_bit():
    """The core forms quantile_bucketize(n)'s probabilities as scikit-learn's
    KBinsDiscretizer does: np.linspace(0, 100, n + 1) / 100."""
    ns = range(2, 1001)
    fs = fp.FeatureSet("probs", inputs={"x": fp.request("float64")},
                       features={f"q{n}": fp.col("x").quantile_bucketize(n) for n in ns})
    level = _core.fit_level(fp.compile(fs)._doc, 1000)
    got = {}
    for step in level["steps"]:
        (kind, params), = step["analyzers"]
        assert kind == "quantiles" and params["exact_budget"]["value"] == 1000
        for feature in step["features"]:
            got[int(feature[1:])] = [p["value"] for p in params["probabilities"]]
    assert sorted(got) == list(ns)
    for n in ns:
        want = np.linspace(0, 100, n + 1) / 100
        assert np.array_equal(np.array(got[n]).view(np.uint64), want.view(np.uint64)), n


def _fit_one(expr, column: pa.Array, **others):
    inputs = {"c": fp.request(_dtype(column.type)), **{k: fp.request("float64") for k in others}}
    feats = {"f": expr, **{k: fp.col(k) + 1 for k in others}}
    data = {"c": column, **{k: pa.array([1.0] * len(column)) for k in others}}
    return fp.compile(fp.FeatureSet("t", inputs=inputs, features=feats)).fit(data)


def _dtype(t: pa.DataType) -> str:
    return {pa.string(): "string", pa.int64(): "int64", pa.float64(): "float64"}[t]


ALL_NULL_CASES = [
    ("vocabulary", lambda c: c.vocabulary(), pa.string()),
    ("vocabulary", lambda c: c.vocabulary(num_oov_buckets=0), pa.int64()),
    ("one_hot", lambda c: c.one_hot(), pa.string()),
    ("one_hot", lambda c: c.one_hot(), pa.int64()),
    ("standard_scale", lambda c: c.standard_scale(), pa.float64()),
    ("min_max_scale", lambda c: c.min_max_scale(), pa.float64()),
    ("robust_scale", lambda c: c.robust_scale(), pa.float64()),
    ("quantile_bucketize", lambda c: c.quantile_bucketize(4), pa.float64()),
    ("impute", lambda c: c.impute("mean"), pa.float64()),
    ("impute", lambda c: c.impute("median"), pa.float64()),
    (r"impute\(most_frequent\)", lambda c: c.impute("most_frequent"), pa.string()),
]


@pytest.mark.parametrize("op, make, dtype", ALL_NULL_CASES, ids=[f"{c[0]}-{c[2]}" for c in ALL_NULL_CASES])
@pytest.mark.parametrize("with_other_feature", [False, True])
def test_every_fitted_transform_refuses_a_column_without_a_present_value(op, make, dtype, with_other_feature):
    """Regression: one_hot on an all-null column failed with "feature set declares no
    features" (or, next to another feature, silently gave no column), and vocabulary
    silently fitted an empty vocabulary; both now fail like the other fitted transforms."""
    column = pa.array([None, None, None], dtype)
    if dtype == pa.float64():
        column = pa.array([None, float("nan"), None], dtype)
    others = {"other": None} if with_other_feature else {}
    with pytest.raises(fp.PlanError, match=rf"cannot fit {op} for feature 'f': the training data has no present "
                                           r".*value of col\('c'\)"):
        _fit_one(make(fp.col("c")), column, **others)


def test_a_vocabulary_whose_values_are_all_rare_still_fits():
    fitted = _fit_one(fp.col("c").vocabulary(min_frequency=100, num_oov_buckets=2), pa.array(["a", "b", None]))
    (stats,) = fitted.statistics()["f"]
    assert stats["keys"] == [] and stats["distinct"] == 2
    assert all(v in (0, 1) for v in fitted.transform({"c": ["a", "zzz"]}).column("f").to_pylist())


def test_a_nested_rewrite_is_recorded_in_the_dsl_spelling():
    """The display text of a level-2 argument shows the rewritten vocabulary as the DSL
    writes a map (keys, values, default), as fits before the rules moved did."""
    fs = fp.FeatureSet("t", inputs={"c": fp.request("string")},
                       features={"z": fp.col("c").vocabulary().cast("float64").standard_scale()})
    fitted = fp.compile(fs).fit({"c": ["b", "a", "b"]})
    vocab, scale = fitted.statistics()["z"]
    assert vocab["expression"] == "col('c')"
    assert scale["expression"] == ("coalesce(col('c').map(keys=['b', 'a'], values=[0, 1], default=None), "
                                   "(col('c').hash_bucket(n=1) + lit(2))).cast(dtype='float64')")
