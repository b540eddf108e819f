"""The portal's routes, one ``APIRouter`` per area (same URLs as before the split):

* ``account``     – sign-in/out, the account page, API tokens
* ``uploads``     – the upload form and ``POST /api/submissions``
* ``submissions`` – lists, a submission's page, report, original, failing rows; review actions
  (acknowledge, decision, reprocess, withdraw) in pages and API; the review queue
* ``downloads``   – published indicators (CSV/XLSX/Parquet) and every export format (signed in and public)
* ``admin``       – audit log, users
* ``health``      – ``/healthz``
* ``practices``   – good practices: search (anonymous too), a practice, submission and review (issue 16)
* ``catalogue``   – the training catalogue, the gap report, the Voluntary Fund, the demand survey (issue 16)
* ``network``     – the Inter-American Network for the Prevention of Violence and Crime (``/network``, issue 17)
* ``site``        – ``/data/``: the public data site for anonymous readers (static pages, ``pipelines.site``)
"""

from pipelines.service.routers import (account, admin, catalogue, downloads, health, network, practices, site,
                                       submissions, uploads)

ROUTERS = [account.router, uploads.router, submissions.router, downloads.router, admin.router, health.router,
           practices.router, catalogue.router, network.router, site.router]

__all__ = ["ROUTERS"]
