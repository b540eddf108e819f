"""``hemistat releases`` — the numbered releases — and ``hemistat releases diff A B`` — what changed between two
of them and why (pipelines/publication/releases.py; docs/PUBLICATION.md)."""

from __future__ import annotations

import sys

import typer

app = typer.Typer(help="numbered releases: list them; `diff A B` lists the values that changed and why",
                  invoke_without_command=True, no_args_is_help=False)


def _settings():
    from pipelines.settings import get_settings

    return get_settings()


@app.callback()
def releases(ctx: typer.Context,
             as_json: bool = typer.Option(False, "--json", help="the list as JSON")):
    """List the releases: number, id, date, sources, row counts (oldest first; * = current)."""
    if ctx.invoked_subcommand is not None:
        return
    import json

    from pipelines.publication.releases import list_releases

    rels = list_releases(_settings())
    if as_json:
        typer.echo(json.dumps(rels, ensure_ascii=False, indent=1))
        return
    if not rels:
        typer.echo("no release published yet (run `hemistat run`)")
        return
    for r in rels:
        t = r["tables"]
        rows = ", ".join(f"{k} {t[k]:,}" for k in ("indicators", "comparable", "regional") if k in t)
        typer.echo(f"{'*' if r['current'] else ' '} {r['number']:>3}  {r['release_id']}  {r['published_at']}  "
                   f"{r['submissions']} submission(s)  rows: {rows}")
        typer.echo(f"       sources: {', '.join(r['sources']) or '-'}")


@app.command("diff")
def diff_cmd(a: str = typer.Argument(..., help="earlier release: number, id, 'previous' or 'latest'"),
             b: str = typer.Argument(..., help="later release: number, id, 'previous' or 'latest'"),
             csv: bool = typer.Option(False, "--csv", help="every changed value as CSV on standard output"),
             table: str = typer.Option("comparable", "--table", help="comparable (default) or indicators"),
             limit: int = typer.Option(50, "--limit", help="rows shown on screen (largest relative changes first)")):
    """The values that changed from release A to release B: key, old, new, difference, relative, and why."""
    from pipelines.publication.releases import REASONS, ReleaseNotFound, diff

    try:
        df = diff(_settings(), a, b, table=table)
    except (ReleaseNotFound, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1)
    if csv:
        df.to_csv(sys.stdout, index=False)
        return
    ra, rb = df.attrs["a"], df.attrs["b"]
    typer.echo(f"{table}: release {ra['number']} ({ra['release_id']}) -> release {rb['number']} "
               f"({rb['release_id']}): {len(df):,} value(s) differ")
    if df.empty:
        return
    counts = df.groupby(["change", "reason"]).size().reset_index(name="n")
    for r in counts.itertuples():
        typer.echo(f"  {r.n:>8,}  {r.change:<8} {r.reason:<24} {REASONS.get(r.reason, '')}")
    typer.echo("")
    show = df.head(limit).copy()
    for c in ("old", "new", "difference"):
        show[c] = show[c].map(lambda v: "" if v != v or v is None else f"{v:,.6g}")
    show["relative"] = show["relative"].map(lambda v: "" if v != v or v is None else f"{v:+.1%}")
    key = [c for c in ("source_id", "country_iso3", "subdivision_code", "year", "month", "iccs_code", "measure",
                       "sex", "age", "relationship") if c in show.columns]
    typer.echo(show[key + ["old", "new", "difference", "relative", "reason"]].to_string(index=False))
    if len(df) > limit:
        typer.echo(f"… {len(df) - limit:,} more (--limit N, or --csv for all with the sentence `why`)")
    typer.echo("")
    typer.echo("why (first rows):")
    for r in df.head(min(limit, 10)).itertuples():
        typer.echo(f"  {r.country_iso3} {r.year} {r.iccs_code} {r.measure}: {r.why}")
