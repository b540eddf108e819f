"""A batch of submissions (a backfill, ``make bench``) ingested and validated on every core, with exactly the
results of doing them one after the other.

Why it is safe: a submission's checks read other submissions only of its own *scope* — the same source and,
where both name one, the same country (``quality.context._accepted_same_scope``: earlier vintages, overlaps).
So the batch is cut into **chains**, one per scope (a source whose submissions do not all name a country is
one chain), each chain keeps the batch's order and runs in one process, and chains run side by side in
``settings.workers`` processes. Every submission writes only its own files (status, report, quality tables,
layer Parquet files). Chains are handed out largest first (bytes of their stored files), so a big file starts
early and does not finish alone at the end.

The pool's processes are started with ``spawn`` (a fresh interpreter: no DuckDB threads or open connections
inherited). Each pays the imports once (about 3 s); a batch with fewer than ``MIN_BATCH`` submissions, a single
chain, or ``workers = 1`` runs in this process as before. What a worker returns (a ``StepResult`` or the
exception, a rejection being a ``SubmissionError``) is the same object the sequential path returns."""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import time
import types
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Callable

from pipelines.pipeline.ingest import StepResult, ingest
from pipelines.pipeline.validate import validate
from pipelines.settings import Settings
from pipelines.storage import submissions as subs

log = logging.getLogger(__name__)

#: below this many submissions the pool's start (about 3 s per process) costs more than it saves
MIN_BATCH = 4


def chains(settings: Settings, sids: list[str]) -> list[list[str]]:
    """``sids`` cut into chains of one scope each (order kept within a chain), largest chain first."""
    meta = {}
    for sid in sids:
        try:
            man = subs.read_manifest(settings.landing_dir, sid)
            meta[sid] = (man.source_id, man.country_iso3, int(man.size_bytes or 0))
        except (FileNotFoundError, ValueError, AttributeError):
            meta[sid] = (None, None, 0)      # unreadable: alone, the step reports it
    whole_source = {m[0] for m in meta.values() if m[0] is not None and not m[1]}
    out: dict[tuple, list[str]] = {}
    for sid in sids:
        src, country, _ = meta[sid]
        key = ("?", sid) if src is None else (src, None if src in whole_source else country)
        out.setdefault(key, []).append(sid)
    return sorted(out.values(), key=lambda c: -sum(meta[s][2] for s in c))


def _run_chain(step: str, settings: Settings, chain: list[str], gx_batch: dict) -> dict:
    """In a worker: one chain, in order. ``gx_batch``: Great Expectations' batch verdicts for these files."""
    from pipelines.quality import gx_suite

    gx_suite.adopt(gx_batch)
    fn = {"ingest": ingest, "validate": validate}[step]
    out = {}
    for sid in chain:
        try:
            out[sid] = fn(settings, sid)
        except Exception as exc:  # noqa: BLE001 - returned: a rejection is a result of the batch
            out[sid] = exc
    return out


def run_batch(step: str, settings: Settings, sids: list[str], *, progress: Callable[[str], None] | None = None,
              workers: int | None = None, gx_batch: Callable[[list[str]], dict] | None = None) -> dict:
    """``{sid: StepResult or exception}`` of ``step`` ("ingest" or "validate") on every submission, in chains
    on ``workers`` processes (default ``settings.workers``). ``gx_batch(chain)`` gives the GX verdicts a
    chain's worker needs (validate)."""
    workers = max(1, workers or settings.workers)
    parts = chains(settings, sids)
    done: dict = {}
    n = len(sids)

    def report(res: dict) -> None:
        for sid, r in res.items():
            done[sid] = r
            if progress:
                st = subs.read_status(settings.landing_dir, sid).get("status") or "?"
                progress(f"[{len(done)}/{n}] {sid}: {st}")

    if workers == 1 or len(sids) < MIN_BATCH or len(parts) < 2:
        for chain in parts:
            report(_run_chain(step, settings, chain, {}))   # this process holds GX's batch already
        return {sid: done[sid] for sid in sids}
    ctx = multiprocessing.get_context("spawn")
    try:
        n_proc = min(workers, len(parts))
        with ProcessPoolExecutor(max_workers=n_proc, mp_context=ctx, initializer=_worker_start,
                                 initargs=(worker_threads(settings, n_proc),)) as pool:
            with _main_hidden():   # the workers start here: they never re-run the caller's script
                pending = {pool.submit(_run_chain, step, settings, chain, gx_batch(chain) if gx_batch else {})
                           for chain in parts}
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    report(fut.result())
    except BrokenProcessPool as exc:
        # a worker died (killed, out of memory): what it had not reported runs here, one after the other
        log.warning("a worker of the batch died (%s); the rest of the batch runs in this process", exc)
        for chain in parts:
            rest = [sid for sid in chain if sid not in done]
            if rest:
                report(_run_chain(step, settings, rest, {}))
    return {sid: done[sid] for sid in sids}


def worker_threads(settings: Settings, processes: int) -> int:
    """DuckDB threads of each worker: ``HEMISTAT_DUCKDB_THREADS`` when set, else the worker's share of the cores.
    DuckDB's default is one thread per core in every process, so two workers on two cores ran four threads that
    took turns on the per-file queries (small tables, where a second thread has little to do)."""
    if settings.duckdb_threads:
        return settings.duckdb_threads
    return max(1, (os.cpu_count() or 1) // max(1, processes))


def _worker_start(threads: int) -> None:
    """In each worker, before its first task: its DuckDB connections use ``threads`` threads."""
    os.environ["HEMISTAT_DUCKDB_THREADS"] = str(threads)


@contextmanager
def _main_hidden():
    """While the pool's processes start, ``__main__`` is an empty module: a ``spawn`` child otherwise
    imports the caller's main script again (a script without ``if __name__ == "__main__"`` would run its
    top level once more in every worker). The workers need nothing from it: the task is
    ``pipelines.pipeline.parallel._run_chain``."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


def ingest_many(settings: Settings, sids: list[str], progress=None, workers: int | None = None
                ) -> dict[str, StepResult | Exception]:
    """landing -> raw for several submissions (a backfill, the benchmark), in chains of one scope each on
    ``workers`` processes (``pipeline.parallel``). Returns ``{sid: StepResult or the exception}``."""
    return run_batch("ingest", settings, sids, progress=progress, workers=workers)


def validate_many(settings: Settings, sids: list[str], progress=None, workers: int | None = None
                  ) -> dict[str, StepResult | Exception]:
    """Validate several ingested submissions (a backfill, the benchmark): Great Expectations first judges each
    source's files together (``gx_suite.prefetch``: one suite run per source instead of one per file), then
    every submission is validated exactly as ``validate`` does, taking GX's summary from the batch where the
    batch passed, in chains of one scope each on ``workers`` processes (``pipeline.parallel``: the same
    results as one after the other). Returns ``{sid: StepResult or the exception}`` (a rejection is a
    ``SubmissionError``)."""
    from pipelines.harmonise import reference as ref
    from pipelines.quality import gx_suite
    from pipelines.quality.rules import load_rules

    by_source: dict[str, list] = {}
    for sid in sids:
        raw = settings.raw_dir / f"{sid}.parquet"
        if raw.exists():
            by_source.setdefault(subs.read_manifest(settings.landing_dir, sid).source_id, []).append(raw)
    countries = set(ref.countries(settings.reference_dir)["iso3"])
    stamp = time.strftime("%Y%m%dT%H%M%S")
    for source_id, paths in by_source.items():
        if len(paths) > 1:
            rules = load_rules(settings.rules_dir, source_id, reference_dir=settings.reference_dir)
            info = gx_suite.prefetch(paths, rules, countries, name=source_id,
                                     docs=settings.data_dir / "quality" / "gx_docs" / f"batch-{source_id}-{stamp}")
            if progress:
                progress(f"Great Expectations: {source_id}, {info['files']} file(s) in {info['runs']} batch run(s), "
                         f"{info['cached']} judged by the batch, {info['seconds']} s")

    def batch_of(chain: list[str]) -> dict:
        return gx_suite.cached(settings.raw_dir / f"{sid}.parquet" for sid in chain)

    try:
        return run_batch("validate", settings, sids, progress=progress, workers=workers, gx_batch=batch_of)
    finally:
        gx_suite.forget(by_source.values())
