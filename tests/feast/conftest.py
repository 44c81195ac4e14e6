"""A small copy of the churn feature repo, generated and applied once per session."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO_SRC = Path(__file__).resolve().parents[2] / "feature_repo"
CUSTOMERS, DAYS = 400, 40


def copy_repo(dest: Path) -> Path:
    """The feature repo's definitions (not its generated data) copied to ``dest``."""
    shutil.copytree(REPO_SRC, dest, ignore=shutil.ignore_patterns("data", "__pycache__"))
    return dest


@pytest.fixture(scope="session")
def churn_repo(tmp_path_factory) -> Path:
    """The churn repo with seeded data (400 customers, 40 days), applied."""
    from featureplat.examples.churn import generate
    from featureplat.feast.repo import apply

    repo = copy_repo(tmp_path_factory.mktemp("churn") / "feature_repo")
    generate(repo / "data", customers=CUSTOMERS, days=DAYS)
    apply(repo)
    return repo


# ---- online stores ---------------------------------------------------------------------------

import datetime as _dt  # noqa: E402
import os  # noqa: E402
import uuid  # noqa: E402

REDIS = ("127.0.0.1", 6379)


def data_end() -> _dt.datetime:
    """The first instant after the generated data (every event time is before it)."""
    from featureplat.examples.churn import START

    return START + _dt.timedelta(days=DAYS)


def require_redis() -> None:
    """Skips without Redis, except in CI (FEATUREPLAT_REQUIRE_SERVICES=1), where it fails."""
    import redis

    try:
        redis.Redis(host=REDIS[0], port=REDIS[1], socket_connect_timeout=1).ping()
    except redis.exceptions.RedisError as e:
        if os.environ.get("FEATUREPLAT_REQUIRE_SERVICES") == "1":
            pytest.fail(f"Redis at {REDIS[0]}:{REDIS[1]} is required (FEATUREPLAT_REQUIRE_SERVICES=1): {e}")
        pytest.skip(f"Redis at {REDIS[0]}:{REDIS[1]} is not reachable: {e}")


def use_redis(repo: Path, host: str = REDIS[0], port: int = REDIS[1]) -> str:
    """Points the repo's online store at Redis under a project name of its own (Feast's
    Redis keys end with the project name, so tests never see each other's keys)."""
    project = f"fptest_{uuid.uuid4().hex[:12]}"
    text = (repo / "feature_store.yaml").read_text()
    text = text.replace("project: churn", f"project: {project}")
    start = text.index("online_store:")
    end = text.index("offline_store:")
    text = text[:start] + f"online_store:\n  type: redis\n  connection_string: {host}:{port}\n" + text[end:]
    (repo / "feature_store.yaml").write_text(text)
    return project


def build_served_repo(dest: Path, kind: str, customers: int = CUSTOMERS, days: int = DAYS):
    """A repo with data, applied and materialized into a SQLite or Redis online store;
    returns (store, fitted plan)."""
    from featureplat.examples.churn import generate
    from featureplat.feast.repo import apply
    from featureplat.feast.training import training_set

    repo = copy_repo(dest)
    if kind == "redis":
        use_redis(repo)
    generate(repo / "data", customers=customers, days=days)
    store = apply(repo).store
    store.materialize(_dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc), data_end() + _dt.timedelta(days=1))
    plan = training_set(store, "churn_features", repo / "data" / "churn_labels.parquet", label="churned").plan
    return store, plan
