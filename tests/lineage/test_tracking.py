"""Where MLflow tracks when nobody said (featureplat/mlflow/tracking.py): every call given a
store uses the repo's ``data/mlflow.db``, never MLflow's own ``./mlflow.db`` in the working
directory, so ``featureplat serve --repo ... --model ...`` finds what was trained; a URI
the user chose (argument, ``mlflow.set_tracking_uri``, ``MLFLOW_TRACKING_URI``) wins."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from mlflow.exceptions import MlflowException

from featureplat import mlflow as fpm
from featureplat.cli import _tracking
from featureplat.feast.training import training_set
from featureplat.mlflow import tracking
from tests.feast.conftest import build_served_repo, data_end
from tests.lineage.conftest import MLFLOW_ENV, forget_tracking

pytestmark = [
    # MLflow's SQLAlchemy store uses a loader strategy SQLAlchemy has deprecated.
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated"),
    # Importing mlflow.pyfunc infers a schema for MLflow's own ResponsesAgentRequest.
    pytest.mark.filterwarnings("ignore:.*Any type hint is inferred as AnyType:UserWarning"),
]


def _train(X, y):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(X, y.astype(np.int64))


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    store, _ = build_served_repo(tmp_path_factory.mktemp("tracking") / "repo", "sqlite")
    return store


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """An empty working directory, where MLflow's own default would put mlflow.db."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    forget_tracking(monkeypatch)
    return cwd


def _labels(repo):
    return pq.read_table(f"{repo.repo_path}/data/churn_labels.parquet")


def test_log_training_without_configure_lands_in_the_repo_and_serve_finds_it(repo, workdir, monkeypatch):
    import mlflow

    ts = training_set(repo, "churn_features", _labels(repo), label="churned")
    record = fpm.log_training(ts, _train(ts.X, ts.y), store=repo, feature_set="churn_features",
                              register_as="churn")
    fpm.set_alias("churn", "champion", record.version)
    repo_db = Path(repo.repo_path) / "data" / "mlflow.db"
    assert not (workdir / "mlflow.db").exists() and not (workdir / "mlruns").exists(), sorted(os.listdir(workdir))
    assert list(workdir.iterdir()) == []
    assert repo_db.is_file()
    assert mlflow.get_tracking_uri() == f"sqlite:///{repo_db.resolve()}"
    exp = mlflow.MlflowClient().get_experiment(mlflow.MlflowClient().get_run(record.run_id).info.experiment_id)
    assert exp.name == repo.config.project  # artifacts in the repo, not ./mlruns
    assert exp.artifact_location.startswith((Path(repo.repo_path) / "data" / "mlartifacts").resolve().as_uri())

    # `featureplat serve --repo R --model models:/churn@champion`, as a new process resolves it.
    forget_tracking(monkeypatch)
    uri = _tracking(str(repo.repo_path), None)
    assert uri == f"sqlite:///{repo_db.resolve()}"
    rec = fpm.load_model_plan("models:/churn@champion")
    assert rec.plan.plan_hash == ts.plan.plan_hash and rec.version == record.version

    # The same from a real process started elsewhere (serve and lineage share the resolution).
    env = {k: v for k, v in os.environ.items() if k not in MLFLOW_ENV}
    res = subprocess.run([sys.executable, "-m", "featureplat.cli", "lineage", "models:/churn@champion", "--repo",
                          str(repo.repo_path)], check=False, capture_output=True, text=True, timeout=300,
                         cwd=workdir, env=env)
    assert res.returncode == 0, res.stderr
    assert ts.plan.plan_hash in res.stdout and record.run_id in res.stdout
    assert not (workdir / "mlflow.db").exists()


def test_registry_bound_serving_and_reproduce_default_to_the_repo(repo, workdir, monkeypatch):
    ts = training_set(repo, "churn_features", _labels(repo), label="churned")
    record = fpm.log_training(ts, _train(ts.X, ts.y), store=repo, register_as="churn_serving")
    fpm.set_alias("churn_serving", "champion", record.version)
    forget_tracking(monkeypatch)
    served = fpm.serving_for_model(repo, "models:/churn_serving@champion")
    assert served.plan.plan_hash == ts.plan.plan_hash
    forget_tracking(monkeypatch)
    features = fpm.online_features_for_model(repo.repo_path, "models:/churn_serving@champion")
    assert features.model.version == record.version
    forget_tracking(monkeypatch)
    assert fpm.reproduce(record.run_id, store=repo).matches
    assert list(workdir.iterdir()) == []


def test_retrain_without_configure_lands_in_the_repo(repo, workdir, monkeypatch):
    import mlflow

    spec = fpm.Retraining(model_name="churn_retrain_default", feature_set="churn_features",
                          labels="data/churn_labels.parquet", label="churned", train=_train)
    out = fpm.retrain(repo, spec, now=data_end())
    assert out.promoted
    assert list(workdir.iterdir()) == []
    forget_tracking(monkeypatch)
    _tracking(str(repo.repo_path), None)
    assert str(mlflow.MlflowClient().get_model_version_by_alias("churn_retrain_default", "champion").version) == \
        out.version


def test_a_chosen_tracking_uri_wins_over_the_repo(repo, workdir, monkeypatch, tmp_path):
    import mlflow

    ts = training_set(repo, "churn_features", _labels(repo).slice(0, 200), label="churned")
    model = _train(ts.X, ts.y)
    chosen = f"sqlite:///{tmp_path / 'chosen.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", chosen)
    by_env = fpm.log_training(ts, model, store=repo)
    assert mlflow.get_tracking_uri() == chosen
    assert mlflow.MlflowClient(chosen).get_run(by_env.run_id).info.run_id == by_env.run_id

    forget_tracking(monkeypatch)
    other = f"sqlite:///{tmp_path / 'other.db'}"
    mlflow.set_tracking_uri(other)
    by_call = fpm.log_training(ts, model, store=repo)
    assert mlflow.MlflowClient(other).get_run(by_call.run_id).info.run_id == by_call.run_id

    forget_tracking(monkeypatch)
    third = f"sqlite:///{tmp_path / 'third.db'}"
    by_arg = fpm.log_training(ts, model, store=repo, tracking_uri=third)
    assert mlflow.MlflowClient(third).get_run(by_arg.run_id).info.run_id == by_arg.run_id
    repo_client = mlflow.MlflowClient(tracking.default_tracking_uri(repo.repo_path))
    for record in (by_env, by_call, by_arg):
        with pytest.raises(MlflowException):
            repo_client.get_run(record.run_id)


def test_a_default_is_not_a_choice_another_repo_gets_its_own_database(repo, workdir, tmp_path):
    import mlflow

    ts = training_set(repo, "churn_features", _labels(repo).slice(0, 200), label="churned")
    model = _train(ts.X, ts.y)
    first = fpm.log_training(ts, model, store=repo)
    assert tracking.explicit_tracking_uri() is None
    second_repo = shutil.copytree(repo.repo_path, tmp_path / "second_repo",
                                  ignore=shutil.ignore_patterns("mlflow.db", "mlartifacts"))
    second = fpm.log_training(ts, model, store=second_repo)
    second_db = f"sqlite:///{(second_repo / 'data' / 'mlflow.db').resolve()}"
    assert mlflow.get_tracking_uri() == second_db
    assert mlflow.MlflowClient(second_db).get_run(second.run_id).info.run_id == second.run_id
    with pytest.raises(MlflowException):
        mlflow.MlflowClient(second_db).get_run(first.run_id)
    assert list(workdir.iterdir()) == []
