"""`hemistat export`: the published warehouse as CSV, Parquet, Excel, SDMX-CSV, SDMX-ML or a Frictionless data
package (pipelines/publication/exports.py; docs/EXPORTS.md)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

app = typer.Typer()


@app.command("export")
def export_cmd(
        fmt: str = typer.Option(..., "--format", help="csv | parquet | xlsx | sdmx-csv | sdmx-ml | datapackage"),
        out: Path = typer.Option(..., "--out", help="folder to write the files into (created if missing)"),
        country: Optional[List[str]] = typer.Option(None, "--country", help="ISO3 code(s), repeat or comma-separate"),
        iccs: Optional[List[str]] = typer.Option(None, "--iccs", help="ICCS code(s); sub-codes are included"),
        year_from: Optional[int] = typer.Option(None, "--from", help="first year"),
        year_to: Optional[int] = typer.Option(None, "--to", help="last year"),
        release: Optional[str] = typer.Option(None, "--release", help="a release id of the history (default: current)"),
        table: Optional[List[str]] = typer.Option(None, "--table", help="only these tables (default: every one the "
                                                                          "release has)")):
    """Export the published tables (indicators; comparable, coverage, regional when the release has them) with
    the release id, the source citations and the quality flags."""
    from pipelines.publication.exports import ExportError, export
    from pipelines.settings import get_settings

    try:
        files = export(get_settings(), fmt, out, country=country or None, iccs=iccs or None, year_from=year_from,
                       year_to=year_to, release=release, tables=table or None)
    except ExportError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    for f in files:
        typer.echo(f"  {f}  ({f.stat().st_size:,d} bytes)")
    typer.echo(f"{len(files)} files written to {Path(out).resolve()}")
