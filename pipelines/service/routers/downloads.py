"""Published data: the downloads page and ``published.indicators`` as CSV/XLSX (an office: its own country)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, StreamingResponse
from starlette.background import BackgroundTask

from pipelines.service.deps import SignedIn, WebDep
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
