-- per part; 32_merge_excluded sums the parts
select source_id, national_code, any_value(national_label) as national_label, excluded_reason,
       count(*) as cells, sum(value_used) as value
from cells where excluded_reason is not null group by all
