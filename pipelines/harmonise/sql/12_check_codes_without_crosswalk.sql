select a.source_id, a.national_code, a.year, any_value(a.national_label) as national_label,
       count(*) as cells, min(a.file_name) as file_name, min(a.line) as first_line,
       any_value(v.valid_from) as valid_from, any_value(v.valid_to) as valid_to,
       string_agg(distinct a.submission_id, ',' order by a.submission_id) as submissions
from (select source_id, national_code, national_label, year, file_name, line, value, submission_id from latest
      where unit in ('count', 'rate_per_100k')) a
left join xw x on x.source_id = a.source_id and x.national_code = a.national_code
 and a.year between coalesce(x.valid_from, a.year) and coalesce(x.valid_to, a.year)
left join xw v on v.source_id = a.source_id and v.national_code = a.national_code
-- an empty cell of a code outside its validity is not a use of it (FBI rape_revised before 2013)
where x.national_code is null and (v.national_code is null or a.value is not null)
group by a.source_id, a.national_code, a.year order by 1, 2, 3
