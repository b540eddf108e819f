"""The Voluntary Fund ledger: the Guatemala contribution is published in the warehouse (an atomic release through
``storage.release.publish`` with the catalogue's views); the Fund's rules refuse a negative and a duplicate
contribution and spending above what was received, with messages naming file, row and field in four languages;
the report by year is recomputed by hand."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from pipelines.knowledge import catalogue_tables, fund
from pipelines.knowledge.record_rules import RecordError, findings
from pipelines.storage import release as rel

REPO = Path(__file__).resolve().parents[2]
HEADER = ("contribution_id,contributor,contributor_type,country_iso3,date,amount,currency,usd_rate,amount_usd,earmark,"
          "purpose,source_document,source_locator,sample,unverified,note")


def test_guatemala_contribution_is_in_the_warehouse(cat_settings, tmp_path, monkeypatch):
    tables = catalogue_tables.published_tables(cat_settings, {})
    views = tmp_path / "views"
    views.mkdir()
    shutil.copy(REPO / "warehouse" / "views" / "61_catalogue.sql", views)
    pub = tmp_path / "published"
    rel.publish(pub, pub / "hemistat.duckdb", views, tables, {})
    con = rel.connect(pub / "hemistat.duckdb")
    try:
        rows = con.execute("select contributor, country_iso3, date, amount, currency, usd_rate, amount_usd, earmark, "
                           "source_document, source_locator, sample from published.fund_contributions "
                           "where country_iso3 = ?", ["GTM"]).fetchall()
        assert len(rows) == 1
        who, iso, day, amount, cur, rate, usd, earmark, doc, where, sample = rows[0]
        assert "Guatemala" in who and iso == "GTM" and (amount, cur, rate, usd) == (50000.0, "USD", 1.0, 50000.0)
        assert day == date(2015, 4, 27) and earmark == "general" and sample is False   # year: see docs/CATALOGUE.md
        assert "MISPA-V" in doc and "AG/RES. 2866" in doc and "line 21" in where
        # every table of the catalogue is a view of the same release, with the shared columns
        for name in ("courses", "course_demands", "course_matches", "course_gaps", "fund_activities", "fund_report"):
            assert con.execute(f"select count(*) from published.{name}").fetchone()[0] > 0, name
        cols = dict(con.execute("select column_name, data_type from information_schema.columns "
                                "where table_schema = 'published' and table_name = 'courses'").fetchall())
        assert cols["mispa_pillars"] == cols["languages"] == cols["iccs_areas"] == "VARCHAR[]"
        assert cols["sample"] == "BOOLEAN" and cols["start_date"] == "DATE"
        assert con.execute("select count(*) from published.courses where list_contains(languages, 'pt')").fetchone()[0] == 2
        rep = con.execute("select received_usd, balance_usd from published.fund_report where scope = 'real'").fetchall()
        assert rep == [(50000.0, 50000.0)]
    finally:
        con.close()


def _contrib(tmp: Path, *lines: str) -> Path:
    src = (REPO / "reference" / "fund" / "contributions.csv").read_text("utf-8").rstrip("\n")
    p = tmp / "contributions.csv"
    p.write_text(src + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return p


def test_negative_contribution_is_refused(cat_settings, tmp_path):
    p = _contrib(tmp_path, "VF-2016-002,Some donor,other,CAN,2016-02-01,-100,USD,1,-100,general,x,Letter 12,,false,,")
    with pytest.raises(RecordError) as e:
        fund.load(cat_settings, contributions_path=p)
    msgs = e.value.messages
    assert any(m.startswith("contributions.csv row 3: amount = -100 is not a contribution: it must be greater than zero")
               and m.endswith("[FUN2]") for m in msgs), msgs
    with pytest.raises(RecordError) as e:
        fund.load(cat_settings, "es", contributions_path=p)
    assert any("contributions.csv fila 3: amount = -100 no es una contribución: debe ser mayor que cero" in m
               for m in e.value.messages)
    with pytest.raises(RecordError) as e:
        fund.load(cat_settings, "pt", contributions_path=p)
    assert any("linha 3: amount = -100 não é uma contribuição" in m for m in e.value.messages)
    with pytest.raises(RecordError) as e:
        fund.load(cat_settings, "fr", contributions_path=p)
    assert any("ligne 3 : amount = -100 n'est pas une contribution" in m for m in e.value.messages)


def test_duplicate_contribution_is_refused(cat_settings, tmp_path):
    # the same receipt under another id (same contributor, date, amount, currency), and an id used twice
    gt = (REPO / "reference" / "fund" / "contributions.csv").read_text("utf-8").splitlines()[1]
    again = gt.replace("VF-2015-001", "VF-2015-009", 1)
    p = _contrib(tmp_path, again, "VF-2015-001,Other,other,CAN,2016-01-01,10,USD,1,10,general,x,Letter,,false,,")
    with pytest.raises(RecordError) as e:
        fund.load(cat_settings, contributions_path=p)
    msgs = e.value.messages
    assert any(m.startswith("contributions.csv row 3: duplicate contribution: contributor+date+amount+currency "
                            "Ministry of the Interior (Ministerio de Gobernación) of Guatemala / 2015-04-27 / 50000 / USD "
                            "is already recorded (row 2)") and m.endswith("[FUN3]") for m in msgs), msgs
    assert any(m.startswith("contributions.csv row 4: duplicate contribution: contribution_id VF-2015-001 is already "
                            "recorded (row 2) [FUN3]") for m in msgs), msgs
    with pytest.raises(RecordError) as e:
        fund.load(cat_settings, "es", contributions_path=p)
    assert ("contributions.csv fila 4: contribución duplicada: contribution_id VF-2015-001 ya está registrada (fila 2) "
            "[FUN3]") in e.value.messages


def test_rate_and_codes(cat_settings, tmp_path):
    p = _contrib(tmp_path, "VF-2016-003,Donor,other,CAN,2016-03-01,1000,CAD,0.75,700,general,x,Letter,,false,,",
                 "VF-2016-004,Donor,other,ZZZ,2016-03-02,1000,XXX,1,1000,general,x,Letter,,false,,")
    with pytest.raises(RecordError) as e:
        fund.load(cat_settings, contributions_path=p)
    text = "\n".join(e.value.messages)
    assert "row 3: amount_usd = 700 but amount × usd_rate = 750.00 [FUN4]" in text
    assert "row 4: country_iso3 = ZZZ is not a known code" in text and "row 4: currency = XXX is not a known code" in text


def test_spending_above_receipts_per_earmark_is_refused(cat_settings, tmp_path):
    acts = tmp_path / "activities.csv"
    src = (REPO / "reference" / "fund" / "activities.csv").read_text("utf-8").rstrip("\n")
    acts.write_text(src + "\nSAMPLE-ACT-4,Overspent,general,2018-01-01,2018-06-30,20000,14000,completed,,Doc,true,\n"
                    "SAMPLE-ACT-5,Unknown earmark,forums,2018-01-01,2017-06-30,10,0,planned,,Doc,true,\n",
                    encoding="utf-8")
    with pytest.raises(RecordError) as e:
        fund.load(cat_settings, activities_path=acts)
    text = "\n".join(e.value.messages)
    # 12,000 + 18,500 + 6,000 + 14,000 = 50,500 spent from the 50,000 received for 'general'
    assert ("activities.csv row 5: earmark general: spent_usd adds up to 50500.00 USD, more than the 50000.00 USD "
            "received for it [FUN10]") in text
    assert "row 6: earmark = forums is not the earmark of any contribution (known: general) [FUN9]" in text
    assert "row 6: end_date 2017-06-30 is before the start date 2018-01-01 [FUN7]" in text
    # commitments above receipts are a warning only: 65,000 committed, nothing blocking without the bad rows
    acts.write_text(src + "\nSAMPLE-ACT-4,Planned,general,2018-01-01,2018-06-30,15000,0,planned,,Doc,true,\n",
                    encoding="utf-8")
    con, act = fund.load(cat_settings, activities_path=acts)
    warn = [f for f in findings(fund.check(cat_settings, con, act)) if f["rule_id"] == "FUN11"]
    assert len(warn) == 1 and "budget_usd adds up to 65000.00 USD, more than the 50000.00 USD received" in warn[0]["message"]


def test_report_by_year_by_hand(cat_settings):
    con, act = fund.load(cat_settings)
    rep = fund.report(con, act).set_index(["scope", "year"])
    assert list(rep.loc["real"].index) == [2015]                       # the real ledger: one receipt, no activity yet
    assert tuple(rep.loc[("real", 2015), ["received_usd", "committed_usd", "spent_usd", "balance_usd"]]) == (50000, 0, 0, 50000)
    # with the three sample activities (reference/fund/activities.csv): 2016 starts two (15,000 + 20,000 budget,
    # 12,000 + 18,500 spent), 2017 one (15,000 budget, 6,000 spent)
    assert tuple(rep.loc[("with_sample", 2016), ["received_usd", "committed_usd", "spent_usd", "balance_usd"]]) == (
        0, 35000, 30500, 50000 - 30500)
    assert tuple(rep.loc[("with_sample", 2017), ["committed_usd", "spent_usd", "balance_usd", "uncommitted_usd"]]) == (
        15000, 6000, 50000 - 30500 - 6000, 0)


def test_published_types_do_not_depend_on_the_values(tmp_path, monkeypatch):
    """A column empty in one release keeps its type (text, list of text, date): the views' types never change."""
    import pandas as pd


    df = catalogue_tables.stable_types(pd.DataFrame({"contact": [None, None], "exists_elsewhere": [[], []],
                                                     "end_date": [None, None], "n": [1, 2]}))
    views = tmp_path / "views"
    views.mkdir()
    (views / "t.sql").write_text("create or replace view published.t as select * from read_parquet('{{release_dir}}/t.parquet');")
    pub = tmp_path / "published"
    rel.publish(pub, pub / "h.duckdb", views, {"t": df}, {})
    con = rel.connect(pub / "h.duckdb")
    try:
        types = dict((r[0], r[1]) for r in con.execute("describe published.t").fetchall())
    finally:
        con.close()
    assert types == {"contact": "VARCHAR", "exists_elsewhere": "VARCHAR[]", "end_date": "DATE", "n": "BIGINT"}
