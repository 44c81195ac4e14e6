"""Peak memory of a streamed ``plan.fit``: run by hand.

    .venv/bin/python benchmarks/fit_memory.py [ROWS]          # default 50_000_000

Fits the 5-transform plan of ``test_bench_fit.py`` (standard_scale, robust_scale,
quantile_bucketize(10), vocabulary, impute("mean")) over ROWS rows fed as a generator of
1M-row pyarrow RecordBatches made on the fly (seeded per batch; all rows never exist at
once), and samples the resident set size every ~5M rows: ``VmRSS`` / ``VmHWM`` from
/proc/self/status and ``ru_maxrss`` from getrusage (the peak so far). The plan has no nested
fitted transform, so fit makes one pass and a one-shot generator is enough.

The quantile analyzers (robust_scale and quantile_bucketize: two here) hold their values
exactly up to ``exact_budget`` values each (default 10M), then switch to a KLL sketch, so
the run is repeated with ``exact_budget=1_000_000``. Each budget runs in a fresh child
process (ru_maxrss is a per-process high-water mark, so one process could not show the
second run's peak).

Options: ``--threads N`` (fit threads, default 1), ``--batch-rows N`` (default 1M),
``--sample-every N`` (default 5M), ``--budgets 10000000,1000000``.

This module also holds the data and plan definitions shared with ``test_bench_fit.py``
(importable without side effects).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import pyarrow as pa

SEED = 20240601
VOCAB_SIZE = 1000
NAN_FRACTION = 0.05  # of column d (imputed)
FEATURES = ["std", "rob", "q", "voc", "imp"]
INPUT_OF = {"std": "a", "rob": "b", "q": "c", "voc": "s", "imp": "d"}
_WORDS = ["shop", "home", "work", "travel", "food", "auto", "misc", "entertainment", "health", "utilities"]
VOCAB = [f"{_WORDS[i % len(_WORDS)]}_{i:04d}" for i in range(VOCAB_SIZE)]  # distinct, 9..18 chars


# ---- shared definitions ---------------------------------------------------------------

def feature_set():
    import featureplat as fp
    inputs = {k: fp.request("float64") for k in "abcd"}
    inputs["s"] = fp.request("string")
    return fp.FeatureSet("fit", inputs=inputs, features={
        "std": fp.col("a").standard_scale(),
        "rob": fp.col("b").robust_scale(),
        "q": fp.col("c").quantile_bucketize(10),
        "voc": fp.col("s").vocabulary(order="value", num_oov_buckets=0),
        "imp": fp.col("d").impute("mean"),
    })


def make_columns(n: int, seed) -> dict[str, np.ndarray]:
    """Seeded numpy columns: a normal, b lognormal, c normal, d lognormal with ~5% NaN,
    s_idx the index of each row's string in VOCAB (uniform over ~1000 values)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(50.0, 10.0, n)
    b = rng.lognormal(0.0, 1.0, n)
    c = rng.normal(0.0, 1.0, n)
    d = rng.lognormal(2.0, 0.5, n)
    d[rng.random(n) < NAN_FRACTION] = np.nan
    s_idx = rng.integers(0, VOCAB_SIZE, n)
    return {"a": a, "b": b, "c": c, "d": d, "s_idx": s_idx}


_VOCAB_ARROW = None


def to_arrow(cols: dict[str, np.ndarray], record_batch: bool = False):
    """The columns as Arrow (floats zero-copy; NaN stays NaN, not null; s a string column)."""
    global _VOCAB_ARROW
    if _VOCAB_ARROW is None:
        _VOCAB_ARROW = pa.array(VOCAB, pa.string())
    arrays = [pa.array(cols[k]) for k in "abcd"] + [_VOCAB_ARROW.take(pa.array(cols["s_idx"]))]
    names = ["a", "b", "c", "d", "s"]
    return pa.RecordBatch.from_arrays(arrays, names=names) if record_batch else pa.Table.from_arrays(arrays, names=names)


def sklearn_inputs(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """(n, 1) arrays per input, as the scikit-learn transformers take them. The strings are
    an object array whose elements are the ~1000 shared VOCAB str objects (their hashes are
    cached, the cheapest object array OrdinalEncoder can get)."""
    out = {k: cols[k][:, None] for k in "abcd"}
    out["s"] = np.array(VOCAB, dtype=object)[cols["s_idx"]][:, None]
    return out


def sklearn_transformers() -> dict[str, object]:
    """Unfitted scikit-learn peers, by feature name, each for its own column."""
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import KBinsDiscretizer, OrdinalEncoder, RobustScaler, StandardScaler
    return {
        "std": StandardScaler(),
        "rob": RobustScaler(),
        "q": KBinsDiscretizer(n_bins=10, encode="ordinal", strategy="quantile", quantile_method="linear",
                              subsample=None),
        "voc": OrdinalEncoder(),
        "imp": SimpleImputer(strategy="mean"),
    }


# ---- the memory run -------------------------------------------------------------------

def _status() -> dict[str, int]:
    """VmRSS and VmHWM (kB) from /proc/self/status."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                out[key] = int(value.split()[0])
    return out


def _sample(label, rows: int, t0: float) -> dict:
    st = _status()
    return {"label": label, "rows": rows, "seconds": time.perf_counter() - t0, "rss_kb": st["VmRSS"],
            "hwm_kb": st["VmHWM"], "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


def run_child(rows: int, budget: int, threads: int, batch_rows: int, sample_every: int) -> dict:
    import featureplat as fp
    plan = fp.compile(feature_set())
    # Warm up the import/compile path and the allocator on a tiny fit, so the baseline
    # includes everything but the data-dependent state.
    plan.fit(to_arrow(make_columns(1000, 0)), threads=threads, exact_budget=budget)
    samples = []
    t0 = time.perf_counter()
    samples.append(_sample("before fit", 0, t0))

    def batches():
        done = 0
        next_sample = sample_every
        i = 0
        while done < rows:
            n = min(batch_rows, rows - done)
            yield to_arrow(make_columns(n, (SEED, i)), record_batch=True)
            i += 1
            done += n
            # Resumed by fit after it has analysed the batch just yielded.
            if done >= next_sample or done == rows:
                samples.append(_sample("streaming", done, t0))
                while next_sample <= done:
                    next_sample += sample_every

    fitted = plan.fit(batches(), threads=threads, exact_budget=budget)
    samples.append(_sample("after fit (statistics computed)", rows, t0))
    stats = fitted.statistics()
    return {"rows": rows, "budget": budget, "threads": threads, "batch_rows": batch_rows,
            "fit_seconds": samples[-1]["seconds"], "samples": samples,
            "exact": {f: stats[f][0].get("exact") for f in ("rob", "q")},
            "rows_seen": stats["std"][0]["rows"], "vocabulary_size": len(stats["voc"][0]["keys"])}


def _mb(kb: int) -> str:
    return f"{kb / 1024:9.1f}"


def print_run(r: dict) -> None:
    base = r["samples"][0]["rss_kb"]
    print(f"\nexact_budget={r['budget']:,}  rows={r['rows']:,}  threads={r['threads']}  "
          f"batches of {r['batch_rows']:,} rows  fit {r['fit_seconds']:.1f} s (incl. generating the data)  "
          f"quantiles exact: {r['exact']}  vocabulary size {r['vocabulary_size']}")
    print(f"{'rows processed':>16} {'VmRSS MB':>9} {'(+ base)':>9} {'VmHWM MB':>9} {'ru_maxrss MB':>12} "
          f"{'elapsed s':>9}  when")
    for s in r["samples"]:
        print(f"{s['rows']:>16,} {_mb(s['rss_kb'])} {_mb(s['rss_kb'] - base)} {_mb(s['hwm_kb'])} "
              f"{_mb(s['maxrss_kb']):>12} {s['seconds']:9.1f}  {s['label']}")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("rows", nargs="?", default="50_000_000")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch-rows", default="1_000_000")
    p.add_argument("--sample-every", default="5_000_000")
    p.add_argument("--budgets", default="10_000_000,1_000_000")
    p.add_argument("--child-budget", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    rows = int(args.rows.replace("_", ""))
    batch_rows = int(args.batch_rows.replace("_", ""))
    sample_every = int(args.sample_every.replace("_", ""))
    if args.child_budget is not None:
        r = run_child(rows, int(args.child_budget), args.threads, batch_rows, sample_every)
        print(json.dumps(r))
        return
    results = []
    for budget in (int(b.replace("_", "")) for b in args.budgets.split(",")):
        cmd = [sys.executable, os.path.abspath(__file__), str(rows), "--threads", str(args.threads),
               "--batch-rows", str(batch_rows), "--sample-every", str(sample_every), "--child-budget", str(budget)]
        proc = subprocess.run(cmd, check=True, capture_output=True, text=True)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print_run(r)
        sys.stdout.flush()
        results.append(r)
    print("\npeak RSS (ru_maxrss, MB) after N rows:")
    marks = sorted({s["rows"] for s in results[0]["samples"] if s["label"] == "streaming"})
    wanted = [m for m in marks if m in (5_000_000, 25_000_000, rows) or len(marks) <= 4] or marks
    print(f"{'exact_budget':>14} " + " ".join(f"{m:>12,}" for m in wanted) + f" {'after fit':>12}")
    for r in results:
        by_rows = {s["rows"]: s for s in r["samples"] if s["label"] == "streaming"}
        cells = " ".join(f"{_mb(by_rows[m]['maxrss_kb']):>12}" if m in by_rows else f"{'-':>12}" for m in wanted)
        print(f"{r['budget']:>14,} {cells} {_mb(r['samples'][-1]['maxrss_kb']):>12}")


if __name__ == "__main__":
    main()
