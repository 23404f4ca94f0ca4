-- synth_line: the poverty line the synthetic expenditures are calibrated to (tkpk synth).
-- Grain: one row: line_idr of the ref_poverty_line row in force on $day (the latest
-- effective_from on or before it), else of the earliest row.
with

in_force as (
    select line_idr from ref_poverty_line
    where effective_from <= $day::date
    order by effective_from desc
    limit 1
),

earliest as (
    select line_idr from ref_poverty_line order by effective_from limit 1
),

final as (
    select coalesce((select line_idr from in_force), (select line_idr from earliest)) as line_idr
)

select * from final
