select x.source_id, x.crosswalk_id, x.national_code, x.iccs_code
from xw x anti join (select distinct source_id, national_code from latest) a
  on a.source_id = x.source_id and a.national_code = x.national_code
order by 1, 3
