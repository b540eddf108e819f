"""Population denominators: national (World Bank, CONAPO Mexico, SNIC-implied Argentina) and
subnational (CONAPO Mexican states, SNIC-implied Argentine provinces).

Key of ``national.csv``: (country_iso3, year, source_id). Key of ``subnational.csv``:
(country_iso3, subdivision_code, year, source_id). Several sources for the same country-year are
alternatives, never to be summed.
"""

from __future__ import annotations

import csv
import math
import re
import statistics
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from tools.refbuild.common import (REPO_ROOT, RefBuildError, Source, build_section, provenance_markdown,
                                       require_file, sha256_file)

WB_CSV = "wb_population/population.csv"
MX_POP_CSV = "mx_sesnsp/poblacion_anual.csv"
MX_CRIME_CSV = "mx_sesnsp/estatal.csv"
AR_PROV_CSV = "ar_snic/snic-provincias.csv"
AR_PAIS_CSV = "ar_snic/snic-pais.csv"

SRC_WB = "wb_sp_pop_totl"
SRC_MX = "mx_conapo"
SRC_AR = "ar_snic_implied"
SRC_US = "us_fbi_estimate"
SRC_BR = "ibge_estimativas"
SRC_CO = "dane_proyecciones"
SRC_CR = "inec_cr_proyecciones"
SRC_CL = "ine_cl_proyecciones"
SOURCE_IDS = sorted([SRC_AR, SRC_MX, SRC_US, SRC_WB, SRC_BR, SRC_CO, SRC_CR, SRC_CL])

MX_YEARS = range(1990, 2031)  # 1990..2030 inclusive
MX_NATIONAL_NAME = "Estados Unidos Mexicanos"
MX_LAST_ESTIMATE_YEAR = 2019  # CONAPO: conciliación 1950-2019, projections 2020-2070

AR_MIN_COUNT = 100  # only offence rows with at least this many hechos (limits rounding error of the rate)
AR_EXCLUDED_CODES = {"31"}  # suicides: SNIC uses a different (smaller) denominator for this rate
AR_MAX_REL_SPREAD = 1e-5  # all included rows must agree to within this relative spread
AR_MIN_ROWS = 3

NATIONAL_HEADER = ["country_iso3", "year", "population", "source_id", "source_note"]
SUBNATIONAL_HEADER = ["country_iso3", "subdivision_code", "subdivision_name", "year", "population", "source_id", "source_note"]

# Short per-row notes (details in PROVENANCE.md)
NOTE_WB = "World Bank SP.POP.TOTL via datasets/population@425fc447"
NOTE_MX_EST = "CONAPO mid-year, conciliación demográfica 1950-2019 (estimate)"
NOTE_MX_PROJ = "CONAPO mid-year, proyecciones 2020-2070 (projection)"
NOTE_AR = "SNIC {file}: median hechos/tasa*1e5 over {n} offence rows (hechos>={min}, excl. 31 suicides); spread {spread}"

_FIELD_ISO3 = {"name": "country_iso3", "type": "string", "description": "ISO 3166-1 alpha-3 of an OAS member state.",
               "constraints": {"required": True, "pattern": "^[A-Z]{3}$", "minLength": 3, "maxLength": 3}}
_FIELD_YEAR = {"name": "year", "type": "year", "description": "Reference year (mid-year population).",
               "constraints": {"required": True, "minimum": 1950, "maximum": 2100}}
_FIELD_POP = {"name": "population", "type": "integer", "description": "Number of persons.",
              "constraints": {"required": True, "minimum": 1}}
_FIELD_SRC = {"name": "source_id", "type": "string", "description": "Source of the figure: "
              "wb_sp_pop_totl = World Bank SP.POP.TOTL; mx_conapo = CONAPO (Mexico); ar_snic_implied = denominator "
              "implied by the SNIC (Argentina) rates; us_fbi_estimate = FBI UCR state population; ibge_estimativas = IBGE "
              "(Brazil) 1 July estimates; dane_proyecciones = DANE (Colombia) municipal projections; inec_cr_proyecciones = "
              "INEC (Costa Rica) provincial projections; ine_cl_proyecciones = INE (Chile) regional projections.", "constraints": {"required": True, "enum": SOURCE_IDS}}
_FIELD_NOTE = {"name": "source_note", "type": "string", "description": "Short human-readable note on the source/derivation.",
               "constraints": {"required": True}}
_FK_COUNTRY = {"fields": "country_iso3", "reference": {"resource": "oas_members", "fields": "iso3"}}

NATIONAL_SCHEMA = {
    "name": "population_national",
    "title": "National population of OAS member states, by source",
    "description": "Long format. Key (country_iso3, year, source_id): the same country-year can have figures from "
    "several sources (alternative denominators - pick one, never sum). See PROVENANCE.md.",
    "fields": [_FIELD_ISO3, _FIELD_YEAR, _FIELD_POP, _FIELD_SRC, _FIELD_NOTE],
    "primaryKey": ["country_iso3", "year", "source_id"],
    "foreignKeys": [_FK_COUNTRY],
    "missingValues": [""],
}

SUBNATIONAL_SCHEMA = {
    "name": "population_subnational",
    "title": "Subdivision population (states, provinces, regions, municipalities), by source",
    "description": "Long format. Key (country_iso3, subdivision_code, year, source_id). subdivision_code is the code the "
    "source adapters emit, as text: INEGI state code 01-32 (MEX), INDEC province code 02-94 (ARG), USPS state "
    "abbreviation (USA, as in the FBI file), IBGE UF code 11-53 (BRA), DANE DIVIPOLA 5-digit municipality code (COL), "
    "official province code 1-7 (CRI), CUT region code 01-16 (CHL).",
    "fields": [
        _FIELD_ISO3,
        {"name": "subdivision_code", "type": "string",
         "description": "National code as text: 2 characters (MEX, ARG, USA, BRA, CHL), 1 digit (CRI province), "
         "5 digits (COL municipality, DIVIPOLA).",
         "constraints": {"required": True, "pattern": "^([0-9A-Z]{1,2}|[0-9]{5})$", "minLength": 1, "maxLength": 5}},
        {"name": "subdivision_name", "type": "string", "description": "Official name as written in the source.",
         "constraints": {"required": True}},
        _FIELD_YEAR, _FIELD_POP, _FIELD_SRC, _FIELD_NOTE,
    ],
    "primaryKey": ["country_iso3", "subdivision_code", "year", "source_id"],
    "foreignKeys": [_FK_COUNTRY],
    "missingValues": [""],
}


@dataclass
class PopulationResult:
    national: list[list[object]] = field(default_factory=list)
    subnational: list[list[object]] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    local_sources: list["LocalSource"] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)  # diagnostics written to PROVENANCE.md


def _nfc(s: str) -> str:
    return unicodedata.normalize("NFC", " ".join(s.split()))


def _int_cell(value: str, where: str) -> int:
    if not re.fullmatch(r"[0-9]+", value.strip()):
        raise RefBuildError(f"{where}: expected a non-negative integer, got {value!r}")
    return int(value)


# --------------------------------------------------------------------------------------------
# World Bank
# --------------------------------------------------------------------------------------------
def build_wb(shared: Path, iso3: set[str]) -> tuple[list[list[object]], Source]:
    path = require_file(shared / WB_CSV)
    rows: list[list[object]] = []
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != ["Country Name", "Country Code", "Year", "Value"]:
            raise RefBuildError(f"{path}: unexpected header {reader.fieldnames}")
        for lineno, r in enumerate(reader, start=2):
            if r["Country Code"] not in iso3:
                continue
            where = f"{path} line {lineno}"
            rows.append([r["Country Code"], _int_cell(r["Year"], where), _int_cell(r["Value"], where), SRC_WB, NOTE_WB])
    found = {r[0] for r in rows}
    if found != iso3:
        raise RefBuildError(f"{path}: OAS members without World Bank population: {sorted(iso3 - found)}")
    keys = [(r[0], r[1]) for r in rows]
    if len(set(keys)) != len(keys):
        raise RefBuildError(f"{path}: duplicate (country, year) rows")
    src = Source(
        rel_path=WB_CSV,
        publisher="World Bank, World Development Indicators, SP.POP.TOTL 'Population, total' "
        "(http://data.worldbank.org/indicator/SP.POP.TOTL)",
        mirror="https://github.com/datasets/population (Datopian core datapackage), `data/population.csv`, "
        "commit 425fc447a53a26c767a15a7de60c4cc2478a0595",
        licence="ODC-PDDL-1.0 (stated in the mirror's datapackage.json / README)",
        sha256=sha256_file(path),
    )
    return rows, src


# --------------------------------------------------------------------------------------------
# Mexico (CONAPO via SESNSP mirror)
# --------------------------------------------------------------------------------------------
def mx_state_codes(path: Path) -> dict[str, str]:
    """name -> INEGI 2-digit code, from the (Clave_Ent, Entidad) pairs of the SESNSP state crime file."""
    pairs: dict[str, str] = {}
    with open(path, encoding="cp1252", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        try:
            i_code, i_name = header.index("Clave_Ent"), header.index("Entidad")
        except ValueError as exc:
            raise RefBuildError(f"{path}: columns Clave_Ent/Entidad not found in header {header}") from exc
        for lineno, row in enumerate(reader, start=2):
            code = _int_cell(row[i_code], f"{path} line {lineno} Clave_Ent")
            name = _nfc(row[i_name])
            if not 1 <= code <= 32:
                raise RefBuildError(f"{path} line {lineno}: Clave_Ent {code} outside 1..32")
            code_s = f"{code:02d}"
            if pairs.setdefault(name, code_s) != code_s:
                raise RefBuildError(f"{path}: state {name!r} has two codes ({pairs[name]}, {code_s})")
    if sorted(pairs.values()) != [f"{i:02d}" for i in range(1, 33)]:
        raise RefBuildError(f"{path}: expected one name for each state code 01..32, got {sorted(pairs.values())}")
    return pairs


def build_mx(shared: Path) -> tuple[list[list[object]], list[list[object]], list[Source], list[str]]:
    pop_path = require_file(shared / MX_POP_CSV)
    crime_path = require_file(shared / MX_CRIME_CSV)
    codes = mx_state_codes(crime_path)
    with open(pop_path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        body = list(reader)
    if header[0] != "Entidad":
        raise RefBuildError(f"{pop_path}: first column is {header[0]!r}, expected 'Entidad'")
    year_cols = {int(h): i for i, h in enumerate(header) if i > 0 and re.fullmatch(r"\d{4}", h)}
    missing_years = [y for y in MX_YEARS if y not in year_cols]
    if missing_years:
        raise RefBuildError(f"{pop_path}: year columns missing: {missing_years}")

    national: list[list[object]] = []
    states: list[list[object]] = []
    unmatched: list[str] = []
    seen: set[str] = set()
    for lineno, row in enumerate(body, start=2):
        name = _nfc(row[0])
        if name == MX_NATIONAL_NAME:
            target, code = national, None
        elif name in codes:
            target, code = states, codes[name]
        else:
            unmatched.append(name)
            continue
        if name in seen:
            raise RefBuildError(f"{pop_path} line {lineno}: {name!r} appears twice")
        seen.add(name)
        for y in MX_YEARS:
            value = _int_cell(row[year_cols[y]], f"{pop_path} line {lineno} year {y}")
            note = NOTE_MX_EST if y <= MX_LAST_ESTIMATE_YEAR else NOTE_MX_PROJ
            if code is None:
                target.append(["MEX", y, value, SRC_MX, note])
            else:
                target.append(["MEX", code, name, y, value, SRC_MX, note])
    if unmatched:
        raise RefBuildError(
            f"{pop_path}: names not found among the (Clave_Ent, Entidad) pairs of {crime_path.name}: {unmatched}"
        )
    missing_states = sorted(set(codes) - seen)
    if missing_states or not national:
        raise RefBuildError(f"{pop_path}: missing states {missing_states} or national row")

    # the 32 states must add up to the national total (they do exactly in this extract)
    tot: dict[int, int] = defaultdict(int)
    for r in states:
        tot[r[3]] += r[4]
    diffs = {r[1]: tot[r[1]] - r[2] for r in national if tot[r[1]] != r[2]}
    facts = [
        "Mexico (CONAPO): the 32 states add up exactly to the 'Estados Unidos Mexicanos' row in every year 1990-2030."
        if not diffs
        else f"Mexico (CONAPO): states minus national total differs in years {sorted(diffs)} (max abs {max(map(abs, diffs.values()))})."
    ]
    sources = [
        Source(
            rel_path=MX_POP_CSV,
            publisher="CONAPO (Consejo Nacional de Población, Mexico), 'Conciliación demográfica 1950-2019 y "
            "proyecciones 2020-2070', mid-year population; reshaped extract by the mirror's owner",
            mirror="https://github.com/lapanquecita/incidencia-delictiva, `assets/poblacion_anual.csv`, blob "
            "4afc994b1bcb5536974a8a7a922c3f9e1f8f53a5",
            licence="mirror repo MIT ('Copyright (c) 2022 Montse'); no licence statement for the data (Mexican government open data)",
            sha256=sha256_file(pop_path),
        ),
        Source(
            rel_path=MX_CRIME_CSV,
            publisher="SESNSP (Secretariado Ejecutivo del Sistema Nacional de Seguridad Pública), 'Incidencia delictiva "
            "del fuero común' state file (Dec-2024 release) - used ONLY for its (Clave_Ent, Entidad) pairs",
            mirror="https://github.com/lapanquecita/incidencia-delictiva, `data/estatal.csv`, blob "
            "97c0a84f2b94ffc69cb585504d8bf333ac8f73ef",
            licence="mirror repo MIT ('Copyright (c) 2022 Montse'); no licence statement for the data (Mexican government open data)",
            sha256=sha256_file(crime_path),
        ),
    ]
    return national, states, sources, facts


# --------------------------------------------------------------------------------------------
# Argentina (denominator implied by SNIC rates)
# --------------------------------------------------------------------------------------------
def _parse_rate(value: str, decimal_comma: bool, where: str) -> float:
    v = value.strip()
    pattern = r"[0-9]*,?[0-9]+" if decimal_comma else r"[0-9]*\.?[0-9]+(e-?[0-9]+)?"
    if not re.fullmatch(pattern, v):
        raise RefBuildError(f"{where}: unexpected rate format {value!r}")
    return float(v.replace(",", ".") if decimal_comma else v)


def _year_ranges(years: list[int]) -> str:
    """[2000, 2001, 2002, 2005] -> '2000-2002, 2005'."""
    parts: list[str] = []
    for y in sorted(years):
        if parts and y == int(parts[-1].split("-")[-1]) + 1:
            parts[-1] = parts[-1].split("-")[0] + f"-{y}"
        else:
            parts.append(str(y))
    return ", ".join(parts)


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def _implied(groups: dict, where: str) -> dict:
    """groups: key -> list of (hechos, tasa). Returns key -> (population, n, spread)."""
    out = {}
    for key, pairs in sorted(groups.items()):
        ratios = [h / t * 100000 for h, t in pairs]
        if len(ratios) < AR_MIN_ROWS:
            raise RefBuildError(f"{where}: only {len(ratios)} usable offence rows for {key}")
        med = statistics.median(ratios)
        spread = max(ratios) - min(ratios)
        if spread / med > AR_MAX_REL_SPREAD:
            raise RefBuildError(
                f"{where}: offence rows for {key} imply different populations ({min(ratios):.0f}..{max(ratios):.0f}); "
                "the rate denominator is not unique"
            )
        out[key] = (_round_half_up(med), len(ratios), _round_half_up(spread))
    return out


def build_ar(shared: Path) -> tuple[list[list[object]], list[list[object]], list[Source], list[str]]:
    prov_path = require_file(shared / AR_PROV_CSV)
    pais_path = require_file(shared / AR_PAIS_CSV)

    groups: dict[tuple[str, int], list[tuple[int, float]]] = defaultdict(list)
    excluded: dict[tuple[str, int], list[float]] = defaultdict(list)  # code-31 implied denominators
    names: dict[str, str] = {}
    all_keys: set[tuple[str, int]] = set()
    with open(prov_path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        for lineno, r in enumerate(reader, start=2):
            where = f"{prov_path} line {lineno}"
            pid = r["provincia_id"].strip()
            if not re.fullmatch(r"[0-9]{2}", pid):
                raise RefBuildError(f"{where}: provincia_id {pid!r} is not 2-digit text")
            name = _nfc(r["provincia_nombre"])
            if names.setdefault(pid, name) != name:
                raise RefBuildError(f"{where}: province {pid} has two names")
            year = _int_cell(r["anio"], where)
            all_keys.add((pid, year))
            h = _int_cell(r["cantidad_hechos"], where)
            t = _parse_rate(r["tasa_hechos"], False, where)
            if h >= AR_MIN_COUNT and t > 0:
                if r["codigo_delito_snic_id"].strip() in AR_EXCLUDED_CODES:
                    excluded[(pid, year)].append(h / t * 100000)
                else:
                    groups[(pid, year)].append((h, t))
    if set(groups) != all_keys:
        raise RefBuildError(f"{prov_path}: no usable offence rows for {sorted(all_keys - set(groups))}")
    prov = _implied(groups, str(prov_path))
    sub_rows = [
        ["ARG", pid, names[pid], year, pop, SRC_AR,
         NOTE_AR.format(min=AR_MIN_COUNT, n=n, spread=spread, file="snic-provincias.csv")]
        for (pid, year), (pop, n, spread) in sorted(prov.items())
    ]

    ngroups: dict[int, list[tuple[int, float]]] = defaultdict(list)
    years: set[int] = set()
    with open(pais_path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter=";")
        for lineno, r in enumerate(reader, start=2):
            where = f"{pais_path} line {lineno}"
            year = _int_cell(r["anio"], where)
            years.add(year)
            h = _int_cell(r["cantidad_hechos"], where)
            t = _parse_rate(r["tasa_hechos"], True, where)
            if h >= AR_MIN_COUNT and t > 0:
                if r["codigo_delito_snic_id"].strip() in AR_EXCLUDED_CODES:
                    excluded[("ARG", year)].append(h / t * 100000)
                else:
                    ngroups[year].append((h, t))
    if set(ngroups) != years:
        raise RefBuildError(f"{pais_path}: no usable offence rows for years {sorted(years - set(ngroups))}")
    nat = _implied(ngroups, str(pais_path))
    nat_rows = [
        ["ARG", year, pop, SRC_AR, NOTE_AR.format(min=AR_MIN_COUNT, n=n, spread=spread, file="snic-pais.csv")]
        for year, (pop, n, spread) in sorted(nat.items())
    ]

    # diagnostics: suicides denominator; national (2023 release) vs sum of provinces (2025 release)
    facts = []
    prov_sum: dict[int, int] = defaultdict(int)
    prov_count: dict[int, int] = defaultdict(int)
    for (pid, year), (pop, _, _) in prov.items():
        prov_sum[year] += pop
        prov_count[year] += 1
    diffs = [
        (y, nat[y][0] - prov_sum[y]) for y in sorted(nat) if prov_count.get(y) == len(names)
    ]
    if diffs:
        exact = [y for y, d in diffs if d == 0]
        other = [(y, d) for y, d in diffs if d != 0]
        text = (
            f"Argentina: implied national population (snic-pais.csv, 2023 release) vs the sum of the {len(names)} "
            f"implied provincial populations (snic-provincias.csv, 2025 release), years {diffs[0][0]}-{diffs[-1][0]}: "
            f"identical in {len(exact)} years"
        )
        if exact:
            text += f" ({_year_ranges(exact)})"
        if other:
            worst = max(other, key=lambda d: abs(d[1]))
            text += (
                f"; different in {_year_ranges([y for y, _ in other])} (largest {worst[1]:+d} persons in {worst[0]}; "
                "the releases use different population estimates for those years)"
            )
        facts.append(text + ".")
    rel = [
        v / (prov[k][0] if k[0] != "ARG" else nat[k[1]][0]) - 1
        for k, vals in excluded.items()
        for v in vals
        if (k in prov if k[0] != "ARG" else k[1] in nat)
    ]
    facts.append(
        "Argentina: SNIC rates for offence 31 'Suicidios (consumados)' use a different denominator from every other "
        f"offence: it is {-max(rel):.1%} to {-min(rel):.1%} smaller than the common one ({len(rel)} rows with "
        f"cantidad_hechos >= {AR_MIN_COUNT}; presumably a restricted age group), so code 31 is excluded from the derivation. "
        f"All other rows with cantidad_hechos >= {AR_MIN_COUNT} agree to within a few persons (checked: relative "
        f"spread <= {AR_MAX_REL_SPREAD:g}, else the build fails)."
    )
    ar_licence = "not stated in the mirror repos (datos.gob.ar data is normally CC BY 4.0 - unverified)"
    sources = [
        Source(
            rel_path=AR_PROV_CSV,
            publisher="Dirección Nacional de Estadística Criminal, Ministerio de Seguridad de la Nación (Argentina), "
            "SNIC province x year x offence file (2025 release, years 2000-2024)",
            mirror="https://github.com/chrisjav35298/lab1_christian_miranda, `files/snic-provincias.csv`, commit "
            "9730cb02bcf8d04b13e8b506da186c079fa36fe1 (official download committed unchanged)",
            licence=ar_licence,
            sha256=sha256_file(prov_path),
        ),
        Source(
            rel_path=AR_PAIS_CSV,
            publisher="Dirección Nacional de Estadística Criminal, Ministerio de Seguridad de la Nación (Argentina), "
            "SNIC national x year x offence file (2023 release, years 2000-2022)",
            mirror="https://github.com/bbarrionuevo/Ciencia-de-Datos--Python-pandas-tkinter, `snic-pais.csv`, commit "
            "0890f8b52342da1096a46e7e121c34d148189564",
            licence=ar_licence,
            sha256=sha256_file(pais_path),
        ),
    ]
    return nat_rows, sub_rows, sources, facts


US_FBI_CSV = "us_fbi/estimated_crimes_1979_2019.csv"
NOTE_US = "FBI UCR state population estimate (column 'population' of estimated_crimes_1979_2019.csv)"


def build_us(shared: Path) -> tuple[list[list[object]], list[Source]]:
    """US states (+ DC) from the FBI estimated-crimes file's own population column: the denominator
    the FBI itself uses for its rates. The national row (empty state) is not kept (World Bank is)."""
    path = require_file(shared / US_FBI_CSV)
    rows: list[list[object]] = []
    with open(path, encoding="utf-8", newline="") as fh:
        for lineno, r in enumerate(csv.DictReader(fh), start=2):
            if not r["state_abbr"]:
                continue
            where = f"{path} line {lineno}"
            rows.append(["USA", r["state_abbr"], _nfc(r["state_name"]), _int_cell(r["year"], where),
                         _int_cell(r["population"], where), SRC_US, NOTE_US])
    src = Source(rel_path=US_FBI_CSV, publisher="FBI Uniform Crime Reporting, estimated crimes 1979-2019",
                 mirror="see us_fbi/PROVENANCE.md in the shared real-data folder",
                 licence="US government work (see us_fbi/PROVENANCE.md)", sha256=sha256_file(path))
    return rows, [src]


def build(shared: Path, iso3: set[str]) -> PopulationResult:
    res = PopulationResult()
    wb_rows, wb_src = build_wb(shared, iso3)
    mx_nat, mx_states, mx_src, mx_facts = build_mx(shared)
    ar_nat, ar_prov, ar_src, ar_facts = build_ar(shared)
    res.national = sorted(wb_rows + mx_nat + ar_nat, key=lambda r: (r[0], r[1], r[3]))
    us_states, us_src = build_us(shared)
    local = [build_br(), build_co(), build_cr(), build_cl()]
    local_rows = [r for rows, _ in local for r in rows]
    res.subnational = sorted(mx_states + ar_prov + us_states + local_rows, key=lambda r: (r[0], r[1], r[3], r[5]))
    res.sources = [wb_src, *mx_src, *ar_src, *us_src]
    res.local_sources = [src for _, src in local]
    res.facts = mx_facts + ar_facts
    # one figure per subdivision-year: the engine joins subnational.csv without choosing among sources
    keys = [(r[0], r[1], r[3]) for r in res.subnational]
    if len(set(keys)) != len(keys):
        dup = sorted(k for k, n in Counter(keys).items() if n > 1)[:5]
        raise RefBuildError(f"subnational.csv: several sources for the same subdivision-year, e.g. {dup}")

    # cross-source sanity: alternative national figures should be close to the World Bank's
    wb = {(r[0], r[1]): r[2] for r in wb_rows}
    for (rows, src), label in zip(local, ("BRA IBGE", "COL DANE (epiCo)", "CRI INEC", "CHL INE")):
        sums: dict[int, int] = defaultdict(int)
        for r in rows:
            sums[r[3]] += r[4]
        ratios = [(y, v / wb[(rows[0][0], y)] - 1) for y, v in sorted(sums.items()) if (rows[0][0], y) in wb]
        lo, hi = min(ratios, key=lambda x: x[1]), max(ratios, key=lambda x: x[1])
        if max(abs(lo[1]), abs(hi[1])) > 0.10:
            raise RefBuildError(f"{label}: sum of subdivisions differs from World Bank by more than 10%: {lo}, {hi}")
        res.facts.append(
            f"{label}: sum of subdivisions vs World Bank national population, years {ratios[0][0]}-{ratios[-1][0]}: "
            f"from {lo[1]:+.2%} ({lo[0]}) to {hi[1]:+.2%} ({hi[0]})."
        )
    for label, rows in (("CONAPO", mx_nat), ("SNIC-implied", ar_nat)):
        ratios = [(r[1], r[2] / wb[(r[0], r[1])] - 1) for r in rows if (r[0], r[1]) in wb]
        if ratios:
            worst = max(ratios, key=lambda x: abs(x[1]))
            if abs(worst[1]) > 0.10:
                raise RefBuildError(f"{label} national population differs from World Bank by {worst[1]:+.1%} in {worst[0]}")
            res.facts.append(
                f"{rows[0][0]} {label} vs World Bank national population, overlapping years "
                f"{ratios[0][0]}-{ratios[-1][0]}: largest relative difference {worst[1]:+.2%} ({worst[0]})."
            )
    return res


def provenance(res: PopulationResult, date: str) -> str:
    def count(rows, src, idx):
        return sum(1 for r in rows if r[idx] == src)

    n_wb = count(res.national, SRC_WB, 3)
    return "\n".join(
        [
            "# reference/population - population denominators",
            "",
            "Generated by `tools/refbuild` - do not edit by hand.",
            "",
            "## Files",
            f"- `national.csv` ({len(res.national)} rows): key (country_iso3, year, source_id). "
            f"`{SRC_WB}`: {n_wb} rows (35 OAS members x 1960-2024); `{SRC_MX}`: {count(res.national, SRC_MX, 3)} rows "
            f"(Mexico 1990-2030); `{SRC_AR}`: {count(res.national, SRC_AR, 3)} rows (Argentina 2000-2022). "
            "Schema `national.schema.json`.",
            f"- `subnational.csv` ({len(res.subnational)} rows): key (country_iso3, subdivision_code, year, source_id). "
            f"`{SRC_MX}`: {count(res.subnational, SRC_MX, 5)} rows (32 states x 1990-2030); `{SRC_AR}`: "
            f"{count(res.subnational, SRC_AR, 5)} rows (24 provinces x 2000-2024); `{SRC_US}`: "
            f"{count(res.subnational, SRC_US, 5)} rows (US states + DC from the FBI file's population column, "
            f"Mississippi absent 1979-1994 as in the file); `{SRC_BR}`: {count(res.subnational, SRC_BR, 5)} rows (27 "
            f"Brazilian UFs x 2015-2021); `{SRC_CO}`: {count(res.subnational, SRC_CO, 5)} rows (1,122 Colombian "
            f"municipalities x 2012-2024; 94663 only to 2019); `{SRC_CR}`: {count(res.subnational, SRC_CR, 5)} "
            f"rows (7 Costa Rican provinces x 2011-2025); `{SRC_CL}`: {count(res.subnational, SRC_CL, 5)} rows (16 "
            "Chilean regions x 2002-2035). One source per subdivision-year (the build fails otherwise). Schema "
            "`subnational.schema.json`.",
            "- Several sources for the same country-year are ALTERNATIVE denominators: choose one per indicator "
            "(e.g. the publisher's own denominator to reproduce its rates, World Bank for cross-country comparison); "
            "never sum across `source_id`.",
            "",
            "## Sources",
            *[s.markdown() + "\n" for s in res.sources],
            "### Subnational sources committed in this repository (`reference/population/sources/`)",
            "National statistics office figures obtained from public GitHub mirrors (no direct access to the offices' "
            "websites from the build environment). Files too large to commit (IBGE .xls, INEC .xlsx, epiCo .rds) are "
            "reduced to small extracts by `tools/refbuild/subnat_extract.py`, which reads the mirror at the pinned "
            "commit, checks each file's git blob id and sha256 and keeps the published figures unchanged (no "
            "interpolation); the Chile file is committed verbatim. The build reads these committed files.",
            "",
            *[s.markdown() + "\n" for s in res.local_sources],
            "## How the tables are built",
            f"- `{SRC_WB}`: `population.csv` (long format) filtered to the 35 ISO3 codes of "
            "`reference/countries/oas_members.csv` (aggregates such as 'World' are dropped by the filter); `Value` must be "
            "an integer; all years kept (1960-2024).",
            f"- `{SRC_MX}`: `poblacion_anual.csv` (wide, one column per year) melted; years 1990-2030 only (to keep the "
            "file small; values from 2020 on are CONAPO projections and `source_note` says so). The national row "
            "'Estados Unidos Mexicanos' goes to `national.csv`; the 32 states go to `subnational.csv`. The file has no "
            "state codes: names are matched EXACTLY (after Unicode NFC and whitespace normalisation) to the "
            "(Clave_Ent, Entidad) pairs of `estatal.csv` (read as cp1252; Clave_Ent zero-padded to 2 digits = INEGI "
            "state code). The build fails if any name does not match.",
            f"- `{SRC_AR}`: SNIC publishes counts (`cantidad_hechos`) and rates per 100,000 (`tasa_hechos`) but not the "
            "population. For each province (`provincia_id`, 2-digit INDEC code kept as text) and year, and for the "
            "country (snic-pais.csv: `;` delimiter, decimal comma, leading zero sometimes missing, e.g. `,72`), the "
            f"denominator is the median over offence rows with cantidad_hechos >= {AR_MIN_COUNT} and tasa_hechos > 0 of "
            "cantidad_hechos / tasa_hechos x 100000, rounded half up. Offence 31 (suicides) is excluded (see below). "
            "The rates carry 8 significant digits, so the derived figures are exact to within a few persons; "
            "`source_note` gives the number of rows used and their spread. Parent and child offence codes are both "
            "used: the denominator is the same for all of them.",
            f"- `{SRC_BR}`, `{SRC_CO}`, `{SRC_CR}`, `{SRC_CL}`: one row per subdivision-year from the committed files "
            "above, with the code the source adapters emit: Brazilian UF names matched EXACTLY to the name -> IBGE code map "
            "of `reference/sources/br_sinesp.yaml`; Costa Rican province names (accents removed, upper case) to the map of "
            "`cr_oij.yaml` (`_U` = unknown province has no population); Chilean region numbers zero-padded to 2 digits "
            "(the CUT codes of `cl_cead.yaml`); Colombian DIVIPOLA municipality codes as 5-digit text (= the first 5 digits "
            "of the Policía Nacional's CODIGO DANE, as co_policia emits them). The build fails if a name is not in the map "
            "or a subdivision-year is missing.",
            "",
            "## Facts found while building (re-computed on every build)",
            *[f"- {f}" for f in res.facts],
            "",
            build_section(date),
            "",
        ]
    )


# --------------------------------------------------------------------------------------------
# Brazil, Colombia, Costa Rica, Chile: national statistics office figures committed under
# reference/population/sources/ (see subnat_extract.py for how the extracts were made)
# --------------------------------------------------------------------------------------------
SUBNAT_SOURCES_DIR = REPO_ROOT / "reference" / "population" / "sources"
SPECS_DIR = REPO_ROOT / "reference" / "sources"
CL_CSV = "chl/ine_estimaciones-y-proyecciones-2002-2035_base-2017_region_base.csv"
CL_YEARS = range(2002, 2036)
EXTRACT_CMD = ("uv run --with xlrd==2.0.1 --with rdata python -m tools.refbuild.subnat_extract "
               "--mirrors DIR  (DIR/<owner>+<name>/repo = git snapshot of the mirror repository)")


@dataclass
class LocalSource:
    """A source file committed in the repository (not in the shared folder)."""

    rel_path: str  # relative to reference/population/sources
    publisher: str
    origin: str  # where the figures were obtained (repository, commit, path, blob, sha256)
    licence: str
    sha256: str = ""
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        return provenance_markdown(f"reference/population/sources/{self.rel_path}", self.publisher, self.origin,
                                   "Licence", self.licence, "sha256 of the committed file", self.sha256, self.notes)


def _spec_map(source_id: str, *keys: str) -> dict[str, str]:
    """A name -> code map from a source spec (reference/sources/<id>.yaml), e.g. the UF names of br_sinesp."""
    from pipelines import yamlio  # noqa: PLC0415

    path = require_file(SPECS_DIR / f"{source_id}.yaml")
    node = yamlio.load(path.read_text(encoding="utf-8"))
    for k in keys:
        node = node[k] if not isinstance(node, list) else node[int(k)]
    return {str(k): str(v) for k, v in node.items()}


def _read_local(rel: str, header: list[str], encoding: str = "utf-8") -> list[dict[str, str]]:
    path = require_file(SUBNAT_SOURCES_DIR / rel)
    with open(path, encoding=encoding, newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != header:
            raise RefBuildError(f"{path}: header {reader.fieldnames}, expected {header}")
        return list(reader)


def _check_complete(rows: list[list[object]], iso3: str, codes: set[str], years: range, where: str) -> None:
    have = {(r[1], r[3]) for r in rows}
    missing = sorted((c, y) for c in codes for y in years if (c, y) not in have)
    if missing:
        raise RefBuildError(f"{where}: {iso3} subdivisions without population: {missing[:10]}")
    if len(have) != len(rows):
        raise RefBuildError(f"{where}: duplicate (subdivision, year) rows")


BR_YEARS = range(2015, 2022)
CR_YEARS = range(2011, 2026)
CO_YEARS = range(2012, 2025)


def build_br() -> tuple[list[list[object]], LocalSource]:
    from tools.refbuild import subnat_extract as sx  # noqa: PLC0415

    codes = _spec_map("br_sinesp", "layouts", "0", "columns", "subdivision_code", "map")
    rows = []
    for i, r in enumerate(_read_local(sx.BR_OUT, sx.BR_HEADER), start=2):
        name = _nfc(r["uf_name"])
        if name not in codes:
            raise RefBuildError(f"{sx.BR_OUT} line {i}: UF {name!r} is not in br_sinesp.yaml's subdivision map")
        year = _int_cell(r["year"], f"{sx.BR_OUT} line {i}")
        note = f"IBGE estimativa da população residente em 1º de julho de {year} (DOU/TCU), estimativa_dou_{year}.xls"
        if r["cell_text"]:
            note += f"; published as {r['cell_text']!r}: boundary change between states (footnote of the file)"
        rows.append(["BRA", codes[name], name, year, _int_cell(r["population"], f"{sx.BR_OUT} line {i}"), SRC_BR, note])
    _check_complete(rows, "BRA", set(codes.values()), BR_YEARS, sx.BR_OUT)
    first = sx.br_files()[0][1]
    src = LocalSource(
        rel_path=sx.BR_OUT,
        publisher="IBGE (Instituto Brasileiro de Geografia e Estatística), Diretoria de Pesquisas / COPIS, 'Estimativas da "
        "população residente no Brasil e unidades da federação com data de referência em 1º de julho' (one workbook per "
        "year, sheet 'BRASIL E UFs'; the figures sent to the TCU and published in the DOU), years 2015-2021 "
        "(https://www.ibge.gov.br/estatisticas/sociais/populacao/9103-estimativas-de-populacao.html)",
        origin=f"https://github.com/{sx.BR_REPO} (folder `brute/`, commit {sx.BR_COMMIT}): "
        + "; ".join(f"`estimativa_dou_{y}.xls` blob {f.blob} sha256 {f.sha256}" for y, f in sx.br_files())
        + f" (e.g. {first.url})",
        licence="not stated in the mirror repository (no LICENSE file); IBGE publications may be reproduced with the "
        "source cited (IBGE terms of use - not checked here)",
        sha256=sha256_file(SUBNAT_SOURCES_DIR / sx.BR_OUT),
        notes=[
            "The extract keeps the 27 UF rows of sheet 'BRASIL E UFs' as published; cells written as text with a footnote "
            "mark ('3.204.028 (*)': estimate adjusted for a boundary change between two states) are kept in `cell_text` "
            "and their number is used. Regional rows and the 'Brasil' row are not kept (the 27 UFs add up exactly to "
            "'Brasil' in every year 2015-2021, checked by the extract).",
            "estimativa_dou_2016.xls in the mirror was re-saved by the mirror's owner (xls metadata); its 27 UF figures were "
            "compared with IBGE's original estimativa_dou_2016_20160913.xlsx found in "
            "https://github.com/gastaojucafilho/TCC-PUC-Minas-Virtual and are identical. The 2021 figures are identical to "
            "https://github.com/gabrielapcustodio/datasets `ibge-estimativa-populacional-uf.csv`.",
            f"Rebuild the extract: `{EXTRACT_CMD} bra`.",
        ],
    )
    return rows, src


def build_co() -> tuple[list[list[object]], LocalSource]:
    from tools.refbuild import subnat_extract as sx  # noqa: PLC0415

    rows = []
    for i, r in enumerate(_read_local(sx.CO_OUT, sx.CO_HEADER), start=2):
        where = f"{sx.CO_OUT} line {i}"
        if not re.fullmatch(r"[0-9]{5}", r["dpmp"]) or not r["departamento"]:
            raise RefBuildError(f"{where}: bad DIVIPOLA code or empty department name {r}")
        name = r["municipio"] or f"(code {r['dpmp']}: no name in epiCo's divipola_table)"
        rows.append(["COL", r["dpmp"], f"{name}, {r['departamento']}", _int_cell(r["year"], where),
                     _int_cell(r["population"], where), SRC_CO,
                     "DANE population projection by municipality (sum of age-sex groups), via epiCo"])
    src = LocalSource(
        rel_path=sx.CO_OUT,
        publisher="DANE (Departamento Administrativo Nacional de Estadística, Colombia), estimates and projections of "
        "population by municipality, age and sex (https://www.dane.gov.co/index.php/estadisticas-por-tema/demografia-y-"
        "poblacion/proyecciones-de-poblacion), as packaged by the epiCo R package (Universidad de los Andes / Epiverse "
        "TRACE), whose vignette says: 'population projections of Colombia at the national, departmental, and "
        "municipality levels (provided by the DANE) ... from 2012 to 2024'. epiCo does not name the DANE release.",
        origin=f"https://github.com/{sx.CO_REPO}, commit {sx.CO_COMMIT}: `{sx.CO_POP.path}` (blob {sx.CO_POP.blob}, "
        f"sha256 {sx.CO_POP.sha256}); municipality names from `{sx.CO_DIVIPOLA.path}` (blob {sx.CO_DIVIPOLA.blob}); "
        f"checked against `{sx.CO_DEP.path}` and `{sx.CO_NAT.path}`",
        licence="epiCo: MIT ('Copyright 2024 epiCo authors'); no separate statement for the DANE data (Colombian public "
        "information)",
        sha256=sha256_file(SUBNAT_SOURCES_DIR / sx.CO_OUT),
        notes=[
            "Total = sum of the 172 age-sex columns (hombres_0..85+, mujeres_0..85+) of each municipality-year; the "
            "municipalities add up exactly to epiCo's departmental and national files in every year 2012-2024 (checked "
            "by the extract). National totals: 2018 48,258,494; 2019 49,395,678; 2023 52,215,503. Not compared with "
            "dane.gov.co directly (not reachable from this environment).",
            "Mapiripana (94663) has population 0 in 2020-2024 in this file; those 5 rows are left out (a rate with a zero "
            "denominator is meaningless), so 94663 has figures 2012-2019 only. epiCo's divipola_table has no row for 94663 "
            "(its name column says so instead of a name).",
            "Only municipalities (the level co_policia emits) are built; departments are not added.",
            f"Rebuild the extract: `{EXTRACT_CMD} col`.",
        ],
    )
    return rows, src


def build_cr() -> tuple[list[list[object]], LocalSource]:
    from tools.refbuild import subnat_extract as sx  # noqa: PLC0415
    from tools.refbuild.common import strip_accents  # noqa: PLC0415

    codes = _spec_map("cr_oij", "layouts", "0", "columns", "subdivision_code", "map")
    rows = []
    for i, r in enumerate(_read_local(sx.CR_OUT, sx.CR_HEADER), start=2):
        where = f"{sx.CR_OUT} line {i}"
        key = strip_accents(r["province_name"]).upper()
        if key not in codes or codes[key] == "_U":
            raise RefBuildError(f"{where}: province {r['province_name']!r} not in cr_oij.yaml's subdivision map")
        year = _int_cell(r["year"], where)
        rows.append(["CRI", codes[key], r["province_name"], year, _int_cell(r["population"], where), SRC_CR,
                     f"INEC projection at 30 June {year} (2011 census base), repoblacev2011-2025-03.xlsx sheet {r['sheet']} "
                     f"row {r['row']}"])
    _check_complete(rows, "CRI", {c for c in codes.values() if c != "_U"}, CR_YEARS, sx.CR_OUT)
    src = LocalSource(
        rel_path=sx.CR_OUT,
        publisher="INEC (Instituto Nacional de Estadística y Censos, Costa Rica), 'Costa Rica: Población total proyectada al "
        "30 de junio por grupos de edades, según provincia, cantón, distrito y sexo', 2011-2025 (Cuadro 3, one sheet per "
        "year; workbook `repoblacev2011-2025-03.xlsx`, projections based on the 2011 census)",
        origin=f"https://github.com/{sx.CR_REPO}, commit {sx.CR_COMMIT} (2020-11-01), `{sx.CR_POP.path}` (blob "
        f"{sx.CR_POP.blob}, sha256 {sx.CR_POP.sha256}; workbook author property 'Karla Jinesta')",
        licence="not stated in the mirror repository; INEC publications may be reproduced with the source cited (INEC "
        "terms - not checked here)",
        sha256=sha256_file(SUBNAT_SOURCES_DIR / sx.CR_OUT),
        notes=[
            "Province rows are the first row named after each province (official order 1-7) in the sheet's total "
            "section; the extract checks that the 7 add up to the 'Costa Rica' row and equal Hombres + Mujeres.",
            "This is the 2011-census-based series. INEC has since published projections based on the 2022 census "
            "(which counted 5,044,197 persons vs 5,213,362 projected here for 2022); that newer series was not found in "
            "a reachable repository. Rates for 2023 with this denominator are therefore somewhat lower than with the "
            "newer one.",
            "The OIJ code `_U` (province DESCONOCIDO) has no population: its rate stays NULL.",
            f"Rebuild the extract: `{EXTRACT_CMD} cri`.",
        ],
    )
    return rows, src


def build_cl() -> tuple[list[list[object]], LocalSource]:
    codes = _spec_map("cl_cead", "layouts", "0", "options", "regions")
    names: dict[str, str] = {}
    for name, code in codes.items():  # first spelling per code (e.g. 'Región Metropolitana de Santiago')
        names.setdefault(code, name)
    path = require_file(SUBNAT_SOURCES_DIR / CL_CSV)
    with open(path, encoding="latin-1", newline="") as fh:
        reader = csv.DictReader(fh)
        expected = ["Region", "Sexo", "Edad", *[f"a{y}" for y in CL_YEARS]]
        if reader.fieldnames != expected:
            raise RefBuildError(f"{path}: unexpected header {reader.fieldnames}")
        tot: dict[tuple[str, int], int] = defaultdict(int)
        cells: dict[str, set[tuple[str, str]]] = defaultdict(set)
        for lineno, r in enumerate(reader, start=2):
            where = f"{path} line {lineno}"
            code = f"{_int_cell(r['Region'], where):02d}"
            if (r["Sexo"], r["Edad"]) in cells[code]:
                raise RefBuildError(f"{where}: duplicate (Region, Sexo, Edad)")
            cells[code].add((r["Sexo"], r["Edad"]))
            for y in CL_YEARS:
                tot[(code, y)] += _int_cell(r[f"a{y}"], where)
    full = {(s, str(a)) for s in ("1", "2") for a in range(0, 101)}
    bad = [c for c, s in cells.items() if s != full]
    if bad or set(cells) != set(names):
        raise RefBuildError(f"{path}: regions {sorted(cells)} vs cl_cead.yaml {sorted(names)}; incomplete sex x age 0-100: {bad}")
    rows = [["CHL", c, names[c], y, v, SRC_CL,
             f"INE Chile estimate/projection at 30 June {y} (2017 census base), sum of sex x age 0-100"]
            for (c, y), v in sorted(tot.items())]
    src = LocalSource(
        rel_path=CL_CSV,
        publisher="INE (Instituto Nacional de Estadísticas, Chile), 'Estimaciones y proyecciones de la población de Chile "
        "1992-2050, base 2017', region x sex x single age file 2002-2035 "
        "(https://www.ine.gob.cl/docs/default-source/proyecciones-de-poblacion/cuadros-estadisticos/base-2017/"
        "ine_estimaciones-y-proyecciones-2002-2035_base-2017_region_base.csv)",
        origin="https://github.com/elaval/data-sources, commit 285a6e5d0505c2c9a2cb5015b48f2ec00cc4b86d, "
        "`chile/INE/Proyecciones_de_población/ine_estimaciones-y-proyecciones-2002-2035_base-2017_region_base.csv` (blob "
        "88a1f345c7e0bd124aeadcf1d834bcfb35d1754b, added in commit 6c87661ad2986bdc8b9e36dab29726b82e71f554; the "
        "mirror's README cites the INE URL above). Committed here byte for byte (553 KB).",
        licence="not stated in the mirror repository; INE Chile data (normally free reuse citing INE - not checked here)",
        sha256=sha256_file(path),
        notes=[
            "Columns Region (1-16, written without the leading zero: zero-padded here to the CUT code used by cl_cead), "
            "Sexo (1, 2), Edad (0-100), a2002..a2035. Regional total = sum over sex and age; the build checks that every "
            "region has all 202 sex x age rows. Region names from `reference/sources/cl_cead.yaml`.",
            "This base-2017 series was published before the results of Chile's 2024 census.",
        ],
    )
    return rows, src
