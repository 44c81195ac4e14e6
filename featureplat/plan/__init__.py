"""Plans: data that describes features, never code (the plan file format, Plan,
FittedPlan, the analyze pass that fits them, and the tables every layer reads)."""
from featureplat.plan.plan import (
    FORMAT_VERSION, MAX_PLAN_BYTES, FittedPlan, Plan, canonical_json, load_plan, ops, plan_from_bytes,
)

__all__ = ["FORMAT_VERSION", "MAX_PLAN_BYTES", "FittedPlan", "Plan", "canonical_json", "load_plan", "ops",
           "plan_from_bytes"]
