"""The portal's routes, one ``APIRouter`` per area (same URLs as before the split):

* ``account``     – sign-in/out, the account page, API tokens
* ``uploads``     – the upload form and ``POST /api/submissions``
* ``submissions`` – lists, a submission's page, report, original, failing rows; review actions
  (acknowledge, decision, reprocess, withdraw) in pages and API; the review queue
* ``downloads``   – published indicators (CSV/XLSX)
* ``admin``       – audit log, users
* ``health``      – ``/healthz``
* ``site``        – ``/data/``: the public data site for anonymous readers (static pages, ``pipelines.site``)
"""

from pipelines.service.routers import account, admin, downloads, health, site, submissions, uploads

ROUTERS = [account.router, uploads.router, submissions.router, downloads.router, admin.router, health.router,
           site.router]

__all__ = ["ROUTERS"]
