"""Where a plan input comes from: ``feast:<view>:<feature>`` or ``request``. The one
parser of Feast feature references (``view:feature``) and input sources.

>>> parse_feature_ref("driver_stats:trips")
('driver_stats', 'trips')
>>> feast_ref("feast:driver_stats:trips")
('driver_stats', 'trips')
>>> feast_ref("request") is None
True
"""
from __future__ import annotations

import re

from featureplat.errors import PlanError

REQUEST = "request"
FEAST_PREFIX = "feast:"
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_REF = re.compile(rf"^({_NAME}):({_NAME})$")


def parse_feature_ref(ref: object) -> tuple[str, str]:
    """``"view:feature"`` -> ``(view, feature)``; PlanError for anything else."""
    m = _REF.match(ref) if isinstance(ref, str) else None
    if m is None:
        raise PlanError(f"feast reference {ref!r} must look like 'view:feature'")
    return m.group(1), m.group(2)


def feast_source(ref: str) -> str:
    """The input source for Feast feature ``ref`` (validated)."""
    view, feature = parse_feature_ref(ref)
    return f"{FEAST_PREFIX}{view}:{feature}"


def feast_ref(source: str) -> tuple[str, str] | None:
    """``(view, feature)`` of a Feast-bound input source, None for a request input."""
    if source == REQUEST:
        return None
    if not isinstance(source, str) or not source.startswith(FEAST_PREFIX):
        raise PlanError(f"input source {source!r} must be 'request' or 'feast:<view>:<feature>'")
    return parse_feature_ref(source[len(FEAST_PREFIX):])


def check_source(source: object, where: str) -> None:
    """PlanError naming ``where`` unless ``source`` is a valid input source."""
    try:
        feast_ref(source)  # type: ignore[arg-type]
    except PlanError as err:
        raise PlanError(f"{where}: {err}") from None
