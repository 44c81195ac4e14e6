"""The files featureplat writes under a final name, and the parquet files it reads.

Every such file is written by :func:`atomic_write`: into a temporary file in the same
folder (``.<name>.<random>.tmp``), fsynced, renamed over the final name (atomic on POSIX
file systems) and the folder fsynced, so a crash or a ``kill -9`` at any point leaves
either the earlier file or the complete new one under the final name, never a torn one.
A write that fails removes its temporary file.

Parquet is written with page checksums (:func:`write_parquet`) and read with them
verified (:func:`read_parquet`): a corrupt, truncated or foreign file fails with an
InputError naming it instead of giving wrong rows.

>>> import pathlib, tempfile
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> atomic_write_text(folder / "note.txt", "hello").read_text()
'hello'
>>> sorted(p.name for p in folder.iterdir())  # no temporary file left behind
['note.txt']
"""
from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from featureplat.errors import InputError

__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_text", "parquet_schema", "read_parquet",
           "temporary_name", "write_parquet"]

TEMP_SUFFIX = ".tmp"


def temporary_name(path: Path) -> Path:
    """A fresh temporary name next to ``path``: hidden, unique, ending in ``.tmp``."""
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}{TEMP_SUFFIX}")


def _fsync(path: Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    try:
        os.fsync(fd)
    except OSError as err:
        # Some file systems cannot fsync a directory; the rename itself is still atomic.
        if not directory or err.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike, write: Callable[[Path], Any]) -> Path:
    """Write ``path`` through ``write(temporary_path)``, then fsync and rename it into place.

    ``write`` receives the temporary file's path (the file exists, empty) and writes the
    whole content there. Returns ``path`` as a Path. Whatever ``write`` raises is raised
    after the temporary file is removed; ``path`` is untouched until the rename.
    """
    p = Path(path)
    folder = p.parent
    if not folder.is_dir():
        raise FileNotFoundError(errno.ENOENT, f"cannot write {p}: folder {folder} does not exist", str(folder))
    tmp = temporary_name(p)
    # O_EXCL: the name is ours alone; 0o666 less the umask, the mode any new file gets.
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        write(tmp)
        _fsync(tmp)
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync(folder, directory=True)
    return p


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """:func:`atomic_write` of ``data``."""
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            f.write(data)

    return atomic_write(path, write)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """:func:`atomic_write` of ``text`` as UTF-8."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def write_parquet(path: str | os.PathLike, table: pa.Table, **options: Any) -> Path:
    """Write ``table`` as parquet with page checksums, atomically (:func:`atomic_write`).
    ``options`` go to ``pyarrow.parquet.write_table`` (compression, row_group_size, ...)."""
    if options.get("write_page_checksum") is False:
        raise ValueError("featureplat writes parquet with page checksums")
    options["write_page_checksum"] = True
    return atomic_write(path, lambda tmp: pq.write_table(table, str(tmp), **options))


def _unreadable(what: str, path: Any, err: Exception) -> InputError:
    return InputError(f"{what} {path} cannot be read: it is corrupt, truncated or not a parquet file ({err})")


def parquet_schema(path: str | os.PathLike, what: str = "parquet file") -> pa.Schema:
    """The Arrow schema of a parquet file; InputError naming ``what`` and the file if its
    footer cannot be read."""
    try:
        return pq.read_schema(path)
    except (pa.ArrowException, OSError) as err:
        raise _unreadable(what, path, err) from None


def read_parquet(path: str | os.PathLike, columns: Sequence[str] | None = None,
                 what: str = "parquet file") -> pa.Table:
    """A parquet file (or some of its ``columns``) with every page checksum the file
    carries verified; InputError naming ``what`` and the file when it is corrupt,
    truncated or not parquet."""
    try:
        return pq.read_table(path, columns=None if columns is None else list(columns),
                             page_checksum_verification=True)
    except (pa.ArrowException, OSError) as err:
        raise _unreadable(what, path, err) from None
