"""README.md's examples run as written, on the embedded default (SQLite online store,
local registry, SQLite MLflow), in a temporary directory holding a copy of
``feature_repo/`` (its definitions; the README generates the data).

Convention: a fenced block right after the line ``<!-- test: run -->`` is runnable. The
runnable blocks run in document order: ``python`` blocks in one namespace, as in one
session (in this process, with the working directory at the copy); ``bash`` blocks each
in a fresh ``bash -euo pipefail`` there, with ``.venv/bin`` first on ``PATH`` and ``PORT``
a free port. Every ``python`` block must be runnable, so no example goes untested."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.feast.conftest import copy_repo
from tests.lineage.conftest import forget_tracking

README = Path(__file__).resolve().parents[1] / "README.md"
MARKER = "<!-- test: run -->"
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)

pytestmark = [
    # MLflow's SQLAlchemy store uses a loader strategy SQLAlchemy has deprecated.
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated"),
    # Importing mlflow.pyfunc infers a schema for MLflow's own ResponsesAgentRequest.
    pytest.mark.filterwarnings("ignore:.*Any type hint is inferred as AnyType:UserWarning"),
    # Feast's own notice when an on-demand view is applied (the README's adapter example).
    pytest.mark.filterwarnings("ignore:On demand feature view is an experimental feature:RuntimeWarning"),
]


@dataclass
class Block:
    lang: str
    code: str
    line: int  # of the opening fence, 1-based
    runnable: bool


def readme_blocks(text: str) -> list[Block]:
    """The README's fenced blocks, each with its language and whether it is marked runnable."""
    out = []
    for m in _FENCE.finditer(text):
        before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        out.append(Block(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1, before.strip() == MARKER))
    return out


BLOCKS = readme_blocks(README.read_text())


def test_the_convention_finds_the_examples():
    runnable = [b for b in BLOCKS if b.runnable]
    assert len([b for b in runnable if b.lang == "python"]) >= 8 and len([b for b in runnable if b.lang == "bash"]) >= 5
    assert not [b.line for b in BLOCKS if b.lang == "python" and not b.runnable], "a python example no test runs"
    assert all(b.lang in ("python", "bash") for b in runnable)
    markers = [line for line in README.read_text().splitlines() if line.strip() == MARKER]
    assert len(markers) == len(runnable), "a marker not right before a fence"
    # The quick start stays the two commands.
    assert BLOCKS[0].code == "./dev demo\n./dev test\n" and not BLOCKS[0].runnable


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_bash(block: Block, cwd: Path, env: dict) -> None:
    proc = subprocess.Popen(["bash", "-euo", "pipefail", "-c", block.code], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=600)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # a server the block left behind
        except ProcessLookupError:
            pass
    assert proc.returncode == 0, f"README.md line {block.line} (bash) failed:\n{block.code}\n--- output ---\n{out}"


def test_readme_examples_run(tmp_path, monkeypatch):
    copy_repo(tmp_path / "feature_repo")
    monkeypatch.chdir(tmp_path)
    forget_tracking(monkeypatch)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    namespace: dict = {"__name__": "readme"}
    ran = 0
    for block in BLOCKS:
        if not block.runnable:
            continue
        if block.lang == "python":
            code = compile(block.code, f"README.md:{block.line}", "exec")
            exec(code, namespace)  # noqa: S102 - the README's own examples
        else:
            _run_bash(block, tmp_path, {**env, "PORT": str(_free_port())})
        ran += 1
    assert ran == len([b for b in BLOCKS if b.runnable])
    # What the examples promise: the repo's tracking database, none in the working directory.
    assert (tmp_path / "feature_repo" / "data" / "mlflow.db").is_file()
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "mlruns").exists()
