"""``/healthz``: the server answers (used by ``launch.start`` and proxies)."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter

router = APIRouter(tags=["health"])


@router.get("/healthz", include_in_schema=False)
def healthz():
    return {"ok": True, "time": datetime.now(timezone.utc).isoformat(timespec="seconds")}
