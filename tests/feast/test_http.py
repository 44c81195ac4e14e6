"""featureplat serve: the serving object over HTTP (JSON in, JSON out)."""
from __future__ import annotations

import datetime as dt
import http.client
import json
import math
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from featureplat.feast.serving import OnlineFeatures
from tests.feast.conftest import build_served_repo, data_end

AT = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    store, plan = build_served_repo(tmp_path_factory.mktemp("http") / "repo", "sqlite")
    return store, plan


@pytest.fixture(scope="module")
def server(served):
    import uvicorn

    from featureplat.feast.http import create_app

    store, plan = served
    sv = OnlineFeatures(store, plan)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(sv), host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.02)
    yield port, sv
    srv.should_exit = True
    thread.join(timeout=10)


def _call(port: int, method: str, path: str, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    doc = json.loads(resp.read())
    conn.close()
    return resp.status, doc


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


def test_unreachable_store_is_503(served, tmp_path):
    from featureplat.feast.http import handle
    from tests.feast.conftest import copy_repo, use_redis
    from featureplat.examples.churn import generate
    from featureplat.feast.repo import apply

    _, plan = served
    repo = copy_repo(tmp_path / "repo")
    use_redis(repo, port=_free_port())
    generate(repo / "data", customers=20, days=21)
    sv = OnlineFeatures(apply(repo).store, plan, timeout=0.5)
    status, doc = handle(sv, json.dumps({"entities": {"customer_id": 1, "region": "P", "offer_discount_pct": 1.0,
                                                      "channel": "web"}}).encode())
    assert status == 503 and "unreachable" in doc["error"]


def test_featureplat_serve_command(served, tmp_path):
    store, plan = served
    path = plan.save(tmp_path / "p.fpplan")
    port = _free_port()
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
