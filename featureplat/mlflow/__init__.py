"""MLflow lineage: model versions bound to their fitted plan, features and data.

* :func:`log_training` (:mod:`.runs`) logs a training run and its pyfunc model;
  :func:`register` and :func:`set_alias` put it in the registry.
* :func:`load_model_plan` / :func:`serving_for_model` / :func:`load_pyfunc` (:mod:`.registry`)
  bind serving to the registry: the version's tags, its run's tags and the model's
  metadata must agree on the plan hash and the digests of every file the model loads
  (plan, skops estimator, code file), the files must match them, with
  ``$FEATUREPLAT_SIGNING_KEY`` set the record must be signed by that key
  (:mod:`.artifacts`), and the core's major version must match, or serving is refused.
* :func:`lineage`, :func:`models_using_view`, :func:`reproduce` (:mod:`.lineage`) and
  :func:`retrain` (:mod:`.retrain`) answer where a model came from, what depends on a
  view, whether a training matrix can be rebuilt bit for bit, and run a guarded
  retraining. :func:`configure` (:mod:`.tracking`) picks the tracking store; without it,
  every call given a store tracks in the repo's ``data/mlflow.db`` (:func:`use_repo_tracking`).
  A tracking store that does not answer gives a :class:`TrackingError` within seconds.

This package depends on the core and on the Feast layer (:mod:`featureplat.feast`),
never the other way round.
"""
from featureplat.mlflow.lineage import Reproduction, format_lineage, lineage, models_using_view, reproduce
from featureplat.mlflow.registry import (
    LineageError,
    ModelRecord,
    ServedModel,
    load_model_plan,
    load_pyfunc,
    online_features_for_model,
    serving_for_model,
)
from featureplat.mlflow.retrain import Retraining, RetrainOutcome, evaluate, retrain, retrainings
from featureplat.mlflow.runs import (
    TrainingRecord,
    content_digest,
    log_training,
    register,
    score,
    set_alias,
    statistics_baseline,
)
from featureplat.mlflow.tracking import TrackingError, configure, default_tracking_uri, use_repo_tracking

__all__ = [
    "LineageError", "ModelRecord", "Reproduction", "RetrainOutcome", "Retraining", "ServedModel", "TrackingError",
    "TrainingRecord", "configure", "content_digest", "default_tracking_uri", "evaluate", "format_lineage", "lineage",
    "load_model_plan", "load_pyfunc", "log_training", "models_using_view", "online_features_for_model", "register",
    "reproduce", "retrain", "retrainings", "score", "serving_for_model", "set_alias", "statistics_baseline",
    "use_repo_tracking",
]
