-- run_flagged_reasons: the most frequent reasons of the fields flagged (warnings) in the files one
-- nightly run loaded (run summary).
-- Grain: one row per reason of flagged_field over the files run $run_id loaded
-- (ingest_data_quality, file_outcome 'loaded'), the $limit most frequent, ties by reason.
with

loaded as (
    select sha256 from ingest_data_quality
    where run_id = $run_id and file_outcome = 'loaded'
),

reasons as (
    select reason, count(*) as n
    from flagged_field
    where sha256 in (select sha256 from loaded)
    group by reason
),

final as (
    select * from reasons order by n desc, reason limit $limit
)

select * from final
