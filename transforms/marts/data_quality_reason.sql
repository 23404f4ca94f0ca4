/* MODEL (
    kind full,
    grain (run_id, file_name, sha256, reason)
) */
-- data_quality_reason: quarantined rows by reason code.
-- Grain: one row per (run_id, file_name / sha256, reason): ingest_data_quality_reason of all
-- runs. A row quarantined for several reasons counts once under each of them.
with

source as (
    select * from ingest_data_quality_reason
),

final as (
    select run_id, file_name, sha256, reason, rows
    from source
    order by run_id, file_name, reason
)

select * from final
