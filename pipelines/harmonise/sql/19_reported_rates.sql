with c as (select distinct source_id, country_iso3, subdivision_code, year, month, national_code, measure,
                  sex, age, relationship from latest where unit = 'count' and value is not null),
     r as (select l.* from latest l
           left join c on c.source_id = l.source_id and c.country_iso3 = l.country_iso3
            and c.subdivision_code is not distinct from l.subdivision_code and c.year = l.year
            and c.month is not distinct from l.month and c.national_code = l.national_code
            and c.measure = l.measure and c.sex = l.sex and c.age = l.age and c.relationship = l.relationship
           where l.unit = 'rate_per_100k' and l.value is not null and c.source_id is null)
select r.source_id, r.country_iso3, r.subdivision_code, any_value(r.subdivision_name) as subdivision_name,
       cast(r.year as bigint) as year, cast(r.month as bigint) as month, x.iccs_code,
       cast(any_value(i.level) as bigint) as iccs_level, r.measure, r.sex, r.age, r.relationship,
       max(r.value) as rate_per_100k, max(r.submission_id) as submission_id, count(*) as n
from r join xw x on x.source_id = r.source_id and x.national_code = r.national_code
 and r.year between coalesce(x.valid_from, r.year) and coalesce(x.valid_to, r.year)
join iccs i on i.code = x.iccs_code
where x.iccs_code is not null
group by r.source_id, r.country_iso3, r.subdivision_code, r.year, r.month, x.iccs_code, r.measure, r.sex,
         r.age, r.relationship
having count(*) = 1
