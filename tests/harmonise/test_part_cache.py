"""The harmonised parts kept between publications (``harmonise/part_cache.py``): a part is taken from the cache
only when every input it is computed from is the same, and a run that reuses parts gives the tables of a run
that computes every part (order included). The cases a stale part would hide in: a new file of one country, a
file rewritten in place, a reference table, a spec, the engine itself, a run that fails half-way."""

from pathlib import Path

import pandas as pd
import pytest

from pipelines.adapters import load_all_specs
from pipelines.harmonise import HarmoniseError, harmonise
from pipelines.harmonise import part_cache
from pipelines.harmonise import reference as ref
from pipelines.harmonise.engine import Part, _country_parts
from tests.harmonise.test_engine import _cells, _subs
from tests.harmonise.test_parts import REF, assert_same_tables

Y = {"year": 2023}


def _write(folder: Path, frames) -> pd.DataFrame:
    folder.mkdir(parents=True, exist_ok=True)
    return _subs(folder, frames)


def _three_countries(tmp_path: Path) -> pd.DataFrame:
    """SNIC-like files for ARG (two vintages, 2022 and 2023), CHL and URY. With ``part_cells=1``: four parts, ARG
    2022, ARG 2023 and CHL 2023 by year (each country larger than a part), URY (one cell) whole."""
    arg_old = _cells([{"national_code": "1", "value": 10.0, **Y}, {"national_code": "11", "value": 50.0, **Y},
                      {"national_code": "11_2", "value": 20.0, **Y}, {"national_code": "1", "value": 6.0,
                                                                       "year": 2022}],
                     sid="ar_snic__20240101__aaaaaaaa")
    arg_new = _cells([{"national_code": "1", "value": 12.0, **Y}, {"national_code": "3", "value": 9.0, **Y}],
                     sid="ar_snic__20250101__bbbbbbbb")
    chl = _cells([{"national_code": "1", "value": 7.0, "country_iso3": "CHL", **Y},
                  {"national_code": "11", "value": 30.0, "country_iso3": "CHL", **Y}],
                 sid="ar_snic__20250101__cccccccc")
    ury = _cells([{"national_code": "1", "value": 3.0, "country_iso3": "URY", **Y}], sid="ar_snic__20250101__dddddddd")
    return _write(tmp_path, [(arg_old, "2024-01-01T00:00:00"), (arg_new, "2025-01-01T00:00:00"),
                             (chl, "2025-01-01T00:00:00"), (ury, "2025-01-01T00:00:00")])


def _built(tmp_path: Path):
    """The three countries' files, the specs and a cache holding their first run's parts."""
    subs, specs, cache = _three_countries(tmp_path / "files"), load_all_specs(REF), tmp_path / "cache"
    return subs, specs, cache, harmonise(subs, specs, REF, part_cells=1, cache_dir=cache)


def _with(subs: pd.DataFrame, folder: Path, cells: pd.DataFrame, received: str = "2026-01-01T00:00:00"):
    """``subs`` and one more validated file."""
    return pd.concat([subs, _write(folder, [(cells, received)])], ignore_index=True)


def _entries(cache: Path) -> set[str]:
    return {d.name for d in cache.iterdir()}


def _national(res, country: str, code: str = "0101") -> dict:
    ind = res.indicators
    ind = ind[ind.subdivision_code.isna() & (ind.country_iso3 == country) & (ind.iccs_code == code)]
    return ind.set_index("year")["value"].to_dict()


def test_a_second_run_reuses_every_part_and_gives_the_same_tables(tmp_path):
    subs, specs, cache, first = _built(tmp_path)
    assert (first.stats["parts"], first.stats["parts_reused"]) == (4, 0)    # ARG 2022, ARG 2023, CHL, URY
    assert len(_entries(cache)) == 4
    again = harmonise(subs, specs, REF, part_cells=1, cache_dir=cache)
    assert (again.stats["parts"], again.stats["parts_reused"]) == (4, 4)
    assert_same_tables(first, again)
    assert_same_tables(harmonise(subs, specs, REF, part_cells=1), again)             # no cache at all
    assert_same_tables(harmonise(subs, specs, REF, part_cells=10 ** 12), again)      # one part
    assert _national(again, "ARG") == {2022: 6.0, 2023: 12.0}
    # the same files under another folder are the same inputs
    moved = subs.assign(validated_path=[str(Path(p).rename(Path(p).with_name("moved-" + Path(p).name)))
                                        for p in subs.validated_path])
    assert harmonise(moved, specs, REF, part_cells=1, cache_dir=cache).stats["parts_reused"] == 4


def test_a_new_file_recomputes_only_the_parts_it_touches(tmp_path):
    subs, specs, cache, _ = _built(tmp_path)
    before = _entries(cache)
    chl2 = _cells([{"national_code": "1", "value": 8.0, "country_iso3": "CHL", **Y}], sid="ar_snic__20260101__eeeeeeee")
    more = _with(subs, tmp_path / "new", chl2)
    res = harmonise(more, specs, REF, part_cells=1, cache_dir=cache)
    assert (res.stats["parts"], res.stats["parts_reused"]) == (4, 3)     # CHL only
    assert len(before & _entries(cache)) == 3 and len(_entries(cache)) == 4   # CHL's old entry is gone
    assert _national(res, "CHL") == {2023: 8.0}                             # the newer CHL vintage
    assert_same_tables(harmonise(more, specs, REF, part_cells=1), res)
    # a new country between two others: the parts around it are kept as they are
    bra = _cells([{"national_code": "1", "value": 2.0, "country_iso3": "BRA", **Y}], sid="ar_snic__20260101__ffffffff")
    most = _with(more, tmp_path / "bra", bra)
    res = harmonise(most, specs, REF, part_cells=1, cache_dir=cache)
    assert (res.stats["parts"], res.stats["parts_reused"]) == (5, 4)
    assert_same_tables(harmonise(most, specs, REF, part_cells=10 ** 12), res)


def test_a_year_of_a_country_cut_by_year_recomputes_only_that_year(tmp_path):
    subs, specs, cache, _ = _built(tmp_path)
    y22 = _cells([{"national_code": "1", "value": 5.0, "year": 2022}], sid="ar_snic__20260101__eeeeeeee")
    more = _with(subs, tmp_path / "new", y22)
    res = harmonise(more, specs, REF, part_cells=1, cache_dir=cache)
    assert (res.stats["parts"], res.stats["parts_by_year"], res.stats["parts_reused"]) == (4, 3, 3)
    assert _national(res, "ARG") == {2022: 5.0, 2023: 12.0}
    assert_same_tables(harmonise(more, specs, REF, part_cells=10 ** 12), res)


def test_a_file_rewritten_in_place_is_never_taken_from_the_cache(tmp_path):
    """Same path, same submission id, new bytes (a re-validation that wrote the file again): a new input."""
    subs, specs, cache, _ = _built(tmp_path)
    ury = Path(subs.validated_path.iloc[3])
    _cells([{"national_code": "1", "value": 4.0, "country_iso3": "URY", **Y}],
           sid="ar_snic__20250101__dddddddd").to_parquet(ury)
    res = harmonise(subs, specs, REF, part_cells=1, cache_dir=cache)
    assert res.stats["parts_reused"] == 3
    assert _national(res, "URY") == {2023: 4.0}
    assert_same_tables(harmonise(subs, specs, REF, part_cells=1), res)


def test_reference_tables_specs_and_the_engine_reach_every_part(tmp_path, monkeypatch):
    subs, specs, cache, first = _built(tmp_path)
    # a population figure of one country: every part again (the rates of that country change)
    real = ref.population_national

    def more_people(reference_dir):
        pop = real(reference_dir)
        return pop.assign(population=pop.population.where(pop.country_iso3 != "URY", pop.population * 2))

    monkeypatch.setattr(ref, "population_national", more_people)
    res = harmonise(subs, specs, REF, part_cells=1, cache_dir=cache)
    assert res.stats["parts_reused"] == 0
    ury = [x.indicators.query("country_iso3 == 'URY' and iccs_code == '0101' and year == 2023").rate_per_100k.iloc[0]
           for x in (first, res)]
    assert ury[1] == pytest.approx(ury[0] / 2)
    assert_same_tables(harmonise(subs, specs, REF, part_cells=1), res)
    monkeypatch.setattr(ref, "population_national", real)
    assert harmonise(subs, specs, REF, part_cells=1, cache_dir=cache).stats["parts_reused"] == 0   # back again
    # a spec: SNIC's comparability
    other = {**specs, "ar_snic": specs["ar_snic"].model_copy(update={"comparability": "partial"})}
    assert other["ar_snic"].comparability != specs["ar_snic"].comparability
    res = harmonise(subs, other, REF, part_cells=1, cache_dir=cache)
    assert res.stats["parts_reused"] == 0 and set(res.indicators.comparability) == {"partial"}
    # the engine (its SQL or code): every part again
    assert harmonise(subs, other, REF, part_cells=1, cache_dir=cache).stats["parts_reused"] == 4
    monkeypatch.setattr(part_cache, "engine_digest", lambda: "another engine")
    assert harmonise(subs, other, REF, part_cells=1, cache_dir=cache).stats["parts_reused"] == 0


def test_a_failed_run_leaves_no_unfinished_part_and_keeps_the_cache(tmp_path):
    subs, specs, cache, _ = _built(tmp_path)
    before = _entries(cache)
    bad = _cells([{"national_code": "NOPE", "value": 1.0, "country_iso3": "URY", **Y}],
                 sid="ar_snic__20260101__eeeeeeee")
    with pytest.raises(HarmoniseError, match="C1"):
        harmonise(_with(subs, tmp_path / "bad", bad), specs, REF, part_cells=1, cache_dir=cache)
    assert _entries(cache) == before            # nothing half-written, nothing of the last good run removed
    assert harmonise(subs, specs, REF, part_cells=1, cache_dir=cache).stats["parts_reused"] == 4


def test_kept_parts_hold_the_cut_where_their_countries_still_follow_one_another():
    census = pd.DataFrame({"country": list("ABCDE"), "year": [2023] * 5, "n": [5, 4, 4, 4, 4]})
    # fresh, A having grown from 4 to 5: every later part moves
    assert _country_parts(census, 8) == [Part(("A",)), Part(("B", "C")), Part(("D", "E"))]
    # the parts of the run before (A B | C D | E), those still valid kept: only A and B are cut again
    keep = [Part(("C", "D")), Part(("E",))]
    assert _country_parts(census, 8, keep=keep) == [Part(("A",)), Part(("B",)), Part(("C", "D")), Part(("E",))]
    # a new country inside a kept part: that part is no longer whole, its countries are packed again
    wedge = pd.concat([census, pd.DataFrame({"country": ["CC"], "year": [2023], "n": [1]})])
    assert _country_parts(wedge, 8, keep=keep) == [Part(("A",)), Part(("B", "C")), Part(("CC", "D")), Part(("E",))]
    # a kept part larger than the limit now (the setting was lowered): cut again
    assert _country_parts(census, 4, keep=keep) == [Part((c,)) for c in "ABCDE"]
    # years: a kept year part of a country cut by year
    years = pd.DataFrame({"country": ["M"] * 4, "year": [2020, 2021, 2022, 2023], "n": [3, 3, 3, 3]})
    assert _country_parts(years, 6, {"M"}) == [Part(("M",), (2020, 2021)), Part(("M",), (2022, 2023))]
    assert _country_parts(years, 6, {"M"}, keep=[Part(("M",), (2021, 2022))]) == [
        Part(("M",), (2020,)), Part(("M",), (2021, 2022)), Part(("M",), (2023,))]
    # a country no longer cut by year (a source scoped otherwise): its year parts are not kept
    assert _country_parts(years, 6, set(), keep=[Part(("M",), (2021, 2022))]) == [Part(("M",))]
