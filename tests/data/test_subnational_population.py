"""Subnational populations of Brazil, Colombia, Costa Rica and Chile (issue 10 item 6).

Expected figures were read in the original publications (see reference/population/PROVENANCE.md):

* IBGE estimativa_dou_<year>.xls, sheet 'BRASIL E UFs' (mirror lsbastos/popBR_mun, folder brute/), opened
  in a spreadsheet viewer: São Paulo 2019 = 45.919.049; Piauí 2015 = '3.204.028 (*)'; Distrito Federal
  2021 = '3.094.325(4)'.
* INEC repoblacev2011-2025-03.xlsx (mirror zavalat/gestion), sheet '2023', Cuadro 3: 'Costa Rica' 5 262 225,
  'San José' (province row, sheet row 11) 1 696 265.
* INE Chile ine_estimaciones-y-proyecciones-2002-2035_base-2017_region_base.csv: Region 3 (Atacama),
  sum of the 202 Sexo x Edad rows, column a2013 = 294 709 and a2024 = 319 992 (summed with pandas outside
  the build code).
* epiCo population_projection_col_2.rds (DANE), sum of the 172 hombres_*/mujeres_* columns (rdata + pandas,
  outside the build code): Bogotá 11001 in 2019 = 7 592 871; Medellín 05001 in 2019 = 2 483 545; the 1 122
  municipalities sum to 49 395 678 in 2019.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pandas as pd
import pytest

from pipelines.adapters import adapt_file, load_all_specs, load_spec
from pipelines.harmonise import harmonise
from pipelines.harmonise import reference as ref
from tests.conftest import real

REPO = Path(__file__).resolve().parents[2]
REF = REPO / "reference"

# subdivision codes the adapters may emit that have NO population, on purpose (documented in PROVENANCE.md)
DOCUMENTED_GAPS = {("CRI", "_U")}  # OIJ province DESCONOCIDO


@pytest.fixture(scope="module")
def pop() -> pd.DataFrame:
    return ref.population_subnational(REF)


def value(pop: pd.DataFrame, iso3: str, code: str, year: int, source: str) -> int:
    hit = pop[(pop.country_iso3 == iso3) & (pop.subdivision_code == code) & (pop.year == year) & (pop.source_id == source)]
    assert len(hit) == 1, (iso3, code, year, source, len(hit))
    return int(hit.population.iloc[0])


def test_figures_checked_by_hand_against_the_publications(pop):
    assert value(pop, "BRA", "35", 2019, "ibge_estimativas") == 45919049  # São Paulo
    assert value(pop, "BRA", "22", 2015, "ibge_estimativas") == 3204028  # Piauí, '3.204.028 (*)'
    assert value(pop, "BRA", "53", 2021, "ibge_estimativas") == 3094325  # Distrito Federal, '3.094.325(4)'
    assert value(pop, "CRI", "1", 2023, "inec_cr_proyecciones") == 1696265  # San José province
    assert pop[(pop.country_iso3 == "CRI") & (pop.year == 2023)].population.sum() == 5262225
    assert value(pop, "CHL", "03", 2013, "ine_cl_proyecciones") == 294709  # Atacama
    assert value(pop, "CHL", "03", 2024, "ine_cl_proyecciones") == 319992
    assert value(pop, "COL", "11001", 2019, "dane_proyecciones") == 7592871  # Bogotá D.C.
    assert value(pop, "COL", "05001", 2019, "dane_proyecciones") == 2483545  # Medellín
    assert pop[(pop.country_iso3 == "COL") & (pop.year == 2019)].population.sum() == 49395678


def test_codes_are_the_adapters_codes(pop):
    codes = {iso3: set(pop[pop.country_iso3 == iso3].subdivision_code) for iso3 in ("BRA", "COL", "CRI", "CHL")}
    assert codes["BRA"] == set(load_spec("br_sinesp", REF).layouts[0].columns["subdivision_code"].map.values())
    assert codes["CRI"] == {"1", "2", "3", "4", "5", "6", "7"}
    assert codes["CHL"] == {f"{i:02d}" for i in range(1, 17)}
    assert all(re.fullmatch(r"[0-9]{5}", c) for c in codes["COL"]) and len(codes["COL"]) == 1122


def test_one_figure_per_subdivision_year(pop):
    # the harmoniser joins subnational.csv without choosing a source: two rows would duplicate indicators
    assert not pop.duplicated(["country_iso3", "subdivision_code", "year"]).any()


def test_committed_source_files_match_provenance():
    text = (REF / "population" / "PROVENANCE.md").read_text(encoding="utf-8")
    found = dict(re.findall(r"^### `reference/population/sources/([^`]+)`\n(?:- .*\n)*?- sha256 of the committed file: "
                            r"`([0-9a-f]{64})`", text, re.M))
    assert set(found) == {"bra/ibge_estimativas_uf_2015_2021.csv", "col/dane_municipios_2012_2024_epico.csv",
                          "cri/inec_provincias_2011_2025.csv",
                          "chl/ine_estimaciones-y-proyecciones-2002-2035_base-2017_region_base.csv"}
    for rel, digest in found.items():
        assert hashlib.sha256((REF / "population" / "sources" / rel).read_bytes()).hexdigest() == digest, rel


def test_brazil_footnoted_cells_are_parsed_not_guessed():
    from tools.refbuild.common import RefBuildError
    from tools.refbuild.subnat_extract import br_cell

    assert br_cell(1768204.0, "x") == 1768204
    assert br_cell("3.204.028 (*)", "x") == 3204028
    assert br_cell("9.345.173(**)", "x") == 9345173
    assert br_cell("3.273.227(1)", "x") == 3273227
    for bad in ("3.204.028 (a)", "3204028 (*)", "", 0.0, 12.5):
        with pytest.raises(RefBuildError):
            br_cell(bad, "x")


# Every subdivision-year the real files produce has a population -------------------------------
REAL_FILES = {
    "br_sinesp": ["br_sinesp/indicadoressegurancapublicauf.xlsx"],
    "cr_oij": ["cr_oij/estadisticaspoliciales2023.xlsx"],
    "cl_cead": ["cl_cead/reportesEstadisticos-porDelito_Atacama.xlsx"],
    "co_policia": [f"co_policia/{n}" for n in ("homicidios_2019_3.xlsx", "secuestro_2019_3.xlsx", "extorsion_2019_4.xlsx",
                                               "hurto_automotores_2019_0.xlsx", "delitos_sexuales_2019_0.xlsx")],
}


def adapted(source: str) -> pd.DataFrame:
    spec = load_spec(source, REF)
    allowed = set(ref.countries(REF)["iso3"])
    frames = []
    for i, rel in enumerate(REAL_FILES[source]):
        path = real(rel)
        df, _ = adapt_file(path, spec, submission_id=f"{source}__20250101__0000000{i}", file_name=path.name,
                           allowed_countries=allowed)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("source", sorted(REAL_FILES))
def test_every_subdivision_year_of_the_real_files_has_a_population(source, pop):
    df = adapted(source)
    cells = df.loc[df.subdivision_code.notna(), ["country_iso3", "subdivision_code", "year"]].drop_duplicates()
    assert len(cells)
    have = set(zip(pop.country_iso3, pop.subdivision_code, pop.year.astype(int)))
    missing = {(c, s, int(y)) for c, s, y in cells.itertuples(index=False)
               if (c, s, int(y)) not in have and (c, s) not in DOCUMENTED_GAPS}
    assert not missing, sorted(missing)[:20]


# End to end: the harmonised subdivision rate uses these populations ---------------------------
def harmonised(source: str, tmp_path: Path) -> pd.DataFrame:
    table = adapted(source)
    p = tmp_path / f"{source}.parquet"
    table.to_parquet(p)
    subs = pd.DataFrame([{"submission_id": table.submission_id.iloc[0], "source_id": source,
                          "received_at": "2025-01-01T00:00:00", "validated_path": str(p)}])
    return harmonise(subs, load_all_specs(REF), REF).indicators


def test_brazil_sao_paulo_homicide_rate_end_to_end(tmp_path, pop):
    ind = harmonised("br_sinesp", tmp_path)
    sp = ind[(ind.subdivision_code == "35") & (ind.year == 2019) & (ind.iccs_code == "0101") & ind.month.isna()
             & (ind.sex == "_T") & (ind.age == "_T")]
    assert len(sp) >= 1
    for r in sp.itertuples():
        assert r.population == 45919049 and r.population_source == "ibge_estimativas"
        assert r.rate_per_100k == pytest.approx(r.value / 45919049 * 1e5)
        assert r.rate_note is None or pd.isna(r.rate_note)
    # 2021 has only January: provisional, the note says so (rate covers the reported months only)
    jan = ind[(ind.subdivision_code == "35") & (ind.year == 2021) & (ind.iccs_code == "0101") & ind.month.isna()]
    assert len(jan) and jan.rate_note.str.startswith("provisional year (1 of 12 months)").all()


def test_costa_rica_unknown_province_says_why_there_is_no_rate(tmp_path):
    ind = harmonised("cr_oij", tmp_path)
    annual = ind[ind.month.isna() & (ind.sex == "_T") & (ind.age == "_T") & ind.value.notna()]
    known = annual[annual.subdivision_code.isin(list("1234567"))]
    assert len(known) and known.population_source.eq("inec_cr_proyecciones").all()
    assert known.population.notna().all()
    unknown = annual[annual.subdivision_code == "_U"]
    assert len(unknown) and unknown.rate_per_100k.isna().all()
    assert unknown.rate_note.isin(["no reference population for this subdivision and year"]).all()
