-- report_quality_summary: rows read, accepted, quarantined and duplicated over every file the runs
-- processed (the briefing pack's data-quality box; tkpk/report/data.py).
-- Grain: one row over the pack's data_quality rows of files not already loaded before (files,
-- files quarantined and the row sums; sums 0 without files).
with

processed as (
    select * from data_quality
    where file_outcome <> 'already_loaded'
),

totals as (
    select
        count(*) as files,
        count(*) filter (where file_outcome = 'quarantined') as files_quarantined,
        sum(rows_read) as rows_read,
        sum(accepted) as accepted,
        sum(quarantined) as quarantined,
        sum(duplicate) as duplicate
    from processed
),

final as (
    -- the sums are 0 (not NULL) without files
    select files, files_quarantined, coalesce(columns(* exclude (files, files_quarantined)), 0)
    from totals
)

select * from final
