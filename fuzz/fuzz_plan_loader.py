"""Coverage-guided fuzzing of the plan loader (atheris).

Property: whatever bytes arrive, ``plan_from_bytes`` returns a plan or raises a PlanError
that one of its checks names (a PlanError from the loader's safety net, marked
``unexpected``, is a finding too), and a plan it returns runs rows of nulls and edge
values, one at a time and as a batch, raising only featureplat errors: never another
exception, a crash, a hang or an unbounded allocation (libFuzzer's -rss_limit_mb and
-timeout catch those).

Inputs starting with an odd byte are whole files; the others are a plan body wrapped in a
valid header (magic, version, length, sha256), so the JSON, canonical-form, document and
binder checks are reached instead of stopping at the checksum. A structure-aware mutator
edits the parsed body of half of those (a value, a key, an op, a step id, a scalar) and
writes it back canonically, so mutations get past the canonical-text check to the schema
walk and the core's binder; the other mutations are libFuzzer's own, on the bytes.

    python fuzz/fuzz_plan_loader.py -max_total_time=60              # CI: the seeds (a copy)
    python fuzz/fuzz_plan_loader.py -max_total_time=3600 my_corpus   # longer, keeping a corpus

``./dev fuzz [seconds]`` runs every fuzz target for that long. Seeds: the golden plans.
"""
from __future__ import annotations

import copy
import hashlib
import json
import random
import shutil
import sys
import tempfile
from pathlib import Path

import atheris

import featureplat as fp
from featureplat import _core
from featureplat.plan import plan as plan_file

HERE = Path(__file__).resolve().parent
SEEDS = HERE / "corpus" / "plan_loader"

OPS = [o["name"] for o in _core.ops()]
DTYPES = ["null", "bool", "int64", "float64", "float32", "string", "timestamp", "int32", ""]
# Values the mutator puts anywhere in a document.
ODD_VALUES = [None, True, False, 0, -1, 1, 2**31, 2**63 - 1, 2**63, -2**63 - 1, 2**64, "", "x", "nan", "1e-1",
              "0.1", "-0.0", "inf", "\x00", "é", [], {}, [[[]]], {"dtype": "int64"}, {"dtype": "int64", "value": 1},
              {"dtype": "float64", "value": "nan"}, {"dtype": "string", "value": "k"}, {"dtype": "null", "value": None},
              {"dtype": "bool", "value": 1}, [{"dtype": "int64", "value": 2}] * 3]
# Row values per declared input type: nulls and the edges of each type.
ROW_VALUES = {
    "bool": [None, True, False],
    "int64": [None, 0, -1, 2**63 - 1, -2**63],
    "float64": [None, 0.0, -0.0, float("nan"), float("inf"), -1e308],
    "float32": [None, 0.0, float("nan"), 3.4e38],
    "string": [None, "", "ü😀", "x" * 300],
    "timestamp": [None, 0, -2**63, 2**63 - 1],
}


def _wrapped(body: bytes) -> bytes:
    return plan_file._HEADER.pack(plan_file.MAGIC, fp.FORMAT_VERSION, len(body), hashlib.sha256(body).digest()) + body


def _run_rows(plan: fp.Plan) -> None:
    """Rows of nulls and edge values, one at a time and as one batch."""
    inputs = plan.inputs
    width = max(len(ROW_VALUES.get(i["dtype"], [None])) for i in inputs) if inputs else 1
    rows = [{i["name"]: ROW_VALUES.get(i["dtype"], [None])[k % len(ROW_VALUES.get(i["dtype"], [None]))]
             for i in inputs} for k in range(width)]
    for row in rows:
        try:
            plan.transform_row(row)
        except fp.FeatureplatError:
            pass
    try:
        plan.transform({i["name"]: [r[i["name"]] for r in rows] for i in inputs})
    except fp.FeatureplatError:
        pass


def test_one_input(data: bytes) -> None:
    if not data:
        return
    blob = data[1:] if data[0] & 1 else _wrapped(data[1:])
    try:
        plan = fp.plan_from_bytes(blob, "fuzz input")
    except fp.PlanError as err:
        if getattr(err, "unexpected", False):
            raise  # a defect no check of the loader names: its safety net caught it
        return
    if plan.needs_fit:
        return
    _run_rows(plan)


def _nodes(value, out):
    """Every container of a parsed document, with a way to replace its children."""
    if isinstance(value, dict):
        out.append(value)
        for v in value.values():
            _nodes(v, out)
    elif isinstance(value, list):
        out.append(value)
        for v in value:
            _nodes(v, out)
    return out


def _odd(rng: random.Random):
    return copy.deepcopy(rng.choice(ODD_VALUES))  # never a container shared with the document


def _edit(doc, rng: random.Random) -> None:
    node = rng.choice(_nodes(doc, []))
    kind = rng.randrange(8)
    if isinstance(node, dict) and node:
        key = rng.choice(list(node))
        if kind == 0:
            del node[key]
        elif kind == 1:
            node[rng.choice(["op", "args", "params", "dtype", "value", "name", "step", "index", "keys", "extra"])] = \
                _odd(rng)
        elif kind == 2 and key == "op":
            node[key] = rng.choice(OPS)
        elif kind == 3 and key == "dtype":
            node[key] = rng.choice(DTYPES)
        elif kind == 4 and isinstance(node[key], int) and not isinstance(node[key], bool):
            node[key] = node[key] + rng.choice([-2, -1, 1, 2, 1000])
        else:
            node[key] = _odd(rng)
    elif isinstance(node, list):
        if kind < 3 and node:
            node.append(copy.deepcopy(node[rng.randrange(len(node))]))
        elif kind < 5 and len(node) > 1:
            i, j = rng.randrange(len(node)), rng.randrange(len(node))
            node[i], node[j] = node[j], node[i]
        elif kind < 6 and node:
            del node[rng.randrange(len(node))]
        else:
            node.insert(rng.randint(0, len(node)), _odd(rng))


def mutate(data: bytes, max_size: int, seed: int) -> bytes:
    """Half the wrapped bodies get a structural edit written back canonically; the rest
    libFuzzer's byte mutations."""
    rng = random.Random(seed)
    if data and not data[0] & 1 and rng.random() < 0.5:
        try:
            doc = json.loads(data[1:])
        except (ValueError, RecursionError):
            doc = None
        if isinstance(doc, (dict, list)):
            try:
                for _ in range(rng.randint(1, 3)):
                    _edit(doc, rng)
                body = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
                    "utf-8", "surrogatepass")
            except (ValueError, RecursionError):
                body = None
            if body is not None and len(body) + 1 <= max_size:
                return b"\x00" + body
    return atheris.Mutate(data, max_size)


def main() -> None:
    args = list(sys.argv)
    corpus = [a for a in args[1:] if not a.startswith("-")]
    work = None
    if not corpus or Path(corpus[0]).resolve() == SEEDS:
        # Never grow the committed seeds: fuzz a temporary copy.
        work = Path(tempfile.mkdtemp(prefix="fuzz_plan_loader_"))
        for seed in SEEDS.iterdir():
            # Each seed twice: as a whole file (odd first byte) and as a body to wrap.
            (work / seed.name).write_bytes(b"\x01" + seed.read_bytes())
            (work / (seed.name + ".body")).write_bytes(b"\x00" + seed.read_bytes()[plan_file._HEADER.size:])
        args = [a for a in args if a not in corpus] + [str(work)]
    atheris.instrument_all()
    atheris.Setup(args, test_one_input, custom_mutator=mutate)
    try:
        atheris.Fuzz()
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
