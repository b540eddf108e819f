"""Submissions: the list (page, CSV, API), one submission (page, API), its quality report, original file and
failing rows; the reviewer's actions — acknowledge, decision, reprocess, withdraw — as forms (CSRF) and as
JSON API calls (bodies are pydantic models, ``pipelines/service/schemas.py``); the review queue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from pipelines.service import auth
from pipelines.service.deps import (ApiReviewer, ApiUser, CsrfForm, PortalDep, Reviewer, SignedIn, Supervisor,
                                    WebDep)
from pipelines.service.portal import Denied
from pipelines.service.schemas import AcknowledgeBody, DecisionBody, WithdrawBody
from pipelines.service.uploads import to_csv_bytes, to_xlsx_bytes
from pipelines.service.views import api_submission, failing_rules, failures, publish_text, release, release_text
from pipelines.service.web import PUBLISH_OUTCOMES, STATUSES, Web, attachment, client_ip

# strict_content_type=False: a JSON body sent without a content-type header is still read as JSON
router = APIRouter(tags=["submissions"], strict_content_type=False)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# pages ----------------------------------------------------------------------------------------------------
@router.get("/submissions", response_class=HTMLResponse)
def submissions_page(request: Request, web: WebDep, u: SignedIn):
    rows = web.portal.submissions_for(u)
    status = request.query_params.get("status")
    if status in STATUSES:
        rows = [r for r in rows if r["status"] == status]
    return web.render(request, "submissions.html", user=u, rows=rows, filter_status=status)


@router.get("/submissions.csv")
def submissions_csv(request: Request, web: WebDep, u: SignedIn):
    cols = ["submission_id", "source_id", "country_iso3", "received_at", "uploaded_by", "original_name",
            "sha256", "size_bytes", "status", "status_detail"]
    rows = [[r.get(c) for c in cols] for r in web.portal.submissions_for(u)]
    web.db.audit("download_list", actor=u.username, role=u.role, ip=client_ip(request), rows=len(rows))
    return attachment(to_csv_bytes(cols, rows), "submissions.csv", "text/csv; charset=utf-8")


@router.get("/submissions/{sid}", response_class=HTMLResponse)
def submission_page(request: Request, web: WebDep, sid: str, u: SignedIn):
    portal = web.portal
    info = portal.submission(u, sid)
    pending = portal.pending_warnings(sid) if info["report"] else []
    pub = request.query_params.get("pub")
    from pipelines.quality.report import chart_svg, change_key, localize_note, series_label, worst_failures

    lang = web.lang_of(request, u)

    return web.render(request, "submission.html", user=u, sid=sid, info=info, man=info["manifest"],
                      change_key=change_key, worst_failures=worst_failures, chart=lambda s: chart_svg(s, lang),
                      series_label=lambda x: series_label(x, lang),
                      note=lambda n: localize_note(n, lang),
                      st=info["status"], report=info["report"], failing=failing_rules(info["report"]),
                      pending=pending, new=request.query_params.get("new"),
                      can_review=u.role == "reviewer" and info["status"].get("status") in ("awaiting_review",
                                                                                           "validated"),
                      can_correct=u.role == "reviewer" and info["status"].get("status") != "withdrawn",
                      release=release(info), release_text=release_text(web.tr(request, u), release(info)),
                      flash=request.query_params.get("msg"),
                      pub=pub if pub in PUBLISH_OUTCOMES else None)


@router.get("/submissions/{sid}/report", response_class=HTMLResponse)
def report_page(request: Request, web: WebDep, sid: str, u: SignedIn):
    from pipelines.quality.report import render_html

    info = web.portal.submission(u, sid)
    if not info["report"]:
        raise Denied("err_no_report", status=404)
    lang = web.lang_of(request, u)
    web.db.audit("download_report", actor=u.username, role=u.role, submission_id=sid, ip=client_ip(request),
                 source_id=info["manifest"]["source_id"], country_iso3=info["manifest"]["country_iso3"], lang=lang)
    return HTMLResponse(render_html(info["report"], lang))


def send_original(request: Request, web: Web, u: auth.Principal, sid: str) -> FileResponse:
    path, info = web.portal.original_path(u, sid)
    man = info["manifest"]
    web.db.audit("download_original", actor=u.username, role=u.role, submission_id=sid, ip=client_ip(request),
                 source_id=man["source_id"], country_iso3=man["country_iso3"], sha256=man["sha256"])
    # the bytes exactly as received (checksum header), never rendered inline
    return FileResponse(path, media_type="application/octet-stream", filename=man["original_name"],
                        headers={"x-content-sha256": man["sha256"]})


@router.get("/submissions/{sid}/original")
def original(request: Request, web: WebDep, sid: str, u: SignedIn):
    return send_original(request, web, u, sid)


@router.get("/submissions/{sid}/failures.{fmt}")
def failures_export(request: Request, web: WebDep, sid: str, fmt: str, u: SignedIn):
    if fmt not in ("csv", "xlsx"):
        raise Denied("err_not_found", status=404)
    info = web.portal.submission(u, sid)
    cols, rows = failures(info["report"], web.lang_of(request, u))
    web.db.audit("download_failures", actor=u.username, role=u.role, submission_id=sid, ip=client_ip(request),
                 format=fmt, rows=len(rows))
    if fmt == "csv":
        return attachment(to_csv_bytes(cols, rows), f"{sid}_failures.csv", "text/csv; charset=utf-8")
    return attachment(to_xlsx_bytes(cols, rows, "failures"), f"{sid}_failures.xlsx", XLSX)


# the reviewer's forms ---------------------------------------------------------------------------------------
@router.post("/submissions/{sid}/acknowledge")
async def acknowledge_post(request: Request, portal: PortalDep, sid: str, u: Reviewer, form: CsrfForm):
    rules = [str(r) for r in form.getlist("rules")]
    await run_in_threadpool(portal.acknowledge, u, sid, rules, str(form.get("reason") or ""), client_ip(request))
    return RedirectResponse(f"/submissions/{sid}?msg=acknowledged", status_code=303)


@router.post("/submissions/{sid}/decision")
async def decision_post(request: Request, portal: PortalDep, sid: str, u: Reviewer, form: CsrfForm):
    out = await run_in_threadpool(portal.decide, u, sid, str(form.get("decision") or ""),
                                  str(form.get("comment") or ""), client_ip(request))
    msg = "publish_failed" if out["publish_error"] else out["status"]
    return RedirectResponse(f"/submissions/{sid}?msg={msg}", status_code=303)


@router.post("/submissions/{sid}/reprocess")
async def reprocess_post(request: Request, portal: PortalDep, sid: str, u: Reviewer, form: CsrfForm):
    out = await run_in_threadpool(portal.reprocess, u, sid, client_ip(request))
    return RedirectResponse(f"/submissions/{sid}?msg=reprocessed&pub={out['publish']}", status_code=303)


@router.post("/submissions/{sid}/withdraw")
async def withdraw_post(request: Request, portal: PortalDep, sid: str, u: Reviewer, form: CsrfForm):
    out = await run_in_threadpool(portal.withdraw, u, sid, str(form.get("reason") or ""), client_ip(request))
    return RedirectResponse(f"/submissions/{sid}?msg=withdrawn&pub={out['publish']}", status_code=303)


@router.get("/review", response_class=HTMLResponse)
def review_page(request: Request, web: WebDep, u: Supervisor):
    rows = [r for r in web.portal.submissions_for(u) if r["status"] in ("awaiting_review", "validated")]
    for r in rows:
        r["pending"] = web.portal.pending_warnings(r["submission_id"])
    return web.render(request, "review.html", user=u, rows=rows)


# JSON API (bearer tokens; no cookies, so no CSRF) -------------------------------------------------------------
@router.get("/api/submissions")
def api_list(portal: PortalDep, u: ApiUser):
    keep = ("submission_id", "source_id", "country_iso3", "sha256", "size_bytes", "original_name",
            "received_at", "uploaded_by", "status", "status_detail")
    return {"submissions": [{k: r.get(k) for k in keep} for r in portal.submissions_for(u)]}


@router.get("/api/submissions/{sid}")
def api_get(request: Request, web: WebDep, sid: str, u: ApiUser):
    return api_submission(web, web.portal.submission(u, sid), web.lang_of(request, u))


@router.get("/api/submissions/{sid}/report")
def api_report(request: Request, web: WebDep, sid: str, u: ApiUser):
    info = web.portal.submission(u, sid)
    if not info["report"]:
        raise Denied("err_no_report", status=404)
    web.db.audit("download_report", actor=u.username, role=u.role, submission_id=sid, ip=client_ip(request),
                 format="json")
    return info["report"]


@router.get("/api/submissions/{sid}/original")
def api_original(request: Request, web: WebDep, sid: str, u: ApiUser):
    return send_original(request, web, u, sid)


@router.post("/api/submissions/{sid}/acknowledge")
async def api_ack(request: Request, portal: PortalDep, sid: str, u: ApiReviewer, body: AcknowledgeBody):
    st = await run_in_threadpool(portal.acknowledge, u, sid, body.rules, body.reason, client_ip(request))
    return {"submission_id": sid, "status": st["status"]}


@router.post("/api/submissions/{sid}/decision")
async def api_decision(request: Request, portal: PortalDep, sid: str, u: ApiReviewer, body: DecisionBody):
    out = await run_in_threadpool(portal.decide, u, sid, body.decision, body.comment, client_ip(request))
    return {"submission_id": sid, **out}


@router.post("/api/submissions/{sid}/reprocess")
async def api_reprocess(request: Request, web: WebDep, sid: str, u: ApiReviewer):
    out = await run_in_threadpool(web.portal.reprocess, u, sid, client_ip(request))
    return {"submission_id": sid, **out, "publish_message": publish_text(web.tr(request, u), out)}


@router.post("/api/submissions/{sid}/withdraw")
async def api_withdraw(request: Request, web: WebDep, sid: str, u: ApiReviewer,
                       body: Annotated[WithdrawBody | None, Body()] = None):
    reason = body.reason if body is not None else ""
    out = await run_in_threadpool(web.portal.withdraw, u, sid, reason, client_ip(request))
    t = web.tr(request, u)
    return {"submission_id": sid, **out, "status_text": t("withdrawn_reason", reason=out["reason"]),
            "publish_message": publish_text(t, out)}
