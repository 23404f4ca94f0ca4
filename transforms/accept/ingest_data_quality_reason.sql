/* MODEL (
    kind acceptance,
    grain (run_id, sha256, reason)
) */
-- ingest_data_quality_reason: the run's quarantine reasons per file (appended), from the kinds'
-- reason_count rows (`_reason_count`), with the file's name and SHA-256; `$run_id` is the run.
-- Grain: one row per (run, file, reason) with at least one quarantined row.
with

counted as (
    select file_id, reason, sum(rows)::bigint as rows
    from _reason_count
    group by file_id, reason
),

final as (
    select $run_id as run_id, f.file_name, f.sha256, c.reason, c.rows
    from counted as c
    join ingest_file as f on f.file_id = c.file_id
)

select * from final order by file_name, reason
