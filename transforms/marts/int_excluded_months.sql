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

reaches as (
    -- each period with its snapshot's reach: the earliest window start and the latest period
    -- of the periods using the snapshot
    select
        period,
        snapshot,
        window_start,
        min(window_start) over (partition by snapshot) as first_month,
        max(period) over (partition by snapshot) as last_month
    from int_periods
),

final as (
    -- the reach's months before the window, then those after it (empty ranges give no row)
    select
        period,
        snapshot,
        cast(unnest(generate_series(first_month, window_start - interval 1 month,
            interval 1 month)) as date) as record_period
    from reaches
    union all
    select
        period,
        snapshot,
        cast(unnest(generate_series(period + interval 1 month, last_month, interval 1 month))
            as date) as record_period
    from reaches
)

select * from final
