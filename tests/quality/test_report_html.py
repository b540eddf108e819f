"""The HTML report is an autoescaped Jinja template: every value from the file, the rules or the submitter
is escaped; only the SVG charts hemistat draws are inserted as markup."""

import json
import os
import subprocess
import sys
from pathlib import Path

from pipelines.quality import evaluate, load_rules
from pipelines.quality.results import RuleResult
from pipelines.quality.report import _environment, build_report, render_html
from tests.conftest import real
from tests.quality.conftest import REF, RULES, context

HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
BIN = Path(sys.executable).with_name("hemistat")


def test_template_autoescapes():
    env = _environment()
    assert env.autoescape("report.html") is True
    assert env.from_string("{{ x }}").render(x=HOSTILE) == ESCAPED


def test_hostile_values_are_escaped_and_charts_are_markup(pais_clean):
    bad = pais_clean.copy()
    code = bad["national_code"].iloc[0]
    bad.loc[bad["national_code"] == code, "national_code"] = HOSTILE
    bad.loc[bad.index[:5], "national_label"] = HOSTILE
    rules = [r for r in load_rules(RULES, "ar_snic", reference_dir=REF) if r.id in ("C1", "C3")]
    results = evaluate(bad, rules, context("ar_snic", bad))
    c1 = next(r for r in results if r.rule.id == "C1")
    assert c1.status == "fail"
    p2 = next(r for r in load_rules(RULES, "ar_snic", reference_dir=REF) if r.id == "P2")
    results.append(RuleResult(p2, "fail", 1, notes=[f"note {HOSTILE}"], observed=HOSTILE,
                              series=[{"label": f"ARG {HOSTILE} (offences, _T)", "points": [(2000, 10.0), (2001, 50.0)],
                                       "flagged": [2001]}]))
    rep = build_report(results, verdict="rejected", submission_id=None, source_id="ar_snic",
                       file_name=f"{HOSTILE}.csv")
    rep = json.loads(json.dumps(rep, default=str))   # as stored in report.json and served by the portal
    for lang in ("en", "es", "pt", "fr"):
        page = render_html(rep, lang)
        assert HOSTILE not in page and "<script" not in page
        assert ESCAPED in page
        assert "<svg" in page and "<circle" in page           # the generated chart is markup
        words = {"en": "offences, total", "es": "delitos, total", "pt": "crimes, total", "fr": "infractions, total"}
        assert f"ARG {ESCAPED} ({words[lang]})" in page       # its caption is escaped, in the page's language


def test_validate_html_escapes_a_hostile_cell(tmp_path):
    """End to end: a national code ``<script>alert(1)</script>`` in the SNIC file, ``hemistat validate
    --html``: the report names the code, escaped."""
    lines = real("ar_snic/snic-pais.csv").read_bytes().split(b"\r\n")
    f = lines[9].split(b";")
    f[1] = HOSTILE.encode()
    lines[9] = b";".join(f)
    bad = tmp_path / "snic-pais.csv"
    bad.write_bytes(b"\r\n".join(lines))
    html = tmp_path / "report.html"
    env = {**os.environ, "HEMISTAT_DATA_DIR": str(tmp_path / "data")}
    r = subprocess.run([str(BIN), "validate", str(bad), "--source", "ar_snic", "--html", str(html)],
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 1, r.stdout + r.stderr
    page = html.read_text("utf-8")
    assert HOSTILE not in page and ESCAPED in page
