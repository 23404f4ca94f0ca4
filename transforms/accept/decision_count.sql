/* MODEL (
    kind acceptance,
    grain (sha256)
) */
-- decision_count: how many rows of each file of one kind's decision are accepted, quarantined
-- and duplicate (what ingest_data_quality reports and reconciliation adds up). The decision
-- (`_decision`) is sparse: it holds every row not accepted but not every accepted row, so a
-- file's accepted rows are its staged rows (`_staged_count`, counted by
-- tkpk.ingest.accept.stage) less its quarantined and duplicate rows.
-- Grain: one row per file of the kind in the batch with staged rows (by its SHA-256).
-- Placeholder: the kind.
with

staged as (
    select b.file_id, b.sha256, c.rows
    from _staged_count as c
    join ingest_batch as b on b.sha256 = c.sha256
    where b.kind = '{{kind}}'
),

outcomes as (
    select file_id,
        count(*) filter (where outcome = 'quarantined') as quarantined,
        count(*) filter (where outcome = 'duplicate') as duplicate
    from _decision
    group by file_id
),

final as (
    select s.sha256,
        s.rows - coalesce(o.quarantined, 0) - coalesce(o.duplicate, 0) as accepted,
        coalesce(o.quarantined, 0) as quarantined,
        coalesce(o.duplicate, 0) as duplicate
    from staged as s
    left join outcomes as o on o.file_id = s.file_id
)

select * from final
