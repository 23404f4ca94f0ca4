-- explain area_households: the households of an area's row.
-- Grain: one row per household of s(m) (int_household_status) living in the area
-- (explain_kelurahan, area_kelurahan.sql), for period m = getvariable('explain_period'). Read as
-- explain_households by the explain SQL of the area tables.
with

final as (
    select int_household_status.*
    from int_household_status
    join explain_kelurahan
        on explain_kelurahan.kelurahan_code
            is not distinct from int_household_status.kelurahan_code
    where int_household_status.period = getvariable('explain_period')
)

select * from final
