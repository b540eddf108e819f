"""Hostile and broken files, derived at test time from the real national files and the member-state template.

``hostile_files()`` returns about ninety ``Hostile`` cases: the bytes of a file, the name a careless or hostile
user would give it, the source it is sent for, and what must happen to it:

* ``refuse`` — the file must be refused: `hemistat validate` says REJECTED (exit 1), `hemistat submit` exits 1
  (REJECTED, with every problem) or 2 (refused before anything is stored), the portal answers 4xx or a
  ``rejected`` verdict;
* ``verdict`` — any clear verdict will do (a benign oddity: a BOM, mixed line endings, a hostile *name* on good
  content): ACCEPTED, NEEDS REVIEW or REJECTED, never a crash.

Bases (read where they are, never copied into the project): the first two years of Argentina's SNIC national
file (``ar_snic/snic-pais.csv``: ``;``, decimal comma, CRLF) and the member-state template
(``reference/templates/hemistat_template.csv`` / ``.xlsx``, source ``iccs_template``).
"""

from __future__ import annotations

import io
import random
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TEMPLATE_CSV = REPO / "reference" / "templates" / "hemistat_template.csv"
TEMPLATE_XLSX = REPO / "reference" / "templates" / "hemistat_template.xlsx"


@dataclass(frozen=True)
class Hostile:
    case: str          # the test id
    name: str          # the file name the user gives (may itself be hostile: 300 characters, a path …)
    data: bytes
    source: str        # ar_snic | iccs_template
    expect: str        # refuse | verdict

    @property
    def disk_name(self) -> str:
        """A name the CLI can be given on any file system (the hostile name is the portal's to refuse)."""
        stem = re.sub(r"[^\w.-]+", "_", Path(self.name.replace("\\", "/")).name)[:120].strip("._") or self.case
        ext = Path(self.name).suffix.lower()
        return stem if stem.lower().endswith(ext) else stem + (ext if ext in (".csv", ".xlsx") else ".csv")


# bases --------------------------------------------------------------------------------------------------------
def snic_lines(shared: Path) -> list[bytes]:
    """Header + the years 2000-2001 of the real SNIC national file (CRLF lines, without the line ends)."""
    return (shared / "ar_snic" / "snic-pais.csv").read_bytes().split(b"\r\n")[:63]


def _join(lines: list[bytes], end: bytes = b"\r\n") -> bytes:
    return end.join(lines) + end


def _set(lines: list[bytes], row: int, col: int, value: bytes, sep: bytes = b";") -> list[bytes]:
    out = list(lines)
    f = out[row].split(sep)
    f[col] = value
    out[row] = sep.join(f)
    return out


def _template_lines() -> list[bytes]:
    return TEMPLATE_CSV.read_bytes().replace(b"\r\n", b"\n").rstrip(b"\n").split(b"\n")


def _tset(col: str, value: bytes, row: int = 1) -> bytes:
    """The template with one cell replaced (CSV with quoted comments: only the unquoted leading columns are
    edited)."""
    lines = _template_lines()
    cols = lines[0].split(b",")
    i = cols.index(col.encode())
    f = lines[row].split(b",")
    f[i] = value
    lines[row] = b",".join(f)
    return b"\n".join(lines) + b"\n"


def _xlsx(rows: list[list], *, sheet: str = "data", extra: dict[str, bytes] | None = None) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    if not extra:
        return buf.getvalue()
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in src.infolist():
            z.writestr(item, src.read(item.filename))
        for name, data in extra.items():
            z.writestr(name, data)
    return out.getvalue()


def _template_rows() -> list[list]:
    import csv

    rows = list(csv.reader(io.StringIO(TEMPLATE_CSV.read_text("utf-8"))))
    return [rows[0]] + [[(int(v) if v.isdigit() and c in ("year", "value") else v) for c, v in zip(rows[0], r)]
                        for r in rows[1:]]


# the cases ----------------------------------------------------------------------------------------------------
def hostile_files(shared: Path, seed: int = 14) -> list[Hostile]:
    rnd = random.Random(seed)
    P = snic_lines(shared)
    hdr = P[0]
    good = _join(P)
    out: list[Hostile] = []

    def add(case, data, expect="refuse", name=None, source="ar_snic"):
        case = re.sub(r"[^a-z0-9_]+", "_", case.lower()).strip("_")
        out.append(Hostile(case, name or f"{case}.csv", data, source, expect))

    # --- empty, truncated, cut short ---------------------------------------------------------------------
    add("empty", b"")
    add("header_only", _join([hdr]))
    add("header_only_no_newline", hdr)
    add("single_newline", b"\r\n")
    add("blank_lines_only", b"\r\n" * 50)
    cut = good[: int(len(good) * 0.6)]
    add("truncated_mid_line", cut[: cut.rfind(b";") + 3])
    add("truncated_mid_header", hdr[: len(hdr) // 2])
    add("truncated_mid_quote", good[:400] + b';"unterminated quote\r\n2000;1;x;1')
    # --- encodings and BOMs ------------------------------------------------------------------------------
    add("latin1", good.decode("utf-8").encode("latin-1"))
    add("cp1252_smart_quotes", good.decode("utf-8").replace("Homicidios", "\u201cHomicidios\u201d", 1).encode("cp1252"))
    add("utf16le_bom", good.decode("utf-8").encode("utf-16"))
    add("utf16be_no_bom", good.decode("utf-8").encode("utf-16-be"))
    add("utf32", good.decode("utf-8").encode("utf-32"))
    add("bom_utf8", b"\xef\xbb\xbf" + good, "verdict")
    add("double_bom", b"\xef\xbb\xbf\xef\xbb\xbf" + good)
    add("bom_mid_file", _join(P[:5] + [b"\xef\xbb\xbf" + P[5]] + P[6:]), "verdict")
    add("invalid_utf8_byte", _join(P[:9] + [P[9] + b"\xff\xfe"] + P[10:]))
    # --- delimiters, line endings, quoting -----------------------------------------------------------------
    add("comma_delimiter", _join([ln.replace(b";", b",") for ln in P]))
    add("tab_delimiter", _join([ln.replace(b";", b"\t") for ln in P]))
    add("pipe_delimiter", _join([ln.replace(b";", b"|") for ln in P]))
    add("mixed_line_endings", b"".join(ln + rnd.choice([b"\r\n", b"\n", b"\r\n"]) for ln in P), "verdict")
    add("cr_only_line_endings", _join(P, b"\r"), "verdict")
    add("unbalanced_quotes", _join(P[:6] + [b'2000;7;"Lesiones;1;2;3'] + P[7:]))
    add("quoted_newline_in_label", _join(P[:6] + [P[6].replace(b";Lesiones", b';"Lesiones\r\ndolosas"', 1)] + P[7:]),
        "verdict")
    # --- headers --------------------------------------------------------------------------------------------
    add("duplicate_header_extra", _join([hdr + b";cantidad_hechos"] + [ln + b";1" for ln in P[1:]]))
    add("duplicate_header_renamed", _join([hdr.replace(b";cantidad_victimas;", b";cantidad_hechos;", 1)] + P[1:]))
    cols = hdr.split(b";")
    drop = cols.index(b"cantidad_hechos")
    add("missing_column", _join([b";".join(f for i, f in enumerate(ln.split(b";")) if i != drop) for ln in P]))
    add("missing_value_columns", _join([b";".join(ln.split(b";")[:3]) for ln in P]))
    add("header_case_changed", _join([hdr.upper()] + P[1:]))
    add("extra_column", _join([hdr + b";observaciones"] + [ln + b";ok" for ln in P[1:]]), "verdict")
    add("thousand_extra_columns", _join([hdr + b"".join(b";x%d" % i for i in range(1000))]
                                        + [ln + b";" * 1000 for ln in P[1:]]), "verdict")
    add("header_repeated_mid_file", _join(P[:20] + [hdr] + P[20:]))
    add("no_header", _join(P[1:]))
    add("too_few_fields", _join(P[:8] + [b"2000;7"] + P[9:]))
    add("too_many_fields", _join(P[:8] + [P[8] + b";1;2;3;4"] + P[9:]))
    # --- counts ------------------------------------------------------------------------------------------------
    add("fractional_count", _join(_set(P, 1, 3, b"2653,5")))
    add("negative_count", _join(_set(P, 1, 3, b"-2653")))
    # read as a count and held for review by P1 (implausible rate), not refused: see the report of issue 14
    add("huge_count", _join(_set(P, 1, 3, b"1" + b"0" * 30)), "verdict")
    add("scientific_count", _join(_set(P, 1, 3, b"2,65e3")), "verdict")   # 2650 exactly
    add("dot_thousands", _join(_set(P, 1, 3, b"2.653")))
    add("comma_thousands", _join(_set(P, 1, 3, b"2,653")))
    add("space_thousands", _join(_set(P, 1, 3, b"2 653")))
    add("count_with_unit", _join(_set(P, 1, 3, b"2653 hechos")))
    for i, junk in enumerate([b"NaN", b"nan", b"inf", b"-inf", b"NULL", b"N/A", b"#DIV/0!", b"--"]):
        add(f"text_count_{junk.decode()}_{i}", _join(_set(P, 1, 3, junk)))
    add("ten_times", _join([P[0]] + [b";".join(str(int(f) * 10).encode() if k in (3, 4, 5, 6, 7) and f.isdigit()
                                               else f for k, f in enumerate(ln.split(b";"))) for ln in P[1:]]),
        "verdict")
    add("all_zero", _join([P[0]] + [b";".join(b"0" if k in (3, 4, 5, 6, 7) and f.isdigit() else f
                                              for k, f in enumerate(ln.split(b";"))) for ln in P[1:]]), "verdict")
    # --- codes and years ------------------------------------------------------------------------------------
    add("unknown_code", _join(_set(P, 1, 1, b"999")))
    add("sql_in_code", _join(_set(P, 1, 1, b"1'; drop table published.indicators; --")))
    add("year_1800", _join(_set(P, 1, 0, b"1800")))
    add("year_2099", _join(_set(P, 1, 0, b"2099")), "verdict")   # issue 14 item 5 (another branch): not yet refused
    add("year_text", _join(_set(P, 1, 0, b"dos mil")))
    add("year_fraction", _join(_set(P, 1, 0, b"2000.5")))
    add("year_empty", _join(_set(P, 1, 0, b"")))
    add("duplicate_rows", _join(P[:2] + P[1:]))
    # --- formulas, markup, control characters --------------------------------------------------------------
    add("formula_cmd_in_count", _join(_set(P, 1, 3, b"=cmd|' /C calc'!A0")))
    add("formula_plus_in_count", _join(_set(P, 1, 3, b"+1+1")))
    add("formula_at_in_count", _join(_set(P, 1, 3, b"@SUM(1+1)")))
    add("formula_in_label", _join(_set(P, 1, 2, b"=cmd|' /C calc'!A0")), "verdict")
    add("html_script_in_label", _join(_set(P, 1, 2, b"<script>alert(1)</script>")), "verdict")
    add("html_in_count", _join(_set(P, 1, 3, b"<b>2653</b>")))
    add("ansi_escape_in_label", _join(_set(P, 1, 2, b"\x1b[31mHomicidios\x1b[0m")), "verdict")
    add("nul_bytes_in_label", _join(_set(P, 1, 2, b"Homi\x00cidios")), "verdict")
    add("nul_bytes_in_count", _join(_set(P, 1, 3, b"26\x0053")))
    # --- sizes ---------------------------------------------------------------------------------------------
    add("very_long_label_1mb", _join(_set(P, 1, 2, b"A" * 1_000_000)), "verdict")
    add("very_long_count_100kb", _join(_set(P, 1, 3, b"9" * 100_000)))
    add("very_long_line_no_delimiter", _join([hdr, b"x" * 2_000_000]))
    # --- not a CSV at all ---------------------------------------------------------------------------------
    add("binary_junk", bytes(rnd.getrandbits(8) for _ in range(4096)))
    add("png_named_csv", b"\x89PNG\r\n\x1a\n" + bytes(rnd.getrandbits(8) for _ in range(512)))
    add("pdf_named_csv", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
    add("gzip_named_csv", b"\x1f\x8b\x08\x00" + bytes(rnd.getrandbits(8) for _ in range(256)))
    add("ole2_xls_named_xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 2048, name="ole2_xls.xlsx",
        source="iccs_template")
    add("json_named_csv", b'{"anio": 2000, "cantidad_hechos": 1}\n')
    # --- hostile names on good content (the CLI gets a safe name; the portal refuses the name itself) --------
    add("name_300_chars", good, "verdict", name="a" * 296 + ".csv")
    add("name_path_traversal", good, "verdict", name="../../../etc/passwd.csv")
    add("name_windows_traversal", good, "verdict", name="..\\..\\windows\\win.ini.csv")
    add("name_absolute", good, "verdict", name="/etc/shadow.csv")
    add("name_control_chars", good, "verdict", name="snic\x00pais\n.csv")
    add("name_html", good, "verdict", name="<img src=x onerror=alert(1)>.csv")
    add("name_dots_only", good, "verdict", name="....csv")
    add("name_wrong_extension", good, "verdict", name="snic-pais.exe")
    # --- the member-state template (source iccs_template) --------------------------------------------------
    T = TEMPLATE_CSV.read_bytes()

    def tadd(case, data, expect="refuse", name=None):
        add(case, data, expect, name or f"{case}.csv", source="iccs_template")

    tadd("tpl_country_not_member", _tset("country_iso3", b"ZZZ"))
    tadd("tpl_unknown_iccs_code", _tset("iccs_code", b"9999"))
    tadd("tpl_measure_bogus", _tset("measure", b"bogus"))
    tadd("tpl_sex_bogus", _tset("sex", b"X"))
    tadd("tpl_month_13", _tset("month", b"13"))
    tadd("tpl_month_0", _tset("month", b"0"))
    tadd("tpl_year_1800", _tset("year", b"1800"))
    tadd("tpl_negative_value", _tset("value", b"-210"))
    tadd("tpl_fractional_value", _tset("value", b"210.5"))
    tadd("tpl_formula_value", _tset("value", b"=1+1"))
    tadd("tpl_header_only", _template_lines()[0] + b"\n")
    tadd("tpl_missing_country_column", b"\n".join(b",".join(ln.split(b",")[1:]) for ln in _template_lines()) + b"\n")
    tadd("tpl_html_label", _tset("iccs_label", b"<script>alert(1)</script>"), "verdict")
    # --- workbooks -------------------------------------------------------------------------------------------
    rows = _template_rows()
    X = TEMPLATE_XLSX.read_bytes()

    def xadd(case, data, expect="refuse", name=None):
        add(case, data, expect, name or f"{case}.xlsx", source="iccs_template")

    xadd("xlsx_template", X, "verdict")
    xadd("xlsx_truncated", X[: len(X) // 2])
    xadd("zip_not_xlsx", _zip({"data.csv": T}))
    xadd("zip_empty", _zip({}))
    xadd("xlsx_with_macros", _xlsx(rows, extra={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0" + b"\0" * 512}), "verdict")
    xadd("xlsm_named_xlsm", _xlsx(rows[:20], extra={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0" + b"\0" * 512}),
         "verdict", name="xlsm_named_xlsm.xlsm")
    xadd("xlsx_wrong_sheet_name", _xlsx(rows, sheet="Hoja1"))
    xadd("xlsx_empty_sheet", _xlsx([]))
    # a formula without a cached value is read as an empty cell (a missing value), like Excel shows it before it
    # recalculates: a verdict, never a formula executed
    xadd("xlsx_formula_value", _xlsx([rows[0]] + [r[:10] + ["=1/0"] + r[11:] for r in rows[1:3]] + rows[3:]),
         "verdict")
    xadd("xlsx_named_csv", _xlsx(rows[:25]), name="xlsx_named_csv.csv")
    xadd("csv_named_xlsx", T, "verdict", name="csv_named_xlsx.xlsx")   # read by its content
    return out


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in files.items():
            z.writestr(n, d)
    return buf.getvalue()
