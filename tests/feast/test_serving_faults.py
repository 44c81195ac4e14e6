"""The HTTP server over a Redis online store of its own that stalls, dies and comes back:
requests fail within the timeout with a 503 that names no password, address or path, and
succeed again once the store answers (issue 11)."""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from featureplat.examples.churn import START
from featureplat.feast.http import Limits
from featureplat.feast.serving import OnlineFeatures
from tests.feast.conftest import copy_repo, use_redis
from tests.feast.http_server import call, free_port, running_server

PASSWORD = "s3cret-fault-test-pw"
STORE_TIMEOUT = 0.5
DAYS = 21
BODY = {"entities": {"customer_id": 1001, "region": "PT-LIS"},
        "request_data": {"offer_discount_pct": 5.0, "channel": "app"}, "report": True}


class PrivateRedis:
    """A redis-server on its own port, with a password, persisted to its own folder so that a
    restart on the same port finds the materialized values again."""

    def __init__(self, folder: Path, port: int):
        self.folder, self.port, self.proc = folder, port, None

    def start(self) -> None:
        import redis

        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
             "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no", "--requirepass", PASSWORD],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(host="127.0.0.1", port=self.port, password=PASSWORD, socket_timeout=1)
        deadline = time.time() + 20
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.RedisError:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise AssertionError(f"redis-server on port {self.port} did not start")
                time.sleep(0.05)
        client.close()

    def save(self) -> None:
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, password=PASSWORD)
        client.save()
        client.close()

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def redis_server(tmp_path):
    if shutil.which("redis-server") is None:
        if os.environ.get("FEATUREPLAT_REQUIRE_SERVICES") == "1":
            pytest.fail("redis-server is required (FEATUREPLAT_REQUIRE_SERVICES=1) and is not installed")
        pytest.skip("redis-server is not installed")
    (tmp_path / "redis").mkdir()
    server = PrivateRedis(tmp_path / "redis", free_port())
    server.start()
    yield server
    server.kill()


def _served_from(redis_server: PrivateRedis, dest: Path):
    from featureplat.examples.churn import generate
    from featureplat.feast.repo import apply
    from featureplat.feast.training import training_set

    repo = copy_repo(dest)
    use_redis(repo, port=redis_server.port)
    yaml = repo / "feature_store.yaml"
    yaml.write_text(yaml.read_text().replace(f"127.0.0.1:{redis_server.port}",
                                             f"127.0.0.1:{redis_server.port},password={PASSWORD}"))
    generate(repo / "data", customers=40, days=DAYS)
    store = apply(repo).store
    store.materialize(dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc), START + dt.timedelta(days=DAYS + 1))
    plan = training_set(store, "churn_features", repo / "data" / "churn_labels.parquet").plan
    return store, plan


def _timed(port: int, body: dict):
    t = time.perf_counter()
    status, doc, _ = call(port, "POST", "/features", body, timeout=30)
    return status, doc, time.perf_counter() - t


def test_a_stalled_dead_and_restarted_redis(redis_server, tmp_path):
    store, plan = _served_from(redis_server, tmp_path / "repo")
    redis_server.save()  # the restart below reloads this
    sv = OnlineFeatures(store, plan, timeout=STORE_TIMEOUT)
    at = (START + dt.timedelta(days=DAYS, hours=6)).isoformat()  # every view's value is visible
    body = {**BODY, "at": at}
    private = [PASSWORD, str(redis_server.port), str(tmp_path), str(store.repo_path)]
    failures = []
    with running_server(sv, Limits(request_timeout=5.0)) as (port, _):
        status, good, _ = _timed(port, body)
        assert status == 200 and list(good["report"].values()).count("found") >= 2, good

        # A store that accepts and never answers (stopped): each request ends at the timeout.
        redis_server.signal(signal.SIGSTOP)
        for _ in range(3):
            status, doc, seconds = _timed(port, body)
            failures.append(doc)
            assert status == 503, doc
            assert doc["error"].startswith("the Redis online store is unreachable")
            assert seconds < STORE_TIMEOUT * 2 + 1.5, seconds  # a connection, then a command
        assert call(port, "GET", "/health")[0] == 200  # the server itself stays up
        redis_server.signal(signal.SIGCONT)
        status, doc, _ = _timed(port, body)
        assert status == 200 and doc["values"] == good["values"]

        # A dead store: refused at once.
        redis_server.kill()
        for _ in range(3):
            status, doc, seconds = _timed(port, body)
            failures.append(doc)
            assert status == 503 and doc["error"] == "the Redis online store is unreachable (connection failed)"
            assert seconds < STORE_TIMEOUT + 1.5, seconds

        # Restarted on the same port: the next request is answered, as before.
        redis_server.start()
        status, doc, _ = _timed(port, body)
        assert status == 200 and doc["values"] == good["values"] and doc["report"] == good["report"]

        status, metrics, _ = call(port, "GET", "/metrics")
    assert 'featureplat_http_requests_total{endpoint="/features",status="503"} 6.0' in metrics
    for doc in failures:
        text = json.dumps(doc)
        assert not [p for p in private if p in text], text
        assert "127.0.0.1" not in text and "localhost" not in text, text
