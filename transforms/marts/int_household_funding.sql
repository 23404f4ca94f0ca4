-- int_household_funding: successful receipts of each household by funding source.
-- Grain: one row per (period, id_keluarga, funding_source) for the households of s(m) with at
-- least one matched successful record of that funding source in the reach window of m.
-- amount_idr: the successful amounts of those records (all programs).
with

windowed as (
    select
        int_periods.period,
        int_periods.snapshot,
        int_program_monthly.id_keluarga,
        int_program_monthly.funding_source,
        int_program_monthly.records,
        int_program_monthly.amount_idr
    from int_periods
    join int_program_monthly
        on int_program_monthly.snapshot = int_periods.snapshot
        and int_program_monthly.record_period
            between int_periods.window_start and int_periods.period
    where int_program_monthly.id_keluarga is not null
        and int_program_monthly.status = 'success'
),

final as (
    select
        period,
        snapshot,
        id_keluarga,
        funding_source,
        cast(sum(records) as bigint) as success_records,
        cast(sum(amount_idr) as decimal(38, 2)) as amount_idr
    from windowed
    group by period, snapshot, id_keluarga, funding_source
)

select * from final
