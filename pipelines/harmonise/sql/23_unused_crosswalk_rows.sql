-- crosswalk rows no cell of any part uses ($parts: each part's distinct source_id, national_code)
select x.source_id, x.crosswalk_id, x.national_code, x.iccs_code
from xw x anti join read_parquet($parts, union_by_name = true) a
  on a.source_id = x.source_id and a.national_code = x.national_code
order by 1, 3
