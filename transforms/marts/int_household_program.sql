-- int_household_program: what each household got from each program in a period's reach window.
-- Grain: one row per (period, id_keluarga, program) for the households of s(m) with at least one
-- matched successful or failed record of the program dated in the reach window of m (the twelve
-- calendar months ending with m).
--
-- recipient: at least one successful record (a failed attempt followed by a success makes a
-- recipient; failed attempts only do not). amount_idr: successful amounts only (PBI-JK: the
-- premium of every active member-month), summed over all the household's members' records.
with

windowed as (
    select
        int_periods.period,
        int_periods.snapshot,
        int_program_monthly.id_keluarga,
        int_program_monthly.program,
        int_program_monthly.status,
        int_program_monthly.records,
        int_program_monthly.amount_idr
    from int_periods
    join int_program_monthly
        on int_program_monthly.snapshot = int_periods.snapshot
        and int_program_monthly.record_period
            between int_periods.window_start and int_periods.period
    where int_program_monthly.id_keluarga is not null
),

aggregated as (
    select
        period,
        snapshot,
        id_keluarga,
        program,
        coalesce(sum(records) filter (where status = 'success'), 0) as success_records,
        cast(coalesce(sum(amount_idr) filter (where status = 'success'), 0) as decimal(38, 2))
            as amount_idr,
        coalesce(sum(records) filter (where status = 'failed'), 0) as failed_records,
        cast(coalesce(sum(amount_idr) filter (where status = 'failed'), 0) as decimal(38, 2))
            as failed_amount_idr
    from windowed
    group by period, snapshot, id_keluarga, program
),

final as (
    select
        period,
        snapshot,
        id_keluarga,
        program,
        success_records > 0 as recipient,
        cast(success_records as bigint) as success_records,
        amount_idr,
        cast(failed_records as bigint) as failed_records,
        failed_amount_idr
    from aggregated
)

select * from final
