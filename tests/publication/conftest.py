"""A small synthetic warehouse of our own for the export tests: two committed releases published with
``storage.release.publish`` (the real atomic publication) over a views folder that has ``published.indicators``,
``published.release``, the history views of the project and a ``published.comparable`` view with the columns
branch ``pub`` gives it (country_iso3, subdivision_code, year, iccs_code, measure, sex, age, value,
rate_per_100k, source_id, obs_status, quality_score, comparability_flags).

Values are synthetic (not official statistics) and computed from the key, so a test can recompute them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]

COUNTRIES = ["ARG", "BRA", "MEX"]
YEARS = list(range(2015, 2023))
CODES = ["0101", "02011", "0401"]
SOURCES = {"ARG": "ar_snic", "BRA": "br_sinesp", "MEX": "mx_sesnsp"}


def value(country: str, year: int, code: str, sex: str, measure: str, bump: float = 0.0) -> float:
    base = {"ARG": 1000, "BRA": 40000, "MEX": 30000}[country] * {"0101": 1, "02011": 7, "0401": 20}[code]
    share = {"_T": 1.0, "M": 0.8, "F": 0.2}[sex]
    return float(round(base * share * (1 + (year - 2015) / 100) + (1 if measure == "offences" else 0) + bump, 1))


POP = {"ARG": 45e6, "BRA": 214e6, "MEX": 127e6}


def indicators(bump: float = 0.0) -> pd.DataFrame:
    rows = []
    for c in COUNTRIES:
        for y in YEARS:
            for code in CODES:
                for measure, sexes in (("victims", ["_T", "M", "F"]), ("offences", ["_T"])):
                    for sex in sexes:
                        for sub, sub_name in ((None, None),) + ((("02", "=cmd()"),) if c == "ARG" else ()):
                            v = value(c, y, code, sex, measure, bump) / (3 if sub else 1)
                            pop = POP[c] / (3 if sub else 1)
                            rows.append(dict(
                                indicator_id=f"{c}-{sub}-{y}-{code}-{measure}-{sex}", country_iso3=c,
                                subdivision_code=sub, subdivision_name=sub_name, year=y, month=None,
                                iccs_code=code, iccs_level=len(code) // 2 if len(code) % 2 == 0 else 3,
                                measure=measure, sex=sex, age="_T", relationship="_T", value=v, population=pop,
                                population_source="synthetic", rate_per_100k=v / pop * 1e5, rate_note=None,
                                obs_status="P" if y == 2022 else "A",
                                obs_note="provisional: synthetic" if y == 2022 else None,
                                source_id=SOURCES[c], submission_id=f"{SOURCES[c]}__20260101__00000000",
                                n_submissions=1, n_cells=1, n_cells_reported=1,
                                months_reported=6 if y == 2022 else 12, derivation="reported",
                                comparability="national"))
    df = pd.DataFrame(rows)
    df["month"] = df["month"].astype("Int64")
    return df


def comparable(ind: pd.DataFrame) -> pd.DataFrame:
    d = ind[ind["subdivision_code"].isna()].copy()
    d["quality_score"] = 90.0
    d["comparability_flags"] = d["year"].map(lambda y: ["partial_year"] if y == 2022 else [])
    cols = ["country_iso3", "subdivision_code", "year", "iccs_code", "measure", "sex", "age", "value",
            "rate_per_100k", "source_id", "obs_status", "quality_score", "comparability_flags"]
    return d[cols].reset_index(drop=True)


def views_dir(tmp: Path, with_comparable: bool) -> Path:
    v = tmp / ("views_comparable" if with_comparable else "views")
    v.mkdir()
    (v / "00_published.sql").write_text(
        "create or replace view published.indicators as select * from read_parquet('{{release_dir}}/indicators.parquet');\n"
        "create or replace view published.release as select * from read_json_auto('{{release_dir}}/release.json');\n",
        "utf-8")
    shutil.copy(REPO / "warehouse" / "views" / "30_history.sql", v / "30_history.sql")
    if with_comparable:
        (v / "50_comparable.sql").write_text(
            "create or replace view published.comparable as "
            "select * from read_parquet('{{release_dir}}/comparable.parquet');\n", "utf-8")
    return v


def build(data_dir: Path, tmp: Path, with_comparable: bool = True) -> dict:
    """Two releases: the first (indicators only, values + 0), the current one (values + 5, and comparable)."""
    import time

    from pipelines.storage.release import publish

    data_dir.mkdir(parents=True, exist_ok=True)
    pub = data_dir / "published"
    empty_changelog = pd.DataFrame({"change": pd.Series([], dtype="object")})   # the history views read it
    first = publish(pub, data_dir / "hemistat.duckdb", views_dir(tmp, False), {"indicators": indicators(0.0),
                                                           "changelog": empty_changelog}, {})
    time.sleep(1.1)   # release ids are ordered by their UTC second
    ind = indicators(5.0)
    tables = {"indicators": ind, "changelog": empty_changelog}
    if with_comparable:
        tables["comparable"] = comparable(ind)
    second = publish(pub, data_dir / "hemistat.duckdb", views_dir(tmp, with_comparable), tables, {})
    return {"first": first, "current": second}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """(settings, {first, current}) of a synthetic warehouse with two releases; settings read at run time."""
    from tests.conftest import environ

    tmp = tmp_path_factory.mktemp("exportwh")
    with environ({"HEMISTAT_DATA_DIR": str(tmp / "data")}):
        from pipelines.settings import get_settings

        s = get_settings()
        s.ensure_dirs()
        rel = build(s.data_dir, tmp)
        yield s, rel
