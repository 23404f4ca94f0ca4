-- latest_period_lines: the poverty lines in force for the latest period, per kab/kota (the run
-- summary's line warnings: none configured, old, borrowed from a wider area).
-- Grain: one row per line_area_code of int_period_lines in its latest period, by code.
with

latest as (
    select max(period) as period from int_period_lines
),

final as (
    select
        lines.period,
        lines.line_area_code,
        lines.poverty_line_idr,
        lines.poverty_line_effective_from,
        lines.poverty_line_scope
    from int_period_lines as lines
    join latest on latest.period = lines.period
)

select * from final order by line_area_code
