-- One comparable value per key, coverage and regional aggregates (pipelines/publication/comparable.py,
-- docs/PUBLICATION.md). Written in the same atomic release as the indicators.

-- one row per country_iso3 x subdivision_code (NULL = national) x year x iccs_code x measure x sex x age:
-- the value of the source chosen by reference/precedence.yaml, why (choice_code, choice_reason), the
-- country-year's quality score, the other sources' values (alternatives) and the comparability flags
create or replace view published.comparable as
select * from read_parquet('{{release_dir}}/comparable.parquet');

-- country x year x ICCS code: sources, months reported, population, population covered, quality score
create or replace view published.coverage as
select * from read_parquet('{{release_dir}}/coverage.parquet');

-- UN M49 regions of the Americas (member states only): population-weighted rates over the member states
-- with a complete-year national value; rate_per_100k is NULL (flag 'insufficient_coverage') when they hold
-- less than min_population_share of the region's population
create or replace view published.regional as
select * from read_parquet('{{release_dir}}/regional.parquet');

create or replace view published.regions as
select * from read_parquet('{{release_dir}}/regions.parquet');

create or replace view published.region_members as
select * from read_parquet('{{release_dir}}/region_members.parquet');

-- the source precedence the release used (reference/precedence.yaml), one row per ranked source
create or replace view published.precedence as
select * from read_parquet('{{release_dir}}/precedence.parquet');
