"""Golden plan files: the serialization and the results of pinned definitions must not
change unless the plan format version is bumped."""
import json
import sys
from pathlib import Path

import pytest

import featureplat as fp
from featureplat.plan.plan import _HEADER

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from definitions import ALL, ROWS, plan_for  # noqa: E402

NAMES = sorted(ALL)
assert NAMES, "no golden definitions"


def _plan_part(blob: bytes) -> dict:
    return json.loads(blob[_HEADER.size:])["plan"]


@pytest.mark.parametrize("name", NAMES)
def test_golden_file_loads_and_matches_its_hash(name):
    plan = fp.load_plan(HERE / f"{name}.fpplan")
    expected = json.loads((HERE / f"{name}.expected.json").read_text())
    assert plan.plan_hash == expected["plan_hash"]


@pytest.mark.parametrize("name", NAMES)
def test_serialization_unchanged_without_version_bump(name):
    golden = (HERE / f"{name}.fpplan").read_bytes()
    version = _HEADER.unpack_from(golden)[1]
    fresh = plan_for(name)
    if version != fp.FORMAT_VERSION:
        pytest.fail(f"golden {name} is format {version}, code writes {fp.FORMAT_VERSION}: regenerate the goldens "
                    "(python tests/golden/regenerate.py) as part of the version bump")
    assert _plan_part(fresh.to_bytes()) == _plan_part(golden), (
        f"compiling {name} no longer gives the golden plan although the format version is still {version}: "
        "bump PLAN_FORMAT_VERSION (cpp/include/featureplat/plan.h) and regenerate the goldens")
    assert fresh.plan_hash == fp.load_plan(HERE / f"{name}.fpplan").plan_hash


@pytest.mark.parametrize("name", NAMES)
def test_golden_results_unchanged(name):
    plan = fp.load_plan(HERE / f"{name}.fpplan")
    expected = json.loads((HERE / f"{name}.expected.json").read_text())["rows"]
    assert len(expected) == len(ROWS)
    for row, want in zip(ROWS, expected):
        got = plan._program.row_dict(dict(row), True)
        got = {k: (repr(v) if isinstance(v, float) else v) for k, v in got.items()}
        assert got == want, f"{name}: row {row}"
