"""``featureplat training-set --out``: the file under the final name is always whole. A
build SIGKILLed while writing (4 of 5 kills used to leave a corrupt parquet over the
earlier good file) leaves the earlier file, or no file when there was none; a build killed
after the rename leaves the complete new one. A normal run leaves no temporary file."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from featureplat.plan.files import read_parquet
from tests.feast.conftest import copy_repo

# Runs the CLI with one step of the output write made to block (after it writes a marker
# file), so the test can SIGKILL the build exactly there.
RUNNER = r"""
import os, sys, time

point, marker, out = sys.argv[1], sys.argv[2], os.path.realpath(sys.argv[3])
folder = os.path.dirname(out)


def block():
    with open(marker, "w"):
        pass
    time.sleep(600)


if point == "mid-write":  # half the rows are in the file being written
    import pyarrow.parquet as pq

    write_table = pq.ParquetWriter.write_table

    def half_then_block(self, table, row_group_size=None):
        write_table(self, table.slice(0, table.num_rows // 2), row_group_size)
        block()

    pq.ParquetWriter.write_table = half_then_block
elif point == "after-rename":  # the folder's fsync, after the rename
    fsync = os.fsync

    def blocking_fsync(fd):
        if os.path.realpath(f"/proc/self/fd/{fd}") == folder:
            block()
        fsync(fd)

    os.fsync = blocking_fsync
elif point == "before-rename":
    replace = os.replace

    def blocking_replace(src, dst, **kw):
        if os.path.realpath(dst) == out:
            block()
        replace(src, dst, **kw)

    os.replace = blocking_replace
else:
    raise SystemExit(f"unknown point {point}")

from featureplat.cli import main

main(sys.argv[4:], prog_name="featureplat")
"""

# (kill point, whether an earlier good file exists, what the final name must hold after the kill)
CASES = [
    ("mid-write", True, "earlier"),
    ("mid-write", False, "absent"),
    ("before-rename", True, "earlier"),
    ("after-rename", True, "new"),
]


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    from featureplat.examples.churn import generate
    from featureplat.feast.repo import apply

    repo = copy_repo(tmp_path_factory.mktemp("killed") / "feature_repo")
    generate(repo / "data", customers=200, days=30)
    apply(repo)
    return repo


def _command(repo: Path, entity: Path, out: Path, *extra: str) -> list[str]:
    return ["training-set", "churn_features", str(entity), "--repo", str(repo), "--label", "churned",
            "--out", str(out), *extra]


def test_a_killed_build_never_leaves_a_torn_file_under_the_final_name(repo, tmp_path):
    labels = pq.read_table(repo / "data" / "churn_labels.parquet")
    few, many = tmp_path / "few.parquet", tmp_path / "many.parquet"
    pq.write_table(labels.slice(0, 50), few)
    pq.write_table(labels, many)

    # The earlier good file: a normal run, which leaves nothing but its outputs.
    good_dir = tmp_path / "good"
    good_dir.mkdir()
    res = subprocess.run([sys.executable, "-m", "featureplat.cli", *_command(
        repo, few, good_dir / "train.parquet", "--plan-out", str(good_dir / "plan.fpplan"))],
        capture_output=True, text=True, timeout=600, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert sorted(p.name for p in good_dir.iterdir()) == ["plan.fpplan", "train.parquet"]
    earlier = (good_dir / "train.parquet").read_bytes()
    assert read_parquet(good_dir / "train.parquet").num_rows == 50

    runs = []
    for i, (point, has_earlier, _) in enumerate(CASES):
        folder = tmp_path / f"kill{i}"
        folder.mkdir()
        out = folder / "train.parquet"
        if has_earlier:
            out.write_bytes(earlier)
        marker = tmp_path / f"kill{i}.reached"
        proc = subprocess.Popen([sys.executable, "-c", RUNNER, point, str(marker), str(out),
                                 *_command(repo, many, out)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        runs.append((point, has_earlier, out, marker, proc))

    deadline = time.monotonic() + 600
    failures = []
    for (point, has_earlier, out, marker, proc), (_, _, expect) in zip(runs, CASES):
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        reached = marker.exists()
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        output = proc.communicate(timeout=60)[0]
        case = f"{point} ({'over an earlier file' if has_earlier else 'no earlier file'})"
        if not reached:
            failures.append(f"{case}: the build never reached the kill point (exit {proc.returncode}): "
                            f"{output[-2000:]}")
            continue
        assert proc.returncode == -signal.SIGKILL, case
        if expect == "absent":
            ok = not out.exists()
        elif expect == "earlier":
            ok = out.exists() and out.read_bytes() == earlier
        else:
            ok = out.exists() and read_parquet(out).num_rows == labels.num_rows
        if not ok:
            state = "absent" if not out.exists() else f"{out.stat().st_size} bytes"
            failures.append(f"{case}: expected the {expect} file under the final name, found {state}")
    assert failures == []
