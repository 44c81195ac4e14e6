"""A compiled plan as a Feast on-demand feature view (python mode).

Teams that call Feast's own ``get_online_features`` get the compiled transforms too:
:func:`on_demand_view` returns an ``OnDemandFeatureView`` whose sources are the plan's
feature views (projected to the features it reads) and a request source for its request
inputs, and whose transformation runs the plan in the core.

The transformation's source text -- what Feast stores, diffs and re-executes when it
loads the view from its registry -- is fixed text around one base64 string, the plan file
itself: no plan field (name, inputs, features) and no argument reaches code position, so
nothing a plan holds can become code when Feast executes the view. A changed plan is a
changed view for Feast, and the view never depends on a file outside the registry. The
plan hash is also a tag (``featureplat.plan_hash``).

Differences from :class:`featureplat.feast.serving.OnlineFeatures`, which are Feast's: Feast's
online read does not apply a view's TTL (expired values reach the transformation as
present, Feast issue #6821), so an adapter result equals the serving object's exactly for
entities whose stored values are within TTL.
"""
from __future__ import annotations

import base64
import binascii
import datetime as _dt
import hashlib
import re
import threading
from typing import Any

from featureplat.errors import InputError, PlanError
from featureplat.feast.repo import feature_store
from featureplat.feast.views import resolve_plan, resolve_views
from featureplat.plan import FittedPlan, Plan, plan_from_bytes
from featureplat.plan.dtypes import DTYPES
from featureplat.plan.names import check_name
from featureplat.plan.sources import feast_ref

__all__ = ["UDF_NAME", "on_demand_view", "run_plan", "run_view", "udf_source"]

_PLANS: dict[str, Plan] = {}
_LOCK = threading.Lock()

UDF_NAME = "featureplat_on_demand_view"
# Fixed text; the only variable part is the plan file in base64 (checked to be nothing else).
_UDF_TEMPLATE = (
    f"def {UDF_NAME}(inputs):\n"
    '    """A featureplat plan, compiled; run by featureplat\'s core (the argument is the plan file, base64)."""\n'
    "    from featureplat.feast.on_demand import run_view\n"
    "    return run_view('{blob}', inputs)\n")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_SOURCE = re.compile(re.escape(_UDF_TEMPLATE).replace(re.escape("{blob}"), r"[A-Za-z0-9+/]*={0,2}"))


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


def _encoded(plan: Plan) -> str:
    blob = base64.b64encode(plan.to_bytes()).decode("ascii")
    if not _BASE64.fullmatch(blob):  # by construction; checked because the source text becomes code
        raise PlanError("internal: the encoded plan is not base64")
    return blob


def udf_source(plan: Plan) -> str:
    """The transformation's source text for ``plan``: fixed text and base64 only."""
    return _UDF_TEMPLATE.format(blob=_encoded(plan))


def _bindings(plan: Plan) -> list[tuple[str, str]]:
    """Plan input -> the name Feast hands the transformation (full feature name or the
    request field)."""
    out = []
    for i in plan.inputs:
        ref = feast_ref(i["source"])
        out.append((i["name"], "__".join(ref) if ref is not None else i["name"]))
    return out


def run_view(blob: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """The on-demand view's transformation: ``blob`` is the plan file (base64); ``inputs``
    maps Feast names (``view__feature`` and request fields) to a value per entity row (a
    list) or, in singleton mode, one value; returns each plan feature likewise."""
    if not isinstance(blob, str):
        raise PlanError("on-demand view: the embedded plan must be base64 text")
    key = hashlib.sha256(blob.encode("ascii", "replace")).hexdigest()
    plan = _PLANS.get(key)
    if plan is None:
        try:
            raw = base64.b64decode(blob, validate=True)
        except (binascii.Error, ValueError):
            raise PlanError("on-demand view: the embedded plan is not valid base64") from None
        plan = plan_from_bytes(raw, source="on-demand view plan")
        with _LOCK:
            _PLANS[key] = plan
    return _run(plan, _bindings(plan), inputs)


def run_plan(plan_hash: str, blob: str, bindings: list[tuple[str, str]], inputs: dict[str, Any]) -> dict[str, Any]:
    """The transformation of views made before the plan-only source (their text passes
    the hash and bindings too); kept so those stored views keep serving."""
    return _run(_plan(plan_hash, blob), bindings, inputs)


def _run(plan: Plan, bindings: list[tuple[str, str]], inputs: dict[str, Any]) -> dict[str, Any]:
    names = [b[0] for b in bindings]
    feast_bound = [feast_ref(i["source"]) is not None for i in plan.inputs]
    cols = []
    for plan_input, feast_name in bindings:
        if feast_name not in inputs:
            raise InputError(f"on-demand view input {feast_name!r} (plan input {plan_input!r}) is missing")
        cols.append(inputs[feast_name])
    singleton = not any(isinstance(c, (list, tuple)) or hasattr(c, "__array__") for c in cols)
    if singleton:
        return plan.transform_row(dict(zip(names, [_feast_utc(v) if f else v for v, f in zip(cols, feast_bound)])))
    rows = list(zip(*[list(c) for c in cols]))
    out: dict[str, list] = {f: [] for f in plan.features}
    for r in rows:
        d = plan.transform_row(dict(zip(names, [None if _is_nan_like(v) else _feast_utc(v) if f else v
                                                for v, f in zip(r, feast_bound)])))
        for f, v in d.items():
            out[f].append(v)
    return out


def _udf(source: str):
    """The function ``source`` defines. Feast keeps a function and pickles it with its
    globals, so it is defined in a namespace of its own, from the text Feast stores: fixed
    text and base64, checked here once more before it is compiled."""
    if not _SOURCE.fullmatch(source):
        raise PlanError("internal: on-demand view source is not the fixed template")
    namespace: dict[str, Any] = {}
    exec(compile(source, "<featureplat on-demand view>", "exec"), namespace)  # noqa: S102 - fixed text + base64
    return namespace[UDF_NAME]


def _feast_utc(v: Any) -> Any:
    # Feast reads its event data without a time zone as UTC; the core refuses naive
    # datetimes, so a Feast value says UTC explicitly (request fields stay as given).
    if isinstance(v, _dt.datetime) and v.utcoffset() is None:
        return v.replace(tzinfo=_dt.timezone.utc)
    return v


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
    if not isinstance(name, str) or not name.isidentifier():
        raise InputError(f"on-demand view name {name!r} must be a Python identifier")
    check_name(name, "on-demand view name")

    request_fields = [Field(name=i["name"], dtype=getattr(ft, DTYPES[i["dtype"]].feast))
                      for i in plan.inputs if feast_ref(i["source"]) is None]
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
    udf_string = udf_source(plan)
    return OnDemandFeatureView(
        name=name, sources=sources, schema=schema, mode="python",
        feature_transformation=PythonTransformation(udf=_udf(udf_string), udf_string=udf_string),
        description=f"featureplat plan {plan.name!r} ({plan.plan_hash})",
        tags={"featureplat.plan_hash": plan.plan_hash, "featureplat.plan_name": plan.name},
    )
