"""Lowering: feature expressions -> a flat list of steps, then the core's binder and
optimiser (casts made explicit, constants folded, CSE, dead steps removed)."""
from __future__ import annotations

import re

from featureplat import _core
from featureplat.dsl.expr import Expr
from featureplat.dsl.feature_set import FeatureSet
from featureplat.errors import FeatureplatError, PlanError
from featureplat.plan import FORMAT_VERSION, Plan
from featureplat.plan.names import check_name

_STEP_PREFIX = re.compile(r"^step \d+: ")


def compile(feature_set: FeatureSet) -> Plan:
    """Type-check and compile a feature set into a :class:`~featureplat.plan.Plan`.

    >>> import featureplat as fp
    >>> fs = fp.FeatureSet("demo", inputs={"x": fp.request("float64")},
    ...                    features={"y": fp.col("x") * 2 + 1})
    >>> fp.compile(fs).features
    ['y']
    """
    if not isinstance(feature_set, FeatureSet):
        raise PlanError(f"compile expects a FeatureSet, got {type(feature_set).__name__}")
    check_name(feature_set.name, "feature set name")  # again: the object may have been changed since
    names = list(feature_set.inputs)
    index = {n: i for i, n in enumerate(names)}
    steps: list[dict] = []
    origin: list[tuple[str, Expr]] = []  # step -> (feature, sub-expression), for messages
    memo: dict[int, int] = {}

    def lower(e: Expr, feature: str) -> int:
        got = memo.get(id(e))
        if got is not None:
            return got
        if e.op == "col":
            name = e._name
            if name not in index:
                raise PlanError(
                    f"feature {feature!r}: col({name!r}) is not a declared input of feature set "
                    f"{feature_set.name!r} (inputs: {', '.join(names)})")
            step = {"op": "input", "args": [], "params": {"index": {"dtype": "int64", "value": index[name]}}}
        else:
            args = [lower(a, feature) for a in e.args]
            step = {"op": e.op, "args": args, "params": e.params}
        steps.append(step)
        origin.append((feature, e))
        memo[id(e)] = len(steps) - 1
        return len(steps) - 1

    outputs = []
    for fname, expr in feature_set.features.items():
        try:
            outputs.append({"name": fname, "step": lower(expr, fname)})
        except RecursionError:
            raise PlanError(f"feature {fname!r}: the expression is nested too deeply to compile") from None
    raw = {
        "inputs": [{"name": n, "dtype": feature_set.inputs[n].dtype} for n in names],
        "steps": steps,
        "outputs": outputs,
    }
    try:
        optimized = _core.optimize(raw)
    except FeatureplatError as err:
        idx = getattr(err, "index", None)
        if idx is not None and 0 <= idx < len(origin):
            feature, sub = origin[idx]
            msg = _STEP_PREFIX.sub("", str(err))
            new = type(err)(f"feature {feature!r}: {msg}, in {sub!r}")
            new.index = idx
            raise new from None
        raise
    doc = {
        "format_version": FORMAT_VERSION,
        "name": feature_set.name,
        "inputs": [
            {"name": n, "dtype": feature_set.inputs[n].dtype, "source": feature_set.inputs[n].source}
            for n in names
        ],
        "steps": optimized["steps"],
        "outputs": optimized["outputs"],
        "fitted": [],
    }
    return Plan(doc)
