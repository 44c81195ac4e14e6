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
    from featureplat.repo import apply

    repo = copy_repo(tmp_path_factory.mktemp("churn") / "feature_repo")
    generate(repo / "data", customers=CUSTOMERS, days=DAYS)
    apply(repo)
    return repo
