"""Training-set build: featureplat (native point-in-time join + plan) vs Feast
``get_historical_features`` on its DuckDB offline store with the same transform as a
pandas-mode on-demand feature view.

Data (built once per session in a tmp dir, seeded; definitions in ``training_set_memory.py``,
shared with the peak-memory script): one Feast feature view ``user_stats`` of ENTITIES x
HOURS hourly rows (default 10k x 100 = 1M; int64 key, event and created timestamps in us,
trips int64 / sessions int64 / rating float64 / spend float64, with nulls, no NaN), TTL
48 h; an entity table of ROWS rows (default 1M: 2% unknown ids, timestamps across the
hours plus 10% past the last row, some exactly on a feature row or on the TTL edge, a
request field ``amount``, a label, a ``row_id``). Scale: FEATUREPLAT_TS_ENTITIES,
FEATUREPLAT_TS_HOURS, FEATUREPLAT_TS_ROWS.

The timed calls (inputs prepared outside the timing, each side in the form it takes):

* featureplat: ``training_set(store, fitted_plan, entity_arrow, threads=T).features`` --
  registry lookup, reading the view's parquet file, the native as-of join, the casts and
  the plan, to an Arrow table of the 10 features. The plan has no fitted transforms; it
  is passed as a FittedPlan (fitted on zero rows) so no compile or fit is timed.
* Feast: ``store.get_historical_features(entity_df=entity_pandas, features=[4 view
  features + 10 ODFV features], full_feature_names=True).to_arrow()``. ``to_arrow()``
  rather than ``to_df()``: both sides then end in Arrow, and it is the cheaper of the two
  for Feast (``to_df`` is ``to_arrow().to_pandas()``), so the ratio is conservative.
  Feast also returns the entity columns and the 4 raw view features -- what it does.

Both sides make one warm-up call on 1,000 entity rows when the session data is built
(lazy imports, registry parsing). Rounds: FEATUREPLAT_TS_ROUNDS (default 3, plus 1
warm-up round) for featureplat, FEATUREPLAT_TS_FEAST_ROUNDS (default 2, no warm-up round)
for Feast; the ratio table (conftest) compares medians. The thread-scaling rows time
``featureplat.feast.point_in_time.point_in_time_join`` alone (the view table already read) on 1 and 2
threads. ``test_peak_memory`` runs ``training_set_memory.py`` over the same repo: each
side in a fresh process, peak RSS printed.

Correctness (not timed, full size): featureplat's features equal the ODFV's after aligning
Feast's rows (returned in arbitrary order) by ``row_id``, and the joined raw view columns
equal Feast's.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

pytest.importorskip("feast")
pytest.importorskip("duckdb")
pytest.importorskip("ibis")

import training_set_memory as tsm  # noqa: E402
from featureplat.feast.point_in_time import point_in_time_join  # noqa: E402
from featureplat.feast.training import training_set  # noqa: E402
from featureplat.feast.views import resolve_views  # noqa: E402

ROUNDS = int(os.environ.get("FEATUREPLAT_TS_ROUNDS", "3"))
FEAST_ROUNDS = int(os.environ.get("FEATUREPLAT_TS_FEAST_ROUNDS", "2"))
PIT_ROUNDS = max(ROUNDS, 7)  # the join alone is short: more rounds for a steadier median

# pyproject sets filterwarnings = ["error"]. Warnings raised by Feast/ibis on these paths,
# each ignored by exact message and category only (none is ours to fix):
# * ibis 12's DuckDB backend calls duckdb's deprecated ``fetch_arrow_table()`` inside
#   ``RetrievalJob.to_arrow`` (same as tests/feast/test_pit_parity.py);
# * ``FeatureStore.apply`` warns that on-demand feature views are experimental and "do not
#   scale well for offline retrieval" (feast/feature_store.py, _validate_all_feature_views)
#   -- which is what this benchmark measures.
pytestmark = [
    pytest.mark.filterwarnings(r"ignore:fetch_arrow_table\(\) is deprecated, use to_arrow_table\(\) instead"
                               r":DeprecationWarning"),
    pytest.mark.filterwarnings(r"ignore:On demand feature view is an experimental feature\.:RuntimeWarning"),
]

# Features computed with a transcendental function (log1p). featureplat calls the C
# library's log1p; numpy may use its own SIMD implementation (a few ulp off on some CPUs),
# so these are compared to a relative 1e-14 (~45 ulp) instead of exactly. Everything else
# (+ - * /, sqrt, clip, comparisons, fill_null, bucketize) is correctly rounded IEEE
# arithmetic in the same order on both sides, so it must match bit for bit, as must the
# null masks (null in featureplat, NaN -> null in the ODFV's output).
TRANSCENDENTAL = {"log_trips", "amount_log", "score"}
RTOL = 1e-14


class TSData:
    def __init__(self, root: Path, scale: tsm.Scale):
        self.root = root
        self.scale = scale
        self.store = tsm.open_store(root)
        self.entity = pq.read_table(tsm.repo_paths(root)["entity"])  # Arrow, for featureplat
        self.entity_df = self.entity.to_pandas()  # pandas, for Feast (us, UTC kept)
        self.plan = tsm.fitted_plan()
        (view,) = resolve_views(self.store, self.plan)
        self.view_spec = view.join_spec(view.read())  # for the join-only benchmarks


@pytest.fixture(scope="session")
def ts_data(tmp_path_factory) -> TSData:
    scale = tsm.scale_from_env()
    root = tmp_path_factory.mktemp("training_set") / "repo"
    tsm.build_repo(root, scale)
    data = TSData(root, scale)
    # Warm-up calls on 1,000 rows: lazy imports (ibis, the DuckDB backend), registry parsing.
    tsm.run_featureplat(data.store, data.plan, data.entity.slice(0, tsm.WARMUP_ROWS))
    tsm.run_feast(data.store, data.entity_df.iloc[:tsm.WARMUP_ROWS])
    return data


# ---- correctness (not timed) ----------------------------------------------------------

def _floats(col: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Values (null -> 0) and the null mask. The data holds no NaN and no op makes one here,
    so a NaN on either side would be a bug: checked separately."""
    mask = np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    vals = np.asarray(pc.fill_null(col, 0.0).to_numpy(zero_copy_only=False), dtype=np.float64)
    return vals, mask


def test_training_set_matches_feast(ts_data):
    d = ts_data
    ours = training_set(d.store, d.plan, d.entity, threads=1)
    ours2 = training_set(d.store, d.plan, d.entity, threads=2)
    assert ours.num_rows == d.entity.num_rows == d.scale.rows
    assert ours2.features.equals(ours.features) and ours2.inputs.equals(ours.inputs)

    theirs = tsm.run_feast(d.store, d.entity_df)
    assert theirs.num_rows == d.scale.rows
    theirs = theirs.take(pc.sort_indices(theirs.column(tsm.ROW_ID)))  # Feast's row order is arbitrary
    assert theirs.column(tsm.ROW_ID).equals(d.entity.column(tsm.ROW_ID))

    # The join itself: the raw view columns, exactly (types included: DuckDB keeps int64).
    for f in tsm.VIEW_FEATURES:
        got, want = ours.inputs.column(f), theirs.column(f"{tsm.VIEW}__{f}")
        assert got.type == want.type, f
        assert got.equals(want), f"joined column {f} differs"

    # The designed cases occurred: unmatched rows (unknown ids, before the first row,
    # beyond the TTL) and matched ones.
    missing = ours.inputs.column("sessions").null_count  # sessions has no nulls of its own
    assert 0.03 * d.scale.rows < missing < 0.3 * d.scale.rows, missing

    feats = ours.features
    assert feats.column_names == list(tsm.FEATURES)
    for name, dtype in tsm.FEATURES.items():
        got, want = feats.column(name), theirs.column(f"{tsm.ODFV}__{name}")
        if dtype != "float64":
            assert got.type == want.type and got.equals(want), name
            continue
        assert want.type == pa.float64(), (name, want.type)
        gv, gm = _floats(got)
        wv, wm = _floats(want)
        assert not np.isnan(gv).any() and not np.isnan(wv).any(), name
        np.testing.assert_array_equal(gm, wm, err_msg=f"{name}: null masks")
        if name in TRANSCENDENTAL:
            np.testing.assert_allclose(gv, wv, rtol=RTOL, atol=0, err_msg=name)
        else:
            np.testing.assert_array_equal(gv, wv, err_msg=name)
    assert feats.column("rating_c").null_count > 0 and feats.column("spend_per_session").null_count > 0


# ---- training-set build ---------------------------------------------------------------

@pytest.mark.parametrize("threads", [1, 2])
def test_featureplat_training_set(benchmark, ts_data, collector, threads):
    d = ts_data
    benchmark.group = "training set: join + transform"
    benchmark.extra_info.update(entity_rows=d.scale.rows, feature_rows=d.scale.feature_rows, threads=threads)
    out = benchmark.pedantic(tsm.run_featureplat, args=(d.store, d.plan, d.entity, threads),
                             rounds=ROUNDS, iterations=1, warmup_rounds=1)
    assert out.num_rows == d.scale.rows and out.num_columns == len(tsm.FEATURES)
    collector.record(f"fp.ts.t{threads}", benchmark, d.scale.rows)


def test_feast_training_set(benchmark, ts_data, collector):
    d = ts_data
    benchmark.group = "training set: join + transform"
    benchmark.extra_info.update(entity_rows=d.scale.rows, feature_rows=d.scale.feature_rows,
                                call="get_historical_features(...).to_arrow(), DuckDB store, pandas ODFV")
    out = benchmark.pedantic(tsm.run_feast, args=(d.store, d.entity_df), rounds=FEAST_ROUNDS, iterations=1,
                             warmup_rounds=0)
    assert out.num_rows == d.scale.rows
    collector.record("feast.duckdb.pandas_odfv", benchmark, d.scale.rows)


# ---- the native join alone: thread scaling ------------------------------------------------

@pytest.mark.parametrize("threads", [1, 2])
def test_native_join(benchmark, ts_data, collector, threads):
    d = ts_data
    benchmark.group = "native point-in-time join"
    benchmark.extra_info.update(entity_rows=d.scale.rows, feature_rows=d.scale.feature_rows, threads=threads)
    out = benchmark.pedantic(point_in_time_join, args=(d.entity, [tsm.KEY], "event_timestamp", [d.view_spec]),
                             kwargs={"threads": threads}, rounds=PIT_ROUNDS, iterations=1, warmup_rounds=1)
    assert out.num_rows == d.scale.rows
    collector.record(f"fp.pit.t{threads}", benchmark, d.scale.rows)


# ---- peak memory ------------------------------------------------------------------------

def test_peak_memory(ts_data, capsys, record_property):
    """Peak RSS of each side in a fresh process (training_set_memory.py over this session's
    repo), printed and recorded as junit properties."""
    script = Path(__file__).with_name("training_set_memory.py")
    cmd = [sys.executable, str(script), "--repo", str(ts_data.root), "--threads", "1,2", "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-4000:]
    lines = proc.stdout.strip().splitlines()
    results = json.loads(lines[-1])
    for r in results:
        assert r["out_rows"] == ts_data.scale.rows
        key = f"peak_mb.{r['side']}" + (f".t{r['threads']}" if r["side"] == "featureplat" else "")
        record_property(key, round(r["peak_kb"] / 1024))
        record_property(key.replace("peak_mb", "added_mb"), round(r["added_kb"] / 1024))
    by_side = {(r["side"], r["threads"] if r["side"] == "featureplat" else 0): r for r in results}
    fp1, feast = by_side[("featureplat", 1)], by_side[("feast", 0)]
    with capsys.disabled():
        print("\n" + "\n".join(lines[:-1]))
        print(f"peak RSS Feast / featureplat (1 thread): {feast['peak_kb'] / fp1['peak_kb']:.1f}x; "
              f"added by the call: {feast['added_kb'] / max(fp1['added_kb'], 1):.1f}x")
