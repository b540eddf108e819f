"""Step 1, landing: a file received is stored immutably (sha256) as a submission, before anything else."""

from __future__ import annotations

import re
from pathlib import Path

from pipelines.adapters import guards, load_spec
from pipelines.harmonise import reference as ref
from pipelines.settings import Settings
from pipelines.storage import submissions as subs


def check_release_date(value: str | None) -> str | None:
    """An ISO date (yyyy-mm-dd) not in the future, or None."""
    if value in (None, ""):
        return None
    from datetime import date

    try:
        d = date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"release date {value!r} is not a date written yyyy-mm-dd") from None
    if d > date.today():
        raise ValueError(f"release date {d} is in the future")
    return d.isoformat()


def check_country(settings: Settings, spec, country_iso3: str | None) -> str | None:
    """The submitting country, if given: a member state's ISO3 code, and the spec's own country for a national
    source (an Argentine file submitted as Mexico's would be listed and downloaded by the wrong office).
    ValueError otherwise, before anything is stored."""
    if not country_iso3:
        return None
    c = country_iso3.strip().upper()
    if spec.country_iso3 and c != spec.country_iso3:
        raise ValueError(f"country {c} contradicts source {spec.source_id}, which is {spec.country_iso3}'s "
                         f"(reference/sources/{spec.source_id}.yaml): nothing stored")
    if c not in set(ref.countries(settings.reference_dir)["iso3"]):
        raise ValueError(f"country {c[:12]!r} is not the ISO3 code of an OAS member state "
                         "(reference/countries): nothing stored")
    return c


def submit(settings: Settings, file: Path, source_id: str, *, uploaded_by: str = "cli",
           country_iso3: str | None = None, channel: str = "cli", original_name: str | None = None,
           released_on: str | None = None):
    """Store a file as a new submission (or return the existing one with the same checksum).
    ``released_on``: the date the publisher released the file (yyyy-mm-dd), if the submitter knows it."""
    settings.ensure_dirs()
    spec = load_spec(source_id, settings.reference_dir)  # unknown source -> KeyError, nothing stored
    released_on = check_release_date(released_on)
    country = check_country(settings, spec, country_iso3) or spec.country_iso3
    # bounded work per file (size, columns, cells, a workbook's expanded size, no DTD) before anything is stored:
    # guards.FileRefused (a ValueError) names the file and the limit
    guards.check_file(Path(file), original_name or Path(file).name, guards.csv_readers(spec),
                      guards.FileLimits.from_settings(settings))
    return subs.land_file(settings.landing_dir, Path(file), source_id=source_id, original_name=original_name,
                          uploaded_by=uploaded_by, country_iso3=country, channel=channel, released_on=released_on)


def release_date_from_file(spec, path: Path, original_name: str) -> tuple[str | None, str | None]:
    """The release date the spec says how to read (``release_date``): workbook properties or the file name."""
    how = spec.release_date
    src = how.from_ if how else None
    if not src:
        return None, None
    if src in ("xlsx_modified", "xlsx_created"):
        import openpyxl

        try:
            wb = openpyxl.load_workbook(path, read_only=True)
            d = wb.properties.modified if src == "xlsx_modified" else wb.properties.created
            wb.close()
        except Exception:  # noqa: BLE001 - not a workbook: the adapter reports that
            return None, None
        return (d.date().isoformat(), f"file: {src}") if d else (None, None)
    if src == "filename":
        from datetime import datetime

        m = re.search(how.pattern, original_name)
        if not m:
            return None, None
        try:
            return datetime.strptime(m.group("date"), how.format or "%Y-%m-%d").date().isoformat(), \
                "file: name"
        except ValueError:
            return None, None
    return None, None
