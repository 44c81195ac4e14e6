"""The MLflow pyfunc model of a featureplat training run (MLflow "models from code").

MLflow logs this file as the model's code; no feature logic is pickled. The model's
artifacts are the fitted plan (``plan``: a ``.fpplan`` file) and the estimator
(``estimator``: a joblib file). ``predict`` takes the plan's raw inputs (a pandas frame,
an Arrow table, a dict of columns or a list of row dicts), runs the plan, then the
estimator: the positive-class probability when it has ``predict_proba``, else
``predict``.
"""
from __future__ import annotations

from typing import Any

import joblib
import mlflow
import numpy as np
import pandas as pd

import featureplat as fp
from featureplat.mlflow.runs import score
from featureplat.plan.inputs import input_table


class FeatureplatModel(mlflow.pyfunc.PythonModel):
    """Raw features -> fitted plan -> estimator."""

    def load_context(self, context) -> None:
        self.plan = fp.load_plan(context.artifacts["plan"])
        self.estimator = joblib.load(context.artifacts["estimator"])

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
