"""The peers compute what featureplat computes: every feature of features20, on a small
sample, featureplat (batch, arrow and numpy; row, dict and numpy) == Polars == numpy ==
the plain Python function. Floats: rtol 1e-12 (numpy's SIMD log1p/exp may differ from the C
library by an ulp); integers and bools: exact. f19_hash is compared with the Python
function only (xxhash); the Polars and numpy peers use their native hash as a cost stand-in."""
from __future__ import annotations

import numpy as np
import pytest

from features20 import (EXACT_FEATURES, FEATURE_NAMES, HASH_BUCKETS, HASH_FEATURE, numpy_features,
                        numpy_matrix, polars_exprs, python_features)

ROW_CHECKS = 300  # rows also pushed through transform_row


def _check(name: str, got, want, who: str) -> None:
    got = np.asarray(got)
    want = np.asarray(want)
    assert got.shape == want.shape, f"{name}: {who} shape {got.shape} != {want.shape}"
    msg = f"feature {name}: {who} differs from featureplat"
    if name in EXACT_FEATURES:
        np.testing.assert_array_equal(got.astype(np.int64), want.astype(np.int64), err_msg=msg)
    else:
        np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=1e-12, atol=0,
                                   err_msg=msg)


@pytest.fixture(scope="module")
def results(plan, sample_data):
    d = sample_data
    return {
        "fp_table": plan.transform(d.table),
        "fp_matrix": plan.transform(d.table, to="numpy"),
        "pl_frame": d.frame.select(polars_exprs()),
        "pl_matrix": d.frame.select(polars_exprs(as_float=True)).to_numpy(),
        "np_cols": numpy_features(d.np),
        "np_matrix": numpy_matrix(d.np),
        "py_rows": [python_features(d.row(i)) for i in range(d.n)],
    }


def test_plan_shape(plan):
    assert plan.features == FEATURE_NAMES
    assert len(plan.input_names) == 6
    types = plan.feature_types
    assert {n for n, t in types.items() if t in ("int64", "bool")} == EXACT_FEATURES


@pytest.mark.parametrize("name", FEATURE_NAMES)
def test_feature_equal_across_peers(name, results, sample_data):
    j = FEATURE_NAMES.index(name)
    ref = results["fp_table"].column(name).to_numpy(zero_copy_only=False)
    assert results["fp_table"].column(name).null_count == 0
    _check(name, results["fp_matrix"][:, j], ref, "featureplat to='numpy'")
    _check(name, [r[name] for r in results["py_rows"]], ref, "the Python function")
    pl_col = results["pl_frame"].get_column(name).to_numpy()
    np_col = results["np_cols"][name]
    if name == HASH_FEATURE:
        # Different hash functions: only check that the stand-ins are buckets of the same range.
        for col in (pl_col, np_col, results["pl_matrix"][:, j], results["np_matrix"][:, j]):
            assert col.min() >= 0 and col.max() < HASH_BUCKETS
        return
    _check(name, pl_col, ref, "Polars")
    _check(name, results["pl_matrix"][:, j], ref, "Polars (Float64 matrix)")
    _check(name, np_col, ref, "numpy")
    _check(name, results["np_matrix"][:, j], ref, "numpy (matrix)")


def test_row_path_matches_batch_path(plan, sample_data, results):
    fp_matrix = results["fp_matrix"]
    for i in range(ROW_CHECKS):
        row = sample_data.row(i)
        vec = plan.transform_row(row, to="numpy")
        np.testing.assert_array_equal(vec, fp_matrix[i])  # bit for bit, same kernels
        assert plan.transform_row(row) == results["py_rows"][i]
