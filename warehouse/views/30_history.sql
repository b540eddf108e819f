-- Vintages: every release keeps its indicators; published.indicators_as_of(ts) returns what was
-- published at a given time (the release current at ts). The files are named when the database is built:
-- every finished release up to and including the one this database serves (never a '.tmp' folder).
create or replace view published.releases as
select release_id, cast(published_at as timestamptz) as published_at, submissions,
       -- the sequential number (pipelines/storage/release.py); a release written before numbers: its position
       coalesce(release_number, row_number() over (order by release_id)) as release_number
from read_json({{history_release_json}}, columns = {release_id: 'varchar', published_at: 'varchar',
                                                              submissions: 'varchar[]', release_number: 'bigint'});

create or replace view published.indicator_history as
select regexp_extract(filename, '/([^/]+)/indicators\.parquet$', 1) as release_id, * exclude (filename)
from read_parquet({{history_indicators}}, filename = true, union_by_name = true);

create or replace macro published.indicators_as_of(ts) as table
select h.* from published.indicator_history h
where h.release_id = (select release_id from published.releases
                      where published_at <= cast(ts as timestamptz) order by published_at desc limit 1);

-- what each release changed: submissions added, superseded, withdrawn (with who and why) and cells revised
create or replace view published.changelog as
select regexp_extract(filename, '/([^/]+)/changelog\.parquet$', 1) as release_id, * exclude (filename)
from read_parquet({{history_changelog}}, filename = true, union_by_name = true);
