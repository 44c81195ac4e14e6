"""Artifacts stored by featureplat 0.1 before the package layout keep loading and serving
the same vectors: an on-demand view's transformation source as Feast keeps it in its
registry (it imports ``featureplat.feast_adapter``), and a logged MLflow pyfunc model
(its code imports ``featureplat.training`` and ``featureplat.mlflow`` at predict time).

The files under ``artifacts/`` were written by the old layout and are never regenerated:
``odfv_churn_features_fp.py.txt`` (the view's ``udf_string``), ``model_churn/`` (the model
directory MLflow logged), ``churn_inputs.parquet`` (25 training rows of raw inputs) and
the outputs the old code computed from them (``*.expected.json``).
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

import featureplat as fp

pytestmark = [
    # MLflow's own modules warn about their pydantic type hints when first imported.
    pytest.mark.filterwarnings("ignore:.*Any type hint is inferred as AnyType:UserWarning"),
    # The stored model's code is the old one, whose predict has no type hints: as stored.
    pytest.mark.filterwarnings("ignore:.*Add type hints to the `predict` method:UserWarning"),
]

ART = Path(__file__).parent / "artifacts"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def _decode(v):
    if isinstance(v, dict) and set(v) == {"f"}:
        return float(v["f"])
    if isinstance(v, dict) and set(v) == {"t"}:
        return EPOCH + dt.timedelta(microseconds=v["t"])
    return v


def _bits(values: list) -> list:
    return [np.float64(v).view(np.uint64).item() if isinstance(v, float) else v for v in values]


def test_stored_on_demand_view_source_serves_the_same_vectors():
    source = (ART / "odfv_churn_features_fp.py.txt").read_text()
    assert "from featureplat.feast_adapter import run_plan" in source  # the pre-layout path
    expected = json.loads((ART / "odfv_churn_features_fp.expected.json").read_text())
    rows = pq.read_table(ART / "churn_inputs.parquet").to_pylist()
    inputs = {feast_name: [r[name] for r in rows] for name, feast_name in expected["bindings"]}
    namespace: dict = {}
    # What Feast does with the stored transformation when it rebuilds the view.
    exec(compile(source, "<stored on-demand view>", "exec"), namespace)  # noqa: S102 - a pinned fixture
    out = namespace["churn_features_fp"](inputs)
    assert list(out) == list(expected["outputs"])
    for feature, values in expected["outputs"].items():
        want = [_decode(v) for v in values]
        assert _bits(out[feature]) == _bits(want), feature
    # Singleton mode (one value per input) gives the same first row.
    one = namespace["churn_features_fp"]({k: v[0] for k, v in inputs.items()})
    assert _bits([one[f] for f in out]) == _bits([out[f][0] for f in out])


@pytest.fixture(scope="module")
def stored_model(tmp_path_factory):
    import mlflow  # a declared dependency: missing, this fails rather than skips
    # A copy: loading compiles the model's code file, which must not write into the repo.
    local = tmp_path_factory.mktemp("golden_model") / "model_churn"
    shutil.copytree(ART / "model_churn", local)
    return mlflow.pyfunc.load_model(str(local)), local


def test_stored_model_loads_and_predicts_the_same(stored_model):
    model, _ = stored_model
    expected = json.loads((ART / "model_churn.expected.json").read_text())
    table = pq.read_table(ART / "churn_inputs.parquet")
    got = np.asarray(model.predict(table.to_pandas()), dtype=np.float64)
    want = np.array([float(p) for p in expected["predictions"]])
    assert got.tobytes() == want.tobytes()


def test_stored_model_plan_computes_the_same_vectors(stored_model):
    _, local = stored_model
    expected = json.loads((ART / "model_churn.expected.json").read_text())
    plan = fp.load_plan(local / "artifacts" / "plan.fpplan")
    assert plan.plan_hash == expected["plan_hash"]
    assert plan.features == expected["features"]
    table = pq.read_table(ART / "churn_inputs.parquet")
    got = plan.transform(table, to="numpy")
    want = np.array([[float(x) for x in r] for r in expected["vectors"]])
    assert got.tobytes() == want.tobytes()
    for i, row in enumerate(table.to_pylist()):
        assert plan.transform_row(row, to="numpy").tobytes() == want[i].tobytes()
