-- explain area_unmatched: the program records of an area's row that matched nobody.
-- Grain: one row per int_program_monthly row (snapshot, record month, program, funding source,
-- status, kelurahan) of s(m) whose records match no household of s(m), of a month of the reach
-- window of m = getvariable('explain_period'), attributed to a kelurahan of the area
-- (explain_kelurahan; NULL: the region row only). Read as explain_unmatched by the program
-- tables' explain SQL (unmatched_* and failed_* of records without a household).
with

final as (
    select int_program_monthly.*
    from int_program_monthly
    join int_periods
        on int_periods.snapshot = int_program_monthly.snapshot
        and int_program_monthly.record_period between int_periods.window_start
            and int_periods.period
    join explain_kelurahan
        on explain_kelurahan.kelurahan_code
            is not distinct from int_program_monthly.kelurahan_code
    where int_periods.period = getvariable('explain_period')
        and int_program_monthly.household_key is null
)

select * from final
