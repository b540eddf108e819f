create or replace temp table revisions as
with prev as (
    select s.*, r2.national_level from src s
    join unit_rank r2 on r2.rnk = 2 and r2.submission_id = s.submission_id and r2.source_id = s.source_id
     and r2.country_iso3 = s.country_iso3 and r2.national_level = (s.subdivision_code is null)
     and r2.u_year = s.u_year and r2.u_sub = s.u_sub and r2.u_code = s.u_code),
cur as (select * from latest)
select p.source_id, p.country_iso3, p.subdivision_code, p.year, p.month, p.national_code, p.measure, p.unit,
       p.sex, p.age, p.relationship, p.value as old_value, c.value as new_value,
       p.submission_id as old_submission_id, coalesce(c.submission_id, w.submission_id) as new_submission_id,
       p.release_date as old_release_date, coalesce(c.release_date, w.release_date) as new_release_date,
       case when c.submission_id is null then 'withdrawn' else 'revised' end as kind,
       case when c.submission_id is null
            then 'not in the newer release of the same scope: withdrawn'
            else 'value revised by the newer release' end as note
from prev p
join unit_rank w on w.rnk = 1 and w.source_id = p.source_id and w.country_iso3 = p.country_iso3
 and w.national_level = p.national_level and w.u_year = p.u_year and w.u_sub = p.u_sub and w.u_code = p.u_code
left join cur c on c.source_id = p.source_id and c.country_iso3 = p.country_iso3
 and c.subdivision_code is not distinct from p.subdivision_code and c.year = p.year
 and c.month is not distinct from p.month and c.national_code = p.national_code and c.measure = p.measure
 and c.unit = p.unit and c.sex = p.sex and c.age = p.age and c.relationship = p.relationship
where (c.submission_id is null and p.value is not null) or (c.submission_id is not null
                                                            and c.value is distinct from p.value)
