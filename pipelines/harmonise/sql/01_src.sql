create or replace temp table src as
select v.*, s.received_at, s.release_date,
       case when sc.by_year then v.year else -1 end as u_year,
       case when sc.by_sub then coalesce(v.subdivision_code, '') else '' end as u_sub,
       case when sc.by_code then v.national_code else '' end as u_code
from read_parquet(?, union_by_name = true) v
join subs s using (submission_id)
join scopes sc on sc.source_id = s.source_id
