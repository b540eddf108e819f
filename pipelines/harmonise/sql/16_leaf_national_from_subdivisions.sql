insert into leaf
select l.source_id, l.country_iso3, null, null, l.year, l.month, l.iccs_code, l.measure, l.sex,
       l.age, l.relationship, sum(l.value), sum(l.n_cells), sum(l.n_values), max(l.submission_id),
       max(l.n_submissions),
       case when count(l.value) = 0 then 'M' when count(l.value) < count(*) or bool_or(l.obs_status = 'P') then 'P'
            when bool_or(l.obs_status = 'B') then 'B' else 'A' end,
       max(l.months_reported), 'subdivisions', nullif(array_to_string(list_sort(list_distinct(list(l.break_note) filter (where l.break_note is not null))), '; '), '')
from leaf l
where l.subdivision_code is not null
  and l.source_id not in (select source_id from partial_sources)
  and not exists (select 1 from leaf n
                  where n.source_id = l.source_id and n.country_iso3 = l.country_iso3
                    and n.subdivision_code is null and n.year = l.year
                    and n.month is not distinct from l.month and n.measure = l.measure)
group by l.source_id, l.country_iso3, l.year, l.month, l.iccs_code, l.measure, l.sex, l.age, l.relationship
