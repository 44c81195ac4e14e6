"""The analyze pass: fitted transforms get their statistics from training data, computed
by the core's analyzers in one streaming pass per nesting level, and are rewritten into
ordinary ops with the statistics as constants.

Each fitted op becomes a plain expression (``standard_scale(x)`` becomes
``(x - mean) / std``), so a fitted plan is an ordinary plan: serving runs no analyzer.

Every rule lives in the core (``cpp/include/featureplat/fit_rewrite.h``): which steps are
ready, which analyzers they need, the statistics they record, their rewrites and the
one_hot expansion. This module only moves data: it streams each level's batches through
the analysis plan the core gives, finalizes the analyzers and hands their results back."""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow as pa

from featureplat import _core
from featureplat.errors import PlanError
from featureplat.plan.inputs import to_batches
from featureplat.plan.text import render_step

FITTED_OPS = frozenset(o["name"] for o in _core.ops() if o["family"] == "fitted")
DEFAULT_EXACT_BUDGET = 10_000_000


# ---- the fit driver -------------------------------------------------------------------

def _passes(data: Any) -> Callable[[], Iterable[Any]]:
    """A function returning one pass over the training data (tables or batches)."""
    if isinstance(data, pa.RecordBatchReader):
        data = iter(data)  # a one-shot stream: read batch by batch, never all at once
    if isinstance(data, (pa.Table, pa.RecordBatch, Mapping)) or \
            hasattr(data, "__arrow_c_stream__") or hasattr(data, "__arrow_c_array__") or \
            type(data).__module__.startswith("pandas"):
        return lambda: [data]
    if callable(data):
        return data
    if isinstance(data, Iterator):
        used = []

        def once():
            if used:
                raise PlanError("this plan has nested fitted transforms and needs another pass over the "
                                "training data, but it was given a one-shot iterator: pass a Table, a list of "
                                "batches, or a function returning a fresh iterator")
            used.append(True)
            return data
        return once
    if isinstance(data, Iterable):
        return lambda: data
    raise PlanError(f"cannot fit on {type(data).__name__}: pass a Table, batches, or a function returning them")


def fit_document(doc: dict, data: Any, *, threads: int = 1, exact_budget: int = DEFAULT_EXACT_BUDGET) -> dict:
    """Fits every fitted transform of a plan document; returns the fitted document."""
    one_pass = _passes(data)
    records: list[dict] = []
    current = doc
    while True:
        # The core names steps (in records and messages) through the DSL's rendering.
        describe = functools.partial(render_step, current)
        level = _core.fit_level(current, exact_budget, describe)
        if level is None:
            break
        analysis = _core.Program(level["analysis"])
        names = [i["name"] for i in level["analysis"]["inputs"]]
        states = [_core.Analyzer(kind, step["dtype"], params)
                  for step in level["steps"] for kind, params in step["analyzers"]]
        rows = 0
        for item in one_pass():
            for b in to_batches(item, names):
                analysis.analyze([(b.num_rows, [c.__arrow_c_array__() for c in b.columns])], threads, states)
                rows += b.num_rows
        # Finalizing releases the GIL, so analyzers finalize in parallel.
        if threads > 1 and len(states) > 1:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                results = list(pool.map(lambda st: st.result(), states))
        else:
            results = [st.result() for st in states]
        current, fitted = _core.fit_apply(current, results, rows, describe)
        records.extend(fitted)
    fitted_doc = _core.fit_finish(current, records)
    # Refitting a fitted plan keeps the statistics it already froze.
    fitted_doc["fitted"] = list(doc.get("fitted", [])) + records
    return fitted_doc
