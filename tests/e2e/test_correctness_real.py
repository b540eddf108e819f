"""Issue 9 "must show", on the warehouse built from the real files (session fixture ``wh``)."""

from __future__ import annotations


def test_scorecard_has_a_rule_on_every_row(wh):
    n, n_null = wh.execute("select count(*), count(*) filter (where rule_id is null) "
                           "from published.quality_scorecard").fetchone()
    assert n > 0 and n_null == 0
    cols = {r[0] for r in wh.execute("describe published.quality_rules").fetchall()}
    assert "rule_id" in cols and not {"country_iso3", "year"} & cols


def test_no_value_built_from_part_of_its_cells_is_A(wh):
    bad = wh.execute("select count(*) from published.indicators where n_cells_reported < n_cells "
                     "and obs_status = 'A'").fetchone()[0]
    assert bad == 0
    # complete values say so: FBI national murders 2019 come from one cell, reported
    row = wh.execute("""select n_cells, n_cells_reported, obs_status from published.indicators
                        where source_id = 'us_fbi' and iccs_code = '0101' and subdivision_code is null
                          and year = 2019 and measure = 'offences'""").fetchone()
    assert row == (1, 1, "A")


def test_partial_year_rates_are_never_shown_as_annual(wh):
    """Costa Rica OIJ 2023 covers January-March (the mirrored workbook stops on 31 March 2023)."""
    cri = wh.execute("""select full_year, months_reported, rate_per_100k, partial_period_rate_per_100k, rate_note
                        from published.homicide_rates where country_iso3 = 'CRI' and source_id = 'cr_oij'
                          and year = 2023""").fetchone()
    full_year, months, rate, partial, note = cri
    assert full_year is False and months == 3 and rate is None
    assert partial is not None and partial > 0 and "3 of 12 months" in note
    # every rate shown as annual covers a full year
    mixed = wh.execute("select count(*) from published.homicide_rates where rate_per_100k is not null "
                       "and not full_year").fetchone()[0]
    assert mixed == 0


def test_X1_never_compares_a_partial_year(wh):
    notes, status = wh.execute("select notes, status from published.quality_scorecard where rule_id = 'X1'"
                               ).fetchone()
    assert "CRI 2023 (cr_oij): 3 of 12 months reported, not compared" in notes
    compared = wh.execute("select count(*) from published.quality_failures where rule_id = 'X1' "
                          "and country_iso3 = 'CRI' and year = 2023").fetchone()[0]
    assert compared == 0
