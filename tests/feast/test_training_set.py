"""fp.training_set on the churn repo: native join == Feast's own retrieval, nothing lost,
labels kept with their rows, bad input named."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import featureplat as fp
from featureplat.feast.repo import registered_plan
from featureplat.feast.training import training_set
from featureplat.plan.sources import feast_ref

pytestmark = pytest.mark.filterwarnings("ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")


@pytest.fixture(scope="module")
def labels(churn_repo) -> pa.Table:
    return pq.read_table(churn_repo / "data" / "churn_labels.parquet")


@pytest.fixture(scope="module")
def native(churn_repo, labels):
    return training_set(churn_repo, "churn_features", labels, label="churned")


def _same(a: pa.Table, b: pa.Table) -> None:
    """Bit-for-bit equality of two tables (NaN equals NaN; nulls must coincide)."""
    assert a.schema == b.schema
    for name in a.column_names:
        x, y = a.column(name).combine_chunks(), b.column(name).combine_chunks()
        assert x.is_valid().equals(y.is_valid()), name
        if pa.types.is_floating(x.type):
            xs = np.asarray(x.fill_null(0.0)).view(np.uint64)
            ys = np.asarray(y.fill_null(0.0)).view(np.uint64)
            assert np.array_equal(xs, ys), name
        else:
            assert x.equals(y), name


def test_native_join_equals_feast_historical_retrieval(churn_repo, labels, native):
    ref = training_set(churn_repo, native.plan, labels, label="churned", method="feast")
    _same(native.inputs, ref.inputs)
    assert native.X.tobytes() == ref.X.tobytes()


def test_one_row_per_entity_row_in_order_labels_kept(churn_repo, labels, native):
    assert native.num_rows == labels.num_rows == native.features.num_rows == native.X.shape[0]
    assert native.labels.column("churned").equals(labels.column("churned"))
    assert np.array_equal(native.y, labels.column("churned").to_numpy())
    # The data has duplicated entity rows whose labels differ: both are kept, in place.
    keys = pa.table({"c": labels.column("customer_id"), "t": labels.column("event_timestamp")})
    dup_groups = keys.group_by(["c", "t"]).aggregate([("c", "count")]).filter(pc.field("c_count") > 1)
    assert dup_groups.num_rows > 0
    # Customers with no history at all are kept, with null Feast inputs.
    unknown = pc.greater_equal(labels.column("customer_id"), 900_000)
    assert pc.sum(unknown).as_py() > 0
    assert pc.all(pc.is_null(native.inputs.filter(unknown).column("sessions_7d"))).as_py()
    full = native.to_arrow()
    assert full.column_names == native.features.column_names + ["churned"]


def test_shuffled_and_duplicated_entity_rows_follow_their_rows(churn_repo, labels, native):
    rng = np.random.default_rng(3)
    idx = np.concatenate([rng.permutation(labels.num_rows), rng.integers(0, labels.num_rows, 50)])
    shuffled = labels.take(pa.array(idx)).append_column("row", pa.array(idx))
    ts = training_set(churn_repo, native.plan, shuffled, label=["churned", "row"])
    assert ts.num_rows == len(idx)
    assert ts.X.tobytes() == native.X[idx].tobytes()
    assert np.array_equal(ts.y[:, 1], idx)


def test_threads_and_pandas_entity_frames_agree(churn_repo, labels, native):
    two = training_set(churn_repo, native.plan, labels, threads=2)
    assert two.X.tobytes() == native.X.tobytes()
    frame = training_set(churn_repo, native.plan, labels.to_pandas())
    assert frame.X.tobytes() == native.X.tobytes()


def test_fit_on_the_joined_rows_equals_fitting_the_joined_inputs(churn_repo, labels, native):
    plan = registered_plan(churn_repo, "churn_features")
    assert plan.needs_fit
    assert native.plan.plan_hash == plan.fit(native.inputs).plan_hash
    # The fitted plan is applied as is: same statistics on any other entity set.
    part = training_set(churn_repo, native.plan, labels.slice(0, 100))
    assert part.plan.plan_hash == native.plan.plan_hash
    assert part.X.tobytes() == native.X[:100].tobytes()
    with pytest.raises(fp.PlanError, match="unfitted transforms and fit=False"):
        training_set(churn_repo, plan, labels, fit=False)


def test_inputs_are_the_joined_columns_as_feast_holds_them(churn_repo, labels, native):
    """No cast in Python: a Feast input keeps its source column's type (timestamps marked
    UTC), a request input the entity table's; the core converts them when the plan runs."""
    for spec in native.plan.inputs:
        t = native.inputs.schema.field(spec["name"]).type
        ref = feast_ref(spec["source"])
        if ref is None:
            assert t == labels.schema.field(spec["name"]).type, spec
        elif spec["dtype"] == "timestamp":
            assert pa.types.is_timestamp(t) and t.tz is not None, spec
        else:
            view, feature = ref
            assert t == pq.read_schema(churn_repo / "data" / f"{view}.parquet").field(feature).type, spec


def test_ttl_and_created_timestamps_are_honoured(churn_repo, native, labels):
    """Spot checks against the source tables, independent of the join code."""
    act = pq.read_table(churn_repo / "data" / "customer_activity.parquet").to_pandas()
    bill = pq.read_table(churn_repo / "data" / "customer_billing.parquet").to_pandas()
    lab = labels.to_pandas()
    got = native.inputs.to_pandas()
    for i in range(0, len(lab), 37):
        cid, t = lab.customer_id[i], lab.event_timestamp[i]
        a = act[(act.customer_id == cid) & (act.event_timestamp <= t)
                & (act.event_timestamp >= t - dt.timedelta(days=3))]
        want = None if a.empty else a.sort_values("event_timestamp", kind="stable").sessions_7d.iloc[-1]
        assert (got.sessions_7d[i] if not np.isnan(got.sessions_7d[i]) else None) == want, i
        b = bill[(bill.customer_id == cid) & (bill.event_timestamp <= t)
                 & (bill.event_timestamp >= t - dt.timedelta(days=40))]
        if b.empty:
            assert np.isnan(got.failed_payments_90d[i])
        else:
            last = b.sort_values(["event_timestamp", "created"], kind="stable").iloc[-1]
            assert got.failed_payments_90d[i] == last.failed_payments_90d, i


# ---- bad input ----------------------------------------------------------------------------

def test_entity_table_without_join_key(churn_repo, labels, native):
    with pytest.raises(fp.InputError, match="entity table has no column 'region', the join key of feature view "
                                            "'region_stats'"):
        training_set(churn_repo, native.plan, labels.drop_columns(["region"]))


def test_entity_table_without_timestamp(churn_repo, labels, native):
    with pytest.raises(fp.InputError, match="needs an 'event_timestamp' column"):
        training_set(churn_repo, native.plan, labels.drop_columns(["event_timestamp"]))
    with pytest.raises(fp.InputError, match="entity table has no timestamp column 'when'"):
        training_set(churn_repo, native.plan, labels, timestamp="when")


def test_timestamp_without_time_zone(churn_repo, labels, native):
    naive = labels.set_column(labels.schema.get_field_index("event_timestamp"), "event_timestamp",
                              labels.column("event_timestamp").cast(pa.timestamp("us")))
    with pytest.raises(fp.InputError, match="timestamp column 'event_timestamp' has no time zone"):
        training_set(churn_repo, native.plan, naive)


def test_feast_timestamps_without_a_zone_are_utc_request_ones_refused(churn_repo, labels, native, tmp_path):
    """Feast reads its event data without a time zone as UTC, and the training set says
    so to the core explicitly; any other naive timestamp (a request field) is refused."""
    from featureplat.examples.churn import generate
    from featureplat.feast.repo import apply
    from tests.feast.conftest import CUSTOMERS, DAYS, copy_repo

    repo = copy_repo(tmp_path / "repo")
    generate(repo / "data", customers=CUSTOMERS, days=DAYS)  # seeded: the session repo's data
    path = repo / "data" / "customer_profile.parquet"
    profile = pq.read_table(path)
    assert profile.schema.field("signup_at").type.tz is not None
    naive = profile.column("signup_at").cast(pa.timestamp(profile.schema.field("signup_at").type.unit))
    pq.write_table(profile.set_column(profile.schema.get_field_index("signup_at"), "signup_at", naive), path)
    apply(repo)
    again = training_set(repo, native.plan, labels, label="churned")
    assert again.inputs.schema.field("signup_at").type.tz == "UTC"
    assert again.X.tobytes() == native.X.tobytes()
    fs = fp.FeatureSet("when", inputs={"sessions_7d": fp.feast("customer_activity:sessions_7d", "int64"),
                                       "when": fp.request("timestamp")},
                       features={"h": fp.col("when").dt.hour(), "s": fp.col("sessions_7d")})
    entity = labels.append_column("when", labels.column("event_timestamp").cast(pa.timestamp("us")))
    with pytest.raises(fp.InputError, match=r"^input 'when': naive datetime \(a timestamp without a time zone\) is "
                                            r"ambiguous; give it a time zone \(e.g. UTC\)$"):
        training_set(churn_repo, fs, entity)


def test_unknown_feature_reference(churn_repo, labels):
    fs = fp.FeatureSet("bad", inputs={"x": fp.feast("customer_activity:no_such", "int64"),
                                      "y": fp.feast("no_such_view:f", "int64")},
                       features={"f": fp.col("x") + fp.col("y")})
    with pytest.raises(fp.InputError, match="unknown feature view 'no_such_view'"):
        training_set(churn_repo, fs, labels)
    fs = fp.FeatureSet("bad", inputs={"x": fp.feast("customer_activity:no_such", "int64")},
                       features={"f": fp.col("x") + 1})
    with pytest.raises(fp.InputError, match="unknown feature reference 'customer_activity:no_such'"):
        training_set(churn_repo, fs, labels)


def test_declared_type_mismatch(churn_repo, labels):
    fs = fp.FeatureSet("bad", inputs={"x": fp.feast("customer_activity:sessions_7d", "string")},
                       features={"f": fp.col("x").str.len()})
    with pytest.raises(fp.InputError, match="customer_activity:sessions_7d is Int64 in Feast but declared string"):
        training_set(churn_repo, fs, labels)


def test_missing_source_file(churn_repo, labels, native, tmp_path):
    src = churn_repo / "data" / "region_stats.parquet"
    moved = tmp_path / "region_stats.parquet"
    src.rename(moved)
    try:
        with pytest.raises(fp.InputError, match=f"feature view 'region_stats': source file {src} does not exist"):
            training_set(churn_repo, native.plan, labels)
    finally:
        moved.rename(src)


def test_missing_request_field_and_label(churn_repo, labels, native):
    with pytest.raises(fp.InputError, match="request input 'channel' is not a column of the entity table"):
        training_set(churn_repo, native.plan, labels.drop_columns(["channel"]))
    with pytest.raises(fp.InputError, match="label column 'nope' is not a column"):
        training_set(churn_repo, native.plan, labels, label="nope")
    with pytest.raises(fp.InputError, match="input 'offer_discount_pct': declared float64 but got string values"):
        training_set(churn_repo, native.plan, labels.set_column(
            labels.schema.get_field_index("offer_discount_pct"), "offer_discount_pct",
            pa.array(["x"] * labels.num_rows)))


def test_bad_arguments(churn_repo, labels, native, tmp_path):
    with pytest.raises(fp.InputError, match="method must be 'native' or 'feast'"):
        training_set(churn_repo, native.plan, labels, method="spark")
    for bad in (-1, 1.5, True, "2"):  # 0 is every core, as everywhere (featureplat.plan.threads)
        with pytest.raises(fp.InputError, match=r"threads must be a non-negative integer \(0: every core\)"):
            training_set(churn_repo, native.plan, labels, threads=bad)
    with pytest.raises(fp.InputError, match="entity_df must be"):
        training_set(churn_repo, native.plan, [1, 2, 3])
    with pytest.raises(fp.InputError, match="entity file .* does not exist"):
        training_set(churn_repo, native.plan, str(tmp_path / "none.parquet"))
    with pytest.raises(fp.InputError, match="is not a feature repo"):
        training_set(tmp_path, native.plan, labels)
    with pytest.raises(fp.InputError, match="no feature set 'nope' was applied"):
        training_set(churn_repo, "nope", labels)
