"""Uploads: the upload form (a page with the verdict after it) and ``POST /api/submissions`` (JSON verdict)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from pipelines.service.deps import (ApiUploadForm, ApiUser, PortalDep, Uploader, UploadForm, WebDep, form_file,
                                    form_released_on, form_source)
from pipelines.service.portal import Denied
from pipelines.service.views import api_submission
from pipelines.service.uploads import UploadRefused
from pipelines.service.web import client_ip

router = APIRouter(tags=["uploads"])


@router.get("/upload", response_class=HTMLResponse)
def upload_page(request: Request, web: WebDep, u: Uploader):
    return web.render(request, "upload.html", user=u, sources=web.portal.upload_sources(u),
                      source_info=web.portal.sources(), limit_mb=web.cfg.max_upload_bytes // (1024 * 1024))


@router.post("/upload")
async def upload_post(request: Request, web: WebDep, u: Uploader, form: UploadForm):
    portal = web.portal
    f, src = form_file(form), form_source(form)
    t = web.tr(request, u)
    try:
        if f is None:
            raise UploadRefused("err_no_file")
        res = await run_in_threadpool(portal.upload, u, f.file, f.filename, src, client_ip(request),
                                      form_released_on(form))
    except (UploadRefused, Denied) as exc:
        return web.render(request, "upload.html", status=exc.status, user=u, sources=portal.upload_sources(u),
                          source_info=portal.sources(), limit_mb=web.cfg.max_upload_bytes // (1024 * 1024),
                          error=exc.text(t) if isinstance(exc, UploadRefused) else t(exc.key, **exc.params),
                          selected=src, released_on=form_released_on(form)[:40])
    return RedirectResponse(f"/submissions/{res.submission_id}?new={int(res.created)}", status_code=303)


@router.post("/api/submissions")
async def api_upload(request: Request, web: WebDep, portal: PortalDep, u: ApiUser, form: ApiUploadForm):
    f = form_file(form)
    if f is None:
        raise UploadRefused("err_no_file")
    res = await run_in_threadpool(portal.upload, u, f.file, f.filename, form_source(form), client_ip(request),
                                  form_released_on(form))
    info = portal.submission(u, res.submission_id)
    body = api_submission(web, info, web.lang_of(request, u))
    body.update(created=res.created, error=res.error)
    return JSONResponse(body, status_code=201 if res.created else 200)
