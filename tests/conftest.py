import os

import pytest


def pytest_report_header(config):
    mode = "row path (FEATUREPLAT_FORCE_ROW=1)" if os.environ.get("FEATUREPLAT_FORCE_ROW") not in (None, "", "0") \
        else "batch path"
    return f"featureplat transform mode: {mode}"


@pytest.fixture
def force_row() -> bool:
    return os.environ.get("FEATUREPLAT_FORCE_ROW") not in (None, "", "0")


def pytest_collection_modifyitems(config, items):
    """Tests marked ``slow`` (big memory or minutes) run only when asked for: with
    ``FEATUREPLAT_SLOW=1`` or a ``-m`` expression. Each has a bounded variant that runs
    by default and checks the same rule."""
    if os.environ.get("FEATUREPLAT_SLOW") not in (None, "", "0") or config.getoption("markexpr"):
        return
    skip = pytest.mark.skip(reason="slow: run with FEATUREPLAT_SLOW=1 or -m slow")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)
