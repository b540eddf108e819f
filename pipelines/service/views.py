"""What the submission pages and the API show of a submission: failing rules and rows, the release date and
where it comes from, the JSON form of a submission. Shared by the routers."""

from __future__ import annotations

from pipelines.i18n import Translator
from pipelines.service.texts import event_text, source_title  # noqa: F401 (re-exported)
from pipelines.service.web import Web

FAILURE_COLUMNS = ["rule_id", "severity", "file_name", "line", "column_name", "value", "message"]


def failing_rules(report: dict | None) -> list[dict]:
    if not report:
        return []
    order = {"error": 0, "warn": 1, "info": 2}
    rules = [r for r in report.get("rules", []) if r.get("status") == "fail"]
    return sorted(rules, key=lambda r: (order.get(r.get("severity"), 3), r.get("rule_id")))


def failures(report: dict | None, lang: str) -> tuple[list[str], list[list]]:
    """Every failing row of every failing rule (and the portal's own ACCESS problems), in ``lang``."""
    rows = []
    for r in failing_rules(report):
        for f in r.get("failures", []):
            rows.append([r["rule_id"], r["severity"], f.get("file_name") or (report or {}).get("file"),
                         f.get("line"), f.get("column_name"), None if f.get("value") is None else str(f["value"]),
                         (f.get("message") or {}).get(lang) or (f.get("message") or {}).get("en")])
    for p in (report or {}).get("problems", []):
        if p.get("rule") == "ACCESS":
            rows.append(["ACCESS", "error", p.get("file"), p.get("line"), p.get("column"), p.get("value"),
                         p.get("message")])
    return FAILURE_COLUMNS, rows


def release(info: dict) -> dict:
    """The publisher's release date of a submission and where it comes from (declared / file / received)."""
    from pipelines.storage.submissions import release_date

    day, src = release_date(info["manifest"], info["status"])
    kind, _, how = str(src).partition(":")
    return {"date": day, "from": src, "kind": kind.strip() if kind.strip() in ("declared", "file", "received")
            else "file", "how": how.strip()}


RELEASE_HOW = ("xlsx_modified", "xlsx_created", "name")   # landing.release_date_from_file: "file: <how>"


def release_how(t: Translator, how: str | None) -> str:
    """Where in the file a release date was read, in ``t``'s language."""
    return t("release_how_" + how) if how in RELEASE_HOW else (how or "?")


def release_text(t: Translator, rel: dict) -> str:
    return t("release_from_" + rel["kind"], how=release_how(t, rel["how"]))


def publish_text(t: Translator, out: dict) -> str | None:
    return t("pub_" + out["publish"]) if out.get("publish") else None


def api_submission(web: Web, info: dict, lang: str) -> dict:
    man, st, rep = info["manifest"], info["status"], info["report"]
    rel, t = release(info), web.translator(lang)
    return {"submission_id": man["submission_id"], "source_id": man["source_id"],
            "country_iso3": man["country_iso3"], "sha256": man["sha256"], "size_bytes": man["size_bytes"],
            "original_name": man["original_name"], "received_at": man["received_at"],
            "uploaded_by": man["uploaded_by"], "status": st.get("status"),
            "verdict": (rep or {}).get("verdict"),
            "impact": (rep or {}).get("impact"),   # what the file does to the warehouse (harmonise.impact)
            "released_on": man.get("released_on"), "release_date": rel["date"], "release_date_from": rel["from"],
            "release_date_text": release_text(t, rel),
            "withdrawn": ({**st["withdrawn"], "text": t("withdrawn_reason", reason=st["withdrawn"].get("reason"))}
                          if st.get("status") == "withdrawn" and st.get("withdrawn") else None),
            "failures": [dict(zip(FAILURE_COLUMNS, r)) for r in failures(rep, lang)[1]][:500],
            "report_url": f"/api/submissions/{man['submission_id']}/report",
            "events": st.get("events", [])}

