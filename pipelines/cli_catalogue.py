"""``hemistat courses | survey | gaps | fund``: the training catalogue, the demand survey, the gap report and the
Voluntary Fund ledger (issue 16; docs/CATALOGUE.md). Registered in ``pipelines/cli.py`` by ``register``."""

from __future__ import annotations

from pathlib import Path

import typer

from pipelines.i18n import LANGUAGES

courses_app = typer.Typer(help="the catalogue of training courses and technical assistance", no_args_is_help=True)
survey_app = typer.Typer(help="the demand survey: import answers (CSV/XLSX)", no_args_is_help=True)
fund_app = typer.Typer(help="the Voluntary Fund ledger: check the files, the report by year", no_args_is_help=True)

LANG = typer.Option("en", "--lang", help="en | es | pt | fr")


def _lang(lang: str) -> str:
    if lang not in LANGUAGES:
        typer.echo(f"--lang must be one of {', '.join(LANGUAGES)}", err=True)
        raise typer.Exit(2)
    return lang


def _fail(exc) -> None:
    for m in exc.messages:
        typer.echo(m, err=True)
    raise typer.Exit(1)


@courses_app.command("list")
def courses_list(lang: str = LANG,
                 country: str = typer.Option(None, "--country", help="ISO3 of the host country"),
                 pillar: str = typer.Option(None, "--pillar", help="MISPA pillar code (reference/courses/pillars.csv)"),
                 sample: bool = typer.Option(True, "--sample/--no-sample", help="show sample records")):
    """The offers, one per line: id, kind, country, pillars, modality, languages, dates, title (sample marked)."""
    from pipelines.knowledge import catalogue
    from pipelines.knowledge.record_rules import RecordError
    from pipelines.settings import get_settings

    lang = _lang(lang)
    try:
        df = catalogue.load_courses(get_settings(), lang)
    except RecordError as exc:
        _fail(exc)
    if country:
        df = df[df["country_iso3"] == country.upper()]
    if pillar:
        df = df[df["mispa_pillars"].map(lambda p: pillar in p)]
    if not sample:
        df = df[~df["sample"]]
    for r in df.to_dict("records"):
        title = r.get(f"title_{lang}") or r["title_en"] or r["title_es"] or r["title_pt"] or r["title_fr"]
        dates = f"{r['start_date'] or '…'}..{r['end_date'] or '…'}" if (r["start_date"] or r["end_date"]) else "-"
        typer.echo(f"{r['course_id']:45} {r['kind']:20} {r['country_iso3'] if isinstance(r['country_iso3'], str) else '-':4}"
                   f" {','.join(r['mispa_pillars']):22} {r['modality']:8} {','.join(r['languages']):9} {dates:23}"
                   f" {title}{'  [sample]' if r['sample'] else ''}")
    typer.echo(f"{len(df)} offer(s)")


@survey_app.command("import")
def survey_import(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or XLSX, one answer per row"),
                  country: str = typer.Option(None, "--country", help="the only member state the file may answer for"),
                  by: str = typer.Option(None, "--by", help="who entered the answers (recorded with them)"),
                  lang: str = LANG):
    """Check a file of survey answers (questionnaire: reference/survey/questionnaire.yaml) and record it; a file
    with any bad row is refused whole, with every problem named by file, row and field."""
    from pipelines.knowledge import survey
    from pipelines.knowledge.record_rules import RecordError
    from pipelines.settings import get_settings

    lang = _lang(lang)
    try:
        res = survey.import_file(get_settings(), file, lang, entered_by=by, country=country.upper() if country else None)
    except RecordError as exc:
        _fail(exc)
    typer.echo(f"{res['file']}: {res['answers']} answer(s) recorded ({res['demands']} demand(s), "
               f"{res['existing_courses']} existing course(s); countries {', '.join(res['countries'])}) "
               f"as {res['stored_as']}; published with the next release")


@survey_app.command("template")
def survey_template(out: Path = typer.Argument(..., dir_okay=False, help="the workbook to write (.xlsx)"),
                    lang: str = LANG):
    """Write an empty answer workbook: sheet 'answers' (the columns the import reads) and sheet 'questions' (each
    question with its type, whether it is required, the allowed codes and its text in --lang)."""
    from pipelines.knowledge import survey
    from pipelines.settings import get_settings

    lang = _lang(lang)
    survey.template(get_settings(), out, lang)
    typer.echo(f"template: {out}")


def gaps(lang: str = LANG,
         svg: Path = typer.Option(None, "--svg", help="write the chart (SVG) here"),
         csv: Path = typer.Option(None, "--csv", help="write the gap table (CSV) here"),
         matches: Path = typer.Option(None, "--matches", help="write every demand-offer score with its parts (CSV) here")):
    """The gap report by topic and country: demands no offer covers (unmet, or partly: only an offer of the same
    MISPA pillar), with where the topic is taught in another country."""
    from pipelines.knowledge import catalogue, matching, survey
    from pipelines.knowledge.record_rules import RecordError
    from pipelines.settings import get_settings

    lang = _lang(lang)
    s = get_settings()
    try:
        t = matching.build(s, catalogue.load_courses(s, lang), survey.answers(s, lang))
    except RecordError as exc:
        _fail(exc)
    g = t["course_gaps"]
    if len(g) and g["sample"].all():
        typer.echo("sample answers (no real survey answer recorded yet)")
    for r in g.to_dict("records"):
        where = ", ".join(r["exists_elsewhere_countries"]) or "-"
        typer.echo(f"{r['country_iso3']:4} {r['topic']:30} {r['status']:8} demands={r['demands']} people={r['people']} "
                   f"best={r['best_score']:.2f} ({r['best_course_id'] or '-'}) elsewhere={where}")
    unmet = g[g["status"] != "covered"]
    typer.echo(f"{len(g)} country-topic demand(s), {len(unmet)} not covered: "
               + "; ".join(f"{c} {tp}" for c, tp in zip(unmet["country_iso3"], unmet["topic"])))
    if svg:
        svg.write_text(matching.chart_svg(s, g, lang), encoding="utf-8")
        typer.echo(f"chart: {svg}")
    if csv:
        g.to_csv(csv, index=False)
        typer.echo(f"table: {csv}")
    if matches:
        t["course_matches"].to_csv(matches, index=False)
        typer.echo(f"matches: {matches}")


@fund_app.command("report")
def fund_report(lang: str = LANG,
                contributions: Path = typer.Option(None, "--contributions", exists=True, dir_okay=False,
                                                   help="another contributions file (default reference/fund/contributions.csv)"),
                activities: Path = typer.Option(None, "--activities", exists=True, dir_okay=False,
                                                help="another activities file (default reference/fund/activities.csv)")):
    """Check the ledger (the Fund's rules) and print received, committed, spent and balance by year (USD), for the
    real records and with the sample activities."""
    from pipelines.knowledge import fund
    from pipelines.knowledge.record_rules import RecordError, findings
    from pipelines.settings import get_settings

    lang = _lang(lang)
    s = get_settings()
    try:
        con, act = fund.load(s, lang, contributions_path=contributions, activities_path=activities)
    except RecordError as exc:
        _fail(exc)
    for f in findings(fund.check(s, con, act), lang):      # warnings (commitments above receipts)
        typer.echo(f"warning: {f['message']}")
    rep = fund.report(con, act)
    for scope, g in rep.groupby("scope", sort=False):
        typer.echo(f"[{scope}]  year  received  committed  spent  balance (USD)")
        for r in g.to_dict("records"):
            typer.echo(f"  {r['year']}  {r['received_usd']:,.2f}  {r['committed_usd']:,.2f}  {r['spent_usd']:,.2f}"
                       f"  {r['balance_usd']:,.2f}")
    typer.echo(f"{len(con)} contribution(s), {len(act)} activit(ies) ({int(act['sample'].sum())} sample)")


def register(app: typer.Typer) -> None:
    app.add_typer(courses_app, name="courses", help="the training and technical-assistance catalogue")
    app.add_typer(survey_app, name="survey", help="the demand survey: import answers")
    app.command("gaps")(gaps)
    app.add_typer(fund_app, name="fund", help="the Voluntary Fund ledger")
