"""Attachments of posts, checked like the portal's uploads (``pipelines/service/uploads.py``): a size limit, the
type decided from the bytes against an allow-list (the declared name only has to agree), the user's file name
checked and kept as text, never used as a path: the stored file is named by its SHA-256."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from pipelines.network.rules import NetworkError

# kind -> (extensions the name may have, media type served)
ALLOWED = {
    "pdf": ({".pdf"}, "application/pdf"),
    "png": ({".png"}, "image/png"),
    "jpeg": ({".jpg", ".jpeg"}, "image/jpeg"),
    "text": ({".txt", ".csv", ".md"}, "text/plain; charset=utf-8"),
}
MAX_NAME = 255
DEFAULT_MAX_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class CheckedFile:
    file_name: str       # as the user named it: text only
    kind: str
    media_type: str
    size: int
    sha256: str


def check_name(name: str | None) -> str:
    if not name or not name.strip():
        raise NetworkError("network.err.no_file")
    if len(name) > MAX_NAME:
        raise NetworkError("network.err.file_name")
    if "/" in name or "\\" in name or name.strip(" .") == "" or re.match(r"^[A-Za-z]:", name) or ".." == name:
        raise NetworkError("network.err.file_name")
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in name):
        raise NetworkError("network.err.file_name")
    return name


def sniff(data: bytes) -> str | None:
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if b"\x00" in data[:65536]:
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "text"


def check(name: str | None, data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> CheckedFile:
    """``NetworkError`` (file name, size, or type) or the checked file's description."""
    name = check_name(name)
    if len(data) > max_bytes:
        raise NetworkError("network.err.file_too_large", status=413, limit_mb=max(1, max_bytes // (1024 * 1024)))
    if not data:
        raise NetworkError("network.err.file_empty")
    kind = sniff(data)
    if kind is None:
        raise NetworkError("network.err.file_type", name=name)
    exts, media = ALLOWED[kind]
    if Path(name).suffix.lower() not in exts:
        raise NetworkError("network.err.file_type", name=name)
    return CheckedFile(name, kind, media, len(data), hashlib.sha256(data).hexdigest())


def store(folder: Path, checked: CheckedFile, data: bytes) -> Path:
    """Write the bytes as ``<folder>/<sha256>`` (0600, written then renamed; the same bytes are stored once)."""
    import os

    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = folder / checked.sha256
    if not target.exists():
        tmp = folder / f".{checked.sha256}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    return target


def stored_path(folder: Path, sha256: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{64}", sha256 or ""):
        raise NetworkError("network.err.not_found", status=404)
    return folder / sha256
