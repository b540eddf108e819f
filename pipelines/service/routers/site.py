"""``/data/``: the public data site (issue 15 item 4) for anonymous readers — the static pages that
``hemistat site`` builds, served from ``<data>/site/`` (``pipelines.site.served``). The build starts when the
portal starts and again when a request finds that the warehouse serves a newer release than the one built;
until the first build is done ``/data/`` answers 503 with Retry-After. No sign-in, no cookie, no form."""

from __future__ import annotations

import contextlib
import threading

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.staticfiles import StaticFiles

from pipelines.i18n import LANG_COOKIE, Translator, load_catalogues, negotiate
from pipelines.site.served import SiteKeeper


_KEEPER_LOCK = threading.Lock()


def _keeper(app) -> SiteKeeper:
    """The app's one SiteKeeper (made on first use: the lifespan, or a request when no lifespan ran)."""
    with _KEEPER_LOCK:
        keeper = getattr(app.state, "site_keeper", None)
        if keeper is None:
            app.state.site_static = {}
            keeper = app.state.site_keeper = SiteKeeper(app.state.web.settings)
    return keeper


@contextlib.asynccontextmanager
async def _lifespan(app):
    """On start: build the site in the background if the warehouse has a release the site does not show yet."""
    if getattr(app.state, "web", None) is not None:
        _keeper(app).ensure_fresh()
    yield
    keeper = getattr(app.state, "site_keeper", None)
    if keeper is not None:
        keeper.stop()


router = APIRouter(tags=["site"], lifespan=_lifespan)


def _not_ready(request: Request, keeper: SiteKeeper) -> HTMLResponse:
    lang = negotiate(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE), None,
                     request.headers.get("accept-language"))
    t = Translator(load_catalogues(request.app.state.web.settings.reference_dir), lang)
    if keeper.published_release() is None:
        return HTMLResponse(f"<!doctype html><html lang=\"{lang}\"><meta charset=\"utf-8\"><title>hemistat</title>"
                            f"<p>{t('site.serve.nothing_published')}</p></html>", status_code=404)
    msg = t("site.serve.building") if keeper.last_error is None else t("site.serve.failed")
    return HTMLResponse(f"<!doctype html><html lang=\"{lang}\"><meta charset=\"utf-8\"><title>hemistat</title>"
                        f"<p>{msg}</p></html>", status_code=503, headers={"retry-after": "30"})


@router.get("/data", include_in_schema=False)
def site_root_redirect():
    return RedirectResponse("/data/", status_code=307)


@router.get("/data/", include_in_schema=False)
def site_home(request: Request):
    """The reader's language (``?lang=``, the portal's language cookie, Accept-Language), else English."""
    keeper = _keeper(request.app)
    keeper.ensure_fresh()
    if keeper.current() is None:
        return _not_ready(request, keeper)
    lang = negotiate(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE), None,
                     request.headers.get("accept-language"))
    return RedirectResponse(f"/data/{lang}/", status_code=307)


@router.get("/data/{path:path}", include_in_schema=False)
async def site_file(request: Request, path: str):
    keeper = _keeper(request.app)
    keeper.ensure_fresh()
    folder = keeper.current()
    if folder is None:
        return _not_ready(request, keeper)
    statics = request.app.state.site_static
    static = statics.get(folder)
    if static is None:
        statics.clear()   # one build is served at a time
        static = statics[folder] = StaticFiles(directory=folder, html=True)
    # StaticFiles resolves the path inside the build's folder only (no traversal) and serves index.html for a folder
    return await static.get_response(path, request.scope)
