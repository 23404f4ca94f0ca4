-- run_row_counts: the rows of the files one nightly run loaded (the run summary, flows/summary.py).
-- Grain: one row: rows read, accepted, quarantined, duplicate and skipped lines over the files
-- run $run_id loaded (ingest_data_quality, file_outcome 'loaded'); 0 when it loaded none.
with

loaded as (
    select * from ingest_data_quality
    where run_id = $run_id and file_outcome = 'loaded'
),

final as (
    select
        coalesce(sum(rows_read), 0) as rows_read,
        coalesce(sum(accepted), 0) as accepted,
        coalesce(sum(quarantined), 0) as quarantined,
        coalesce(sum(duplicate), 0) as duplicate,
        coalesce(sum(skipped_lines), 0) as skipped_lines
    from loaded
)

select * from final
