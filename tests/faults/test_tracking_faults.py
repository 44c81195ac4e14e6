"""MLflow tracking that does not answer (featureplat/mlflow/tracking.py): a PostgreSQL URI
on a closed port and on a port where a thread accepts TCP connections and never answers,
an HTTP tracking server in the same two states, and a real PostgreSQL that stops answering
in the middle of a session. Every entry point fails with a TrackingError naming the URI
(password redacted) within 10 s -- not MLflow's ~100 s of engine retries or an endless
wait -- and the same process then works against the real PostgreSQL at 127.0.0.1:5432."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import pytest
from click.testing import CliRunner

from featureplat import mlflow as fpm
from featureplat.cli import main as cli
from featureplat.mlflow.runs import TrainingRecord
from featureplat.mlflow.tracking import redact, use_repo_tracking
from tests.lineage.conftest import PG, _drop, _postgres_uri, forget_tracking

pytestmark = [
    # MLflow's SQLAlchemy store uses a loader strategy SQLAlchemy has deprecated.
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated"),
]

BOUND = 10.0  # seconds: the promise


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once it is closed


class SilentServer:
    """Accepts TCP connections and never sends a byte (a hung server, a black hole)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(0.1)  # so the thread sees close() (closing does not wake accept)
        self.held: list[socket.socket] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            self.held.append(conn)

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)
        self.sock.close()
        for c in self.held:
            c.close()


@pytest.fixture
def silent():
    server = SilentServer()
    yield server
    server.close()


@pytest.fixture
def fresh(monkeypatch):
    """MLflow as a fresh process finds it (restored afterwards)."""
    forget_tracking(monkeypatch)
    yield monkeypatch
    import mlflow

    mlflow.set_tracking_uri("")


def _pg_uri(port: int, password: str | None = None) -> str:
    auth = f"{PG['user']}:{password}" if password else PG["user"]
    return f"postgresql+psycopg2://{auth}@127.0.0.1:{port}/mlflow_faults"


def _fails_fast(call: Callable[[], object], uri: str) -> fpm.TrackingError:
    start = time.monotonic()
    with pytest.raises(fpm.TrackingError) as caught:
        call()
    elapsed = time.monotonic() - start
    assert elapsed < BOUND, f"{elapsed:.1f} s"
    assert redact(uri) in str(caught.value)
    return caught.value


def _entry_points(tmp_path) -> dict[str, Callable[[], object]]:
    """Public calls that reach the tracking store the user chose ($MLFLOW_TRACKING_URI)."""
    record = TrainingRecord(run_id="0" * 32, model_uri="models:/m-0", plan_hash="0" * 64, digest="0" * 64)
    return {
        "load_model_plan": lambda: fpm.load_model_plan("models:/churn@champion"),
        "load_pyfunc": lambda: fpm.load_pyfunc("models:/churn/1"),
        "lineage": lambda: fpm.lineage("models:/churn/1"),
        "models_using_view": lambda: fpm.models_using_view("customer_activity"),
        "register": lambda: fpm.register(record, "churn"),
        "set_alias": lambda: fpm.set_alias("churn", "champion", 1),
        "reproduce": lambda: fpm.reproduce("0" * 32),
        "use_repo_tracking": lambda: use_repo_tracking(tmp_path),
        "configure": lambda: fpm.configure(tmp_path),
    }


@pytest.mark.parametrize("fault", ["closed port", "silent port"])
def test_an_unreachable_postgresql_fails_every_entry_point_within_the_bound(fault, silent, fresh, tmp_path):
    port = _closed_port() if fault == "closed port" else silent.port
    uri = _pg_uri(port, password="s3cret-pw")
    fresh.setenv("MLFLOW_TRACKING_URI", uri)
    for name, call in _entry_points(tmp_path).items():
        err = _fails_fast(call, uri)
        assert "s3cret-pw" not in str(err) and ":***@" in str(err), name
        assert f"127.0.0.1:{port}" in str(err), name
        reason = "timeout expired" if fault == "silent port" else "Connection refused"
        assert reason in str(err), (name, str(err))


@pytest.mark.parametrize("fault", ["closed port", "silent port"])
def test_an_unreachable_postgresql_given_as_an_argument_or_to_the_cli(fault, silent, fresh, tmp_path):
    port = _closed_port() if fault == "closed port" else silent.port
    uri = _pg_uri(port)
    _fails_fast(lambda: fpm.configure(tmp_path, uri), uri)
    _fails_fast(lambda: use_repo_tracking(tmp_path, uri), uri)
    start = time.monotonic()
    res = CliRunner().invoke(cli, ["lineage", "models:/churn/1", "--repo", str(tmp_path), "--tracking-uri", uri])
    assert time.monotonic() - start < BOUND
    assert res.exit_code == 1 and "cannot reach the MLflow tracking store" in res.output and redact(uri) in res.output
    assert "Traceback" not in res.output


@pytest.mark.parametrize("fault", ["closed port", "silent port"])
def test_an_unreachable_http_tracking_server_fails_within_the_bound(fault, silent, fresh, tmp_path):
    port = _closed_port() if fault == "closed port" else silent.port
    uri = f"http://user:s3cret-pw@127.0.0.1:{port}"
    fresh.setenv("MLFLOW_TRACKING_URI", uri)
    for name in ("load_model_plan", "models_using_view", "configure"):
        err = _fails_fast(_entry_points(tmp_path)[name], uri)
        assert "s3cret-pw" not in str(err), name


@pytest.fixture
def postgres(fresh):
    uri, name = _postgres_uri()
    yield uri
    import mlflow

    mlflow.set_tracking_uri("")
    _drop(name)


def test_after_the_faults_the_same_process_works_against_the_real_postgresql(silent, postgres, fresh, tmp_path):
    import mlflow
    from sqlalchemy import text

    for port in (_closed_port(), silent.port):
        bad = _pg_uri(port)
        _fails_fast(lambda bad=bad: fpm.configure(tmp_path, bad), bad)
    assert fpm.configure(tmp_path, postgres, experiment="faults") == postgres
    assert fpm.models_using_view("customer_activity") == []
    with pytest.raises(fpm.LineageError, match="no such model version"):
        fpm.load_model_plan("models:/churn/1")
    with mlflow.start_run() as run:
        mlflow.set_tag("featureplat.fault_test", "ok")
    assert mlflow.MlflowClient().get_run(run.info.run_id).data.tags["featureplat.fault_test"] == "ok"
    # MLflow's own connections to the probed server carry the bounds.
    engine = mlflow.MlflowClient()._tracking_client.store.engine
    with engine.connect() as conn:
        assert conn.execute(text("SHOW statement_timeout")).scalar() == "30s"
        dsn = conn.connection.dbapi_connection.get_dsn_parameters()
        assert dsn["connect_timeout"] == "3" and dsn["keepalives"] == "1"


class Proxy:
    """Forwards TCP to the real PostgreSQL until :meth:`hang`, then holds every new
    connection without answering and cuts the forwarded ones: a server that stops
    answering in the middle of a session."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(0.1)
        self.hung = False
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                client, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            with self.lock:
                self.conns.append(client)
                if self.hung:
                    continue
                upstream = socket.create_connection(self.target)
                self.conns.append(upstream)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def hang(self) -> None:
        with self.lock:
            self.hung = True
            for s in self.conns:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)
        self.sock.close()
        with self.lock:
            for s in self.conns:
                s.close()


def test_a_postgresql_that_stops_answering_mid_session_fails_within_the_bound(postgres, fresh, tmp_path):
    import mlflow

    real_port = int(postgres.rsplit(":", 1)[1].split("/", 1)[0])
    proxy = Proxy("127.0.0.1", real_port)
    try:
        uri = postgres.replace(f":{real_port}/", f":{proxy.port}/")
        fpm.configure(tmp_path, uri, experiment="faults_mid_session")
        assert fpm.models_using_view("customer_activity") == []
        proxy.hang()
        _fails_fast(lambda: fpm.models_using_view("customer_activity"), uri)
        _fails_fast(lambda: fpm.load_model_plan("models:/churn/1"), uri)
        # MLflow's own calls on its pooled engine are bounded too (connect timeout on reconnect).
        start = time.monotonic()
        with pytest.raises(Exception):  # noqa: B017 - MLflow's own error type is not ours to choose
            mlflow.MlflowClient().search_experiments()
        assert time.monotonic() - start < BOUND
    finally:
        proxy.close()
