"""The pyfunc model (featureplat/mlflow/model.py): logging it draws no type-hint warning
from MLflow, and its ``predict`` takes every documented input kind -- a pandas frame, an
Arrow table, a dict of columns, a list of row dicts -- directly and through MLflow's
loaded model, with the same scores as the estimator on the training matrix."""
from __future__ import annotations

import warnings

import numpy as np
import pyarrow.parquet as pq
import pytest

from featureplat import mlflow as fpm
from featureplat.feast.repo import apply
from featureplat.feast.training import training_set
from tests.feast.conftest import copy_repo

pytestmark = [
    # MLflow's SQLAlchemy store uses a loader strategy SQLAlchemy has deprecated.
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated"),
    # Importing mlflow.pyfunc infers a schema for MLflow's own ResponsesAgentRequest.
    pytest.mark.filterwarnings("ignore:.*Any type hint is inferred as AnyType:UserWarning"),
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    import mlflow
    import mlflow.pyfunc  # first: its import-time warning is MLflow's, not the model's
    from sklearn.ensemble import HistGradientBoostingClassifier

    from featureplat.examples.churn import generate

    repo = copy_repo(tmp_path_factory.mktemp("model") / "repo")
    generate(repo / "data", customers=300, days=30)
    store = apply(repo).store
    fpm.configure(repo, experiment="model_hints")
    labels = pq.read_table(repo / "data" / "churn_labels.parquet")
    ts = training_set(store, "churn_features", labels, label="churned")
    model = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(ts.X, ts.y.astype(np.int64))
    warnings.onceregistry.clear()  # MLflow shows its hint warning "once": a fresh chance to show it
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        record = fpm.log_training(ts, model, store=store, feature_set="churn_features")
    yield ts, model, record, caught
    mlflow.set_tracking_uri("")


def test_logging_the_model_draws_no_type_hint_warning(trained):
    *_, caught = trained
    hints = [str(w.message) for w in caught if "type hint" in str(w.message).lower()]
    assert hints == []
    assert [str(w.message) for w in caught if issubclass(w.category, UserWarning)] == []


def test_predict_takes_every_input_kind(trained):
    import mlflow

    ts, model, record, _ = trained
    want = fpm.score(model, ts.X[:40])
    table = ts.inputs.slice(0, 40)
    kinds = {"pandas": table.to_pandas(), "arrow": table, "columns": table.to_pydict(), "rows": table.to_pylist()}
    loaded = mlflow.pyfunc.load_model(record.model_uri)
    raw = loaded.unwrap_python_model()
    for kind, data in kinds.items():
        assert np.asarray(raw.predict(None, data)).tobytes() == want.tobytes(), kind
        assert np.asarray(loaded.predict(data)).tobytes() == want.tobytes(), kind
