"""Published data: the downloads page and ``published.indicators`` as CSV/XLSX (an office: its own country)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from pipelines.service.deps import SignedIn, WebDep
from pipelines.service.portal import Denied
from pipelines.service.uploads import frame_rows, to_csv_bytes, to_xlsx_bytes
from pipelines.service.web import attachment, client_ip

router = APIRouter(tags=["downloads"])


@router.get("/downloads", response_class=HTMLResponse)
def downloads_page(request: Request, web: WebDep, u: SignedIn):
    return web.render(request, "downloads.html", user=u, published=web.settings.duckdb_path.exists())


@router.get("/downloads/indicators.{fmt}")
def indicators_export(request: Request, web: WebDep, fmt: str, u: SignedIn):
    if fmt not in ("csv", "xlsx"):
        raise Denied("err_not_found", status=404)
    country = request.query_params.get("country") or None
    df = web.portal.published_indicators(u, country, limit=200000 if fmt == "csv" else 100000)
    if df is None:
        raise Denied("err_no_warehouse", status=404)
    cols, rows = frame_rows(df)
    web.db.audit("download_published", actor=u.username, role=u.role, ip=client_ip(request), format=fmt,
                 country_iso3=(u.country_iso3 if u.role == "office" else (country or "")[:3] or None), rows=len(rows))
    name = f"indicators_{(u.country_iso3 if u.role == 'office' else country) or 'all'}.{fmt}"
    if fmt == "csv":
        return attachment(to_csv_bytes(cols, rows), name, "text/csv; charset=utf-8")
    return attachment(to_xlsx_bytes(cols, rows, "indicators"), name,
                      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
