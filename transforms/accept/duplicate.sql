/* MODEL (
    kind acceptance,
    grain (file_id, row_number)
) */
-- duplicate: the batch's rows that repeat an accepted row (appended), each with a pointer to the
-- row it repeats (duplicate_of_file_id, duplicate_of_row). Lineage: file_id, row_number (name and
-- SHA-256 in ingest_file), load_id.
-- Grain: one row per duplicate raw row.
with

duplicates as (
    select * from _decision where outcome = 'duplicate'
),

final as (
    select
        file_id,
        kind,
        row_number,
        duplicate_of_file_id,
        duplicate_of_row,
        cast(load_id as varchar) as load_id
    from duplicates
)

select * from final
