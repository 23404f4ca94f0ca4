/* MODEL (
    kind period,
    grain (period, id_keluarga, funding_source),
    cluster_key period,
    household_scope (snapshot, household_key),
    partition_role partition
) */
-- int_household_funding: successful receipts of each household by funding source.
-- Grain: one row per (period, id_keluarga, funding_source) for the households of s(m) with at
-- least one matched successful record of that funding source in the reach window of m.
-- amount_idr: the successful amounts of those records (all programs).
-- household_key: the household's integer key in s(m) (int_household_snapshot).
--
-- Computed as int_household_program is (see there): each (snapshot, household, funding source)'s
-- successful rows summed once over the snapshot's reach, minus, per period, the rows of the
-- reach months outside its window; a period has a row when some successful row of its window
-- remains.
with

periods as (
    select period, snapshot, window_start from int_periods
),

snapshot_reach as (
    -- months each snapshot's periods can see: from the earliest window start to the latest period
    select snapshot, min(window_start) as first_month, max(period) as last_month
    from periods
    group by snapshot
),

excluded_months as (
    -- each period with the months of its snapshot's reach outside its window (an equi-join key)
    select periods.period, reach.snapshot, reach.record_period
    from (
        select
            snapshot,
            cast(unnest(generate_series(first_month, last_month, interval 1 month)) as date)
                as record_period
        from snapshot_reach
    ) as reach
    join periods on periods.snapshot = reach.snapshot
    where reach.record_period < periods.window_start or reach.record_period > periods.period
),

successful as not materialized (
    select snapshot, record_period, household_key, id_keluarga, funding_source, records,
        amount_idr
    from int_program_monthly
    where household_key is not null and status = 'success'
),

reach_totals as (
    -- per (snapshot, household, funding source): the successful rows of the snapshot's reach
    select
        successful.snapshot,
        successful.household_key,
        -- one id per household_key: grouped by the integer, carried along
        any_value(successful.id_keluarga) as id_keluarga,
        successful.funding_source,
        count(*) as months,
        sum(successful.records) as success_records,
        sum(successful.amount_idr) as amount_idr
    from successful
    join snapshot_reach
        on snapshot_reach.snapshot = successful.snapshot
        and successful.record_period
            between snapshot_reach.first_month and snapshot_reach.last_month
    group by successful.snapshot, successful.household_key, successful.funding_source
),

excluded as (
    -- per (period, household, funding source): the rows of the reach outside the period's window
    select
        excluded_months.period,
        successful.household_key,
        successful.funding_source,
        count(*) as months,
        sum(successful.records) as success_records,
        sum(successful.amount_idr) as amount_idr
    from successful
    join excluded_months
        on excluded_months.snapshot = successful.snapshot
        and excluded_months.record_period = successful.record_period
    group by excluded_months.period, successful.household_key, successful.funding_source
),

windowed as (
    select
        periods.period,
        reach_totals.snapshot,
        reach_totals.id_keluarga,
        reach_totals.household_key,
        reach_totals.funding_source,
        reach_totals.months - coalesce(excluded.months, 0) as months_in_window,
        reach_totals.success_records - coalesce(excluded.success_records, 0) as success_records,
        reach_totals.amount_idr - coalesce(excluded.amount_idr, 0) as amount_idr
    from reach_totals
    join periods on periods.snapshot = reach_totals.snapshot
    left join excluded
        on excluded.period = periods.period
        and excluded.household_key = reach_totals.household_key
        and excluded.funding_source is not distinct from reach_totals.funding_source
),

final as (
    select
        period,
        snapshot,
        id_keluarga,
        household_key,
        funding_source,
        cast(success_records as bigint) as success_records,
        cast(amount_idr as decimal(38, 2)) as amount_idr
    from windowed
    where months_in_window > 0
)

select * from final
