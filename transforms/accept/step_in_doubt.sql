/* MODEL (
    kind acceptance,
    grain (row_id)
) */
-- step_in_doubt: one commit step's rows of the kind's rows in doubt (the whole `_in_doubt`,
-- in_doubt_rows.sql, set aside as _in_doubt_all while the kind is written in steps;
-- tkpk.ingest.accept._step_views), which accepted_rows.sql writes the accepted ones of. The
-- step: the row ids getvariable('step_first_row_id') to getvariable('step_last_row_id').
-- Grain: one row per staged row in doubt whose row id lies in the step's range.
with

final as (
    select * from _in_doubt_all
    where row_id between getvariable('step_first_row_id') and getvariable('step_last_row_id')
)

select * from final
