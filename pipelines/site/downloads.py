"""The site's downloads, in one function (``site_downloads``) so the exports of issue 15 item 2 plug in here.

When ``pipelines.publication.exports.export`` exists it writes the whole publication in every format it offers;
the CSV per indicator and per country are the site's own (see ``site_downloads``). Until then the site writes its own: the comparable values it
shows (``SiteData.comparable``: national, annual, all ages) as CSV and Parquet with DuckDB, whole and per
indicator and per country, each row with the release id. Links in the pages are relative to the site's root.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.settings import Settings

EXPORT_FORMATS = ("csv", "parquet", "xlsx", "sdmx-csv", "sdmx-ml", "datapackage")
FORMAT_NAMES = {".csv": "CSV", ".parquet": "Parquet", ".xlsx": "Excel", ".xml": "SDMX-ML", ".json": "JSON",
                ".zip": "ZIP"}


@dataclass
class Downloads:
    """What ``site_downloads`` wrote: ``groups`` maps ``all``, ``iccs:<code>`` and ``country:<ISO3>`` to files
    under ``site_root`` (the site's folder), plus which writer made them (``exports`` or ``site``)."""
    site_root: Path
    writer: str
    groups: dict[str, list[Path]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def _items(self, key: str) -> list[dict]:
        out = []
        for p in self.groups.get(key, []):
            if not p.is_file():
                continue
            name = p.name
            fmt = "SDMX-CSV" if "sdmx" in name and p.suffix == ".csv" else \
                "Data package" if name == "datapackage.json" else FORMAT_NAMES.get(p.suffix.lower(), p.suffix[1:].upper())
            out.append({"href": p.relative_to(self.site_root).as_posix(), "name": name, "format": fmt,
                        "size": p.stat().st_size})
        return out

    def files_all(self) -> list[dict]:
        return self._items("all")

    def files_for_iccs(self, code: str) -> list[dict]:
        return self._items(f"iccs:{code}")

    def files_for_country(self, iso3: str) -> list[dict]:
        return self._items(f"country:{iso3}")

    def all_files(self) -> list[Path]:
        return [p for ps in self.groups.values() for p in ps]


def _exporter():
    try:
        from pipelines.publication.exports import export   # issue 15 item 2, when it is there
    except ImportError:
        return None
    return export


def site_downloads(settings: Settings, out_dir: Path, *, data=None, iccs_codes=(), countries=(),
                   release: str | None = None, per_selection_exporter: bool = False,
                   formats: tuple[str, ...] | None = None) -> Downloads:
    """Write the site's downloads under ``out_dir`` (a folder inside the site) and say which file is for what.
    With the exporter: the whole publication in each of ``formats`` (default: every one of ``EXPORT_FORMATS``;
    on the real warehouse Excel and SDMX-ML take minutes each), and (``per_selection_exporter``) its CSV per
    indicator and per country — by default those slices are the site's own CSVs, much faster."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    site_root = out_dir.parent
    export = _exporter()
    if export is not None:
        d = Downloads(site_root, "exports")

        def run(key: str, fmt: str, folder: Path, **kw) -> None:
            # one selection the exporter refuses leaves that selection without files — the page says so — and
            # the rest of the site is built; the reason is kept in ``errors`` (and BUILD.json)
            try:
                d.groups.setdefault(key, []).extend(Path(p) for p in export(settings, fmt, folder, release=release, **kw))
            except Exception as exc:  # noqa: BLE001 - named in Downloads.errors and in BUILD.json
                d.errors.append(f"{key} {fmt}: {type(exc).__name__}: {str(exc)[:300]}")

        for fmt in check_formats(formats):
            run("all", fmt, out_dir / "all" / fmt)
        if per_selection_exporter:
            for code in iccs_codes:
                run(f"iccs:{code}", "csv", out_dir / f"iccs-{code}", iccs=code)
            for iso3 in countries:
                run(f"country:{iso3}", "csv", out_dir / f"country-{iso3}", country=iso3)
            return d
        # the slices per indicator and per country: the site's own CSVs of the values it shows (one exporter call
        # per slice took about 5 s each on the real warehouse, 9 minutes for the 102 slices)
        own = _own_downloads(settings, out_dir, site_root, data, iccs_codes, countries, release, whole=False)
        d.groups.update(own.groups)
        return d
    return _own_downloads(settings, out_dir, site_root, data, iccs_codes, countries, release)


def check_formats(formats) -> tuple[str, ...]:
    """The whole-publication formats asked for, in ``EXPORT_FORMATS`` order (None: all of them); an unknown
    one is a ``ValueError`` naming it and the known ones."""
    if formats is None:
        return EXPORT_FORMATS
    unknown = sorted(set(formats) - set(EXPORT_FORMATS))
    if unknown or not formats:
        raise ValueError(f"unknown download format(s) {unknown}: the site offers {', '.join(EXPORT_FORMATS)}")
    return tuple(f for f in EXPORT_FORMATS if f in set(formats))


def _frame(data, release: str | None) -> pd.DataFrame:
    df = data.comparable().copy()
    df.insert(0, "release_id", release)
    df["alternatives"] = [json.dumps([{k: (None if v is None or (isinstance(v, float) and v != v) else v)
                                       for k, v in dict(a).items()} for a in alts], ensure_ascii=False,
                                      default=_jsonable)
                          for alts in df["alternatives"]]
    df["comparability_flags"] = [";".join(map(str, f)) for f in df["comparability_flags"]]
    df = df.drop(columns=[c for c in ("is_break",) if c in df.columns])
    return df.sort_values(["country_iso3", "iccs_code", "year", "measure", "sex"]).reset_index(drop=True)


def _own_downloads(settings: Settings, out_dir: Path, site_root: Path, data, iccs_codes, countries,
                   release: str | None, whole: bool = True) -> Downloads:
    if data is None:
        from pipelines.site.data import open_site_data

        with open_site_data(settings) as d:
            d.comparable()
        return _own_downloads(settings, out_dir, site_root, d, iccs_codes, countries, release, whole)
    d = Downloads(site_root, "site")
    df = _frame(data, release)
    con = duckdb.connect()
    try:

        def copy(part: pd.DataFrame, path: Path, fmt: str) -> Path:
            path.parent.mkdir(parents=True, exist_ok=True)
            con.register("part", part)
            # fixed statements; the path (built from fixed names and codes checked by _safe) is bound
            con.execute("copy (select * from part) to ? (format csv, header true)" if fmt == "csv" else
                        "copy (select * from part) to ? (format parquet, compression zstd)", [str(path)])
            con.unregister("part")
            return path

        if whole:
            d.groups["all"] = [copy(df, out_dir / "all" / "comparable.csv", "csv"),
                               copy(df, out_dir / "all" / "comparable.parquet", "parquet")]
        for code, part in df.groupby("iccs_code"):
            if code in set(iccs_codes):
                _safe(code)
                d.groups[f"iccs:{code}"] = [copy(part, out_dir / f"iccs-{code}" / f"comparable_{code}.csv", "csv")]
        for iso3, part in df.groupby("country_iso3"):
            if iso3 in set(countries):
                _safe(iso3)
                d.groups[f"country:{iso3}"] = [copy(part, out_dir / f"country-{iso3}" / f"comparable_{iso3}.csv",
                                                    "csv")]
    finally:
        con.close()
    return d


def _jsonable(v):
    """Numbers DuckDB returns as Decimal are written as numbers; anything else JSON lacks as text."""
    from decimal import Decimal

    return float(v) if isinstance(v, Decimal) else str(v)


def _safe(code: str) -> None:
    if not str(code).isalnum():
        raise ValueError(f"not a code: {code!r}")
