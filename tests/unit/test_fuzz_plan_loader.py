"""The plan-loader fuzz target's property holds on its seeds and on hostile variants
(the coverage-guided run itself is ``./dev fuzz``)."""
from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import atheris  # noqa: F401 - requirements-dev.txt: missing, this fails rather than skips

TARGET = Path(__file__).resolve().parents[2] / "fuzz" / "fuzz_plan_loader.py"
spec = importlib.util.spec_from_file_location("fuzz_plan_loader", TARGET)
target = importlib.util.module_from_spec(spec)
spec.loader.exec_module(target)


def test_seeds_load_and_run():
    seeds = sorted(target.SEEDS.iterdir())
    assert len(seeds) >= 5
    for seed in seeds:
        target.test_one_input(b"\x01" + seed.read_bytes())


def test_mutated_bodies_raise_only_plan_errors():
    rng = random.Random(11)
    bodies = [s.read_bytes()[target.plan_file._HEADER.size:] for s in sorted(target.SEEDS.iterdir())]
    for _ in range(3000):
        body = bytearray(rng.choice(bodies))
        for _ in range(rng.randint(1, 8)):
            body[rng.randrange(len(body))] = rng.randrange(256)
        target.test_one_input(b"\x00" + bytes(body))  # wrapped in a valid header
    target.test_one_input(b"\x00" + b"[" * 100_000)
    target.test_one_input(b"\x00" + b'{"meta":{},"plan":{"name":"\\ud800"}}')
