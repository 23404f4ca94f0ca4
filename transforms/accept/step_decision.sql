/* MODEL (
    kind acceptance,
    grain (row_id)
) */
-- step_decision: one commit step's rows of the kind's decision (the whole decision set aside as
-- _decision_all while the kind is written in steps; tkpk.ingest.accept._step_views). The step:
-- the row ids getvariable('step_first_row_id') to getvariable('step_last_row_id').
-- Grain: one row per staged row of the kind whose row id lies in the step's range.
with

final as (
    select * from _decision_all
    where row_id between getvariable('step_first_row_id') and getvariable('step_last_row_id')
)

select * from final
