select source_id, submission_id, file_name, line, column_name, country_iso3, subdivision_code,
       subdivision_name, cast(year as bigint) as year, cast(month as bigint) as month,
       national_code as indicator_code, national_label as indicator_label, measure, unit, sex, age,
       value, obs_status, obs_note
from latest where unit = 'percent'
