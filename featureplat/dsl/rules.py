"""Data-quality rules for a Feast feature view: row rules and batch expectations.

A **row rule** is a boolean expression over the view's columns (its join keys, event
timestamp, created timestamp and features, by their Feast names). A row passes a rule when
the expression is true. **A null verdict is a failure** (a comparison with a missing
value is null, so ``col("price").between(0, 500)`` fails a row without a price) unless the
rule says ``null="pass"``. A rule of severity ``"reject"`` quarantines the rows that fail
it; ``"warn"`` only counts them. A row is accepted when it passes every reject rule.

A **batch expectation** judges a whole batch from its profile: the row count, a column's
null fraction, distinct count, minimum, maximum or mean, and, against the training
baseline of a fitted plan, the share of a column's values outside the fitted vocabulary
or outside the fitted range. A failed expectation of severity ``"reject"`` refuses the
batch as a whole. An expectation over no values (the mean of an all-null column, a
fraction of an empty batch) passes: bound the row count or the null fraction to catch
those.

Nothing here decides a value: rules compile to plans (:mod:`featureplat.compile.rules`)
that the core runs, on batches and on single rows alike.

>>> import featureplat as fp
>>> ex = fp.Expectations("customer_billing", rules={
...     "price_in_range": fp.col("monthly_price").between(0, 500),
...     "known_tier": fp.Rule(fp.col("plan_tier").is_in(["basic", "plus", "premium"]), severity="warn"),
... }, batch={"enough_rows": fp.expect.row_count(min=1)})
>>> sorted(ex.rules), ex.rules["known_tier"].severity
(['known_tier', 'price_in_range'], 'warn')
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from featureplat.dsl.expr import Expr, lit
from featureplat.errors import PlanError
from featureplat.plan.names import check_name

__all__ = ["BatchExpectation", "Expectations", "Rule", "SEVERITIES", "expect"]

SEVERITIES = ("reject", "warn")
_NULL_POLICIES = ("fail", "pass")


def _severity(value: Any, what: str) -> str:
    if value not in SEVERITIES:
        raise PlanError(f"{what}: severity must be 'reject' or 'warn', got {value!r}")
    return value


@dataclass(frozen=True)
class Rule:
    """A row rule: ``expr`` (boolean), its ``severity`` ("reject" or "warn"), what a null
    verdict means (``null="fail"``, the default, or ``"pass"``) and a description for
    reports."""

    expr: Expr
    severity: str = "reject"
    null: str = "fail"
    description: str = ""

    def __post_init__(self):
        if not isinstance(self.expr, Expr):
            raise PlanError(f"a rule needs a boolean expression such as fp.col('x') > 0, got {self.expr!r}")
        _severity(self.severity, "rule")
        if self.null not in _NULL_POLICIES:
            raise PlanError(f"rule: null must be 'fail' or 'pass', got {self.null!r}")
        if not isinstance(self.description, str):
            raise PlanError("rule: description must be a string")


# Statistic of a column (or of the batch) an expectation bounds; see BatchExpectation.
_STATISTICS = ("row_count", "null_fraction", "distinct_count", "min", "max", "mean", "oov_fraction",
               "outside_fitted_range")


@dataclass(frozen=True)
class BatchExpectation:
    """A bound on one statistic of a batch: ``min <= statistic <= max`` (either bound may
    be None). Build with :data:`expect`."""

    statistic: str
    column: str | None
    min: float | None
    max: float | None
    severity: str = "reject"

    def __post_init__(self):
        if self.statistic not in _STATISTICS:
            raise PlanError(f"unknown batch statistic {self.statistic!r}; expected one of {', '.join(_STATISTICS)}")
        if self.statistic != "row_count" and (not isinstance(self.column, str) or not self.column):
            raise PlanError(f"expect.{self.statistic}: give the column")
        for bound in (self.min, self.max):
            if bound is not None and (isinstance(bound, bool) or not isinstance(bound, (int, float))
                                      or math.isnan(bound)):
                raise PlanError(f"expect.{self.statistic}: bounds must be numbers or None, got {bound!r}")
        if self.min is None and self.max is None:
            raise PlanError(f"expect.{self.statistic}: give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise PlanError(f"expect.{self.statistic}: min {self.min} is above max {self.max}")
        _severity(self.severity, f"expect.{self.statistic}")

    def describe(self) -> str:
        """``null_fraction(country) <= 0.01`` and the like, for reports."""
        subject = self.statistic if self.column is None else f"{self.statistic}({self.column})"
        if self.min is not None and self.max is not None:
            return f"{self.min} <= {subject} <= {self.max}"
        return f"{subject} >= {self.min}" if self.min is not None else f"{subject} <= {self.max}"


class _Expect:
    """``fp.expect``: batch expectations. Fractions are of the batch's rows (null fraction)
    or of a column's non-null values (the baseline ones)."""

    def row_count(self, min: int | None = None, max: int | None = None, severity: str = "reject"):
        """The batch has between ``min`` and ``max`` rows."""
        return BatchExpectation("row_count", None, min, max, severity)

    def null_fraction(self, column: str, max: float, min: float | None = None, severity: str = "reject"):
        """The share of rows where ``column`` is null (NaN is not null)."""
        return BatchExpectation("null_fraction", column, min, max, severity)

    def distinct_count(self, column: str, min: int | None = None, max: int | None = None, severity: str = "reject"):
        """The number of distinct non-null values (string, int64, bool or timestamp columns)."""
        return BatchExpectation("distinct_count", column, min, max, severity)

    def min(self, column: str, min: float | None = None, max: float | None = None, severity: str = "reject"):
        """The smallest non-null, non-NaN value (numeric columns)."""
        return BatchExpectation("min", column, min, max, severity)

    def max(self, column: str, min: float | None = None, max: float | None = None, severity: str = "reject"):
        """The largest non-null, non-NaN value (numeric columns)."""
        return BatchExpectation("max", column, min, max, severity)

    def mean(self, column: str, min: float | None = None, max: float | None = None, severity: str = "reject"):
        """The mean of the non-null, non-NaN values, exact (numeric columns)."""
        return BatchExpectation("mean", column, min, max, severity)

    def oov_fraction(self, column: str, max: float, severity: str = "reject"):
        """Against a fitted plan: the share of non-null values not in the vocabulary fitted on
        ``column`` (by ``vocabulary`` or ``one_hot``)."""
        return BatchExpectation("oov_fraction", column, None, max, severity)

    def outside_fitted_range(self, column: str, max: float, severity: str = "reject"):
        """Against a fitted plan: the share of non-null values below the fitted minimum or
        above the fitted maximum of ``column`` (from ``min_max_scale`` or
        ``quantile_bucketize`` on it); NaN counts as outside."""
        return BatchExpectation("outside_fitted_range", column, None, max, severity)


expect = _Expect()


class Expectations:
    """The rules and batch expectations of one Feast feature view. ``rules`` maps a name
    to an expression or a :class:`Rule`; ``batch`` maps a name to an expectation from
    :data:`expect`. Declared in a repo module, they are checked at ``featureplat apply``
    and run by ``featureplat ingest``, training sets and (optionally) serving."""

    def __init__(self, view: str, rules: Mapping[str, Any] | None = None,
                 batch: Mapping[str, BatchExpectation] | None = None):
        if not isinstance(view, str) or not view:
            raise PlanError("Expectations: the feature view name must be a non-empty string")
        rules = dict(rules or {})
        batch = dict(batch or {})
        if not rules and not batch:
            raise PlanError(f"Expectations for {view!r} declare no rules and no batch expectations")
        self.view = view
        self.rules: dict[str, Rule] = {}
        for name, r in rules.items():
            check_name(name, f"rule name (view {view!r})")
            if isinstance(r, Rule):
                self.rules[name] = r
            elif isinstance(r, Expr):
                self.rules[name] = Rule(r)
            elif isinstance(r, bool):
                self.rules[name] = Rule(lit(r))
            else:
                raise PlanError(f"rule {name!r} of view {view!r}: expected a boolean expression or fp.Rule, "
                                f"got {type(r).__name__}")
        self.batch: dict[str, BatchExpectation] = {}
        for name, e in batch.items():
            check_name(name, f"batch expectation name (view {view!r})")
            if name in self.rules:
                raise PlanError(f"view {view!r}: {name!r} names both a rule and a batch expectation")
            if not isinstance(e, BatchExpectation):
                raise PlanError(f"batch expectation {name!r} of view {view!r}: build it with fp.expect "
                                f"(e.g. fp.expect.null_fraction('col', max=0.01)), got {type(e).__name__}")
            self.batch[name] = e

    def __repr__(self) -> str:
        return f"Expectations({self.view!r}, rules={list(self.rules)}, batch={list(self.batch)})"
