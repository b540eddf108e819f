delete from latest where subdivision_code is null and exists (
    select 1 from nat_replaced r where r.source_id = latest.source_id
      and r.country_iso3 = latest.country_iso3 and r.year = latest.year)
