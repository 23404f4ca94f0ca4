-- unusable_snapshots: the snapshots the figures cannot use, with the reason (run summary).
-- Grain: one row per snapshot of snapshot_status that is not usable, oldest first; month as
-- YYYY-MM.
with

final as (
    select strftime(snapshot, '%Y-%m') as month, note
    from snapshot_status
    where not usable
)

select * from final order by month
