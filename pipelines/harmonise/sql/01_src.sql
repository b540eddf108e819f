-- $paths: the validated files; $countries: the countries of this part (NULL: every country); $years: the years
-- of this part (NULL: every year; only for a country whose sources all replace their cells year by year). Every
-- stage after this one keeps within a country (vintage units, hierarchy, national sums, roll-up, rates), and
-- within a year where the vintage units are by year, so a part is harmonised exactly as it would be with the
-- others beside it (engine.harmonise)
create or replace temp table src as
select v.*, s.received_at, s.release_date,
       case when sc.by_year then v.year else -1 end as u_year,
       case when sc.by_sub then coalesce(v.subdivision_code, '') else '' end as u_sub,
       case when sc.by_code then v.national_code else '' end as u_code
from read_parquet($paths, union_by_name = true) v
join subs s using (submission_id)
join scopes sc on sc.source_id = s.source_id
where ($countries::varchar[] is null or list_contains($countries::varchar[], coalesce(v.country_iso3, '')))
  and ($years::bigint[] is null or list_contains($years::bigint[], v.year))
