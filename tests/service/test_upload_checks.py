"""Hostile and broken files, checked by content (never by name): wrong types, legacy binary Office,
workbooks with macros / external links / data connections / embedded objects, zip bombs, path-like
names; and formula neutralisation of every CSV/XLSX the portal writes."""

import io
import zipfile

import pytest
from openpyxl import Workbook, load_workbook

from pipelines.service.uploads import (UploadRefused, check_file_name, neutralise, sniff, to_csv_bytes,
                                       to_xlsx_bytes)

MB = 1024 * 1024


def _xlsx(tmp_path, name="book.xlsx", extra: dict | None = None, content_types_extra: str = "") -> "Path":
    wb = Workbook()
    ws = wb.active
    ws.title = "data"
    ws.append(["country_iso3", "year", "value"])
    ws.append(["ARG", 2020, 5])
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    p = tmp_path / name
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "[Content_Types].xml" and content_types_extra:
                data = data.replace(b"</Types>", content_types_extra.encode() + b"</Types>")
            out.writestr(item, data)
        for n, data in (extra or {}).items():
            out.writestr(n, data)
    return p


def _sniff(p, name=None, max_bytes=5 * MB, max_unc=20 * MB):
    return sniff(p, name or p.name, max_bytes, max_unc)


def _refused(key, *args, **kw):
    with pytest.raises(UploadRefused) as e:
        _sniff(*args, **kw)
    assert e.value.key == key, e.value.key


def test_plain_csv_and_clean_xlsx_pass(tmp_path):
    csv = tmp_path / "a.csv"
    csv.write_text("anio;codigo\n2000;1\n", "utf-8")
    assert _sniff(csv) == "csv"
    assert _sniff(_xlsx(tmp_path)) == "xlsx"
    hyperlink = ('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                 'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
                 '2006/relationships/hyperlink" Target="https://example.org" TargetMode="External"/></Relationships>')
    assert _sniff(_xlsx(tmp_path, "h.xlsx", {"xl/worksheets/_rels/sheet1.xml.rels": hyperlink})) == "xlsx"


def test_type_by_content_not_name(tmp_path):
    png = tmp_path / "data.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    _refused("err_type_binary", png)
    book = _xlsx(tmp_path)
    renamed = tmp_path / "book.csv"
    renamed.write_bytes(book.read_bytes())
    _refused("err_type_mismatch", renamed)                       # a workbook called .csv
    text = tmp_path / "fake.xlsx"
    text.write_text("a,b\n1,2\n")
    _refused("err_type_mismatch", text)                          # text called .xlsx
    ole = tmp_path / "old.xlsx"
    ole.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    _refused("err_legacy_office", ole)                           # legacy .xls / OLE2 (macro carrier)
    nul = tmp_path / "nul.csv"
    nul.write_bytes(b"a,b\n1,\x002\n")
    _refused("err_type_binary", nul)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    _refused("err_empty", empty)
    notbook = tmp_path / "zip.xlsx"
    with zipfile.ZipFile(notbook, "w") as z:
        z.writestr("readme.txt", "hello")
    _refused("err_xlsx_not_workbook", notbook)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04" + b"garbage" * 50)
    _refused("err_xlsx_corrupt", broken)


def test_size_limit(tmp_path):
    big = tmp_path / "big.csv"
    big.write_bytes(b"a,b\n" + b"1,2\n" * (MB // 4 + 10))
    with pytest.raises(UploadRefused) as e:
        _sniff(big, max_bytes=1 * MB)
    assert e.value.key == "err_too_large" and e.value.status == 413 and e.value.params["limit_mb"] == 1


def test_macros_refused(tmp_path):
    _refused("err_xlsx_macros", _xlsx(tmp_path, "m.xlsx", {"xl/vbaProject.bin": b"\x00VBA" * 100}))
    _refused("err_xlsx_macros", _xlsx(tmp_path, "m2.xlsx", {"xl/macrosheets/sheet1.xml": "<xm/>"}))
    ct = ('<Override PartName="/xl/workbook.xml" '
          'ContentType="application/vnd.ms-excel.sheet.macroEnabled.main+xml"/>')
    _refused("err_xlsx_macros", _xlsx(tmp_path, "m3.xlsx", content_types_extra=ct))


def test_external_links_and_embedded_objects_refused(tmp_path):
    _refused("err_xlsx_external", _xlsx(tmp_path, "e1.xlsx", {"xl/externalLinks/externalLink1.xml": "<externalLink/>"}))
    rels = ('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'externalLinkPath" Target="file:///C:/secret/other.xlsx" TargetMode="External"/></Relationships>')
    _refused("err_xlsx_external", _xlsx(tmp_path, "e2.xlsx", {"xl/externalLinks/_rels/x.rels": rels}))
    ole = ('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
           '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
           'frame" Target="\\\\evil\\share\\x" TargetMode="External"/></Relationships>')
    _refused("err_xlsx_external", _xlsx(tmp_path, "e3.xlsx", {"xl/worksheets/_rels/sheet9.xml.rels": ole}))
    _refused("err_xlsx_external", _xlsx(tmp_path, "e4.xlsx", {"xl/connections.xml": "<connections/>"}))
    _refused("err_xlsx_embedded", _xlsx(tmp_path, "o.xlsx", {"xl/embeddings/oleObject1.bin": b"x" * 10}))


def test_zip_bombs_refused(tmp_path):
    # 30 MB of zeros compress to ~30 KB: ratio ~1000 per entry
    _refused("err_zip_bomb", _xlsx(tmp_path, "b1.xlsx", {"xl/media/zeros.bin": b"\x00" * (30 * MB)}))
    # many entries within the ratio, together over the expansion limit (declared sizes)
    many = {f"xl/media/f{i}.bin": bytes(range(256)) * 4096 for i in range(25)}   # 25 x 1 MiB, incompressible-ish
    _refused("err_zip_bomb", _xlsx(tmp_path, "b2.xlsx", many), max_unc=20 * MB)
    # too many entries
    _refused("err_zip_bomb", _xlsx(tmp_path, "b3.xlsx", {f"xl/x/{i}.xml": "" for i in range(2100)}))


def test_zip_bomb_with_lying_headers_refused(tmp_path):
    """Sizes in the zip directory claim little; the real expansion is counted while decompressing."""
    p = _xlsx(tmp_path, "liar.xlsx", {"xl/media/big.bin": b"A" * (25 * MB)})
    raw = bytearray(p.read_bytes())
    # patch the uncompressed size of that entry in the central directory and local header to 1 KB
    z = zipfile.ZipFile(p)
    info = z.getinfo("xl/media/big.bin")
    real_size = info.file_size.to_bytes(4, "little")
    fake = (1024).to_bytes(4, "little")
    n = raw.count(real_size)
    assert n >= 1
    raw = bytearray(bytes(raw).replace(real_size, fake))
    p.write_bytes(bytes(raw))
    with pytest.raises(UploadRefused) as e:
        _sniff(p, max_unc=20 * MB)
    assert e.value.key in ("err_zip_bomb", "err_xlsx_corrupt")


@pytest.mark.parametrize("name", ["../../etc/passwd.csv", "..\\..\\windows\\x.csv", "/etc/passwd", "a/b.csv",
                                  "C:\\data\\x.csv", "..", "evil\x00.csv", "rtl\u202ecsv.exe"])
def test_path_like_names_refused(name):
    with pytest.raises(UploadRefused) as e:
        check_file_name(name)
    assert e.value.key in ("err_file_name_path", "err_file_name")


def test_plain_names_pass():
    for n in ("snic-pais.csv", "Estadística 2024 (v2).xlsx", "=cmd.csv", "a..b.csv"):
        assert check_file_name(n) == n


def test_formula_cells_neutralised_in_csv_and_xlsx():
    evil = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\uff1d1+1"]
    assert [neutralise(v) for v in evil] == ["'" + v for v in evil]
    assert neutralise(-5) == -5 and neutralise(3.5) == 3.5 and neutralise("ok") == "ok" and neutralise(None) is None
    cols = ["=col", "value", "label"]
    rows = [[e, -1, "fine"] for e in evil]
    text = to_csv_bytes(cols, rows).decode("utf-8-sig")
    assert text.splitlines()[0] == "'=col,value,label"
    for line in text.splitlines()[1:]:
        assert line[0] in ("'", '"') and not line.startswith(("=", "+", "-", "@"))
        assert ",-1," in line   # numbers stay numbers
    wb = load_workbook(io.BytesIO(to_xlsx_bytes(cols, rows)))
    ws = wb.active
    assert ws.cell(1, 1).value == "'=col"
    for r in range(2, 2 + len(evil)):
        c = ws.cell(r, 1)
        assert c.data_type == "s" and c.value.startswith("'"), c.value
        assert ws.cell(r, 2).value == -1 and ws.cell(r, 2).data_type == "n"
