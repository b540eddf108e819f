"""Quality reports: a JSON document per submission, printed as text or rendered as HTML with charts.

Messages are rendered in the reader's language (en/es/pt/fr) from each rule's templates. The HTML is the
Jinja template ``templates/report.html`` with autoescaping: every value from the file, the rules or the
submitter is escaped; the SVG charts drawn here are the only markup inserted as is (``Markup``).
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from markupsafe import Markup, escape

from pipelines.i18n import LANGUAGES as LANGS
from pipelines.quality.results import RuleResult

FAILURES_PER_RULE = 50
UI = {
    "en": {"verdict": "Verdict", "accepted": "ACCEPTED", "review": "NEEDS REVIEW (warnings to acknowledge)",
           "rejected": "REJECTED", "rule": "Rule", "status": "Status", "rows": "failing rows", "file": "file",
           "line": "line", "column": "column", "value": "value", "message": "message", "notes": "notes",
           "title": "Quality report", "threshold": "threshold", "chart": "Series checked",
           "pass": "pass", "fail": "FAIL", "not_applicable": "n/a", "severity": "severity",
           "error_in_rule": "NOT EVALUATED",
           "not_evaluated_intro": "Rules that could not be evaluated (a defect of the rule, not of the file; the submission waits until they are fixed):",
           "error_in_rule_explained": "This rule could not be evaluated; the file was not judged on it",
           "not_evaluated_problem": "rule {rule} could not be evaluated ({error}): a defect of the rule or the engine, not of the file; the submission is held until the rule is fixed and the file is read again",
           "gx_intro": "Rules also evaluated by Great Expectations, beside the engine",
           "gx_error": "Great Expectations could not run",
           "gx_docs": "Great Expectations Data Docs",
           "engine": "engine",
           "gx_unexpected": "GX unexpected values",
           "gx_agrees": "agree"},
    "es": {"verdict": "Dictamen", "accepted": "ACEPTADO", "review": "REQUIERE REVISIÓN (advertencias por reconocer)",
           "rejected": "RECHAZADO", "rule": "Regla", "status": "Estado", "rows": "filas con error", "file": "archivo",
           "line": "línea", "column": "columna", "value": "valor", "message": "mensaje", "notes": "notas",
           "title": "Informe de calidad", "threshold": "umbral", "chart": "Series verificadas",
           "pass": "cumple", "fail": "FALLA", "not_applicable": "n/a", "severity": "severidad",
           "error_in_rule": "NO EVALUADA",
           "not_evaluated_intro": "Reglas que no se pudieron evaluar (un defecto de la regla, no del archivo; el envío queda retenido hasta corregirlas):",
           "error_in_rule_explained": "Esta regla no se pudo evaluar; el archivo no fue juzgado según ella",
           "not_evaluated_problem": "la regla {rule} no se pudo evaluar ({error}): un defecto de la regla o del motor, no del archivo; el envío queda retenido hasta que se corrija la regla y se vuelva a leer el archivo",
           "gx_intro": "Reglas evaluadas también por Great Expectations, junto al motor",
           "gx_error": "Great Expectations no pudo ejecutarse",
           "gx_docs": "Data Docs de Great Expectations",
           "engine": "motor",
           "gx_unexpected": "valores inesperados (GX)",
           "gx_agrees": "coinciden"},
    "pt": {"verdict": "Parecer", "accepted": "ACEITO", "review": "REQUER REVISÃO (alertas a reconhecer)",
           "rejected": "REJEITADO", "rule": "Regra", "status": "Situação", "rows": "linhas com erro", "file": "arquivo",
           "line": "linha", "column": "coluna", "value": "valor", "message": "mensagem", "notes": "notas",
           "title": "Relatório de qualidade", "threshold": "limite", "chart": "Séries verificadas",
           "pass": "conforme", "fail": "FALHA", "not_applicable": "n/a", "severity": "gravidade",
           "error_in_rule": "NÃO AVALIADA",
           "not_evaluated_intro": "Regras que não puderam ser avaliadas (um defeito da regra, não do arquivo; o envio fica retido até que sejam corrigidas):",
           "error_in_rule_explained": "Esta regra não pôde ser avaliada; o arquivo não foi julgado por ela",
           "not_evaluated_problem": "a regra {rule} não pôde ser avaliada ({error}): um defeito da regra ou do motor, não do arquivo; o envio fica retido até que a regra seja corrigida e o arquivo lido novamente",
           "gx_intro": "Regras avaliadas também pelo Great Expectations, ao lado do motor",
           "gx_error": "O Great Expectations não pôde ser executado",
           "gx_docs": "Data Docs do Great Expectations",
           "engine": "motor",
           "gx_unexpected": "valores inesperados (GX)",
           "gx_agrees": "concordam"},
    "fr": {"verdict": "Verdict", "accepted": "ACCEPTÉ", "review": "À EXAMINER (avertissements à valider)",
           "rejected": "REJETÉ", "rule": "Règle", "status": "Statut", "rows": "lignes en erreur", "file": "fichier",
           "line": "ligne", "column": "colonne", "value": "valeur", "message": "message", "notes": "notes",
           "title": "Rapport de qualité", "threshold": "seuil", "chart": "Séries contrôlées",
           "pass": "conforme", "fail": "ÉCHEC", "not_applicable": "n/a", "severity": "gravité",
           "error_in_rule": "NON ÉVALUÉE",
           "not_evaluated_intro": "Règles qui n'ont pas pu être évaluées (un défaut de la règle, non du fichier ; la soumission est retenue jusqu'à leur correction) :",
           "error_in_rule_explained": "Cette règle n'a pas pu être évaluée ; le fichier n'a pas été jugé sur elle",
           "not_evaluated_problem": "la règle {rule} n'a pas pu être évaluée ({error}) : un défaut de la règle ou du moteur, non du fichier ; la soumission est retenue jusqu'à ce que la règle soit corrigée et le fichier relu",
           "gx_intro": "Règles évaluées aussi par Great Expectations, à côté du moteur",
           "gx_error": "Great Expectations n'a pas pu s'exécuter",
           "gx_docs": "Data Docs de Great Expectations",
           "engine": "moteur",
           "gx_unexpected": "valeurs inattendues (GX)",
           "gx_agrees": "concordent"},
}

# the import summary (what the file does to the warehouse, ``harmonise.impact``), in each language
IMPACT_UI = {
    "en": {"head": "What this file does to the warehouse", "new": "new values", "changed": "changed",
           "unchanged": "unchanged", "withdrawn": "withdrawn", "not_applied": "not applied (a newer release is published)",
           "against": "against the published vintage(s) {ids}", "first": "nothing of this scope is published yet",
           "largest": "Largest changes", "old": "old", "new_v": "new", "diff": "difference",
           "rules_head": "Rules not met"},
    "es": {"head": "Lo que este archivo cambia en el almacén", "new": "valores nuevos", "changed": "modificados",
           "unchanged": "sin cambios", "withdrawn": "retirados", "not_applied": "no aplicados (hay una versión más reciente publicada)",
           "against": "frente a la(s) versión(es) publicada(s) {ids}", "first": "aún no hay nada publicado de este alcance",
           "largest": "Mayores cambios", "old": "anterior", "new_v": "nuevo", "diff": "diferencia",
           "rules_head": "Reglas no cumplidas"},
    "pt": {"head": "O que este arquivo muda no armazém", "new": "valores novos", "changed": "alterados",
           "unchanged": "sem alteração", "withdrawn": "retirados", "not_applied": "não aplicados (há uma versão mais recente publicada)",
           "against": "em relação à(s) versão(ões) publicada(s) {ids}", "first": "ainda não há nada publicado deste escopo",
           "largest": "Maiores alterações", "old": "anterior", "new_v": "novo", "diff": "diferença",
           "rules_head": "Regras não cumpridas"},
    "fr": {"head": "Ce que ce fichier change dans l'entrepôt", "new": "valeurs nouvelles", "changed": "modifiées",
           "unchanged": "inchangées", "withdrawn": "retirées", "not_applied": "non appliquées (une version plus récente est publiée)",
           "against": "par rapport à la ou aux versions publiées {ids}", "first": "rien de ce périmètre n'est encore publié",
           "largest": "Plus grandes modifications", "old": "ancienne", "new_v": "nouvelle", "diff": "différence",
           "rules_head": "Règles non respectées"},
}


def change_key(c: dict) -> str:
    """A changed cell in words: country, subdivision, period, national code and label, measure and breakdowns."""
    period = str(c.get("year")) + (f"-{int(c['month']):02d}" if c.get("month") else "")
    parts = [c.get("country_iso3"), c.get("subdivision_code"), period,
             f"{c.get('national_code')}" + (f" {c['national_label']}" if c.get("national_label") else ""),
             c.get("measure")]
    parts += [f"{k}={c[k]}" for k in ("sex", "age", "relationship") if c.get(k) not in (None, "_T")]
    return " · ".join(str(p) for p in parts if p not in (None, ""))


def render_impact_text(impact: dict | None, lang: str = "en", top: int = 5) -> list[str]:
    from pipelines.i18n import format_number

    if not impact:
        return []
    t = IMPACT_UI.get(lang, IMPACT_UI["en"])
    c = impact["counts"]
    n = lambda v: format_number(v, lang)  # noqa: E731
    against = t["against"].format(ids=", ".join(impact.get("against") or [])) if impact.get("against") else t["first"]
    lines = [f"{t['head']} ({against}):",
             "  " + " · ".join(f"{n(c.get(k, 0))} {t[k]}" for k in ("new", "changed", "unchanged", "withdrawn"))
             + (f" · {n(c['not_applied'])} {t['not_applied']}" if c.get("not_applied") else "")]
    if impact.get("largest_changes"):
        lines.append(f"  {t['largest']}:")
        for ch in impact["largest_changes"][:top]:
            d = ch.get("difference")
            lines.append(f"    {change_key(ch)}: {t['old']} {n(ch.get('old_value'))} -> {t['new_v']} "
                         f"{n(ch.get('new_value'))} ({t['diff']} {'+' if d and d > 0 else ''}{n(d)})")
    return lines


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


# --- messages in plain words, in the reader's language ------------------------------------------------------
# A rule's sentence carries values, never parameter names: numbers and dates in the language's format, the
# threshold as its value (a share as a percentage), breakdown names and codes in words. The parameter names
# (``max_rel=0.3``) stay in the details: the rule's ``threshold`` column of the report and the scorecard.
BREAKDOWN_WORDS = {
    "sex": {"en": "sex", "es": "sexo", "pt": "sexo", "fr": "sexe"},
    "age": {"en": "age", "es": "edad", "pt": "idade", "fr": "âge"},
    "relationship": {"en": "relationship", "es": "relación", "pt": "relação", "fr": "relation"},
}
CODE_WORDS = {
    "F": {"en": "female", "es": "mujer", "pt": "feminino", "fr": "femme"},
    "M": {"en": "male", "es": "hombre", "pt": "masculino", "fr": "homme"},
    "_U": {"en": "unknown", "es": "no especificado", "pt": "não especificado", "fr": "inconnu"},
    "_T": {"en": "total", "es": "total", "pt": "total", "fr": "total"},
}
UNKNOWN_SHARE = {"en": "sex unknown: {x}", "es": "sexo no especificado: {x}", "pt": "sexo não especificado: {x}",
                 "fr": "sexe inconnu : {x}"}
# parameters that are shares (shown as percentages) and rules whose observed value is a share
SHARE_PARAMS = frozenset({"max_rel", "tolerance_rel", "warn_rel", "max_rel_diff", "target", "min_rate"})
SHARE_OBSERVED = frozenset({"K1", "K2"})
# rules about the file's own cells: their value is shown as the file has it (a code, a malformed number)
AS_IN_FILE = ("S", "C", "V", "F")
_NUM = r"-?\d+(?:\.\d+)?"


def _loc(v, lang: str, share: bool = False):
    """A placeholder value in ``lang``: a number, a share, a percentage ("1.79%"), a range ("0.03–0.4"), a bound
    ("<= 18") or an ISO date, formatted with Babel; anything else as it is."""
    import re

    from pipelines.i18n import format_date, format_number, format_percent

    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return format_percent(v, lang, 1) if share else format_number(round(v, 3), lang)
    txt = str(v).strip()
    num = lambda x: (format_percent(float(x), lang, 1) if share else format_number(round(float(x), 3), lang))  # noqa: E731
    if re.fullmatch(_NUM, txt):
        return num(txt)
    if re.fullmatch(_NUM + "%", txt):
        return format_percent(float(txt[:-1]) / 100, lang, 2)
    m = re.fullmatch(f"({_NUM})\\s*[–-]\\s*({_NUM})", txt)
    if m:
        return f"{num(m[1])}–{num(m[2])}"
    m = re.fullmatch(f"(<=|>=|<|>)\\s*({_NUM})", txt)
    if m:
        return {"<=": "≤", ">=": "≥"}.get(m[1], m[1]) + " " + num(m[2])
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", txt):
        return format_date(txt, lang)
    return v


def threshold_plain(rule, lang: str) -> str:
    """The rule's threshold as values only, in ``lang`` (``max_rel=0.3`` -> "30 %" in Spanish)."""
    keys = ("max_rel", "max", "hard_max", "min", "max_abs_z", "tolerance_rel", "min_rate", "target",
            "expected_months", "warn_rel", "max_months_annual", "min_before", "max_rel_diff")
    return ", ".join(str(_loc(rule.params[k], lang, share=k in SHARE_PARAMS)) for k in keys
                     if rule.params.get(k) is not None)


def localized_values(rule, vals: dict, row: dict, lang: str) -> dict:
    out = dict(vals)
    share = rule.id in SHARE_OBSERVED
    out["observed"] = _loc(vals.get("observed"), lang, share)
    out["expected"] = _loc(vals.get("expected"), lang, share)
    out["threshold"] = threshold_plain(rule, lang)
    col = vals.get("column")
    if col in BREAKDOWN_WORDS:
        out["column"] = BREAKDOWN_WORDS[col][lang]
        if vals.get("value") in CODE_WORDS:
            out["value"] = CODE_WORDS[vals["value"]][lang]
    elif not rule.id.startswith(AS_IN_FILE):
        out["value"] = _loc(vals.get("value"), lang)
    if row.get("unknown_share") is not None:
        out["observed"] = f"{out['observed']} ({UNKNOWN_SHARE[lang].format(x=_loc(row['unknown_share'], lang))})"
    return out


# the checks' most frequent notes (English, stable: checks/consistency.py, plausibility.py, revisions.py,
# accuracy.py) in each language, numbers formatted for it; a note that matches none stays as written (English)
NOTES = [
    (r"(?P<n>\d+) parent rows are published together with their children \((?P<k>\d+) parent codes, e\.g\. "
     r"(?P<eg>[^)]*)\): summing every row would count (?P<units>[\d,]+) units twice; hemistat uses the children "
     r"plus the parent's residual",
     {"en": "{n} parent rows are published together with their children ({k} parent codes, e.g. {eg}): summing every "
            "row would count {units} units twice; hemistat uses the children plus the parent's residual",
      "es": "{n} filas de categorías superiores se publican junto con sus subcategorías ({k} códigos superiores, p. ej. "
            "{eg}): sumar todas las filas contaría {units} unidades dos veces; hemistat usa las subcategorías más el "
            "resto de la categoría superior",
      "pt": "{n} linhas de categorias superiores são publicadas junto com suas subcategorias ({k} códigos superiores, "
            "p. ex. {eg}): somar todas as linhas contaria {units} unidades duas vezes; o hemistat usa as subcategorias "
            "mais o resto da categoria superior",
      "fr": "{n} lignes de catégories supérieures sont publiées avec leurs sous-catégories ({k} codes supérieurs, p. ex. "
            "{eg}) : additionner toutes les lignes compterait {units} unités deux fois ; hemistat utilise les "
            "sous-catégories plus le reste de la catégorie supérieure"}),
    (r"(?P<n>\d+) rate\(s\) differ by more than (?P<pct>\d+)%: the publisher uses a different population base",
     {"en": "{n} rate(s) differ by more than {pct}: the publisher uses a different population base",
      "es": "{n} tasa(s) difieren en más de {pct}: el publicador usa otra base de población",
      "pt": "{n} taxa(s) diferem em mais de {pct}: o publicador usa outra base populacional",
      "fr": "{n} taux diffèrent de plus de {pct} : l'éditeur utilise une autre base de population"}),
    (r"(?P<n>\d+) series jump from 0 to >= (?P<min>[\d.]+) \(new categories or late starts\), e\.g\. (?P<eg>.*)",
     {"en": "{n} series jump from 0 to {min} or more (new categories or late starts), e.g. {eg}",
      "es": "{n} series saltan de 0 a {min} o más (categorías nuevas o comienzos tardíos), p. ej. {eg}",
      "pt": "{n} séries saltam de 0 para {min} ou mais (categorias novas ou inícios tardios), p. ex. {eg}",
      "fr": "{n} séries passent de 0 à {min} ou plus (nouvelles catégories ou débuts tardifs), p. ex. {eg}"}),
    (r"no previous vintage of this source",
     {"en": "no previous vintage of this source", "es": "no hay una versión anterior de esta fuente",
      "pt": "não há uma versão anterior desta fonte", "fr": "pas de version antérieure de cette source"}),
    (r"national and subdivision rows are not both available",
     {"en": "national and subdivision rows are not both available",
      "es": "no hay a la vez filas nacionales y de subdivisiones", "pt": "não há ao mesmo tempo linhas nacionais e de "
      "subdivisões", "fr": "il n'y a pas à la fois des lignes nationales et des lignes de subdivisions"}),
]


NOTES += [
    (r"(?P<months>[\d.]+) months after the end of the latest period \((?P<period>[^)]*)\)",
     {"en": "{months} months after the end of the latest period ({period})",
      "es": "{months} meses después del fin del último período ({period})",
      "pt": "{months} meses após o fim do último período ({period})",
      "fr": "{months} mois après la fin de la dernière période ({period})"}),
    (r"received (?P<received>\d{4}-\d{2}-\d{2}); (?P<period>\S+) ended (?P<ended>\d{4}-\d{2}-\d{2}) \+ "
     r"(?P<lag>\d+) days lag(?P<default> \(default\))? \+ (?P<grace>\d+) days grace = due "
     r"(?P<due>\d{4}-\d{2}-\d{2}); cadence (?P<cadence>\w+)",
     {"en": "received {received}; {period} ended {ended} + {lag} days of lag{default} + {grace} days of grace = due "
            "{due}",
      "es": "recibido el {received}; {period} terminó el {ended} + {lag} días de desfase{default} + {grace} días de "
            "gracia = debido el {due}",
      "pt": "recebido em {received}; {period} terminou em {ended} + {lag} dias de defasagem{default} + {grace} dias "
            "de carência = devido em {due}",
      "fr": "reçu le {received} ; {period} s'est terminée le {ended} + {lag} jours de délai{default} + {grace} jours "
            "de grâce = dû le {due}"}),
    (r"median completeness (?P<pct>\d+)% of (?P<n>\d+) core ICCS codes",
     {"en": "median completeness {pct} of {n} core ICCS codes",
      "es": "completitud mediana del {pct} de {n} códigos ICCS básicos",
      "pt": "completude mediana de {pct} de {n} códigos ICCS básicos",
      "fr": "complétude médiane de {pct} sur {n} codes ICCS de base"}),
    (r"no country-year with two national institutions",
     {"en": "no country-year with two national institutions",
      "es": "ningún país-año con dos instituciones nacionales",
      "pt": "nenhum país-ano com duas instituições nacionais",
      "fr": "aucun pays-année avec deux institutions nationales"}),
]
_DEFAULT_WORD = {"en": " (default)", "es": " (por defecto)", "pt": " (padrão)", "fr": " (par défaut)"}


def localize_note(note: str, lang: str) -> str:
    """A check's note in ``lang`` (``NOTES``), its numbers formatted for the language; else as written."""
    import re

    from pipelines.i18n import format_date, format_number, format_percent

    for rx, texts in NOTES:
        m = re.fullmatch(rx, str(note))
        if m:
            p = m.groupdict()
            for k in ("n", "k", "min"):
                if p.get(k):
                    p[k] = format_number(float(p[k]) if "." in p[k] else int(p[k]), lang)
            if p.get("units"):
                p["units"] = format_number(int(p["units"].replace(",", "")), lang)
            if p.get("pct"):
                p["pct"] = format_percent(int(p["pct"]) / 100, lang)
            if p.get("months"):
                p["months"] = format_number(round(float(p["months"]), 1), lang)
            for k in ("received", "ended", "due"):
                if p.get(k):
                    p[k] = format_date(p[k], lang)
            if "default" in p:
                p["default"] = _DEFAULT_WORD.get(lang, "") if p["default"] else ""
            return texts.get(lang, texts["en"]).format(**p)
    return note


def _tidy(msg: str) -> str:
    """Empty placeholders leave double spaces and a space before a comma ("ARG  2013, …"): tidied."""
    import re

    msg = re.sub(r" +([,)])", r"\1", re.sub(r" {2,}", " ", msg)).strip()
    return re.sub(r"^[,:;]\s*", "", msg)   # "{country}: …" with no country


def build_report(results: list[RuleResult], *, verdict: str, submission_id: str | None, source_id: str,
                 file_name: str, sha256: str | None = None, stats: dict | None = None, gx: dict | None = None,
                 impact: dict | None = None) -> dict:
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
            row["message"] = {lang: _tidy(r.rule.render(lang, **localized_values(
                                  r.rule, {**vals, "observed": observed.get(lang, vals["observed"])}, row, lang)))
                              for lang in LANGS}
            fails.append(row)
        rules.append({**r.as_row(), "title": r.rule.title, "failures": fails, "series": r.series,
                      "notes_list": r.notes, "rationale": r.rule.rationale,
                      "gx_agrees": (r.gx or {}).get("agrees"), "blocking": r.blocking})
    # a blocking rule that could not be evaluated is a problem too (no row: the file was not judged on it)
    not_evaluated = [{"rule": r["rule_id"], "file_name": file_name, "line": None, "column_name": None, "value": None,
                      "observed": r["observed"],
                      "message": {lang: UI[lang]["not_evaluated_problem"].format(rule=r["rule_id"], error=r["observed"])
                                  for lang in LANGS}}
                     for r in rules if r["status"] == "error_in_rule" and r["blocking"]]
    return {"submission_id": submission_id, "source_id": source_id, "file": file_name, "sha256": sha256,
            "verdict": verdict, "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "rules": rules, "gx": gx, "stats": stats or {}, "impact": impact,
            "problems": (not_evaluated + [f | {"rule": r["rule_id"]} for r in rules
                                          if r["status"] == "fail" and r["severity"] == "error"
                                          for f in r["failures"]])[:200]}


def _as_float(v):
    if v is None:
        return None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    try:
        return float(str(v).strip().rstrip("%").replace(",", ""))
    except ValueError:
        return None


def worst_failures(rule: dict, n: int = 3) -> list[dict]:
    """The ``n`` worst rows of a failing rule: where observed and expected are numbers, the largest relative
    gap between them first; otherwise the rule's own order (file order)."""
    fails = list(rule.get("failures") or [])

    def gap(f):
        o, e = _as_float(f.get("observed")), _as_float(f.get("expected"))
        if o is None or e is None:
            return -1.0
        return abs(o - e) / max(abs(e), 1.0)

    ranked = sorted(range(len(fails)), key=lambda i: (-gap(fails[i]), i))
    return [fails[i] for i in ranked[:n]]


def render_text(report: dict, lang: str = "en", max_rows: int = 10, details: tuple[str, ...] = ("error",),
                worst: int = 2) -> str:
    """Verdict, what the file does to the warehouse (the import summary), then each failing rule once with how
    many rows and its ``worst`` worst cases, and the failing rows of rules whose severity is in ``details``
    (errors by default: what must be fixed)."""
    t = UI.get(lang, UI["en"])
    lines = [f"{t['verdict']}: {t[report['verdict']]}  —  {report['file']} ({report['source_id']})"]
    # first what the file does to the warehouse (DHIS2's import summary), then each failing rule once
    lines += render_impact_text(report.get("impact"), lang)
    if any(r["status"] in ("fail", "error_in_rule") for r in report["rules"]):
        lines.append(IMPACT_UI.get(lang, IMPACT_UI["en"])["rules_head"] + ":")
    for r in report["rules"]:
        if r["status"] not in ("fail", "error_in_rule") and not (
                r.get("notes_list") and r["status"] == "pass" and r["rule_id"] in ("S3", "I2")):
            continue
        title = r["title"].get(lang, r["title"]["en"])
        if r["status"] == "error_in_rule":
            lines.append(f"  [{r['severity'].upper()}] {r['rule_id']} {title}: {t['error_in_rule']} ({r.get('observed')})")
            continue
        if r["status"] == "fail":
            lines.append(f"  [{r['severity'].upper()}] {r['rule_id']} {title}: {r['failing_rows']} {t['rows']}")
        else:
            lines.append(f"  [{r['severity'].upper()}] {r['rule_id']} {title}: {t['pass']}")
        for n in (r.get("notes_list") or [])[:1]:
            lines.append(f"      {t['notes']}: {localize_note(n, lang)}")
        if r["severity"] not in details:
            for f in worst_failures(r, worst) if r["status"] == "fail" else []:
                lines.append(f"      - {_where(f, report, t)}: {f['message'].get(lang, f['message']['en'])}")
            continue
        for f in r["failures"][:max_rows]:
            lines.append(f"      - {_where(f, report, t)}: {f['message'].get(lang, f['message']['en'])}")
        if r["failing_rows"] > max_rows:
            lines.append(f"      … +{r['failing_rows'] - max_rows}")
    return "\n".join(lines)


def _where(f: dict, report: dict, t: dict) -> str:
    return ", ".join(x for x in (
        f"{t['file']} {f.get('file_name') or report['file']}",
        f"{t['line']} {f['line']}" if f.get("line") is not None else None,
        f"{t['column']} '{f['column_name']}'" if f.get("column_name") else None,
        f"{t['value']} {f['value']}" if f.get("value") not in (None, "") else None) if x)


def _svg(series: dict, width=640, height=220, lang: str = "en") -> Markup:
    """A line chart of one series, drawn here: only numbers go into it (the label is the template's
    figcaption, escaped there), so it is inserted into the page as markup."""
    pts = series.get("points") or []
    pts2 = series.get("points2") or []
    allp = pts + pts2
    if not allp:
        return Markup("")
    xs = [float(p[0]) for p in allp]
    ys = [float(p[1]) for p in allp]
    x0, x1 = min(xs), max(xs)
    y1 = max(ys) * 1.1 or 1
    pad = 40

    def sx(x):
        return pad + (float(x) - x0) / ((x1 - x0) or 1) * (width - 2 * pad)

    def sy(y):
        return height - pad - float(y) / y1 * (height - 2 * pad)

    def path(p, color):
        d = " ".join(f"{'M' if i == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}" for i, (x, y) in enumerate(p))
        return f'<path d="{d}" fill="none" stroke="{color}" stroke-width="2"/>'

    def _n(v) -> str:
        from pipelines.i18n import format_number

        return escape(format_number(round(float(v)), lang))

    flagged = set(series.get("flagged") or [])
    dots = "".join(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="{6 if x in flagged else 3}" '
                   f'fill="{"#c0392b" if x in flagged else "#2c3e50"}"><title>{escape(str(x))}: {_n(y)}</title></circle>'
                   for x, y in pts)
    axis = (f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#999"/>'
            f'<text x="{pad}" y="{height - 12}" font-size="11">{x0:.0f}</text>'
            f'<text x="{width - pad - 24}" y="{height - 12}" font-size="11">{x1:.0f}</text>'
            f'<text x="4" y="{pad - 8}" font-size="11">{_n(y1 / 1.1)}</text>')
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" width="{int(width)}" height="{int(height)}" role="img">'
                  f'{axis}{path(pts2, "#e67e22") if pts2 else ""}{path(pts, "#2c3e50")}{dots}</svg>')


def chart_svg(series: dict, lang: str = "en") -> Markup:
    """The same chart on the portal's submission page, its numbers in the page's language."""
    return _svg(series, lang=lang)


SERIES_WORDS = {"offences": {"en": "offences", "es": "delitos", "pt": "crimes", "fr": "infractions"},
                "victims": {"en": "victims", "es": "víctimas", "pt": "vítimas", "fr": "victimes"}}


def series_label(label: str, lang: str) -> str:
    """A chart's label ("ARG 30 (offences, _T)") with the measure and the breakdown in words."""
    import re

    m = re.fullmatch(r"(?P<head>.*) \((?P<measure>offences|victims), (?P<code>_T|F|M|_U)\)", label or "")
    if not m:
        return label
    return (f"{m['head']} ({SERIES_WORDS[m['measure']].get(lang, m['measure'])}, "
            f"{CODE_WORDS[m['code']].get(lang, m['code'])})")


@lru_cache(maxsize=1)
def _environment():
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(loader=FileSystemLoader(Path(__file__).with_name("templates")),
                       autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True,
                                                    default=True))


def _file_uri(path: str) -> str:
    try:
        return Path(path).resolve().as_uri()
    except ValueError:
        return ""


def render_html(report: dict, lang: str = "en") -> str:
    t = UI.get(lang, UI["en"])
    color = {"accepted": "#1e8449", "review": "#b9770e", "rejected": "#c0392b"}[report["verdict"]]
    rules = report["rules"]
    gx_rows = [r for r in rules if r.get("gx_status")]

    def title(r):
        return r["title"].get(lang, r["title"]["en"])

    def status_class(status):
        return {"fail": "fail", "not_applicable": "na", "error_in_rule": "error_in_rule"}.get(status, "")

    return _environment().get_template("report.html").render(
        report=report, lang=lang, t=t, verdict_color=color, title=title, status_class=status_class,
        chart=lambda s: _svg(s, lang=lang), series_label=lambda x: series_label(x, lang),
        file_uri=_file_uri, gx_rows=gx_rows, errored=[r for r in rules if r["status"] == "error_in_rule"],
        note=lambda n: localize_note(n, lang),
        column=lambda c: BREAKDOWN_WORDS[c].get(lang, c) if c in BREAKDOWN_WORDS else (c or ""))
