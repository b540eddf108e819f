"""Published data: the downloads page and ``published.indicators`` as CSV/XLSX (an office: its own country);
every format of ``hemistat export`` for signed-in users (``/downloads/export/<format>``) and for the public
(``/public/downloads/<format>``, anonymous: published data only), as one zip of the export's files.

The format is allow-listed (``exports.FORMATS``); the filters (country, iccs, from, to, release) are passed to
``publication.exports.export``, which binds them as parameters and refuses unknown values in one line; the files
are written in a fresh temporary folder under names hemistat chooses, so nothing a user sends becomes a path."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, StreamingResponse
from starlette.background import BackgroundTask

from pipelines.service.deps import OptionalUser, SignedIn, WebDep
from pipelines.service.portal import Denied
from pipelines.service import exports
from pipelines.service.web import client_ip

router = APIRouter(tags=["downloads"])


@router.get("/downloads", response_class=HTMLResponse)
def downloads_page(request: Request, web: WebDep, u: SignedIn):
    return web.render(request, "downloads.html", user=u, published=web.settings.duckdb_path.exists())


@router.get("/downloads/indicators.{fmt}")
def indicators_export(request: Request, web: WebDep, fmt: str, u: SignedIn):
    """Every row of published.indicators the user may see (an office: its own country), whole: CSV streamed,
    XLSX over as many sheets as needed (or refused above exports.XLSX_MAX_ROWS), Parquet."""
    if fmt not in ("csv", "xlsx", "parquet"):
        raise Denied("err_not_found", status=404)
    country = u.country_iso3 if u.role == "office" else (request.query_params.get("country") or None)
    if not web.settings.duckdb_path.exists():
        raise Denied("err_no_warehouse", status=404)
    db_path = web.settings.duckdb_path
    name = f"indicators_{country or 'all'}.{fmt}"
    audit = dict(actor=u.username, role=u.role, ip=client_ip(request), format=fmt,
                 country_iso3=(country or "")[:3] or None)
    if fmt == "csv":
        web.db.audit("download_published", rows=exports.count_rows(db_path, country), **audit)
        return StreamingResponse(exports.csv_stream(db_path, country), media_type="text/csv; charset=utf-8",
                                 headers=_disposition(name))
    try:
        path, rows, *sheets = (exports.xlsx_file(db_path, country) if fmt == "xlsx"
                               else exports.parquet_file(db_path, country))
    except exports.TooLargeForXlsx as exc:
        raise Denied("err_xlsx_too_large", status=413, rows=exc.rows, limit=exc.limit)
    web.db.audit("download_published", rows=rows, **audit)
    media = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" if fmt == "xlsx"
             else "application/vnd.apache.parquet")
    return FileResponse(path, media_type=media, headers=_disposition(name),
                        background=BackgroundTask(path.unlink, missing_ok=True))


def _disposition(filename: str) -> dict:
    return {"content-disposition": f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}"}


# ---- every export format, as a zip (issue 15 item 2) ---------------------------------------------------------

def _export_zip(request: Request, web, fmt: str, country) -> tuple:
    import shutil
    import tempfile
    import zipfile
    from pathlib import Path

    from pipelines.publication.exports import FORMATS, ExportError, export

    if fmt not in FORMATS:
        raise Denied("err_not_found", status=404)
    if not web.settings.duckdb_path.exists():
        raise Denied("err_no_warehouse", status=404)
    q = request.query_params

    def year(name):
        v = q.get(name)
        if v in (None, ""):
            return None
        if not v.isdigit():
            raise Denied("exports.err_request", status=400, detail=f"{name}={v[:20]!r}")
        return int(v)

    work = Path(tempfile.mkdtemp(prefix="hemistat-export-"))
    try:
        files = export(web.settings, fmt, work / "out", country=country, iccs=q.getlist("iccs") or None,
                       year_from=year("from"), year_to=year("to"), release=q.get("release") or None)
        zpath = work / "export.zip"
        with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
            for f in files:
                z.write(f, arcname=f.name)
    except ExportError as exc:
        shutil.rmtree(work, ignore_errors=True)
        raise Denied(exc.key, status=400, **exc.params)   # in the reader's language
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return zpath, work, files


def _zip_response(zpath, work, fmt: str, country_label: str):
    import shutil

    name = f"hemistat_{fmt}_{country_label}.zip"
    return FileResponse(zpath, media_type="application/zip", headers=_disposition(name),
                        background=BackgroundTask(shutil.rmtree, work, ignore_errors=True))


@router.get("/downloads/export/{fmt}")
def export_download(request: Request, web: WebDep, fmt: str, u: SignedIn):
    """Any export format for a signed-in user (an office: its own country only), as a zip."""
    country = [u.country_iso3] if u.role == "office" else (request.query_params.getlist("country") or None)
    zpath, work, files = _export_zip(request, web, fmt, country)
    web.db.audit("download_export", actor=u.username, role=u.role, ip=client_ip(request), format=fmt,
                 files=[f.name for f in files], country_iso3=(country or [None])[0])
    return _zip_response(zpath, work, fmt, "_".join(country) if country else "all")


@router.get("/public/downloads/{fmt}")
def public_export_download(request: Request, web: WebDep, fmt: str, u: OptionalUser):
    """The public's downloads (no sign-in): the published tables in any export format, as a zip."""
    country = request.query_params.getlist("country") or None
    zpath, work, _ = _export_zip(request, web, fmt, country)
    return _zip_response(zpath, work, fmt, "_".join(c.upper()[:3] for c in country) if country else "all")
