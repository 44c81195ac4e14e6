"""Plans as text: a step of a plan document written in the DSL's syntax, the display text
of fit records and messages (``(col('count') > lit(0)).cast(dtype='int64')``).

Display only: nothing parses this text back. :func:`render_node` writes one node from its
op, the text of its arguments, its parameters and (for a column) the input's name, so the
DSL's ``repr`` and the plan's steps are written by the same rules.

>>> doc = {"inputs": [{"name": "x", "dtype": "float64", "source": "request"}],
...        "steps": [{"op": "input", "args": [], "params": {"index": {"dtype": "int64", "value": 0}}},
...                  {"op": "log1p", "args": [0], "params": {}}],
...        "outputs": [{"name": "y", "step": 1}]}
>>> render_step(doc, 1)
"col('x').log1p()"
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

_INFIX = {"add": "+", "sub": "-", "mul": "*", "div": "/", "floordiv": "//", "mod": "%", "pow": "**",
          "eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "and": "&", "or": "|"}
_NAMESPACED = {"str_": "str", "dt_": "dt"}


def render_scalar(s: Mapping[str, Any]) -> str:
    """A plan scalar ``{"dtype": ..., "value": ...}`` as a Python literal.

    >>> render_scalar({"dtype": "float64", "value": float("nan")})
    "float('nan')"
    """
    v = s["value"]
    if s["dtype"] == "float64" and isinstance(v, float) and not math.isfinite(v):
        return f"float({str(v)!r})"
    if s["dtype"] == "timestamp" and v is not None:
        return f"timestamp({v})"
    return repr(v)


def render_param(v: Any) -> str:
    """A parameter value: a plan scalar or a list of them.

    >>> render_param([{"dtype": "int64", "value": 1}, {"dtype": "float64", "value": 2.5}])
    '[1, 2.5]'
    """
    if isinstance(v, list):
        return "[" + ", ".join(render_param(x) for x in v) + "]"
    return render_scalar(v)


def render_node(op: str, args: Sequence[str], params: Mapping[str, Any], name: str | None = None, *,
                arg_ops: Sequence[str] = ()) -> str:
    """One node in DSL syntax. ``op``: the plan op ("col" for a column reference, whose
    ``name`` is the input's); ``args``: the arguments already rendered; ``params``: plan
    parameters, written in their order; ``arg_ops``: the arguments' ops, which an
    ``if_else`` needs (a third argument that is itself an ``if_else`` continues the
    ``when(...).then(...)`` chain).

    >>> render_node("add", ["col('a')", "lit(1)"], {})
    "(col('a') + lit(1))"
    >>> render_node("clip", ["col('a')"], {"lo": {"dtype": "int64", "value": 0}, "hi": {"dtype": "null", "value": None}})
    "col('a').clip(lo=0, hi=None)"
    """
    if op == "col":
        return f"col({name!r})"
    if op == "const":
        return f"lit({render_scalar(params['value'])})"
    if op in _INFIX:
        return f"({args[0]} {_INFIX[op]} {args[1]})"
    if op == "neg":
        return f"-{args[0]}"
    if op == "not":
        return f"~{args[0]}"
    if op == "if_else":
        if len(arg_ops) != 3:
            raise ValueError("render_node: if_else needs the ops of its three arguments (arg_ops)")
        head = f"when({args[0]}).then({args[1]})"
        # A chained branch renders as "when(..).then(..)...otherwise(..)" itself.
        return f"{head}.{args[2]}" if arg_ops[2] == "if_else" else f"{head}.otherwise({args[2]})"
    if op == "coalesce":
        return "coalesce(" + ", ".join(args) + ")"
    rendered = ", ".join(f"{k}={render_param(v)}" for k, v in params.items())
    rest = ", ".join(list(args[1:]) + ([rendered] if rendered else []))
    for prefix, ns in _NAMESPACED.items():
        if op.startswith(prefix):
            return f"{args[0]}.{ns}.{op[len(prefix):]}({rest})"
    return f"{args[0]}.{op}({rest})"


def render_step(doc: Mapping[str, Any], step: int) -> str:
    """Step ``step`` of plan document ``doc`` (its whole expression) in DSL syntax; an
    ``input`` step is written as ``col(<input name>)``."""
    steps = doc["steps"]
    names = [i["name"] for i in doc["inputs"]]
    needed, stack = set(), [step]
    while stack:
        i = stack.pop()
        if i not in needed:
            needed.add(i)
            stack.extend(steps[i]["args"])
    text: dict[int, str] = {}
    for i in sorted(needed):  # steps are topologically ordered: arguments come first
        st = steps[i]
        if st["op"] == "input":
            text[i] = render_node("col", [], {}, names[st["params"]["index"]["value"]])
        else:
            text[i] = render_node(st["op"], [text[a] for a in st["args"]], st["params"],
                                  arg_ops=[steps[a]["op"] for a in st["args"]])
    return text[step]
