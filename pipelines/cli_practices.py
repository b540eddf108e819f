"""``hemistat practices …``: search the good practices, check the records, list them.

    hemistat practices search "violencia juvenil" --country BRA
    hemistat practices search "youth violence" --min-evidence 3 --lang en --json
    hemistat practices check          # every record against the practice rules (file, field, rule)
"""

from __future__ import annotations

import json

import typer

cli = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="good practices: search (ranked, accent-insensitive, es/en/pt stemming), check, list")


def _lang(value: str | None) -> str:
    from pipelines.i18n import LANGUAGES

    return value if value in LANGUAGES else "en"


@cli.command("search")
def search_cmd(query: str = typer.Argument("", help="words in Spanish, English, Portuguese or French"),
               country: str = typer.Option(None, "--country", help="ISO3 code, e.g. BRA"),
               iccs: str = typer.Option(None, "--iccs", help="ICCS code; a section finds everything under it"),
               min_evidence: int = typer.Option(None, "--min-evidence", min=0, max=4,
                                                help="lowest level on the common scale (0 harmful … 4 effective)"),
               lang: str = typer.Option(None, "--lang", help="only practices with material in en/es/pt/fr; "
                                                            "also the language of the answer"),
               prevention: str = typer.Option(None, "--prevention", help="primary/secondary/tertiary or an approach"),
               population: str = typer.Option(None, "--population", help="target population key, e.g. youth"),
               line: str = typer.Option(None, "--line", help="line of action key"),
               limit: int = typer.Option(10, "--limit", min=1, max=200),
               as_json: bool = typer.Option(False, "--json", help="machine-readable answer")):
    """Ranked search of the published practices."""
    from pipelines.knowledge.practice_rules import PracticeRecordError
    from pipelines.knowledge.practices import study_citation
    from pipelines.knowledge.search import Filters, get_index
    from pipelines.settings import get_settings

    out_lang = _lang(lang)
    settings = get_settings()
    try:
        idx = get_index(settings)
    except PracticeRecordError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2)
    filters = Filters(country=country, iccs=iccs, min_evidence=min_evidence, lang=lang, prevention=prevention,
                      population=population, line=line)
    hits = idx.search(query, filters, limit)
    ref = idx.ref
    rows = []
    for rank, h in enumerate(hits, start=1):
        ev = ref.evidence(h.record)
        rows.append({"rank": rank, "practice_id": h.practice_id, "score": round(h.score, 3),
                     "title": h.record["title"].get(out_lang) or h.record["title"]["en"],
                     "country_iso3": h.record.get("country_iso3"), "evidence_level": ev["level"],
                     "evidence_label": ref.level_label(ev["level"], out_lang), "topics_matched": h.topics_matched,
                     "citation": study_citation(h.record["studies"][0])})
    if as_json:
        typer.echo(json.dumps({"query": query, "filters": filters.active(), "results": rows}, ensure_ascii=False,
                              indent=1))
        return
    if not rows:
        typer.echo("no practice matches" if out_lang == "en" else
                   {"es": "ninguna práctica coincide", "pt": "nenhuma prática corresponde",
                    "fr": "aucune pratique ne correspond"}[out_lang])
        return
    for r in rows:
        level = "–" if r["evidence_level"] is None else r["evidence_level"]
        typer.echo(f"{r['rank']:>2}. [{r['country_iso3'] or 'INT'}] {r['title']}  ·  {r['evidence_label']} ({level})"
                   f"  ·  {r['practice_id']}  score {r['score']}")
        typer.echo(f"    {r['citation']}")


@cli.command("check")
def check_cmd(lang: str = typer.Option("en", "--lang")):
    """Check every practice record against the practice rules; exit 1 with each problem (file, field, rule)."""
    from pipelines.knowledge.practice_rules import PracticeRecordError
    from pipelines.knowledge.practices import load_records
    from pipelines.settings import get_settings

    try:
        recs = load_records(get_settings(), lang=_lang(lang))
    except PracticeRecordError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1)
    typer.echo(f"{len(recs)} published practice records pass the practice rules")


@cli.command("list")
def list_cmd(country: str = typer.Option(None, "--country")):
    """The published practices (id, country, evidence level, title)."""
    from pipelines.knowledge.practices import load_records
    from pipelines.knowledge.practice_reference import load_reference
    from pipelines.settings import get_settings

    s = get_settings()
    ref = load_reference(s.reference_dir)
    for rec in load_records(s):
        if country and rec.get("country_iso3") != country.upper():
            continue
        ev = ref.evidence(rec)
        typer.echo(f"{rec['practice_id']:<45} {rec.get('country_iso3') or 'INT':<4} "
                   f"{'–' if ev['level'] is None else ev['level']}  {rec['title']['en']}")
