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
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.refbuild.common import RefBuildError, Source, build_section, require_file, sha256_file

WB_CSV = "wb_population/population.csv"
MX_POP_CSV = "mx_sesnsp/poblacion_anual.csv"
MX_CRIME_CSV = "mx_sesnsp/estatal.csv"
AR_PROV_CSV = "ar_snic/snic-provincias.csv"
AR_PAIS_CSV = "ar_snic/snic-pais.csv"

SRC_WB = "wb_sp_pop_totl"
SRC_MX = "mx_conapo"
SRC_AR = "ar_snic_implied"
SRC_US = "us_fbi_estimate"
SOURCE_IDS = [SRC_AR, SRC_MX, SRC_US, SRC_WB]

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
               "constraints": {"required": True, "pattern": "^[A-Z]{3}$"}}
_FIELD_YEAR = {"name": "year", "type": "year", "description": "Reference year (mid-year population).",
               "constraints": {"required": True, "minimum": 1950, "maximum": 2100}}
_FIELD_POP = {"name": "population", "type": "integer", "description": "Number of persons.",
              "constraints": {"required": True, "minimum": 1}}
_FIELD_SRC = {"name": "source_id", "type": "string", "description": "Source of the figure: "
              "wb_sp_pop_totl = World Bank SP.POP.TOTL; mx_conapo = CONAPO (Mexico); ar_snic_implied = denominator "
              "implied by the SNIC (Argentina) rates.", "constraints": {"required": True, "enum": SOURCE_IDS}}
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
    "title": "First-level subdivision population (Mexican states, Argentine provinces), by source",
    "description": "Long format. Key (country_iso3, subdivision_code, year, source_id). subdivision_code is the national "
    "statistical office code as zero-padded text: INEGI state code 01-32 (MEX), INDEC province code 02-94 (ARG), "
    "USPS state abbreviation (USA, as in the FBI file).",
    "fields": [
        _FIELD_ISO3,
        {"name": "subdivision_code", "type": "string",
         "description": "National 2-digit code: INEGI clave de entidad (MEX), INDEC/SNIC provincia_id (ARG).",
         "constraints": {"required": True, "pattern": "^[0-9A-Z]{2}$"}},
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
    res.subnational = sorted(mx_states + ar_prov + us_states, key=lambda r: (r[0], r[1], r[3], r[5]))
    res.sources = [wb_src, *mx_src, *ar_src, *us_src]
    res.facts = mx_facts + ar_facts

    # cross-source sanity: alternative national figures should be close to the World Bank's
    wb = {(r[0], r[1]): r[2] for r in wb_rows}
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
            "Generated by `pipelines/refbuild` - do not edit by hand.",
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
            "Mississippi absent 1979-1994 as in the file). Schema `subnational.schema.json`.",
            "- Several sources for the same country-year are ALTERNATIVE denominators: choose one per indicator "
            "(e.g. the publisher's own denominator to reproduce its rates, World Bank for cross-country comparison); "
            "never sum across `source_id`.",
            "",
            "## Sources",
            *[s.markdown() + "\n" for s in res.sources],
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
            "",
            "## Facts found while building (re-computed on every build)",
            *[f"- {f}" for f in res.facts],
            "",
            build_section(date),
            "",
        ]
    )
