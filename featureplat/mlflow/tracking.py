"""Where MLflow tracks: the repo's embedded SQLite database by default, or the URI the
user gives (``--tracking-uri``, ``$MLFLOW_TRACKING_URI``, a server or PostgreSQL)."""
from __future__ import annotations

import os
from pathlib import Path

from featureplat.errors import InputError

__all__ = ["configure", "default_tracking_uri"]


def _mlflow():
    import mlflow

    return mlflow


def default_tracking_uri(repo: str | os.PathLike, *, create: bool = True) -> str:
    """The embedded default: an SQLite tracking and registry database in the repo's data
    dir. ``create=False`` (read-only commands) raises when there is none yet."""
    path = (Path(repo) / "data" / "mlflow.db").resolve()
    if not create and not path.is_file():
        raise InputError(f"no MLflow tracking database at {path}; train first, or give --tracking-uri "
                         "(or set MLFLOW_TRACKING_URI)")
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def configure(repo: str | os.PathLike, tracking_uri: str | None = None, experiment: str | None = None, *,
              create: bool = True) -> str:
    """Points MLflow's tracking and registry at ``tracking_uri`` (default:
    ``$MLFLOW_TRACKING_URI``, else the repo's embedded SQLite database) and, with
    ``experiment``, selects it -- created with its artifacts under ``<repo>/data/mlartifacts``
    rather than a ``mlruns`` directory wherever the process happens to run."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow = _mlflow()
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri(repo, create=create)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    if experiment:
        client = mlflow.MlflowClient()
        exp = client.get_experiment_by_name(experiment)
        if exp is None:
            root = (Path(repo) / "data" / "mlartifacts").resolve()
            exp_id = client.create_experiment(experiment, artifact_location=root.as_uri())
        else:
            exp_id = exp.experiment_id
        mlflow.set_experiment(experiment_id=exp_id)
    return uri
