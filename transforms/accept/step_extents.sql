/* MODEL (
    kind acceptance,
    grain (file_order)
) */
-- step_extents: the row ids of each file of one kind's staged rows (stg_<kind>: every row the
-- decision judged; `_decision` itself is sparse), what the bounded commits cut into steps
-- (tkpk.ingest.accept.plan_steps; row id = file order x ROW_ID_FACTOR + row number).
-- Grain: one row per file of the kind in the batch.
-- Placeholders: the kind; the row id's factor.
with

files as (
    select
        min(row_id) as first_row_id,
        max(row_id) as last_row_id,
        count(*) as rows
    from stg_{{kind}}
    group by row_id // {{row_id_factor}}
),

final as (
    select first_row_id, last_row_id, rows from files
)

select * from final
