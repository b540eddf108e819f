select * from read_parquet($parts, union_by_name = true)
order by source_id, country_iso3, subdivision_code nulls first, year, month nulls first,
         national_code, measure, unit, sex, age, relationship
