/* MODEL (
    kind period,
    grain (period, household_key, funding_source),
    cluster_key period,
    household_scope (snapshot, household_key),
    difference_of (int_program_monthly, records, success_records),
    partition_role partition
) */
-- int_household_funding: successful receipts of each household by funding source.
-- Grain: one row per (period, household_key, funding_source) for the households of s(m) with at
-- least one matched successful record of that funding source in the reach window of m.
-- amount_idr: the successful amounts of those records (all programs).
-- household_key: the household's integer key in s(m) (int_household_snapshot; its id_keluarga:
-- int_household_status).
--
-- Computed as int_household_program is (see there): each (snapshot, household, funding source)'s
-- successful rows summed once over the snapshot's reach, minus, per period, the rows of the
-- reach months outside its window (int_excluded_months); a period has a row when some
-- successful row of its window remains.
with

periods as (
    select period, snapshot, window_start from int_periods
),

excluded_months as (
    -- the reach months outside the window of each period recomputed (int_excluded_months)
    select int_excluded_months.period, int_excluded_months.snapshot,
        int_excluded_months.record_period
    from int_excluded_months
    semi join periods on periods.period = int_excluded_months.period
),

successful as not materialized (
    select snapshot, record_period, household_key, funding_source, records, amount_idr
    from int_program_monthly
    where household_key is not null and status = 'success'
),

reach_totals as (
    -- per (snapshot, household, funding source): the successful rows of the snapshot's reach
    select
        successful.snapshot,
        successful.household_key,
        successful.funding_source,
        count(*) as months,
        sum(successful.records) as success_records,
        sum(successful.amount_idr) as amount_idr
    from successful
    semi join periods on periods.snapshot = successful.snapshot
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
        household_key,
        funding_source,
        cast(success_records as bigint) as success_records,
        cast(amount_idr as decimal(38, 2)) as amount_idr
    from windowed
    where months_in_window > 0
)

select * from final
