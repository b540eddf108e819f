-- a view: read once, by 13_cells (never materialised: at 12 M rows each temp table spilled gigabytes)
create or replace temp view adjusted as
select l.*,
       l.value as value_reported,
       case when k.n_kids is null or l.value is null then l.value
            else greatest(l.value - coalesce(k.kids_value, 0), 0) end as value_used,
       case when k.n_kids is null then null
            when l.value - coalesce(k.kids_value, 0) < 0 then 'residual<0: children exceed parent (I2)'
            else 'residual: parent minus its ' || k.n_kids || ' listed children' end as hierarchy_note,
       (s.national_code is not null) as is_subset
from latest l
left join kids k
  on k.source_id = l.source_id and k.country_iso3 = l.country_iso3
 and k.subdivision_code is not distinct from l.subdivision_code and k.year = l.year
 and k.month is not distinct from l.month and k.parent_code = l.national_code
 and k.measure = l.measure and k.sex = l.sex and k.age = l.age and k.relationship = l.relationship
left join subsets s on s.source_id = l.source_id and s.national_code = l.national_code
where l.unit = 'count'
