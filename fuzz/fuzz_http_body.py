"""Coverage-guided fuzzing (atheris) of the HTTP server's body handler,
``featureplat.feast.http.handle``, against a small served repo (the churn example, SQLite
online store, built in a temporary folder at start).

Every input must give a status of 2xx, 4xx or 503 and a JSON document (encodable without
NaN) with no file path in it; an exception, a 500 or a path is a crash for libFuzzer.

    python fuzz/fuzz_http_body.py -max_total_time=60             # the seed corpus (a copy)
    python fuzz/fuzz_http_body.py -max_total_time=3600 my_corpus  # longer, keeping a corpus

Without a corpus folder the run starts from a temporary copy of ``fuzz/corpus/http_body``
(valid requests); with one, new inputs are written there and the seeds are read too. The
dictionary ``fuzz/http_body.dict`` (field names, JSON tokens) is used unless ``-dict=`` is
given. A crash input is written to the current folder (``crash-*``); replay it with
``python fuzz/fuzz_http_body.py crash-...``.
"""
from __future__ import annotations

import atexit
import datetime as dt
import inspect
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import featureplat.feast.http
import featureplat.feast.serving
import featureplat.feast.stores
from featureplat.examples.churn import START, generate
from featureplat.feast.http import Limits, handle
from featureplat.feast.repo import apply
from featureplat.feast.serving import OnlineFeatures
from featureplat.feast.training import training_set

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SEEDS = HERE / "corpus" / "http_body"
DICTIONARY = HERE / "http_body.dict"
CUSTOMERS, DAYS = 30, 21


def served_repo(dest: Path):
    """The churn repo in ``dest`` with a little data, applied, materialized into SQLite and
    fitted: an OnlineFeatures over it."""
    shutil.copytree(ROOT / "feature_repo", dest, ignore=shutil.ignore_patterns("data", "__pycache__"))
    generate(dest / "data", customers=CUSTOMERS, days=DAYS)
    store = apply(dest).store
    store.materialize(dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc), START + dt.timedelta(days=DAYS + 1))
    plan = training_set(store, "churn_features", dest / "data" / "churn_labels.parquet", label="churned").plan
    return OnlineFeatures(store, plan)


class Target:
    """The property every body must keep, over one served repo."""

    def __init__(self, serving, folder: Path):
        self.serving, self.handle = serving, handle
        self.limits = Limits(max_entities=64)  # the checks, not the volume, are under test
        self.private = sorted({str(folder), os.path.realpath(folder), str(serving.store.repo_path)}, key=len)

    def __call__(self, data: bytes) -> tuple[int, dict]:
        status, doc = self.handle(self.serving, data, self.limits)
        if not (200 <= status < 300 or 400 <= status < 500 or status == 503):
            raise AssertionError(f"status {status}: {doc}")
        text = json.dumps(doc, allow_nan=False)
        if status != 200 and not (set(doc) == {"error"} and isinstance(doc["error"], str) and doc["error"]):
            raise AssertionError(f"a {status} answer without an error message: {text[:300]}")
        for p in self.private:
            if p in text:
                raise AssertionError(f"the answer names {p}: {text[:300]}")
        return status, doc


def make_target() -> Target:
    folder = Path(tempfile.mkdtemp(prefix="fuzz_http_body_"))
    atexit.register(shutil.rmtree, folder, True)
    return Target(served_repo(folder / "repo"), folder)


def _instrument(atheris, modules) -> None:
    for module in modules:
        for obj in list(vars(module).values()):
            if getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj):
                atheris.instrument_func(obj)
            elif inspect.isclass(obj):
                for member in vars(obj).values():
                    for fn in (member, getattr(member, "fget", None), getattr(member, "__func__", None)):
                        if inspect.isfunction(fn):
                            atheris.instrument_func(fn)


def _scratch_copy() -> str:
    corpus = Path(tempfile.mkdtemp(prefix="fuzz_http_body_corpus_"))
    atexit.register(shutil.rmtree, corpus, True)
    for seed in SEEDS.iterdir():
        shutil.copy(seed, corpus / seed.name)
    return str(corpus)


def main(argv: list[str]) -> None:
    import atheris

    # The editable install imports featureplat through its own loader, which atheris's
    # import hook skips: the handler's modules are instrumented function by function.
    _instrument(atheris, [featureplat.feast.http, featureplat.feast.serving, featureplat.feast.stores])
    target = make_target()
    args = [_scratch_copy() if Path(a).resolve() == SEEDS else a for a in argv]  # the seeds stay as committed
    if not any(a.startswith("-dict=") for a in args[1:]):
        args.insert(1, f"-dict={DICTIONARY}")
    inputs = [a for a in args[1:] if not a.startswith("-")]
    if not inputs:  # no corpus folder nor input file: a copy of the seeds
        args.append(_scratch_copy())
    elif all(Path(a).is_dir() for a in inputs) and str(SEEDS) not in inputs:
        args.append(str(SEEDS))  # read the seeds too (libFuzzer writes only to the first folder)

    def one_input(data: bytes) -> None:
        target(data)

    atheris.Setup(args, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
