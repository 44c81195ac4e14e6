"""featureplat/plan/files.py: files under a final name are replaced atomically (temporary
file in the same folder, fsync, rename), nothing is left behind, and parquet carries page
checksums that reading verifies, naming the file."""
from __future__ import annotations

import os
import stat

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import featureplat as fp
from featureplat.errors import InputError
from featureplat.plan import files
from featureplat.plan.files import (
    atomic_write,
    atomic_write_bytes,
    atomic_write_text,
    read_parquet,
    write_parquet,
)


def _names(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_atomic_write_replaces_the_file_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "a.txt"
    atomic_write_text(target, "one")
    assert atomic_write_bytes(target, b"two") == target
    assert target.read_bytes() == b"two"
    assert _names(tmp_path) == ["a.txt"]
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask  # the mode any new file gets


def test_the_temporary_file_is_in_the_same_folder_and_fsynced_before_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.path.realpath(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst, **kw):
        events.append(("replace", os.path.realpath(src), os.path.realpath(dst)))
        real_replace(src, dst, **kw)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    seen = []
    atomic_write(tmp_path / "b.bin", lambda tmp: (seen.append(tmp), tmp.write_bytes(b"x")))
    tmp = os.path.realpath(seen[0])
    folder = os.path.realpath(tmp_path)
    assert os.path.dirname(tmp) == folder and os.path.basename(tmp).endswith(".tmp")
    assert events == [("fsync", tmp), ("replace", tmp, os.path.join(folder, "b.bin")), ("fsync", folder)]


def test_a_failed_write_keeps_the_earlier_file_and_removes_its_temporary(tmp_path):
    target = tmp_path / "c.txt"
    target.write_text("earlier")

    def half_then_fail(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        atomic_write(target, half_then_fail)
    assert target.read_text() == "earlier"
    assert _names(tmp_path) == ["c.txt"]


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"folder {tmp_path / 'no'} does not exist"):
        atomic_write_text(tmp_path / "no" / "x.txt", "x")


def test_plan_save_is_atomic(tmp_path, monkeypatch):
    plan = fp.compile(fp.FeatureSet("f", inputs={"x": fp.request("int64")}, features={"y": fp.col("x") + 1}))
    other = fp.compile(fp.FeatureSet("f", inputs={"x": fp.request("int64")}, features={"y": fp.col("x") + 2}))
    path = plan.save(tmp_path / "f.fpplan")
    assert _names(tmp_path) == ["f.fpplan"]

    def no_rename(src, dst, **kw):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_rename)
    with pytest.raises(OSError, match="No space left"):
        other.save(path)
    monkeypatch.undo()
    assert fp.load_plan(path) == plan
    assert _names(tmp_path) == ["f.fpplan"]  # no temporary file left behind


def _zero_mid_column(path, column: str, size: int = 4096) -> None:
    """Zeroes ``size`` bytes in the middle of ``column``'s first column chunk (page data)."""
    md = pq.ParquetFile(path).metadata
    chunk = md.row_group(0).column(md.schema.names.index(column))
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    assert chunk.total_compressed_size > size + 256, "the column chunk is too small for this test"
    offset = start + chunk.total_compressed_size // 2 - size // 2
    data = bytearray(path.read_bytes())
    data[offset:offset + size] = bytes(size)
    path.write_bytes(bytes(data))


def test_parquet_is_written_with_page_checksums_and_read_verified(tmp_path):
    rng = np.random.default_rng(0)
    table = pa.table({"k": np.arange(20_000), "v": rng.normal(size=20_000)})
    path = write_parquet(tmp_path / "t.parquet", table, compression="none")
    assert read_parquet(path).equals(table)
    assert _names(tmp_path) == ["t.parquet"]
    _zero_mid_column(path, "v")
    assert not pq.read_table(path).equals(table)  # unverified, the damage reads as data
    with pytest.raises(InputError, match="t.parquet cannot be read: .*checksum"):
        read_parquet(path, what="feature source")


def test_write_parquet_keeps_its_checksums():
    with pytest.raises(ValueError, match="page checksums"):
        write_parquet("never.parquet", pa.table({"a": [1]}), write_page_checksum=False)


@pytest.mark.parametrize("damage", ["truncate", "not parquet", "empty"])
def test_unreadable_parquet_is_an_input_error_naming_the_file(tmp_path, damage):
    path = write_parquet(tmp_path / "e.parquet", pa.table({"a": list(range(1000))}))
    data = path.read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2], "not parquet": b"id,a\n1,2\n", "empty": b""}[damage])
    with pytest.raises(InputError, match=f"entity file {path} cannot be read: it is corrupt, truncated"):
        read_parquet(path, what="entity file")
    with pytest.raises(InputError, match=f"{path} cannot be read"):
        files.parquet_schema(path)
