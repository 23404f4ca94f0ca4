/* MODEL (
    kind acceptance,
    grain (file_id, row_number)
) */
-- quarantine: the batch's quarantined rows of one kind (appended) with every reason and the
-- values as read (JSON of the staged row's `raw_text`, the record as the reader read it:
-- `_raw_kept`, raw_kept.sql), so the registry owners can correct them. Lineage: file_id,
-- row_number (name and SHA-256 in ingest_file), load_id.
-- Grain: one row per quarantined raw row.
with

quarantined as (
    select row_id, load_id, file_id, kind, row_number, reasons
    from _decision
    where outcome = 'quarantined'
),

final as (
    select
        d.file_id,
        d.kind,
        d.row_number,
        d.reasons,
        r.cells as raw_values,
        cast(d.load_id as varchar) as load_id
    from quarantined as d
    join _raw_kept as r on r.row_id = d.row_id
)

select * from final
