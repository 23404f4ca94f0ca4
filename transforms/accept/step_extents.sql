/* MODEL (
    kind acceptance,
    grain (file_order)
) */
-- step_extents: the row ids of each file of one kind's decision, what the bounded commits cut
-- into steps (tkpk.ingest.accept.plan_steps; row id = file order x ROW_ID_FACTOR + row number).
-- Grain: one row per file of the kind in the batch.
with

files as (
    select
        row_id // {{row_id_factor}} as file_order,
        min(row_id) as first_row_id,
        max(row_id) as last_row_id,
        count(*) as rows
    from _decision
    group by file_order
),

final as (
    select first_row_id, last_row_id, rows from files
)

select * from final
