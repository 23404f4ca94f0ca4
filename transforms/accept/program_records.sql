/* MODEL (
    kind acceptance,
    grain (file_id, row_number)
) */
-- program_records: the accepted program records of the batch (appended; disbursements, PBI-JK
-- and local lists alike, `source_kind` telling them apart), typed as in docs/architecture.md,
-- with their lineage (file_id, row_number; the file's name and SHA-256 are in ingest_file). A
-- field a warning flagged is null here (its defect is in flagged_field).
-- Grain: one row per accepted raw row.
with

accepted as (
    select * from _decision where outcome = 'accepted'
),

final as (
    select
        program,
        source_kind,
        record_date,
        period,
        nik,
        no_kk,
        kelurahan_code,
        cast(amount_idr as decimal(18, 2)) as amount_idr,
        status,
        funding_source,
        channel,
        cast(stage as smallint) as stage,
        file_id,
        row_number
    from accepted
)

select * from final
