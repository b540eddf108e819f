"""`hemistat validate`: clean real file -> exit 0 and a short verdict; defective copy -> exit 1 naming
each broken rule with its failing rows, in English and in Spanish; an HTML report with a chart."""

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import real

BIN = Path(sys.executable).with_name("hemistat")


def _validate(path, tmp_path, lang="en", source="ar_snic"):
    env = {**os.environ, "HEMISTAT_DATA_DIR": str(tmp_path / "data")}
    html = tmp_path / f"report.{lang}.html"
    r = subprocess.run([str(BIN), "validate", str(path), "--source", source, "--lang", lang, "--html", str(html)],
                       capture_output=True, text=True, env=env, timeout=600)
    return r, html


def test_clean_real_file_exits_0_short_verdict(tmp_path):
    r, html = _validate(real("ar_snic/snic-pais.csv"), tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    first = r.stdout.splitlines()[0]
    assert first.startswith("Verdict: NEEDS REVIEW") and "snic-pais.csv" in first
    assert len(r.stdout.splitlines()) < 40  # short: one line per finding, no row dumps for warnings
    assert "[ERROR]" not in r.stdout
    page = html.read_text()
    assert "<svg" in page and "P2" in page and "Great Expectations" in page


def test_defective_copy_exits_1_and_names_rules_and_rows(tmp_path):
    lines = real("ar_snic/snic-pais.csv").read_bytes().split(b"\r\n")
    f = lines[9].split(b";")
    f[1] = b"99"                       # C1: a code with no crosswalk row (line 10)
    lines[9] = b";".join(f)
    f = lines[30].split(b";")
    f[3] = b"12,5"                     # V1: a fractional count (line 31)
    lines[30] = b";".join(f)
    lines.insert(50, lines[40])        # C4: a duplicated row (lines 41 and 51)
    bad = tmp_path / "snic-pais-defect.csv"
    bad.write_bytes(b"\r\n".join(lines))
    r, html = _validate(bad, tmp_path, "en")
    assert r.returncode == 1
    out = r.stdout
    assert out.startswith("Verdict: REJECTED")
    assert "[ERROR] C1" in out and "line 10" in out and "99" in out
    assert "[ERROR] V1" in out and "line 31" in out and "'cantidad_hechos'" in out
    assert "[ERROR] C4" in out and "41, 51" in out
    r_es, html_es = _validate(bad, tmp_path, "es")
    assert r_es.returncode == 1
    es = r_es.stdout
    assert es.startswith("Dictamen: RECHAZADO")
    assert "línea 10" in es and "línea 31" in es and "columna 'cantidad_hechos'" in es
    assert "<html lang='es'>" in html_es.read_text()


def test_unparseable_file_exits_1_with_line(tmp_path):
    bad = tmp_path / "estatal.csv"
    bad.write_bytes(real("mx_sesnsp/estatal.csv").read_bytes()[:2000] + b"\r\n2024,1,Aguascalientes\r\n")
    r, _ = _validate(bad, tmp_path, "es", source="mx_sesnsp")
    assert r.returncode == 1
    assert "S1" in r.stdout and "RECHAZADO" in r.stdout
