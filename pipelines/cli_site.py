"""`hemistat site`: the public data site (issue 15 item 4), static HTML in four languages built from the warehouse."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer()


@app.command("site")
def site(out: Path = typer.Option(..., "--out", help="folder for the site (new, empty, or an earlier site build)"),
         lang: list[str] = typer.Option(None, "--lang", help="build only these languages (default: en, es, pt, fr)"),
         fmt: list[str] = typer.Option(None, "--format", help="download formats of the whole publication "
                                       "(repeat; default: csv, parquet, xlsx, sdmx-csv, sdmx-ml, datapackage)"),
         quiet: bool = typer.Option(False, "--quiet", help="print only the summary")):
    """Build the public data site from the published warehouse: a home page comparing intentional homicide
    across the region, a page per indicator and per country, the methodology, releases and downloads, in English,
    Spanish, Portuguese and French. Static files with relative links: open DIR/index.html or serve DIR."""
    from pipelines.settings import get_settings
    from pipelines.site.build import SiteBuildError, build_site

    settings = get_settings()
    try:
        rec = build_site(settings, out, langs=tuple(lang) if lang else None, formats=tuple(fmt) if fmt else None,
                         progress=None if quiet else (lambda m: typer.echo(f"  {m}")))
    except (SiteBuildError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    typer.echo(f"site of release {rec['release_id']} ({rec['mode']} views): {rec['pages']} pages, {rec['charts']} charts, "
               f"{rec['downloads']} downloads in {', '.join(rec['languages'])}, built in {rec['seconds']} s -> "
               f"{Path(out).resolve() / 'index.html'}")
