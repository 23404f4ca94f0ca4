/* MODEL (
    kind full,
    grain (run_id, file_name, sha256)
) */
-- data_quality: what happened to every raw file in every run.
-- Grain: one row per (run_id, file_name / sha256): ingest_data_quality of all runs, rows by
-- outcome (accepted, quarantined, duplicate) and lines skipped. rows_read = accepted +
-- quarantined + duplicate holds for every row (checked by the ingest reconciliation). An entry of
-- the raw folder that is not read (file_outcome ignored: hidden file, folder, link, cannot be
-- opened) has no content hash: its sha256 is empty.
with

source as (
    select * from ingest_data_quality
),

final as (
    select
        run_id,
        file_name,
        kind,
        coalesce(sha256, '') as sha256,
        file_outcome,
        file_reason,
        rows_read,
        accepted,
        quarantined,
        duplicate,
        skipped_lines
    from source
    order by run_id, file_name
)

select * from final
