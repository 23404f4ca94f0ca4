-- explain reported_periods: the periods the curated tables report (int_periods).
-- Grain: one row per period.
with

final as (
    select period from int_periods
)

select * from final
