insert into leaf
select source_id, country_iso3, subdivision_code, any_value(subdivision_name), year, null,
       iccs_code, measure, sex, age, relationship,
       sum(value), sum(n_cells), sum(n_values), max(submission_id), max(n_submissions),
       case when count(value) = 0 then 'M' when count(value) < 12 or bool_or(obs_status = 'P') then 'P'
            when bool_or(obs_status = 'B') then 'B' else 'A' end,
       count(value), 'months', nullif(array_to_string(list_sort(list_distinct(list(break_note) filter (where break_note is not null))), '; '), '')
from leaf where month is not null
group by source_id, country_iso3, subdivision_code, year, iccs_code, measure, sex, age, relationship
