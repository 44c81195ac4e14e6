"""featureplat: define features once; one compiled core runs them identically on
training batches and on single serving requests.

>>> import featureplat as fp
>>> fs = fp.FeatureSet("demo", inputs={"amount": fp.request("float64")},
...                    features={"log_amount": fp.col("amount").log1p()})
>>> plan = fp.compile(fs)
>>> plan.transform_row({"amount": 0.0})
{'log_amount': 0.0}
"""
from featureplat import _core  # noqa: F401 - the compiled core, loaded first
from featureplat.version import __version__
from featureplat.dsl import Expr, FeatureSet, Input, coalesce, col, feast, lit, request, when
from featureplat.dsl.rules import BatchExpectation, Expectations, Rule, expect
from featureplat.errors import FeatureplatError, FeatureTypeError, InputError, PlanError
from featureplat.plan import FORMAT_VERSION, FittedPlan, Plan, load_plan, ops, plan_from_bytes
from featureplat.compile import compile  # noqa: A004

__all__ = [
    "BatchExpectation", "Expectations", "FORMAT_VERSION", "Expr", "FittedPlan", "FeatureSet", "FeatureTypeError", "FeatureplatError", "Input", "InputError",
    "Plan", "PlanError", "Rule", "coalesce", "col", "compile", "expect", "feast", "lit", "load_plan", "ops", "plan_from_bytes",
    "request", "when", "__version__",
]
