-- published.trace(indicator_id): every source cell (submission, file, line, column, crosswalk rule)
-- that contributed to one published value. ICCS codes nest by prefix (01 > 0101 > 01031 > 010321),
-- so the cells of an indicator are those whose ICCS code starts with the indicator's code.
create or replace macro published.trace(wanted_id) as table
with i as (select * from published.indicators where indicator_id = wanted_id)
select c.*
from published.cells c, i
where c.source_id = i.source_id
  and c.country_iso3 = i.country_iso3
  and c.year = i.year
  and (i.month is null or c.month = i.month)
  and ((i.subdivision_code is not null and c.subdivision_code = i.subdivision_code)
       or (i.subdivision_code is null and i.derivation = 'subdivisions' and c.subdivision_code is not null)
       or (i.subdivision_code is null and i.derivation <> 'subdivisions' and c.subdivision_code is null))
  and c.excluded_reason is null
  and starts_with(c.iccs_code, i.iccs_code)
  and c.measure = i.measure and c.sex = i.sex and c.age = i.age and c.relationship = i.relationship
order by c.submission_id, c.file_name, c.line, c.column_name;

-- Convenience: national annual totals (what most comparisons start from).
create or replace view published.national_annual as
select * from published.indicators
where subdivision_code is null and month is null and age = '_T' and relationship = '_T';
