"""The HTTP body fuzz target (fuzz/fuzz_http_body.py) without atheris: its seed corpus is
valid (every seed answers 200) and its property holds on the inputs fuzzing and the audit
found, so a seed or the target cannot rot between fuzzing runs."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.feast.test_http import HOSTILE

FUZZ = Path(__file__).resolve().parents[2] / "fuzz"


def _load():
    spec = importlib.util.spec_from_file_location("fuzz_http_body", FUZZ / "fuzz_http_body.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def target():
    return _load().make_target()


def test_every_seed_is_a_valid_request(target):
    seeds = sorted((FUZZ / "corpus" / "http_body").iterdir())
    assert len(seeds) >= 5
    for seed in seeds:
        status, doc = target(seed.read_bytes())
        assert status == 200, (seed.name, doc)
    reports = [target(s.read_bytes())[1].get("report") for s in seeds]
    assert any(r and "found" in str(r) for r in reports), "no seed reaches a stored value"


@pytest.mark.parametrize("data", [body for body, _ in HOSTILE] + [
    b"", b"\xff\xfe", b"\x00", b"null", b'{"entities": {}}', b'{"entities": []}', b'{"entities": [{}]}',
    b'{"entities": {"customer_id": 1001, "region": "PT-LIS", "offer_discount_pct": 1e308, "channel": "app"}}',
    (b'{"entities": {"customer_id": 1001, "region": "PT-LIS", "offer_discount_pct": 1, "channel": "app"}, '
     b'"at": -9223372036854775808}'),
    (b'{"entities": {"customer_id": 1001, "region": "PT-LIS", "offer_discount_pct": 1, "channel": "app", '
     b'"event_timestamp": "9999-12-31T23:59:59+14:00"}}'),
    (b'{"entities": {"customer_id": 1001, "region": "PT-LIS", "offer_discount_pct": 1, "channel": "app", '
     b'"event_timestamp": 9223372036854775807}}'),
    b'{"entities": [{"customer_id": 1}], "request_data": {"x": 1}, "request_data": [1, 2]}',
    b'{"entities": {"customer_id": 1, "region": "P", "offer_discount_pct": true, "channel": 7}}',
    b'{"entities": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    b'{"entities": [' + b'{"customer_id": 1, "region": "P"},' * 64 + b"{}]}",  # over the target's 64 rows
])
def test_the_property_holds_on_hostile_bodies(target, data):
    status, doc = target(data)
    assert status != 200 or "values" in doc or "rows" in doc
