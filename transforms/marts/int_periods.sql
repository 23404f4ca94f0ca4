-- int_periods: reported periods.
-- Grain: one row per reported period m (calendar month, DATE = first day of the month).
--
-- m is reported when it has a registry snapshot (usable or not) or any program record, and a
-- usable snapshot <= m exists (indicators.md, "Notation"). For each reported period:
--   snapshot          s(m): the latest usable snapshot whose month is <= m
--   poverty line      z: the latest ref_poverty_line row with effective_from <= m (its extreme
--                     line z_e may be null; the line is null only before the first configured row)
--   window_start      first month of the reach window: the twelve calendar months ending with m
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

with_line as (
    select
        with_snapshot.period,
        with_snapshot.snapshot,
        ref_poverty_line.effective_from as poverty_line_from,
        ref_poverty_line.line_idr as poverty_line_idr,
        ref_poverty_line.extreme_line_idr as extreme_poverty_line_idr,
        ref_poverty_line.status as poverty_line_status
    from with_snapshot
    asof left join ref_poverty_line
        on with_snapshot.period >= ref_poverty_line.effective_from
),

final as (
    select
        period,
        snapshot,
        cast(period - interval 11 month as date) as window_start,
        poverty_line_from,
        cast(poverty_line_idr as decimal(18, 2)) as poverty_line_idr,
        cast(extreme_poverty_line_idr as decimal(18, 2)) as extreme_poverty_line_idr,
        poverty_line_status
    from with_line
    order by period
)

select * from final
