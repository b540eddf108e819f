-- the cells of the newest release of each vintage unit; a key repeated within that release is resolved by
-- 04b (engine._latest), only when 04a finds one
create or replace temp table latest as
select s.* exclude (u_year, u_sub, u_code) from src s
join unit_rank r on r.rnk = 1 and r.submission_id = s.submission_id and r.source_id = s.source_id
 and r.country_iso3 = s.country_iso3 and r.national_level = (s.subdivision_code is null)
 and r.u_year = s.u_year and r.u_sub = s.u_sub and r.u_code = s.u_code
