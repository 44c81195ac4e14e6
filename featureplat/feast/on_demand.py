"""A compiled plan as a Feast on-demand feature view (python mode).

Teams that call Feast's own ``get_online_features`` get the compiled transforms too:
:func:`on_demand_view` returns an ``OnDemandFeatureView`` whose sources are the plan's
feature views (projected to the features it reads) and a request source for its request
inputs, and whose transformation runs the plan in the core.

The transformation's source text -- what Feast stores, diffs and re-executes when it
loads the view from its registry -- embeds the plan itself (base64) and its hash, so a
changed plan is a changed view for Feast, and the view never depends on a file outside
the registry. The plan hash is also a tag (``featureplat.plan_hash``).

Differences from :class:`featureplat.feast.serving.OnlineFeatures`, which are Feast's: Feast's
online read does not apply a view's TTL (expired values reach the transformation as
present, Feast issue #6821), so an adapter result equals the serving object's exactly for
entities whose stored values are within TTL.
"""
from __future__ import annotations

import base64
import threading
from typing import Any

from featureplat.errors import InputError, PlanError
from featureplat.feast.repo import feature_store
from featureplat.feast.views import resolve_plan, resolve_views
from featureplat.plan import FittedPlan, Plan, plan_from_bytes
from featureplat.plan.dtypes import DTYPES
from featureplat.plan.sources import feast_ref

__all__ = ["on_demand_view", "run_plan"]

_PLANS: dict[str, Plan] = {}
_LOCK = threading.Lock()

_UDF_TEMPLATE = '''def {name}(inputs):
    """featureplat plan {plan_name!r}, hash {plan_hash} (compiled; run by featureplat's core)."""
    from featureplat.feast.on_demand import run_plan
    return run_plan({plan_hash!r}, {blob!r}, {bindings!r}, inputs)
'''


def _plan(plan_hash: str, blob: str) -> Plan:
    plan = _PLANS.get(plan_hash)
    if plan is None:
        with _LOCK:
            plan = _PLANS.get(plan_hash)
            if plan is None:
                plan = plan_from_bytes(base64.b64decode(blob), source=f"on-demand view plan {plan_hash[:12]}")
                if plan.plan_hash != plan_hash:
                    raise PlanError(f"embedded plan has hash {plan.plan_hash}, the view says {plan_hash}")
                _PLANS[plan_hash] = plan
    return plan


def run_plan(plan_hash: str, blob: str, bindings: list[tuple[str, str]], inputs: dict[str, Any]) -> dict[str, Any]:
    """The on-demand view's transformation: ``inputs`` maps Feast names (``view__feature``
    and request fields) to a value per entity row (a list) or, in singleton mode, one
    value; returns each plan feature likewise."""
    plan = _plan(plan_hash, blob)
    names = [b[0] for b in bindings]
    cols = []
    for plan_input, feast_name in bindings:
        if feast_name not in inputs:
            raise InputError(f"on-demand view input {feast_name!r} (plan input {plan_input!r}) is missing")
        cols.append(inputs[feast_name])
    singleton = not any(isinstance(c, (list, tuple)) or hasattr(c, "__array__") for c in cols)
    if singleton:
        return plan.transform_row(dict(zip(names, cols)))
    rows = list(zip(*[list(c) for c in cols]))
    out: dict[str, list] = {f: [] for f in plan.features}
    for r in rows:
        d = plan.transform_row(dict(zip(names, [None if _is_nan_like(v) else v for v in r])))
        for f, v in d.items():
            out[f].append(v)
    return out


def _is_nan_like(v: Any) -> bool:
    # pandas may hand missing values over as NaN/NaT in object columns
    return v is not None and v != v  # noqa: PLR0124 - NaN test


def on_demand_view(store: Any, plan: Any, *, name: str | None = None, request_source: Any = None,
                   timestamp_input: str | None = "event_timestamp"):
    """An ``OnDemandFeatureView`` (python mode) running ``plan`` over its Feast inputs.

    ``store``: a FeatureStore or repo path (the plan's views are looked up in its
    registry). ``plan``: a FittedPlan (or a plan without fitted transforms).
    ``request_source``: an existing ``RequestSource`` declaring the plan's request inputs;
    by default one named ``<name>_request`` is created. Apply the result with
    ``store.apply([view])``.
    """
    from feast import Field, OnDemandFeatureView, RequestSource
    from feast import types as ft
    from feast.transformation.python_transformation import PythonTransformation

    store = feature_store(store)
    plan = resolve_plan(store, plan)
    if plan.needs_fit:
        raise PlanError(f"plan {plan.name!r} has unfitted transforms; adapt the FittedPlan from training")
    if not isinstance(plan, FittedPlan):
        plan = FittedPlan(plan.to_dict())
    name = name or f"{plan.name}_fp"
    if not name.isidentifier():
        raise InputError(f"on-demand view name {name!r} must be a Python identifier")

    bindings: list[tuple[str, str]] = []  # plan input -> the name Feast hands the transformation
    request_fields = []
    for i in plan.inputs:
        ref = feast_ref(i["source"])
        if ref is not None:
            bindings.append((i["name"], "__".join(ref)))  # Feast's full feature name
        else:
            bindings.append((i["name"], i["name"]))
            request_fields.append(Field(name=i["name"], dtype=getattr(ft, DTYPES[i["dtype"]].feast)))
    # Unknown views/features and type mismatches raise here; the sources are the views
    # projected to the features the plan reads.
    sources: list[Any] = [v.feature_view[list(v.features)] for v in resolve_views(store, plan)]
    if request_fields:
        if request_source is None:
            request_source = RequestSource(name=f"{name}_request", schema=request_fields)
        else:
            have = {f.name for f in request_source.schema}
            missing = [f.name for f in request_fields if f.name not in have]
            if missing:
                raise InputError(f"request source {request_source.name!r} lacks the plan's request inputs {missing}")
        sources.append(request_source)
    schema = []
    for feature, dtype in plan.feature_types.items():
        schema.append(Field(name=feature, dtype=getattr(ft, DTYPES[dtype].feast)))
    blob = base64.b64encode(plan.to_bytes()).decode("ascii")
    udf_string = _UDF_TEMPLATE.format(name=name, plan_name=plan.name, plan_hash=plan.plan_hash, blob=blob,
                                      bindings=bindings)
    namespace: dict[str, Any] = {}
    exec(compile(udf_string, f"<featureplat on-demand view {name}>", "exec"), namespace)  # noqa: S102
    udf = namespace[name]
    return OnDemandFeatureView(
        name=name, sources=sources, schema=schema, mode="python",
        feature_transformation=PythonTransformation(udf=udf, udf_string=udf_string),
        description=f"featureplat plan {plan.name!r} ({plan.plan_hash})",
        tags={"featureplat.plan_hash": plan.plan_hash, "featureplat.plan_name": plan.name},
    )
