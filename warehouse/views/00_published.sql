-- published.* views over the current release's Parquet files.
-- {{release_dir}} is replaced by the release folder when the warehouse is built (never user input).
create or replace view published.indicators as
select * from read_parquet('{{release_dir}}/indicators.parquet');

create or replace view published.cells as
select * from read_parquet('{{release_dir}}/cells.parquet');

create or replace view published.excluded as
select * from read_parquet('{{release_dir}}/excluded.parquet');

create or replace view published.submissions as
select * from read_parquet('{{release_dir}}/submissions.parquet');

create or replace view published.release as
select * from read_json_auto('{{release_dir}}/release.json');

-- survey indicators (e.g. Mexico ENVIPE perception of insecurity, SDG 16.1.4-like): percentages of the
-- population, never offence counts, so they are kept apart from indicators.
create or replace view published.survey_indicators as
select * from read_parquet('{{release_dir}}/survey.parquet');

-- revisions between releases of one publisher (pipelines/harmonise/engine.py, step 1): per vintage unit,
-- the cells the newest release revised or no longer has ('withdrawn') against the previous release, and
-- national figures replaced by the sum of subdivisions of a newer release ('national_from_newer_subdivisions')
create or replace view published.revisions as
select * from read_parquet('{{release_dir}}/revisions.parquet');
