"""Parity over every registered op: the batch result equals each row run alone through
the row path, any slicing and chunking, any thread count and the empty batch, bit for
bit. The cases are collected from the registry, so a new op cannot escape."""
import itertools

import numpy as np
import pyarrow as pa
import pytest

import featureplat as fp
from featureplat import _core
from featureplat.plan.inputs import to_batches
from featureplat.testing.parity import assert_identical

DTYPES = ["bool", "int64", "float64", "string", "timestamp"]
ARROW = {"bool": pa.bool_(), "int64": pa.int64(), "float64": pa.float64(), "string": pa.string(),
         "timestamp": pa.timestamp("us", tz="UTC")}
EDGE = {
    "float64": [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 2.5, float("nan"), float("inf"), float("-inf"), 1e308, -1e308,
                5e-324, 1e16, 123.456, 1e-7, None],
    "int64": [0, 1, -1, 2, -7, 3, 2**63 - 1, -(2**63), 2**53 + 1, 10**15, None],
    "bool": [True, False, None],
    "string": ["", "a", "Ab", " x\t", "é", "日本語", "Lisbon", "42", "-3.5e2", "true", "nan", "0", None],
    "timestamp": [0, -1, 1, 10**15, -(10**15), 2**63 - 1, -(2**63), 253_402_300_799_999_999,
                  -62_135_596_800_000_000, 1_700_000_000_123_456, None],
}
MAP_KEYS = {"string": ["a", "Lisbon", "", "é"], "int64": [0, 1, -1, 2**63 - 1], "bool": [True]}

# Parameters for ops that take them; an op with required params and no entry fails below.
PARAMS = {
    "round": [{"ndigits": 0}, {"ndigits": 2}, {"ndigits": -1}],
    "clip": [{"lo": 0, "hi": 10}, {"lo": -1.5, "hi": None}],
    "cast": [{"dtype": d} for d in DTYPES],
    "str_contains": [{"pattern": "a"}, {"pattern": ""}],
    "str_starts_with": [{"pattern": "L"}, {"pattern": "é"}],
    "str_ends_with": [{"pattern": "n"}, {"pattern": ""}],
    "hash_bucket": [{"n": 7}, {"n": 1000}],
    "bucketize": [{"boundaries": [-1.0, 0.0, 2.5, 100.0]}],
    "quantile_bucketize": [{"n": 4}, {"n": 10}],
    "impute": [{"strategy": "mean"}, {"strategy": "median"}, {"strategy": "most_frequent"}],
    "vocabulary": [{"top_k": None, "min_frequency": 1, "num_oov_buckets": 3, "order": "frequency"},
                   {"top_k": 2, "min_frequency": 2, "num_oov_buckets": 0, "order": "value"}],
    "one_hot": [{"top_k": None, "min_frequency": 1, "order": "value"}],
    "map": [{"keys": "by-arg", "values": [1.5, float("nan"), -0.0, None], "default": 9.0},
            {"keys": "by-arg", "values": ["x", "y", "z", "w"], "default": None}],
}


def _random_column(dtype: str, n: int, rng: np.random.Generator) -> list:
    if dtype == "float64":
        vals = list(rng.normal(0, 10, n))
    elif dtype == "int64":
        vals = [int(v) for v in rng.integers(-100, 100, n)]
    elif dtype == "bool":
        vals = [bool(v) for v in rng.random(n) < 0.5]
    elif dtype == "string":
        vals = [str(v) for v in rng.choice(["a", "bb", "Lisbon", " é ", "", "42"], n)]
    else:
        vals = [int(v) for v in rng.integers(-(10**16), 10**16, n)]
    return [None if rng.random() < 0.1 else v for v in vals]


def _table(dtypes: list[str], seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    cols = {}
    # Edge values are crossed between arguments (every pair for two arguments).
    edges = [EDGE[d] for d in dtypes]
    if len(dtypes) <= 2:
        combos = list(itertools.product(*edges))
    else:
        combos = list(itertools.islice(zip(*[itertools.cycle(e) for e in edges]), 200))
    for k, d in enumerate(dtypes):
        vals = [c[k] for c in combos] + _random_column(d, 300, rng)
        cols[f"a{k}"] = pa.array(vals, ARROW[d])
    return pa.table(cols)


def _param_scalar(v, dtype_hint=None):
    return fp.lit(v).params["value"] if v is not None else {"dtype": dtype_hint or "null", "value": None}


def _plan(op: str, dtypes: list[str], params: dict) -> fp.Plan:
    steps = [{"op": "input", "args": [], "params": {"index": {"dtype": "int64", "value": k}}}
             for k in range(len(dtypes))]
    p = {}
    for name, v in params.items():
        if name == "keys":
            p[name] = [_param_scalar(x) for x in MAP_KEYS[dtypes[0]]]
        elif isinstance(v, list):
            p[name] = [_param_scalar(x) for x in v]
        else:
            p[name] = _param_scalar(v)
    if op == "map":
        p["values"] = p["values"][: len(p["keys"])]
    if op != "input":  # the input op alone: the feature is the converted input itself
        steps.append({"op": op, "args": list(range(len(dtypes))), "params": p})
    raw = {"inputs": [{"name": f"a{k}", "dtype": d} for k, d in enumerate(dtypes)], "steps": steps,
           "outputs": [{"name": "out", "step": len(steps) - 1}]}
    norm = _core.optimize(raw)
    return fp.Plan({"format_version": fp.FORMAT_VERSION, "name": op, "fitted": [],
                    "inputs": [{**i, "source": "request"} for i in raw["inputs"]],
                    "steps": norm["steps"], "outputs": norm["outputs"]})


def _cases_for(op: dict) -> list[tuple]:
    name = op["name"]
    if name == "input":
        return [(d, [d], {}) for d in DTYPES]
    lo = op["min_args"]
    hi = op["max_args"] if op["max_args"] >= 0 else lo + 1
    param_sets = PARAMS.get(name, [{}])
    cases = []
    for arity in range(max(lo, 0), hi + 1):
        if arity == 0:
            continue
        for dtypes in itertools.product(DTYPES, repeat=arity):
            for params in param_sets:
                if name == "map" and dtypes[0] not in MAP_KEYS:
                    continue
                try:
                    _plan(name, list(dtypes), params)
                except fp.PlanError:  # FeatureTypeError included: not a signature of this op
                    continue
                cases.append(("-".join(dtypes) + (f"-{params}" if params else ""), list(dtypes), params))
    return cases


REGISTRY = _core.ops()
ALL_CASES = {o["name"]: _cases_for(o) for o in REGISTRY if o["name"] != "const"}


def test_registry_is_covered():
    assert len(REGISTRY) >= 50
    missing = [name for name, cases in ALL_CASES.items() if not cases]
    assert not missing, f"ops with no parity case (add PARAMS or dtypes): {missing}"


def _check_paths(plan: fp.Plan, table: pa.Table, context: str) -> None:
    batch = plan.transform(table)
    rows = plan._transform_rows(to_batches(table, plan.input_names), "arrow")
    assert_identical(batch, rows, f"{context}: batch vs each row alone")
    for size in (1, 7, 64, 1000):
        chunked = pa.Table.from_batches(table.to_batches(max_chunksize=size))
        assert_identical(plan.transform(chunked), batch, f"{context}: batches of {size}")
    assert_identical(plan.transform(table, threads=2), batch, f"{context}: 2 threads")
    for start, length in ((0, 1), (3, 17), (table.num_rows - 5, 5)):
        assert_identical(plan.transform(table.slice(start, length)), batch.slice(start, length),
                         f"{context}: slice {start}+{length}")
    empty = plan.transform(table.slice(0, 0))
    assert empty.num_rows == 0 and empty.schema == batch.schema


@pytest.mark.parametrize("op", sorted(ALL_CASES))
def test_op_parity(op):
    cases = ALL_CASES[op]
    assert cases, f"{op}: no cases"
    ran = 0
    for label, dtypes, params in cases:
        plan = _plan(op, dtypes, params)
        table = _table(dtypes, seed=len(label))
        if plan.needs_fit:  # fitted ops: fit on the same data, then the fitted plan must agree
            plan = plan.fit(table)
            assert not plan.needs_fit
        _check_paths(plan, table, f"{op}[{label}]")
        ran += 1
    assert ran == len(cases) > 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_const_parity(dtype):
    value = next(v for v in EDGE[dtype] if v is not None)
    plan = fp.compile(fp.FeatureSet("c", inputs={"a0": fp.request(dtype)}, features={
        "c": fp.lit(value, "timestamp" if dtype == "timestamp" else None), "n": fp.lit(None, dtype)}))
    _check_paths(plan, _table([dtype], 1), f"const {dtype}")
