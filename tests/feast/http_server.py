"""The HTTP server of featureplat.feast.http run in a thread of the test process, as
`featureplat serve` runs it (the same uvicorn configuration), and raw HTTP calls to it."""
from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(serving, limits=None):
    """Yields (port, app) while the server runs."""
    import uvicorn

    from featureplat.feast.http import server_config

    port = free_port()
    config = server_config(serving, "127.0.0.1", port, limits=limits, log_level="error")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(500):
        if srv.started:
            break
        time.sleep(0.02)
    assert srv.started, "the server did not start"
    try:
        yield port, config.app
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


def call(port: int, method: str, path: str, body=None, timeout: float = 30, headers: dict | None = None):
    """(status, JSON document or text, response headers)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
    resp = conn.getresponse()
    raw = resp.read()
    conn.close()
    text = raw.decode()
    doc = json.loads(raw) if resp.getheader("content-type", "").startswith("application/json") else text
    return resp.status, doc, dict(resp.getheaders())
