"""What the portal does, without HTTP: who may see or upload what, storing and checking an upload with
the pipeline's own steps, acknowledgements, publication approval. Every action is audited.

Pipeline link: an upload is stored by ``pipeline.submit`` (content-addressed landing, sha256 manifest),
then ``pipeline.ingest`` + ``pipeline.validate`` run the source's adapter and every quality rule — the same
steps the Dagster assets run — for the immediate verdict. Dagster's ``landing_sensor`` then picks the
submission up like any other (partition + ingest run with the rules as asset checks). A web submission
that passes is *held* in ``awaiting_review`` by ``pipeline.validate`` until a reviewer approves it: only
``approved`` (or ``published``) web submissions are publishable, so a publish run started by anything
else never releases data nobody approved.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipelines.service.auth import Principal
from pipelines.service.config import PortalConfig
from pipelines.service.db import Database
from pipelines.service.uploads import UploadRefused, check_file_name, sniff
from pipelines.settings import Settings
from pipelines.storage.files import TooLarge, copy_stream
from pipelines.storage.locks import pipeline_lock

log = logging.getLogger("hemistat.portal")
TEMPLATE_PREFIX = "iccs_template"   # the member-state templates (csv/xlsx and SDMX-CSV): country in a column
REVIEWABLE = ("awaiting_review", "validated")
RELEASE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_REASON = 2000


def check_release_date(value) -> str | None:
    """The publisher's release date given at upload: empty -> None; else exactly yyyy-mm-dd and not in the
    future (``pipeline.check_release_date``), or UploadRefused with a translated message."""
    from pipelines import pipeline

    value = str(value or "").strip()
    if not value:
        return None
    shown = value[:40]
    if not RELEASE_DATE.match(value):
        raise UploadRefused("err_release_date", value=shown)
    try:
        return pipeline.check_release_date(value)
    except ValueError as exc:
        raise UploadRefused("err_release_date_future" if "future" in str(exc) else "err_release_date", value=shown)


class Denied(Exception):
    """Access refused. ``status`` 403 (you may not) or 404 (no such thing that you may see)."""

    def __init__(self, key: str, status: int = 403, **params):
        super().__init__(key)
        self.key = key
        self.status = status
        self.params = params


@dataclass
class UploadResult:
    submission_id: str
    created: bool
    status: str
    verdict: str | None
    sha256: str
    report: dict | None
    error: str | None = None
    checking: bool = False     # the checks were still queued or running when the answer was sent


class Portal:
    def __init__(self, settings: Settings, cfg: PortalConfig, db: Database):
        self.settings = settings
        self.cfg = cfg
        self.db = db
        self._sources: dict | None = None
        self._dagster = None
        from concurrent.futures import ThreadPoolExecutor

        from pipelines.service.fair import FairTurns

        self.turns = FairTurns()   # uploads are checked one at a time, in turn by office country
        # the checks run off the request's thread: the answer waits at most cfg.verdict_wait_seconds for them
        self._checks = ThreadPoolExecutor(max_workers=8, thread_name_prefix="hemistat-check")
        (cfg.work_dir / "tmp").mkdir(parents=True, exist_ok=True)

    def warm_up(self) -> None:
        """Load what the first upload would otherwise wait for: the Great Expectations library (~4 s to
        import) and the quality rules of every source (cached, re-read when a rule file changes)."""
        try:
            from pipelines.quality import load_rules
            from pipelines.quality import gx_suite  # noqa: F401

            import great_expectations  # noqa: F401

            for source_id in self.sources():
                load_rules(self.settings.rules_dir, source_id, reference_dir=self.settings.reference_dir)
        except Exception:  # noqa: BLE001 - a failed warm-up only means a slower first upload
            log.exception("warm-up failed")

    # sources and access -----------------------------------------------------------------------------
    def sources(self) -> dict[str, dict]:
        """source id -> {country_iso3, title} from the source specs."""
        if self._sources is None:
            from pipelines.adapters import load_all_specs

            self._sources = {sid: {"country_iso3": spec.country_iso3, "title": spec.title}
                             for sid, spec in sorted(load_all_specs(self.settings.reference_dir, strict=False).items())}
        return self._sources

    def upload_sources(self, user: Principal) -> list[str]:
        if user.role in ("reviewer", "admin"):
            return list(self.sources())
        if user.role != "office":
            return []
        return [s for s, v in self.sources().items()
                if v["country_iso3"] == user.country_iso3 or self.is_template(s)]

    def is_template(self, source_id: str) -> bool:
        return source_id.startswith(TEMPLATE_PREFIX) and not self.sources()[source_id]["country_iso3"]

    def upload_country(self, user: Principal, source_id: str | None) -> tuple[str, str | None]:
        """(source id, country of the submission); Denied if the user may not upload for it."""
        if user.role not in ("office", "reviewer", "admin"):
            raise Denied("err_role_cannot_upload")
        allowed = self.upload_sources(user)
        if not source_id:
            if len(allowed) == 1:
                source_id = allowed[0]
            else:
                raise UploadRefused("err_choose_source", choices=", ".join(allowed))
        if source_id not in self.sources():
            raise UploadRefused("err_unknown_source", source=source_id[:60])
        if source_id not in allowed:
            raise Denied("err_source_other_country", source=source_id)
        country = self.sources()[source_id]["country_iso3"]
        if self.is_template(source_id) and user.role == "office":
            country = user.country_iso3
        return source_id, country

    @staticmethod
    def can_see(user: Principal, man: dict) -> bool:
        if user.role == "office":
            return bool(user.country_iso3) and man.get("country_iso3") == user.country_iso3
        return user.role in ("reviewer", "analyst", "admin")

    def submissions_for(self, user: Principal) -> list[dict]:
        from pipelines.storage import submissions as subs

        rows = [s for s in subs.list_submissions(self.settings.landing_dir) if self.can_see(user, s)]
        return sorted(rows, key=lambda s: (s["received_at"], s["submission_id"]), reverse=True)

    def submission(self, user: Principal, sid: str) -> dict:
        """Manifest + status + report of one submission the user may see; Denied(404) otherwise (an
        office cannot tell another country's submission from a missing one)."""
        from pipelines.storage import submissions as subs

        try:
            subs.check_submission_id(sid)
            man = subs.read_manifest(self.settings.landing_dir, sid).as_dict()
        except (ValueError, FileNotFoundError, OSError):
            raise Denied("err_not_found", status=404)
        if not self.can_see(user, man):
            self.db.audit("access_denied", actor=user.username, role=user.role, submission_id=sid,
                          country_iso3=man.get("country_iso3"), reason="other country")
            raise Denied("err_not_found", status=404)
        st = subs.read_status(self.settings.landing_dir, sid)
        rp = subs.submission_dir(self.settings.landing_dir, sid) / "report.json"
        report = json.loads(rp.read_text("utf-8")) if rp.exists() else None
        return {"manifest": man, "status": st, "report": report}

    def original_path(self, user: Principal, sid: str) -> tuple[Path, dict]:
        from pipelines.storage import submissions as subs

        info = self.submission(user, sid)
        return subs.stored_file(self.settings.landing_dir, sid), info

    # upload -------------------------------------------------------------------------------------------
    def detect_source(self, user: Principal, path: Path, name: str) -> str:
        """No source given: the only source the user may upload for, or the only one whose layout
        matches the file's header."""
        from pipelines.adapters import SubmissionError, choose_layout, load_spec
        from pipelines.adapters.guards import FileRefused

        allowed = self.upload_sources(user)
        if len(allowed) == 1:
            return allowed[0]
        matches = []
        for sid in allowed:
            spec = load_spec(sid, self.settings.reference_dir)
            try:
                layout = choose_layout(path, spec, name)
            except FileRefused:
                raise       # over a limit whatever the source (adapters/guards.py)
            except (SubmissionError, Exception):  # noqa: BLE001 - a non-matching format is just no match
                continue
            if layout.get("family", "tabular") == "tabular":
                matches.append(sid)
        if len(matches) == 1:
            return matches[0]
        raise UploadRefused("err_choose_source", choices=", ".join(matches or allowed))

    def upload(self, user: Principal, stream, file_name: str | None, source_id: str | None, ip: str,
               released_on: str | None = None) -> UploadResult:
        """Check, store (exactly once per content), run the adapter and the rules; audited.
        ``released_on``: the publisher's release date of the file (yyyy-mm-dd), if the uploader gives it."""
        from pipelines import pipeline
        from pipelines.adapters.guards import FileRefused

        country = None
        name = (file_name or "")[:255]
        tmpdir = None
        try:
            if user.role not in ("office", "reviewer", "admin"):
                raise Denied("err_role_cannot_upload")
            released_on = check_release_date(released_on)   # refused before anything is read or stored
            if source_id:
                source_id, country = self.upload_country(user, source_id)  # refuse before reading the bytes
            name = check_file_name(file_name)
            tmpdir = Path(tempfile.mkdtemp(prefix="up-", dir=self.cfg.work_dir / "tmp"))
            # our own name for the bytes; the user's name is only text in the manifest
            tmp = tmpdir / ("upload" + (".xlsx" if name.lower().endswith(".xlsx") else ".csv"))
            try:
                copy_stream(stream.read, tmp, max_bytes=self.cfg.max_upload_bytes)
            except TooLarge:
                raise UploadRefused("err_too_large", status=413, limit_mb=self.cfg.max_upload_bytes // (1024 * 1024))
            kind = sniff(tmp, name, self.cfg.max_upload_bytes, self.cfg.max_uncompressed_bytes)
            try:    # the limits on one file (adapters/guards.py) are checked before it is parsed or stored
                if not source_id:
                    source_id, country = self.upload_country(user, self.detect_source(user, tmp, name))
                man, created = pipeline.submit(self.settings, tmp, source_id, uploaded_by=user.username,
                                            country_iso3=country, channel="web", original_name=name,
                                            released_on=released_on)
            except FileRefused as exc:
                raise UploadRefused("err_file_refused", status=413, detail=exc.problems[0]) from None
        except (UploadRefused, Denied) as exc:
            exc.file_name = (file_name or "")[:120] or None   # the answer names the file it refuses
            self.db.audit("upload_refused", actor=user.username, role=user.role, source_id=source_id, ip=ip,
                          country_iso3=country, reason=exc.key, file_name=name)
            raise
        finally:
            if tmpdir is not None:
                shutil.rmtree(tmpdir, ignore_errors=True)
        sid = man.submission_id
        self.db.audit("upload", actor=user.username, role=user.role, submission_id=sid, source_id=source_id,
                      country_iso3=man.country_iso3, ip=ip, sha256=man.sha256, size_bytes=man.size_bytes,
                      file_name=name, kind=kind, created=created, released_on=released_on,
                      stored_released_on=man.released_on)
        office_country = country if (user.role == "office" and self.is_template(source_id)) else None

        def check() -> UploadResult:
            with self.turns.turn(man.country_iso3 or country):   # one office never starves the others
                r = self.process(sid, user, office_country=office_country)
            self.db.audit("verdict", actor=user.username, role=user.role, submission_id=sid, source_id=source_id,
                          country_iso3=man.country_iso3, ip=ip, verdict=r.verdict, status=r.status,
                          sha256=man.sha256, error=r.error)
            return r

        from concurrent.futures import TimeoutError as _Timeout

        job = self._checks.submit(check)
        try:
            res = job.result(timeout=self.cfg.verdict_wait_seconds)
        except _Timeout:   # still queued or being checked: the answer says so, the page follows it
            res = UploadResult(sid, created, "received", None, man.sha256, None, None)
            res.checking = True
        res.created = created
        return res

    def process(self, sid: str, user: Principal | None = None, office_country: str | None = None) -> UploadResult:
        """ingest + validate a received submission (once, under the pipeline lock); hold a passing web
        submission for publication approval. Idempotent: a duplicate upload just reads the result."""
        from pipelines import pipeline
        from pipelines.adapters import SubmissionError
        from pipelines.storage import submissions as subs

        landing = self.settings.landing_dir
        error = None
        with pipeline_lock(self.settings):
            man = subs.read_manifest(landing, sid)
            if subs.read_status(landing, sid).get("status") == "received":
                try:
                    pipeline.ingest(self.settings, sid)
                    if not office_country or self._rows_of_country(sid, office_country, man):
                        pipeline.validate(self.settings, sid)
                except SubmissionError:
                    pass  # rejected: status and report written by the step
                except Exception as exc:  # noqa: BLE001 - keep the submission 'received' for a retry
                    log.exception("processing %s failed", sid)
                    error = f"{type(exc).__name__}: {exc}"[:500]
            st = subs.read_status(landing, sid).get("status")
        rp = subs.submission_dir(landing, sid) / "report.json"
        report = json.loads(rp.read_text("utf-8")) if rp.exists() else None
        return UploadResult(sid, False, st, (report or {}).get("verdict"), man.sha256, report, error)

    def _rows_of_country(self, sid: str, country: str, man) -> bool:
        """The ICCS template names the country in a column: an office may only send its own."""
        import pandas as pd

        from pipelines.quality.report import build_report
        from pipelines.storage import submissions as subs

        raw = pd.read_parquet(self.settings.raw_dir / f"{sid}.parquet", columns=["country_iso3", "line"])
        other = raw[raw["country_iso3"].notna() & (raw["country_iso3"] != country)]
        if other.empty:
            return True
        report = build_report([], verdict="rejected", submission_id=sid, source_id=man.source_id,
                              file_name=man.original_name, sha256=man.sha256)
        report["problems"] = [{"file": man.original_name, "line": int(r.line), "column": "country_iso3",
                               "rule": "ACCESS", "value": r.country_iso3,
                               "message": f"an office of {country} may only submit rows of {country}"}
                              for r in other.drop_duplicates("country_iso3").head(20).itertuples()]
        report["portal_error"] = {"key": "err_country_rows", "params": {"country": country}}
        subs.write_report(self.settings.landing_dir, sid, report)
        # a decision, not a rule result: no pipeline rerun (e.g. Dagster's landing_sensor) may undo it
        subs.set_status(self.settings.landing_dir, sid, "rejected", by="portal",
                        detail=f"rows of another country than {country}",
                        decision={"decision": "reject", "by": "portal", "comment": f"rows of another country than {country}"})
        return False

    # review -------------------------------------------------------------------------------------------
    def pending_warnings(self, sid: str) -> list[str]:
        from pipelines import pipeline
        from pipelines.storage import submissions as subs

        try:
            failing = pipeline.failing_warnings(self.settings, sid)
        except FileNotFoundError:
            return []
        acked = {a["rule_id"] for a in subs.read_status(self.settings.landing_dir, sid).get("acknowledgements", [])}
        return [r for r in failing if r not in acked]

    def acknowledge(self, user: Principal, sid: str, rules: list[str], reason: str, ip: str) -> dict:
        from pipelines import pipeline

        if user.role != "reviewer":
            raise Denied("err_reviewer_only")
        info = self.submission(user, sid)
        if not rules:
            raise Denied("err_no_rules", status=400)
        if not (reason or "").strip():
            raise Denied("err_reason_required", status=400)
        with pipeline_lock(self.settings):
            try:
                st = pipeline.acknowledge(self.settings, sid, rules, by=user.username, reason=reason.strip())
            except (ValueError, FileNotFoundError) as exc:
                raise Denied("err_ack_invalid", status=400, detail=str(exc)[:300])
        self.db.audit("acknowledge", actor=user.username, role=user.role, submission_id=sid,
                      source_id=info["manifest"]["source_id"], country_iso3=info["manifest"]["country_iso3"], ip=ip,
                      rules=sorted(rules), reason=reason.strip(), status=st["status"])
        return st

    def decide(self, user: Principal, sid: str, decision: str, comment: str, ip: str) -> dict:
        """A reviewer approves (-> approved, then a publish_warehouse Dagster run) or rejects publication."""
        from pipelines.storage import submissions as subs

        if user.role != "reviewer":
            raise Denied("err_reviewer_only")
        info = self.submission(user, sid)
        comment = (comment or "").strip()
        if decision not in ("approve", "reject"):
            raise Denied("err_bad_decision", status=400)
        if not comment:
            raise Denied("err_comment_required", status=400)
        man = info["manifest"]
        audit = dict(actor=user.username, role=user.role, submission_id=sid, source_id=man["source_id"],
                     country_iso3=man["country_iso3"], ip=ip)
        out = {"status": None, "published": None, "publish_error": None, "run_id": None}
        with pipeline_lock(self.settings):
            status = subs.read_status(self.settings.landing_dir, sid).get("status")
            if status not in REVIEWABLE:
                raise Denied("err_not_reviewable", status=409, status_name=status)
            decided = {"decision": decision, "by": user.username, "comment": comment}
            if decision == "reject":
                subs.set_status(self.settings.landing_dir, sid, "rejected", by=user.username,
                                detail=f"publication refused: {comment}", decision=decided)
                self.db.audit("reject", comment=comment, **audit)
                out["status"] = "rejected"
                return out
            pending = self.pending_warnings(sid)
            if pending:
                raise Denied("err_pending_warnings", status=409, rules=", ".join(pending))
            subs.set_status(self.settings.landing_dir, sid, "approved", by=user.username, detail=comment,
                            decision=decided)
            self.db.audit("approve", comment=comment, **audit)
            out["status"] = "approved"
            if self.cfg.publish_on_approval:
                out.update(self._publish(audit, "approve"))
                out["status"] = subs.read_status(self.settings.landing_dir, sid).get("status")
        return out

    def _publish(self, audit: dict, after: str) -> dict:
        """Publish one release after a reviewer's action (call it under the pipeline lock) — through Dagster:
        the ``publish_warehouse`` job, the one the sensors and ``hemistat publish`` run, executed in this
        process against the data folder's Dagster instance, so every publication is a recorded run.

        ``publish``: ``published`` (``published`` = the release id, ``run_id`` = the Dagster run),
        ``failed`` (``publish_error``; the action stands, the next publication releases it), ``deferred``
        (HEMISTAT_PUBLISH_ON_APPROVAL=0: the portal never publishes, Dagster's sensors or ``hemistat publish``
        do). With no submission accepted any more (the last one withdrawn), the release is empty."""
        out = {"published": None, "publish_error": None, "publish": None, "run_id": None}
        if not self.cfg.publish_on_approval:
            out["publish"] = "deferred"
            return out
        try:
            from pipelines.defs import runner

            run = runner.publish_run(self.settings, self.dagster_instance(), tags={
                "hemistat/channel": "portal", "hemistat/by": audit.get("actor") or "", "hemistat/after": after,
                "hemistat/submission": audit.get("submission_id") or ""})
            out["run_id"] = run["run_id"]
            if not run["success"]:
                raise RuntimeError(f"Dagster run {run['run_id']} of publish_warehouse failed: {run['error']}")
            out["published"] = run["release_id"]
            out["publish"] = "published"
            self.db.audit("publish", release_id=run["release_id"], submissions=run["submissions"], after=after,
                          run_id=run["run_id"], job="publish_warehouse", **audit)
        except Exception as exc:  # noqa: BLE001 - the action stands; the release is retried later
            log.exception("publish after %s of %s failed", after, audit.get("submission_id"))
            out["publish_error"] = f"{type(exc).__name__}: {exc}"[:500]
            out["publish"] = "failed"
            self.db.audit("publish_failed", error=out["publish_error"], after=after, run_id=out["run_id"], **audit)
        return out

    def dagster_instance(self):
        """The data folder's Dagster instance (``<data>/dagster_home``), opened once per portal."""
        if self._dagster is None:
            from pipelines.defs import runner

            self._dagster = runner.instance_at(self.settings)
        return self._dagster

    # corrections (issue 10): read again, withdraw ---------------------------------------------------------
    def _correction_target(self, user: Principal, sid: str) -> tuple[dict, dict]:
        if user.role != "reviewer":
            raise Denied("err_reviewer_only")
        info = self.submission(user, sid)          # a valid id of an existing submission, else 404
        man = info["manifest"]
        return info, dict(actor=user.username, role=user.role, submission_id=sid, source_id=man["source_id"],
                          country_iso3=man["country_iso3"])

    def reprocess(self, user: Principal, sid: str, ip: str) -> dict:
        """A reviewer has a stored submission read again with the current spec and crosswalk
        (``pipeline.reprocess``: its layer files are replaced; a reviewer's decision stays), then the
        warehouse is republished as after an approval. Audited with the verdict before and after."""
        from pipelines import pipeline
        from pipelines.storage import submissions as subs

        info, audit = self._correction_target(user, sid)
        audit["ip"] = ip
        before_verdict = (info["report"] or {}).get("verdict")
        with pipeline_lock(self.settings):
            before = subs.read_status(self.settings.landing_dir, sid).get("status")
            if before == "withdrawn":
                raise Denied("err_withdrawn_no_reprocess", status=409)
            try:
                status = pipeline.reprocess(self.settings, [sid], by=user.username)[sid]
            except ValueError as exc:
                raise Denied("err_correction_failed", status=409, detail=str(exc)[:300])
            except Exception as exc:  # noqa: BLE001 - recorded, then shown as an error page / JSON error
                log.exception("reprocessing %s failed", sid)
                err = f"{type(exc).__name__}: {exc}"[:500]
                self.db.audit("reprocess_failed", error=err, previous_status=before, **audit)
                raise Denied("err_correction_failed", status=500, detail=err[:300])
            rp = subs.submission_dir(self.settings.landing_dir, sid) / "report.json"
            report = json.loads(rp.read_text("utf-8")) if rp.exists() else {}
            self.db.audit("reprocess", previous_status=before, status=status, previous_verdict=before_verdict,
                          verdict=report.get("verdict"), **audit)
            out = {"status": status, "previous_status": before, "verdict": report.get("verdict"),
                   "previous_verdict": before_verdict, **self._publish(audit, "reprocess")}
            out["status"] = subs.read_status(self.settings.landing_dir, sid).get("status")
        return out

    def withdraw(self, user: Principal, sid: str, reason: str, ip: str) -> dict:
        """A reviewer takes a submission out of publication (``pipeline.withdraw``: status ``withdrawn`` with
        the reason; bytes, reports and audit stay; the next release's changelog names it), then the
        warehouse is republished without it as after an approval. Audited with the reason."""
        from pipelines import pipeline
        from pipelines.storage import submissions as subs

        info, audit = self._correction_target(user, sid)
        audit["ip"] = ip
        reason = (reason or "").strip()
        if not reason:
            raise Denied("err_withdraw_reason", status=400)
        if len(reason) > MAX_REASON:
            raise Denied("err_reason_too_long", status=400, n=MAX_REASON)
        with pipeline_lock(self.settings):
            before = subs.read_status(self.settings.landing_dir, sid).get("status")
            if before == "withdrawn":
                raise Denied("err_already_withdrawn", status=409)
            try:
                pipeline.withdraw(self.settings, sid, reason=reason, by=user.username)
            except ValueError as exc:
                raise Denied("err_correction_failed", status=409, detail=str(exc)[:300])
            self.db.audit("withdraw", reason=reason, previous_status=before, **audit)
            out = {"status": "withdrawn", "previous_status": before, "reason": reason,
                   **self._publish(audit, "withdraw")}
        return out

