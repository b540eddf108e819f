-- only where 04a found a repeated key (rule C4 rejects such files, so never on validated input unless the
-- rule is switched off): the same cells, each key once, from its first line
create or replace temp table latest as
select s.* exclude (u_year, u_sub, u_code) from src s
join unit_rank r on r.rnk = 1 and r.submission_id = s.submission_id and r.source_id = s.source_id
 and r.country_iso3 = s.country_iso3 and r.national_level = (s.subdivision_code is null)
 and r.u_year = s.u_year and r.u_sub = s.u_sub and r.u_code = s.u_code
qualify row_number() over (
    partition by s.source_id, s.country_iso3, coalesce(s.subdivision_code, ''), s.year, coalesce(s.month, 0),
                 s.national_code, s.measure, s.unit, s.sex, s.age, s.relationship
    order by s.line) = 1
