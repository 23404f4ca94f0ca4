/* MODEL (
    kind acceptance,
    grain (file_id, reason)
) */
-- reason_count: the quarantine reasons of one kind's decision per file (appended to the run's
-- `_reason_count`; a row quarantined for two reasons counts under both).
-- Grain: one row per (file_id, reason) of the kind's files.
with

reasons as (
    select file_id, unnest(reasons) as reason
    from _decision
    where outcome = 'quarantined'
),

final as (
    select file_id, reason, count(*) as rows
    from reasons
    group by file_id, reason
)

select * from final
