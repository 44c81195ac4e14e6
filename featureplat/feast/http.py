"""HTTP serving of :class:`featureplat.feast.serving.OnlineFeatures` (JSON in, JSON out) for
clients outside Python; in-process callers use the serving object directly.

Endpoints:

* ``GET /health`` -> ``{"status": "ok", "plan": ..., "plan_hash": ..., "features": [...],
  "entity_columns": [...], "request_fields": [...]}``
* ``POST /features`` with ``{"entities": [{...}, ...] | {...}, "request_data": {...} |
  [{...}, ...], "at": "2026-08-30T12:00:00+00:00" | <int microseconds>, "format":
  "vector" | "dict", "report": false | true}`` -> ``{"plan_hash": ..., "features": [...],
  "values": [[...], ...]}`` (vector: float64 values in feature order, null for missing or
  not finite) or ``{"plan_hash": ..., "rows": [{...}, ...]}`` (dict). A single entity
  object gives a single vector / row. Timestamp request fields, like ``at``, are ISO 8601
  strings with a UTC offset or int microseconds since the epoch. ``"report": true`` adds
  ``"report"``: per entity row, each feature view's outcome (``found``, ``expired``,
  ``future``, ``missing``; see :mod:`featureplat.feast.serving`).
* ``GET /metrics``: Prometheus text exposition: requests by endpoint and status, lookups
  by view and outcome, request latency, requests in progress.

Bad requests answer 400 with ``{"error": ...}`` naming the field; a body or entity list
over the limits 413, a body not received in time 408, an unreachable store or a full
server 503. No answer names a file, a store address or a connection setting.

The work of a request (JSON parsing, the store read, the core) runs on a bounded thread
pool, never on the event loop, so ``/health`` and ``/metrics`` answer while a large
request runs; when every worker is busy and the queue is full a request is refused at once
(503) instead of waiting. :class:`Limits` holds every bound and timeout.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as _dt
import gc
import json
import logging
import math
import os
import re
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from featureplat import _core
from featureplat.errors import FeatureplatError, InputError
from featureplat.feast.serving import OUTCOMES, OnlineFeatures
from featureplat.feast.stores import StoreUnavailable

__all__ = ["Limits", "ServerMetrics", "create_app", "handle", "serve", "server_config"]

log = logging.getLogger("featureplat.http")

_MAX_MESSAGE = 400  # characters of an error message (they may quote what the client sent)
_SLICE = 1024  # rows per call of a C function that holds the GIL (numpy, the JSON encoder)
_ENDPOINTS = ("/features", "/health", "/metrics")


@dataclass(frozen=True)
class Limits:
    """The HTTP server's bounds and timeouts (seconds), all documented in the README.

    ``max_body_bytes``: a request body larger than this is refused (413) as it is read,
    chunked or not. ``max_entities``: entity rows per request (413 beyond). ``workers``:
    threads doing requests' work; ``queue``: requests admitted to wait for a worker, beyond
    which a request is refused at once (503). ``request_timeout``: from the end of the
    headers until the answer (a body not received by then: 408; an answer not ready:
    503). ``header_timeout``: from the connection's start, or the end of its previous
    answer, until the request's headers are complete (else the connection is closed);
    ``max_header_bytes`` bounds them too. ``idle_timeout``: how long a kept-alive
    connection may wait between requests. ``max_connections``: open connections (uvicorn
    answers 503 beyond).
    """

    max_body_bytes: int = 8 * 1024 * 1024
    max_entities: int = 10_000
    workers: int = 4
    queue: int = 32
    request_timeout: float = 10.0
    header_timeout: float = 10.0
    max_header_bytes: int = 64 * 1024
    idle_timeout: float = 5.0
    max_connections: int = 1024

    def __post_init__(self):
        for name in ("max_body_bytes", "max_entities", "workers", "max_header_bytes", "max_connections"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(f"Limits.{name} must be a positive int, got {value!r}")
        if not isinstance(self.queue, int) or isinstance(self.queue, bool) or self.queue < 0:
            raise InputError(f"Limits.queue must be an int >= 0, got {self.queue!r}")
        for name in ("request_timeout", "header_timeout", "idle_timeout"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value < math.inf:
                raise InputError(f"Limits.{name} must be a positive number of seconds, got {value!r}")


class _Refused(Exception):
    """A request answered with ``status`` and ``message`` before the serving object ran."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


# ---- the request body ------------------------------------------------------------------

class _Constant:
    """What the JSON parser makes of ``NaN`` / ``Infinity`` / ``-Infinity`` (not JSON
    numbers): kept as a marker, refused by the walk below with the field's name."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


def _field(path: str, key: str) -> str:
    return f"{path}.{key}" if key.isidentifier() else f"{path}[{json.dumps(key)}]"


def _check_text(s: str, what: str) -> None:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise _Refused(400, f"{what}: not valid Unicode text (a lone surrogate escape)") from None


def _check_row(row: Any, path: str) -> None:
    """An entity row or request data object: an object of scalar values."""
    if not isinstance(row, dict):
        raise _Refused(400, f"{path} must be an object, got {_json_type(row)}")
    for key, value in row.items():
        _check_text(key, f"{path}: a key")
        where = _field(path, key)
        if isinstance(value, str):
            _check_text(value, where)
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise _Refused(400, f"{where}: {value!r} is outside float64's range")
        elif isinstance(value, _Constant):
            raise _Refused(400, f"{where}: {value.text} is not a JSON number (JSON has no NaN or infinity)")
        elif value is not None and not isinstance(value, (bool, int)):
            raise _Refused(400, f"{where} must be a number, string, bool or null, got {_json_type(value)}")


def _check_rows(value: Any, name: str, limits: Limits, required: bool) -> None:
    if value is None and not required:
        return
    if isinstance(value, list):
        if len(value) > limits.max_entities:
            raise _Refused(413, f"{name}: {len(value)} rows, more than this server's limit of "
                                f"{limits.max_entities} per request (Limits.max_entities); split the request")
        for i, row in enumerate(value):
            _check_row(row, f"{name}[{i}]")
        return
    if isinstance(value, dict):
        _check_row(value, name)
        return
    raise _Refused(400, f"{name} must be an object or a list of objects, got {_json_type(value)}")


def _json_type(v: Any) -> str:
    if isinstance(v, dict):
        return "an object"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, _Constant):
        return v.text
    return {str: "a string", bool: "a bool", int: "a number", float: "a number"}.get(type(v), "null")


def _parse(body: bytes, limits: Limits) -> dict:
    if len(body) > limits.max_body_bytes:
        raise _Refused(413, f"request body over {limits.max_body_bytes} bytes (Limits.max_body_bytes)")
    try:
        doc = json.loads(body, parse_constant=_Constant)
    except RecursionError:
        raise _Refused(400, f"{_too_deep(body)}: JSON nested deeper than the parser allows (a request nests "
                            "three levels: the body, its entity list, an entity)") from None
    except (ValueError, UnicodeDecodeError) as e:  # JSONDecodeError, bad encoding, a 5000-digit number
        raise _Refused(400, f"request body is not JSON: {e}") from None
    if not isinstance(doc, dict):
        raise _Refused(400, "request body must be a JSON object")
    for key in doc:
        _check_text(key, "request body: a key")
    unknown = set(doc) - {"entities", "request_data", "at", "format", "report"}
    if unknown:
        raise _Refused(400, f"unknown request fields {sorted(unknown)} (known: entities, request_data, at, "
                            "format, report)")
    if "entities" not in doc:
        raise _Refused(400, "request needs 'entities' (an object or a list of objects)")
    _check_rows(doc["entities"], "entities", limits, required=True)
    _check_rows(doc.get("request_data"), "request_data", limits, required=False)
    fmt = doc.get("format", "vector")
    if fmt not in ("vector", "dict") or not isinstance(fmt, str):
        raise _Refused(400, f"format must be 'vector' or 'dict', got {_json_type(fmt)} {_short(fmt)}")
    if not isinstance(doc.get("report", False), bool):
        raise _Refused(400, f"report must be true or false, got {_json_type(doc['report'])}")
    at = doc.get("at")
    if isinstance(at, str):
        _check_text(at, "at")
    elif at is not None and (isinstance(at, bool) or not isinstance(at, int)):
        raise _Refused(400, f"'at' must be an ISO 8601 string or int microseconds, got {_json_type(at)}")
    return doc


_WS = re.compile(r"[ \t\n\r]*")


def _too_deep(body: bytes) -> str:
    """The top-level field whose value nests too deeply for the parser, read member by
    member with the parser's own scanner (only after the whole body failed so)."""
    try:
        s = body.decode(json.detect_encoding(body))
        scan = json.JSONDecoder(parse_constant=_Constant).scan_once
        i = _WS.match(s, s.startswith("\ufeff")).end()
        if s[i:i + 1] == "{":
            i += 1
            while True:
                i = _WS.match(s, i).end()
                if s[i:i + 1] != '"':
                    break
                key, i = json.decoder.scanstring(s, i + 1)
                i = _WS.match(s, i).end()
                if s[i:i + 1] != ":":
                    break
                try:
                    _, i = scan(s, _WS.match(s, i + 1).end())
                except RecursionError:
                    return key if key.isidentifier() else f"request body[{_short(key)}]"
                i = _WS.match(s, i).end()
                if s[i:i + 1] != ",":
                    break
                i += 1
    except (ValueError, StopIteration, UnicodeError):
        pass
    return "request body"


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 80 else text[:77] + "..."


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


# ---- the answer ------------------------------------------------------------------------

def _vectors(m: np.ndarray) -> list:
    """A vector or matrix as JSON lists, a slice of rows at a time (one numpy call holds
    the GIL for its whole length)."""
    if m.ndim == 1:
        return _finite(m).tolist()
    out: list = []
    for i in range(0, len(m), _SLICE):
        out.extend(_finite(m[i:i + _SLICE]).tolist())
    return out


def _finite(a: np.ndarray) -> np.ndarray:
    # JSON has no NaN or infinity: null stands for a missing (NaN) or non-finite value.
    bad = ~np.isfinite(a)
    if not bad.any():
        return a
    obj = a.astype(object)
    obj[bad] = None
    return obj


def _json_value(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, _dt.datetime):
        return v.isoformat()
    return v


_PRIVATE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _private_strings(serving: OnlineFeatures) -> list[str]:
    """Text no answer may carry: the repo's and the store's paths, the store's connection
    string and password (longest first, so a path is replaced before its prefix)."""
    got = _PRIVATE.get(serving)
    if got is None:
        found: set[str] = set()
        repo = getattr(serving.store, "repo_path", None)
        online = getattr(getattr(serving.store, "config", None), "online_store", None)
        paths = [repo, getattr(online, "path", None)]
        if repo is not None and getattr(online, "path", None):
            paths.append(os.path.join(str(repo), str(online.path)))
        for p in paths:
            if p:
                found |= {str(p), os.path.realpath(str(p)), os.path.abspath(str(p))}
        conn = getattr(online, "connection_string", None)
        if conn:  # "host:port,password=...,ssl=true": the whole, the addresses, the credentials
            found.add(str(conn))
            for part in str(conn).split(","):
                key, eq, value = part.partition("=")
                if not eq:
                    found.add(part.strip())
                elif any(word in key.strip().lower() for word in ("pass", "user", "token", "key", "secret")):
                    found.add(value.strip())
        got = sorted((s for s in found if len(s) > 1 and s not in ("/", ".")), key=len, reverse=True)
        _PRIVATE[serving] = got
    return got


def _message(serving: OnlineFeatures, text: str) -> str:
    for s in _private_strings(serving):
        text = text.replace(s, "<private>")
    return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE - 3] + "..."


def handle(serving: OnlineFeatures, body: bytes, limits: Limits | None = None,
           metrics: ServerMetrics | None = None) -> tuple[int, dict]:
    """One /features request body: (status, JSON document). Never raises: a bad request is
    4xx naming the field, an unavailable store 503, and a defect in featureplat itself a
    500 whose details go to the log, not to the client."""
    limits = limits or Limits()
    try:
        doc = _parse(body, limits)
        fmt = doc.get("format", "vector")
        at = _time(doc.get("at"), "'at'")
        times = [f for f, dtype in serving.request_dtypes.items() if dtype == "timestamp"]
        ents = _with_times(doc["entities"], times)  # request fields may come with the entity rows
        request_data = _with_times(doc.get("request_data"), times)
        found = serving.lookup(ents, request_data, at=at, to="numpy" if fmt == "vector" else "dict")
        if metrics is not None:
            metrics.count_lookups(found.counts())
        single = isinstance(ents, dict)
        if fmt == "vector":
            values = _vectors(found.features)
            out = {"plan_hash": serving.plan.plan_hash, "features": serving.feature_names, "values": values}
        else:
            rows = [found.features] if single else found.features
            rows = [{k: _json_value(v) for k, v in r.items()} for r in rows]
            out = {"plan_hash": serving.plan.plan_hash, "rows": rows[0] if single else rows}
        if doc.get("report", False):
            out["report"] = found.report()
        return 200, out
    except _Refused as e:
        return e.status, {"error": _message(serving, str(e))}
    except StoreUnavailable as e:
        log.warning("online store unavailable: %s", e)  # the operator's log may name the store
        return 503, {"error": _message(serving, e.public)}
    except FeatureplatError as e:
        return 400, {"error": _message(serving, str(e))}
    except Exception:  # a defect: logged with its traceback, the client learns nothing of the server
        log.exception("internal error answering /features")
        return 500, {"error": "internal error (logged by the server)"}


def _dumps(v: Any) -> str:
    return json.dumps(v, allow_nan=False, separators=(",", ":"), ensure_ascii=False)


def _encode(doc: dict) -> bytes:
    """The JSON text of an answer. A long list is encoded a slice at a time: the encoder
    holds the GIL for a whole call, and other threads (the event loop) must get a turn."""
    parts = []
    for key, value in doc.items():
        if isinstance(value, list) and len(value) > _SLICE:
            text = "[" + ",".join(_dumps(value[i:i + _SLICE])[1:-1] for i in range(0, len(value), _SLICE)) + "]"
        else:
            text = _dumps(value)
        parts.append(f"{_dumps(key)}:{text}")
    return ("{" + ",".join(parts) + "}").encode()


def _answer(serving: OnlineFeatures, body: bytes, limits: Limits, metrics: ServerMetrics) -> tuple[int, bytes]:
    """handle(), and the JSON text of its answer, in a worker thread."""
    status, doc = handle(serving, body, limits, metrics)
    try:
        return status, _encode(doc)
    except (TypeError, ValueError):  # a defect: every value handle() puts in an answer encodes
        log.exception("internal error encoding the answer to /features")
        return 500, _encode({"error": "internal error (logged by the server)"})


# ---- metrics ---------------------------------------------------------------------------

class ServerMetrics:
    """The server's Prometheus metrics: requests by endpoint and status, lookups by view
    and outcome, latency by endpoint, requests in progress.

    Kept here and handed to prometheus_client as a collector (its exposition format, one
    registry per app), not in prometheus_client's metric objects: importing Feast switches
    those to its multiprocess mode, where every app of a process would share the values."""

    BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

    def __init__(self, views: list[str]):
        from prometheus_client import CollectorRegistry

        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str], int] = {}
        self._lookups = {(v, outcome): 0 for v in views for outcome in OUTCOMES}  # every series from the start
        self._latency: dict[str, list] = {}  # endpoint -> [count per bucket..., count, sum]
        self._in_progress = 0
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)

    def count_lookups(self, counts: dict[tuple[str, str], int]) -> None:
        with self._lock:
            for key, n in counts.items():
                self._lookups[key] = self._lookups.get(key, 0) + n

    def started(self) -> None:
        with self._lock:
            self._in_progress += 1

    def answered(self, endpoint: str, status: int, seconds: float) -> None:
        with self._lock:
            self._in_progress -= 1
            key = (endpoint, str(status))
            self._requests[key] = self._requests.get(key, 0) + 1
            row = self._latency.setdefault(endpoint, [0] * (len(self.BUCKETS) + 2))
            for i, le in enumerate(self.BUCKETS):
                if seconds <= le:
                    row[i] += 1
            row[-2] += 1
            row[-1] += seconds

    def collect(self):
        """The prometheus_client collector protocol."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
        from prometheus_client.utils import floatToGoString

        with self._lock:
            requests, lookups = dict(self._requests), dict(self._lookups)
            latency, in_progress = {k: list(v) for k, v in self._latency.items()}, self._in_progress
        fam = CounterMetricFamily("featureplat_http_requests", "HTTP requests answered, by endpoint and status",
                                  labels=["endpoint", "status"])
        for (endpoint, status), n in sorted(requests.items()):
            fam.add_metric([endpoint, status], n)
        yield fam
        fam = CounterMetricFamily("featureplat_online_lookups",
                                  "Entity lookups per feature view by outcome: found, expired (older than the "
                                  "view's TTL), future (newer than the request time), missing",
                                  labels=["view", "outcome"])
        for (view, outcome), n in sorted(lookups.items()):
            fam.add_metric([view, outcome], n)
        yield fam
        fam = HistogramMetricFamily("featureplat_http_request_duration_seconds", "HTTP request latency, by endpoint",
                                    labels=["endpoint"])
        for endpoint, row in sorted(latency.items()):
            buckets = [(floatToGoString(le), n) for le, n in zip(self.BUCKETS, row)] + [("+Inf", row[-2])]
            fam.add_metric([endpoint], buckets, sum_value=row[-1])
        yield fam
        yield GaugeMetricFamily("featureplat_http_requests_in_progress", "HTTP requests being answered",
                                value=in_progress)

    def exposition(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)


class _Metered:
    """ASGI middleware: counts every HTTP answer by endpoint and status and times it."""

    def __init__(self, app, metrics: ServerMetrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        endpoint = scope.get("path") if scope.get("path") in _ENDPOINTS else "other"
        status = 500

        async def send_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        self.metrics.started()
        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.answered(endpoint, status, time.perf_counter() - started)


# ---- the worker pool -------------------------------------------------------------------

class _Pool:
    """A fixed number of worker threads and a bounded number of admitted requests."""

    def __init__(self, workers: int, queue: int):
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=workers,
                                                               thread_name_prefix="featureplat-http")
        self._slots = threading.BoundedSemaphore(workers + queue)

    def submit(self, fn, *args) -> concurrent.futures.Future | None:
        """The work's future, or None when workers and queue are full."""
        if not self._slots.acquire(blocking=False):
            return None
        try:
            fut = self._executor.submit(fn, *args)
        except BaseException:
            self._slots.release()
            raise
        # Released when the work ends, also after its caller stopped waiting (timeout) or
        # when it is cancelled before it started.
        fut.add_done_callback(lambda _: self._slots.release())
        return fut

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class _TooLarge(Exception):
    pass


async def _read_body(request, limit: int) -> bytes:
    """The body, refused as soon as it passes ``limit`` bytes (a chunked body has no
    Content-Length to check first)."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise _TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


# ---- the application -------------------------------------------------------------------

def create_app(serving: OnlineFeatures, limits: Limits | None = None):
    """A Starlette application serving ``serving`` within ``limits``. Its metrics are
    ``app.state.metrics`` (a :class:`ServerMetrics`)."""
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.middleware import Middleware
    from starlette.requests import ClientDisconnect, Request
    from starlette.responses import Response
    from starlette.routing import Route

    limits = limits or Limits()
    metrics = ServerMetrics(serving.view_names)
    pool = _Pool(limits.workers, limits.queue)
    health_doc = _encode({"status": "ok", "plan": serving.plan.name, "plan_hash": serving.plan.plan_hash,
                          "features": serving.feature_names, "entity_columns": serving.entity_columns,
                          "request_fields": serving.request_fields})

    def answer(status: int, doc: dict, close: bool = False, headers: dict | None = None) -> Response:
        headers = dict(headers or {})
        if close:  # the rest of the body is not read: the connection cannot carry another request
            headers["Connection"] = "close"
        return Response(_encode(doc), status_code=status, media_type="application/json", headers=headers)

    async def health(request: Request) -> Response:
        return Response(health_doc, media_type="application/json")

    async def metrics_endpoint(request: Request) -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST

        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    async def features(request: Request) -> Response:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limits.request_timeout
        try:
            body = await asyncio.wait_for(_read_body(request, limits.max_body_bytes), limits.request_timeout)
        except _TooLarge:
            return answer(413, {"error": f"request body over {limits.max_body_bytes} bytes (Limits.max_body_bytes)"},
                          close=True)
        except asyncio.TimeoutError:
            return answer(408, {"error": f"request body not received within {limits.request_timeout} s"}, close=True)
        except ClientDisconnect:  # the client left; nobody reads an answer, nothing to log
            return Response(status_code=499)
        fut = pool.submit(_answer, serving, body, limits, metrics)
        if fut is None:
            return answer(503, {"error": f"server busy: {limits.workers} requests running and {limits.queue} "
                                         "waiting; retry later"}, headers={"Retry-After": "1"})
        try:
            status, payload = await asyncio.wait_for(asyncio.wrap_future(fut), max(deadline - loop.time(), 0.001))
        except asyncio.TimeoutError:
            return answer(503, {"error": f"request not answered within {limits.request_timeout} s"})
        return Response(payload, status_code=status, media_type="application/json")

    async def http_error(request: Request, exc: HTTPException) -> Response:
        return answer(exc.status_code, {"error": str(exc.detail)}, headers=exc.headers)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        # What exists at startup (Feast, pyarrow, the plan) lives as long as the server: out of
        # the collector's reach, a full collection -- which pauses every thread, the event
        # loop too -- walks only what requests made, not the whole heap.
        gc.freeze()
        try:
            yield
        finally:
            pool.shutdown()

    app = Starlette(routes=[Route("/health", health, methods=["GET"]),
                            Route("/metrics", metrics_endpoint, methods=["GET"]),
                            Route("/features", features, methods=["POST"])],
                    middleware=[Middleware(_Metered, metrics=metrics)],
                    exception_handlers={HTTPException: http_error}, lifespan=lifespan)
    app.state.metrics = metrics
    return app


def _protocol(limits: Limits):
    """uvicorn's HTTP protocol (httptools when installed, as uvicorn's "auto" picks, else
    h11) with a header timeout and size bound, which uvicorn lacks: a connection whose
    request headers are not complete within ``header_timeout`` of its start (or of its
    previous answer), or pass ``max_header_bytes``, is closed."""
    try:
        import httptools  # noqa: F401 - what uvicorn's "auto" checks
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as base
    except ImportError:
        from uvicorn.protocols.http.h11_impl import H11Protocol as base

    timeout, max_bytes = limits.header_timeout, limits.max_header_bytes

    class HeaderBoundProtocol(base):
        _header_timer = None
        _header_bytes = 0

        def _waiting_for_headers(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def _arm(self) -> None:
            self._disarm()
            self._header_bytes = 0
            self._header_timer = self.loop.call_later(timeout, self._headers_late)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_late(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            waiting = self._waiting_for_headers()
            super().data_received(data)
            if self.transport.is_closing():
                return
            if not self._waiting_for_headers():
                self._disarm()
            elif waiting:
                self._header_bytes += len(data)
                if self._header_bytes > max_bytes:
                    self._disarm()
                    msg = _encode({"error": f"request headers over {max_bytes} bytes (Limits.max_header_bytes)"})
                    self.transport.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                                         b"content-type: application/json\r\nconnection: close\r\n"
                                         b"content-length: %d\r\n\r\n%s" % (len(msg), msg))
                    self.transport.close()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and self._waiting_for_headers():
                self._arm()

    return HeaderBoundProtocol


def server_config(serving: OnlineFeatures, host: str = "127.0.0.1", port: int = 6570, *,
                  limits: Limits | None = None, log_level: str = "warning"):
    """The uvicorn configuration :func:`serve` runs: the app, the header and idle
    timeouts, the connection bound."""
    import uvicorn

    limits = limits or Limits()
    return uvicorn.Config(create_app(serving, limits), host=host, port=port, log_level=log_level,
                          http=_protocol(limits), timeout_keep_alive=limits.idle_timeout,
                          limit_concurrency=limits.max_connections)


def serve(serving: OnlineFeatures, host: str = "127.0.0.1", port: int = 6570, log_level: str = "warning",
          limits: Limits | None = None) -> None:
    """Runs the HTTP server until interrupted."""
    import uvicorn

    uvicorn.Server(server_config(serving, host, port, limits=limits, log_level=log_level)).run()
