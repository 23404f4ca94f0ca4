/* MODEL (
    kind acceptance,
    grain (file_id, row_number)
) */
-- quarantine: the batch's quarantined rows of one kind (appended) with every reason and the raw
-- values as read (JSON of the raw row without its own lineage columns), so the registry owners
-- can correct them. Lineage: file_id, row_number (name and SHA-256 in ingest_file), load_id.
-- Grain: one row per quarantined raw row.
-- Placeholder: kind (the raw table raw_kind).
with

quarantined as (
    select load_id, file_id, kind, row_number, reasons
    from _decision
    where outcome = 'quarantined'
),

raw_rows as (
    select r.* exclude (sha256, file_name) from raw_{{kind}} as r
),

final as (
    select
        d.file_id,
        d.kind,
        d.row_number,
        d.reasons,
        json_merge_patch(to_json(raw), '{"load_id": null, "row_number": null}') as raw_values,
        cast(d.load_id as varchar) as load_id
    from quarantined as d
    join raw_rows as raw on raw.load_id = d.load_id and raw.row_number = d.row_number
)

select * from final
