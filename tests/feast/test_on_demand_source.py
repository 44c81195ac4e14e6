"""The on-demand view's generated source: fixed text and the plan file in base64, nothing
else, so no plan field (name, input or feature names) can reach code position when Feast
executes the stored text (at apply and whenever it rebuilds the view from its registry)."""
from __future__ import annotations

import base64
import re

import pytest

import featureplat as fp
from featureplat.feast.on_demand import UDF_NAME, _udf, run_view, udf_source

SOURCE = re.compile(
    rf"def {UDF_NAME}\(inputs\):\n"
    r'    """A featureplat plan, compiled; run by featureplat\'s core \(the argument is the plan file, base64\)\."""\n'
    r"    from featureplat\.feast\.on_demand import run_view\n"
    r"    return run_view\('[A-Za-z0-9+/]+={0,2}', inputs\)\n")


def hostile_plan(marker) -> fp.Plan:
    payload = f'x"""\n__import__("pathlib").Path({str(marker)!r}).write_text("pwned")\n"""'
    quote = f"y'); __import__('pathlib').Path({str(marker)!r}).write_text('pwned'); ('"
    return fp.compile(fp.FeatureSet("hostile_names", inputs={
        payload: fp.request("float64"), quote: fp.feast("customer_activity:sessions_7d", "int64")},
        features={payload + "_out": fp.col(payload) * 2, quote + "_out": fp.col(quote) + 1}))


def test_source_is_fixed_text_and_base64(tmp_path):
    marker = tmp_path / "marker"
    plan = hostile_plan(marker)
    src = udf_source(plan)
    assert SOURCE.fullmatch(src), src[:300]
    blob = src.split("run_view('")[1].split("'")[0]
    assert base64.b64decode(blob, validate=True) == plan.to_bytes()
    for name in plan.input_names + plan.features:
        assert name not in src


def test_feast_executing_the_stored_source_runs_no_plan_text(tmp_path):
    import feast  # noqa: F401 - a declared dependency: missing, this fails rather than skips
    from feast.transformation.udf_rehydrate import rehydrate_udf_from_source

    marker = tmp_path / "marker"
    plan = hostile_plan(marker)
    src = udf_source(plan)
    fn = rehydrate_udf_from_source(src, preferred_name=UDF_NAME)  # what Feast does with a stored view
    assert fn is not None and fn.__name__ == UDF_NAME
    payload, quote = plan.input_names
    out = fn({payload: 2.0, "customer_activity__sessions_7d": 1})
    assert out == {payload + "_out": 4.0, quote + "_out": 2}
    assert not marker.exists()
    # The function the adapter hands Feast does the same, and refuses any other text.
    assert _udf(src)({payload: 2.0, "customer_activity__sessions_7d": 1}) == out
    with pytest.raises(fp.PlanError, match="not the fixed template"):
        _udf(src.replace("return run_view(", "print(1); return run_view("))
    assert not marker.exists()


def test_a_corrupted_embedded_plan_is_a_plan_error():
    with pytest.raises(fp.PlanError, match="not valid base64"):
        run_view("not base64!!", {})
    with pytest.raises(fp.PlanError, match="on-demand view plan: truncated plan file"):
        run_view(base64.b64encode(b"FPPLAN").decode(), {})
