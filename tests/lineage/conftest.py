"""MLflow tracking backends for the lineage tests: embedded SQLite and the real
PostgreSQL server (a database of its own per session, dropped afterwards)."""
from __future__ import annotations

import os
import uuid

import pytest

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


def _postgres_uri() -> tuple[str, str]:
    import psycopg2

    name = f"fptest_{uuid.uuid4().hex[:12]}"
    try:
        conn = psycopg2.connect(dbname="postgres", connect_timeout=3, **PG)
    except psycopg2.OperationalError as e:
        if os.environ.get("FEATUREPLAT_REQUIRE_SERVICES") == "1":
            pytest.fail(f"PostgreSQL at {PG['host']}:{PG['port']} is required (FEATUREPLAT_REQUIRE_SERVICES=1): {e}")
        pytest.skip(f"PostgreSQL at {PG['host']}:{PG['port']} is not reachable: {e}")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return f"postgresql+psycopg2://{PG['user']}@{PG['host']}:{PG['port']}/{name}", name


def _drop(name: str) -> None:
    import psycopg2

    conn = psycopg2.connect(dbname="postgres", connect_timeout=3, **PG)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def tracking(request, tmp_path_factory):
    """Points MLflow (tracking and registry) at a fresh backend with a local artifact root."""
    import mlflow

    base = tmp_path_factory.mktemp(f"mlflow-{request.param}")
    if request.param == "sqlite":
        uri, dbname = f"sqlite:///{base / 'mlflow.db'}", None
    else:
        uri, dbname = _postgres_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    exp = mlflow.create_experiment("churn", artifact_location=(base / "artifacts").as_uri())
    mlflow.set_experiment(experiment_id=exp)
    yield {"uri": uri, "kind": request.param, "artifacts": base / "artifacts"}
    mlflow.set_tracking_uri("")
    if dbname:
        _drop(dbname)  # WITH (FORCE) closes MLflow's pooled connections


MLFLOW_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME")


def forget_tracking(monkeypatch) -> None:
    """MLflow and featureplat as a fresh process finds them: no tracking or registry URI,
    no experiment, nothing defaulted (all restored after the test)."""
    from mlflow.tracking import fluent
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    from featureplat.mlflow import tracking

    for var in MLFLOW_ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(tracking_utils, "_tracking_uri", None)
    monkeypatch.setattr(registry_utils, "_registry_uri", None)
    monkeypatch.setattr(fluent, "_active_experiment_id", None)
    monkeypatch.setattr(tracking, "_defaulted", None, raising=False)
