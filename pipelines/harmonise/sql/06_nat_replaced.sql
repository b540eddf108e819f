create or replace temp table nat_replaced as
with n as (select source_id, country_iso3, year, any_value(submission_id) as old_submission_id,
                  max(release_date) as old_release_date
           from latest where subdivision_code is null group by all),
     s as (select source_id, country_iso3, year, max(release_date) as new_release_date,
                  arg_max(submission_id, release_date) as new_submission_id
           from latest where subdivision_code is not null group by all)
select n.*, s.new_release_date, s.new_submission_id from n join s using (source_id, country_iso3, year)
where s.new_release_date > n.old_release_date
  and n.source_id not in (select source_id from partial_sources)
