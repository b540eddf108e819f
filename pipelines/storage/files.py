"""Small atomic file helpers."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj) -> None:
    atomic_write_bytes(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str).encode("utf-8"))


def write_parquet_atomic(df, path: Path) -> Path:
    """Write a pandas DataFrame (or Arrow table) to Parquet via a temp file + rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = df if isinstance(df, pa.Table) else pa.Table.from_pandas(df, preserve_index=False)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".parquet", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def copy_file_atomic(src: Path, path: Path) -> Path:
    """Place a copy of ``src`` at ``path`` atomically (temp name + rename): a hard link when both are on one
    file system (no byte is copied; every writer here replaces files by renaming, never in place), else a
    copy."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=Path(path).suffix, dir=path.parent)
    os.close(fd)
    try:
        os.unlink(tmp)
        try:
            os.link(src, tmp)
        except OSError:
            import shutil

            shutil.copyfile(src, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


class TooLarge(Exception):
    """A stream went past its size limit; ``size`` is how much had been read."""

    def __init__(self, size: int, limit: int):
        super().__init__(f"more than {limit:,} bytes")
        self.size = size
        self.limit = limit


def copy_stream(read, dest: Path, *, max_bytes: int | None = None, on_chunk=None) -> tuple[int, str]:
    """Copy ``read(n)`` chunks into ``dest`` (a path we chose), hashing as we go, and fsync.

    Raises TooLarge past ``max_bytes`` (the partial file is left for the caller to discard);
    ``on_chunk(size_so_far)`` may raise to stop (e.g. a deadline). Returns (size, sha256 hex)."""
    import hashlib

    h = hashlib.sha256()
    size = 0
    with open(dest, "wb") as out:
        for chunk in iter(lambda: read(1 << 20), b""):
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:
                raise TooLarge(size, max_bytes)
            if on_chunk is not None:
                on_chunk(size)
            h.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return size, h.hexdigest()
