create or replace temp table leaf as
select source_id, country_iso3, subdivision_code, any_value(subdivision_name) as subdivision_name,
       year, month, iccs_code, measure, sex, age, relationship,
       sum(value_used) as value, count(*) as n_cells, count(value_used) as n_values,
       max(submission_id) as submission_id,
       -- 1 where one submission gives every cell (almost always); else NULL, counted exactly by 14b
       case when min(submission_id) = max(submission_id) then cast(1 as bigint) end as n_submissions,
       case when count(value_used) = 0 then 'M' when count(value_used) < count(*) then 'P'
            when bool_or(obs_status = 'B') then 'B' else 'A' end as obs_status,
       cast(null as integer) as months_reported, 'reported' as derivation,
       nullif(array_to_string(list_sort(list_distinct(list(break_note) filter (where break_note is not null))), '; '), '') as break_note
from cells where excluded_reason is null
group by source_id, country_iso3, subdivision_code, year, month, iccs_code, measure, sex, age, relationship
