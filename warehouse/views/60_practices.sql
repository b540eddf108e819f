-- Good practices in preventing violence and crime (issue 16): reviewed records of reference/practices/records
-- and of practices published in the portal, loaded and checked by pipelines/knowledge/practices.py and written
-- in the same atomic release as the indicators. {{release_dir}} is replaced when the warehouse is built.
create or replace view published.practices as
select * from read_parquet('{{release_dir}}/practices.parquet');

-- every study cited by a practice (full citation, DOI or stable URL, design, finding)
create or replace view published.practice_studies as
select * from read_parquet('{{release_dir}}/practice_studies.parquet');

-- every rating as the rating body gave it, with its level on the common scale (reference/practices/evidence_scale.yaml)
create or replace view published.practice_ratings as
select * from read_parquet('{{release_dir}}/practice_ratings.parquet');
