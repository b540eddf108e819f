"""X1 on the real files: every country-year where a national source and the World Bank series meet is
compared (issue 9, item 2: X1 used to name a source that does not exist, wb_wdi_homicide, and compared
against OWID only)."""

import pandas as pd

from pipelines.quality.checks._common import _NAT

# national annual rates of full years only: a partial year (Costa Rica OIJ 2023, January-March) is never
# compared with an annual series (issue 9, item 11)
NATIONAL = ("select source_id, country_iso3, year from published.indicators where comparability = 'national' "
            "and iccs_code = '0101' and measure = 'offences' and rate_per_100k is not null "
            "and coalesce(months_reported, 12) = 12 and " + _NAT)
COMPARISON = ("select source_id, country_iso3, year from published.indicators where source_id = ? "
              "and subdivision_code is null and month is null and sex = '_T' and rate_per_100k > 0")


def _meet(wh, comparison_source: str) -> pd.DataFrame:
    return wh.execute(f"select n.source_id, n.country_iso3, n.year from ({NATIONAL}) n "
                      f"join ({COMPARISON}) c using (country_iso3, year)", [comparison_source]).df()


def test_X1_compares_every_country_year_where_national_meets_world_bank(real_warehouse, wh):
    from pipelines import pipeline

    wb = _meet(wh, "wb_wdi")
    owid = _meet(wh, "owid_homicide")
    assert len(wb) >= 20 and ("mx_sesnsp", "MEX", 2019) in set(map(tuple, wb.to_numpy().tolist()))
    # the scorecard row written by the pipeline's harmonised-layer quality step
    score = pd.read_parquet(pipeline.quality_dir(real_warehouse) / "harmonised.parquet")
    x1 = score[score["rule_id"] == "X1"].iloc[0]
    assert x1["status"] in ("pass", "fail")
    n_compared = int(x1["notes"].split(" of ")[1].split(" country-years")[0])
    assert n_compared == len(wb) + len(owid)           # one comparison per national row and comparison source
    assert "vs wb_wdi" in x1["notes"]                   # country-years apart are listed against the WB series
