"""Network test fixtures: a small fixture warehouse with the views the practices and catalogue work publish
(``published.practices``, ``published.courses``) and ``published.national_annual`` — clearly sample records,
written by the test — and helpers to make Network people through the portal's own functions."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.network import rules
from pipelines.service import auth
from pipelines.service import network_store as store
from tests.service.conftest import server_factory  # noqa: F401 - fixture: the portal served in a subprocess

SAMPLE_PRACTICES = [
    # practice_id, title_en, title_es, country, iccs_codes, prevention_types, line_of_action, evidence_level
    ("sample-pr-1", "Sample: school-based violence prevention", "Muestra: prevención de la violencia en escuelas", "CHL",
     ["0201"], ["social"], "sample-line-youth", "sample"),
    ("sample-pr-2", "Sample: street lighting and burglary", "Muestra: alumbrado público y robos", "BRA",
     ["0501"], ["situational"], "sample-line-urban", "sample"),
]
SAMPLE_COURSES = [
    ("sample-co-1", "course", "Sample provider", "Sample: homicide statistics course", "Muestra: curso de estadísticas de homicidio",
     "MEX", ["prevention"], ["01"], ["es", "en"]),
]


def build_warehouse(duckdb_path: Path) -> Path:
    """hemistat.duckdb with the views the Network reads (sample rows, labelled so)."""
    duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(duckdb_path))
    con.execute("create schema if not exists published")
    con.execute("create table practices_rows (practice_id varchar, title_en varchar, title_es varchar, country_iso3 varchar, "
                "iccs_codes varchar[], prevention_types varchar[], line_of_action varchar, evidence_level varchar)")
    con.executemany("insert into practices_rows values (?, ?, ?, ?, ?, ?, ?, ?)", SAMPLE_PRACTICES)
    con.execute("create view published.practices as select * from practices_rows")
    con.execute("create table courses_rows (course_id varchar, kind varchar, provider varchar, title_en varchar, "
                "title_es varchar, country_iso3 varchar, mispa_pillars varchar[], iccs_areas varchar[], languages varchar[])")
    con.executemany("insert into courses_rows values (?, ?, ?, ?, ?, ?, ?, ?, ?)", SAMPLE_COURSES)
    con.execute("create view published.courses as select * from courses_rows")
    con.execute("create table na_rows (country_iso3 varchar, iccs_code varchar, year integer, value double)")
    con.executemany("insert into na_rows values (?, ?, ?, ?)", [("CHL", "0201", 2022, 1.0), ("CHL", "0201", 2023, 2.0),
                                                               ("CHL", "0101", 2023, 3.0), ("JAM", "0201", 2023, 4.0)])
    con.execute("create view published.national_annual as select * from na_rows")
    con.close()
    return duckdb_path


def profile(**kw) -> dict:
    base = {"display_name": "Sample Person", "organisation": "Sample Organisation", "sector": "academia",
            "country_iso3": "CHL", "iccs": ["02"], "prevention": ["social"], "languages": ["es"],
            "visible": ["organisation", "country"]}
    base.update(kw)
    return base


def person(db, username: str, *, status: str = "approved", password: str, secretariat_name: str | None = None,
           **kw) -> int:
    """A portal user (role ``network``) who applied with profile(**kw); approved by the secretariat unless
    ``status='applied'``."""
    p = auth.create_user(db, username, password, "network", country_iso3=kw.get("country_iso3") or None)
    app = rules.check_application(profile(**kw), member_states=auth.member_states(),
                                  iccs_codes={"01", "0101", "02", "0201", "05", "0501"},
                                  vocab=rules.vocabularies(Path(__file__).resolve().parents[2] / "reference"))
    m = store.apply(db, p.id, app, actor=rules.Viewer(p.id, username, "network"))
    if status == "approved":
        store.decide(db, m.id, "approve", "ok", actor=rules.Viewer(0, secretariat_name or "secretariat", "admin"))
    return p.id
