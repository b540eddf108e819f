-- how many cells repeat a key of another (0 unless hashes collide or a key is repeated: then 04b, exact)
select count(*) - count(distinct hash(source_id, country_iso3, coalesce(subdivision_code, ''), year,
                                      coalesce(month, 0), national_code, measure, unit, sex, age, relationship))
from latest
