"""How the churn model is trained and retrained (`featureplat retrain`).

The training function gets the model input matrix the fitted plan computes and the
labels, and returns a fitted estimator. The retraining refits the plan on labelled entity
rows up to now, trains, evaluates the candidate and the current @champion on the latest
20% of rows, and moves @champion only when the candidate is no worse by ROC AUC.
"""
import numpy as np

from featureplat.mlflow import Retraining


def train(X: np.ndarray, y: np.ndarray):  # noqa: N803 - the conventional name
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(max_iter=150, learning_rate=0.08, random_state=0)
    return model.fit(X, y.astype(np.int64))


churn_retraining = Retraining(
    model_name="churn",
    feature_set="churn_features",
    labels="data/churn_labels.parquet",
    label="churned",
    train=train,
    metric="roc_auc",
    holdout_fraction=0.2,
    alias="champion",
)
