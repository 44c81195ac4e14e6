"""HTTP load for the serving benchmark (``test_bench_serving.py``): a small closed-loop
load generator, and helpers to start and stop a server process.

Load: CONCURRENCY keep-alive HTTP/1.1 connections (asyncio, raw sockets, one process),
each sending POSTs back to back -- the next request as soon as the previous response is
fully read -- for WARMUP + DURATION seconds; only requests sent after the warm-up and
answered before the end are counted. Request bodies come from a file (one JSON body per
line) and are cycled through, each connection starting at a different offset.

Run it as a separate process so it does not share the interpreter (or the GIL) with
anything else::

    python benchmarks/serving_http.py --port 6570 --path /features --bodies bodies.jsonl \
        --concurrency 8 --duration 10 --warmup 2

It prints one JSON object: requests, errors (non-2xx answers or broken connections),
requests_per_s, latency p50/p90/p99/max in ms (client-side: write of the request to the
last byte of the response), the first error seen, and the first response body.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request


# ---- the load generator ----------------------------------------------------------------

async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = None
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if length is not None:
        return status, await reader.readexactly(length)
    if chunked:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # no trailers expected
                return status, b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
    raise RuntimeError("response without Content-Length or chunked encoding")


async def _connection(host: str, port: int, requests: list[bytes], offset: int, t_measure: float,
                      t_end: float, lat_ns: list[int], state: dict) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = offset
    n = len(requests)
    try:
        while True:
            t0 = time.perf_counter()
            if t0 >= t_end:
                break
            writer.write(requests[i % n])
            i += 1
            s0 = time.perf_counter_ns()
            try:
                status, body = await _read_response(reader)
            except (asyncio.IncompleteReadError, ConnectionError) as e:
                state["errors"] += 1
                state.setdefault("first_error", f"connection: {e!r}")
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            s1 = time.perf_counter_ns()
            if state.get("first_body") is None:
                state["first_body"] = body.decode("utf-8", "replace")[:2000]
            if t0 < t_measure or time.perf_counter() > t_end:
                continue
            if 200 <= status < 300:
                lat_ns.append(s1 - s0)
            else:
                state["errors"] += 1
                state.setdefault("first_error", f"HTTP {status}: {body[:500]!r}")
    finally:
        writer.close()


def _request_bytes(host: str, port: int, path: str, body: bytes) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode("ascii") + body


def _pct(sorted_vals: list[int], q: float) -> float:
    if not sorted_vals:
        return float("nan")
    k = min(len(sorted_vals) - 1, max(0, round(q * (len(sorted_vals) - 1))))
    return sorted_vals[k] / 1e6


async def run_load(host: str, port: int, path: str, bodies: list[bytes], concurrency: int, duration: float,
                   warmup: float) -> dict:
    """Closed-loop load; returns the figures (latencies in ms)."""
    requests = [_request_bytes(host, port, path, b) for b in bodies]
    start = time.perf_counter()
    t_measure = start + warmup
    t_end = t_measure + duration
    lat_ns: list[int] = []
    state: dict = {"errors": 0, "first_body": None}
    step = max(1, len(requests) // max(1, concurrency))
    await asyncio.gather(*[_connection(host, port, requests, c * step, t_measure, t_end, lat_ns, state)
                           for c in range(concurrency)])
    lat_ns.sort()
    n = len(lat_ns)
    return {
        "requests": n, "errors": state["errors"], "concurrency": concurrency, "duration_s": duration,
        "warmup_s": warmup, "requests_per_s": n / duration,
        "p50_ms": _pct(lat_ns, 0.50), "p90_ms": _pct(lat_ns, 0.90), "p99_ms": _pct(lat_ns, 0.99),
        "max_ms": lat_ns[-1] / 1e6 if n else float("nan"),
        "mean_ms": sum(lat_ns) / n / 1e6 if n else float("nan"),
        "first_error": state.get("first_error"), "first_body": state["first_body"],
    }


def load_in_subprocess(port: int, path: str, bodies_file: str, concurrency: int, duration: float,
                       warmup: float, host: str = "127.0.0.1") -> dict:
    """Runs this file as a separate process against host:port; returns its figures."""
    cmd = [sys.executable, os.path.abspath(__file__), "--host", host, "--port", str(port), "--path", path,
           "--bodies", bodies_file, "--concurrency", str(concurrency), "--duration", str(duration),
           "--warmup", str(warmup)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + warmup + 120)
    if out.returncode != 0:
        raise RuntimeError(f"load generator failed ({out.returncode}): {out.stderr[-3000:]}")
    return json.loads(out.stdout)


# ---- server processes ----------------------------------------------------------------------

def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server command run in its own process group (so a forking server -- gunicorn's
    master and worker -- is stopped as a whole); output goes to ``log_path``."""

    def __init__(self, cmd: list[str], port: int, health_path: str, log_path: str, cwd: str | None = None,
                 env: dict | None = None):
        self.cmd, self.port, self.health_path, self.log_path = cmd, port, health_path, log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=cwd, env=env, start_new_session=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url(self.health_path), timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
                last = e
            time.sleep(0.2)
        raise RuntimeError(f"server not ready after {timeout}s ({last!r}): {self.log_tail()}")

    def post(self, path: str, doc: dict, timeout: float = 30.0) -> tuple[int, dict]:
        req = urllib.request.Request(self.url(path), data=json.dumps(doc).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, {"error": e.read().decode("utf-8", "replace")}

    def log_tail(self, n: int = 3000) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM to this server's process group, SIGKILL if it has not exited in 10 s."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(10)
        else:  # the leader is gone; its group (a gunicorn worker) may not be
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", required=True)
    p.add_argument("--bodies", required=True, help="file with one JSON request body per line")
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=2.0)
    a = p.parse_args(argv)
    with open(a.bodies, "rb") as f:
        bodies = [line.strip() for line in f if line.strip()]
    res = asyncio.run(run_load(a.host, a.port, a.path, bodies, a.concurrency, a.duration, a.warmup))
    json.dump(res, sys.stdout)


if __name__ == "__main__":
    main()
