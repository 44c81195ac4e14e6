"""The main job (``featureplat demo``, featureplat/cli/demo.py) on a copy of the repo: it
runs end to end and its output carries no warning -- ours are fixed (the pyfunc's
``predict`` has type hints MLflow accepts), third-party deprecations are silenced for
the demo run only, by message and category."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings

import pytest

from featureplat.cli.demo import THIRD_PARTY_WARNINGS, third_party_warnings_silenced
from tests.feast.conftest import copy_repo


def test_demo_output_carries_no_warning(tmp_path):
    repo = copy_repo(tmp_path / "feature_repo")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_") and k != "PYTHONWARNINGS"}
    res = subprocess.run([sys.executable, "-m", "featureplat.cli", "demo", "--repo", str(repo), "--customers", "200",
                          "--out", str(tmp_path / "out")], check=False, capture_output=True, text=True, timeout=900, cwd=cwd,
                         env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "[check] native join vs Feast get_historical_features" in res.stdout
    assert "identical bit for bit" in res.stdout and "DIFFERENT" not in res.stdout
    assert re.search(r"\[serve\] .* (\d+)/\1 online vectors equal their training rows", res.stdout)
    assert "aliases ['champion']" in res.stdout
    warned = [line for line in (res.stdout + res.stderr).splitlines() if re.search(r"warn", line, re.IGNORECASE)]
    assert warned == []
    assert list(cwd.iterdir()) == []  # MLflow tracked in the repo, not in the working directory


def test_the_demo_filters_are_scoped_and_specific():
    message, category = THIRD_PARTY_WARNINGS[0]
    text = message.replace("\\", "")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with third_party_warnings_silenced():
            warnings.warn(text, category)  # silenced
            warnings.warn(text, UserWarning)  # same message, another category: shown
            warnings.warn("some other deprecation", DeprecationWarning)  # shown
        warnings.warn(text, category)  # after the demo: shown again
    assert [(str(w.message), w.category) for w in caught] == [
        (text, UserWarning), ("some other deprecation", DeprecationWarning), (text, category)]
    # Each filter names one message (no catch-all) and a category.
    assert THIRD_PARTY_WARNINGS and all(m and not m.startswith(".*") and issubclass(c, Warning)
                                        for m, c in THIRD_PARTY_WARNINGS)


@pytest.mark.parametrize("message, category", THIRD_PARTY_WARNINGS)
def test_each_silenced_warning_is_matched_by_its_filter(message, category):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with third_party_warnings_silenced():
            warnings.warn(message.replace("\\", "") + " (details)", category)
    assert caught == []
