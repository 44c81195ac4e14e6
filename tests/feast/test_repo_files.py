"""Damaged files of a feature repo give a featureplat error naming the file, never a wrong
training set or a raw library exception: a view source with 4 KiB zeroed (the generated
data carry page checksums, verified on read), a view source whose key column does not fit
its entity, a truncated entity file, a truncated Feast registry, a truncated plan index."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import featureplat as fp
from featureplat.feast.training import training_set
from featureplat.plan.files import write_parquet
from tests.feast.conftest import copy_repo

pytestmark = pytest.mark.filterwarnings("ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")

SOURCES = ["customer_profile", "customer_activity", "customer_billing", "region_stats"]


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """A churn repo of this module's own (its files are damaged and restored here)."""
    from featureplat.examples.churn import generate
    from featureplat.feast.repo import apply

    repo = copy_repo(tmp_path_factory.mktemp("damaged") / "feature_repo")
    generate(repo / "data", customers=300, days=30)
    apply(repo)
    return repo


@pytest.fixture(scope="module")
def labels(repo) -> pa.Table:
    return pq.read_table(repo / "data" / "churn_labels.parquet")


@pytest.fixture(scope="module")
def plan(repo, labels):
    return training_set(repo, "churn_features", labels, label="churned").plan


@contextlib.contextmanager
def restored(path: Path) -> Iterator[Path]:
    """``path`` may be damaged inside the block; its bytes are put back afterwards."""
    data = path.read_bytes()
    try:
        yield path
    finally:
        path.write_bytes(data)


def _zero(path: Path, offset: int, size: int = 4096) -> None:
    data = bytearray(path.read_bytes())
    data[offset:offset + size] = bytes(len(data[offset:offset + size]))
    path.write_bytes(bytes(data))


def _zero_page_data(path: Path) -> None:
    """Zeroes 4 KiB (at most half the chunk, in small files) in the middle of the file's
    largest column chunk: page data, which only a page checksum can tell from real data."""
    md = pq.ParquetFile(path).metadata
    chunks = [md.row_group(r).column(c) for r in range(md.num_row_groups) for c in range(md.num_columns)]
    chunk = max(chunks, key=lambda c: c.total_compressed_size)
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    size = min(4096, chunk.total_compressed_size // 2)
    _zero(path, start + chunk.total_compressed_size // 2 - size // 2, size)


@pytest.mark.parametrize("view", SOURCES)
def test_a_zeroed_block_in_a_view_source_fails_naming_the_file(repo, labels, plan, view):
    path = repo / "data" / f"{view}.parquet"
    with restored(path):
        _zero_page_data(path)
        with pytest.raises(fp.InputError, match=f"feature view '{view}': source file {path} cannot be read: it is "
                                                "corrupt, truncated or not a parquet file .*checksum"):
            training_set(repo, plan, labels)


def test_zeroed_blocks_anywhere_in_a_source_fail_naming_the_file(repo, labels, plan):
    path = repo / "data" / "customer_activity.parquet"
    size = path.stat().st_size
    for offset in range(4, size, max(size // 6, 1)):
        with restored(path):
            _zero(path, offset)
            with pytest.raises(fp.InputError, match=f"source file {path} cannot be read"):
                training_set(repo, plan, labels)
    assert training_set(repo, plan, labels).num_rows == labels.num_rows  # restored, readable again


def test_a_view_source_key_column_that_does_not_fit_its_entity_is_refused(repo, labels, plan):
    path = repo / "data" / "customer_activity.parquet"
    with restored(path):
        table = pq.read_table(path)
        padded = pc.utf8_lpad(table.column("customer_id").cast(pa.string()), 8, "0")
        write_parquet(path, table.set_column(table.schema.get_field_index("customer_id"), "customer_id", padded))
        with pytest.raises(fp.InputError, match=f"feature view 'customer_activity': source file {path}: join key "
                                                "column 'customer_id' has type string, but the entity's key is Int64 "
                                                "in Feast: expected an integer type"):
            training_set(repo, plan, labels)


def test_a_view_source_with_narrower_integer_keys_joins_alike(repo, labels, plan):
    reference = training_set(repo, plan, labels)
    path = repo / "data" / "customer_activity.parquet"
    with restored(path):
        table = pq.read_table(path)
        narrow = table.column("customer_id").cast(pa.int32())
        write_parquet(path, table.set_column(table.schema.get_field_index("customer_id"), "customer_id", narrow))
        assert training_set(repo, plan, labels).X.tobytes() == reference.X.tobytes()


def test_a_truncated_entity_file_is_named(repo, plan, tmp_path):
    data = (repo / "data" / "churn_labels.parquet").read_bytes()
    path = tmp_path / "labels.parquet"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(fp.InputError, match=f"entity file {path} cannot be read: it is corrupt, truncated"):
        training_set(repo, plan, path)
    with pytest.raises(fp.InputError, match=f"entity file {path} cannot be read"):
        training_set(repo, plan, str(path))


def test_a_zeroed_block_in_an_entity_file_is_named(repo, labels, plan, tmp_path):
    path = write_parquet(tmp_path / "labels.parquet", labels, compression="none")
    _zero_page_data(path)
    with pytest.raises(fp.InputError, match=f"entity file {path} cannot be read: .*checksum"):
        training_set(repo, plan, path)


def test_a_truncated_registry_is_named(repo, labels):
    path = repo / "data" / "registry.db"
    with restored(path):
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        with pytest.raises(fp.InputError, match=f"the Feast registry file {path} is corrupt or truncated"):
            training_set(repo, "churn_features", labels)


@pytest.mark.parametrize("damage", ["truncated", "not an object", "no feature sets", "not utf-8"])
def test_a_damaged_plan_index_is_named(repo, labels, damage):
    path = repo / "data" / "featureplat" / "index.json"
    with restored(path):
        text = path.read_bytes()
        path.write_bytes({"truncated": text[: len(text) // 2], "not an object": b"[1, 2]",
                          "no feature sets": b'{"feature_sets": [1]}', "not utf-8": b"\xff\xfe{}"}[damage])
        with pytest.raises(fp.PlanError, match=f"the plan index {path} is (corrupt or truncated|malformed)"):
            training_set(repo, "churn_features", labels)


def test_generate_and_apply_leave_no_temporary_files(repo):
    assert sorted(p.name for p in (repo / "data").iterdir() if p.is_file()) == [
        "churn_labels.parquet", "customer_activity.parquet", "customer_billing.parquet", "customer_profile.parquet",
        "online_store.db", "region_stats.parquet", "registry.db"]
    assert sorted(p.name for p in (repo / "data" / "featureplat").iterdir()) == ["churn_features.fpplan", "index.json"]
