select c.source_id, c.submission_id, c.file_name, c.line, c.column_name, c.country_iso3, c.subdivision_code,
       c.year, c.month, c.national_code, c.national_label, c.measure, c.sex, c.age, c.relationship,
       c.value_reported, c.value_used, c.hierarchy_note, c.crosswalk_id, c.iccs_code, c.relation,
       x.rationale as crosswalk_rationale, c.excluded_reason, c.obs_status
from cells c left join xw x on x.xw_row = c.xw_row
