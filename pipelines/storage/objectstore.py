"""The published warehouse on S3-compatible object storage (AWS S3, MinIO, Ceph, Garage, a cloud's S3 API).

A release is a folder of Parquet files (pipelines/storage/release.py). ``export_release`` copies one to
``s3://<bucket>/<prefix>/releases/<release_id>/`` — the same layout as ``<data>/published`` — and then
writes ``<prefix>/CURRENT`` (the release id) last, so a reader who follows CURRENT never sees half a
release: object stores have no rename, but a single small object is replaced atomically.

Readers:

* ``open_release`` (here): a DuckDB connection with ``published.<table>`` views over the release's Parquet
  files, read through Arrow's S3 filesystem (bundled with pyarrow; no DuckDB extension to download).
* DuckDB with its ``httpfs`` extension (where it can be installed): ``CREATE SECRET (TYPE s3, ...)`` then
  ``select * from read_parquet('s3://<bucket>/<prefix>/releases/<id>/indicators.parquet')``.
* Spark (``spark.read.parquet("s3a://...")``) and Trino (a Hive or Iceberg catalog, or ``CREATE TABLE ...
  WITH (external_location = 's3://...', format = 'PARQUET')``) read the same files: nothing here is
  specific to DuckDB. See docs/DEPLOYMENT.md.

Credentials and endpoint come from the usual AWS variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_REGION) and ``HEMISTAT_S3_ENDPOINT`` (e.g. ``http://minio:9000``) when no filesystem is given.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import urlparse

import duckdb
import pyarrow.dataset as ds
import pyarrow.fs as pafs

_RELEASE_ID = re.compile(r"^\d{8}T\d{6}-[0-9a-f]{6}$")
_TABLE = re.compile(r"^[a-z_][a-z0-9_]*$")
VIEW_NAMES = {"survey": "survey_indicators"}   # file stem -> view name where they differ (warehouse/views)


def s3_filesystem(endpoint: str | None = None, **options) -> pafs.S3FileSystem:
    """An Arrow S3 filesystem: ``endpoint`` (default $HEMISTAT_S3_ENDPOINT) like ``http://host:9000`` for an
    S3-compatible server; credentials from ``options`` or the AWS environment variables."""
    endpoint = endpoint or os.environ.get("HEMISTAT_S3_ENDPOINT") or None
    if endpoint:
        u = urlparse(endpoint if "://" in endpoint else f"https://{endpoint}")
        options.setdefault("endpoint_override", u.netloc)
        options.setdefault("scheme", u.scheme or "https")
        options.setdefault("force_virtual_addressing", False)
    options.setdefault("region", os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")
    return pafs.S3FileSystem(**options)


def split_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ("bucket", "some/prefix") (no leading or trailing slash)."""
    u = urlparse(url)
    if u.scheme not in ("s3", "s3a") or not u.netloc:
        raise ValueError(f"not an s3:// URL: {url!r}")
    return u.netloc, u.path.strip("/")


def _key(bucket: str, prefix: str, *parts: str) -> str:
    return "/".join([bucket, *([prefix] if prefix else []), *parts])


def export_release(published_dir: Path, s3_url: str, filesystem: pafs.FileSystem | None = None,
                   release_id: str | None = None) -> dict:
    """Copy release ``release_id`` (default: the current one) of ``published_dir`` to ``s3_url``, then point
    ``<s3_url>/CURRENT`` at it. Returns {"release_id", "url", "files", "bytes"}."""
    fs = filesystem or s3_filesystem()
    published_dir = Path(published_dir)
    if release_id is None:
        cur = published_dir / "CURRENT"
        if not cur.exists():
            raise FileNotFoundError(f"no release published in {published_dir} (no CURRENT)")
        release_id = cur.read_text("utf-8").strip()
    if not _RELEASE_ID.match(release_id or ""):
        raise ValueError(f"not a release id: {release_id!r}")
    src = published_dir / "releases" / release_id
    if not (src / "release.json").exists():
        raise FileNotFoundError(f"release {release_id} is not complete in {published_dir}")
    bucket, prefix = split_url(s3_url)
    files = sorted(p for p in src.iterdir() if p.is_file() and (p.suffix == ".parquet" or p.name == "release.json"))
    total = 0
    for p in files:   # the release's files first ...
        pafs.copy_files(str(p), _key(bucket, prefix, "releases", release_id, p.name),
                        source_filesystem=pafs.LocalFileSystem(), destination_filesystem=fs)
        total += p.stat().st_size
    with fs.open_output_stream(_key(bucket, prefix, "CURRENT")) as out:   # ... then the pointer to them
        out.write(release_id.encode())
    return {"release_id": release_id, "url": f"s3://{_key(bucket, prefix, 'releases', release_id)}/",
            "files": [p.name for p in files], "bytes": total}


def current_release(s3_url: str, filesystem: pafs.FileSystem | None = None) -> str:
    fs = filesystem or s3_filesystem()
    bucket, prefix = split_url(s3_url)
    with fs.open_input_stream(_key(bucket, prefix, "CURRENT")) as f:
        rid = f.read().decode().strip()
    if not _RELEASE_ID.match(rid):
        raise ValueError(f"{s3_url}/CURRENT does not name a release: {rid!r}")
    return rid


def open_release(s3_url: str, filesystem: pafs.FileSystem | None = None, release_id: str | None = None,
                 con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection (``con`` or a new in-memory one) with ``published.<table>`` views over the release's
    Parquet files in object storage (default: the one CURRENT names) and ``published.release`` (its
    release.json). Rows are read from the bucket when a query runs (Arrow datasets: column and row-group
    pruning), nothing is downloaded beforehand."""
    fs = filesystem or s3_filesystem()
    bucket, prefix = split_url(s3_url)
    release_id = release_id or current_release(s3_url, fs)
    base = _key(bucket, prefix, "releases", release_id)
    infos = fs.get_file_info(pafs.FileSelector(base))
    if not infos:
        raise FileNotFoundError(f"s3://{base}/ is empty")
    con = con or duckdb.connect()
    con.execute("create schema if not exists published")
    for info in sorted(infos, key=lambda i: i.path):
        name = Path(info.path).name
        if not name.endswith(".parquet"):
            continue
        stem = name[: -len(".parquet")]
        view = VIEW_NAMES.get(stem, stem)
        if not _TABLE.match(view):
            continue
        con.register(f"_s3_{view}", ds.dataset(info.path, filesystem=fs, format="parquet"))
        con.execute(f"create or replace view published.{view} as select * from _s3_{view}")
    with fs.open_input_stream(f"{base}/release.json") as f:
        meta = json.loads(f.read())
    con.execute("create or replace table published.release as select * from (select ? as release_id, "
                "? as published_at, ? as metadata)",
                [meta.get("release_id"), meta.get("published_at"), json.dumps(meta, ensure_ascii=False)])
    return con
