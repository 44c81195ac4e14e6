"""Rules compiled into plans and run by the core: the verdict of every row and the profile
of a batch, in one pass.

:func:`compile_expectations` turns a view's :class:`~featureplat.Expectations` into a
:class:`RuleSet` of three plans, all run by the core:

* the **row plan**: one bool output per rule (its verdict, a null already made a failure
  or a pass by the rule's policy) led by ``ok`` (every reject rule passed), then the
  columns the batch expectations profile. ``Program.validate`` writes the verdicts of every
  row and feeds the profile outputs to mergeable analyzer states, in the same pass;
* the **verdict plan**: the verdict outputs alone, which the row path (serving) runs;
* the **batch plan**: over the profile's statistics (one row), the value and the verdict
  of each batch expectation (``min <= value <= max``; a value over no data passes).

:class:`Validator` streams batches through the row plan, keeps the analyzer states
(merged in row order, so results never depend on chunking or threads) and evaluates the
batch plan at the end. Python only moves data: which row passes, each statistic and each
expectation's verdict are computed by the core.

>>> import featureplat as fp, pyarrow as pa
>>> ex = fp.Expectations("v", rules={"positive": fp.col("x") > 0},
...                      batch={"few_nulls": fp.expect.null_fraction("x", max=0.5)})
>>> rs = compile_expectations(ex, {"x": "float64"})
>>> v = Validator(rs)
>>> verdict = v.check(pa.table({"x": [1.0, -1.0, None]}))
>>> verdict.ok.tolist()
[True, False, False]
>>> r = v.result()
>>> r.rows, r.accepted, r.quarantined, r.rules["positive"]["failed"], r.expectations["few_nulls"]["passed"]
(3, 1, 2, 2, True)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pyarrow as pa

from featureplat import _core
from featureplat.compile import compile as compile_feature_set
from featureplat.dsl.expr import Expr, col, lit, when
from featureplat.dsl.feature_set import FeatureSet, request
from featureplat.dsl.rules import BatchExpectation, Expectations
from featureplat.errors import InputError, PlanError
from featureplat.plan import Plan
from featureplat.plan.plan import _force_row
from featureplat.plan.inputs import to_batches
from featureplat.plan.threads import thread_count

__all__ = ["RuleSet", "RowVerdict", "BatchVerdict", "ValidationResult", "Validator", "compile_expectations",
           "rule_columns"]

OK = "ok"  # the first verdict output: every reject rule passed
_NUMERIC = ("int64", "float64", "float32", "bool")
_DISTINCT = ("string", "int64", "bool", "timestamp")


def rule_columns(expr: Expr) -> list[str]:
    """The columns an expression reads, in first-use order."""
    out: list[str] = []
    stack = [expr]
    seen: set[int] = set()
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if e.op == "col":
            if e._name not in out:
                out.append(e._name)
        else:
            stack.extend(reversed(e.args))
    return out


@dataclass(frozen=True)
class _Stat:
    """How one input of the batch plan is read off an analyzer result: output ``output``'s
    result, ``what`` = "true"/"false" (a bool counter's count of that key), "nonnull"
    (true + false), or a scalar of the result ("distinct", "min", "max", "mean")."""

    name: str
    output: int
    what: str
    dtype: str


@dataclass
class RuleSet:
    """A view's compiled rules: the plans and what each output means (see the module)."""

    view: str
    columns: dict[str, str]  # column read -> declared dtype
    rules: dict[str, dict]  # name -> severity, null, description, expression, columns
    expectations: dict[str, dict]  # name -> statistic, column, min, max, severity, description
    row_plan: Plan
    verdict_plan: Plan
    batch_plan: Plan
    flags: list[str]  # the verdict outputs, in order: "ok", then each rule
    analyzers: list[tuple[str, dict] | None]  # per row-plan output
    stats: list[_Stat] = field(default_factory=list)
    baseline_hash: str | None = None

    @property
    def reject_rules(self) -> list[str]:
        return [n for n, r in self.rules.items() if r["severity"] == "reject"]

    def describe(self) -> dict:
        """What is checked, as data (reports and the apply index)."""
        return {"view": self.view, "rules": self.rules, "expectations": self.expectations,
                "columns": self.columns, "row_plan_hash": self.row_plan.plan_hash,
                "batch_plan_hash": self.batch_plan.plan_hash, "baseline_plan_hash": self.baseline_hash}


def _fitted_for(baseline: Plan, view: str, column: str) -> list[dict]:
    """The fitted records of ``baseline`` over the input bound to ``view:column`` directly."""
    names = [i["name"] for i in baseline.inputs if i["source"] == f"feast:{view}:{column}"]
    wanted = {f"col({n!r})" for n in names}
    return [r for r in baseline.to_dict().get("fitted", []) if r["expression"] in wanted]


def _baseline_vocabulary(baseline: Plan, view: str, column: str, what: str) -> list:
    for r in _fitted_for(baseline, view, column):
        if r["transform"] in ("vocabulary", "one_hot"):
            return [k["value"] for k in r["statistics"]["keys"]]
    raise PlanError(f"{what}: the baseline plan {baseline.name!r} fits no vocabulary or one_hot on "
                    f"{view}:{column} (read directly as an input), so there is no fitted vocabulary to compare with")


def _baseline_range(baseline: Plan, view: str, column: str, what: str) -> tuple[float, float]:
    for r in _fitted_for(baseline, view, column):
        st = r["statistics"]
        if r["transform"] == "min_max_scale" and st.get("min", {}).get("value") is not None:
            return st["min"]["value"], st["max"]["value"]
        if r["transform"] == "quantile_bucketize" and st.get("edges"):
            return st["edges"][0]["value"], st["edges"][-1]["value"]
    raise PlanError(f"{what}: the baseline plan {baseline.name!r} fits no min_max_scale or quantile_bucketize on "
                    f"{view}:{column} (read directly as an input), so there is no fitted range to compare with")


def compile_expectations(expectations: Expectations, columns: Mapping[str, str], *,
                         baseline: Plan | None = None) -> RuleSet:
    """Compiles ``expectations`` against the view's columns (name -> featureplat dtype).

    Refused, with a PlanError naming the rule or expectation: a column the view does not
    have, a rule that is not boolean, a rule that uses a fitted transform, a statistic
    the column's type has no meaning for, a baseline expectation without a baseline plan
    or one that fits nothing on the column."""
    if not isinstance(expectations, Expectations):
        raise PlanError(f"expected fp.Expectations, got {type(expectations).__name__}")
    view = expectations.view
    known = ", ".join(sorted(columns)) or "none"
    used: list[str] = []

    def need(column: str, what: str) -> str:
        if column not in columns:
            raise PlanError(f"{what} of view {view!r} reads column {column!r}, which the view does not have "
                            f"(columns: {known})")
        if column not in used:
            used.append(column)
        return columns[column]

    rules: dict[str, dict] = {}
    verdicts: dict[str, Expr] = {}
    for name, rule in expectations.rules.items():
        for c in rule_columns(rule.expr):
            need(c, f"rule {name!r}")
        cols = rule_columns(rule.expr)
        try:  # the rule alone first: its own type, before its null policy is applied
            t = compile_feature_set(FeatureSet("rule", {c: request(columns[c]) for c in cols} or
                                               {"__none__": request("bool")}, {f"rule:{name}": rule.expr}))
        except PlanError as err:
            raise PlanError(_rule_message(str(err), view)) from None
        if t.feature_types[f"rule:{name}"] != "bool":
            raise PlanError(f"rule {name!r} of view {view!r} is a {t.feature_types[f'rule:{name}']} expression, "
                            f"not a boolean one: {rule.expr!r}")
        verdicts[name] = rule.expr.fill_null(rule.null == "pass")
        rules[name] = {"severity": rule.severity, "null": rule.null, "description": rule.description,
                       "expression": repr(rule.expr), "columns": rule_columns(rule.expr)}
    reject = [verdicts[n] for n, r in rules.items() if r["severity"] == "reject"]
    ok = lit(True)
    if reject:
        ok = reject[0]
        for v in reject[1:]:
            ok = ok & v

    # Profile outputs (after the verdicts) and how the batch plan reads them.
    profile: dict[str, Expr] = {}
    analyzers: list[tuple[str, dict] | None] = []
    stats: list[_Stat] = []
    counter = ("vocabulary", {"order": {"dtype": "string", "value": "value"}})
    n_flags = 1 + len(verdicts)

    def profile_output(key: str, expr: Expr, analyzer: tuple[str, dict]) -> int:
        if key not in profile:
            profile[key] = expr
            analyzers.append(analyzer)
        return n_flags + list(profile).index(key)

    def stat(output: int, what: str, dtype: str) -> str:
        for old in stats:
            if (old.output, old.what) == (output, what):
                return old.name
        stats.append(_Stat(f"s{len(stats)}", output, what, dtype))
        return stats[-1].name

    rows_stat = stat(0, "nonnull", "int64")  # the ok verdict is never null: its count is the row count
    values: dict[str, Expr] = {}
    expectation_docs: dict[str, dict] = {}
    for name, e in expectations.batch.items():
        what = f"batch expectation {name!r}"
        rows = col(rows_stat)
        if e.statistic == "row_count":
            value = rows.cast("float64")
        elif e.statistic == "null_fraction":
            need(e.column, what)
            o = profile_output(f"null:{e.column}", col(e.column).is_null(), counter)
            value = when(rows == 0).then(lit(None, "float64")).otherwise(
                col(stat(o, "true", "int64")).cast("float64") / rows.cast("float64"))
        elif e.statistic == "distinct_count":
            dtype = need(e.column, what)
            if dtype not in _DISTINCT:
                raise PlanError(f"{what}: distinct_count of {dtype} column {e.column!r} is not supported "
                                f"(columns of type {', '.join(_DISTINCT)}); bucketize or cast it in a rule instead")
            expr = col(e.column).cast("int64") if dtype == "timestamp" else col(e.column)
            o = profile_output(f"values:{e.column}", expr, ("vocabulary", {"order": {"dtype": "string", "value": "value"},
                                                                         "top_k": {"dtype": "int64", "value": 0}}))
            value = col(stat(o, "distinct", "int64")).cast("float64")
        elif e.statistic in ("min", "max", "mean"):
            dtype = need(e.column, what)
            if dtype not in _NUMERIC:
                raise PlanError(f"{what}: {e.statistic} of {dtype} column {e.column!r} is not supported "
                                f"(numeric columns: {', '.join(_NUMERIC)})")
            expr = col(e.column).cast("float64") if dtype == "float32" else col(e.column)
            o = profile_output(f"moments:{e.column}", expr, ("moments", {}))
            value = col(stat(o, e.statistic, "float64"))
        else:  # oov_fraction, outside_fitted_range: against the baseline
            dtype = need(e.column, what)
            if baseline is None:
                raise PlanError(f"{what}: {e.statistic} compares with a training baseline; give a fitted plan "
                                f"(baseline=...) that fits a transform on {e.column!r}")
            c = col(e.column)
            if e.statistic == "oov_fraction":
                keys = _baseline_vocabulary(baseline, view, e.column, what)
                if keys:
                    inside = Expr("map", (c,), {"keys": [_key(k, dtype) for k in keys],
                                                "values": [{"dtype": "bool", "value": True}] * len(keys),
                                                "default": {"dtype": "bool", "value": False}})
                else:
                    inside = when(c.is_null()).then(lit(None, "bool")).otherwise(False)
                flag = ~inside
            else:
                if dtype not in _NUMERIC:
                    raise PlanError(f"{what}: outside_fitted_range of {dtype} column {e.column!r} is not supported")
                lo, hi = _baseline_range(baseline, view, e.column, what)
                x = c.cast("float64")
                flag = (x < lo) | (x > hi) | x.is_nan()
            o = profile_output(f"{e.statistic}:{e.column}", flag, counter)
            nonnull = col(stat(o, "nonnull", "int64"))
            value = when(nonnull == 0).then(lit(None, "float64")).otherwise(
                col(stat(o, "true", "int64")).cast("float64") / nonnull.cast("float64"))
        values[name] = value
        expectation_docs[name] = {"statistic": e.statistic, "column": e.column, "min": e.min, "max": e.max,
                                  "severity": e.severity, "description": e.describe()}

    # Per-rule counts: a counter on every verdict output.
    verdict_features = {OK: ok, **{f"rule:{n}": v for n, v in verdicts.items()}}
    all_analyzers = [counter] * len(verdict_features) + analyzers
    for n in rules:
        stat(1 + list(rules).index(n), "false", "int64")
    stat(0, "true", "int64")

    read = {c: columns[c] for c in used}
    inputs = {c: request(columns[c]) for c in used} or {"__none__": request("bool")}
    try:
        verdict_plan = compile_feature_set(FeatureSet(f"{_plan_name(view)}_verdicts", inputs, verdict_features))
        row_plan = compile_feature_set(FeatureSet(f"{_plan_name(view)}_rules", inputs,
                                                  {**verdict_features, **{f"profile:{k}": v
                                                                          for k, v in profile.items()}}))
    except PlanError as err:
        raise PlanError(_rule_message(str(err), view)) from None
    for name in rules:
        t = verdict_plan.feature_types[f"rule:{name}"]
        if t != "bool":
            raise PlanError(f"rule {name!r} of view {view!r} is a {t} expression, not a boolean one: "
                            f"{rules[name]['expression']}")
    if row_plan.needs_fit:
        raise PlanError(f"the rules of view {view!r} use a fitted transform (standard_scale, vocabulary, ...): "
                        "rules compare raw values; use a baseline expectation (fp.expect.oov_fraction, "
                        "fp.expect.outside_fitted_range) instead")

    stat_inputs = {s.name: request(s.dtype) for s in stats}
    bounds: dict[str, Expr] = {}
    for name, value in values.items():
        e = expectations.batch[name]
        verdict = lit(True)
        if e.min is not None:
            verdict = value >= float(e.min)
        if e.max is not None:
            verdict = (verdict & (value <= float(e.max))) if e.min is not None else value <= float(e.max)
        bounds[name] = verdict.fill_null(True)  # a value over no data passes
        bounds[f"value:{name}"] = value
    if not bounds:
        bounds["__none__"] = lit(True)
    batch_plan = compile_feature_set(FeatureSet(f"{_plan_name(view)}_batch", stat_inputs, bounds))
    return RuleSet(view=view, columns=read, rules=rules, expectations=expectation_docs, row_plan=row_plan,
                   verdict_plan=verdict_plan, batch_plan=batch_plan, flags=list(verdict_features),
                   analyzers=all_analyzers, stats=stats,
                   baseline_hash=None if baseline is None else baseline.plan_hash)


def _key(value: Any, dtype: str) -> dict:
    if dtype == "string":
        return {"dtype": "string", "value": value}
    if dtype == "bool":
        return {"dtype": "bool", "value": value}
    if dtype == "int64":
        return {"dtype": "int64", "value": value}
    raise PlanError(f"oov_fraction: a vocabulary of {dtype} values cannot be looked up")


def _plan_name(view: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in view)[:100] or "_"


def _rule_message(msg: str, view: str) -> str:
    """The compiler names a feature; here the feature is a rule (``rule:<name>``)."""
    msg = msg.replace("feature 'rule:", "rule '").replace("feature 'profile:", "batch expectation over '")
    return f"view {view!r}: {msg}"


# ---- running ------------------------------------------------------------------------------

@dataclass
class BatchVerdict:
    """The verdicts of one batch's rows: ``ok[i]`` (accepted) and, per rule, ``passed``
    (rows x rules, bool)."""

    ok: np.ndarray
    passed: np.ndarray
    rules: list[str]

    def failed_rules(self, i: int) -> list[str]:
        return [r for r, p in zip(self.rules, self.passed[i]) if not p]


@dataclass
class RowVerdict:
    """One row's verdict: accepted, and the rules it failed (reject and warn)."""

    ok: bool
    failed: list[str]
    rejected_by: list[str]


@dataclass
class ValidationResult:
    """Counts and verdicts of everything a validator saw. ``rows == accepted +
    quarantined`` always; ``passed`` is False when a reject batch expectation failed."""

    view: str
    rows: int
    accepted: int
    quarantined: int
    rules: dict[str, dict]
    expectations: dict[str, dict]
    passed: bool

    def to_dict(self) -> dict:
        return {"view": self.view, "rows": self.rows, "accepted": self.accepted, "quarantined": self.quarantined,
                "rules": self.rules, "expectations": self.expectations, "passed": self.passed}

    @property
    def failed_expectations(self) -> list[str]:
        return [n for n, e in self.expectations.items() if not e["passed"]]


class Validator:
    """Streams batches through a :class:`RuleSet`: :meth:`check` gives each batch's row
    verdicts, :meth:`result` the counts and batch expectations over all of them."""

    def __init__(self, ruleset: RuleSet, *, threads: int = 1):
        self.ruleset = ruleset
        self.threads = thread_count(threads)
        self._program = _core.Program(ruleset.row_plan.to_dict())
        types = ruleset.row_plan.feature_types
        self._states = [None if a is None else _core.Analyzer(a[0], types[f], a[1])
                        for a, f in zip(ruleset.analyzers, ruleset.row_plan.features)]
        self._inputs = ruleset.row_plan.input_names
        self._rows = 0

    def check(self, data: Any) -> BatchVerdict:
        """The verdict of every row of ``data`` (a Table, batch, DataFrame or dict with the
        columns the rules read); the batch joins the profile."""
        rs = self.ruleset
        if rs.columns:
            batches = to_batches(data, self._inputs)
        else:
            n = _num_rows(data)
            batches = [pa.record_batch([pa.nulls(n, pa.bool_())], names=["__none__"])]
        payload = [(b.num_rows, [c.__arrow_c_array__() for c in b.columns]) for b in batches]
        flags = self._program.validate(payload, self.threads, self._states, len(rs.flags))
        if _force_row():  # the row path's verdicts, for FEATUREPLAT_FORCE_ROW runs of the suite
            flags = _row_flags(rs.verdict_plan, batches, len(rs.flags))
        self._rows += flags.shape[0]
        m = flags.astype(bool)
        return BatchVerdict(ok=m[:, 0], passed=m[:, 1:], rules=list(rs.rules))

    def row(self, row: Mapping[str, Any]) -> RowVerdict:
        """One row's verdict through the row path (the same rules, compiled once)."""
        return row_verdict(self.ruleset, row)

    def result(self) -> ValidationResult:
        """Counts, per-rule failures and the batch expectations, over every batch checked."""
        rs = self.ruleset
        results = [None if s is None else s.result() for s in self._states]
        row = {s.name: _read_stat(results[s.output], s.what) for s in rs.stats}
        out = rs.batch_plan.transform_row(row) if rs.stats else {}
        accepted = _read_stat(results[0], "true")
        rows = _read_stat(results[0], "nonnull")
        if rows != self._rows:  # the core's count and the rows handed over must agree
            raise InputError(f"validation of view {rs.view!r}: {self._rows} rows were checked but the profile "
                             f"counted {rows}")
        rules = {}
        for k, (name, doc) in enumerate(rs.rules.items()):
            rules[name] = {**doc, "failed": _read_stat(results[1 + k], "false")}
        expectations = {}
        for name, doc in rs.expectations.items():
            expectations[name] = {**doc, "value": out[f"value:{name}"], "passed": bool(out[name])}
        passed = all(e["passed"] for e in expectations.values() if e["severity"] == "reject")
        return ValidationResult(view=rs.view, rows=rows, accepted=accepted, quarantined=rows - accepted,
                                rules=rules, expectations=expectations, passed=passed)


def _num_rows(data: Any) -> int:
    if isinstance(data, (pa.Table, pa.RecordBatch)):
        return data.num_rows
    if hasattr(data, "__len__"):
        return len(data)
    raise InputError(f"cannot count the rows of {type(data).__name__}")


def _read_stat(result: dict, what: str) -> Any:
    if what in ("true", "false", "nonnull"):
        counts = dict(zip(result["keys"], result["counts"]))
        if what == "nonnull":
            return int(sum(counts.values()))
        return int(counts.get(what == "true", 0))
    return result[what]


def _row_flags(plan: Plan, batches: list[pa.RecordBatch], n: int) -> np.ndarray:
    m = plan._transform_rows(batches, "numpy")
    return np.nan_to_num(m, nan=0.0).astype(np.uint8).reshape(-1, n)


def row_verdict(ruleset: RuleSet, row: Mapping[str, Any]) -> RowVerdict:
    """One row's verdict (serving): the verdict plan's row path."""
    values = {c: row.get(c) for c in ruleset.columns} if ruleset.columns else {"__none__": None}
    out = ruleset.verdict_plan.transform_row(values)
    failed = [n for n in ruleset.rules if not out[f"rule:{n}"]]
    rejected_by = [n for n in failed if ruleset.rules[n]["severity"] == "reject"]
    return RowVerdict(ok=bool(out[OK]), failed=failed, rejected_by=rejected_by)
