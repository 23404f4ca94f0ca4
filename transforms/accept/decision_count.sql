/* MODEL (
    kind acceptance,
    grain (sha256)
) */
-- decision_count: how many rows of each file of one kind's decision are accepted, quarantined
-- and duplicate (what ingest_data_quality reports and reconciliation adds up).
-- Grain: one row per file of the kind in the batch (by its SHA-256).
with

outcomes as (
    select file_id,
        count(*) filter (where outcome = 'accepted') as accepted,
        count(*) filter (where outcome = 'quarantined') as quarantined,
        count(*) filter (where outcome = 'duplicate') as duplicate
    from _decision
    group by file_id
),

final as (
    select b.sha256, o.accepted, o.quarantined, o.duplicate
    from outcomes as o
    join ingest_batch as b on b.file_id = o.file_id
)

select * from final
