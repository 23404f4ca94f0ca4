-- bappeda_table: one table of the Bappeda pack: the restricted table with every value withheld
-- that the primary and secondary suppression withheld, each suppressible column followed by its
-- `<column>_suppressed` flag (tkpk.publish.packs.write_bappeda). Placeholders, filled from the
-- data dictionary: `source`, the staged restricted rows; `flags`, the withheld flags (`__row`,
-- the row number in key order from 0, and one BOOLEAN per suppressible column, as `f`); `columns`,
-- the table's columns in dictionary order, each suppressible one as withheld_value(r.value,
-- f.flag) and withheld_flag(r.value, f.flag) (macros.sql); `key`, the table's key.
-- Grain: the table's key, in key order.
with

numbered as (
    select row_number() over (order by {{key}}) - 1 as __row, *
    from {{source}}
),

final as (
    select {{columns}}
    from numbered as r
    join {{flags}} as f using (__row)
)

select * from final order by {{key}}
