-- suppression_input: what the secondary suppression (tkpk.publish.suppression) reads of one
-- Bappeda table: its key columns and every suppressible value as DOUBLE, with that value's
-- primary-suppression flag `__p__<column>` (the rules of macros.sql, on the unsuppressed values).
-- Placeholders, filled from the data dictionary: `source`, the unsuppressed rows; `columns`, the
-- key columns (and `area_code`), then per suppressible column its value and its flag; `key`, the
-- table's key.
-- Grain: the table's key, in key order (the row numbers bappeda_table.sql joins the flags by).
with

final as (
    select {{columns}}
    from {{source}}
)

select * from final order by {{key}}
