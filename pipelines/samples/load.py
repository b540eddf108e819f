"""Realistic LOAD for the benchmark: synthetic national files in the real formats, at any scale.

``generate_load(out_dir, scale, seed)`` writes, for all 35 OAS member states, files that the existing source
specs (``reference/sources/*.yaml``) read, with the real offence labels and codes their crosswalks map:

* ``mx_sesnsp/IDM_NM_<year>.csv`` -- SESNSP municipal file (layout ``municipal`` of ``mx_sesnsp``): the state
  file's exact header plus ``Cve. Municipio`` and ``Municipio``, cp1252, CRLF, wide months, the 98 real offence
  rows per municipality. The bulk of the load (about half of the rows).
* ``ar_snic/snic-provincias-<year>.csv`` -- SNIC provincial file (layout ``provincias``): UTF-8, CRLF, the real
  codes and hierarchy (parent = sum of children + a remainder), victims = male + female + unknown, rates.
* ``co_policia/homicidios_<year>.xlsx`` and ``hurto_automotores_<year>.xlsx`` -- Policía Nacional record-level
  files (one row per event, ``CANTIDAD`` = 1), municipalities from ``reference/population/subnational.csv``;
  every municipality has at least one event per month (and per sex in homicidios), so the standard table has
  exactly municipalities x 12 x 3 (homicidios: M, F, _T) and municipalities x 12 (hurto) rows.
* ``iccs_template/<ISO3>/hemistat_template_<ISO3>_<year>.csv`` -- the member-state template
  (``reference/templates/hemistat_template.csv``, spec ``iccs_template``) for every other member state: the
  leaf ICCS codes x 12 months x sex (_T, M, F with _T = M + F), national rows or, at larger scales, invented
  subdivisions (``<ISO2>-<nn>``: no subdivision population, so no subdivision rates).

Scale 1 is about 1 million standard long rows in total, scale N about N million: Mexico takes ~50 %, Argentina
up to ~8 % (its 24 provinces x 2017-2023 cap it), Colombia ~4 % (capped at its municipalities x 10 years), the
template countries the rest. Every file is written as a stream (one file's values at a time), so 50 million rows
need little memory. Same seed -> same bytes (numpy PCG64 seeded per file; workbooks with fixed timestamps).
The numbers are invented: NOT official statistics.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from pipelines.samples import synthetic as syn

__all__ = ["DEFAULT_SEED", "LoadFile", "generate_load", "main"]

DEFAULT_SEED = 20260101
ROWS_PER_SCALE = 1_000_000
YEARS = tuple(range(2015, 2025))               # SESNSP crosswalk is valid from 2015
SNIC_YEARS = tuple(range(2017, 2024))
MX_MUNICIPALITIES = 2469                       # INEGI: municipalities and alcaldías (2024)
MX_HEADER = (syn.SESNSP_HEADER[:3] + ("Cve. Municipio", "Municipio") + syn.SESNSP_HEADER[3:])
SHARE = {"mx_sesnsp": 0.50, "ar_snic": 0.08, "co_policia": 0.04}   # template: the rest
TEMPLATE_SEXES = ("_T", "M", "F")


@dataclass
class LoadFile:
    source_id: str
    path: Path
    country_iso3: str
    expected_rows: int          # standard long rows the adapter emits for this file
    meta: dict = field(default_factory=dict)


def _rng(seed: int, *key) -> np.random.Generator:
    words = [int(seed) & 0xFFFFFFFF] + [int.from_bytes(str(k).encode("utf-8")[:8].ljust(8, b"\0"), "little")
                                         ^ (len(str(k)) << 56) for k in key]
    # plus a stable hash of the whole key (zlib.crc32 is stable across runs and platforms)
    import zlib
    words.append(zlib.crc32(repr(key).encode("utf-8")))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(words)))


def _reference_dir() -> Path:
    from pipelines.settings import get_settings

    return get_settings().reference_dir


def _read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------------------------------------------------
# Mexico -- SESNSP municipal file
# ---------------------------------------------------------------------------------------------------------

def _mx(out: Path, rows_target: int, seed: int) -> list[LoadFile]:
    per_unit = len(syn._SESNSP_CRIMES) * 12
    units = max(1, round(rows_target / per_unit))                 # municipality-years
    n_years = min(len(YEARS), max(1, math.ceil(units / MX_MUNICIPALITIES)))
    n_mun = max(1, min(MX_MUNICIPALITIES, round(units / n_years)))
    states = list(syn.SESNSP_STATES.items())
    # municipalities spread over the states in proportion to population (at least one each when possible)
    total_pop = sum(p for _, (_, p) in states)
    counts = [max(1 if n_mun >= len(states) else 0, int(n_mun * p / total_pop)) for _, (_, p) in states]
    i = 0
    while sum(counts) < n_mun:
        counts[i % len(counts)] += 1
        i += 1
    while sum(counts) > n_mun:
        j = max(range(len(counts)), key=lambda k: counts[k])
        counts[j] -= 1
    means = np.array([c[4] for c in syn._SESNSP_CRIMES])
    folder = out / "mx_sesnsp"
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for year in YEARS[-n_years:]:
        rng = _rng(seed, "mx", year)
        path = folder / f"IDM_NM_{year}.csv"
        n = 0
        with open(path, "w", encoding="cp1252", newline="") as f:
            w = csv.writer(f, lineterminator="\r\n")
            w.writerow(MX_HEADER)
            for (clave, (entidad, pop)), k in zip(states, counts):
                if k == 0:
                    continue
                lam = means[:, None] * (pop / k) / 3.5 * np.ones((1, 12))
                vals = rng.poisson(lam, size=(k, len(means), 12))
                for m in range(k):
                    cve = clave * 1000 + m + 1
                    mun = f"Municipio {m + 1:03d}"
                    for ci, (bien, tipo, subtipo, modalidad, _) in enumerate(syn._SESNSP_CRIMES):
                        w.writerow((year, clave, entidad, cve, mun, bien, tipo, subtipo, modalidad,
                                    *vals[m, ci].tolist()))
                        n += 12
        files.append(LoadFile("mx_sesnsp", path, "MEX", n, {"year": year, "municipalities": n_mun}))
    return files


# ---------------------------------------------------------------------------------------------------------
# Argentina -- SNIC provincial file, one per year
# ---------------------------------------------------------------------------------------------------------

def _ar(out: Path, rows_target: int, seed: int) -> list[LoadFile]:
    provs = list(syn.SNIC_PROVINCES.items())
    per_unit = 9 * len(syn._snic_codes("02", 2017))
    units = max(1, min(len(provs) * len(SNIC_YEARS), round(rows_target / per_unit)))
    n_years = min(len(SNIC_YEARS), max(1, math.ceil(units / len(provs))))
    n_prov = max(1, min(len(provs), round(units / n_years)))
    folder = out / "ar_snic"
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    fmt = syn._fmt_rate_snic
    for year in SNIC_YEARS[:n_years]:
        rng = _rng(seed, "ar", year)
        path = folder / f"snic-provincias-{year}.csv"
        n = 0
        with open(path, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\r\n")
            w.writerow(syn.SNIC_PROV_HEADER)
            for prov, (name, popm) in provs[:n_prov]:
                pop = int(popm * 1e6)
                male = int(pop * 0.49)
                female = pop - male
                codes = syn._snic_codes(prov, year)
                present = set(codes)
                values: dict[str, list[int]] = {}
                for code in codes:
                    if code in syn.SNIC_CHILDREN and syn.SNIC_CHILDREN[code][1][0] in present:
                        continue
                    _, _, rate, vr, ms, fs = syn._SNIC_CODES[code]
                    h = int(rng.poisson(rate * pop / 1e5))
                    if vr > 0:
                        v = h + int(rng.poisson(h * max(0.0, vr - 1.0)))
                        m = int(round(v * ms))
                        fe = min(v - m, int(round(v * fs)))
                        values[code] = [h, v, m, fe, v - m - fe]
                    else:
                        values[code] = [h, 0, 0, 0, 0]
                for code in codes:
                    if code in values:
                        continue
                    kids = [values[c] for c in syn.SNIC_CHILDREN[code][1]]
                    summed = [sum(col) for col in zip(*kids)]
                    rem = int(rng.poisson(0.01 * summed[0] + 0.5))
                    values[code] = [summed[0] + rem, summed[1] + rem, summed[2] + rem, summed[3], summed[4]] \
                        if syn._SNIC_CODES[code][3] > 0 else [summed[0] + rem, 0, 0, 0, 0]
                for code in codes:
                    h, v, m, fe, sd = values[code]
                    if syn._SNIC_CODES[code][3] > 0:
                        vr_ = [fmt(v / pop * 1e5), fmt(m / male * 1e5), fmt(fe / female * 1e5)]
                    else:
                        vr_ = ["0", "0", "0"]
                    w.writerow((prov, name, year, code, syn._SNIC_CODES[code][0], h, v, m, fe, sd,
                                fmt(h / pop * 1e5), *vr_))
                    n += 9
        files.append(LoadFile("ar_snic", path, "ARG", n, {"year": year, "provinces": n_prov}))
    return files


# ---------------------------------------------------------------------------------------------------------
# Colombia -- Policía Nacional record-level workbooks
# ---------------------------------------------------------------------------------------------------------

_FIXED_TS = (2025, 1, 1, 0, 0, 0)


def _deterministic_xlsx(path: Path) -> None:
    """openpyxl stamps the save time into docProps/core.xml and the zip entries: fix both."""
    with zipfile.ZipFile(path) as z:
        items = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in items:
            if name == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>2025-01-01T00:00:00Z", data)
            z.writestr(zipfile.ZipInfo(name, date_time=_FIXED_TS), data, zipfile.ZIP_DEFLATED)
    tmp.replace(path)


def _co_municipalities() -> list[tuple[str, str, str]]:
    seen, out = set(), []
    for r in _read_csv(_reference_dir() / "population" / "subnational.csv"):
        if r["country_iso3"] == "COL" and r["subdivision_code"] not in seen:
            seen.add(r["subdivision_code"])
            mun, _, dep = r["subdivision_name"].partition(", ")
            out.append((r["subdivision_code"], mun, dep or mun))
    return sorted(out)


def _co(out: Path, rows_target: int, seed: int) -> list[LoadFile]:
    from openpyxl import Workbook

    muns = _co_municipalities()
    per_unit = 12 * 3 + 12
    units = max(1, round(rows_target / per_unit))
    n_years = min(len(YEARS), max(1, math.ceil(units / len(muns))))
    n_mun = max(1, min(len(muns), round(units / n_years)))
    folder = out / "co_policia"
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    weapons = ("ARMA DE FUEGO", "ARMA BLANCA / CORTOPUNZANTE", "CONTUNDENTES", "SIN EMPLEO DE ARMAS")
    ages = ("ADULTOS", "ADOLESCENTES", "MENORES")
    for year in YEARS[-n_years:]:
        for kind in ("homicidios", "hurto_automotores"):
            rng = _rng(seed, "co", kind, year)
            wb = Workbook(write_only=True)
            ws = wb.create_sheet("Sheet1")
            if kind == "homicidios":
                ws.append(["DEPARTAMENTO", "MUNICIPIO", "CODIGO DANE", "ARMAS MEDIOS", "FECHA HECHO", "GENERO",
                           "AGRUPA EDAD PERSONA", "CANTIDAD"])
                sexes = ("MASCULINO", "FEMENINO")
            else:
                ws.append(["DEPARTAMENTO", "MUNICIPIO", "CODIGO DANE", "ARMAS MEDIOS", "FECHA HECHO", "CANTIDAD"])
                sexes = (None,)
            extra = rng.poisson(0.6, size=(n_mun, 12, len(sexes)))
            for mi, (code, mun, dep) in enumerate(muns[:n_mun]):
                for month in range(1, 13):
                    for si, sex in enumerate(sexes):
                        for _ in range(1 + int(extra[mi, month - 1, si])):
                            day = int(rng.integers(1, 29))
                            weapon = weapons[int(rng.integers(0, len(weapons)))]
                            date = datetime(year, month, day)
                            if sex is None:
                                ws.append([dep, mun, code + "000", weapon, date, 1])
                            else:
                                ws.append([dep, mun, code + "000", weapon, date, sex,
                                           ages[int(rng.integers(0, 3))], 1])
            path = folder / f"{kind}_{year}.xlsx"
            wb.save(path)
            _deterministic_xlsx(path)
            n = n_mun * 12 * (3 if kind == "homicidios" else 1)
            files.append(LoadFile("co_policia", path, "COL", n, {"year": year, "municipalities": n_mun}))
    return files


# ---------------------------------------------------------------------------------------------------------
# every other member state -- the hemistat template (ICCS codes)
# ---------------------------------------------------------------------------------------------------------

def _template_codes(reference_dir: Path) -> list[tuple[str, str]]:
    rows = _read_csv(reference_dir / "crosswalks" / "iccs_template.csv")
    codes = {r["national_code"]: r["national_label"] for r in rows}
    leaves = [c for c in codes if not any(o != c and o.startswith(c) for o in codes)]
    return [(c, codes[c]) for c in sorted(leaves)]


def _template_countries(reference_dir: Path) -> list[tuple[str, str, str]]:
    rows = _read_csv(reference_dir / "countries" / "oas_members.csv")
    return [(r["iso3"], r["iso2"], r["name_en"]) for r in rows if r["iso3"] not in ("MEX", "ARG", "COL")]


def _template(out: Path, rows_target: int, seed: int) -> list[LoadFile]:
    ref = _reference_dir()
    codes = _template_codes(ref)
    countries = _template_countries(ref)
    # small loads (tests, backfills): fewer codes, spread over the classification, so every country still appears
    fit = rows_target // (len(countries) * 12 * len(TEMPLATE_SEXES))
    if fit < len(codes):
        n = max(3, fit)
        codes = [codes[round(i * (len(codes) - 1) / max(1, n - 1))] for i in range(n)]
    header = (ref / "templates" / "hemistat_template.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    per_unit = len(codes) * 12 * len(TEMPLATE_SEXES)
    units = max(len(countries), round(rows_target / per_unit))          # country-year-subdivisions
    nc = len(countries)
    files = []
    base_rate = _rng(seed, "template-rates").gamma(0.6, 12.0, size=len(codes))   # per 100,000 per year
    for ci, (iso3, iso2, name) in enumerate(countries):
        if units <= nc * len(YEARS):      # national rows only; the units go to country-years in turn
            n_years_c, subs_per_year = units // nc + (1 if ci < units % nc else 0), 1
        else:                             # every year, and subdivisions
            n_years_c, subs_per_year = len(YEARS), max(1, round(units / (nc * len(YEARS))))
        years = YEARS
        folder = out / "iccs_template" / iso3
        folder.mkdir(parents=True, exist_ok=True)
        for year in years[-n_years_c:]:
            rng = _rng(seed, "tpl", iso3, year)
            path = folder / f"hemistat_template_{iso3}_{year}.csv"
            subs = [("", "")] if subs_per_year == 1 else [(f"{iso2}-{s + 1:02d}", f"{name} region {s + 1}")
                                                          for s in range(subs_per_year)]
            lam = base_rate[:, None] * np.ones((1, 12)) * (1.0 / len(subs)) * 0.5
            n = 0
            with open(path, "w", encoding="utf-8", newline="") as f:
                w = csv.writer(f, lineterminator="\r\n")
                w.writerow(header)
                for sc, sn in subs:
                    male = rng.poisson(lam)
                    female = rng.poisson(lam * 0.4)
                    for i, (code, label) in enumerate(codes):
                        for mo in range(12):
                            m_, f_ = int(male[i, mo]), int(female[i, mo])
                            for sex, v in (("_T", m_ + f_), ("M", m_), ("F", f_)):
                                w.writerow((iso3, sc, sn, year, mo + 1, code, label, "offences", sex, "_T", v,
                                            "A", ""))
                    n += len(codes) * 12 * len(TEMPLATE_SEXES)
            files.append(LoadFile("iccs_template", path, iso3, n, {"year": year, "subdivisions": len(subs)}))
    return files


# ---------------------------------------------------------------------------------------------------------

def generate_load(out_dir: Path, scale: float = 1.0, seed: int = DEFAULT_SEED) -> dict:
    """Write the load for ``scale`` (1 = about 1 million standard long rows) under ``out_dir``; returns the
    manifest (also written to ``out_dir/load_manifest.json``): files with source, country and expected rows."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = max(1, int(scale * ROWS_PER_SCALE))
    files = _mx(out_dir, int(target * SHARE["mx_sesnsp"]), seed)
    files += _ar(out_dir, int(target * SHARE["ar_snic"]), seed)
    files += _co(out_dir, int(target * SHARE["co_policia"]), seed)
    done = sum(f.expected_rows for f in files)
    files += _template(out_dir, max(0, target - done), seed)
    manifest = {
        "scale": scale, "seed": seed, "target_rows": target,
        "expected_rows": sum(f.expected_rows for f in files),
        "countries": sorted({f.country_iso3 for f in files}),
        "files": [{"source_id": f.source_id, "path": str(f.path.relative_to(out_dir)), "country_iso3": f.country_iso3,
                   "expected_rows": f.expected_rows, "bytes": f.path.stat().st_size, **f.meta} for f in files],
    }
    (out_dir / "load_manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest


def summary(manifest: dict) -> str:
    by: dict[str, list[int]] = {}
    for f in manifest["files"]:
        a = by.setdefault(f["source_id"], [0, 0, 0])
        a[0] += 1
        a[1] += f["expected_rows"]
        a[2] += f["bytes"]
    buf = io.StringIO()
    buf.write(f"scale {manifest['scale']}: {len(manifest['files'])} files, {len(manifest['countries'])} countries, "
              f"{manifest['expected_rows']:,} expected standard long rows (target {manifest['target_rows']:,})\n")
    for sid, (n, rows, size) in sorted(by.items()):
        buf.write(f"  {sid:14s} {n:5d} files  {rows:12,d} rows  {size / 1e6:9.1f} MB\n")
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="write the benchmark load (synthetic national files)")
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    a = ap.parse_args(argv)
    print(summary(generate_load(a.out_dir, a.scale, a.seed)), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
