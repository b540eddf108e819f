-- only where 04a found a repeated key (rule C4 rejects such files, so never on validated input unless the
-- rule is switched off): latest (04) with each key once, from its first line
create or replace temp table latest as
select * from latest
qualify row_number() over (
    partition by source_id, country_iso3, coalesce(subdivision_code, ''), year, coalesce(month, 0),
                 national_code, measure, unit, sex, age, relationship
    order by line) = 1
