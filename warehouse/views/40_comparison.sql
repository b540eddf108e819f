-- Cross-country comparison of intentional homicide (ICCS 0101): one row per country x year x source,
-- national sources (police / prosecution counts turned into rates with the reference population)
-- side by side with the international comparison series (World Bank / UNODC, OWID) as published.
-- Every rate here is an annual rate: a national year with fewer than 12 months reported (e.g. Costa Rica
-- OIJ 2023, January-March) has rate_per_100k NULL, full_year false and its rate over the reported months
-- in partial_period_rate_per_100k, so it is never read beside annual rates by mistake.
create or replace view published.homicide_rates as
select i.country_iso3, c.name_en as country, c.name_es as pais, i.year, i.source_id, i.comparability,
       i.measure, i.value as count, i.population,
       coalesce(i.months_reported, 12) = 12 as full_year,
       i.months_reported,
       case when coalesce(i.months_reported, 12) = 12 then round(i.rate_per_100k, 2) end as rate_per_100k,
       case when coalesce(i.months_reported, 12) < 12 then round(i.rate_per_100k, 2) end
           as partial_period_rate_per_100k,
       i.obs_status, i.obs_note, i.derivation, i.rate_note
from published.national_annual i
join reference.countries c on c.iso3 = i.country_iso3
where i.iccs_code = '0101' and i.sex = '_T' and i.rate_per_100k is not null;
