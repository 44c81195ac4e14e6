"""The analyze pass: fitted transforms get their statistics from training data, computed
by the core's analyzers in one streaming pass per nesting level, and are rewritten into
ordinary ops with the statistics as constants.

Each fitted op becomes a plain expression (``standard_scale(x)`` becomes
``(x - mean) / std``), so a fitted plan is an ordinary plan: serving runs no analyzer."""
from __future__ import annotations

import collections.abc
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable

import numpy as np
import pyarrow as pa

from featureplat import _core
from featureplat.plan.inputs import to_batches
from featureplat.errors import PlanError

FITTED_OPS = frozenset(o["name"] for o in _core.ops() if o["family"] == "fitted")
DEFAULT_EXACT_BUDGET = 10_000_000


def plan_exprs(doc: dict) -> dict[str, Expr]:
    """The plan's steps as expression trees, one per output (shared nodes stay shared)."""
    from featureplat.dsl.expr import Expr, _scalar, coalesce, col, lit, when  # noqa: F401 (interim)
    names = [i["name"] for i in doc["inputs"]]
    nodes: list[Expr] = []
    for st in doc["steps"]:
        if st["op"] == "input":
            nodes.append(col(names[st["params"]["index"]["value"]]))
        else:
            nodes.append(Expr(st["op"], [nodes[a] for a in st["args"]], st["params"]))
    return {o["name"]: nodes[o["step"]] for o in doc["outputs"]}


def _walk(e: Expr, seen: set[int]):
    if id(e) in seen:
        return
    seen.add(id(e))
    for a in e.args:
        yield from _walk(a, seen)
    yield e


def _has_fitted(e: Expr, memo: dict[int, bool]) -> bool:
    got = memo.get(id(e))
    if got is None:
        got = e.op in FITTED_OPS or any(_has_fitted(a, memo) for a in e.args)
        memo[id(e)] = got
    return got


def _rewrite(e: Expr, repl: dict[int, Expr], memo: dict[int, Expr]) -> Expr:
    from featureplat.dsl.expr import Expr, _scalar, coalesce, col, lit, when  # noqa: F401 (interim)
    got = memo.get(id(e))
    if got is not None:
        return got
    if id(e) in repl:
        out = repl[id(e)]
    elif not e.args:
        out = e
    else:
        args = [_rewrite(a, repl, memo) for a in e.args]
        out = e if all(x is y for x, y in zip(args, e.args)) else Expr(e.op, args, e.params, e._name)
    memo[id(e)] = out
    return out


def _param(e: Expr, name: str, default=None):
    p = e.params.get(name)
    return default if p is None or p["value"] is None else p["value"]


def _analyzers_for(node: Expr, budget: int) -> list[tuple[str, dict]]:
    from featureplat.dsl.expr import Expr, _scalar, coalesce, col, lit, when  # noqa: F401 (interim)
    op = node.op
    if op in ("standard_scale", "min_max_scale"):
        return [("moments", {})]
    if op == "robust_scale":
        return [("quantiles", _quantile_params([0.25, 0.5, 0.75], budget))]
    if op == "quantile_bucketize":
        n = _param(node, "n")
        # The probabilities exactly as scikit-learn's KBinsDiscretizer forms them.
        probs = [float(q) for q in np.linspace(0, 100, n + 1) / 100]
        return [("quantiles", _quantile_params(probs, budget))]
    if op in ("vocabulary", "one_hot"):
        p = {"min_frequency": _scalar(_param(node, "min_frequency", 1)),
             "order": _scalar(_param(node, "order", "frequency" if op == "vocabulary" else "value"))}
        if _param(node, "top_k") is not None:
            p["top_k"] = _scalar(_param(node, "top_k"))
        return [("vocabulary", p)]
    if op == "impute":
        strategy = _param(node, "strategy")
        if strategy == "mean":
            return [("moments", {})]
        if strategy == "median":
            return [("quantiles", _quantile_params([0.5], budget))]
        return [("vocabulary", {"top_k": _scalar(1), "order": _scalar("frequency")})]
    raise PlanError(f"no analyzer for {op}")


def _quantile_params(probs: list[float], budget: int) -> dict:
    from featureplat.dsl.expr import Expr, _scalar, coalesce, col, lit, when  # noqa: F401 (interim)
    return {"probabilities": [_scalar(float(p)) for p in probs], "exact_budget": _scalar(int(budget))}


def _replacement(node: Expr, results: list[dict], where: str) -> tuple[Expr, dict]:
    """The ordinary expression that replaces a fitted node, and the statistics to record."""
    from featureplat.dsl.expr import Expr, _scalar, coalesce, col, lit, when  # noqa: F401 (interim)
    x = node.args[0]
    op = node.op
    r = results[0]

    def need():
        if not r.get("count"):
            raise PlanError(f"cannot fit {op} for {where}: the training data has no present (non-null, "
                            f"non-NaN) value of {x!r}")

    if op == "standard_scale":
        need()
        std = r["std"]
        scale = std if std != 0.0 else 1.0
        return (x - lit(r["mean"])) / lit(scale), {"mean": r["mean"], "std": std, "scale": scale,
                                                     "count": r["count"]}
    if op == "min_max_scale":
        need()
        rng = r["max"] - r["min"]
        scale = rng if rng != 0.0 else 1.0
        return (x - lit(r["min"])) / lit(scale), {"min": r["min"], "max": r["max"], "scale": scale,
                                                   "count": r["count"]}
    if op == "robust_scale":
        need()
        q25, _, q75 = r["quantiles"]
        iqr = q75 - q25
        scale = iqr if iqr != 0.0 else 1.0
        return (x - lit(r["median_midpoint"])) / lit(scale), {
            "median": r["median_midpoint"], "q25": q25, "q75": q75, "scale": scale, "count": r["count"],
            "exact": r["exact"]}
    if op == "quantile_bucketize":
        need()
        edges = [float(e) for e in r["quantiles"]]
        # Edges closer than 1e-8 to their predecessor are dropped, as scikit-learn's
        # KBinsDiscretizer does, so the boundaries are strictly increasing.
        kept = _sklearn_edges(edges)
        inner = kept[1:-1]
        return x.bucketize(inner), {"edges": edges, "boundaries": inner, "count": r["count"], "exact": r["exact"]}
    if op == "vocabulary":
        keys = r["keys"]
        oov = _param(node, "num_oov_buckets", 1)
        k = len(keys)
        if keys:
            known = x.map({key: i for i, key in enumerate(keys)}, None)
            expr = coalesce(known, x.hash_bucket(oov) + k) if oov else known
        else:
            expr = x.hash_bucket(oov) if oov else lit(None, "int64")
        return expr, {"keys": keys, "counts": r["counts"], "num_oov_buckets": oov, "distinct": r["distinct"]}
    if op == "one_hot":
        # Expanded into one column per key by fit_document; the node stands for its argument.
        return x, {"keys": r["keys"], "counts": r["counts"], "distinct": r["distinct"]}
    if op == "impute":
        strategy = _param(node, "strategy")
        if strategy == "mean":
            need()
            v = r["mean"]
        elif strategy == "median":
            need()
            v = r["median_midpoint"]
        else:
            if not r["keys"]:
                raise PlanError(f"cannot fit impute(most_frequent) for {where}: the training data has no "
                                f"present value of {x!r}")
            v = r["keys"][0]
        return x.fill_missing(v), {"strategy": strategy, "value": v}
    raise PlanError(f"cannot rewrite {op}")


def _sklearn_edges(edges: list[float]) -> list[float]:
    kept = [edges[0]]
    for prev, e in zip(edges, edges[1:]):
        if e - prev > 1e-8:
            kept.append(e)
    return kept


# ---- the fit driver -------------------------------------------------------------------

def _passes(data: Any) -> Callable[[], Iterable[Any]]:
    """A function returning one pass over the training data (tables or batches)."""
    if isinstance(data, pa.RecordBatchReader):
        data = iter(data)  # a one-shot stream: read batch by batch, never all at once
    if isinstance(data, (pa.Table, pa.RecordBatch)) or isinstance(data, collections.abc.Mapping) or \
            hasattr(data, "__arrow_c_stream__") or hasattr(data, "__arrow_c_array__") or \
            type(data).__module__.startswith("pandas"):
        return lambda: [data]
    if callable(data):
        return data
    if isinstance(data, collections.abc.Iterator):
        used = []

        def once():
            if used:
                raise PlanError("this plan has nested fitted transforms and needs another pass over the "
                                "training data, but it was given a one-shot iterator: pass a Table, a list of "
                                "batches, or a function returning a fresh iterator")
            used.append(True)
            return data
        return once
    if isinstance(data, collections.abc.Iterable):
        return lambda: data
    raise PlanError(f"cannot fit on {type(data).__name__}: pass a Table, batches, or a function returning them")


def fit_document(doc: dict, data: Any, *, threads: int = 1, exact_budget: int = DEFAULT_EXACT_BUDGET) -> dict:
    """Fits every fitted transform of a plan document; returns the fitted document."""
    from featureplat.compile import compile as compile_fs
    from featureplat.dsl.expr import Expr, coalesce, col, lit, when  # noqa: F401 (interim)
    from featureplat.dsl.feature_set import FeatureSet, Input

    exprs = plan_exprs(doc)
    inputs = {i["name"]: Input(i["dtype"], i["source"]) for i in doc["inputs"]}
    one_pass = _passes(data)
    records: list[dict] = []
    features: dict[str, Expr] = dict(exprs)
    for name, e in features.items():
        for node in _walk(e, set()):
            if node.op == "one_hot" and node is not e:
                raise PlanError(f"feature {name!r}: one_hot must be the whole feature expression, not part of "
                                f"{e!r}")
    level = 0
    while True:
        memo: dict[int, bool] = {}
        ready: list[Expr] = []
        users: dict[int, list[str]] = {}
        seen: set[int] = set()
        for fname, e in features.items():
            for node in _walk(e, set()):
                if node.op in FITTED_OPS and not any(_has_fitted(a, memo) for a in node.args):
                    users.setdefault(id(node), []).append(fname)
                    if id(node) not in seen:
                        seen.add(id(node))
                        ready.append(node)
        if not ready:
            break
        level += 1
        analysis = compile_fs(FeatureSet(f"{doc['name']}__analyze{level}", inputs=inputs,
                                         features={f"a{i}": n.args[0] for i, n in enumerate(ready)}))
        types = analysis.feature_types
        states, owners = [], []
        for i, node in enumerate(ready):
            for kind, params in _analyzers_for(node, exact_budget):
                states.append(_core.Analyzer(kind, types[f"a{i}"], params))
                owners.append(i)
        rows = 0
        for item in one_pass():
            for b in to_batches(item, analysis.input_names):
                payload = [(b.num_rows, [c.__arrow_c_array__() for c in b.columns])]
                analysis._program.analyze(payload, threads, states)
                rows += b.num_rows
        if rows == 0:
            raise PlanError(f"cannot fit plan {doc['name']!r}: the training data has no rows")
        repl: dict[int, Expr] = {}
        # Finalizing releases the GIL, so analyzers finalize in parallel.
        if threads > 1 and len(states) > 1:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                finals = list(pool.map(lambda st: st.result(), states))
        else:
            finals = [st.result() for st in states]
        for i, node in enumerate(ready):
            results = [f for f, o in zip(finals, owners) if o == i]
            where = "feature " + ", ".join(repr(u) for u in users[id(node)])
            new, stats = _replacement(node, results, where)
            repl[id(node)] = new
            records.append({"features": users[id(node)], "transform": node.op, "expression": repr(node.args[0]),
                            "statistics": stats, "rows": rows})
        rmemo: dict[int, Expr] = {}
        features = {k: _rewrite(v, repl, rmemo) for k, v in features.items()}
    # one_hot features expand into one column per vocabulary value.
    final: dict[str, Expr] = {}

    def add(name: str, expr: Expr) -> None:
        if name in final or (name != fname and name in exprs):
            raise PlanError(f"one_hot feature {fname!r} expands into column {name!r}, which another feature "
                            "already uses: rename one of them")
        final[name] = expr

    for fname, e in exprs.items():
        if e.op == "one_hot":
            rec = next(r for r in records if r["transform"] == "one_hot" and fname in r["features"])
            arg = features[fname]  # the one_hot node was replaced by its (fitted) argument
            for key in rec["statistics"]["keys"]:
                add(f"{fname}__{key}", when(arg == lit(key)).then(1.0).otherwise(0.0))
        else:
            add(fname, features[fname])
    fitted_doc = compile_fs(FeatureSet(doc["name"], inputs=inputs, features=final)).to_dict()
    # Refitting a fitted plan keeps the statistics it already froze.
    fitted_doc["fitted"] = list(doc.get("fitted", [])) + [_encode_record(r) for r in records]
    return fitted_doc


def _encode_record(r: dict) -> dict:
    from featureplat.dsl.expr import Expr, _scalar, coalesce, col, lit, when  # noqa: F401 (interim)
    def enc(v):
        if isinstance(v, list):
            return [enc(x) for x in v]
        return _scalar(v)
    return {"features": list(r["features"]), "transform": r["transform"], "expression": r["expression"],
            "rows": _scalar(int(r["rows"])), "statistics": {k: enc(v) for k, v in r["statistics"].items()}}
