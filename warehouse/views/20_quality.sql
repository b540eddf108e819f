-- Quality: per submission x rule, failing rows, and a 0-100 score per country x year x dimension.
create or replace view published.quality_rules as
select * from read_parquet('{{release_dir}}/quality_rules.parquet');

create or replace view published.quality_failures as
select * from read_parquet('{{release_dir}}/quality_failures.parquet');

-- one row per submission x rule (the harmonised-layer rules have submission_id NULL: cross-source).
-- status: pass | fail | not_applicable | error_in_rule (the rule raised; observed = the exception).
-- engine: what evaluated the rule (pandera | duckdb | python); gx_status / gx_unexpected: Great
-- Expectations' own verdict and unexpected-value count for the rules GX evaluates too (NULL otherwise);
-- GX and the engine disagree where gx_status in ('pass', 'fail') and gx_status <> status.
create or replace view published.quality_scorecard as
select q.submission_id, q.source_id, s.country_iso3, q.rule_id, q.dimension, q.severity, q.status,
       q.failing_rows, q.threshold, q.observed, q.notes, q.override_reason,
       q.engine, q.gx_status, cast(q.gx_unexpected as bigint) as gx_unexpected
from published.quality_rules q
left join published.submissions s using (submission_id);

-- What each dimension of the summary measures, written beside its score (a row per dimension).
-- Scored by rules: 100 * (1 - sum(w of failed rules) / sum(w of applicable rules)), w: warn 2, info 1, over the
-- rules of that dimension that are NOT blocking: an error rule that fails keeps a file out of the warehouse, so
-- every published value passed it and it would only add the same 100 everywhere (why accessibility and
-- comparability used to be 100 for every country). Scored on the published cells: a share of the cells, in %.
create or replace view published.quality_dimensions as
select * from (values
    ('accuracy', 'rules', 'plausibility of the values: year-on-year changes, outliers against the series, drops to zero, shares of female and unknown-sex victims, homicide rates, coverage of the population, revisions against the previous release, agreement with the comparison sources (warn/info rules P1-P5, K2, R1, R2, X1, X2)'),
    ('coherence', 'rules', 'internal consistency: breakdowns add up to totals, national totals equal the sum of subdivisions, victims per offence, published rates match count and population (I1, I3, I4, X3)'),
    ('timeliness', 'rules', 'how soon after the reference period the data arrived, and against the source''s declared cadence (T1, T2)'),
    ('relevance', 'rules', 'share of the core ICCS template the country-year provides (K1)'),
    ('comparability', 'cells', 'share of the harmonised values whose national category maps to ICCS as an exact equivalent (crosswalk relation equivalent, not narrower, broader or partial), in %'),
    ('completeness', 'cells', 'share of the cells the files hold for the country-year that carry a value (not empty: not reported), in %')
) t(dimension, basis, measures);

-- the published cells per source x country x year: how many, with a value, used, mapped as an exact equivalent.
-- A country-year is in the summary only when it has at least one value (a source listing years 1960-2023 with
-- empty cells for most of them gives no score to the empty years): the coverage of a submission lists only
-- country-years with a value (pipeline/quality_files.py), and a published country-year whose cells are all empty
-- (a coverage file written before that) is left out here too.
create or replace view published.quality_cells_cy as
select source_id, country_iso3, year, count(*) as n_cells, count(value_reported) as n_values,
       count(*) filter (where value_reported is not null and excluded_reason is null) as n_used,
       count(*) filter (where value_reported is not null and excluded_reason is null
                        and relation = 'equivalent') as n_equivalent
from published.cells where country_iso3 is not null and year is not null group by all;

-- Score per source x country x year x dimension (quality_summary_by_source) and per country x year x dimension
-- (quality_summary, every source covering the country-year). A rule fails for a country-year when it has a
-- failing row there, or when it failed with no country/year attached (a file-level finding) for a submission
-- covering that year. A rule that could not be evaluated (status error_in_rule) says nothing about the data: it
-- is left out like a rule that does not apply, and counted in rules_not_evaluated so the gap is visible.
create or replace view published.quality_rule_cy as
with cov as (select distinct submission_id, source_id, country_iso3, year
             from read_parquet('{{release_dir}}/quality_coverage.parquet')),
     r as (select * from published.quality_rules where submission_id is not null and severity <> 'error'
           and status not in ('not_applicable', 'error_in_rule')),
     f as (select distinct submission_id, rule_id, country_iso3, year from published.quality_failures),
     f_any as (select submission_id, rule_id, bool_or(country_iso3 is not null and year is not null) as located
               from published.quality_failures group by all)
select c.source_id, c.country_iso3, c.year, r.dimension, r.rule_id, r.submission_id,
       case r.severity when 'warn' then 2 else 1 end as w,
       (r.status = 'fail' and (
            exists (select 1 from f where f.submission_id = r.submission_id and f.rule_id = r.rule_id
                    and f.country_iso3 = c.country_iso3 and f.year = c.year)
         or coalesce((select not located from f_any a where a.submission_id = r.submission_id
                      and a.rule_id = r.rule_id), false))) as failed
from r join cov c using (submission_id)
where not exists (select 1 from published.quality_cells_cy d where d.source_id = c.source_id
                  and d.country_iso3 = c.country_iso3 and d.year = c.year and d.n_values = 0);

create or replace view published.quality_not_evaluated_cy as
select distinct c.source_id, c.country_iso3, c.year, q.dimension, q.rule_id
from published.quality_rules q
join (select distinct submission_id, source_id, country_iso3, year
      from read_parquet('{{release_dir}}/quality_coverage.parquet')) c using (submission_id)
where q.status = 'error_in_rule';

create or replace view published.quality_summary_by_source as
with rules as (
    select source_id, country_iso3, year, dimension,
           round(100 * (1 - sum(case when failed then w else 0 end)::double / sum(w)), 1) as score,
           count(distinct rule_id) as rules_applied,
           count(distinct case when failed then rule_id end) as rules_failed,
           count(distinct submission_id) as submissions
    from published.quality_rule_cy group by all),
cells as (
    select source_id, country_iso3, year, unnest([
        {'dimension': 'comparability', 'score': round(100 * n_equivalent / nullif(n_used, 0), 1)},
        {'dimension': 'completeness', 'score': round(100 * n_values / n_cells, 1)}], recursive := true),
        n_values, n_cells
    from published.quality_cells_cy where n_values > 0)
select s.*, d.measures, d.basis,
       (select count(*) from published.quality_not_evaluated_cy e where e.source_id = s.source_id
        and e.country_iso3 = s.country_iso3 and e.year = s.year and e.dimension = s.dimension) as rules_not_evaluated
from (select source_id, country_iso3, year, dimension, score, rules_applied, rules_failed, submissions,
             null::bigint as n_values, null::bigint as n_cells from rules
      union all by name
      select source_id, country_iso3, year, dimension, score, n_values, n_cells
      from cells where score is not null) s
join published.quality_dimensions d using (dimension)
order by source_id, country_iso3, year, dimension;

create or replace view published.quality_summary as
with rules as (
    select country_iso3, year, dimension,
           round(100 * (1 - sum(case when failed then w else 0 end)::double / sum(w)), 1) as score,
           count(distinct rule_id) as rules_applied,
           count(distinct case when failed then rule_id end) as rules_failed,
           count(distinct submission_id) as submissions, count(distinct source_id) as sources
    from published.quality_rule_cy group by all),
cy as (select country_iso3, year, sum(n_cells) as n_cells, sum(n_values) as n_values, sum(n_used) as n_used,
              sum(n_equivalent) as n_equivalent, count(*) as sources
       from published.quality_cells_cy where n_values > 0 group by all),
cells as (
    select country_iso3, year, sources, unnest([
        {'dimension': 'comparability', 'score': round(100 * n_equivalent / nullif(n_used, 0), 1)},
        {'dimension': 'completeness', 'score': round(100 * n_values / n_cells, 1)}], recursive := true),
        n_values, n_cells
    from cy)
select s.*, d.measures, d.basis,
       (select count(distinct e.rule_id) from published.quality_not_evaluated_cy e
        where e.country_iso3 = s.country_iso3 and e.year = s.year and e.dimension = s.dimension) as rules_not_evaluated
from (select country_iso3, year, dimension, score, rules_applied, rules_failed, submissions, sources,
             null::hugeint as n_values, null::hugeint as n_cells from rules
      union all by name
      select country_iso3, year, dimension, score, sources, n_values, n_cells
      from cells where score is not null) s
join published.quality_dimensions d using (dimension)
order by country_iso3, year, dimension;
