"""Quality reports: a JSON document per submission, printed as text or rendered as HTML with charts.

Messages are rendered in the reader's language (en/es/pt/fr) from each rule's templates.
"""

from __future__ import annotations

import html
import json
import math
from datetime import datetime, timezone

from pipelines.quality.engine import RuleResult
from pipelines.quality.rules import LANGS

FAILURES_PER_RULE = 50
UI = {
    "en": {"verdict": "Verdict", "accepted": "ACCEPTED", "review": "NEEDS REVIEW (warnings to acknowledge)",
           "rejected": "REJECTED", "rule": "Rule", "status": "Status", "rows": "failing rows", "file": "file",
           "line": "line", "column": "column", "value": "value", "message": "message", "notes": "notes",
           "title": "Quality report", "threshold": "threshold", "chart": "Series checked",
           "pass": "pass", "fail": "FAIL", "not_applicable": "n/a", "severity": "severity"},
    "es": {"verdict": "Dictamen", "accepted": "ACEPTADO", "review": "REQUIERE REVISIÓN (advertencias por reconocer)",
           "rejected": "RECHAZADO", "rule": "Regla", "status": "Estado", "rows": "filas con error", "file": "archivo",
           "line": "línea", "column": "columna", "value": "valor", "message": "mensaje", "notes": "notas",
           "title": "Informe de calidad", "threshold": "umbral", "chart": "Series verificadas",
           "pass": "cumple", "fail": "FALLA", "not_applicable": "n/a", "severity": "severidad"},
    "pt": {"verdict": "Parecer", "accepted": "ACEITO", "review": "REQUER REVISÃO (alertas a reconhecer)",
           "rejected": "REJEITADO", "rule": "Regra", "status": "Situação", "rows": "linhas com erro", "file": "arquivo",
           "line": "linha", "column": "coluna", "value": "valor", "message": "mensagem", "notes": "notas",
           "title": "Relatório de qualidade", "threshold": "limite", "chart": "Séries verificadas",
           "pass": "conforme", "fail": "FALHA", "not_applicable": "n/a", "severity": "gravidade"},
    "fr": {"verdict": "Verdict", "accepted": "ACCEPTÉ", "review": "À EXAMINER (avertissements à valider)",
           "rejected": "REJETÉ", "rule": "Règle", "status": "Statut", "rows": "lignes en erreur", "file": "fichier",
           "line": "ligne", "column": "colonne", "value": "valeur", "message": "message", "notes": "notes",
           "title": "Rapport de qualité", "threshold": "seuil", "chart": "Séries contrôlées",
           "pass": "conforme", "fail": "ÉCHEC", "not_applicable": "n/a", "severity": "gravité"},
}


def _clean(v):
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    try:
        import pandas as pd

        if v is pd.NA:
            return None
    except Exception:  # noqa: BLE001
        pass
    return v.item() if hasattr(v, "item") else v


def _observed_by_lang(row: dict) -> dict:
    """A failure's ``observed`` in each language when it is a catalogued problem (``observed_key`` +
    ``observed_params`` as JSON, see pipelines/adapters/messages.py); ``{}`` otherwise."""
    key = row.get("observed_key")
    if not key:
        return {}
    from pipelines.adapters.messages import render

    raw = row.get("observed_params")
    try:
        params = json.loads(raw) if isinstance(raw, str) and raw else (raw if isinstance(raw, dict) else {})
    except ValueError:
        params = {}
    fallback = row.get("observed")
    return {lang: render(key, params, lang, fallback=fallback) for lang in LANGS}


def build_report(results: list[RuleResult], *, verdict: str, submission_id: str | None, source_id: str,
                 file_name: str, sha256: str | None = None, stats: dict | None = None, gx: dict | None = None) -> dict:
    rules = []
    for r in results:
        fails = []
        for row in r.failures.head(FAILURES_PER_RULE).to_dict("records"):
            row = {k: _clean(v) for k, v in row.items()}
            vals = {"file": row.get("file_name") or file_name, "line": row.get("line"), "column": row.get("column_name"),
                    "value": row.get("value"), "country": row.get("country_iso3"),
                    "subdivision": row.get("subdivision_code"), "year": row.get("year"), "month": row.get("month"),
                    "code": row.get("national_code"), "observed": row.get("observed"),
                    "expected": row.get("expected"), "threshold": r.rule.threshold_text()}
            observed = _observed_by_lang(row)
            row["message"] = {lang: r.rule.render(lang, **{**vals, "observed": observed.get(lang, vals["observed"])})
                              for lang in LANGS}
            fails.append(row)
        rules.append({**r.as_row(), "title": r.rule.title, "failures": fails, "series": r.series,
                      "notes_list": r.notes, "rationale": r.rule.rationale})
    return {"submission_id": submission_id, "source_id": source_id, "file": file_name, "sha256": sha256,
            "verdict": verdict, "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "rules": rules, "gx": gx, "stats": stats or {},
            "problems": [f | {"rule": r["rule_id"]} for r in rules if r["status"] == "fail" and r["severity"] == "error"
                         for f in r["failures"]][:200]}


def render_text(report: dict, lang: str = "en", max_rows: int = 10, details: tuple[str, ...] = ("error",)) -> str:
    """Verdict, one line per failing rule, and the failing rows of rules whose severity is in
    ``details`` (errors by default: what must be fixed)."""
    t = UI.get(lang, UI["en"])
    lines = [f"{t['verdict']}: {t[report['verdict']]}  —  {report['file']} ({report['source_id']})"]
    for r in report["rules"]:
        if r["status"] != "fail" and not (r.get("notes_list") and r["status"] == "pass" and r["rule_id"] in ("S3", "I2")):
            continue
        title = r["title"].get(lang, r["title"]["en"])
        if r["status"] == "fail":
            lines.append(f"  [{r['severity'].upper()}] {r['rule_id']} {title}: {r['failing_rows']} {t['rows']}")
        else:
            lines.append(f"  [{r['severity'].upper()}] {r['rule_id']} {title}: {t['pass']}")
        for n in (r.get("notes_list") or [])[:3]:
            lines.append(f"      {t['notes']}: {n}")
        if r["severity"] not in details:
            continue
        for f in r["failures"][:max_rows]:
            where = ", ".join(x for x in (
                f"{t['file']} {f.get('file_name') or report['file']}",
                f"{t['line']} {f['line']}" if f.get("line") is not None else None,
                f"{t['column']} '{f['column_name']}'" if f.get("column_name") else None,
                f"{t['value']} {f['value']}" if f.get("value") not in (None, "") else None) if x)
            lines.append(f"      - {where}: {f['message'].get(lang, f['message']['en'])}")
        if r["failing_rows"] > max_rows:
            lines.append(f"      … +{r['failing_rows'] - max_rows}")
    return "\n".join(lines)


def _svg(series: dict, width=640, height=220) -> str:
    pts = series.get("points") or []
    pts2 = series.get("points2") or []
    allp = pts + pts2
    if not allp:
        return ""
    xs = [p[0] for p in allp]
    ys = [p[1] for p in allp]
    x0, x1 = min(xs), max(xs)
    y1 = max(ys) * 1.1 or 1
    pad = 40

    def sx(x):
        return pad + (x - x0) / ((x1 - x0) or 1) * (width - 2 * pad)

    def sy(y):
        return height - pad - y / y1 * (height - 2 * pad)

    def path(p, color):
        d = " ".join(f"{'M' if i == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}" for i, (x, y) in enumerate(p))
        return f'<path d="{d}" fill="none" stroke="{color}" stroke-width="2"/>'

    flagged = set(series.get("flagged") or [])
    dots = "".join(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="{6 if x in flagged else 3}" '
                   f'fill="{"#c0392b" if x in flagged else "#2c3e50"}"><title>{x}: {y:,.0f}</title></circle>'
                   for x, y in pts)
    axis = (f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#999"/>'
            f'<text x="{pad}" y="{height - 12}" font-size="11">{x0}</text>'
            f'<text x="{width - pad - 24}" y="{height - 12}" font-size="11">{x1}</text>'
            f'<text x="4" y="{pad - 8}" font-size="11">{y1 / 1.1:,.0f}</text>')
    return (f'<figure><svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">'
            f'{axis}{path(pts2, "#e67e22") if pts2 else ""}{path(pts, "#2c3e50")}{dots}</svg>'
            f'<figcaption>{html.escape(series.get("label", ""))}</figcaption></figure>')


def render_html(report: dict, lang: str = "en") -> str:
    t = UI.get(lang, UI["en"])
    e = html.escape
    color = {"accepted": "#1e8449", "review": "#b9770e", "rejected": "#c0392b"}[report["verdict"]]
    out = [f"<!doctype html><html lang='{lang}'><meta charset='utf-8'><title>{e(t['title'])} — {e(report['file'])}</title>",
           "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;"
           "width:100%}td,th{border:1px solid #ddd;padding:4px 6px;font-size:13px;text-align:left}"
           ".fail{color:#c0392b;font-weight:bold}.na{color:#999}figure{margin:1em 0}</style>",
           f"<h1>{e(t['title'])}: {e(report['file'])}</h1>",
           f"<p><b>{e(t['verdict'])}:</b> <span style='color:{color};font-weight:bold'>{e(t[report['verdict']])}</span>"
           f" · {e(report['source_id'])} · {e(report.get('submission_id') or 'dry run')} · {e(report['generated_at'])}</p>",
           f"<table><tr><th>{t['rule']}</th><th></th><th>{t['severity']}</th><th>{t['status']}</th><th>{t['rows']}</th>"
           f"<th>{t['threshold']}</th><th>{t['notes']}</th></tr>"]
    for r in report["rules"]:
        cls = "fail" if r["status"] == "fail" else ("na" if r["status"] == "not_applicable" else "")
        out.append(f"<tr><td>{e(r['rule_id'])}</td><td>{e(r['title'].get(lang, r['title']['en']))}</td>"
                   f"<td>{e(r['severity'])}</td><td class='{cls}'>{e(t.get(r['status'], r['status']))}</td>"
                   f"<td>{r['failing_rows']}</td><td>{e(r['threshold'] or '')}</td>"
                   f"<td>{e(' | '.join(r.get('notes_list') or []) or (r.get('observed') or ''))}</td></tr>")
    out.append("</table>")
    for r in report["rules"]:
        if r["status"] != "fail" and not r.get("series"):
            continue
        out.append(f"<h2>{e(r['rule_id'])} — {e(r['title'].get(lang, r['title']['en']))}</h2>")
        if r.get("series"):
            out.append(f"<h3>{e(t['chart'])}</h3>")
            out.extend(_svg(s) for s in r["series"][:3])
        if r["failures"]:
            out.append(f"<table><tr><th>{t['file']}</th><th>{t['line']}</th><th>{t['column']}</th><th>{t['value']}</th>"
                       f"<th>{t['message']}</th></tr>")
            for f in r["failures"]:
                out.append(f"<tr><td>{e(str(f.get('file_name') or report['file']))}</td><td>{e(str(f.get('line') or ''))}</td>"
                           f"<td>{e(str(f.get('column_name') or ''))}</td><td>{e(str(f.get('value') or ''))}</td>"
                           f"<td>{e(f['message'].get(lang, f['message']['en']))}</td></tr>")
            out.append("</table>")
    if report.get("gx"):
        g = report["gx"]
        out.append(f"<h2>Great Expectations</h2><p>suite <code>{e(g.get('suite', ''))}</code>: "
                   f"{'success' if g.get('success') else 'failed'} — {g.get('evaluated', 0)} expectations, "
                   f"{g.get('unsuccessful', 0)} unsuccessful</p><table><tr><th>rule</th><th>expectation</th>"
                   "<th>column</th><th>ok</th><th>unexpected</th></tr>")
        for x in g.get("results", []):
            out.append(f"<tr><td>{e(x['rule_id'])}</td><td>{e(x['expectation'])}</td><td>{e(str(x.get('column')))}</td>"
                       f"<td>{'✔' if x['success'] else '✘'}</td><td>{x.get('unexpected_count', 0)}</td></tr>")
        out.append("</table>")
    out.append("</html>")
    return "\n".join(out)
