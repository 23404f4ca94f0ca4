-- scenario_periods: the periods a budget scenario may name (tkpk.simulate.check_against_warehouse).
-- Grain: one row per reported period of int_household_status, with whether a poverty line is in
-- force for any of its households.
with

final as (
    select period, count(poverty_line_idr) > 0 as has_poverty_line
    from int_household_status
    group by period
)

select * from final
