insert into revisions
with old as (select l.* from latest l join nat_replaced r using (source_id, country_iso3, year)
             where l.subdivision_code is null and l.unit = 'count'),
     sums as (select l.source_id, l.country_iso3, l.year, l.month, l.national_code, l.measure, l.sex, l.age,
                     l.relationship, sum(l.value) as value
              from latest l join nat_replaced r using (source_id, country_iso3, year)
              where l.subdivision_code is not null and l.unit = 'count' group by all)
select o.source_id, o.country_iso3, null, o.year, o.month, o.national_code, o.measure, o.unit, o.sex, o.age,
       o.relationship, o.value, s.value, o.submission_id, r.new_submission_id, o.release_date,
       r.new_release_date, 'national_from_newer_subdivisions',
       'national figure of the older release replaced by the sum of subdivisions of the newer release'
from old o join nat_replaced r using (source_id, country_iso3, year)
left join sums s on s.source_id = o.source_id and s.country_iso3 = o.country_iso3 and s.year = o.year
 and s.month is not distinct from o.month and s.national_code = o.national_code and s.measure = o.measure
 and s.sex = o.sex and s.age = o.age and s.relationship = o.relationship
where s.value is distinct from o.value
