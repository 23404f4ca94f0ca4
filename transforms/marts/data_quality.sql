-- data_quality: what happened to every raw file in every run.
-- Grain: one row per (run_id, file_name / sha256): ingest_data_quality of all runs, rows by
-- outcome (accepted, quarantined, duplicate) and lines skipped. rows_read = accepted +
-- quarantined + duplicate holds for every row (checked by the ingest reconciliation).
with

source as (
    select * from ingest_data_quality
),

final as (
    select
        run_id,
        file_name,
        kind,
        sha256,
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
