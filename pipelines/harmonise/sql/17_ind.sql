-- a view: read once, through ind_main (18), by the indicators file (25)
create or replace temp view ind as
select l.source_id, l.country_iso3, l.subdivision_code, any_value(l.subdivision_name) as subdivision_name,
       l.year, l.month, a.ancestor as iccs_code, a.ancestor_level as iccs_level, l.measure, l.sex,
       l.age, l.relationship, sum(l.value) as value, sum(l.n_cells) as n_cells,
       sum(l.n_values) as n_values, max(l.submission_id) as submission_id, max(l.n_submissions) as n_submissions,
       case when count(l.value) = 0 then 'M' when count(l.value) < count(*) or bool_or(l.obs_status = 'P') then 'P'
            when bool_or(l.obs_status = 'B') then 'B' else 'A' end as obs_status,
       max(l.months_reported) as months_reported, nullif(array_to_string(list_sort(list_distinct(list(l.break_note) filter (where l.break_note is not null))), '; '), '') as break_note,
       case when bool_or(l.derivation = 'subdivisions') then 'subdivisions'
            when bool_or(l.derivation = 'months') then 'months'
            when bool_or(l.iccs_code <> a.ancestor) then 'rollup'
            else 'reported' end as derivation
from leaf l join anc a on a.code = l.iccs_code
group by l.source_id, l.country_iso3, l.subdivision_code, l.year, l.month, a.ancestor, a.ancestor_level,
         l.measure, l.sex, l.age, l.relationship
