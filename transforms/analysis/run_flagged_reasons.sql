-- run_flagged_reasons: the most frequent reasons of the fields flagged (warnings) in the files one
-- nightly run loaded (run summary).
-- Grain: one row per reason of flagged_field over the files run $run_id loaded
-- (ingest_data_quality, file_outcome 'loaded'), the $limit most frequent, ties by reason.
with

loaded as (
    -- the files (file_id, by their sha256) the run loaded
    select f.file_id
    from ingest_file as f
    semi join ingest_data_quality as q
        on q.sha256 = f.sha256 and q.run_id = $run_id and q.file_outcome = 'loaded'
),

reasons as (
    select reason, count(*) as n
    from flagged_field
    where file_id in (select file_id from loaded)
    group by reason
),

final as (
    select * from reasons order by n desc, reason limit $limit
)

select * from final
