/* MODEL (
    kind period,
    grain (period, id_keluarga, program),
    cluster_key period,
    household_scope (snapshot, household_key, program),
    partition_role partition
) */
-- int_household_program: what each household got from each program in a period's reach window.
-- Grain: one row per (period, id_keluarga, program) for the households of s(m) with at least one
-- matched successful or failed record of the program dated in the reach window of m (the twelve
-- calendar months ending with m).
--
-- recipient: at least one successful record (a failed attempt followed by a success makes a
-- recipient; failed attempts only do not). amount_idr: successful amounts only (PBI-JK: the
-- premium of every active member-month), summed over all the household's members' records.
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
        int_program_monthly.program,
        int_program_monthly.status,
        int_program_monthly.records,
        int_program_monthly.amount_idr
    from period_months
    join int_program_monthly
        on int_program_monthly.snapshot = period_months.snapshot
        and int_program_monthly.record_period = period_months.record_period
    where int_program_monthly.household_key is not null
),

aggregated as (
    select
        period,
        snapshot,
        household_key,
        -- one id per household_key: grouped by the integer, carried along
        any_value(id_keluarga) as id_keluarga,
        program,
        coalesce(sum(records) filter (where status = 'success'), 0) as success_records,
        cast(coalesce(sum(amount_idr) filter (where status = 'success'), 0) as decimal(38, 2))
            as amount_idr,
        coalesce(sum(records) filter (where status = 'failed'), 0) as failed_records,
        cast(coalesce(sum(amount_idr) filter (where status = 'failed'), 0) as decimal(38, 2))
            as failed_amount_idr
    from windowed
    group by period, snapshot, household_key, program
),

final as (
    select
        period,
        snapshot,
        id_keluarga,
        household_key,
        program,
        success_records > 0 as recipient,
        cast(success_records as bigint) as success_records,
        amount_idr,
        cast(failed_records as bigint) as failed_records,
        failed_amount_idr
    from aggregated
)

select * from final
