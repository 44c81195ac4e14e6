"""Coverage-guided fuzzing of the plan loader (atheris).

Property: whatever bytes arrive, ``plan_from_bytes`` returns a plan or raises PlanError,
and a plan it returns runs a row of nulls raising only featureplat errors: never another
exception, a crash, a hang or an unbounded allocation (libFuzzer's -rss_limit_mb and
-timeout catch those).

Half the inputs are used as whole files; the other half as a plan body wrapped in a
valid header (magic, version, length, sha256), so the JSON, canonical-form, document and
binder checks are reached instead of stopping at the checksum.

    python fuzz/fuzz_plan_loader.py -max_total_time=60              # CI: the seeds (a copy)
    python fuzz/fuzz_plan_loader.py -max_total_time=3600 my_corpus   # longer, keeping a corpus

``./dev fuzz [seconds]`` runs every fuzz target for that long. Seeds: the golden plans.
"""
from __future__ import annotations

import hashlib
import shutil
import sys
import tempfile
from pathlib import Path

import atheris

import featureplat as fp
from featureplat.plan import plan as plan_file

HERE = Path(__file__).resolve().parent
SEEDS = HERE / "corpus" / "plan_loader"


def _wrapped(body: bytes) -> bytes:
    return plan_file._HEADER.pack(plan_file.MAGIC, fp.FORMAT_VERSION, len(body), hashlib.sha256(body).digest()) + body


def test_one_input(data: bytes) -> None:
    if not data:
        return
    blob = data[1:] if data[0] & 1 else _wrapped(data[1:])
    try:
        plan = fp.plan_from_bytes(blob, "fuzz input")
    except fp.PlanError:
        return
    try:
        plan.transform_row({name: None for name in plan.input_names})
    except fp.FeatureplatError:
        pass


def main() -> None:
    args = list(sys.argv)
    corpus = [a for a in args[1:] if not a.startswith("-")]
    work = None
    if not corpus or Path(corpus[0]).resolve() == SEEDS:
        # Never grow the committed seeds: fuzz a temporary copy.
        work = Path(tempfile.mkdtemp(prefix="fuzz_plan_loader_"))
        for seed in SEEDS.iterdir():
            # The seeds are whole files: mark them as such (odd first byte).
            (work / seed.name).write_bytes(b"\x01" + seed.read_bytes())
        args = [a for a in args if a not in corpus] + [str(work)]
    atheris.instrument_all()
    atheris.Setup(args, test_one_input)
    try:
        atheris.Fuzz()
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
