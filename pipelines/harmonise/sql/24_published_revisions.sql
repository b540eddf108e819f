select source_id, country_iso3, subdivision_code, cast(year as bigint) as year, cast(month as bigint) as month,
       national_code, measure, unit, sex, age, relationship, cast(old_value as double) as old_value,
       cast(new_value as double) as new_value, old_submission_id, new_submission_id, old_release_date,
       new_release_date, kind, note
from revisions
