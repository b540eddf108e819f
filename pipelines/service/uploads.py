"""Hostile and broken uploads: size, type by content, workbook dangers (macros, external links,
embedded objects, zip bombs), file names that try to be paths; and formula-neutralised CSV/XLSX for
every table the portal writes back."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from pathlib import Path

TEXT_EXT = {".csv", ".txt"}
XLSX_EXT = {".xlsx"}
MAX_ZIP_ENTRIES = 2000
MAX_RATIO = 200          # uncompressed / compressed, per entry larger than 1 MiB
from pipelines.publication.tabular import FORMULA_START, neutralise  # noqa: F401 - one definition, shared

# magic numbers of things that are certainly not CSV or XLSX
_BINARY_MAGIC = {
    b"\xd0\xcf\x11\xe0": "ole2",          # legacy .xls/.doc, may carry macros
    b"%PDF": "pdf", b"\x89PNG": "png", b"\xff\xd8\xff": "jpeg", b"GIF8": "gif", b"\x1f\x8b": "gzip",
    b"BZh": "bzip2", b"7z\xbc\xaf": "7z", b"Rar!": "rar", b"\x7fELF": "elf", b"MZ": "exe",
    b"\xfd7zXZ": "xz", b"\x28\xb5\x2f\xfd": "zstd", b"SQLite format 3": "sqlite",
}


class UploadRefused(ValueError):
    """The upload is refused before anything is stored; ``key`` is an i18n message key."""

    def __init__(self, key: str, status: int = 400, **params):
        super().__init__(key)
        self.key = key
        self.status = status
        self.params = params

    def text(self, t) -> str:
        """The message through translator ``t``; a parameter that renders itself (a file's ``Problem``, from the
        limits of ``adapters/guards.py``) is given in ``t``'s language too."""
        lang = getattr(t, "lang", "en")
        return t(self.key, **{k: v.render(lang) if callable(getattr(v, "render", None)) else v
                              for k, v in self.params.items()})


MAX_NAME = 255   # characters of an uploaded file's name (most file systems' limit)


def check_file_name(name: str | None) -> str:
    """The file name is kept as text in the manifest only; one that tries to be a path is refused."""
    if not name or not name.strip():
        raise UploadRefused("err_no_file")
    if len(name) > MAX_NAME:
        raise UploadRefused("err_file_name_too_long", n=len(name), max=MAX_NAME)
    if "/" in name or "\\" in name or name.strip(" .") == "" or re.match(r"^[A-Za-z]:", name):
        raise UploadRefused("err_file_name_path")
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in name):
        raise UploadRefused("err_file_name")
    return name


def sniff(path: Path, name: str, max_bytes: int, max_uncompressed: int) -> str:
    """Decide the type from the bytes ('csv' or 'xlsx') and check it; the name only has to agree."""
    size = path.stat().st_size
    if size > max_bytes:
        raise UploadRefused("err_too_large", status=413, limit_mb=max_bytes // (1024 * 1024))
    if size == 0:
        raise UploadRefused("err_empty")
    with open(path, "rb") as fh:
        head = fh.read(65536)
    ext = Path(name).suffix.lower()
    if head.startswith(b"PK\x03\x04"):
        if ext not in XLSX_EXT:
            raise UploadRefused("err_type_mismatch", declared=ext or "?", actual="ZIP/XLSX")
        check_xlsx(path, max_uncompressed)
        return "xlsx"
    for magic, kind in _BINARY_MAGIC.items():
        if head.startswith(magic):
            raise UploadRefused("err_legacy_office" if kind == "ole2" else "err_type_binary", kind=kind)
    if head.startswith(b"PK"):
        raise UploadRefused("err_type_binary", kind="zip")
    utf16 = head.startswith((b"\xff\xfe", b"\xfe\xff"))
    if b"\x00" in head and not utf16:
        raise UploadRefused("err_type_binary", kind="binary")
    if ext not in TEXT_EXT:
        raise UploadRefused("err_type_mismatch", declared=ext or "?", actual="CSV")
    return "csv"


def _read_capped(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> int:
    """Decompress an entry to nowhere, counting bytes; stops past ``cap`` (sizes in headers can lie)."""
    n = 0
    with zf.open(info) as fh:
        while True:
            chunk = fh.read(1 << 16)
            if not chunk:
                return n
            n += len(chunk)
            if n > cap:
                return n


def check_xlsx(path: Path, max_uncompressed: int) -> None:
    """An Office Open XML workbook without macros, external links, data connections or embedded
    objects, and no zip bomb (entry count, declared and actual expanded size, compression ratio)."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise UploadRefused("err_xlsx_corrupt")
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ZIP_ENTRIES:
            raise UploadRefused("err_zip_bomb")
        names = [i.filename for i in infos]
        if any(n.startswith("/") or ".." in n.split("/") for n in names):
            raise UploadRefused("err_xlsx_corrupt")
        declared = sum(i.file_size for i in infos)
        if declared > max_uncompressed:
            raise UploadRefused("err_zip_bomb")
        for i in infos:
            if i.file_size > (1 << 20) and i.file_size > MAX_RATIO * max(i.compress_size, 1):
                raise UploadRefused("err_zip_bomb")
        if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
            raise UploadRefused("err_xlsx_not_workbook")
        lower = [n.lower() for n in names]
        if any(n.endswith("vbaproject.bin") or n.startswith(("xl/macrosheets/", "xl/dialogsheets/"))
               or n.endswith(".bin") and "vba" in n for n in lower):
            raise UploadRefused("err_xlsx_macros")
        if any(n.startswith(("xl/activex/", "xl/embeddings/")) for n in lower):
            raise UploadRefused("err_xlsx_embedded")
        if any(n.startswith("xl/externallinks/") or n == "xl/connections.xml" or n.startswith("xl/querytables/")
               for n in lower):
            raise UploadRefused("err_xlsx_external")
        # the actual expanded size, whatever the headers say
        total = 0
        try:
            for i in infos:
                total += _read_capped(zf, i, max_uncompressed - total)
                if total > max_uncompressed:
                    raise UploadRefused("err_zip_bomb")
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
            if isinstance(exc, UploadRefused):
                raise
            raise UploadRefused("err_xlsx_corrupt")
        ct = zf.read("[Content_Types].xml").decode("utf-8", "replace").lower()
        if "macroenabled" in ct or "vbaproject" in ct or "ms-office.vba" in ct or "macrosheet" in ct:
            raise UploadRefused("err_xlsx_macros")
        for n in names:
            if not n.endswith(".rels"):
                continue
            rels = zf.read(n).decode("utf-8", "replace")
            lrels = rels.lower()
            if "/externallink" in lrels or "/externallinkpath" in lrels or "/oleobject" in lrels \
                    or "/attachedtemplate" in lrels or "vbaproject" in lrels:
                raise UploadRefused("err_xlsx_external" if "external" in lrels else "err_xlsx_macros")
            for m in re.finditer(r"<Relationship\b[^>]*>", rels):
                tag = m.group(0)
                if re.search(r'TargetMode\s*=\s*"External"', tag, re.I) and not re.search(r"/hyperlink\"", tag, re.I):
                    raise UploadRefused("err_xlsx_external")


# writing tables back ---------------------------------------------------------------------------------------
def _rows(columns: list[str], rows) -> tuple[list[str], list[list]]:
    return [neutralise(str(c)) for c in columns], [[neutralise(v) for v in r] for r in rows]


def to_csv_bytes(columns: list[str], rows) -> bytes:
    cols, data = _rows(columns, rows)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(cols)
    for r in data:
        w.writerow(["" if v is None else v for v in r])
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx_bytes(columns: list[str], rows, sheet: str = "data") -> bytes:
    from openpyxl import Workbook

    cols, data = _rows(columns, rows)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.append(cols)
    for r in data:
        ws.append([None if v is None else v for v in r])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def frame_rows(df) -> tuple[list[str], list[list]]:
    """A pandas frame as plain Python values (NaN/NA -> None) for the writers above."""
    import math

    out = []
    for rec in df.itertuples(index=False, name=None):
        row = []
        for v in rec:
            if v is None or (isinstance(v, float) and math.isnan(v)):
                row.append(None)
                continue
            try:
                import pandas as pd

                if v is pd.NA or v is pd.NaT:
                    row.append(None)
                    continue
            except Exception:  # noqa: BLE001
                pass
            row.append(v.item() if hasattr(v, "item") else v)
        out.append(row)
    return [str(c) for c in df.columns], out
