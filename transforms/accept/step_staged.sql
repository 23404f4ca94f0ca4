/* MODEL (
    kind acceptance,
    grain (row_id)
) */
-- step_staged: one commit step's staged rows of the kind (the whole stg_{{kind}} set aside as
-- stg_{{kind}}_all while the kind is written in steps; tkpk.ingest.accept._step_views). The step:
-- the row ids getvariable('step_first_row_id') to getvariable('step_last_row_id'); the file
-- order and row number bounds (step_first_order ... step_last_row) repeat that range in the
-- staged Parquet's own columns, so the reader skips the row groups outside the step.
-- Grain: one row per staged row of the kind whose row id lies in the step's range.
with

final as (
    select * from stg_{{kind}}_all
    where row_id between getvariable('step_first_row_id') and getvariable('step_last_row_id')
        and file_order between getvariable('step_first_order') and getvariable('step_last_order')
        and row_number between getvariable('step_first_row') and getvariable('step_last_row')
)

select * from final
