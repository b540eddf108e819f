"""`hemistat` command line. Run `hemistat --help`."""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import typer
import typer.core

# faults of the environment (a full disk, a read-only folder, a missing reference table, a bad setting, a damaged
# database) end a command with one line naming what is wrong and where, and this exit status — never a traceback.
# HEMISTAT_DEBUG=1 shows the traceback (and Dagster's own log of a failed run) for a developer.
FAULT_EXIT = 3
DEBUG_ENV = "HEMISTAT_DEBUG"
_ERRNO_WORDS = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
                errno.EROFS: "the folder is read-only", errno.EACCES: "permission denied",
                errno.EPERM: "operation not permitted", errno.ENOENT: "no such file or folder",
                errno.EFBIG: "file too large", errno.EIO: "input/output error"}


def _debug() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip() not in ("", "0")


def _where(settings_attr: str) -> str:
    try:
        from pipelines.settings import get_settings

        return str(getattr(get_settings(), settings_attr))
    except Exception:  # noqa: BLE001 - the settings themselves may be what is wrong
        return "?"


def _dagster_root_cause(text: str) -> str:
    """The innermost 'Type: message' of a Dagster error text (a failed step's error with its causes and stack
    traces), in one line."""
    import re

    blocks = [b.strip() for b in re.split(r"\n\s*Stack Trace:\n", text) if b.strip()]
    heads = []
    for b in blocks:
        for ln in b.splitlines():
            m = re.match(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception|Interrupt|Exit)): (.+)$", ln)
            if m and not ln.startswith("  File "):
                heads.append((m.group(1), m.group(2)))
    if not heads:
        return text.strip().splitlines()[0][:300] if text.strip() else "the run failed"
    kind, msg = heads[-1]
    return f"{kind.rsplit('.', 1)[-1]}: {msg}"[:400]


def _raised_in(exc: BaseException, part: str) -> bool:
    """Whether a frame of the exception's traceback is in a file whose path contains ``part``."""
    tb = exc.__traceback__
    while tb is not None:
        if part in tb.tb_frame.f_code.co_filename:
            return True
        tb = tb.tb_next
    return False


def _os_fault(kind: str, no: int | None, filename, strerror: str | None) -> str:
    if no is None:   # raised with a message of its own (e.g. "reference table missing: …")
        return strerror or kind
    what = _ERRNO_WORDS.get(no, strerror or kind)
    where = str(filename) if filename else f"the data folder {_where('data_dir')}"
    if no in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return (f"{what} while writing {where}: free space there (or point HEMISTAT_DATA_DIR at a folder with "
                "room) and run the command again")
    if no in (errno.EROFS, errno.EACCES, errno.EPERM):
        return (f"cannot write {where}: {what}; this command needs a writable data folder (HEMISTAT_DATA_DIR="
                f"{_where('data_dir')})")
    if no == errno.ENOENT:
        ref = _where("reference_dir")
        if filename and ref != "?" and str(filename).startswith(ref):
            return (f"reference table missing: {filename} (HEMISTAT_REFERENCE_DIR={ref}); restore it from the "
                    "repository, then `hemistat doctor` checks every reference table")
        return f"{what}: {where}"
    return f"{what}: {where}"


def fault_line(exc: BaseException) -> str | None:
    """One line naming what is wrong and where for a fault of the environment; None for anything else."""
    from pipelines.settings import SettingsError

    if isinstance(exc, SettingsError):
        return str(exc)
    if isinstance(exc, OSError):
        return _os_fault(type(exc).__name__, exc.errno, exc.filename, exc.strerror or str(exc))
    mod = type(exc).__module__ or ""
    text = str(exc)
    if mod.startswith("duckdb") or mod.startswith("_duckdb"):
        first = text.strip().splitlines()[0][:300] if text.strip() else type(exc).__name__
        return (f"the warehouse database {_where('duckdb_path')} cannot be read ({first}); `hemistat publish` "
                "builds it again from the release files")
    if mod.startswith("sqlalchemy"):
        first = str(getattr(exc, "orig", None) or text).strip().splitlines()[0][:300]
        if _raised_in(exc, "/dagster/"):
            return (f"the Dagster instance's database in {_where('dagster_home')} cannot be used ({first}); move "
                    "that folder aside and run the command again (Dagster starts a new history)")
        return (f"the portal database cannot be used ({first}); see HEMISTAT_DB_URL (default "
                f"{_where('data_dir')}/portal/portal.sqlite3)")
    if mod.startswith("pyarrow") and ("Parquet" in text or "parquet" in text):
        return f"a Parquet file of the data folder {_where('data_dir')} cannot be read ({text.strip()[:300]})"
    if isinstance(exc, RuntimeError) and ("Stack Trace:" in text or "dagster" in text):
        cause = _dagster_root_cause(text)
        import re

        m = re.match(r"^(\w*Error): \[Errno (\d+)\] ([^:]+)(?:: '(.*)')?", cause)
        if m:
            return _os_fault(m.group(1), int(m.group(2)), m.group(4), m.group(3))
        m = re.search(r'"([^"]+)": No space left on device', cause)
        if m or "No space left on device" in cause:
            return _os_fault("OSError", errno.ENOSPC, m.group(1) if m else None, None)
        m = re.match(r"^(FileNotFoundError|OSError|PermissionError): (.+)$", cause)
        if m:
            return m.group(2)
        return f"the pipeline run failed: {cause}"
    return None


class _Commands(typer.core.TyperGroup):
    """Every command's faults of the environment become one line on stderr and exit status 3 (FAULT_EXIT); an
    unexpected error one line too, naming its type (HEMISTAT_DEBUG=1: the traceback)."""

    def invoke(self, ctx):
        import click

        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.ClickException, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130)
        except Exception as exc:  # noqa: BLE001 - turned into one readable line
            if _debug():
                raise
            line = fault_line(exc)
            if line is None:
                line = (f"unexpected failure ({type(exc).__name__}: {str(exc).strip()[:300]}); "
                        f"{DEBUG_ENV}=1 shows the traceback")
            typer.echo(f"error: {line}", err=True)
            raise typer.Exit(FAULT_EXIT)


@contextlib.contextmanager
def _dagster_quiet():
    """Dagster's console logger prints every failed step with its stack trace on stderr (it looks sys.stderr
    up per message); the command prints its own verdict instead. The run's events stay in the Dagster
    instance (the UI shows them); HEMISTAT_DEBUG=1 lets them through."""
    if _debug():
        yield
        return
    with contextlib.redirect_stderr(io.StringIO()):
        yield


app = typer.Typer(add_completion=False, no_args_is_help=True, cls=_Commands,
                  help="hemistat: national crime statistics -> quality rules -> ICCS -> warehouse.")

EXAMPLE_QUERY = ("select country_iso3, year, value, round(rate_per_100k, 2) as rate_per_100k, source_id "
                 "from published.indicators where iccs_code = '0101' and subdivision_code is null "
                 "and month is null and sex = '_T' and measure = 'offences' and year = 2022 "
                 "and age = '_T' and relationship = '_T' order by country_iso3, source_id")


def _settings(writes: bool = False):
    """The settings, with the data folder's layer folders made. ``writes``: the command writes in the data folder,
    so a read-only or full one is named at once (one line, exit 3) rather than half-way through a step."""
    from pipelines.settings import get_settings

    s = get_settings()
    s.ensure_dirs()
    if writes:
        import tempfile

        try:
            fd, probe = tempfile.mkstemp(prefix=".write-check-", dir=s.data_dir)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(s.data_dir)) from None
    return s


def _warehouse(settings):
    """A read-only connection to the warehouse; its views' files resolve against the data folder, wherever
    it now is (pipelines.storage.release.connect)."""
    from pipelines.storage.release import connect

    return connect(settings.duckdb_path)


def _status_or_error(settings, sid) -> dict:
    """A submission's status record; one whose status.json cannot be read is reported as such, not fatal."""
    from pipelines.storage import submissions as subs

    try:
        return subs.read_status(settings.landing_dir, sid)
    except subs.StatusFileError as exc:
        return {"status": "unreadable", "events": [{"detail": str(exc)}]}


def _problem_text(p, file_name: str = "") -> str:
    """One problem of a report as one line: file, line, column, [rule] message (value). A report holds two
    shapes — an adapter's problem (``file``, ``column``, ``message`` text) and a quality rule's failing row
    (``file_name``, ``column_name``, ``message`` by language) — and a Problem object prints itself."""
    if not isinstance(p, dict):
        return str(p)
    where = str(p.get("file") or p.get("file_name") or file_name or "?")
    if p.get("line") is not None:
        where += f", line {p['line']}"
    col = p.get("column") or p.get("column_name")
    if col:
        where += f", column '{col}'"
    msg = p.get("message")
    if isinstance(msg, dict):
        msg = msg.get("en") or next(iter(msg.values()), "")
    val = f" (value {str(p['value'])!r})" if p.get("value") not in (None, "") else ""
    return f"{where}: [{p.get('rule') or '?'}] {msg or ''}{val}"


def _print_problems(problems, limit=50, file_name: str = ""):
    for p in problems[:limit]:
        typer.echo(f"  - {_problem_text(p, file_name)}", err=True)
    if len(problems) > limit:
        typer.echo(f"  … and {len(problems) - limit} more (see the report)", err=True)


BATCH_REASON = ("batch run of the bundled inputs: every warning is listed in the quality report and published "
                "in published.quality_scorecard")


def hemistat_command() -> str:
    """How to call ``hemistat`` from here: its name when it is on PATH (an activated environment), else its
    path (``.venv/bin/hemistat`` after ``make run``)."""
    import shutil

    exe = Path(sys.argv[0]) if Path(sys.argv[0]).name == "hemistat" else Path(sys.executable).parent / "hemistat"
    if shutil.which("hemistat") and Path(shutil.which("hemistat")).resolve() == exe.resolve():
        return "hemistat"
    try:
        return str(exe.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(exe)


@app.command()
def run(acknowledge_warnings: bool = typer.Option(
            False, "--acknowledge-warnings",
            help="acknowledge the warnings of every submission of this run as a batch (with --reason), so "
                 "they are published; by default they are held for a statistician's review"),
        reason: str = typer.Option(BATCH_REASON, "--reason", help="why the batch is acknowledged (recorded)"),
        by: str = typer.Option(None, "--by", help="who acknowledges (default: $USER)")):
    """Ingest, validate, harmonise and publish every input (real files if present, else synthetic).

    Submissions whose warnings need a statistician's review are held (status awaiting_review) unless
    --acknowledge-warnings is given; the summary lists what was held, acknowledged and rejected."""
    from pipelines import pipeline
    from pipelines.defs import runner
    from pipelines.samples.discovery import discover
    from pipelines.storage import submissions as subs

    t0 = time.perf_counter()
    settings = _settings(writes=True)
    kind, inputs = discover(settings)
    if not inputs:
        typer.echo("no input files found", err=True)
        raise typer.Exit(1)
    if acknowledge_warnings and not reason.strip():
        typer.echo("error: --acknowledge-warnings needs a --reason", err=True)
        raise typer.Exit(2)
    label = f"REAL national files from {settings.shared_dir}" if kind == "real" else \
        f"SYNTHETIC sample (not official statistics) generated in {settings.data_dir / 'samples'}"
    typer.echo(f"hemistat run: {len(inputs)} file(s), {label}")
    sids = []
    for source_id, path in inputs:
        man, created = pipeline.submit(settings, path, source_id, uploaded_by="hemistat run", channel="run")
        typer.echo(f"  {'landed ' if created else 'known  '} {man.submission_id}  <- {path.name}")
        sids.append(man.submission_id)
    pending = [s for s in sids if subs.status_of(settings.landing_dir, s) == "received"]
    instance = runner.instance_for(settings)
    if pending:
        with _dagster_quiet():
            runner.ingest(settings, pending, instance, progress=typer.echo)
    waiting = [s for s in sids if subs.status_of(settings.landing_dir, s) == "awaiting_review"]
    acknowledged = {}
    if waiting and acknowledge_warnings:
        who = by or os.environ.get("USER") or "hemistat run"
        for sid in waiting:
            done = {a["rule_id"] for a in subs.read_status(settings.landing_dir, sid).get("acknowledgements", [])}
            rules = [r for r in pipeline.failing_warnings(settings, sid) if r not in done]
            if rules:
                pipeline.acknowledge(settings, sid, rules, by=f"{who} (hemistat run --acknowledge-warnings)",
                                  reason=reason)
                acknowledged[sid] = rules
    if pipeline.accepted_submissions(settings).empty:
        typer.echo("nothing to publish: no submission is accepted yet")
    else:
        typer.echo("publishing …")
        with _dagster_quiet():
            runner.publish(instance)
    _summary(settings, kind, sids, acknowledged, reason, time.perf_counter() - t0)


def _summary(settings, kind, sids, acknowledged, reason, seconds):
    import pyarrow.parquet as pq

    from pipelines import pipeline

    typer.echo("")
    typer.echo(f"done in {seconds:.1f} s  (inputs: {kind})")
    acc = pipeline.accepted_submissions(settings)
    statuses = {sid: _status_or_error(settings, sid) for sid in sids}
    typer.echo(f"sources: {', '.join(sorted(acc['source_id'].unique())) if len(acc) else 'none'}")
    if acknowledged:
        typer.echo(f"acknowledged warnings of {len(acknowledged)} submission(s) as a batch, reason: {reason}")
        for sid, rules in acknowledged.items():
            typer.echo(f"  {sid}: {', '.join(rules)}")
    held = [sid for sid, st in statuses.items() if st.get("status") == "awaiting_review"]
    if held:
        typer.echo(f"held for review ({len(held)} submission(s), not published): "
                   "hemistat acknowledge SUBMISSION RULE … --by NAME --reason TEXT, or run again with "
                   "--acknowledge-warnings --reason TEXT")
        for sid in held:
            typer.echo(f"  {sid}: warnings {', '.join(pipeline.failing_warnings(settings, sid))}")
    rejected = [sid for sid, st in statuses.items() if st.get("status") == "rejected"]
    if rejected:
        typer.echo(f"rejected submissions ({len(rejected)}, not published; see each report):")
        for sid in rejected:
            detail = (statuses[sid].get("events") or [{}])[-1].get("detail") or ""
            typer.echo(f"  {sid}: {detail[:200]}")
    broken = [sid for sid, st in statuses.items() if st.get("status") == "unreadable"]
    if broken:
        typer.echo(f"set aside ({len(broken)}, status file unreadable; the others are unaffected):")
        for sid in broken:
            typer.echo(f"  {statuses[sid]['events'][0]['detail'][:300]}")
    if not settings.duckdb_path.exists():
        typer.echo("no warehouse yet: nothing has been published")
        return
    # row counts from the Parquet footers (no column is read)
    raw_rows = sum(pq.ParquetFile(p).metadata.num_rows for p in settings.raw_dir.glob('*.parquet'))
    val_rows = sum(pq.ParquetFile(p).metadata.num_rows for p in settings.validated_dir.glob('*.parquet'))
    con = _warehouse(settings)
    try:
        n_ind = con.execute("select count(*) from published.indicators").fetchone()[0]
        n_cells = con.execute("select count(*) from published.cells").fetchone()[0]
        typer.echo(f"rows per layer: raw {raw_rows:,} | validated {val_rows:,} | harmonised cells {n_cells:,} "
                   f"| published indicators {n_ind:,}")
        typer.echo(f"warehouse: {settings.duckdb_path}")
        typer.echo(f"release files: {settings.published_dir / 'releases'}")
        typer.echo("example query (intentional homicide, ICCS 0101, national totals, 2022):")
        typer.echo(f'  {hemistat_command()} query "{EXAMPLE_QUERY}"')
        df = con.execute(EXAMPLE_QUERY).df()
        typer.echo(_format(df, "table"))
    finally:
        con.close()


@app.command()
def submit(file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
           source: str = typer.Option(..., "--source", "-s", help="source id, e.g. mx_sesnsp"),
           country: str = typer.Option(None, "--country", help="ISO3 of the submitting country"),
           publish: bool = typer.Option(True, "--publish/--no-publish", help="publish if accepted"),
           released_on: str = typer.Option(None, "--released-on",
                                           help="the date the publisher released this file (yyyy-mm-dd); vintages "
                                                "are ordered by it, then by receipt")):
    """Submit one file for a source (the same path as an upload): store, validate, publish."""
    from pipelines import pipeline
    from pipelines.defs import runner
    from pipelines.pipeline.status import in_current_release, missing_from_release
    from pipelines.storage import submissions as subs

    settings = _settings(writes=True)
    try:
        man, created = pipeline.submit(settings, file, source, uploaded_by=os.environ.get("USER", "cli"),
                                    country_iso3=country, released_on=released_on)
    except KeyError as exc:
        typer.echo(f"error: {exc.args[0]}", err=True)
        raise typer.Exit(2)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    sid = man.submission_id
    typer.echo(f"{'stored' if created else 'already received'}: {sid} (sha256 {man.sha256[:16]}…)")
    try:
        subs.read_status(settings.landing_dir, sid)
    except subs.StatusFileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    if not created:
        typer.echo(f"  the same bytes are one submission; to read it again after fixing the spec or the "
                   f"crosswalk: hemistat reprocess {sid}")
    status = subs.read_status(settings.landing_dir, sid).get("status")
    if status == "received":
        instance = runner.instance_for(settings)
        with _dagster_quiet():
            status = runner.ingest(settings, [sid], instance, progress=lambda m: None)[sid]
            if status == "validated" and publish:
                runner.publish(instance)
    elif publish and sid in missing_from_release(settings):
        # accepted earlier, but the release that should hold it was never made (a crash): publish now
        typer.echo(f"  {sid} is {status} but not in the current release: publishing it")
        with _dagster_quiet():
            runner.publish(runner.instance_for(settings))
    report_path = subs.submission_dir(settings.landing_dir, sid) / "report.json"
    report = json.loads(report_path.read_text("utf-8")) if report_path.exists() else {}
    if report.get("verdict") == "rejected" or subs.read_status(settings.landing_dir, sid)["status"] == "rejected":
        probs = report.get("problems", [])
        typer.echo(f"REJECTED: {file.name} ({len(probs)} problem(s)); the published warehouse is unchanged.",
                   err=True)
        _print_problems(probs, file_name=file.name)
        if report.get("rules"):
            from pipelines.quality.report import render_text

            typer.echo(render_text(report, "en", max_rows=0, details=()), err=True)
        typer.echo(f"report: {report_path}", err=True)
        raise typer.Exit(1)
    status = subs.read_status(settings.landing_dir, sid)["status"]
    if status == "awaiting_review":
        from pipelines.quality.report import render_text

        typer.echo(render_text(report, "en", max_rows=0, details=()))
        typer.echo(f"NEEDS REVIEW: {file.name} has warnings; a statistician acknowledges them with\n"
                   f"  hemistat acknowledge {sid} {' '.join(pipeline.failing_warnings(settings, sid))} "
                   f"--by NAME --reason TEXT\nthen `hemistat publish`.")
        return
    if status in ("validated", "approved", "published") and not in_current_release(settings, sid):
        if status == "published":   # never claimed without the release that holds it
            typer.echo(f"NOT PUBLISHED: {file.name} ({sid}) is marked published but the current release does "
                       "not hold it; run `hemistat publish`", err=True)
            raise typer.Exit(1)
        typer.echo(f"ACCEPTED: {file.name} -> status {status}, not in a release yet (`hemistat publish`)")
        return
    typer.echo(f"ACCEPTED: {file.name} -> status {status}")


@app.command()
def reprocess(submissions: list[str] = typer.Argument(None, help="submission ids"),
              source: str = typer.Option(None, "--source", "-s", help="every stored submission of this source"),
              publish: bool = typer.Option(True, "--publish/--no-publish", help="publish a release afterwards")):
    """Read stored submissions again with the current spec and crosswalk (after a fix) and replace what
    they produced; then publish, so no cell of the earlier reading stays published."""
    from pipelines import pipeline
    from pipelines.defs import runner
    from pipelines.storage import submissions as subs

    settings = _settings(writes=True)
    sids = list(submissions or [])
    if source:
        sids += [s["submission_id"] for s in subs.list_submissions(settings.landing_dir)
                 if s["source_id"] == source and s["status"] != "withdrawn" and s["submission_id"] not in sids]
    if not sids:
        typer.echo("error: name submissions or --source", err=True)
        raise typer.Exit(2)
    try:
        for sid in sids:
            subs.check_submission_id(sid)
            subs.read_manifest(settings.landing_dir, sid)
        done = pipeline.reprocess(settings, sids, by=os.environ.get("USER", "cli"))
    except (ValueError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    for sid, st in done.items():
        typer.echo(f"{sid}: {st}")
    if publish and not pipeline.accepted_submissions(settings).empty:
        typer.echo("publishing …")
        with _dagster_quiet():
            runner.publish(runner.instance_for(settings))
        from pipelines.storage import release as rel

        typer.echo(f"published release {rel.current_release(settings.published_dir)}")


@app.command()
def withdraw(submission: str = typer.Argument(...),
             reason: str = typer.Option(..., "--reason", help="why (recorded, and in the release's changelog)"),
             by: str = typer.Option(None, "--by", help="who (default: $USER)"),
             publish: bool = typer.Option(True, "--publish/--no-publish", help="publish a release without it")):
    """Take a submission out of the published warehouse (its bytes and audit trail stay); the next release's
    changelog names it and the reason."""
    from pipelines import pipeline
    from pipelines.defs import runner
    from pipelines.storage import submissions as subs

    settings = _settings(writes=True)
    try:
        subs.read_manifest(settings.landing_dir, submission)
        pipeline.withdraw(settings, submission, reason=reason, by=by or os.environ.get("USER", "cli"))
    except (ValueError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    typer.echo(f"{submission}: withdrawn ({reason})")
    if publish:
        typer.echo("publishing …")
        with _dagster_quiet():
            runner.publish(runner.instance_for(settings))
        from pipelines.storage import release as rel

        typer.echo(f"published release {rel.current_release(settings.published_dir)}")


@app.command()
def publish():
    """Harmonise every accepted submission and publish one atomic release; says what it leaves out and why."""
    from pipelines import pipeline
    from pipelines.defs import runner
    from pipelines.pipeline.status import overview

    settings = _settings(writes=True)
    if pipeline.accepted_submissions(settings).empty:
        typer.echo("nothing to publish: no accepted submission (see `hemistat status`)", err=True)
        raise typer.Exit(1)
    with _dagster_quiet():
        runner.publish(runner.instance_for(settings))
    typer.echo(f"published: {settings.duckdb_path}")
    left = [r for r in overview(settings) if r["status"] in ("received", "awaiting_review", "rejected")]
    if left:
        typer.echo(f"left out of this release ({len(left)}):")
        for r in left:
            typer.echo(f"  {r['submission_id']} [{r['status']}] {r['action']}")


@app.command()
def status(source: str = typer.Option(None, "--source", help="only this source"),
           country: str = typer.Option(None, "--country", help="only this country (ISO3)"),
           everything: bool = typer.Option(False, "--all", help="also list what waits for nobody"),
           as_json: bool = typer.Option(False, "--json", help="one JSON object per submission")):
    """What was received, what awaits whom (a statistician's acknowledgement, a reviewer's approval, the
    pipeline, a data office's new file), what is published, per source and country."""
    from collections import Counter

    from pipelines.pipeline.status import GROUPS, overview

    rows = overview(_settings(), source, country)
    if as_json:
        for r in rows:
            typer.echo(json.dumps(r, ensure_ascii=False))
        return
    if not rows:
        typer.echo("no submission received yet")
        return
    for group in GROUPS:
        mine = [r for r in rows if r["waiting_for"] == group]
        if not mine or (group == "nobody" and not everything):
            continue
        typer.echo(f"waiting for the {group} ({len(mine)}):" if group != "nobody" else f"done ({len(mine)}):")
        for r in mine:
            typer.echo(f"  {r['source_id']:<16} {r['country_iso3'] or '':<4} {r['submission_id']}  [{r['status']}] "
                       f"{r['detail'][:120]}")
            if group != "nobody":
                typer.echo(f"      -> {r['action']}")
    if all(r["waiting_for"] == "nobody" for r in rows):
        from pipelines.storage import release as rel

        typer.echo(f"nothing waits for anyone: {sum(r['in_release'] for r in rows)} submission(s) in the current "
                   f"release {rel.current_release(_settings().published_dir)}")
    typer.echo("")
    typer.echo("per source and country:")
    counts = Counter((r["source_id"], r["country_iso3"] or "", r["status"]) for r in rows)
    keys = sorted({(s, c) for s, c, _ in counts})
    for s, c in keys:
        parts = ", ".join(f"{st} {n}" for (s2, c2, st), n in sorted(counts.items()) if (s2, c2) == (s, c))
        typer.echo(f"  {s:<16} {c:<4} {parts}")
    # what each source should have delivered by now from its declared cadence, and has not
    from pipelines.monitor.punctuality import expected_missing_all

    missing = [m for m in expected_missing_all(_settings()) if (not source or m["source_id"] == source)
               and (not country or m["country_iso3"] == country)]
    if missing:
        typer.echo("")
        typer.echo(f"expected and not received ({len(missing)}):")
        for m in missing:
            typer.echo(f"  {m['source_id']:<16} {m['message']}")


@app.command()
def validate(file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
             source: str = typer.Option(..., "--source", "-s"),
             lang: str = typer.Option("en", "--lang", help="en | es | pt | fr"),
             html_out: Path = typer.Option(None, "--html", help="where to write the HTML report (default: the "
                                                               "system's temporary folder)"),
             max_rows: int = typer.Option(10, help="failing rows shown per rule"),
             details: bool = typer.Option(False, "--details", help="also list the rows of warn/info rules")):
    """Dry run: adapter + layer contract + every quality rule, nothing stored or published, nothing written in
    the data folder. Exit 1 if an error rule fails."""
    import re
    import tempfile

    from pipelines.quality.dryrun import dry_run
    from pipelines.quality.report import render_html, render_text

    from pipelines.i18n import LANGUAGES
    from pipelines.settings import get_settings

    if lang not in LANGUAGES:
        typer.echo(f"--lang must be one of {', '.join(LANGUAGES)}", err=True)
        raise typer.Exit(2)
    settings = get_settings()   # read only: a dry run creates nothing in the data folder (it may be read-only)
    stem = re.sub(r"[^\w.-]+", "_", file.stem)[:80] or "file"
    out = html_out or Path(tempfile.gettempdir()) / "hemistat-reports" / f"{stem}.{source}.{lang}.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        report = dry_run(settings, file, source, reports_dir=out.parent)
    except KeyError as exc:
        typer.echo(f"error: {exc.args[0]}", err=True)
        raise typer.Exit(2)
    typer.echo(render_text(report, lang, max_rows=max_rows,
                           details=("error", "warn", "info") if details else ("error",)))
    out.write_text(render_html(report, lang), encoding="utf-8")
    typer.echo(f"HTML report: {out}")
    raise typer.Exit(1 if report["verdict"] == "rejected" else 0)


@app.command()
def acknowledge(submission: str = typer.Argument(...), rules: list[str] = typer.Argument(..., help="rule ids"),
                by: str = typer.Option(..., "--by", help="who acknowledges"),
                reason: str = typer.Option(..., "--reason", help="why the warning is acceptable")):
    """Acknowledge failing warn rules of a submission (recorded with who, when and why)."""
    from pipelines import pipeline

    settings = _settings(writes=True)
    try:
        st = pipeline.acknowledge(settings, submission, rules, by=by, reason=reason)
    except (ValueError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    typer.echo(f"{submission}: status {st['status']}")


def _format(df, fmt: str) -> str:
    if fmt == "json":
        return df.to_json(orient="records", force_ascii=False, date_format="iso")
    if fmt == "csv":
        buf = io.StringIO()
        df.to_csv(buf, index=False, quoting=csv.QUOTE_MINIMAL)
        return buf.getvalue().rstrip("\n")
    if df.empty:
        return "(no rows)"
    return df.to_string(index=False, max_rows=200)


@app.command()
def query(sql: str = typer.Argument(..., help="SQL over published.* and reference.*"),
          format: str = typer.Option("table", "--format", "-f", help="table | csv | json")):
    """Run a read-only SQL query on the warehouse."""
    import duckdb

    if format not in ("table", "csv", "json"):
        typer.echo("--format must be table, csv or json", err=True)
        raise typer.Exit(2)
    settings = _settings()
    if not settings.duckdb_path.exists():
        typer.echo(f"no warehouse at {settings.duckdb_path}: run `hemistat run` first", err=True)
        raise typer.Exit(1)
    from pipelines.storage.readonly import ReadOnlyQueryError, check_read_only, connect_readonly

    try:    # read-only: queries only, no file outside the published folder, no extension (storage/readonly.py)
        check_read_only(sql)
    except ReadOnlyQueryError as exc:
        typer.echo(f"query {exc}", err=True)
        raise typer.Exit(1)
    # a warehouse that cannot be opened is an environment fault (one line, exit 3: main's handler), not a query error
    con = connect_readonly(settings.duckdb_path, settings.published_dir, settings.duckdb_memory)
    try:
        df = con.execute(sql).df()
    except duckdb.Error as exc:
        typer.echo(f"query error: {exc}", err=True)
        raise typer.Exit(1)
    finally:
        con.close()
    typer.echo(_format(df, format))


@app.command("harvest-log")
def harvest_log(source: str = typer.Argument(..., help="source id"),
                last: int = typer.Option(20, "--last", help="how many attempts (newest last)"),
                as_json: bool = typer.Option(False, "--json", help="the JSON lines as recorded")):
    """Show the harvest attempts of a source (<data>/harvest/<source>.attempts.jsonl)."""
    from pipelines.monitor.harvest import read_attempts

    recs = read_attempts(_settings(), source, last=last)
    if as_json:
        for r in recs:
            typer.echo(json.dumps(r, ensure_ascii=False))
        return
    if not recs:
        typer.echo(f"no harvest attempt recorded for {source}")
        return
    for r in recs:
        sent = ",".join(r.get("sent") or {}) or "-"
        typer.echo(f"{r['at']}  retry {r.get('retry_number', 0)}  HTTP {r.get('http_status') or '---'}  "
                   f"{r['outcome']:<18} {r.get('bytes') or 0:>10} B  {str(r.get('sha256') or '-')[:12]:<12}  "
                   f"sent {sent}  run {str(r.get('run_id') or '-')[:8]}"
                   + (f"  error: {r['error']}" if r.get("error") else ""))


@app.command()
def doctor(files: list[Path] = typer.Option(None, "--file", exists=True, dir_okay=False, readable=True,
                                            help="also read this national file (nothing stored) and list its "
                                                 "national codes missing from the crosswalk, with ICCS suggestions"),
           sources: list[str] = typer.Option(None, "--source", "-s",
                                             help="source id of --file (one for all files, or one per file)")):
    """Check reference tables, source specs, crosswalks and folders; exit 1 if anything is wrong."""
    from pipelines.doctor import run_checks

    files, sources = list(files or []), list(sources or [])
    if files and not sources:
        typer.echo("--file needs --source (the source id whose spec reads the file)", err=True)
        raise typer.Exit(2)
    if sources and not files:
        typer.echo("--source needs --file", err=True)
        raise typer.Exit(2)
    if len(sources) not in (1, len(files)):
        typer.echo("give one --source for all files or one per --file", err=True)
        raise typer.Exit(2)
    pairs = list(zip(sources * len(files) if len(sources) == 1 else sources, files))
    from pipelines.settings import SettingsError

    try:
        settings = _settings()
    except SettingsError as exc:   # nothing else can be checked without the settings
        typer.echo(f"[FAIL] settings: {exc}")
        raise typer.Exit(1) from None
    ok = True
    for name, passed, detail in run_checks(settings, files=pairs):
        ok &= passed
        typer.echo(f"[{'ok' if passed else 'FAIL'}] {name}{': ' + detail if detail else ''}")
    raise typer.Exit(0 if ok else 1)


@app.command()
def ui(port: int = typer.Option(3000, help="port for the Dagster UI"),
       host: str = typer.Option("127.0.0.1")):
    """Start the Dagster UI (webserver + daemon) on this code location."""
    from pipelines.defs.runner import prepare_home

    settings = _settings()
    prepare_home(settings)
    exe = Path(sys.executable).with_name("dagster")
    cmd = [str(exe), "dev", "-m", "pipelines.definitions", "-h", host, "-p", str(port)]
    typer.echo(f"Dagster UI on http://{host}:{port}  (DAGSTER_HOME={settings.dagster_home})")
    raise typer.Exit(subprocess.call(cmd, env={**os.environ, "DAGSTER_HOME": str(settings.dagster_home)}))


@app.command()
def serve(port: int = typer.Option(8000, help="port of the upload portal"),
          host: str = typer.Option("127.0.0.1", help="bind address (put a TLS proxy in front for other hosts)")):
    """Start the upload portal (FastAPI + uvicorn): sign-in, uploads with verdict, review, audit log."""
    import uvicorn

    from pipelines.service import create_app

    if host in ("127.0.0.1", "localhost", "::1") and "HEMISTAT_COOKIE_SECURE" not in os.environ:
        os.environ["HEMISTAT_COOKIE_SECURE"] = "0"  # plain http on loopback only; Secure cookies elsewhere
    typer.echo(f"hemistat portal on http://{host}:{port}  (accounts: python -m pipelines.service --help)")
    uvicorn.run(create_app(_settings()), host=host, port=port, log_level="warning", proxy_headers=False)


@app.command("export-s3")
def export_s3(to: str = typer.Option(..., "--to", help="s3://bucket/prefix on S3-compatible object storage"),
           release: str = typer.Option(None, "--release", help="release id (default: the current one)"),
           endpoint: str = typer.Option(None, "--endpoint", help="S3-compatible server, e.g. http://minio:9000 "
                                                                 "(default: $HEMISTAT_S3_ENDPOINT, else AWS)")):
    """Copy a published release (its Parquet files) to object storage, then point <prefix>/CURRENT at it.
    (``hemistat export`` writes the formats the field exchanges: csv, parquet, xlsx, SDMX, a data package.)"""
    from pipelines.storage import objectstore

    settings = _settings()
    out = objectstore.export_release(settings.published_dir, to, objectstore.s3_filesystem(endpoint), release)
    typer.echo(f"release {out['release_id']}: {len(out['files'])} files, {out['bytes']} bytes -> {out['url']}")


@app.command()
def bench(generate: bool = typer.Option(False, "--generate", help="write the synthetic load (the benchmark's input)"),
          scale: float = typer.Option(1.0, "--scale", help="1 = about 1 million standard long rows; up to 50"),
          out: Path = typer.Option(None, "--out", help="folder for the files (default <data>/bench/load-<scale>)"),
          seed: int = typer.Option(None, "--seed", help="seed (same seed, same bytes)")):
    """Benchmark load: synthetic national files in the real formats for all 35 member states (`--generate`).
    The benchmark itself is `make bench` (tools/bench.py)."""
    from pipelines.samples.load import DEFAULT_SEED, generate_load, summary

    if not generate:
        typer.echo("nothing to do: give --generate (the benchmark itself runs with `make bench`)", err=True)
        raise typer.Exit(2)
    settings = _settings()
    out = out or settings.data_dir / "bench" / f"load-{scale:g}"
    t = time.perf_counter()
    man = generate_load(out, scale, DEFAULT_SEED if seed is None else seed)
    for f in man["files"]:
        typer.echo(f"  {f['source_id']:14s} {f['country_iso3']}  {f['expected_rows']:10,d} rows  {out / f['path']}")
    typer.echo(summary(man) + f"written to {out} in {time.perf_counter() - t:.1f} s (manifest: load_manifest.json)")


def _add_account_commands() -> None:
    from pipelines.service.__main__ import cli as account_cli

    app.add_typer(account_cli, name="account", help="portal accounts: add-user, token, users, migrate")


_add_account_commands()


def _add_practices_commands() -> None:
    from pipelines.cli_practices import cli as practices_cli

    app.add_typer(practices_cli, name="practices", help="good practices: search, check, list")


_add_practices_commands()


def _add_export_commands() -> None:
    from pipelines.cli_export import export_cmd

    app.command("export")(export_cmd)


_add_export_commands()


def _add_catalogue_commands() -> None:
    from pipelines.cli_catalogue import register

    register(app)     # courses list, survey import, gaps, fund report (issue 16; docs/CATALOGUE.md)


_add_catalogue_commands()


def _add_network_commands() -> None:
    from pipelines.cli_network import cli as network_cli

    app.add_typer(network_cli, name="network", help="the Inter-American Network: grant, space, group, members, forum")


_add_network_commands()


def _add_releases_commands() -> None:
    from pipelines.cli_releases import app as releases_cli

    app.add_typer(releases_cli, name="releases", help="numbered releases; `releases diff A B`: what changed and why")


_add_releases_commands()


def _add_site_commands() -> None:
    from pipelines.cli_site import app as site_cli

    app.add_typer(site_cli)   # `hemistat site --out DIR`


_add_site_commands()


def main():
    from pipelines.settings import use_private_umask

    use_private_umask()     # files 0600, folders 0700, also in the processes it starts (issue 14 item 8)
    app()


if __name__ == "__main__":
    main()
