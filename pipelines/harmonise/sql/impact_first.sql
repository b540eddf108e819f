-- The import summary of a submission when nothing of its scope is published (harmonise/impact.py): alone, each of
-- its vintage units has one release, so 04_latest keeps every key's first line, and each of those cells with a
-- value is new (impact_cells: an empty cell with no previous value is not counted). By year, as impact_cells.
-- Only the rows of the submission (01_src joins the file's submission_id with it).
select year, 'new' as kind, count(*) as n
from (select year, value from read_parquet(?, union_by_name = true) where submission_id = ?
      qualify row_number() over (
          partition by source_id, country_iso3, coalesce(subdivision_code, ''), year, coalesce(month, 0),
                       national_code, measure, unit, sex, age, relationship
          order by line) = 1)
where value is not null
group by year order by 1, 2
