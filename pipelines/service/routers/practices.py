"""Good practices in the portal (issue 16).

* ``GET /practices`` — search for everyone, signed in or not (the same tantivy search as
  ``hemistat practices search``): words in any of the four languages, filters country, ICCS problem, minimum
  evidence level, prevention type, population, line of action, language;
* ``GET /practices/p/{practice_id}`` — one practice: summary, evaluation, ratings as given and on the common
  scale, studies with full citations, what is unverified, and the latest indicators of its country for its ICCS
  problems from the warehouse (``published.comparable`` when that view exists, else ``published.indicators``);
* ``GET/POST /practices/submit`` — a data office submits a practice (CSRF form; the practice rules run in
  the office's language; problems are shown, nothing is stored);
* ``GET /practices/review`` — reviewers: the queue; ``GET /practices/submissions/{id}`` — one submission and its
  history; ``POST …/decision`` (start_review, return with a reason, publish); ``POST …/resubmit`` — the office
  sends a returned practice again.
"""

from __future__ import annotations

import json
import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from pipelines.i18n import LANGUAGES
from pipelines.service.deps import CsrfForm, OptionalUser, SignedIn, WebDep
from pipelines.service.portal import Denied
from pipelines.service.web import Web, client_ip

router = APIRouter(tags=["practices"])

ID_RE = re.compile(r"^[a-z]{3}-[a-z0-9-]{3,60}$")
FILTERS = ("country", "iccs", "min_evidence", "prevention", "population", "line", "lang_filter")
LIST_FIELDS = ("setting", "prevention_level", "approach", "target_populations", "languages", "topics", "unverified")


def _desk(web: Web):
    from pipelines.service.practices_portal import PracticeDesk

    return PracticeDesk(web.settings, web.db)


def _ref(web: Web):
    from pipelines.knowledge.practice_reference import load_reference

    return load_reference(web.settings.reference_dir)


def _clean_filters(request: Request) -> dict:
    q = request.query_params
    out = {}
    c = (q.get("country") or "").strip().upper()
    if re.fullmatch(r"[A-Z]{3}", c):
        out["country"] = c
    i = (q.get("iccs") or "").strip()
    if re.fullmatch(r"\d{2}(\d{2}(\d(\d)?)?)?", i):
        out["iccs"] = i
    m = (q.get("min_evidence") or "").strip()
    if m in ("0", "1", "2", "3", "4"):
        out["min_evidence"] = int(m)
    for name in ("prevention", "population", "line"):
        v = (q.get(name) or "").strip()
        if re.fullmatch(r"[a-z_]{1,40}", v):
            out[name] = v
    lf = (q.get("lang_filter") or "").strip()
    if lf in LANGUAGES:
        out["lang"] = lf
    return out


@router.get("/practices", response_class=HTMLResponse)
def practices_search(request: Request, web: WebDep, u: OptionalUser):
    from pipelines.knowledge.search import Filters, get_index

    text = (request.query_params.get("q") or "").strip()[:300]
    filters = _clean_filters(request)
    idx = get_index(web.settings)
    hits = idx.search(text, Filters(**filters), limit=50)
    lang = web.lang_of(request, u)
    countries = sorted({r.get("country_iso3") for r in idx.records.values() if r.get("country_iso3")})
    return web.render(request, "practices_search.html", user=u, q=text, filters=filters, hits=hits, ref=idx.ref,
                      plang=lang, countries=countries, total=len(idx.records))


def latest_indicators(web: Web, country: str | None, codes: list[str]) -> tuple[list[dict], str | None]:
    """The latest national value per ICCS code and measure of ``country`` in the warehouse (bound parameters):
    rows and the view read, or ([], None) when there is no warehouse or nothing for the country."""
    if not country or not codes or not web.settings.duckdb_path.exists():
        return [], None
    from pipelines.storage.release import connect

    try:
        con = connect(web.settings.duckdb_path)
    except Exception:  # noqa: BLE001 - a warehouse being swapped: the page shows no indicators, not an error
        return [], None
    try:
        views = {r[0] for r in con.execute(
            "select view_name from duckdb_views() where schema_name = 'published'").fetchall()}
        view = "published.comparable" if "comparable" in views else "published.indicators"
        cols = {r[0] for r in con.execute(
            "select column_name from duckdb_columns() where schema_name = 'published' and table_name = ?",
            [view.split(".", 1)[1]]).fetchall()}
        needed = {"country_iso3", "iccs_code", "year", "value", "measure"}
        if not needed <= cols:
            return [], None
        rate = "rate_per_100k" if "rate_per_100k" in cols else "null"
        conds = ["country_iso3 = ?", "list_contains(?, iccs_code)"]
        for col, val in (("sex", "_T"), ("age", "_T"), ("relationship", "_T")):
            if col in cols:
                conds.append(f"coalesce({col}, '_T') = '{val}'")
        if "subdivision_code" in cols:
            conds.append("subdivision_code is null")
        if "month" in cols:
            conds.append("month is null")
        src = "source_id" if "source_id" in cols else "null"
        sql = (f"select iccs_code, measure, year, value, {rate} as rate, {src} as source_id from ("
               f"select *, row_number() over (partition by iccs_code, measure order by year desc) as rn "
               f"from {view} where {' and '.join(conds)}) where rn = 1 order by iccs_code, measure")
        rows = con.execute(sql, [country, list(codes)]).fetchall()
        return [dict(zip(("iccs_code", "measure", "year", "value", "rate", "source_id"), r)) for r in rows], view
    except Exception:  # noqa: BLE001 - an older warehouse without these columns: no indicators shown
        return [], None
    finally:
        con.close()


@router.get("/practices/p/{practice_id}", response_class=HTMLResponse)
def practice_page(request: Request, web: WebDep, practice_id: str, u: OptionalUser):
    from pipelines.knowledge.practices import study_citation
    from pipelines.knowledge.search import get_index

    if not ID_RE.match(practice_id):
        raise Denied("err_not_found", status=404)
    idx = get_index(web.settings)
    rec = idx.records.get(practice_id)
    if rec is None:
        raise Denied("err_not_found", status=404)
    indicators, view = latest_indicators(web, rec.get("country_iso3"), rec.get("iccs_codes") or [])
    ref = idx.ref
    ratings = []
    for r in rec.get("ratings") or []:
        _, level = ref.rating_level(r["body"], r["rating"], r.get("detail"))
        ratings.append({**r, "level": level, "body_name": ref.scale["bodies"][r["body"]]["name"]})
    return web.render(request, "practices_detail.html", user=u, rec=rec, ref=ref, ev=ref.evidence(rec),
                      ratings=ratings, citation=study_citation, indicators=indicators, view=view,
                      plang=web.lang_of(request, u))


# ---- submission and review -------------------------------------------------------------------------------------
def _form_dict(form) -> dict:
    out: dict = {}
    for k in form.keys():
        if k == "csrf":
            continue
        vals = [str(v)[:5000] for v in form.getlist(k) if isinstance(v, str)]
        out[k] = vals if k in LIST_FIELDS else (vals[0] if vals else "")
    return out


def _form_page(request: Request, web: Web, u, values: dict, problems=None, sub=None, status: int = 200):
    return web.render(request, "practices_submit.html", status=status, user=u, v=values, problems=problems or [],
                      ref=_ref(web), sub=sub, plang=web.lang_of(request, u))


@router.get("/practices/submit", response_class=HTMLResponse)
def submit_page(request: Request, web: WebDep, u: SignedIn):
    if u.role != "office":
        raise Denied("err_forbidden")
    values: dict = {"languages": ["es", "en"], "scope": "local"}
    prop = _proposal(web, request.query_params.get("proposal"))
    if prop is not None:    # a Network thread or forum outcome the secretariat forwarded (issue 17 item 5)
        from pipelines.i18n import LANGUAGES

        lang = web.lang_of(request, u)
        lang = lang if lang in LANGUAGES else "es"
        values.update({f"title_{lang}": prop.title, f"summary_{lang}": prop.summary, "proposal_id": str(prop.id)})
    return _form_page(request, web, u, values)


def _proposal(web: Web, proposal_id):
    from pipelines.service import network_store

    return network_store.forwarded_proposal(web.db, proposal_id, "practice") if proposal_id else None


@router.post("/practices/submit")
async def submit_post(request: Request, web: WebDep, u: SignedIn, form: CsrfForm):
    from pipelines.service.practices_portal import Rejected

    values = _form_dict(form)
    lang = web.lang_of(request, u)
    try:
        row = await run_in_threadpool(_desk(web).submit, u, values, lang, client_ip(request))
    except Rejected as exc:
        return _form_page(request, web, u, values, exc.problems, status=400)
    prop = _proposal(web, values.get("proposal_id"))
    if prop is not None:
        from pipelines.service import network_store

        network_store.proposal_entered_review(web.db, prop.id, f"practice submission {row.id}", u.username, u.role,
                                              client_ip(request))
    return RedirectResponse(f"/practices/submissions/{row.id}?msg=submitted", status_code=303)


@router.get("/practices/review", response_class=HTMLResponse)
def review_queue(request: Request, web: WebDep, u: SignedIn):
    if u.role not in ("reviewer", "admin", "office"):
        raise Denied("err_forbidden")
    status = request.query_params.get("status")
    rows = _desk(web).list_for(u, status)
    from pipelines.service import network_store

    return web.render(request, "practices_review.html", user=u, rows=rows, titles={
        r.id: json.loads(r.record_json).get("title", {}) for r in rows}, plang=web.lang_of(request, u),
        proposals=network_store.forwarded_proposals(web.db, "practice"))


@router.get("/practices/submissions/{sub_id}", response_class=HTMLResponse)
def submission_page(request: Request, web: WebDep, sub_id: int, u: SignedIn):
    from pipelines.service.practices_portal import form_of

    desk = _desk(web)
    row = desk.get(u, sub_id)
    rec = json.loads(row.record_json)
    return web.render(request, "practices_submission.html", user=u, row=row, rec=rec, history=desk.history(u, sub_id),
                      ref=_ref(web), v=form_of(rec), problems=[], plang=web.lang_of(request, u),
                      flash=request.query_params.get("msg"))


@router.post("/practices/submissions/{sub_id}/decision")
async def decision_post(request: Request, web: WebDep, sub_id: int, u: SignedIn, form: CsrfForm):
    from pipelines.service.practices_portal import Rejected

    action = str(form.get("action") or "")
    reason = str(form.get("reason") or "")
    lang = web.lang_of(request, u)
    try:
        await run_in_threadpool(_desk(web).decide, u, sub_id, action, reason, lang, client_ip(request))
    except Rejected as exc:
        desk = _desk(web)
        row = desk.get(u, sub_id)
        rec = json.loads(row.record_json)
        from pipelines.service.practices_portal import form_of

        return web.render(request, "practices_submission.html", status=400, user=u, row=row, rec=rec,
                          history=desk.history(u, sub_id), ref=_ref(web), v=form_of(rec), problems=exc.problems,
                          plang=lang, flash=None)
    return RedirectResponse(f"/practices/submissions/{sub_id}?msg={action}", status_code=303)


@router.post("/practices/submissions/{sub_id}/resubmit")
async def resubmit_post(request: Request, web: WebDep, sub_id: int, u: SignedIn, form: CsrfForm):
    from pipelines.service.practices_portal import Rejected

    values = _form_dict(form)
    lang = web.lang_of(request, u)
    desk = _desk(web)
    try:
        await run_in_threadpool(desk.resubmit, u, sub_id, values, lang, client_ip(request))
    except Rejected as exc:
        row = desk.get(u, sub_id)
        return web.render(request, "practices_submission.html", status=400, user=u, row=row,
                          rec=json.loads(row.record_json), history=desk.history(u, sub_id), ref=_ref(web), v=values,
                          problems=exc.problems, plang=lang, flash=None)
    return RedirectResponse(f"/practices/submissions/{sub_id}?msg=resubmitted", status_code=303)
