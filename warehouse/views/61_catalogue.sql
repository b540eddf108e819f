-- The training and technical-assistance catalogue, the demand survey and the Voluntary Fund (issue 16 items 3-5;
-- docs/CATALOGUE.md). Sample records carry sample = true.
create or replace view published.courses as
select * from read_parquet('{{release_dir}}/courses.parquet');

create or replace view published.course_demands as
select * from read_parquet('{{release_dir}}/course_demands.parquet');

-- every part of every score, with its weight (reference/survey/matching.yaml)
create or replace view published.course_matches as
select * from read_parquet('{{release_dir}}/course_matches.parquet');

-- one row per country and topic demanded: covered | partly | unmet, and where the topic is taught elsewhere
create or replace view published.course_gaps as
select * from read_parquet('{{release_dir}}/course_gaps.parquet');

create or replace view published.fund_contributions as
select * from read_parquet('{{release_dir}}/fund_contributions.parquet');

create or replace view published.fund_activities as
select * from read_parquet('{{release_dir}}/fund_activities.parquet');

-- scope = real (real records only) | with_sample (sample activities included)
create or replace view published.fund_report as
select * from read_parquet('{{release_dir}}/fund_report.parquet');
