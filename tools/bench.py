"""`make bench`: the whole pipeline on a realistic load, beside the floor and a plain pandas script.

For each scale (``--scales 1,12``; scale 1 = about 1 million standard long rows), the load generator
(``pipelines.samples.load``) writes synthetic national files in the real formats for all 35 member states.
Then, in the same run and interleaved (floor, pipeline, pandas), each in its own child process:

* the **floor**: DuckDB alone reading the same files and writing the same long Parquet (read + unpivot +
  write; the workbooks are read with calamine, as the pipeline reads them: DuckDB has no offline xlsx reader);
* the **whole pipeline**, the real path in a private data folder: submit -> ingest -> validate -> (warnings
  acknowledged, like ``make run``) -> harmonise -> publish, timed per layer (``pipelines.pipeline`` functions);
* a **plain pandas script** doing the analyst's harmonisation: read, melt, map to ICCS with the crosswalk CSV,
  national totals, population join, rates per 100,000, Parquet.

Wall time, CPU time and peak RSS of each child (``os.wait4``: the child's own maximum resident set, DuckDB's
threads included) are recorded. Then the analyst views' latency on the published ``hemistat.duckdb`` (median
of several runs, the result received as an Arrow table as DuckDB's Python client, pandas and Polars receive it;
the same query fetched as Python tuples is shown beside it as ``rows_ms``) and, with ``--backfill N``, a backfill of N small submissions in one run (extrapolated to
500 when N < 500, and labelled so).

Targets (issue 12): at 12 M rows the pipeline within 3x the floor and faster than pandas; peak memory under
4 GiB at 60 M rows (``--scales 60``, ``make bench-60``); time linear (5x the rows within 6x the time);
views under 200 ms; 500-submission backfill under 10 min. A missed target is printed as "MISSED by x" and
recorded; nothing stops the run. Results: ``<data>/bench/pipeline.json``, ``pipeline.md`` and the chart
``docs/bench/pipeline.svg`` (``--chart``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGETS = {"pipeline_over_floor_max": 3.0, "pipeline_over_pandas_max": 1.0, "peak_gib_60m_max": 4.0,
           "growth_5x_rows_max_time_ratio": 6.0, "view_ms_max": 200.0, "backfill_500_s_max": 600.0}
VIEW_QUERIES = {
    "indicators by country/ICCS/year": "select * from published.indicators where country_iso3 = 'MEX' "
                                       "and iccs_code = '0101' and year = 2024",
    "indicators, one country's national series": "select year, iccs_code, value, rate_per_100k from "
                                                 "published.indicators where country_iso3 = 'BRA' and "
                                                 "subdivision_code is null and month is null and sex = '_T'",
    "homicide_rates": "select * from published.homicide_rates",
    "national_annual, one ICCS code": "select * from published.national_annual where iccs_code = '0401'",
    "quality_scorecard": "select * from published.quality_scorecard",
    "quality_summary": "select * from published.quality_summary",
}


# ============================================================================ children (run in a subprocess)

def _load_files(load_dir: Path) -> list[dict]:
    return json.loads((load_dir / "load_manifest.json").read_text())["files"]


def child_floor(load_dir: Path, out_dir: Path) -> dict:
    """DuckDB reads every file and writes the standard long shape to Parquet (no checks, no mapping)."""
    import duckdb
    import pyarrow as pa

    from pipelines.samples import synthetic as syn

    out_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"set temp_directory = '{out_dir / 'tmp'}'")
    months = ", ".join(f'"{m}"' for m in syn.SESNSP_MONTHS)
    snic_cols = ", ".join(syn.SNIC_PROV_HEADER[5:])
    rows = 0
    for i, f in enumerate(_load_files(load_dir)):
        p, dst = str(load_dir / f["path"]), str(out_dir / f"{i:05d}.parquet")
        if f["source_id"] == "mx_sesnsp":
            sql = (f"select 'MEX' as country_iso3, lpad(cast(\"Cve. Municipio\" as varchar), 5, '0') as subdivision_code, "
                   f"\"Año\" as year, \"Tipo de delito\" || '|' || \"Subtipo de delito\" || '|' || \"Modalidad\" as national_code, "
                   f"month_name, try_cast(value as double) as value from (unpivot (select * from read_csv('{p}', "
                   f"encoding = 'latin-1', header = true, all_varchar = true)) on {months} into name month_name value value)")
        elif f["source_id"] == "ar_snic":
            sql = (f"select 'ARG' as country_iso3, provincia_id as subdivision_code, anio as year, "
                   f"codigo_delito_snic_id as national_code, col, try_cast(value as double) as value from (unpivot "
                   f"(select * from read_csv('{p}', header = true, all_varchar = true)) on {snic_cols} into name col value value)")
        elif f["source_id"] == "iccs_template":
            sql = (f"select country_iso3, subdivision_code, year, month, iccs_code as national_code, measure, sex, age, "
                   f"try_cast(value as double) as value from read_csv('{p}', header = true, all_varchar = true)")
        else:  # record-level workbook: calamine rows (the reader the pipeline uses) -> DuckDB aggregation
            import python_calamine

            it = iter(python_calamine.CalamineWorkbook.from_path(p).get_sheet_by_index(0).to_python())
            header = [str(h) for h in next(it)]
            cols = list(zip(*it)) or [[] for _ in header]
            tbl = pa.table({h: pa.array([None if v in (None, "") else str(v) for v in c]) for h, c in zip(header, cols)})
            con.register("rec", tbl)
            sex = "\"GENERO\"" if "GENERO" in header else "'_T'"
            sql = (f"select 'COL' as country_iso3, left(\"CODIGO DANE\", 5) as subdivision_code, "
                   f"year(cast(\"FECHA HECHO\" as timestamp)) as year, month(cast(\"FECHA HECHO\" as timestamp)) as month, "
                   f"{sex} as sex, sum(cast(\"CANTIDAD\" as double)) as value from rec group by all")
        con.execute(f"copy ({sql}) to '{dst}' (format parquet, compression zstd)")
        rows += con.execute(f"select count(*) from read_parquet('{dst}')").fetchall()[0][0]
        if f["source_id"] == "co_policia":
            con.unregister("rec")
    con.close()
    return {"rows": rows}


def child_pandas(load_dir: Path, out_dir: Path) -> dict:
    """What an analyst would write with pandas: read, melt, map to ICCS, national totals, population, rates."""
    import pandas as pd

    from pipelines.samples import synthetic as syn
    from pipelines.settings import get_settings

    ref = get_settings().reference_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    xw = {sid: pd.read_csv(ref / "crosswalks" / f"{sid}.csv", dtype=str)[["national_code", "iccs_code"]]
          for sid in ("mx_sesnsp", "ar_snic", "co_policia", "iccs_template")}
    pop = pd.read_csv(ref / "population" / "national.csv", dtype={"year": int})[["country_iso3", "year", "population"]]
    parts = []
    n_long = 0
    for f in _load_files(load_dir):
        p = load_dir / f["path"]
        sid = f["source_id"]
        if sid == "mx_sesnsp":
            df = pd.read_csv(p, encoding="cp1252", dtype={"Cve. Municipio": str})
            df["national_code"] = df["Tipo de delito"] + "|" + df["Subtipo de delito"] + "|" + df["Modalidad"]
            long = df.melt(id_vars=["Año", "national_code"], value_vars=list(syn.SESNSP_MONTHS),
                           var_name="month", value_name="value").rename(columns={"Año": "year"})
            long["country_iso3"], long["measure"], long["sex"] = "MEX", "offences", "_T"
        elif sid == "ar_snic":
            df = pd.read_csv(p, dtype={"codigo_delito_snic_id": str, "provincia_id": str})
            counts = {"cantidad_hechos": ("offences", "_T"), "cantidad_victimas": ("victims", "_T"),
                      "cantidad_victimas_masc": ("victims", "M"), "cantidad_victimas_fem": ("victims", "F")}
            long = df.melt(id_vars=["anio", "codigo_delito_snic_id"], value_vars=list(counts), var_name="col",
                           value_name="value").rename(columns={"anio": "year", "codigo_delito_snic_id": "national_code"})
            long["measure"] = long["col"].map(lambda c: counts[c][0])
            long["sex"] = long["col"].map(lambda c: counts[c][1])
            long["country_iso3"] = "ARG"
            # the analyst keeps parents only where no child exists (what the hierarchy means)
            parents = {c.split("_")[0] for c in long["national_code"].unique() if "_" in c}
            long = long[~long["national_code"].isin(parents)]
        elif sid == "iccs_template":
            long = pd.read_csv(p, dtype={"iccs_code": str, "subdivision_code": str}).rename(
                columns={"iccs_code": "national_code"})
        else:
            df = pd.read_excel(p)
            df["year"] = pd.to_datetime(df["FECHA HECHO"]).dt.year
            df["month"] = pd.to_datetime(df["FECHA HECHO"]).dt.month
            df["sex"] = df["GENERO"].map({"MASCULINO": "M", "FEMENINO": "F"}).fillna("_U") if "GENERO" in df else "_T"
            long = df.groupby(["year", "month", "sex"], as_index=False)["CANTIDAD"].sum().rename(
                columns={"CANTIDAD": "value"})
            kind = Path(f["path"]).name.rsplit("_", 1)[0]
            long["national_code"] = {"homicidios": "HOMICIDIOS", "hurto_automotores": "HURTO AUTOMOTORES"}[kind]
            long["measure"] = "victims" if kind == "homicidios" else "offences"
            long["country_iso3"] = "COL"
        n_long += len(long)
        long = long.merge(xw[sid], on="national_code", how="inner")
        parts.append(long.groupby(["country_iso3", "year", "iccs_code", "measure", "sex"], as_index=False)["value"].sum())
    nat = pd.concat(parts).groupby(["country_iso3", "year", "iccs_code", "measure", "sex"], as_index=False)["value"].sum()
    nat = nat.merge(pop, on=["country_iso3", "year"], how="left")
    nat["rate_per_100k"] = nat["value"] / nat["population"] * 1e5
    nat.to_parquet(out_dir / "national.parquet", index=False)
    return {"rows": n_long, "indicators": len(nat)}


def _rss_mib() -> int:
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)   # Linux: KiB


def child_pipeline(load_dir: Path, data_dir: Path) -> dict:
    """The real pipeline on a private data folder (HEMISTAT_DATA_DIR is set by the parent)."""
    from pipelines import pipeline
    from pipelines.settings import get_settings
    from pipelines.storage import submissions as subs

    s = get_settings()
    assert Path(s.data_dir).resolve() == data_dir.resolve(), (s.data_dir, data_dir)
    s.ensure_dirs()
    peak: dict[str, int] = {}   # the process's peak RSS after each layer: the layer where it grows holds the peak
    layer = {"landing": 0.0, "raw": 0.0, "validated": 0.0, "acknowledge": 0.0, "harmonised": 0.0, "published": 0.0}
    t = time.perf_counter()
    sids = []
    for f in _load_files(load_dir):
        man, _ = pipeline.submit(s, load_dir / f["path"], f["source_id"], uploaded_by="bench",
                                 country_iso3=f["country_iso3"], channel="run")
        sids.append(man.submission_id)
    layer["landing"] = time.perf_counter() - t
    peak["landing"] = _rss_mib()
    raw_rows, errors = 0, {}
    ingested = []
    t = time.perf_counter()
    for sid, res in pipeline.ingest_many(s, sids).items():   # chains of one scope on every core (pipeline/parallel.py)
        if isinstance(res, Exception):   # a rejected submission is a result, not a crash
            errors[sid] = f"ingest: {type(res).__name__}: {str(res)[:200]}"
        else:
            raw_rows += res.rows
            ingested.append(sid)
    layer["raw"] = time.perf_counter() - t
    peak["raw"] = _rss_mib()
    # as a backfill does: every submission ingested, then validated together (GX judges each source's files
    # in one batch run; pipeline.validate_many)
    t = time.perf_counter()
    for sid, res in pipeline.validate_many(s, ingested).items():
        if isinstance(res, Exception):
            errors[sid] = f"validate: {type(res).__name__}: {str(res)[:200]}"
    layer["validated"] = time.perf_counter() - t
    peak["validated"] = _rss_mib()
    t = time.perf_counter()
    warned = {}
    for sid in sids:
        if subs.read_status(s.landing_dir, sid).get("status") == "awaiting_review":
            rules = pipeline.failing_warnings(s, sid)
            for r in rules:
                warned[r] = warned.get(r, 0) + 1
            if rules:
                pipeline.acknowledge(s, sid, rules, by="bench", reason="benchmark: synthetic load, warnings batch-acknowledged")
    layer["acknowledge"] = time.perf_counter() - t
    peak["acknowledge"] = _rss_mib()
    statuses: dict[str, int] = {}
    for sid in sids:
        st = subs.read_status(s.landing_dir, sid).get("status")
        statuses[st] = statuses.get(st, 0) + 1
    t = time.perf_counter()
    h = pipeline.harmonise_all(s)
    layer["harmonised"] = time.perf_counter() - t
    peak["harmonised"] = _rss_mib()
    t = time.perf_counter()
    pipeline.publish_all(s)
    layer["published"] = time.perf_counter() - t
    peak["published"] = _rss_mib()

    from pipelines.storage.release import connect

    con = connect(s.duckdb_path)
    n_ind = con.execute("select count(*) from published.indicators").fetchone()[0]
    con.close()
    return {"submissions": len(sids), "statuses": statuses, "warnings_acknowledged": warned,
            "errors": dict(list(errors.items())[:20]), "raw_rows": raw_rows, "indicators": n_ind,
            "layers_s": {k: round(v, 2) for k, v in layer.items()}, "peak_after_layer_mib": peak,
            "harmonise": {k: v for k, v in (h or {}).items() if isinstance(v, (int, float, str))}}


def child_republish(load_dir: Path, data_dir: Path) -> dict:
    """After ``child_pipeline`` on the same data folder: a statistician's everyday publication. One corrected file
    of one country-year (``backfill_load``) is submitted, ingested and validated, then harmonised with the part
    cache (the parts it does not touch reused) and published; then harmonised again with every part computed
    (``HEMISTAT_HARMONISE_CACHE=0``), and the two indicator files compared (every column, in order)."""
    import duckdb

    from pipelines import pipeline
    from pipelines.settings import get_settings

    s = get_settings()
    assert Path(s.data_dir).resolve() == data_dir.resolve(), (s.data_dir, data_dir)
    one = data_dir.parent / "republish-load"
    f = backfill_load(one, 1, seed=7)["files"][0]
    steps: dict[str, float] = {}
    t = time.perf_counter()
    sid = pipeline.submit(s, one / f["path"], "iccs_template", uploaded_by="bench", country_iso3=f["country_iso3"],
                          channel="run")[0].submission_id
    pipeline.ingest(s, sid)
    pipeline.validate(s, sid)
    warned = pipeline.failing_warnings(s, sid)
    if warned:
        pipeline.acknowledge(s, sid, warned, by="bench", reason="benchmark: synthetic load")
    steps["submit_ingest_validate"] = time.perf_counter() - t

    def digest() -> tuple:
        # every column but the submission id (named after its receipt date), each value with its row's place in
        # the file: the row count and, per column, a sum of hashes, in bounded memory (a string of 18 M row hashes
        # did not fit)
        con = duckdb.connect(config=s.duckdb_config())
        try:
            return tuple(con.execute(
                "select count(*), sum(hash(file_row_number, columns(* exclude (submission_id, file_row_number)))"
                "::hugeint)::varchar from read_parquet(?, file_row_number = true)",
                [str(s.harmonised_dir / "indicators.parquet")]).fetchone())
        finally:
            con.close()

    t = time.perf_counter()
    cached = pipeline.harmonise_all(s)
    steps["harmonised_cache"] = time.perf_counter() - t
    same = digest()
    t = time.perf_counter()
    pipeline.publish_all(s)
    steps["published"] = time.perf_counter() - t
    os.environ["HEMISTAT_HARMONISE_CACHE"] = "0"
    t = time.perf_counter()
    full = pipeline.harmonise_all(get_settings())
    steps["harmonised_every_part"] = time.perf_counter() - t
    from pipelines.storage import submissions as subs

    return {"file": f["path"], "country_iso3": f["country_iso3"],
            "status": subs.read_status(s.landing_dir, sid).get("status"),
            "steps_s": {k: round(v, 2) for k, v in steps.items()},
            "parts": cached.get("parts"), "parts_reused": cached.get("parts_reused"),
            "indicators": cached.get("indicators"), "same_indicators": same == digest() and
            cached.get("indicators") == full.get("indicators")}


# ================================================================================= parent: measuring

def _tree_rss_mib(root: int) -> float:
    """Resident memory of ``root`` and all its descendants now (MiB), from /proc: the pipeline ingests and
    validates in worker processes (pipeline/parallel.py), and ``os.wait4``'s peak is the largest single
    process, not their sum."""
    parent: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as fh:
                    parent[int(d)] = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, frontier = {root}, [root]
    while frontier:
        p = frontier.pop()
        for c, pp in parent.items():
            if pp == p and c not in tree:
                tree.add(c)
                frontier.append(c)
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for p in tree:
        try:
            with open(f"/proc/{p}/statm") as fh:
                total += int(fh.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue
    return total / 2**20


def _result_path(work: Path, kind: str) -> Path:
    return work / f"{kind}.result.json"


def _measure(kind: str, load_dir: Path, work: Path, env_extra: dict | None = None, timeout: float | None = None) -> dict:
    """Run one child; wall, CPU and peak RSS (os.wait4: the largest single process; and the peak of the sum
    over the child and its worker processes, sampled every 0.2 s) and its JSON result. Never raises."""
    env = {**os.environ, **(env_extra or {})}
    work.mkdir(parents=True, exist_ok=True)
    out, err = work / f"{kind}.out", work / f"{kind}.err"
    _result_path(work, kind).unlink(missing_ok=True)   # never the result of an earlier run
    cmd = [sys.executable, "-m", "tools.bench", "--child", kind, str(load_dir), str(work)]
    t = time.perf_counter()
    with open(out, "w") as fo, open(err, "w") as fe:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=fo, stderr=fe)
        deadline = None if timeout is None else time.monotonic() + timeout
        tree_peak, next_sample = 0.0, 0.0
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() >= next_sample:
                tree_peak = max(tree_peak, _tree_rss_mib(proc.pid))
                next_sample = time.monotonic() + 0.2
            if deadline and time.monotonic() > deadline:
                proc.kill()
                pid, status, ru = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t
    # the peak is the larger of the two: the sampled sum of the process tree (workers included) and the
    # largest single process's exact peak (a spike between two samples)
    res = {"wall_s": round(wall, 2), "cpu_s": round(ru.ru_utime + ru.ru_stime, 2),
           "peak_rss_mib": round(max(ru.ru_maxrss / 1024, tree_peak)), "peak_single_process_mib": round(ru.ru_maxrss / 1024),
           "peak_process_tree_mib": round(tree_peak), "exit": proc.returncode}
    try:
        res.update(json.loads(_result_path(work, kind).read_text(encoding="utf-8")))
    except Exception:  # noqa: BLE001
        res["error"] = (err.read_text()[-2000:] or "no output").strip()
    if proc.returncode != 0 and "error" not in res:
        res["error"] = err.read_text()[-2000:].strip()
    return res


def view_latency(duckdb_path: Path, repeat: int = 7) -> dict:

    out = {}
    if not duckdb_path.exists():
        return {"error": f"no warehouse at {duckdb_path}"}
    from pipelines.storage.release import connect

    con = connect(duckdb_path)
    try:
        for name, sql in VIEW_QUERIES.items():
            # the result as an analyst's client receives it (an Arrow table: DuckDB's Python API, pandas,
            # Polars, R); ``rows_ms``: the same query fetched as Python tuples, the slowest way, shown beside
            times, rows_times = [], []
            try:
                for _ in range(repeat):
                    t = time.perf_counter()
                    n = con.sql(sql).to_arrow_table().num_rows
                    times.append((time.perf_counter() - t) * 1000)
                    t = time.perf_counter()
                    con.execute(sql).fetchall()
                    rows_times.append((time.perf_counter() - t) * 1000)
                out[name] = {"median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1), "rows": n,
                             "rows_ms": round(statistics.median(rows_times), 1)}
            except Exception as exc:  # noqa: BLE001
                out[name] = {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    finally:
        con.close()
    return out


def backfill_load(out_dir: Path, n: int, seed: int) -> dict:
    """n small template submissions: one country-year each (national, monthly, by sex), revisions after the
    first 320 country-years, so every file is a distinct submission."""
    from pipelines.samples import load

    ref = load._reference_dir()
    countries = load._template_countries(ref)
    header = (ref / "templates" / "hemistat_template.csv").read_text(encoding="utf-8").splitlines()[0]
    codes = load._template_codes(ref)[:40]
    files = []
    for i in range(n):
        iso3 = countries[i % len(countries)][0]
        year = load.YEARS[(i // len(countries)) % len(load.YEARS)]
        rev = i // (len(countries) * len(load.YEARS))
        rng = load._rng(seed, "backfill", i)
        vals = rng.poisson(20.0, size=(len(codes), 12, 2))
        path = out_dir / "iccs_template" / f"hemistat_template_{iso3}_{year}_r{rev}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [header]
        for ci, (code, label) in enumerate(codes):
            for m in range(12):
                a, b = int(vals[ci, m, 0]), int(vals[ci, m, 1])
                lab = f'"{label}"' if "," in label else label
                for sex, v in (("_T", a + b), ("M", a), ("F", b)):
                    lines.append(f"{iso3},,,{year},{m + 1},{code},{lab},offences,{sex},_T,{v},A,")
        path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
        files.append({"source_id": "iccs_template", "path": str(path.relative_to(out_dir)), "country_iso3": iso3,
                      "expected_rows": len(lines) - 1, "bytes": path.stat().st_size})
    manifest = {"scale": None, "backfill": n, "expected_rows": sum(f["expected_rows"] for f in files), "files": files}
    (out_dir / "load_manifest.json").write_text(json.dumps(manifest))
    return manifest


def _fmt_target(name: str, value, limit, higher_is_worse=True, unit="") -> dict:
    if value is None:
        return {"target": name, "status": "NOT MEASURED"}
    ok = value <= limit if higher_is_worse else value >= limit
    msg = "met" if ok else f"MISSED by {value / limit:.2f}x ({value:,.2f}{unit} vs {limit:,.2f}{unit})"
    return {"target": name, "value": value, "limit": limit, "status": msg}


def evaluate(result: dict) -> list[dict]:
    out = []
    runs = {r["scale"]: r for r in result["scales"]}
    for sc, r in sorted(runs.items()):
        p = r.get("pipeline", {})
        rows = r.get("rows", 0)
        if rows >= 10e6 or sc == max(runs):
            out.append(_fmt_target(f"scale {sc} ({rows / 1e6:.1f} M rows): pipeline / floor <= 3",
                                   r.get("pipeline_over_floor"), TARGETS["pipeline_over_floor_max"]))
            out.append(_fmt_target(f"scale {sc}: pipeline faster than pandas (pipeline / pandas <= 1)",
                                   r.get("pipeline_over_pandas"), TARGETS["pipeline_over_pandas_max"]))
        if rows >= 50e6:
            peak = p.get("peak_rss_mib")
            out.append(_fmt_target(f"scale {sc}: pipeline peak memory < 4 GiB", None if peak is None else peak / 1024,
                                   TARGETS["peak_gib_60m_max"], unit=" GiB"))
        views = r.get("views", {})
        worst = max((v.get("median_ms", 0) for v in views.values() if isinstance(v, dict)), default=None)
        out.append(_fmt_target(f"scale {sc}: slowest analyst view (median) < 200 ms", worst, TARGETS["view_ms_max"],
                               unit=" ms"))
    g = result.get("growth")
    if g:
        # normalise to "5x the rows within 6x the time": time ratio scaled to a 5x row ratio
        out.append(_fmt_target(f"growth {g['from']} -> {g['to']} ({g['rows_ratio']:.1f}x rows): time ratio per "
                               f"5x rows <= 6", g["time_ratio_per_5x_rows"], TARGETS["growth_5x_rows_max_time_ratio"]))
    b = result.get("backfill")
    if b:
        label = "500-submission backfill < 10 min" + ("" if b["n"] >= 500 else f" (EXTRAPOLATED from {b['n']})")
        out.append(_fmt_target(label, b.get("seconds_for_500"), TARGETS["backfill_500_s_max"], unit=" s"))
    return out


def markdown(result: dict) -> str:
    lines = [f"Measured {result['date']} on {result['machine']} (shared with other work: ratios are interleaved "
             "measurements of the same run).", "",
             "| scale | standard rows | files | pipeline s | floor s | pandas s | pipeline / floor | pipeline / pandas "
             "| pipeline peak MiB | floor peak MiB | pandas peak MiB | slowest view ms |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["scales"]:
        p, fl, pd_ = r.get("pipeline", {}), r.get("floor", {}), r.get("pandas", {})
        views = r.get("views", {})
        worst = max((v.get("median_ms", 0) for v in views.values() if isinstance(v, dict)), default=float("nan"))
        lines.append(f"| {r['scale']} | {r.get('rows', 0):,} | {r.get('files')} | {p.get('wall_s')} | {fl.get('wall_s')} "
                     f"| {pd_.get('wall_s')} | {r.get('pipeline_over_floor')} | {r.get('pipeline_over_pandas')} "
                     f"| {p.get('peak_rss_mib')} | {fl.get('peak_rss_mib')} | {pd_.get('peak_rss_mib')} | {worst} |")
    lines += ["", "Pipeline time per layer (s):", "", "| scale | " + " | ".join(
        ["landing", "raw", "validated", "acknowledge", "harmonised", "published"]) + " |", "|---" * 7 + "|"]
    for r in result["scales"]:
        ls = r.get("pipeline", {}).get("layers_s", {})
        lines.append(f"| {r['scale']} | " + " | ".join(str(ls.get(k, "")) for k in
                                                      ["landing", "raw", "validated", "acknowledge", "harmonised",
                                                       "published"]) + " |")
    for r in result["scales"]:
        rp = r.get("republish")
        if rp and not rp.get("error"):
            st = rp.get("steps_s", {})
            lines += ["", f"Scale {r['scale']}, one new file of one country-year on the published warehouse: submit + "
                          f"ingest + validate {st.get('submit_ingest_validate')} s, harmonise with the part cache "
                          f"{st.get('harmonised_cache')} s ({rp.get('parts_reused')} of {rp.get('parts')} parts reused)"
                          f" against {st.get('harmonised_every_part')} s computing every part, publish "
                          f"{st.get('published')} s; the same indicators: {rp.get('same_indicators')}."]
    if result.get("backfill"):
        b = result["backfill"]
        lines += ["", f"Backfill: {b['n']} submissions in {b.get('wall_s')} s"
                      + ("" if b["n"] >= 500 else f" (extrapolated to 500: {b.get('seconds_for_500')} s)")
                      + f", peak {b.get('peak_rss_mib')} MiB."]
    lines += ["", "Targets:", ""] + [f"* {t['target']}: **{t['status']}**" for t in result["targets"]]
    return "\n".join(lines) + "\n"


def chart_svg(result: dict) -> str:
    """The benchmark as a chart (Altair / Vega-Lite, rendered to SVG offline by vl-convert): per scale, wall
    seconds of the floor, the pandas script and the whole pipeline, the pipeline split into its layers."""
    import altair as alt
    import pandas as pd
    import vl_convert as vlc

    rows = []
    for r in result["scales"]:
        label = f"scale {r['scale']} ({(r.get('rows') or 0) / 1e6:.1f} M rows)"
        for k in ("floor", "pandas"):
            if (r.get(k) or {}).get("wall_s"):
                rows.append({"scale": label, "run": k, "part": k, "seconds": r[k]["wall_s"]})
        layers = (r.get("pipeline") or {}).get("layers_s") or {}
        for part, sec in layers.items():
            if sec:
                rows.append({"scale": label, "run": "pipeline", "part": f"pipeline: {part}", "seconds": sec})
    df = pd.DataFrame(rows, columns=["scale", "run", "part", "seconds"])
    chart = alt.Chart(df, title=f"hemistat whole pipeline vs floor and pandas (wall seconds, {result['date']})").mark_bar().encode(
        x=alt.X("run:N", title=None, sort=["floor", "pandas", "pipeline"]),
        y=alt.Y("sum(seconds):Q", title="wall seconds"),
        color=alt.Color("part:N", title="run / pipeline layer"),
        column=alt.Column("scale:N", title=None),
        tooltip=["scale", "part", alt.Tooltip("seconds:Q", format=",.1f")],
    ).properties(width=220, height=260)
    return vlc.vegalite_to_svg(chart.to_json())


def run_scale(scale: float, work: Path, seed: int, views_repeat: int,
              kinds: tuple[str, ...] = ("floor", "pipeline", "pandas")) -> dict:
    from pipelines.samples.load import generate_load, summary

    r: dict = {"scale": scale}
    load_dir = work / "load"
    t = time.perf_counter()
    man = generate_load(load_dir, scale, seed)
    r["generate_s"] = round(time.perf_counter() - t, 1)
    r["rows"], r["files"], r["countries"] = man["expected_rows"], len(man["files"]), len(man["countries"])
    print(summary(man) + f"  generated in {r['generate_s']} s", flush=True)
    data = work / "data"
    # interleaved: floor, pipeline, pandas (same load, same run)
    for kind in kinds:
        wd = work / kind
        wd.mkdir(parents=True, exist_ok=True)
        on_data = kind in ("pipeline", "republish")      # republish: the pipeline's data folder, after it
        env = {"HEMISTAT_DATA_DIR": str(data)} if on_data else {}
        res = _measure(kind, load_dir, data if on_data else wd, env)
        r[kind] = res
        extra = (f", layers {res.get('layers_s')}, peak MiB after each layer {res.get('peak_after_layer_mib')}, "
                 f"statuses {res.get('statuses')}" if kind == "pipeline" else
                 f", steps {res.get('steps_s')}, parts reused {res.get('parts_reused')} of {res.get('parts')}, "
                 f"same indicators as every part computed: {res.get('same_indicators')}" if kind == "republish"
                 else "")
        print(f"  {kind:8s} {res['wall_s']:8.1f} s wall, {res['cpu_s']:8.1f} s CPU, peak {res['peak_rss_mib']:,} MiB"
              f"{extra}{'  ERROR: ' + res['error'][-500:] if res.get('error') else ''}", flush=True)
        if not on_data:
            shutil.rmtree(wd, ignore_errors=True)
    pw, fw, pdw = (r.get(k, {}).get("wall_s") for k in ("pipeline", "floor", "pandas"))
    ok = lambda k: k in r and not r[k].get("error")  # noqa: E731
    r["pipeline_over_floor"] = round(pw / fw, 2) if ok("pipeline") and ok("floor") and fw else None
    r["pipeline_over_pandas"] = round(pw / pdw, 2) if ok("pipeline") and ok("pandas") and pdw else None
    from pipelines.settings import Settings

    try:
        duck = data / "published" / "hemistat.duckdb"
        cand = list(data.rglob("hemistat.duckdb"))
        r["views"] = view_latency(duck if duck.exists() else (cand[0] if cand else duck), views_repeat)
    except Exception as exc:  # noqa: BLE001
        r["views"] = {"error": str(exc)}
    _ = Settings
    print(f"  ratios: pipeline / floor {r['pipeline_over_floor']}, pipeline / pandas {r['pipeline_over_pandas']}")
    for name, v in r["views"].items():
        print(f"  view {name}: {v}")
    return r


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--child", nargs=3, metavar=("KIND", "LOAD_DIR", "WORK_DIR"), help=argparse.SUPPRESS)
    ap.add_argument("--scales", default=os.environ.get("HEMISTAT_BENCH_SCALES", "1,12"))
    ap.add_argument("--seed", type=int, default=20260101)
    ap.add_argument("--backfill", type=int, default=int(os.environ.get("HEMISTAT_BENCH_BACKFILL", "50")),
                    help="submissions in the backfill run (0: none; < 500 is extrapolated to 500)")
    ap.add_argument("--views-repeat", type=int, default=7)
    ap.add_argument("--kinds", default="floor,pipeline,pandas",
                    help="what runs at each scale (the 60 M memory run needs only the pipeline: make bench-60; "
                         "republish, after the pipeline: one new file published with the part cache, and harmonised "
                         "again with every part: make bench-republish)")
    ap.add_argument("--out", type=Path, default=None, help="results folder (default <data>/bench)")
    ap.add_argument("--chart", type=Path, default=None, help="also write the chart here (e.g. docs/bench/pipeline.svg)")
    args = ap.parse_args(argv)
    if args.child:
        kind, load_dir, work = args.child
        fn = {"floor": child_floor, "pandas": child_pandas, "pipeline": child_pipeline,
              "republish": child_republish}[kind]
        text = json.dumps(fn(Path(load_dir), Path(work)), default=str)
        # a file of its own: stdout also carries what libraries print (DuckDB's progress bar for a long query
        # ends without a newline, and the result line then began with it: the 12 M run read as "no output")
        _result_path(Path(work), kind).write_text(text, encoding="utf-8")
        print(text)
        return 0

    from pipelines.settings import get_settings

    out_dir = args.out or get_settings().data_dir / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    scales = [float(s) if "." in s else int(s) for s in args.scales.split(",") if s.strip()]
    kinds = tuple(k for k in ("floor", "pipeline", "republish", "pandas") if k in args.kinds.split(","))
    if "republish" in kinds and "pipeline" not in kinds:
        ap.error("--kinds republish needs the pipeline's published data folder: add pipeline")
    result = {"date": date.today().isoformat(),
              "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                         f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
                         f"Python {platform.python_version()}",
              "scales": [], "targets_def": TARGETS}
    for sc in scales:
        print(f"== scale {sc}", flush=True)
        with tempfile.TemporaryDirectory(dir=out_dir, prefix=f"scale{sc}-") as tmp:
            try:
                result["scales"].append(run_scale(sc, Path(tmp), args.seed, args.views_repeat, kinds))
            except Exception:  # noqa: BLE001 - report, go on
                result["scales"].append({"scale": sc, "error": traceback.format_exc()[-2000:]})
                print(result["scales"][-1]["error"])
    good = [r for r in result["scales"] if r.get("pipeline", {}).get("wall_s") and not r["pipeline"].get("error")]
    if len(good) >= 2:
        a, b = good[0], good[-1]
        rr = b["rows"] / a["rows"]
        tr = b["pipeline"]["wall_s"] / a["pipeline"]["wall_s"]
        import math

        # time grows like rows**k; "5x rows within 6x time" is checked on the fitted exponent
        k = math.log(tr) / math.log(rr) if rr > 1 else float("nan")
        result["growth"] = {"from": a["scale"], "to": b["scale"], "rows_ratio": round(rr, 2), "time_ratio": round(tr, 2),
                            "exponent": round(k, 3), "time_ratio_per_5x_rows": round(5 ** k, 2)}
        print(f"growth: {rr:.1f}x rows -> {tr:.1f}x time (exponent {k:.2f}; 5x rows -> {5 ** k:.2f}x time)")
    if args.backfill:
        print(f"== backfill of {args.backfill} submissions", flush=True)
        with tempfile.TemporaryDirectory(dir=out_dir, prefix="backfill-") as tmp:
            try:
                work = Path(tmp)
                man = backfill_load(work / "load", args.backfill, args.seed)
                res = _measure("pipeline", work / "load", work / "data", {"HEMISTAT_DATA_DIR": str(work / "data")})
                res["n"] = args.backfill
                res["rows"] = man["expected_rows"]
                if not res.get("error"):
                    res["seconds_for_500"] = round(res["wall_s"] * 500 / args.backfill, 1)
                result["backfill"] = res
                print(f"  {args.backfill} submissions: {res['wall_s']} s, peak {res['peak_rss_mib']} MiB, "
                      f"statuses {res.get('statuses')}{'  ERROR: ' + res['error'][-500:] if res.get('error') else ''}")
            except Exception:  # noqa: BLE001
                result["backfill"] = {"n": args.backfill, "error": traceback.format_exc()[-2000:]}
                print(result["backfill"]["error"])
    result["targets"] = evaluate(result)
    print("targets:")
    for t in result["targets"]:
        print(f"  {t['target']}: {t['status']}")
    name = "pipeline" + ("" if args.scales == "1,12" else "_" + args.scales.replace(",", "_"))
    (out_dir / f"{name}.json").write_text(json.dumps(result, indent=2, default=str))
    (out_dir / f"{name}.md").write_text(markdown(result))
    try:
        svg = chart_svg(result)
    except Exception as exc:  # noqa: BLE001 - the figures are written whatever happens to the chart
        svg = None
        print(f"chart not drawn: {type(exc).__name__}: {exc}")
    if svg:
        (out_dir / f"{name}.svg").write_text(svg)
    if args.chart and svg:
        args.chart.parent.mkdir(parents=True, exist_ok=True)
        args.chart.write_text(svg)
    print(f"results: {out_dir / (name + '.json')}, {out_dir / (name + '.md')}, {out_dir / (name + '.svg')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
