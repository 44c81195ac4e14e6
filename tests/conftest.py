import os

import pytest


def pytest_report_header(config):
    mode = "row path (FEATUREPLAT_FORCE_ROW=1)" if os.environ.get("FEATUREPLAT_FORCE_ROW") not in (None, "", "0") \
        else "batch path"
    return f"featureplat transform mode: {mode}"


@pytest.fixture
def force_row() -> bool:
    return os.environ.get("FEATUREPLAT_FORCE_ROW") not in (None, "", "0")
