"""Good practices in the portal, without HTTP: a data office submits a practice, a reviewer reviews it — the same
review and audit log as data files.

    submitted --start_review--> under_review --return (reason)--> returned --resubmit--> submitted …
                                             \\--publish--> published

* who: an ``office`` submits for its own country (and sees its country's submissions); a ``reviewer`` moves
  them; an ``admin`` sees everything. Anything else is ``Denied``.
* checks: the submitted record goes through the practice rules (``pipelines.knowledge.practice_rules``, on the
  quality engine), in the submitter's language, together with every published record (so an id or a file
  name cannot be taken twice); a submission with problems is not stored.
* publication writes the record, with its review history, to ``<data_dir>/practices/records/<id>.yaml``: it
  is in the search at once and in ``published.practices`` at the next publish.
* every step is an audit event: practice_submit, practice_resubmit, practice_start_review, practice_return,
  practice_publish (actor, role, country, practice id, reason).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from pipelines.i18n import LANGUAGES
from pipelines.knowledge.practice_rules import PracticeRecordError, Problem, check_records
from pipelines.knowledge.practices import read_record_file, record_files, write_portal_record
from pipelines.service.auth import Principal
from pipelines.service.db import Database, PracticeSubmission, utcnow
from pipelines.service.portal import Denied
from pipelines.settings import Settings

STATUSES = ("submitted", "under_review", "returned", "published")
MAX_REASON = 2000
LIST_FIELDS = ("setting", "prevention_level", "approach", "target_populations", "languages", "topics")
UNVERIFIABLE = ("city", "start_year", "end_year", "implementation.materials", "implementation.cost",
                "implementation.contacts", "studies[0].authors", "studies[0].year", "ratings")


@dataclass
class Rejected(Exception):
    """The submitted practice breaks practice rules: nothing was stored."""
    problems: list[Problem]


def _slug(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:50].strip("-") or "practice"


def _ints(value) -> int | None:
    value = str(value or "").strip()
    return int(value) if re.fullmatch(r"\d{1,4}", value) else None


def record_from_form(form: dict, *, country: str | None, practice_id: str, by: str) -> dict:
    """A practice record (reference/practices/schema.json) from the submission form's fields. Lists come as
    lists (checkboxes); free text is stripped; nothing is invented: what the form leaves empty stays empty and
    the rules ask for it or for its mark in `unverified`."""
    def txt(name):
        v = form.get(name)
        return str(v).strip() if v is not None and str(v).strip() else None

    def lst(name):
        v = form.get(name) or []
        return [str(x).strip() for x in (v if isinstance(v, list) else [v]) if str(x).strip()]

    def langs(prefix):
        return {lang: txt(f"{prefix}_{lang}") for lang in LANGUAGES if txt(f"{prefix}_{lang}")}

    codes = [c for c in re.split(r"[\s,;]+", txt("iccs_codes") or "") if c]
    authors = [a.strip() for a in (txt("study_authors") or "").split(";") if a.strip()]
    study = {"authors": authors or None, "year": _ints(form.get("study_year")), "title": txt("study_title") or "",
             "journal": txt("study_journal"), "doi": txt("study_doi"), "url": txt("study_url") or "",
             "design": txt("design") or "none", "finding": langs("finding")}
    rating = None
    if txt("rating_body") and txt("rating"):
        rating = {"body": txt("rating_body"), "rating": txt("rating"), "detail": txt("rating_detail"),
                  "by": txt("rating_by") or txt("rating_body"), "url": txt("rating_url") or study["url"],
                  "accessed": date.today().isoformat()}
    sms = _ints(form.get("sms_level"))
    rec = {
        "practice_id": practice_id,
        "title": langs("title"),
        "summary": langs("summary"),
        "country_iso3": country,
        "city": txt("city"),
        "setting": lst("setting"),
        "scope": txt("scope") or "local",
        "iccs_codes": codes,
        "topics": lst("topics"),
        "prevention_level": lst("prevention_level"),
        "approach": lst("approach"),
        "target_populations": lst("target_populations"),
        "line_of_action": txt("line_of_action") or "",
        "languages": lst("languages"),
        "mechanism": langs("mechanism"),
        "start_year": _ints(form.get("start_year")),
        "end_year": _ints(form.get("end_year")),
        "evaluation": {"design": txt("design") or "none", "sms_level": sms, "studies_count": 1},
        "ratings": [rating] if rating else [],
        "studies": [study],
        "implementation": {k: {"en": txt(f"impl_{k}")} for k in ("materials", "cost", "contacts") if txt(f"impl_{k}")},
        "review": {"status": "submitted", "reviewer": "pending", "reviewed_on": date.today().isoformat(), "submitted_by": by},
        "unverified": [u for u in lst("unverified") if u in UNVERIFIABLE],
    }
    for k in ("setting", "prevention_level", "approach", "target_populations", "languages", "topics"):
        if not rec[k]:
            rec[k] = []
    return rec


def form_of(record: dict) -> dict:
    """The form's values for a stored record (to edit a returned practice)."""
    f: dict = {}
    for block in ("title", "summary", "mechanism"):
        for lang, v in (record.get(block) or {}).items():
            f[f"{block}_{lang}"] = v
    for k in ("city", "scope", "line_of_action", "start_year", "end_year"):
        f[k] = "" if record.get(k) is None else record.get(k)
    for k in LIST_FIELDS:
        f[k] = list(record.get(k) or [])
    f["iccs_codes"] = ", ".join(record.get("iccs_codes") or [])
    ev = record.get("evaluation") or {}
    f["design"], f["sms_level"] = ev.get("design") or "", ev.get("sms_level") or ""
    s = (record.get("studies") or [{}])[0]
    f.update(study_authors="; ".join(s.get("authors") or []), study_year=s.get("year") or "",
             study_title=s.get("title") or "", study_journal=s.get("journal") or "", study_doi=s.get("doi") or "",
             study_url=s.get("url") or "")
    for lang, v in (s.get("finding") or {}).items():
        f[f"finding_{lang}"] = v
    r = (record.get("ratings") or [None])[0]
    if r:
        f.update(rating_body=r.get("body"), rating=r.get("rating"), rating_detail=r.get("detail") or "",
                 rating_url=r.get("url") or "")
    for k in ("materials", "cost", "contacts"):
        f[f"impl_{k}"] = ((record.get("implementation") or {}).get(k) or {}).get("en", "")
    f["unverified"] = list(record.get("unverified") or [])
    return f


class PracticeDesk:
    def __init__(self, settings: Settings, db: Database):
        self.settings = settings
        self.db = db

    # ---- who sees what ---------------------------------------------------------------------------------------
    def _visible(self, u: Principal, row: PracticeSubmission) -> bool:
        return u.role in ("reviewer", "admin") or (u.role == "office" and row.country_iso3 == u.country_iso3)

    def list_for(self, u: Principal, status: str | None = None) -> list[PracticeSubmission]:
        with self.db.Session() as s:
            q = select(PracticeSubmission).order_by(PracticeSubmission.id.desc())
            if u.role == "office":
                q = q.where(PracticeSubmission.country_iso3 == u.country_iso3)
            elif u.role not in ("reviewer", "admin"):
                raise Denied("err_forbidden")
            if status in STATUSES:
                q = q.where(PracticeSubmission.status == status)
            return list(s.scalars(q))

    def get(self, u: Principal, sub_id: int) -> PracticeSubmission:
        with self.db.Session() as s:
            row = s.get(PracticeSubmission, sub_id)
            if row is None or not self._visible(u, row):
                raise Denied("err_not_found", status=404)
            return row

    # ---- checks ----------------------------------------------------------------------------------------------
    def _check(self, record: dict, lang: str, *, others: list[tuple[str, dict]] | None = None) -> None:
        published = others if others is not None else [(p.name, read_record_file(p)) for p in record_files(self.settings)]
        name = f"{record['practice_id']}.yaml"
        items = [(n, r) for n, r in published if n != name] + [(name, record)]
        problems = check_records(items, reference_dir=self.settings.reference_dir, rules_dir=self.settings.rules_dir,
                                 lang=lang)
        mine = [p for p in problems if p.file == name]
        if mine:
            raise Rejected(mine)
        if problems:                # a published record broke: say so rather than hide it
            raise PracticeRecordError(problems)

    def new_id(self, country: str | None, title_en: str | None, title_es: str | None) -> str:
        base = f"{(country or 'int').lower()}-{_slug(title_en or title_es or 'practice')}"
        taken = {p.stem for p in record_files(self.settings)}
        with self.db.Session() as s:
            taken |= set(s.scalars(select(PracticeSubmission.practice_id)))
        pid, n = base, 2
        while pid in taken:
            pid, n = f"{base[:56]}-{n}", n + 1
        return pid

    # ---- the workflow ----------------------------------------------------------------------------------------
    def submit(self, u: Principal, form: dict, lang: str, ip: str | None = None) -> PracticeSubmission:
        if u.role != "office" or not u.country_iso3:
            raise Denied("err_forbidden")
        pid = self.new_id(u.country_iso3, form.get("title_en"), form.get("title_es"))
        record = record_from_form(form, country=u.country_iso3, practice_id=pid, by=u.username)
        self._check(record, lang)
        now = utcnow()
        with self.db.Session.begin() as s:
            row = PracticeSubmission(practice_id=pid, country_iso3=u.country_iso3, status="submitted",
                                     record_json=json.dumps(record, ensure_ascii=False), submitted_by=u.username,
                                     submitted_at=now, updated_at=now)
            s.add(row)
            s.flush()
            sub_id = row.id
        self.db.audit("practice_submit", actor=u.username, role=u.role, country_iso3=u.country_iso3, ip=ip,
                      practice_id=pid, practice_submission=sub_id)
        return self.get(u, sub_id)

    def resubmit(self, u: Principal, sub_id: int, form: dict, lang: str, ip: str | None = None) -> PracticeSubmission:
        row = self.get(u, sub_id)
        if u.role != "office" or row.status != "returned":
            raise Denied("err_forbidden")
        record = record_from_form(form, country=row.country_iso3, practice_id=row.practice_id, by=u.username)
        self._check(record, lang)
        with self.db.Session.begin() as s:
            r = s.get(PracticeSubmission, sub_id)
            r.record_json, r.status, r.updated_at = json.dumps(record, ensure_ascii=False), "submitted", utcnow()
        self.db.audit("practice_resubmit", actor=u.username, role=u.role, country_iso3=row.country_iso3, ip=ip,
                      practice_id=row.practice_id, practice_submission=sub_id)
        return self.get(u, sub_id)

    def decide(self, u: Principal, sub_id: int, action: str, reason: str, lang: str,
               ip: str | None = None) -> PracticeSubmission:
        """A reviewer's step: start_review, return (reason required) or publish."""
        if u.role != "reviewer":
            raise Denied("err_forbidden")
        row = self.get(u, sub_id)
        reason = (reason or "").strip()[:MAX_REASON]
        allowed = {"start_review": ("submitted",), "return": ("under_review",), "publish": ("under_review",)}
        if action not in allowed or row.status not in allowed[action]:
            raise Denied("practices.err_transition", status=409)
        if action == "return" and not reason:
            raise Denied("practices.err_reason", status=400)
        new = {"start_review": "under_review", "return": "returned", "publish": "published"}[action]
        if action == "publish":
            record = json.loads(row.record_json)
            history = self._history(sub_id) + [{"status": "published", "by": u.username,
                                                 "on": date.today().isoformat(), "reason": reason or "published"}]
            record["review"] = {"status": "published", "reviewer": u.username,
                                "reviewed_on": date.today().isoformat(), "submitted_by": row.submitted_by,
                                "history": history}
            self._check(record, lang)
            write_portal_record(self.settings, record)
        with self.db.Session.begin() as s:
            r = s.get(PracticeSubmission, sub_id)
            r.status, r.reviewer, r.updated_at = new, u.username, utcnow()
            if action == "return":
                r.reason = reason
        self.db.audit(f"practice_{action}", actor=u.username, role=u.role, country_iso3=row.country_iso3, ip=ip,
                      practice_id=row.practice_id, practice_submission=sub_id, reason=reason or None)
        return self.get(u, sub_id)

    def _history(self, sub_id: int) -> list[dict]:
        """The review history of one submission, from the audit log (oldest first)."""
        from pipelines.service.db import AuditEvent

        with self.db.Session() as s:
            events = list(s.scalars(select(AuditEvent).where(AuditEvent.action.like("practice\\_%", escape="\\"))
                                    .order_by(AuditEvent.id)))
        out = []
        for e in events:
            d = json.loads(e.detail or "{}")
            if d.get("practice_submission") != sub_id:
                continue
            status = {"practice_submit": "submitted", "practice_resubmit": "submitted",
                      "practice_start_review": "under_review", "practice_return": "returned"}.get(e.action)
            if status:
                item = {"status": status, "by": e.actor or "-", "on": e.at.date().isoformat()}
                if d.get("reason"):
                    item["reason"] = d["reason"]
                out.append(item)
        return out

    def history(self, u: Principal, sub_id: int) -> list[dict]:
        self.get(u, sub_id)
        return self._history(sub_id)
