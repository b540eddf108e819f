-- every published indicator: the harmonised counts and rates (18), the rates reported by sources that
-- publish no count for the cell (19, at the mapped ICCS code, never summed or rolled up), and on national
-- rows that a newer release's subdivisions replaced (06), a note saying so
with reported as (
    select 'r' || substr(md5(concat_ws('|', r.source_id, r.country_iso3, coalesce(r.subdivision_code, '-'),
                                        r.year, coalesce(cast(r.month as varchar), '-'), r.iccs_code, r.measure,
                                        r.sex, r.age, r.relationship)), 2) as indicator_id,
           r.country_iso3, r.subdivision_code, r.subdivision_name, r.year, r.month, r.iccs_code, r.iccs_level,
           r.measure, r.sex, r.age, r.relationship, cast(null as double) as value,
           cast(null as double) as population, cast(null as varchar) as population_source, r.rate_per_100k,
           'rate as published by the source (no count published)' as rate_note, 'A' as obs_status,
           cast(null as varchar) as obs_note, r.source_id, r.submission_id, cast(1 as bigint) as n_submissions,
           cast(r.n as bigint) as n_cells, cast(r.n as bigint) as n_cells_reported,
           cast(null as bigint) as months_reported, 'reported_rate' as derivation, c.comparability
    from rates r left join comp c on c.source_id = r.source_id
),
allrows as (select * from ind_main union all by name select * from reported),
notes as (
    select source_id, country_iso3, year,
           'national total = sum of subdivisions of the newer release ' || new_submission_id || ' (released '
           || new_release_date || '); it revises the national figure of ' || old_submission_id || ' (released '
           || old_release_date || '): see published.revisions' as note
    from nat_replaced
)
select a.* replace (
           case when n.note is not null and a.subdivision_code is null
                then case when a.obs_note is not null then a.obs_note || '; ' || n.note else n.note end
                else a.obs_note end as obs_note)
from allrows a
left join notes n on n.source_id = a.source_id and n.country_iso3 = a.country_iso3 and n.year = a.year
-- national rows first (an analyst's national series, the homicide rates and national_annual read only them),
-- then by country, year and ICCS code: an analyst's question names them, and the Parquet row groups (small, see
-- engine._copy) then hold one country-year each, so DuckDB reads only the row groups asked for. Each part is
-- written in this order; engine._concat_indicators puts the parts one after the other, national rows first
order by a.subdivision_code is not null, a.country_iso3, a.year, a.iccs_code, a.source_id, a.subdivision_code,
         a.month nulls first, a.measure, a.sex, a.age, a.relationship
