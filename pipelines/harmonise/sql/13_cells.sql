-- the crosswalk row in force is kept as its number (xw_row): its rationale, a sentence, is joined only when the
-- cells are written (21), not carried through the work tables (30 M cells x a few hundred bytes spilled GBs)
create or replace temp table cells as
select a.* replace (
           case when fb.note is not null and a.obs_status = 'A' then 'B' else a.obs_status end as obs_status,
           coalesce(fb.note, a.obs_note) as obs_note),
       x.crosswalk_id, x.iccs_code, x.relation, x.xw_row,
       case when a.is_subset then 'subset tag of another category: never summed'
            when eb.note is not null then 'superseded: ' || eb.note
            when x.iccs_code is null then 'no ICCS match: ' || x.rationale end as excluded_reason,
       fb.note as break_note
from adjusted a join xw x on x.source_id = a.source_id and x.national_code = a.national_code
 and a.year between coalesce(x.valid_from, a.year) and coalesce(x.valid_to, a.year)
left join breaks fb on fb.action = 'flag' and fb.source_id = a.source_id and fb.national_code = a.national_code
                   and a.year between fb.from_year and fb.to_year
left join breaks eb on eb.action = 'exclude' and eb.source_id = a.source_id
                   and eb.national_code = a.national_code and a.year between eb.from_year and eb.to_year
