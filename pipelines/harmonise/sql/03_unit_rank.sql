create or replace temp table unit_rank as
select *, row_number() over (
           partition by source_id, country_iso3, national_level, u_year, u_sub, u_code
           order by release_date desc, received_at desc, submission_id desc) as rnk
from (select distinct source_id, country_iso3, subdivision_code is null as national_level, u_year, u_sub,
             u_code, submission_id, release_date, received_at from src)
