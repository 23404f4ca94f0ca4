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
with

period_months as (
    -- each reported period with the months of its reach window (an equi-join key)
    select
        period,
        snapshot,
        cast(unnest(generate_series(window_start, period, interval 1 month)) as date)
            as record_period
    from int_periods
),

windowed as (
    select
        period_months.period,
        period_months.snapshot,
        int_program_monthly.household_key,
        int_program_monthly.id_keluarga,
        int_program_monthly.funding_source,
        int_program_monthly.records,
        int_program_monthly.amount_idr
    from period_months
    join int_program_monthly
        on int_program_monthly.snapshot = period_months.snapshot
        and int_program_monthly.record_period = period_months.record_period
    where int_program_monthly.household_key is not null
        and int_program_monthly.status = 'success'
),

final as (
    select
        period,
        snapshot,
        -- one id per household_key: grouped by the integer, carried along
        any_value(id_keluarga) as id_keluarga,
        household_key,
        funding_source,
        cast(sum(records) as bigint) as success_records,
        cast(sum(amount_idr) as decimal(38, 2)) as amount_idr
    from windowed
    group by period, snapshot, household_key, funding_source
)

select * from final
