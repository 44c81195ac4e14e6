"""HTTP serving of :class:`featureplat.feast.serving.OnlineFeatures` (JSON in, JSON out) for
clients outside Python; in-process callers use the serving object directly.

Endpoints:

* ``GET /health`` -> ``{"status": "ok", "plan": ..., "plan_hash": ..., "features": [...],
  "entity_columns": [...], "request_fields": [...]}``
* ``POST /features`` with ``{"entities": [{...}, ...] | {...}, "request_data": {...} |
  [{...}, ...], "at": "2026-08-30T12:00:00+00:00" | <int microseconds>, "format":
  "vector" | "dict"}`` -> ``{"plan_hash": ..., "features": [...], "values": [[...], ...]}``
  (vector: float64 values in feature order, null for missing) or ``{"plan_hash": ...,
  "rows": [{...}, ...]}`` (dict). A single entity object gives a single vector / row.
  Timestamp request fields, like ``at``, are ISO 8601 strings with a UTC offset or int
  microseconds since the epoch.

Bad requests answer 400 with ``{"error": ...}``; an unreachable store answers 503.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
from typing import Any

from featureplat import _core
from featureplat.errors import FeatureplatError, InputError
from featureplat.feast.serving import OnlineFeatures
from featureplat.feast.stores import StoreUnavailable

__all__ = ["create_app", "serve"]

_MAX_BODY = 8 * 1024 * 1024


def _time(value: Any, what: str) -> Any:
    """A time in a request (``at`` or a timestamp request field): int microseconds since the
    epoch (UTC), or an ISO 8601 string with a UTC offset, turned into microseconds by the
    core's datetime conversion; a string without an offset is refused, naming ``what``."""
    if value is None or isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            parsed = _dt.datetime.fromisoformat(value)
        except ValueError:
            raise InputError(f"{what} must be an ISO 8601 time with a UTC offset, got {value!r}") from None
        return _core.datetime_to_micros(parsed, what)
    raise InputError(f"{what} must be an ISO 8601 string or int microseconds, got {type(value).__name__}")


def _with_times(rows: Any, fields: list[str]) -> Any:
    """``rows`` (a dict or a list of dicts) with the timestamp request fields parsed."""
    if not fields:
        return rows
    if isinstance(rows, dict):
        return {k: _time(v, f"request field {k!r}") if k in fields else v for k, v in rows.items()}
    if isinstance(rows, list):
        return [_with_times(r, fields) if isinstance(r, dict) else r for r in rows]
    return rows


def _vector(v) -> list:
    return [None if math.isnan(x) else x for x in v.tolist()]


def _json_value(v: Any) -> Any:
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, _dt.datetime):
        return v.isoformat()
    return v


def handle(serving: OnlineFeatures, body: bytes) -> tuple[int, dict]:
    """One /features request: (status, JSON document)."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        return 400, {"error": f"request body is not JSON: {e}"}
    if not isinstance(doc, dict):
        return 400, {"error": "request body must be a JSON object"}
    unknown = set(doc) - {"entities", "request_data", "at", "format"}
    if unknown:
        return 400, {"error": f"unknown request fields {sorted(unknown)}"}
    if "entities" not in doc:
        return 400, {"error": "request needs 'entities' (an object or a list of objects)"}
    fmt = doc.get("format", "vector")
    if fmt not in ("vector", "dict"):
        return 400, {"error": f"format must be 'vector' or 'dict', got {fmt!r}"}
    try:
        at = _time(doc.get("at"), "'at'")
        times = [f for f, dtype in serving.request_dtypes.items() if dtype == "timestamp"]
        ents = _with_times(doc["entities"], times)  # request fields may come with the entity rows
        request_data = _with_times(doc.get("request_data"), times)
        if fmt == "vector":
            out = serving.get(ents, request_data, at=at, to="numpy")
            values = _vector(out) if isinstance(ents, dict) else [_vector(r) for r in out]
            return 200, {"plan_hash": serving.plan.plan_hash, "features": serving.feature_names, "values": values}
        out = serving.get(ents, request_data, at=at, to="dict")
        rows = [out] if isinstance(ents, dict) else out
        rows = [{k: _json_value(v) for k, v in r.items()} for r in rows]
        return 200, {"plan_hash": serving.plan.plan_hash, "rows": rows[0] if isinstance(ents, dict) else rows}
    except StoreUnavailable as e:
        return 503, {"error": str(e)}
    except FeatureplatError as e:
        return 400, {"error": str(e)}


def create_app(serving: OnlineFeatures):
    """A Starlette application serving ``serving``."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    health_doc = {"status": "ok", "plan": serving.plan.name, "plan_hash": serving.plan.plan_hash,
                  "features": serving.feature_names, "entity_columns": serving.entity_columns,
                  "request_fields": serving.request_fields}

    async def health(request: Request) -> Response:
        return JSONResponse(health_doc)

    # A remote store's round trip must not block the event loop (requests would queue
    # behind it); a local SQLite read is shorter than a thread hop, so it runs inline.
    remote = serving.remote_store

    async def features(request: Request) -> Response:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > _MAX_BODY:
            return JSONResponse({"error": f"request body over {_MAX_BODY} bytes"}, status_code=413)
        body = await request.body()
        if remote:
            from starlette.concurrency import run_in_threadpool

            status, doc = await run_in_threadpool(handle, serving, body)
        else:
            status, doc = handle(serving, body)
        return Response(json.dumps(doc, allow_nan=False, separators=(",", ":")), status_code=status,
                        media_type="application/json")

    return Starlette(routes=[Route("/health", health, methods=["GET"]),
                             Route("/features", features, methods=["POST"])])


def serve(serving: OnlineFeatures, host: str = "127.0.0.1", port: int = 6570, log_level: str = "warning") -> None:
    """Runs the HTTP server until interrupted."""
    import uvicorn

    uvicorn.run(create_app(serving), host=host, port=port, log_level=log_level)
