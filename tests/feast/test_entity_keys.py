"""Entity keys of the wrong type are refused before any join, naming the column, the type
found and the type the entity declares in Feast -- on both training-set methods (Feast's
own path refused them with an ibis error; the native join joined a bool key to every
customer, and zero-padded string keys matched no integer key: 294 of 300 rows lost their
features without an error). Mixed-type pandas columns are named too."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import featureplat as fp
from featureplat.feast.training import training_set

pytestmark = pytest.mark.filterwarnings("ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")

METHODS = ["native", "feast"]


@pytest.fixture(scope="module")
def labels(churn_repo) -> pa.Table:
    return pq.read_table(churn_repo / "data" / "churn_labels.parquet").slice(0, 300)


@pytest.fixture(scope="module")
def plan(churn_repo, labels):
    """The fitted plan: applied as it is, so nothing but the join can notice a bad key."""
    return training_set(churn_repo, "churn_features", labels, label="churned").plan


def _with(table: pa.Table, name: str, column) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, column)


@pytest.mark.parametrize("method", METHODS)
def test_a_bool_customer_key_is_refused(churn_repo, labels, plan, method):
    keys = pa.array([True] * labels.num_rows)
    with pytest.raises(fp.InputError, match=r"entity table \(feature view 'customer_\w+'\): join key column "
                                            r"'customer_id' has type bool, but the entity's key is Int64 in Feast: "
                                            r"expected an integer type"):
        training_set(churn_repo, plan, _with(labels, "customer_id", keys), method=method)


@pytest.mark.parametrize("method", METHODS)
def test_zero_padded_string_customer_keys_are_refused(churn_repo, labels, plan, method):
    padded = pc.utf8_lpad(labels.column("customer_id").cast(pa.string()), 8, "0")
    with pytest.raises(fp.InputError, match="join key column 'customer_id' has type string, but the entity's key is "
                                            "Int64 in Feast: expected an integer type"):
        training_set(churn_repo, plan, _with(labels, "customer_id", padded), method=method)


@pytest.mark.parametrize("method", METHODS)
def test_integer_region_keys_are_refused(churn_repo, labels, plan, method):
    with pytest.raises(fp.InputError, match=r"entity table \(feature view 'region_stats'\): join key column 'region' "
                                            "has type int64, but the entity's key is String in Feast: expected "
                                            "string or large_string"):
        training_set(churn_repo, plan, _with(labels, "region", pa.array(range(labels.num_rows))), method=method)


def test_keys_of_a_fitting_type_join_as_the_declared_type(churn_repo, labels, plan):
    reference = training_set(churn_repo, plan, labels)
    narrow = _with(_with(labels, "customer_id", labels.column("customer_id").cast(pa.int32())),
                   "region", labels.column("region").cast(pa.large_string()).dictionary_encode())
    again = training_set(churn_repo, plan, narrow)
    assert again.X.tobytes() == reference.X.tobytes()


def test_a_mixed_type_pandas_key_column_is_named(churn_repo, labels, plan):
    frame = labels.to_pandas()
    frame["customer_id"] = frame["customer_id"].astype(object)
    frame.loc[3, "customer_id"] = "1004"
    with pytest.raises(fp.InputError, match=r"entity table: column 'customer_id' \(object\) cannot be read as one "
                                            r"Arrow type: it holds values of types \['int', 'str'\]"):
        training_set(churn_repo, plan, frame)


def test_a_mixed_type_pandas_request_field_is_named(churn_repo, labels, plan):
    frame = labels.to_pandas()
    frame.loc[5, "channel"] = 7
    with pytest.raises(fp.InputError, match=r"entity table: column 'channel' \(object\) cannot be read as one Arrow "
                                            r"type: it holds values of types \['int', 'str'\]"):
        training_set(churn_repo, plan, frame)
