"""featureplat serve: the serving object over HTTP (JSON in, JSON out)."""
from __future__ import annotations

import datetime as dt
import http.client
import json
import logging
import math
import os
import shutil
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
import time

import pytest

import featureplat as fp
from featureplat.feast.http import Limits
from featureplat.feast.serving import OnlineFeatures
from tests.feast.conftest import build_served_repo, data_end
from tests.feast.http_server import call, free_port, running_server


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    store, plan = build_served_repo(tmp_path_factory.mktemp("http") / "repo", "sqlite")
    return store, plan


@pytest.fixture(scope="module")
def server(served):
    store, plan = served
    sv = OnlineFeatures(store, plan)
    with running_server(sv) as (port, _):
        yield port, sv


def _call(port: int, method: str, path: str, body=None):
    status, doc, _ = call(port, method, path, body)
    return status, doc


def test_health(server):
    port, sv = server
    status, doc = _call(port, "GET", "/health")
    assert status == 200
    assert doc["status"] == "ok" and doc["plan_hash"] == sv.plan.plan_hash
    assert doc["features"] == sv.feature_names
    assert doc["entity_columns"] == ["customer_id", "region"]
    assert doc["request_fields"] == ["offer_discount_pct", "channel", "event_timestamp"]


def test_vectors_equal_the_in_process_object(server):
    port, sv = server
    at = data_end() + dt.timedelta(hours=6)
    ents = [{"customer_id": c, "region": r} for c, r in [(1001, "PT-LIS"), (1002, "ES-MAD"), (999_999, "XX")]]
    req = {"offer_discount_pct": 5.0, "channel": "app"}
    status, doc = _call(port, "POST", "/features", {"entities": ents, "request_data": req, "at": at.isoformat()})
    assert status == 200, doc
    expected = sv.get(ents, req, at=at)
    assert doc["features"] == sv.feature_names and doc["plan_hash"] == sv.plan.plan_hash
    for got, want in zip(doc["values"], expected):
        assert [math.nan if v is None else v for v in got] == pytest.approx(list(want), nan_ok=True, rel=0, abs=0)
    # JSON carries float64 exactly (shortest round-trip repr): bit-for-bit after parsing.
    for got, want in zip(doc["values"], expected):
        assert all((g is None and math.isnan(w)) or g == w for g, w in zip(got, want))
    status, one = _call(port, "POST", "/features", {"entities": ents[0], "request_data": req,
                                                    "at": int(at.timestamp() * 1_000_000)})
    assert status == 200 and one["values"] == doc["values"][0]


def test_timestamp_request_fields_take_iso_strings_with_an_offset(server):
    """A timestamp request field is parsed like ``at`` (one function, the core's datetime
    conversion): an ISO string with any offset is the instant an int or datetime gives."""
    port, sv = server
    at = data_end() + dt.timedelta(hours=6)
    when = dt.datetime(2026, 3, 1, 19, 15, 30, 250_000, tzinfo=dt.timezone(dt.timedelta(hours=2)))  # 17:15 UTC
    ent = {"customer_id": 1001, "region": "PT-LIS"}
    req = {"offer_discount_pct": 5.0, "channel": "app"}
    want = sv.get(ent, {**req, "event_timestamp": when}, at=at).tolist()
    # Read without its offset it would be 19:15 UTC, an evening ('evening' is hour >= 18).
    assert want != sv.get(ent, {**req, "event_timestamp": when.replace(tzinfo=dt.timezone.utc)}, at=at).tolist()
    micros = (when - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) // dt.timedelta(microseconds=1)
    for value in (when.isoformat(), when.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z"), micros):
        for body in ({"entities": ent, "request_data": {**req, "event_timestamp": value}, "at": at.isoformat()},
                     {"entities": [{**ent, **req, "event_timestamp": value}], "at": at.isoformat()}):
            status, doc = _call(port, "POST", "/features", body)
            assert status == 200, doc
            got = doc["values"] if isinstance(body["entities"], dict) else doc["values"][0]
            assert [math.nan if v is None else v for v in got] == pytest.approx(want, nan_ok=True, rel=0, abs=0)


def test_dict_format(server):
    port, sv = server
    at = data_end() + dt.timedelta(hours=6)
    ent = {"customer_id": 1001, "region": "PT-LIS", "offer_discount_pct": 0.0, "channel": "web"}
    status, doc = _call(port, "POST", "/features", {"entities": ent, "at": at.isoformat(), "format": "dict"})
    assert status == 200
    want = sv.get(ent, at=at, to="dict")
    assert doc["rows"] == {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in want.items()}


@pytest.mark.parametrize("body, message", [
    (b"{not json", "request body is not JSON"),
    (b"[1, 2]", "request body must be a JSON object"),
    ({"entity": {}}, "unknown request fields ['entity']"),
    ({"request_data": {}}, "request needs 'entities'"),
    ({"entities": {"customer_id": "x", "region": "PT-LIS"}}, "join key 'customer_id' must be an integer"),
    ({"entities": {"customer_id": 1, "region": "PT-LIS"}}, "missing request field 'offer_discount_pct'"),
    ({"entities": {"customer_id": 1, "region": "P"}, "at": "yesterday"}, "'at' must be an ISO 8601 time"),
    ({"entities": {"customer_id": 1, "region": "P"}, "at": "2026-01-01T00:00:00"},
     "'at': naive datetime (a timestamp without a time zone) is ambiguous; give it a time zone (e.g. UTC)"),
    ({"entities": {"customer_id": 1, "region": "P", "offer_discount_pct": 1.0, "channel": "web"},
      "request_data": {"event_timestamp": "2026-01-01T00:00:00"}},
     "request field 'event_timestamp': naive datetime (a timestamp without a time zone) is ambiguous"),
    ({"entities": {"customer_id": 1, "region": "P", "offer_discount_pct": 1.0, "channel": "web",
                   "event_timestamp": "2026-01-01 00:00"}}, "request field 'event_timestamp': naive datetime"),
    ({"entities": {"customer_id": 1, "region": "P", "offer_discount_pct": 1.0, "channel": "web"},
      "request_data": {"event_timestamp": "soon"}}, "request field 'event_timestamp' must be an ISO 8601 time"),
    ({"entities": {"customer_id": 1, "region": "P"}, "format": "csv"}, "format must be 'vector' or 'dict'"),
])
def test_bad_requests_are_400_with_the_reason(server, body, message):
    port, _ = server
    status, doc = _call(port, "POST", "/features", body)
    assert status == 400
    assert message in doc["error"]


_ENT = b'"entities": {"customer_id": 1001, "region": "PT-LIS"}'
# The audit's bodies that answered 500 (issue 11), each now a 400 naming the field.
HOSTILE = [
    (b'{' + _ENT + b', "request_data": {"offer_discount_pct": Infinity, "channel": "app"}}',
     "request_data.offer_discount_pct: Infinity is not a JSON number"),
    (b'{' + _ENT + b', "request_data": {"offer_discount_pct": -Infinity, "channel": "app"}}',
     "request_data.offer_discount_pct: -Infinity is not a JSON number"),
    (b'{' + _ENT + b', "request_data": {"offer_discount_pct": NaN, "channel": "app"}}',
     "request_data.offer_discount_pct: NaN is not a JSON number"),
    (b'{' + _ENT + b', "request_data": {"offer_discount_pct": 1e999, "channel": "app"}}',
     "request_data.offer_discount_pct: inf is outside float64's range"),
    (b'{"entities": {"customer_id": 9223372036854775808, "region": "PT-LIS"}}',
     "join key 'customer_id' (INT64) must be between -9223372036854775808 and 9223372036854775807"),
    (b'{"entities": [{"customer_id": 1, "region": "P"}, {"customer_id": -9223372036854775809, "region": "P"}]}',
     "entity row 1: join key 'customer_id' (INT64) must be between"),
    (b'{"entities": [{"customer_id": 1001, "region": "PT-LIS"}], "request_data": [1]}',
     "request_data[0] must be an object, got a number"),
    (b'{"entities": [{"customer_id": 1001, "region": "PT-LIS"}], "request_data": ["x"]}',
     "request_data[0] must be an object, got a string"),
    (b'{"entities": [1, 2]}', "entities[0] must be an object, got a number"),
    (b'{"entities": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", "entities: JSON nested deeper than the parser allows"),
    (b'{"entities": [{"customer_id": 1001, "region": ' + b"[" * 300 + b"]" * 300 + b"}]}",
     "entities[0].region must be a number, string, bool or null, got a list"),
    (b'{"entities": {"customer_id": 1001, "region": "\\ud800"}}', "entities.region: not valid Unicode text"),
    (b'{' + _ENT + b', "at": 1180591620717411303424}', "request time 'at' must be int64 microseconds"),
    (b'{' + _ENT + b', "at": true}', "'at' must be an ISO 8601 string or int microseconds, got a bool"),
    (b'{' + _ENT + b', "report": "yes"}', "report must be true or false, got a string"),
    (b'{' + _ENT + b', "format": ["vector"]}', "format must be 'vector' or 'dict', got a list"),
]


@pytest.mark.parametrize("body, message", HOSTILE)
def test_hostile_bodies_are_400_naming_the_field(server, served, body, message):
    port, _ = server
    status, doc = _call(port, "POST", "/features", body)
    assert status == 400, doc
    assert message in doc["error"]
    assert str(served[0].repo_path) not in json.dumps(doc)


def test_unreachable_store_is_503(served, tmp_path):
    from featureplat.examples.churn import generate
    from featureplat.feast.http import handle
    from featureplat.feast.repo import apply
    from tests.feast.conftest import copy_repo, use_redis

    _, plan = served
    repo = copy_repo(tmp_path / "repo")
    use_redis(repo, port=free_port())
    generate(repo / "data", customers=20, days=21)
    sv = OnlineFeatures(apply(repo).store, plan, timeout=0.5)
    status, doc = handle(sv, json.dumps({"entities": {"customer_id": 1, "region": "P", "offer_discount_pct": 1.0,
                                                      "channel": "web"}}).encode())
    assert status == 503 and "unreachable" in doc["error"]


def test_featureplat_serve_command(served, tmp_path):
    store, plan = served
    path = plan.save(tmp_path / "p.fpplan")
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "featureplat.cli", "serve", "--repo", str(store.repo_path),
                                 "--plan", str(path), "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, env={**os.environ})
    try:
        deadline = time.time() + 60
        while True:
            try:
                status, doc = _call(port, "GET", "/health")
                break
            except (ConnectionRefusedError, OSError):
                if time.time() > deadline or proc.poll() is not None:
                    raise AssertionError(log.read_text() if proc.poll() is not None else "timeout")
                time.sleep(0.2)
        assert status == 200 and doc["plan_hash"] == plan.plan_hash
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ---- the event loop, the worker pool, limits and timeouts ----------------------------------

def _big_request(n: int) -> bytes:
    return json.dumps({"entities": [{"customer_id": 1000 + i % 500, "region": "PT-LIS"} for i in range(n)],
                       "request_data": {"offer_discount_pct": 5.0, "channel": "app"},
                       "at": (data_end() + dt.timedelta(hours=6)).isoformat()}).encode()


def test_a_large_request_does_not_block_health(served):
    """The audit's 5.8 MB request held /health for 3.5 s: the work ran on the event loop."""
    store, plan = served
    sv = OnlineFeatures(store, plan)
    body = _big_request(100_000)
    assert len(body) > 4_000_000
    with running_server(sv, Limits(max_entities=100_000, request_timeout=120)) as (port, _):
        result = {}

        def big():  # the answer is parsed afterwards: parsing it here would hold this process's GIL
            t = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            conn.request("POST", "/features", body=body)
            resp = conn.getresponse()
            result["status"], result["answer"] = resp.status, resp.read()
            conn.close()
            result["seconds"] = time.perf_counter() - t

        thread = threading.Thread(target=big)
        thread.start()
        waits = []
        while thread.is_alive():
            t = time.perf_counter()
            status, _ = _call(port, "GET", "/health")
            waits.append(time.perf_counter() - t)
            assert status == 200
            time.sleep(0.02)
        thread.join()
    assert result["status"] == 200 and len(json.loads(result.pop("answer"))["values"]) == 100_000
    assert result["seconds"] > 0.5 and len(waits) >= 5, result  # /health was asked while the work ran
    # Before, /health waited for the whole request; now for a garbage collection at most.
    assert max(waits) < min(1.0, result["seconds"] / 4), (max(waits), result)


def _blocked(sv: OnlineFeatures, monkeypatch) -> threading.Event:
    """Makes ``sv.lookup`` wait (in its worker thread) until the returned event is set."""
    release = threading.Event()
    real = sv.lookup

    def slow(*args, **kwargs):
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(sv, "lookup", slow)
    return release


_ONE = {"entities": {"customer_id": 1001, "region": "PT-LIS"}, "request_data": {"offer_discount_pct": 5.0,
                                                                                "channel": "app"}}


def test_overload_is_refused_at_once_with_503(served, monkeypatch):
    store, plan = served
    sv = OnlineFeatures(store, plan)
    release = _blocked(sv, monkeypatch)
    with running_server(sv, Limits(workers=1, queue=1)) as (port, _):
        answers = []
        threads = [threading.Thread(target=lambda: answers.append(call(port, "POST", "/features", _ONE)[0]))
                   for _ in range(2)]
        for th in threads:  # one runs, one waits in the queue
            th.start()
        deadline = time.time() + 20
        while _metrics(port)[("featureplat_http_requests_in_progress", ())] < 3:  # the two and this scrape
            assert time.time() < deadline, "the two requests did not arrive"
            time.sleep(0.05)
        time.sleep(0.2)
        t = time.perf_counter()
        status, doc, headers = call(port, "POST", "/features", _ONE)
        assert time.perf_counter() - t < 0.5
        assert status == 503 and "server busy" in doc["error"] and headers["retry-after"] == "1"
        assert _call(port, "GET", "/health")[0] == 200  # health needs no worker
        release.set()
        for th in threads:
            th.join()
        assert answers == [200, 200]
        assert _call(port, "POST", "/features", _ONE)[0] == 200  # the slots came back


def test_work_not_done_within_the_request_timeout_is_503(served, monkeypatch):
    store, plan = served
    sv = OnlineFeatures(store, plan)
    release = _blocked(sv, monkeypatch)
    try:
        with running_server(sv, Limits(request_timeout=0.5)) as (port, _):
            t = time.perf_counter()
            status, doc, _ = call(port, "POST", "/features", _ONE)
            assert status == 503 and "not answered within 0.5 s" in doc["error"]
            assert time.perf_counter() - t < 2.0
    finally:
        release.set()


def _raw(port: int, data: bytes, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.sendall(data)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    out = b""
    try:
        while chunk := sock.recv(65536):
            out += chunk
    except ConnectionResetError:
        pass
    return out


def _chunked(payload: bytes, size: int) -> bytes:
    parts = [b"%x\r\n%s\r\n" % (len(payload[i:i + size]), payload[i:i + size]) for i in range(0, len(payload), size)]
    return b"".join(parts) + b"0\r\n\r\n"


POST_CHUNKED = b"POST /features HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"


def test_chunked_bodies_are_held_to_the_size_limit(served):
    """A chunked body has no Content-Length: the audit's 600 MB one was read whole."""
    store, plan = served
    sv = OnlineFeatures(store, plan)
    with running_server(sv, Limits(max_body_bytes=16 * 1024)) as (port, _):
        # Just over the limit, all sent at once: refused with 413 (and the connection closed).
        body = _chunked(b'{"entities": [' + b'{"customer_id": 1, "region": "P"},' * 600 + b"{}]}", 1000)
        sock = _raw(port, POST_CHUNKED + body)
        answer = _read_all(sock)
        sock.close()
        assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
        assert b"request body over 16384 bytes" in answer
        # 256 MB offered as a stream: the server stops reading near the limit.
        sock = _raw(port, POST_CHUNKED)
        sent, chunk = 0, b"%x\r\n%s\r\n" % (65536, b" " * 65536)
        try:
            while sent < 256 * 1024 * 1024:
                sock.sendall(chunk)
                sent += len(chunk)
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            pass
        sock.close()
        assert sent < 32 * 1024 * 1024, f"{sent} bytes were taken"
        assert _call(port, "GET", "/health")[0] == 200


def test_a_declared_length_over_the_limit_is_refused_before_the_body(served):
    store, plan = served
    sv = OnlineFeatures(store, plan)
    with running_server(sv, Limits(max_body_bytes=1024)) as (port, _):
        sock = _raw(port, b"POST /features HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n")
        answer = _read_all(sock)
        sock.close()
        assert answer.startswith(b"HTTP/1.1 413 ") and b"connection: close" in answer.lower()


def test_a_body_not_received_in_time_is_408(served):
    store, plan = served
    sv = OnlineFeatures(store, plan)
    with running_server(sv, Limits(request_timeout=0.5)) as (port, _):
        t = time.perf_counter()
        sock = _raw(port, b"POST /features HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"entit")
        answer = _read_all(sock)
        sock.close()
        assert answer.startswith(b"HTTP/1.1 408 ") and b"not received within 0.5 s" in answer
        assert time.perf_counter() - t < 3.0


def test_headers_not_complete_in_time_or_too_large_close_the_connection(served):
    store, plan = served
    sv = OnlineFeatures(store, plan)
    with running_server(sv, Limits(header_timeout=0.5, max_header_bytes=8192)) as (port, _):
        for opening in (b"", b"POST /features HTTP/1.1\r\nHost: x\r\n"):  # silent, then slow headers
            t = time.perf_counter()
            sock = _raw(port, opening)
            assert _read_all(sock) == b""  # closed by the server
            sock.close()
            assert time.perf_counter() - t < 3.0
        sock = _raw(port, b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * 20_000 + b"\r\n")
        answer = _read_all(sock)
        sock.close()
        assert answer.startswith(b"HTTP/1.1 431 ") and b"request headers over 8192 bytes" in answer, answer[:100]
        assert _call(port, "GET", "/health")[0] == 200


def test_idle_keep_alive_connections_are_closed(served):
    store, plan = served
    sv = OnlineFeatures(store, plan)
    with running_server(sv, Limits(idle_timeout=0.5)) as (port, _):
        sock = _raw(port, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200 ")
        t = time.perf_counter()
        assert _read_all(sock) == b""  # nothing more, then closed
        sock.close()
        assert 0.3 < time.perf_counter() - t < 3.0


def test_a_dropped_connection_logs_no_traceback(served, monkeypatch):
    store, plan = served
    sv = OnlineFeatures(store, plan)
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    with running_server(sv) as (port, _):
        keep = Keep(level=logging.DEBUG)
        loggers = [logging.getLogger(n) for n in ("uvicorn.error", "uvicorn", "featureplat.http", "")]
        for lg in loggers:
            lg.addHandler(keep)
        try:
            # Gone halfway through the body, and gone while the answer is being computed.
            sock = _raw(port, b"POST /features HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"entities\"")
            time.sleep(0.2)
            sock.close()
            release = _blocked(sv, monkeypatch)
            sock = _raw(port, b"POST /features HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
                        % (len(json.dumps(_ONE)), json.dumps(_ONE).encode()))
            time.sleep(0.2)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # a reset
            sock.close()
            release.set()
            time.sleep(0.5)
            assert _call(port, "GET", "/health")[0] == 200
        finally:
            for lg in loggers:
                lg.removeHandler(keep)
    bad = [r for r in records if r.exc_info or r.levelno >= logging.ERROR]
    assert not bad, [r.getMessage() for r in bad]


def test_limits_are_checked():
    with pytest.raises(fp.InputError, match="Limits.workers must be a positive int"):
        Limits(workers=0)
    with pytest.raises(fp.InputError, match="Limits.request_timeout must be a positive number"):
        Limits(request_timeout=math.inf)


def test_entity_rows_over_the_limit_are_413(server):
    port, _ = server
    status, doc = _call(port, "POST", "/features", {"entities": [{"customer_id": 1, "region": "P"}] * 10_001})
    assert status == 413
    assert doc["error"] == ("entities: 10001 rows, more than this server's limit of 10000 per request "
                            "(Limits.max_entities); split the request")


# ---- lookup outcomes and metrics ------------------------------------------------------------

def test_report_gives_each_views_outcome(server):
    port, sv = server
    at = data_end() + dt.timedelta(hours=6)
    ents = [{"customer_id": 1001, "region": "PT-LIS"}, {"customer_id": 999_999, "region": "XX"}]
    body = {"entities": ents, "request_data": {"offer_discount_pct": 5.0, "channel": "app"}, "at": at.isoformat(),
            "report": True}
    status, doc = _call(port, "POST", "/features", body)
    assert status == 200
    assert doc["report"][1] == {v: "missing" for v in sv.view_names}
    assert doc["report"][0] == sv.get(ents, body["request_data"], at=at, report=True)[1][0]
    assert set(doc["report"][0].values()) == {"found"}
    status, one = _call(port, "POST", "/features", {**body, "entities": ents[0], "format": "dict"})
    assert status == 200 and one["report"] == doc["report"][0]
    status, none = _call(port, "POST", "/features", {**body, "report": False})
    assert status == 200 and "report" not in none


def _metrics(port: int) -> dict[tuple[str, tuple], float]:
    from prometheus_client.parser import text_string_to_metric_families

    status, text, headers = call(port, "GET", "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def test_metrics_count_requests_lookups_and_latency(server):
    port, sv = server
    before = _metrics(port)
    at = data_end() + dt.timedelta(hours=6)
    ents = [{"customer_id": 1001, "region": "PT-LIS"}, {"customer_id": 999_999, "region": "XX"}]
    body = {"entities": ents, "request_data": {"offer_discount_pct": 5.0, "channel": "app"}, "at": at.isoformat()}
    assert _call(port, "POST", "/features", body)[0] == 200  # no report asked: the metrics count all the same
    assert _call(port, "POST", "/features", {"entities": 1})[0] == 400
    assert _call(port, "GET", "/nowhere")[0] == 404
    after = _metrics(port)

    def delta(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert delta("featureplat_http_requests_total", endpoint="/features", status="200") == 1
    assert delta("featureplat_http_requests_total", endpoint="/features", status="400") == 1
    assert delta("featureplat_http_requests_total", endpoint="other", status="404") == 1
    for v in sv.view_names:
        assert delta("featureplat_online_lookups_total", view=v, outcome="found") == 1
        assert delta("featureplat_online_lookups_total", view=v, outcome="missing") == 1
        assert ("featureplat_online_lookups_total", (("outcome", "expired"), ("view", v))) in after
    assert delta("featureplat_http_request_duration_seconds_count", endpoint="/features") == 2


def test_an_emptied_store_is_reported_not_silently_imputed(served, tmp_path):
    """The audit emptied the online store: 200 with imputed features and no signal."""
    store, plan = served
    repo = tmp_path / "repo"
    shutil.copytree(store.repo_path, repo)
    db = sqlite3.connect(repo / "data" / "online_store.db")
    for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        db.execute(f'DELETE FROM "{table}"')
    db.commit()
    db.close()
    sv = OnlineFeatures(repo, plan)
    at = data_end() + dt.timedelta(hours=6)
    with running_server(sv) as (port, _):
        status, doc = _call(port, "POST", "/features", {**_ONE, "at": at.isoformat(), "report": True})
        assert status == 200 and doc["report"] == {v: "missing" for v in sv.view_names}
        counts = _metrics(port)
    for v in sv.view_names:
        assert counts[("featureplat_online_lookups_total", (("outcome", "missing"), ("view", v)))] == 1
        assert counts[("featureplat_online_lookups_total", (("outcome", "found"), ("view", v)))] == 0


# ---- no answer names a file --------------------------------------------------------------------

def test_no_answer_names_a_file(served, tmp_path):
    """Every kind of error the server gives, provoked: none names the repo, the store or any
    absolute path (the audit's 100k-entity 503 carried the store's absolute path)."""
    store, plan = served
    repo = tmp_path / "repo"
    shutil.copytree(store.repo_path, repo)
    sv = OnlineFeatures(repo, plan)  # the store file exists now; it is corrupted below
    (repo / "data" / "online_store.db").write_bytes(b"this is not a database" * 1000)
    private = [str(repo), os.path.realpath(repo), str(store.repo_path), str(tmp_path)]
    answers = []
    with running_server(sv, Limits(max_body_bytes=64 * 1024, max_entities=100, request_timeout=0.5)) as (port, _):
        answers.append(call(port, "POST", "/features", _ONE))  # 503: the store cannot be read
        assert answers[-1][0] == 503 and answers[-1][1]["error"].startswith("reading the SQLite online store failed")
        for body, _ in HOSTILE[:-7]:  # 400s (the deep ones are over this server's body limit: 413)
            answers.append(call(port, "POST", "/features", body))
        answers.append(call(port, "POST", "/features", {"entities": [{"customer_id": 1}] * 101}))  # 413 rows
        answers.append(call(port, "POST", "/features", b" " * 70_000))  # 413 body
        answers.append(call(port, "GET", "/features"))  # 405
        answers.append(call(port, "GET", f"/{repo}"))  # 404
        sock = _raw(port, b"POST /features HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{")
        raw = _read_all(sock)  # 408
        sock.close()
    statuses = sorted({a[0] for a in answers})
    assert statuses == [400, 404, 405, 413, 503] and raw.startswith(b"HTTP/1.1 408 ")
    for text in [json.dumps(a[1]) for a in answers] + [raw.decode()]:
        assert not [p for p in private if p in text], text
        assert "online_store.db" not in text and "/tmp" not in text, text
