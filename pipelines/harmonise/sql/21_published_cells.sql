select source_id, submission_id, file_name, line, column_name, country_iso3, subdivision_code,
       year, month, national_code, national_label, measure, sex, age, relationship,
       value_reported, value_used, hierarchy_note, crosswalk_id, iccs_code, relation,
       crosswalk_rationale, excluded_reason, obs_status
from cells
