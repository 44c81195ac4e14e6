"""featureplat.plan.text writes a plan step exactly as the DSL's repr writes the same
expression tree (fit records and messages show it)."""
import datetime as dt

import pytest

import featureplat as fp
from featureplat import _core
from featureplat.dsl.expr import Expr
from featureplat.plan.text import render_node, render_step

a, b, c, d, t, u = (fp.col(n) for n in ("a", "b", "c", "d", "t", "u"))
shared = a.log1p()

EXPRESSIONS = [
    a, fp.lit(1.5), fp.lit(None, "float64"), fp.lit(float("nan")), fp.lit(float("-inf")), fp.lit("it's"),
    fp.lit('say "hi"'), fp.lit(True), fp.lit(dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc)), fp.lit(-7),
    (a + 1) * 2 - b / 3, a // 4 % 5 ** b, -a, ~((a > 1) & (b <= 2) | (a != b)), (a == b) | (a < b) | (a >= 0),
    abs(a), a.sqrt().exp().log().floor().ceil().sign(),
    fp.when(a > 0).then(1).when(a < -5).then(2).otherwise(3),
    fp.when(a > 0).then(fp.when(b > 0).then(1).otherwise(2)).otherwise(3),
    fp.when(a > 0).then(1).otherwise(fp.when(b > 0).then(2).otherwise(3).cast("float64")),
    fp.when(a > 0).then(1),
    fp.coalesce(a, b, 0), a.clip(0, 10), a.clip(hi=3.5), a.round(2), a.bucketize([0, 1.5, 10]),
    c.map({"x": 1, "y": 2}, 0), c.map({"x": 1}), c.hash_bucket(10), a.fill_null(0.0).fill_nan(b).is_null(),
    c.str.lower().str.strip().str.len(), c.str.contains("it's"), c.str.starts_with("a\nb"), c.str.concat("-", d),
    t.dt.hour(), t.dt.day_of_week(), t.dt.diff_seconds(u), t.dt.epoch_seconds(),
    a.standard_scale().min_max_scale(), c.vocabulary(top_k=3), a.impute("mean"), a.impute(7.5), c.one_hot(),
    a.quantile_bucketize(4), shared + shared * shared, a.cast("string"),
]


def _lowered(expr: Expr) -> tuple[dict, int]:
    """The tree as plan steps, unoptimized: one step per node, parameters as written."""
    names, steps, memo = [], [], {}

    def low(e: Expr) -> int:
        if id(e) not in memo:
            if e.op == "col":
                if e._name not in names:
                    names.append(e._name)
                step = {"op": "input", "args": [], "params": {"index": {"dtype": "int64",
                                                                        "value": names.index(e._name)}}}
            else:
                step = {"op": e.op, "args": [low(x) for x in e.args], "params": e.params}
            steps.append(step)
            memo[id(e)] = len(steps) - 1
        return memo[id(e)]

    root = low(expr)
    doc = {"inputs": [{"name": n, "dtype": "float64", "source": "request"} for n in names], "steps": steps,
           "outputs": [{"name": "y", "step": root}]}
    return doc, root


@pytest.mark.parametrize("expr", EXPRESSIONS, ids=range(len(EXPRESSIONS)))
def test_a_step_renders_as_the_dsl_writes_its_tree(expr):
    doc, root = _lowered(expr)
    assert render_step(doc, root) == repr(expr)


@pytest.mark.parametrize("op", [o["name"] for o in _core.ops() if o["name"] not in ("input", "const")])
def test_every_registered_op_renders_as_the_dsl_writes_it(op):
    info = next(o for o in _core.ops() if o["name"] == op)
    nargs = max(info["min_args"], 3 if op == "if_else" else 1)
    expr = Expr(op, [fp.col(f"x{i}") for i in range(nargs)], {"p": {"dtype": "int64", "value": 1}})
    doc, root = _lowered(expr)
    assert render_step(doc, root) == repr(expr)


def test_a_step_of_a_compiled_plan_renders_its_optimized_tree():
    plan = fp.compile(fp.FeatureSet("t", inputs={"n": fp.request("int64")},
                                    features={"y": ((fp.col("n") > 0).cast("int64") + 1.5).log1p()}))
    doc = plan.to_dict()
    assert render_step(doc, doc["outputs"][0]["step"]) == \
        "((col('n') > lit(0)).cast(dtype='int64').cast(dtype='float64') + lit(1.5)).log1p()"


def test_render_node_needs_the_argument_ops_of_an_if_else():
    with pytest.raises(ValueError, match="arg_ops"):
        render_node("if_else", ["c", "1", "2"], {})
    assert render_node("if_else", ["c", "1", "2"], {}, arg_ops=["gt", "const", "const"]) == \
        "when(c).then(1).otherwise(2)"
