"""Checks of the rules in ``quality_rules/accuracy.yaml``: national equals the sum of subdivisions; agreement with other sources and institutions."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from pipelines.quality.checks._common import (_NAT, _columns, _fetch, _fetch_failures, _na, _register,
                                              _result, facts)
from pipelines.quality.registry import check

log = logging.getLogger(__name__)


_CELL = "country_iso3, subdivision_code, year, month, national_code, measure, unit, sex, age, relationship"
_SAME_CELL = " and ".join(f"t.{c} is not distinct from r.{c}" for c in _CELL.split(", "))
# the comparison group of a national row and its subdivisions (the join of n and s below)
_GROUP = "country_iso3, year, month, national_code, measure, sex, age, relationship"
_SAME_GROUP = " and ".join(f"g.{c} is not distinct from r.{c}" for c in _GROUP.split(", "))
# this file's rows, and the other submissions' latest vintage of each cell this file does not have: fixed SQL
# text, built once from the standard columns above (no value ever enters it). Only the others' rows of the
# comparison groups this file has: a finding always involves one of this file's rows (n.__own or s.own), and a
# group holds whole cells, so the latest vintage of a cell is the same with or without the other groups. A
# yearly file beside nine other years of its country read all ten years and compared nine of them for nothing.
_UNION_LATEST_OTHERS = """
            create or replace temp view u as
            select *, true as __own from t
            union all by name
            select * exclude (vintage), false as __own from (
                select r.*, coalesce(o.vintage, -1) as vintage from rel r
                left join __rel_order o using (submission_id)
                where r.submission_id not in (select distinct submission_id from t)
                  and exists (select 1 from (select distinct """ + _GROUP + """ from t) g where """ + _SAME_GROUP + """)
                  and not exists (select 1 from t where """ + _SAME_CELL + """))
            qualify rank() over (partition by """ + _CELL + """ order by vintage desc, submission_id desc) = 1"""
# whether national and subdivision rows are both available among this file's rows and the others' latest
# vintages (of every group, as before the groups were narrowed): the others' rows count only when this file
# lacks one kind, and a row of another submission in a cell this file has is replaced by this file's own row
# of the same kind, so "any row of that kind in another submission" is the same test
_BOTH_REL = ("select exists (select 1 from rel where subdivision_code is null "
             "and submission_id not in (select distinct submission_id from t)), "
             "exists (select 1 from rel where subdivision_code is not null "
             "and submission_id not in (select distinct submission_id from t))")


def _vintage_order(related) -> pd.DataFrame:
    """submission_id -> its rank among the other accepted submissions (``ctx.related`` is in vintage order,
    oldest first; a validated Parquet file is named after its submission)."""
    if isinstance(related, pd.DataFrame):
        ids = list(dict.fromkeys(related["submission_id"])) if "submission_id" in related else []
    else:
        ids = [Path(p).stem for p in ([related] if isinstance(related, (str, Path)) else related)]
    return pd.DataFrame({"submission_id": pd.Series(ids, dtype="str"),
                         "vintage": pd.Series(range(len(ids)), dtype="int64")})


@check("national_equals_subdivisions")
def check_national_equals_subdivisions(rule, table, ctx, con):
    cols = sorted(_columns(con))
    # decided before the comparison is computed (most files have one kind of row only): this file's kinds from
    # the evaluation's shared facts, the other submissions' only when this file lacks one
    f = facts(con)
    nat, sub = bool(f.get("has_national")), bool(f.get("has_subdivision_code"))
    with_related = "submission_id" in cols and _register(con, "rel", ctx.related, cols)
    if with_related and not (nat and sub):
        rel_nat, rel_sub = con.execute(_BOTH_REL).fetchall()[0]
        nat, sub = nat or rel_nat, sub or rel_sub
    if not (nat and sub):
        return _na(rule, "national and subdivision rows are not both available")
    if with_related:
        # the other submissions of the source, one vintage per cell: for a cell this file does not have, the
        # latest accepted vintage only (every older vintage of the same cell added in would count the
        # subdivisions once per vintage and repeat each national row once per vintage)
        con.register("__rel_order", _vintage_order(ctx.related))
        con.execute(_UNION_LATEST_OTHERS)
    else:
        con.execute("create or replace temp view u as select *, true as __own from t")
    tol = float(rule.params.get("tolerance_rel", 0.005))
    # a finding of this submission: its national row, or a sum that includes at least one of its subdivision
    # rows — never a comparison made only of other submissions' rows
    df, n_bad = _fetch_failures(con, """
        with n as (select * from u where subdivision_code is null and unit = 'count' and value is not null),
             s as (select country_iso3, year, month, national_code, measure, sex, age, relationship,
                          sum(value) as subs, count(*) as n_subs, bool_or(__own) as own
                   from u where subdivision_code is not null and unit = 'count' group by all)
        select n.file_name, n.line, n.column_name, n.country_iso3, n.year, n.month, n.national_code,
               n.value as national, s.subs, s.n_subs
        from n join s on s.country_iso3 = n.country_iso3 and s.year = n.year and s.month is not distinct from n.month
          and s.national_code = n.national_code and s.measure = n.measure and s.sex = n.sex and s.age = n.age
          and s.relationship = n.relationship
        where abs(n.value - s.subs) > ? * n.value and (n.__own or s.own)
        order by n.line
    """, [tol])
    return _result(rule, df.assign(observed=df["subs"].astype(str), expected=df["national"].astype(str),
                                   value=df["national"].astype(str)), n_bad)


@check("two_source_ratio")
def check_two_source_ratio(rule, table, ctx, con):
    p = rule.params
    if ctx.comparison is None or ctx.comparison.empty:
        return _na(rule, "no comparison series (public-health / international) available")
    con.register("cmp", ctx.comparison[["country_iso3", "year", "rate", "source_id"]])
    df = _fetch(con, "select t.source_id, t.country_iso3, t.year, t.months_reported, "
                "t.rate_per_100k as national_rate, "
                "c.rate as comparison_rate, c.source_id as comparison_source, t.rate_per_100k / c.rate as ratio "
                "from t join cmp c on c.country_iso3 = t.country_iso3 and c.year = t.year "
                "where t.iccs_code = ? and t.measure = 'offences' and " + _NAT.replace("subdivision_code", "t.subdivision_code")
                .replace("month", "t.month").replace("sex", "t.sex").replace("age", "t.age")
                .replace("relationship", "t.relationship") + " and t.rate_per_100k is not null and c.rate > 0 "
                "and t.comparability = 'national' order by t.country_iso3, t.year",
                [p.get("iccs_code", "0101")])
    # the comparison series are annual rates: a national year with fewer than 12 months reported (a
    # provisional year) is never compared with them; it is named in the notes instead
    partial = df[df["months_reported"].notna() & (df["months_reported"] < 12)]
    df = df.drop(partial.index).reset_index(drop=True)
    partial_notes = [f"{r.country_iso3} {r.year} ({r.source_id}): {int(r.months_reported)} of 12 months reported, "
                     f"not compared with the annual {r.comparison_source} rate"
                     for r in partial.drop_duplicates(["source_id", "country_iso3", "year"]).itertuples()]
    if df.empty:
        res = _na(rule, "no overlapping country-year between the national series and the comparison series")
        res.notes += partial_notes
        return res
    bad = df[(df["ratio"] < float(p.get("min", 0.8))) | (df["ratio"] > float(p.get("max", 1.25)))]
    close = df[(df["ratio"] >= float(p.get("info_min", 0.9))) & (df["ratio"] <= float(p.get("info_max", 1.1)))]
    notes = [f"{len(close)} of {len(df)} country-years agree within "
             f"{p.get('info_min', 0.9)}–{p.get('info_max', 1.1)}"]
    apart = df[~df.index.isin(close.index)]
    notes += [f"{r.country_iso3} {r.year}: ratio {r.ratio:.2f} ({r.source_id} {r.national_rate:.1f} vs "
              f"{r.comparison_source} {r.comparison_rate:.1f} per 100,000)" for r in apart.head(30).itertuples()]
    notes += partial_notes
    res = _result(rule, bad.assign(observed=bad["ratio"].round(2).astype(str),
                                   value=bad["national_rate"].round(1).astype(str) + " vs "
                                   + bad["comparison_rate"].round(1).astype(str) + " (" + bad["comparison_source"] + ")",
                                   expected=f"{p.get('min')}–{p.get('max')}", national_code=p.get("iccs_code")),
                  notes=notes)
    for (src, ctry), g in df.groupby(["source_id", "country_iso3"]):
        res.series.append({"label": f"{ctry} {src} vs {g['comparison_source'].iloc[0]} (rate per 100k)",
                           "points": [(int(y), float(v)) for y, v in zip(g.year, g.national_rate)],
                           "points2": [(int(y), float(v)) for y, v in zip(g.year, g.comparison_rate)],
                           "flagged": [int(y) for y in bad[(bad.country_iso3 == ctry)].year]})
    return res


@check("multi_institution_ratio")
def check_multi_institution_ratio(rule, table, ctx, con):
    p = rule.params
    df = _fetch(con, "with x as (select country_iso3, year, source_id, value from t where iccs_code = ? and "
                "measure = 'offences' and comparability = 'national' and coalesce(months_reported, 12) = 12 and "
                + _NAT + ") "
                "select a.country_iso3, a.year, a.source_id as a_source, b.source_id as b_source, a.value as a_value, "
                "b.value as b_value, abs(a.value - b.value) / greatest(a.value, b.value) as rel "
                "from x a join x b on a.country_iso3 = b.country_iso3 and a.year = b.year and a.source_id < b.source_id",
                [p.get("iccs_code", "0101")])
    if df.empty:
        return _na(rule, "no country-year with two national institutions")
    bad = df[df["rel"] > float(p.get("max_rel_diff", 0.1))]
    return _result(rule, bad.assign(value=bad["a_source"] + " " + bad["a_value"].astype(str) + " vs " + bad["b_source"]
                                    + " " + bad["b_value"].astype(str), observed=(bad["rel"] * 100).round(1).astype(str)
                                    + "%", expected=f"within {p.get('max_rel_diff')}"))
