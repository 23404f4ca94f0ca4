-- report_quality_summary: rows read, accepted, quarantined and duplicated over every file the runs
-- processed (the briefing pack's data-quality box; tkpk/report/data.py).
-- Grain: one row over the pack's data_quality rows of files not already loaded before (files,
-- files quarantined and the row sums; sums 0 without files).
with

processed as (
    select * from data_quality
    where file_outcome <> 'already_loaded'
),

final as (
    select
        count(*) as files,
        count(*) filter (where file_outcome = 'quarantined') as files_quarantined,
        coalesce(sum(rows_read), 0) as rows_read,
        coalesce(sum(accepted), 0) as accepted,
        coalesce(sum(quarantined), 0) as quarantined,
        coalesce(sum(duplicate), 0) as duplicate
    from processed
)

select * from final
