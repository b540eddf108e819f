"""Shared helpers for the reference-table build: paths, hashing, deterministic writers, provenance."""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_ENV = "HEMISTAT_SHARED_DIR"
BUILD_COMMAND = "python -m tools.refbuild"
# Inputs are cited relative to the shared folder, so PROVENANCE.md does not depend on where it lives.
SHARED_DISPLAY_PREFIX = "shared/data/real"

_DATE_LINE = re.compile(r"^- Build date \(UTC\): (\d{4}-\d{2}-\d{2})$", re.M)


class RefBuildError(RuntimeError):
    """A source file does not look the way the build expects. The build stops; nothing is guessed."""


def default_shared_dir() -> Path:
    env = os.environ.get(SHARED_ENV)
    if env:
        return Path(env)
    return REPO_ROOT.parent / "shared" / "data" / "real"


def default_out_dir() -> Path:
    return REPO_ROOT / "reference"


from pipelines.storage.submissions import sha256_file  # noqa: E402,F401  (one implementation)


def require_file(path: Path) -> Path:
    if not path.is_file():
        raise RefBuildError(f"source file not found: {path}")
    return path


def norm_space(text: str) -> str:
    """Collapse runs of whitespace (incl. newlines, NBSP) to one space and strip."""
    return " ".join(text.replace("\xa0", " ").split())


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


# --------------------------------------------------------------------------------------------
# Deterministic writers
# --------------------------------------------------------------------------------------------
def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """UTF-8 (no BOM), LF line endings, minimal quoting, booleans as true/false."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(header)
    for row in rows:
        if len(row) != len(header):
            raise RefBuildError(f"row has {len(row)} cells, header has {len(header)}: {row!r}")
        w.writerow(["true" if v is True else "false" if v is False else "" if v is None else v for v in row])
    return buf.getvalue().encode("utf-8")


def json_bytes(obj: object) -> bytes:
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write atomically; leave the file untouched (mtime too) when the content is identical."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file() and path.read_bytes() == data:
        return False
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return True


def today_utc() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return _dt.datetime.fromtimestamp(int(epoch), _dt.timezone.utc).date().isoformat()
    return _dt.datetime.now(_dt.timezone.utc).date().isoformat()


def write_provenance(path: Path, render: Callable[[str], str]) -> bool:
    """Write PROVENANCE.md; keep the existing build date if nothing but the date would change."""
    if path.is_file():
        old = path.read_text(encoding="utf-8")
        m = _DATE_LINE.search(old)
        if m and render(m.group(1)) == old:
            return False
    return write_if_changed(path, render(today_utc()).encode("utf-8"))


def date_line(date: str) -> str:
    return f"- Build date (UTC): {date}"


# --------------------------------------------------------------------------------------------
# Source description used in PROVENANCE.md
# --------------------------------------------------------------------------------------------
@dataclass
class Source:
    rel_path: str  # relative to the shared folder, e.g. "iccs/iccs_parse_final.csv"
    publisher: str
    mirror: str
    licence: str
    sha256: str = ""
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        return provenance_markdown(
            f"{SHARED_DISPLAY_PREFIX}/{self.rel_path}", self.publisher, self.mirror,
            f"Licence (as stated in `{SHARED_DISPLAY_PREFIX}/{self.rel_path.split('/')[0]}/PROVENANCE.md`)",
            self.licence, "sha256 of the input file", self.sha256, self.notes)


def provenance_markdown(path: str, publisher: str, origin: str, licence_label: str, licence: str,
                        sha_label: str, sha256: str, notes: list[str]) -> str:
    """One PROVENANCE.md entry: the file, who published it, where it came from, licence, checksum, notes."""
    lines = [f"### `{path}`", f"- Publisher: {publisher}", f"- Obtained from: {origin}",
             f"- {licence_label}: {licence}", f"- {sha_label}: `{sha256}`"]
    return "\n".join(lines + [f"- {n}" for n in notes])


def build_section(date: str, extra_cmd: str = "") -> str:
    return "\n".join(
        [
            "## Build",
            f"- Command (from the repository root): `{BUILD_COMMAND}` "
            f"(options: `--shared DIR`, env `{SHARED_ENV}`; default `<repo>/../shared/data/real`)" + extra_cmd,
            "- Code: `tools/refbuild/` (deterministic: re-running on the same inputs reproduces every file byte-for-byte;"
            " `tests/data/test_reference_tables.py` checks this).",
            date_line(date),
            "- Do not edit the generated files by hand: change the build code and re-run it.",
        ]
    )
