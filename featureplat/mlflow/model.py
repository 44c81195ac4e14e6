"""The MLflow pyfunc model of a featureplat training run (MLflow "models from code").

MLflow logs this file as the model's code; no feature logic is pickled. The model's
artifacts are the fitted plan (``plan``: a ``.fpplan`` file) and the estimator
(``estimator``: a skops file, loaded with an explicit list of trusted types).
``load_context`` refuses to load either unless it hashes to the digest recorded in the
model's metadata when it was logged -- and, with ``$FEATUREPLAT_SIGNING_KEY`` set, unless
that record is signed by the key (:mod:`featureplat.mlflow.artifacts`). ``predict``
takes the plan's raw inputs (a pandas frame, an Arrow table, a dict of columns or a list
of row dicts), runs the plan, then the estimator: the positive-class probability when it
has ``predict_proba``, else ``predict``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd

from featureplat.mlflow.artifacts import (
    ESTIMATOR_PATH,
    PLAN_PATH,
    ArtifactRecord,
    LineageError,
    verified_model,
)
from featureplat.mlflow.runs import score
from featureplat.plan.inputs import input_table


class FeatureplatModel(mlflow.pyfunc.PythonModel):
    """Raw features -> fitted plan -> estimator."""

    def load_context(self, context) -> None:
        # MLflow hands over artifacts/<file> paths inside the model directory, whose MLmodel
        # holds the record written when the model was logged.
        plan_path = Path(context.artifacts["plan"])
        model_dir = plan_path.parents[1]
        where = f"the featureplat model at {model_dir}"
        if plan_path != model_dir / PLAN_PATH or Path(context.artifacts["estimator"]) != model_dir / ESTIMATOR_PATH \
                or not (model_dir / "MLmodel").is_file():
            raise LineageError(f"{where}: its artifacts are not where featureplat logged them ({PLAN_PATH}, "
                               f"{ESTIMATOR_PATH} next to an MLmodel); refusing to load it")
        record = ArtifactRecord.from_metadata(mlflow.models.Model.load(str(model_dir)).metadata, where)
        verified = verified_model(model_dir, record, where)
        self.plan = verified.plan
        self.estimator = verified.estimator()

    def features(self, model_input: Any) -> np.ndarray:
        """The model input matrix the plan computes from raw inputs (converted by the core,
        as training and serving convert them: no cast here)."""
        return self.plan.transform(input_table(self.plan, model_input), to="numpy")

    # The hint is pandas' DataFrame, what MLflow's serving passes: for that hint MLflow
    # neither converts nor validates the input (it infers no schema from it) and does not
    # warn that a hint is missing, so an Arrow table, a dict of columns or a list of row
    # dicts reach :meth:`features` unchanged.
    def predict(self, context, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> np.ndarray:
        """P(positive class) (or ``predict``) per row of ``model_input``: the plan's raw
        inputs as a pandas frame, an Arrow table, a dict of columns or a list of row dicts."""
        return score(self.estimator, self.features(model_input))


mlflow.models.set_model(FeatureplatModel())
