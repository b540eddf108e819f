"""The training catalogue, the gap report, the Voluntary Fund and the demand survey in the portal (issue 16;
docs/CATALOGUE.md).

* ``GET /catalogue``         – the offers (anyone, signed in or not)
* ``GET /catalogue/gaps``    – the gap report: chart (SVG, made on the server) and its table (anyone)
* ``GET /catalogue/fund``    – contributions and the report by year (anyone)
* ``GET|POST /catalogue/survey`` – one demand-survey answer, by a user who may answer for the country
  (``may_answer_for``); checked by the same record rules as an imported file, stored in the data folder and
  written to the audit log (``survey_answer``; refusals ``survey_answer_refused``).

What the pages show is computed from the current records with the functions that build the published tables
(``pipelines.knowledge``), so a page and the next release agree.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from pipelines.service import auth
from pipelines.service.deps import CsrfForm, OptionalUser, SignedIn, WebDep
from pipelines.service.portal import Denied
from pipelines.service.web import client_ip

router = APIRouter(tags=["catalogue"])


def may_answer_for(user: auth.Principal | None, country_iso3: str | None, viewer=None) -> bool:
    """The one permission check of the demand survey: who may enter answers for ``country_iso3``: an ``admin``
    for any country; a country's data office (portal role ``office``) or the Network's approved national focal
    point of that country (issue 17: ``pipelines.network.rules.can_answer_demand_survey`` on ``viewer``, the
    user as the Network sees them — ``survey_viewer``)."""
    if user is None or not country_iso3:
        return False
    if user.role == "admin":
        return True
    if viewer is None:
        return user.role == "office" and user.country_iso3 == country_iso3
    from pipelines.network.rules import can_answer_demand_survey

    return can_answer_demand_survey(viewer, country_iso3)


def survey_viewer(web, user):
    """The user as the Network sees them (roles, focal countries), read once per request."""
    from pipelines.service.network_store import viewer

    return viewer(web.db, user) if user is not None else None


def _labels(settings, lang: str) -> dict:
    from pipelines.knowledge import codes

    topics, pillars, audiences = codes.topics(settings), codes.pillars(settings), codes.audiences(settings)
    return {"topic_label": lambda c: codes.label(topics, "topic", c, lang),
            "pillar_label": lambda c: codes.label(pillars, "pillar", c, lang),
            "audience_label": lambda c: codes.label(audiences, "audience", c, lang)}


def _records_error(web, request, user, exc, template="catalogue_list.html", status=500, **ctx):
    return web.render(request, template, status=status, user=user, record_errors=exc.messages, **ctx)


@router.get("/catalogue", response_class=HTMLResponse)
def catalogue_page(request: Request, web: WebDep, user: OptionalUser):
    from pipelines.knowledge import catalogue
    from pipelines.knowledge.record_rules import RecordError

    lang = web.lang_of(request, user)
    try:
        df = catalogue.load_courses(web.settings, lang)
    except RecordError as exc:
        return _records_error(web, request, user, exc, courses=[], **_labels(web.settings, lang))
    proposals = []
    if user is not None and user.role in ("reviewer", "admin"):
        from pipelines.service import network_store

        # courses the Network's secretariat forwarded (issue 17 item 5): a reviewer writes the course record file
        # from them (course records are reviewed as files, reference/courses/records/)
        proposals = network_store.forwarded_proposals(web.db, "course")
    return web.render(request, "catalogue_list.html", user=user, courses=df.to_dict("records"), record_errors=None,
                      proposals=proposals, **_labels(web.settings, lang))


def _gaps(settings, lang: str) -> dict:
    from pipelines.knowledge import catalogue, matching, survey

    courses = catalogue.load_courses(settings, lang)
    t = matching.build(settings, courses, survey.answers(settings, lang))
    g = t["course_gaps"]
    return {"gaps": g.to_dict("records"), "svg": matching.chart_svg(settings, g, lang),
            "summary": matching.gap_summary(g).to_dict("records"),
            "threshold": matching.weights(settings)["coverage"]["threshold"],
            "sample": bool(len(g) and g["sample"].all())}


@router.get("/catalogue/gaps", response_class=HTMLResponse)
async def gaps_page(request: Request, web: WebDep, user: OptionalUser):
    from pipelines.knowledge.record_rules import RecordError

    lang = web.lang_of(request, user)
    try:
        data = await run_in_threadpool(_gaps, web.settings, lang)
    except RecordError as exc:
        return _records_error(web, request, user, exc, "catalogue_gaps.html", gaps=[], svg="", summary=[],
                              threshold=0.5, sample=False, **_labels(web.settings, lang))
    return web.render(request, "catalogue_gaps.html", user=user, record_errors=None, **data,
                      **_labels(web.settings, lang))


@router.get("/catalogue/fund", response_class=HTMLResponse)
def fund_page(request: Request, web: WebDep, user: OptionalUser):
    from pipelines.knowledge import fund
    from pipelines.knowledge.record_rules import RecordError

    lang = web.lang_of(request, user)
    try:
        con, act = fund.load(web.settings, lang)
    except RecordError as exc:
        return _records_error(web, request, user, exc, "catalogue_fund.html", contributions=[], activities=[],
                              report=[])
    return web.render(request, "catalogue_fund.html", user=user, record_errors=None,
                      contributions=con.to_dict("records"), activities=act.to_dict("records"),
                      report=fund.report(con, act).to_dict("records"))


def _form_ctx(web, user, lang: str) -> dict:
    from pipelines.harmonise.reference import countries
    from pipelines.knowledge import survey

    s = web.settings
    qs = survey.questionnaire(s)["questions"]
    cty = countries(s.reference_dir)
    v = survey_viewer(web, user)
    allowed = [c for c in cty["iso3"] if may_answer_for(user, c, v)]
    mine = survey.recorded(s)
    mine = mine[mine["country_iso3"].isin(allowed)] if len(mine) else mine
    from pipelines.knowledge import codes

    return {"questions": qs, "countries": allowed, "recorded": mine.to_dict("records") if len(mine) else [],
            "topic_codes": codes.topics(s)["topic"].tolist(), "audience_codes": codes.audiences(s)["audience"].tolist(),
            **_labels(s, lang)}


@router.get("/catalogue/survey", response_class=HTMLResponse)
def survey_page(request: Request, web: WebDep, user: SignedIn):
    lang = web.lang_of(request, user)
    ctx = _form_ctx(web, user, lang)
    if not ctx["countries"]:
        raise Denied("err_forbidden")
    return web.render(request, "catalogue_survey.html", user=user, values={"country_iso3": user.country_iso3},
                      errors=None, saved=None, **ctx)


@router.post("/catalogue/survey", response_class=HTMLResponse)
async def survey_post(request: Request, web: WebDep, user: SignedIn, form: CsrfForm):
    from pipelines.knowledge import survey
    from pipelines.knowledge.record_rules import RecordError

    lang = web.lang_of(request, user)
    qs = survey.questionnaire(web.settings)["questions"]
    values = {q["id"]: str(form.get(q["id"]) or "")[:2000] for q in qs}
    country = values["country_iso3"].strip().upper()[:3]
    ctx = _form_ctx(web, user, lang)
    if not may_answer_for(user, country, survey_viewer(web, user)):
        web.db.audit("survey_answer_refused", actor=user.username, role=user.role, country_iso3=country or None,
                     ip=client_ip(request), reason="not allowed for this country")
        return web.render(request, "catalogue_survey.html", status=403, user=user, values=values,
                          errors=[web.tr(request, user)("catalogue.survey.denied", country=country or "?")],
                          saved=None, **ctx)
    values["country_iso3"] = country
    try:
        saved = await run_in_threadpool(survey.record_answer, web.settings, values, lang, entered_by=user.username)
    except RecordError as exc:
        return web.render(request, "catalogue_survey.html", status=400, user=user, values=values,
                          errors=exc.messages, saved=None, **ctx)
    web.db.audit("survey_answer", actor=user.username, role=user.role, country_iso3=country, ip=client_ip(request),
                 response_id=saved["response_id"], kind=saved["kind"], topic=saved["topic"],
                 audience=saved["audience"])
    ctx = _form_ctx(web, user, lang)
    return web.render(request, "catalogue_survey.html", user=user, values={"country_iso3": country}, errors=None,
                      saved=saved["response_id"], **ctx)
