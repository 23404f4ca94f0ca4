-- run_quarantine_reasons: the most frequent quarantine reasons of one nightly run (run summary).
-- Grain: one row per reason of run $run_id (ingest_data_quality_reason), the $limit most
-- frequent, most frequent first, ties by reason.
with

reasons as (
    select reason, sum(rows)::bigint as n
    from ingest_data_quality_reason
    where run_id = $run_id
    group by reason
),

final as (
    select * from reasons order by n desc, reason limit $limit
)

select * from final
