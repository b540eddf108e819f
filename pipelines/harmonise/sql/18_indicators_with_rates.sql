with j as (
    select i.*, coalesce(p.population, q.population) as pop,
           coalesce(p.source_id, q.source_id) as pop_source
    from ind i
    left join popn p on i.subdivision_code is null and p.country_iso3 = i.country_iso3 and p.year = i.year
    left join pops q on i.subdivision_code is not null and q.country_iso3 = i.country_iso3
                    and q.subdivision_code = i.subdivision_code and q.year = i.year
)
select md5(concat_ws('|', j.source_id, j.country_iso3, coalesce(j.subdivision_code, '-'), j.year,
                     coalesce(cast(j.month as varchar), '-'), j.iccs_code, j.measure, j.sex, j.age,
                     j.relationship)) as indicator_id,
       j.country_iso3, j.subdivision_code, j.subdivision_name, cast(j.year as bigint) as year,
       cast(j.month as bigint) as month, j.iccs_code, cast(j.iccs_level as bigint) as iccs_level,
       j.measure, j.sex, j.age, j.relationship, cast(j.value as double) as value,
       cast(j.pop as double) as population, j.pop_source as population_source,
       case when j.pop is not null and j.sex = '_T' and j.age = '_T' and j.relationship = '_T'
                 and j.month is null and j.value is not null
            then j.value / j.pop * 100000 end as rate_per_100k,
       case when j.value is null then 'no value'
            when j.month is not null then 'monthly value: rate computed for years only'
            when j.obs_status = 'P' and j.pop is not null and coalesce(j.months_reported, 12) < 12
                 then 'provisional year (' || cast(j.months_reported as varchar)
                      || ' of 12 months): the rate covers only the reported months'
            when j.obs_status = 'P' and j.pop is not null
                 then 'incomplete (' || cast(j.n_values as varchar) || ' of ' || cast(j.n_cells as varchar)
                      || ' national cells reported): the rate undercounts'
            when j.pop is null and j.subdivision_code is null then 'no reference population for this country and year'
            when j.pop is null then 'no reference population for this subdivision and year'
            when j.sex <> '_T' or j.age <> '_T' or j.relationship <> '_T'
                 then 'rate only for totals: no population by sex/age in reference yet' end as rate_note,
       j.obs_status,
       case when j.obs_status = 'P' then concat_ws('; ',
                case when coalesce(j.months_reported, 12) < 12
                     then 'provisional: ' || cast(j.months_reported as varchar) || ' of 12 months reported' end,
                case when j.n_values < j.n_cells
                     then 'incomplete: ' || cast(j.n_values as varchar) || ' of ' || cast(j.n_cells as varchar)
                          || ' national cells reported (the others are empty: not reported)' end)
            when j.obs_status = 'M' then 'not reported'
            when j.obs_status = 'B' then 'break in series: ' || j.break_note end as obs_note,
       j.source_id, j.submission_id, cast(j.n_submissions as bigint) as n_submissions,
       cast(j.n_cells as bigint) as n_cells, cast(j.n_values as bigint) as n_cells_reported,
       cast(j.months_reported as bigint) as months_reported,
       j.derivation, c.comparability
from j left join comp c on c.source_id = j.source_id
