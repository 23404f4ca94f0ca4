-- bappeda_primary: one Bappeda table with primary suppression only (the rules of macros.sql
-- applied to each value on the unsuppressed table; the pack itself adds secondary suppression:
-- bappeda_table.sql). Placeholders, filled from the data dictionary: `source`, the unsuppressed
-- rows; `columns`, the table's columns in dictionary order, each suppressible one as
-- withheld_value(value, rule) followed by its withheld_flag(value, rule) `<column>_suppressed`
-- (rule: small_count of a count, of an amount's basis count; small_denominator or a small
-- numerator count of a ratio); `key`, the table's key.
-- Grain: the table's key, in key order.
with

final as (
    select {{columns}}
    from {{source}}
)

select * from final order by {{key}}
