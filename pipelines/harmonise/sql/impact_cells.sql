-- What one submission (?) does to the warehouse, cell by cell, against the vintages currently published:
-- run after 01_src .. 04_latest over the published submissions of its source plus this one.
-- kind: new | changed | unchanged (a cell of this submission that wins its vintage unit), withdrawn (a cell
-- of the previous vintage of a unit this submission now gives, absent from it), not_applied (a cell of a
-- unit where a newer release of the same scope is already published). A value emptied by this submission is
-- withdrawn; an empty cell with no previous value is not counted.
create or replace temp table impact_cells as
with mine as (select * from unit_rank where submission_id = $sid),
prev_unit as (
    select r.* from unit_rank r join mine m
      on m.rnk = 1 and r.rnk = 2 and r.source_id = m.source_id and r.country_iso3 = m.country_iso3
     and r.national_level = m.national_level and r.u_year = m.u_year and r.u_sub = m.u_sub and r.u_code = m.u_code),
prev as (
    select s.* exclude (u_year, u_sub, u_code) from src s join prev_unit p
      on p.submission_id = s.submission_id and p.source_id = s.source_id and p.country_iso3 = s.country_iso3
     and p.national_level = (s.subdivision_code is null) and p.u_year = s.u_year and p.u_sub = s.u_sub
     and p.u_code = s.u_code
    qualify row_number() over (
        partition by s.country_iso3, coalesce(s.subdivision_code, ''), s.year, coalesce(s.month, 0),
                     s.national_code, s.measure, s.unit, s.sex, s.age, s.relationship order by s.line) = 1),
cur as (select * from latest where submission_id = $sid),
late as (
    select s.* exclude (u_year, u_sub, u_code) from src s join mine m
      on m.rnk > 1 and m.submission_id = s.submission_id and m.source_id = s.source_id
     and m.country_iso3 = s.country_iso3 and m.national_level = (s.subdivision_code is null)
     and m.u_year = s.u_year and m.u_sub = s.u_sub and m.u_code = s.u_code),
joined as (
    select coalesce(c.country_iso3, p.country_iso3) as country_iso3,
           coalesce(c.subdivision_code, p.subdivision_code) as subdivision_code,
           coalesce(c.year, p.year) as year, coalesce(c.month, p.month) as month,
           coalesce(c.national_code, p.national_code) as national_code,
           coalesce(c.national_label, p.national_label) as national_label,
           coalesce(c.measure, p.measure) as measure, coalesce(c.unit, p.unit) as unit,
           coalesce(c.sex, p.sex) as sex, coalesce(c.age, p.age) as age,
           coalesce(c.relationship, p.relationship) as relationship,
           cast(p.value as double) as old_value, cast(c.value as double) as new_value,
           c.line, c.column_name, p.submission_id as old_submission_id,
           case when p.value is null and c.value is null then 'empty'
                when c.value is null then 'withdrawn'
                when p.value is null then 'new'
                when c.value = p.value then 'unchanged'
                else 'changed' end as kind
    from cur c full join prev p
      on c.country_iso3 = p.country_iso3 and c.subdivision_code is not distinct from p.subdivision_code
     and c.year = p.year and c.month is not distinct from p.month and c.national_code = p.national_code
     and c.measure = p.measure and c.unit = p.unit and c.sex = p.sex and c.age = p.age
     and c.relationship = p.relationship)
select * from joined where kind <> 'empty'
union all by name
select country_iso3, subdivision_code, year, month, national_code, national_label, measure, unit, sex, age,
       relationship, null::double as old_value, cast(value as double) as new_value, line, column_name,
       null as old_submission_id, 'not_applied' as kind
from late where value is not null
