/* MODEL (
    kind full,
    grain (period, record_period),
    partition_role central
) */
-- int_excluded_months: the months of each period's snapshot reach outside the period's window.
-- Grain: one row per (period, record_period): record_period a month of the reach of s(period)
-- (the months from the earliest window start to the latest period of the periods using that
-- snapshot, the months int_program_monthly holds for it) that is not in the reach window of
-- period (the twelve calendar months ending with it); snapshot = s(period).
-- int_household_program and int_household_funding sum a household's rows over its snapshot's
-- whole reach once and subtract, per period, the rows of these months (with quarterly snapshots
-- the few months at the reach's two ends). Built from every period (kind full: an incremental
-- build rebuilds it first, before int_periods is narrowed to the periods it recomputes).
with

snapshot_reach as (
    select snapshot, min(window_start) as first_month, max(period) as last_month
    from int_periods
    group by snapshot
),

reach_months as (
    select
        snapshot,
        cast(unnest(generate_series(first_month, last_month, interval 1 month)) as date)
            as record_period
    from snapshot_reach
),

final as (
    select int_periods.period, reach_months.snapshot, reach_months.record_period
    from reach_months
    join int_periods on int_periods.snapshot = reach_months.snapshot
    where reach_months.record_period < int_periods.window_start
        or reach_months.record_period > int_periods.period
)

select * from final
