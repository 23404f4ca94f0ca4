/* MODEL (
    kind full,
    grain (period),
    partition_role central
) */
-- int_periods: reported periods.
-- Grain: one row per reported period m (calendar month, DATE = first day of the month).
--
-- m is reported when it has a registry snapshot (usable or not) or any program record, and a
-- usable snapshot <= m exists (indicators.md, "Notation"). For each reported period:
--   snapshot          s(m): the latest usable snapshot whose month is <= m
--   window_start      first month of the reach window: the twelve calendar months ending with m
-- The poverty lines in force (one per kab/kota) are int_period_lines.
with

snapshot_months as (
    select distinct cast(date_trunc('month', snapshot) as date) as snapshot, usable
    from snapshot_status
),

usable_snapshots as (
    select distinct snapshot from snapshot_months where usable
),

candidate_months as (
    select snapshot as period from snapshot_months
    union
    select cast(date_trunc('month', period) as date) as period
    from program_records
    where period is not null
),

with_snapshot as (
    select candidate_months.period, usable_snapshots.snapshot
    from candidate_months
    asof join usable_snapshots on candidate_months.period >= usable_snapshots.snapshot
),

final as (
    select
        period,
        snapshot,
        cast(period - interval 11 month as date) as window_start
    from with_snapshot
    order by period
)

select * from final
