create or replace temp table kids as
select l.source_id, l.country_iso3, l.subdivision_code, l.year, l.month, h.parent_code,
       l.measure, l.sex, l.age, l.relationship,
       sum(l.value) as kids_value, count(*) as n_kids
from latest l join hier h on h.source_id = l.source_id and h.child_code = l.national_code
where l.unit = 'count'
group by all
