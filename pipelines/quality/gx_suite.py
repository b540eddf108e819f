"""Great Expectations 1.x: the rules with a native expectation, evaluated by GX beside the engine.

GX is a second, independent evaluator of the rules whose check has a faithful built-in expectation
(``GX_CHECKS``; quality_rules/README.md lists every check and why the others have none). For each
submission ``run_for_submission``:

1. builds one suite from the same YAML rules the engine reads (``expectations_for``) and runs it through
   a GX Checkpoint on the submission's table: a *SQL* datasource on DuckDB (``duckdb-engine``, the
   SQLAlchemy dialect) whose query asset reads the Parquet file, so every expectation is a query pushed
   down to DuckDB over the file and no copy of the table is made in pandas (a DataFrame given by a dry
   run or a test is written to a temporary Parquet file first: one code path). The derived columns GX
   needs (``_select``) are computed in that query;
2. records GX's verdict on each rule beside the engine's (``RuleResult.gx`` -> scorecard columns
   ``gx_status`` / ``gx_unexpected``); when GX and the engine disagree, the rule gets a note and the
   report says so (a disagreement is a defect of one of them, never a finding about the file);
3. builds GX's own Data Docs (a file site, ``SiteBuilder`` + ``TupleFilesystemStoreBackend``) under
   ``<data>/quality/gx_docs/<submission_id>/`` and returns the path for the report.

Two things in GX's Data Docs are unsafe for files uploaded by others, and are handled here:

* GX renders unexpected values into the HTML **without escaping** (verified on 1.24.1: a cell
  ``<script>alert(1)</script>`` lands as a live script tag). The docs are therefore built from a copy of
  the validation result without any value from the file (``_without_values``): counts and percentages
  only. The failing values are in hemistat's own report, which escapes them.
* GX's pages load CSS/JS from public CDNs (jsdelivr, cdnjs, unpkg, jquery, S3) whenever they are opened.
  Every page gets a Content-Security-Policy that blocks scripts and every remote load (``_lock_pages``):
  the pages are read offline, unstyled by the CDN but complete.

A GX failure (import, metric error) never breaks the engine's verdict: the rules get ``gx_status =
error_in_rule`` and the report names the exception. Key columns that may be empty (subdivision, month)
are filled with a sentinel before GX sees them, because the engine treats two empty keys as equal and GX
would skip such rows.

GX 1.24 does not know DuckDB as a dialect and returns a result after closing its connection, which
loses DuckDB's pending rows; ``_duckdb_keeps_its_connection`` declares DuckDB one of the dialects whose
connection GX keeps open (as it does for SQLite), the only change made to GX.
"""

from __future__ import annotations

import copy
import logging
import re
import shutil
import sys
import time
from pathlib import Path

import pandas as pd

from pipelines.quality.rules import Rule

log = logging.getLogger(__name__)

GX_CHECKS = {"in_codelist", "value_range", "obs_status_valid", "unique_key"}
_SENTINEL = "∅"
SITE = "hemistat"
CSP = ("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'self' data:; "
       "style-src 'self' 'unsafe-inline'; script-src 'none'; connect-src 'none'; form-action 'none'\">")


_FRACTION = "__fraction_of_integer_units"
_NOTE = "__obs_note_where_required"


def _lit(v) -> str:
    return "'" + str(v).replace("'", "''") + "'"


def _qi(c: str) -> str:
    return '"' + c.replace('"', '""') + '"'


_FILE = "__file"


def _select(columns: list[str], rules: list[Rule], path: str | list[str]) -> str:
    """The query GX validates: the file's columns, the keys of ``unique_key`` rules as text with empty keys
    as a sentinel, and the derived columns of ``value_range`` (the fraction of integer units) and
    ``obs_status_valid`` (the note where the status requires one). ``path``: one file, or several files of
    the same columns read as one table with the file as column ``__file`` (a batch, ``prefetch``)."""
    keys = {c for r in rules if r.check == "unique_key" for c in r.params.get("columns", []) if c in columns}
    cols = [f"coalesce(cast({_qi(c)} as varchar), {_lit(_SENTINEL)}) as {_qi(c)}" if c in keys else _qi(c)
            for c in columns]
    for r in rules:
        if r.check == "value_range" and {"value", "unit"} <= set(columns):
            units = ", ".join(_lit(u) for u in r.params.get("integer_units", ["count"])) or "null"
            cols.append(f"case when isfinite(value) and unit in ({units}) then abs(value - round(value)) "
                        f"when value is null or not isfinite(value) then null else 0.0 end as {_FRACTION}")
        if r.check == "obs_status_valid" and {"obs_status", "obs_note"} <= set(columns):
            need = ", ".join(_lit(c) for c in r.params.get("note_required_for", [])) or "null"
            cols.append(f"case when obs_status in ({need}) then obs_note else '' end as {_NOTE}")
    if isinstance(path, list):
        cols.append(_qi(_FILE))
        return ("select " + ", ".join(cols) + " from read_parquet([" + ", ".join(_lit(p) for p in path)
                + "], filename = " + _lit(_FILE) + ")")
    return "select " + ", ".join(cols) + " from read_parquet(" + _lit(path) + ")"


def _duckdb_keeps_its_connection() -> None:
    from great_expectations.execution_engine import sqlalchemy_execution_engine as se

    class _DuckDB(str):  # compared as a string and read as ``.value``, like GX's own GXSqlDialect
        value = "duckdb"

    if not any(str(d) == "duckdb" for d in se._PERSISTED_CONNECTION_DIALECTS):
        se._PERSISTED_CONNECTION_DIALECTS = (*se._PERSISTED_CONNECTION_DIALECTS, _DuckDB("duckdb"))


_TEMPLATE_CACHE = None


def _data_docs_reuse_compiled_templates() -> None:
    """GX builds each Data Docs page with a new Jinja ``Environment`` and so compiles its ~50 templates again
    for every submission (about 0.5 s each time). Jinja's own remedy is a bytecode cache shared by the
    environments: one in memory per process, set on each GX view as it is created. The pages are the same."""
    global _TEMPLATE_CACHE
    import jinja2
    from great_expectations.render.view.view import DefaultJinjaView

    if _TEMPLATE_CACHE is not None:
        return

    class _MemoryBytecodeCache(jinja2.BytecodeCache):
        def __init__(self):
            self.codes: dict[str, bytes] = {}

        def load_bytecode(self, bucket):
            code = self.codes.get(bucket.key)
            if code is not None:
                bucket.bytecode_from_string(code)

        def dump_bytecode(self, bucket):
            self.codes[bucket.key] = bucket.bytecode_to_string()

    _TEMPLATE_CACHE = _MemoryBytecodeCache()
    init = DefaultJinjaView.__init__

    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.env.bytecode_cache = _TEMPLATE_CACHE

    DefaultJinjaView.__init__ = __init__


def expectations_for(rule: Rule, countries: set[str], columns: set[str] | None = None) -> list:
    """The GX expectations of one rule; ``columns``: the table's columns (a coded column the table lacks is
    skipped, as the engine skips it)."""
    import great_expectations as gx

    E = gx.expectations
    meta = {"rule_id": rule.id}
    have = (lambda c: True) if columns is None else (lambda c: c in columns)
    if rule.check == "in_codelist":
        out = []
        for col, allowed in rule.params.get("columns", {}).items():
            if not have(col):
                continue
            vals = sorted(countries) if allowed == "reference:oas_members" else list(allowed)
            out.append(E.ExpectColumnValuesToBeInSet(column=col, value_set=vals, meta=meta))
            out.append(E.ExpectColumnValuesToNotBeNull(column=col, meta=meta))
        return out
    if rule.check == "value_range":
        # max: the largest finite double, so that an infinite value fails as it does in the engine
        return [E.ExpectColumnValuesToBeBetween(column="value", min_value=float(rule.params.get("min", 0)),
                                                max_value=sys.float_info.max, meta=meta),
                E.ExpectColumnValuesToBeBetween(column=_FRACTION, min_value=0, max_value=0, meta=meta)]
    if rule.check == "obs_status_valid":
        # the note where the status requires one (``_select``; empty string where none is required)
        return [E.ExpectColumnValuesToBeInSet(column="obs_status", value_set=list(rule.params["codes"]), meta=meta),
                E.ExpectColumnValuesToNotBeNull(column=_NOTE, meta=meta)]
    if rule.check == "unique_key":
        cols = [c for c in rule.params["columns"] if have(c)]
        if cols and have(_FILE):  # a batch of files: unique within each file
            cols.append(_FILE)
        return [E.ExpectCompoundColumnsToBeUnique(column_list=cols, meta=meta)] if cols else []
    return []


def _context():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    return ctx


def _without_values(result):
    """A copy of a suite validation result with no value taken from the file (see the module docstring)."""
    clean = copy.deepcopy(result)
    for x in clean.results:
        res = x.result or {}
        for k in list(res):
            if k.startswith(("partial_unexpected", "unexpected_list", "unexpected_index", "unexpected_rows")):
                res.pop(k)
        if isinstance(res.get("observed_value"), str):
            res.pop("observed_value")
    return clean


def _lock_pages(site: Path) -> None:
    """A Content-Security-Policy on every page: no script runs, nothing is fetched from the network."""
    for page in site.rglob("*.html"):
        text = page.read_text("utf-8")
        if "Content-Security-Policy" not in text:
            text = re.sub(r"<head>", "<head>" + CSP, text, count=1, flags=re.I)
            page.write_text(text, "utf-8")


def run_suite(table: pd.DataFrame | str | Path | list[Path], rules: list[Rule], countries: set[str],
              name: str = "hemistat", docs_dir: Path | None = None) -> dict:
    """Validate ``table`` (a Parquet file, or a DataFrame written to one, or a list of Parquet files of the
    same columns validated as one table) with the generated suite (through a Checkpoint, as SQL on DuckDB);
    returns a JSON-able summary with per-rule verdicts and unexpected counts. With ``docs_dir``, GX's Data
    Docs are (re)built there."""
    if isinstance(table, pd.DataFrame):
        import tempfile

        import pyarrow as pa_
        import pyarrow.parquet as pq

        with tempfile.TemporaryDirectory(prefix="hemistat-gx-") as tmp:
            path = Path(tmp) / "table.parquet"
            pq.write_table(pa_.Table.from_pandas(table, preserve_index=False), path)
            return run_suite(path, rules, countries, name=name, docs_dir=docs_dir)
    import great_expectations as gx
    import pyarrow.parquet as pq

    t0 = time.perf_counter()
    _duckdb_keeps_its_connection()
    rules = [r for r in rules if r.enabled and r.check in GX_CHECKS]
    ctx = _context()
    batch = isinstance(table, list)
    columns = list(pq.read_schema(table[0] if batch else table).names)
    from pipelines.quality.engine import duckdb_config

    bd = ctx.data_sources.add_sql("duckdb", connection_string="duckdb:///:memory:",
                                  kwargs={"connect_args": {"config": duckdb_config()}}) \
        .add_query_asset(name="table", query=_select(columns, rules, [str(t) for t in table] if batch else str(table))) \
        .add_batch_definition_whole_table("all")
    suite = ctx.suites.add(gx.ExpectationSuite(name=f"{name}_suite"))
    cols = set(columns) | {_FRACTION, _NOTE} | ({_FILE} if batch else set())
    for r in rules:
        for exp in expectations_for(r, countries, cols):
            suite.add_expectation(exp)
    vd = ctx.validation_definitions.add(gx.ValidationDefinition(name=f"{name}_validation", data=bd, suite=suite))
    cp = ctx.checkpoints.add(gx.Checkpoint(name=f"{name}_checkpoint", validation_definitions=[vd], actions=[],
                                           result_format="SUMMARY"))
    run = cp.run()
    (ident, res), = run.run_results.items()
    t_validate = time.perf_counter() - t0
    results, per_rule = [], {}
    for x in res.results:
        cfg = x.expectation_config
        rid = (cfg.meta or {}).get("rule_id")
        n_bad = int((x.result or {}).get("unexpected_count") or 0)
        raised = bool((x.exception_info or {}).get("raised_exception"))
        ok = bool(x.success)
        st = per_rule.setdefault(rid, {"status": "pass", "unexpected": 0, "expectations": 0, "errors": []})
        st["expectations"] += 1
        st["unexpected"] += n_bad
        if raised:
            st["status"] = "error_in_rule"
            st["errors"].append(str((x.exception_info or {}).get("exception_message"))[:300])
        elif not ok and st["status"] == "pass":
            st["status"] = "fail"
        results.append({"rule_id": rid, "expectation": cfg.type, "column": cfg.kwargs.get("column")
                        or cfg.kwargs.get("column_list"), "success": ok, "unexpected_count": n_bad,
                        "partial_unexpected": [str(v) for v in (x.result or {}).get("partial_unexpected_list", [])[:5]]})
    docs = None
    t1 = time.perf_counter()
    if docs_dir is not None:
        docs_dir = Path(docs_dir)
        shutil.rmtree(docs_dir, ignore_errors=True)   # one site per submission: its latest reading
        docs_dir.mkdir(parents=True, exist_ok=True)
        ctx.add_data_docs_site(site_name=SITE, site_config={
            "class_name": "SiteBuilder", "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)}})
        ctx.validation_results_store.set(ident, _without_values(res))
        _data_docs_reuse_compiled_templates()
        ctx.build_data_docs(site_names=[SITE])
        _lock_pages(docs_dir)
        docs = str(docs_dir / "index.html")
    stats = res.statistics or {}
    return {"suite": suite.name, "success": bool(res.success), "evaluated": stats.get("evaluated_expectations", 0),
            "unsuccessful": stats.get("unsuccessful_expectations", 0), "results": results,
            "verdicts": {k: v["status"] for k, v in per_rule.items()}, "rules": per_rule, "data_docs": docs,
            "seconds": {"validate": round(t_validate, 3), "data_docs": round(time.perf_counter() - t1, 3)}}


def attach(results: list, gx: dict) -> list[str]:
    """Put GX's verdict beside the engine's on each result GX evaluated (``RuleResult.gx``); a disagreement
    becomes a note on the rule. Returns the disagreements (one sentence each)."""
    rules = gx.get("rules") or {}
    out = []
    for r in results:
        g = rules.get(r.rule.id)
        if g is None:
            continue
        agrees = None
        if r.status in ("pass", "fail") and g["status"] in ("pass", "fail"):
            agrees = r.status == g["status"]
        r.gx = {"status": g["status"], "unexpected": int(g["unexpected"]), "agrees": agrees}
        if g["status"] == "error_in_rule":
            r.notes.append("Great Expectations could not evaluate this rule: " + "; ".join(g["errors"])[:300])
        if agrees is False:
            msg = (f"Great Expectations disagrees with the engine ({r.engine}) on {r.rule.id}: engine {r.status} "
                   f"({r.failing_rows} failing rows), GX {g['status']} ({g['unexpected']} unexpected values); "
                   f"a defect of one of the two, not a finding about the file")
            r.notes.append(msg)
            log.warning(msg)
            out.append(msg)
    return out


def docs_dir(data_dir: Path, submission_id: str | None, file_name: str, source_id: str) -> Path:
    """``<data>/quality/gx_docs/<submission_id>/``; a dry run (no submission id) writes beside its HTML
    report: ``<data>/reports/gx_docs/<file stem>.<source>/``."""
    if submission_id:
        return Path(data_dir) / "quality" / "gx_docs" / submission_id
    stem = re.sub(r"[^\w.-]+", "_", Path(file_name).stem) or "file"
    return Path(data_dir) / "reports" / "gx_docs" / f"{stem}.{source_id}"


# ---------------------------------------------------------------------------------------------- batches
# GX costs about half a second per suite run whatever the file's size (its per-expectation machinery, not
# the queries). A backfill validates hundreds of submissions of a few sources: ``prefetch`` runs one suite
# over all the files of a source (same columns) read as one table, the file a key of every uniqueness
# expectation. When every expectation holds on the union it holds on each file, and each file's summary is
# taken from the batch (``_BATCH``, keyed by file version and rules). When any fails, nothing is cached and
# each file is validated alone, so the counts a report shows are always the file's own.

_BATCH: dict[tuple, dict] = {}


def _batch_key(path: str | Path, rules: list[Rule], countries: set[str]) -> tuple | None:
    try:
        st = Path(path).stat()
    except OSError:
        return None
    rk = tuple(sorted((r.id, r.check, repr(sorted(r.params.items(), key=str)), r.enabled)
                      for r in rules if r.check in GX_CHECKS))
    return (str(Path(path).resolve()), st.st_mtime_ns, st.st_size, rk, tuple(sorted(countries)))


#: most rows one batch suite run reads: the uniqueness expectations group every row of the batch, so a batch
#: of large files would hold (and spill) tens of millions of keys at once — at 60 M rows, ten 2.9 M-row SESNSP
#: files in one batch spilled 40 GB and failed. Batching pays for small files (the fixed cost per run); a
#: file this large is validated alone, at no loss.
BATCH_MAX_ROWS = 1_000_000


def _batches(files: list[tuple[Path, int]], chunk: int, max_rows: int) -> list[list[Path]]:
    """Consecutive files (path, rows) in batches of at most ``chunk`` files and ``max_rows`` rows; a file
    with more rows than that is a batch of its own."""
    out: list[list[Path]] = []
    rows = 0
    for path, n in files:
        if not out or len(out[-1]) >= chunk or rows + n > max_rows:
            out.append([])
            rows = 0
        out[-1].append(path)
        rows += n
    return out


def prefetch(paths: list[Path], rules: list[Rule], countries: set[str], *, name: str,
             docs: Path | None = None, chunk: int = 200, max_rows: int | None = None) -> dict:
    """Validate many files of one source with one suite run per group of files with the same columns (at
    most ``chunk`` files and ``max_rows`` rows each). Returns ``{"runs", "files", "cached", "seconds"}``;
    never raises (a file whose batch could not be judged is validated alone later)."""
    import pyarrow.parquet as pq

    max_rows = BATCH_MAX_ROWS if max_rows is None else max_rows
    t0 = time.perf_counter()
    groups: dict[tuple, list[tuple[Path, int]]] = {}
    for p in paths:
        try:
            meta = pq.read_metadata(p)
            groups.setdefault(tuple(meta.schema.to_arrow_schema().names), []).append((Path(p), meta.num_rows))
        except Exception:  # noqa: BLE001 - unreadable: validated alone, which reports it
            continue
    runs = cached = 0
    for files in groups.values():
        for part in _batches(files, chunk, max_rows):
            if len(part) < 2:
                continue
            runs += 1
            try:
                import great_expectations  # noqa: F401

                gx = run_suite(part, rules, countries, name=name,
                               docs_dir=None if docs is None else Path(docs) / f"batch-{runs}")
            except Exception:  # noqa: BLE001 - each file alone, later
                log.exception("Great Expectations failed on a batch; files are validated one by one")
                continue
            if not gx.get("success") or any(v != "pass" for v in gx.get("verdicts", {}).values()):
                continue
            for p in part:
                k = _batch_key(p, rules, countries)
                if k is not None:
                    _BATCH[k] = {**copy.deepcopy(gx), "batch": {"files": len(part)}}
                    cached += 1
    return {"runs": runs, "files": len(paths), "cached": cached, "seconds": round(time.perf_counter() - t0, 3)}


def _resolved(paths) -> set[str]:
    """The files' resolved paths (the first part of a ``_BATCH`` key); ``paths``: paths or lists of paths."""
    return {str(Path(p).resolve()) for x in paths for p in (x if isinstance(x, (list, tuple)) else [x])}


def cached(paths) -> dict:
    """What a batch cached for these files: hand it to another process (``adopt``) that validates them."""
    flat = _resolved(paths)
    return {k: v for k, v in _BATCH.items() if k[0] in flat}


def adopt(entries: dict) -> None:
    """Take the batch verdicts another process computed (``cached``)."""
    _BATCH.update(entries)


def forget(paths) -> None:
    """Drop what a batch cached for these files (an iterable of paths or of lists of paths) and not used."""
    for k in cached(paths):
        _BATCH.pop(k, None)


def run_for_submission(results: list, table: pd.DataFrame | str | Path, rules: list[Rule], countries: set[str], *,
                       name: str, docs: Path | None) -> dict:
    """GX beside the engine on one submission: run, attach to ``results``, build the Data Docs. Never
    raises: a GX failure is reported as ``error_in_rule`` on the rules GX would have evaluated. A file
    already judged by a batch (``prefetch``) takes its summary from there."""
    t0 = time.perf_counter()
    k = None if isinstance(table, pd.DataFrame) else _batch_key(table, rules, countries)
    if k is not None and k in _BATCH:
        gx = _BATCH.pop(k)
        gx["disagreements"] = attach(results, gx)
        gx.setdefault("seconds", {})["total"] = round(time.perf_counter() - t0, 3)
        gx.pop("rules", None)
        return gx
    try:
        import great_expectations  # noqa: F401 - timed apart: ~2-5 s once per process, nothing after

        t_import = time.perf_counter() - t0
        gx = run_suite(table, rules, countries, name=name, docs_dir=docs)
        gx["seconds"]["import"] = round(t_import, 3)
    except Exception as exc:  # noqa: BLE001 - GX is a second opinion; it never blocks the engine's verdict
        log.exception("Great Expectations failed")
        msg = f"{type(exc).__name__}: {exc}"[:300]
        gx = {"suite": f"{name}_suite", "success": False, "evaluated": 0, "unsuccessful": 0, "results": [],
              "error": msg, "data_docs": None, "verdicts": {},
              "rules": {r.id: {"status": "error_in_rule", "unexpected": 0, "expectations": 0, "errors": [msg]}
                        for r in rules if r.enabled and r.check in GX_CHECKS}}
    gx["disagreements"] = attach(results, gx)
    gx.setdefault("seconds", {})["total"] = round(time.perf_counter() - t0, 3)
    gx.pop("rules", None)  # per-rule verdicts live on the results (scorecard); ``verdicts`` keeps the summary
    return gx
