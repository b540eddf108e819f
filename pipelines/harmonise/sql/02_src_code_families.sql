update src set u_code = cr.root_code from code_roots cr
where cr.source_id = src.source_id and cr.national_code = src.national_code and src.u_code <> ''
