-- the number of submissions behind each leaf fact that 14 left NULL (more than one): a distinct count over
-- those facts' cells only (engine._part_tables runs this only when 14 left one)
update leaf set n_submissions = d.n
from (select c.source_id, c.country_iso3, c.subdivision_code, c.year, c.month, c.iccs_code, c.measure, c.sex,
             c.age, c.relationship, count(distinct c.submission_id) as n
      from cells c
      semi join (select * from leaf where n_submissions is null) l
        on l.source_id = c.source_id and l.country_iso3 = c.country_iso3
       and l.subdivision_code is not distinct from c.subdivision_code and l.year = c.year
       and l.month is not distinct from c.month and l.iccs_code = c.iccs_code and l.measure = c.measure
       and l.sex = c.sex and l.age = c.age and l.relationship = c.relationship
      where c.excluded_reason is null
      group by all) d
where leaf.n_submissions is null and d.source_id = leaf.source_id and d.country_iso3 = leaf.country_iso3
  and d.subdivision_code is not distinct from leaf.subdivision_code and d.year = leaf.year
  and d.month is not distinct from leaf.month and d.iccs_code = leaf.iccs_code and d.measure = leaf.measure
  and d.sex = leaf.sex and d.age = leaf.age and d.relationship = leaf.relationship
