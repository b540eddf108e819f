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

-- Score per country x year x ESS dimension, over every submission covering that country-year:
--   score = 100 * (1 - sum(w of failed rules) / sum(w of applicable rules)),  w: error 3, warn 2, info 1.
-- A rule fails for a country-year when it has a failing row there, or when it failed with no
-- country/year attached (a file-level finding) for a submission covering that year.
-- A rule that could not be evaluated (status error_in_rule) says nothing about the data: it is left out
-- of the score like a rule that does not apply, and counted in rules_not_evaluated so the gap is visible.
create or replace view published.quality_summary as
with cov as (select distinct submission_id, source_id, country_iso3, year
             from read_parquet('{{release_dir}}/quality_coverage.parquet')),
     r as (select * from published.quality_rules where submission_id is not null
           and status not in ('not_applicable', 'error_in_rule')),
     e as (select distinct c.country_iso3, c.year, q.dimension, q.rule_id
           from published.quality_rules q join cov c using (submission_id) where q.status = 'error_in_rule'),
     f as (select distinct submission_id, rule_id, country_iso3, year from published.quality_failures),
     f_any as (select submission_id, rule_id, bool_or(country_iso3 is not null and year is not null) as located
               from published.quality_failures group by all),
     cy as (
        select c.country_iso3, c.year, r.dimension, r.rule_id, r.submission_id,
               case r.severity when 'error' then 3 when 'warn' then 2 else 1 end as w,
               (r.status = 'fail' and (
                    exists (select 1 from f where f.submission_id = r.submission_id and f.rule_id = r.rule_id
                            and f.country_iso3 = c.country_iso3 and f.year = c.year)
                 or coalesce((select not located from f_any a where a.submission_id = r.submission_id
                              and a.rule_id = r.rule_id), false))) as failed
        from r join cov c using (submission_id))
select country_iso3, year, dimension,
       round(100 * (1 - sum(case when failed then w else 0 end)::double / sum(w)), 1) as score,
       count(distinct rule_id) as rules_applied,
       count(distinct case when failed then rule_id end) as rules_failed,
       count(distinct submission_id) as submissions,
       (select count(*) from e where e.country_iso3 = cy.country_iso3 and e.year = cy.year
                                 and e.dimension = cy.dimension) as rules_not_evaluated
from cy group by country_iso3, year, dimension order by country_iso3, year, dimension;
