select source_id, national_code, any_value(national_label) as national_label, excluded_reason,
       cast(sum(cells) as bigint) as cells, sum(value) as value
from read_parquet($parts, union_by_name = true) group by source_id, national_code, excluded_reason order by 1, 2
