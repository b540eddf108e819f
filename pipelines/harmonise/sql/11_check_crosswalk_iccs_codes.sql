select distinct x.source_id, x.crosswalk_id, x.national_code, x.iccs_code from xw x
                              left join iccs i on i.code = x.iccs_code
                              where x.iccs_code is not null and i.code is null
