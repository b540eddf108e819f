"""`make bench`: speed of the quality engine on a 10-million-row standard table.

Measures, on a generated standard long table (Parquet, the shape every adapter emits):

* the **floor**: DuckDB reading the same Parquet and writing it back (nothing can be faster);
* the **engine**: every raw/validated-layer rule (pandera for row/column rules, DuckDB SQL for the
  rest), one timing per rule;
* a **plain pandas script** doing three of the same checks (codes, values, duplicate keys) in memory.

Results go to ``<data>/bench/quality_<rows>.json`` and are printed as ratios to the floor.
Target (issue #3): the whole validation well under a minute on this machine (2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import duckdb


def make_table(path: Path, rows: int) -> None:
    """A deterministic standard table: subdivisions x years x months x national codes."""
    n_codes, n_years, n_months = 84, 10, 12
    n_subs = max(1, rows // (n_codes * n_years * n_months))
    con = duckdb.connect()
    con.execute("""
        copy (
          select 'bench__20250101__00000000' as submission_id, 'mx_sesnsp' as source_id, 'bench.csv' as file_name,
                 cast(row_number() over () + 1 as bigint) as line, m.name as column_name, 'MEX' as country_iso3,
                 lpad(cast(s.s as varchar), 4, '0') as subdivision_code, 'Unit ' || s.s as subdivision_name,
                 cast(2014 + y.y as bigint) as year, cast(m.m as bigint) as month,
                 'code_' || c.c as national_code, 'label ' || c.c as national_label, 'offences' as measure,
                 'count' as unit, '_T' as sex, '_T' as age, '_T' as relationship,
                 cast(floor(20 + 10 * sin(s.s + c.c + y.y) + (hash(s.s, c.c, y.y, m.m) % 7)) as double) as value,
                 cast(null as varchar) as value_raw, 'A' as obs_status, cast(null as varchar) as obs_note,
                 cast(null as varchar) as source_note
          from range(?) s(s), range(?) y(y), range(?) c(c),
               (select m + 1 as m, 'm' || (m + 1) as name from range(12) t(m)) m
        ) to ? (format parquet, compression zstd)
    """, [n_subs, n_years, n_codes, str(path)])
    con.close()


def floor(path: Path, out: Path) -> float:
    t = time.perf_counter()
    con = duckdb.connect()
    con.execute("copy (select * from read_parquet(?)) to ? (format parquet, compression zstd)", [str(path), str(out)])
    con.close()
    return time.perf_counter() - t


def pandas_script(path: Path) -> float:
    import pandas as pd

    t = time.perf_counter()
    df = pd.read_parquet(path)
    bad_codes = (~df["country_iso3"].isin(["MEX"])).sum() + (~df["sex"].isin(["_T", "F", "M", "_U"])).sum()
    bad_values = ((df["value"] < 0) | (df["value"] % 1 != 0)).sum()
    dups = df.duplicated(["country_iso3", "subdivision_code", "year", "month", "national_code", "measure", "unit",
                          "sex", "age", "relationship"]).sum()
    _ = (bad_codes, bad_values, dups)
    return time.perf_counter() - t


def engine(path: Path, reference_dir: Path, rules_dir: Path) -> tuple[float, dict[str, float], dict]:
    from pipelines.adapters import load_spec
    from pipelines.harmonise import reference as ref
    from pipelines.quality import evaluate, load_rules
    from pipelines.quality.results import QualityContext

    spec = load_spec("mx_sesnsp", reference_dir)
    rules = [r for r in load_rules(rules_dir, "mx_sesnsp", reference_dir=reference_dir) if r.layer == "validated"]
    ctx = QualityContext(reference_dir=reference_dir, source_id="mx_sesnsp", spec=spec,
                         crosswalk=ref.crosswalk(reference_dir, "mx_sesnsp"),
                         countries=set(ref.countries(reference_dir)["iso3"]),
                         population_national=ref.population_national(reference_dir),
                         population_subnational=ref.population_subnational(reference_dir))
    per_rule, status = {}, {}
    t0 = time.perf_counter()
    for r in rules:
        t = time.perf_counter()
        res = evaluate(path, [r], ctx)[0]
        per_rule[r.id] = round(time.perf_counter() - t, 3)
        status[r.id] = f"{res.status} ({res.failing_rows})"
    return time.perf_counter() - t0, per_rule, status


def main(argv=None):
    from pipelines.settings import get_settings

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=int(os.environ.get("HEMISTAT_BENCH_ROWS", 10_000_000)))
    args = ap.parse_args(argv)
    s = get_settings()
    out_dir = s.data_dir / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        p = Path(tmp) / "standard.parquet"
        t = time.perf_counter()
        make_table(p, args.rows)
        gen = time.perf_counter() - t
        rows = duckdb.connect().execute("select count(*) from read_parquet(?)", [str(p)]).fetchall()[0][0]
        print(f"standard table: {rows:,} rows, {p.stat().st_size / 1e6:.0f} MB parquet (generated in {gen:.1f} s)")
        fl = floor(p, Path(tmp) / "copy.parquet")
        print(f"floor (DuckDB read + write parquet): {fl:.2f} s")
        total, per_rule, status = engine(p, s.reference_dir, s.rules_dir)
        for rid, sec in sorted(per_rule.items(), key=lambda kv: -kv[1]):
            print(f"  {rid:3s} {sec:7.2f} s  {status[rid]}")
        print(f"engine, all {len(per_rule)} validated-layer rules: {total:.1f} s = {total / fl:.1f} x floor")
        pdt = pandas_script(p)
        print(f"plain pandas script (3 checks only: codes, values, duplicate keys): {pdt:.1f} s")
    from pipelines.samples.synthetic import generate_sample

    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        t = time.perf_counter()
        generate_sample(Path(tmp))
        synth = time.perf_counter() - t
    print(f"synthetic sample generation: {synth:.2f} s (target < 2 s)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {"rows": rows, "floor_s": round(fl, 2), "engine_s": round(total, 2), "engine_over_floor": round(total / fl, 1),
              "pandas_3_checks_s": round(pdt, 2), "per_rule_s": per_rule, "status": status,
              "peak_rss_mb": round(peak), "target_s": 60, "ok": total < 60, "cores": os.cpu_count(),
              "synthetic_generation_s": round(synth, 2)}
    (out_dir / f"quality_{rows}.json").write_text(json.dumps(result, indent=2))
    print(f"peak memory {peak:,.0f} MB; {'OK' if total < 60 else 'TOO SLOW'}: target < 60 s; "
          f"results in {out_dir / f'quality_{rows}.json'}")
    return 0 if total < 60 else 1


if __name__ == "__main__":
    raise SystemExit(main())
