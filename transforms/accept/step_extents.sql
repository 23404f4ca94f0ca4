/* MODEL (
    kind acceptance,
    grain (file_order)
) */
-- step_extents: the row ids of each file of one kind's staged rows (stg_<kind>: every row the
-- decision judged; `_decision` itself is sparse), what the bounded commits cut into steps
-- (tkpk.ingest.accept.plan_steps; row id = file order x ROW_ID_FACTOR + row number). Grouped by
-- the file order and its row numbers' bounds, not by each row's computed row id.
-- Grain: one row per file of the kind in the batch.
-- Placeholders: the kind; the row id's factor.
with

files as (
    select
        file_order,
        min(row_number) as first_row,
        max(row_number) as last_row,
        count(*) as rows
    from stg_{{kind}}
    group by file_order
),

final as (
    select
        cast(file_order as bigint) * {{row_id_factor}} + first_row as first_row_id,
        cast(file_order as bigint) * {{row_id_factor}} + last_row as last_row_id,
        rows
    from files
)

select * from final
