-- explain area_name: the name and level of the area a request names (`$area`, a dotted code);
-- no row when the code is not an area of the region.
-- Grain: one row per ref_area code (at most one).
with

final as (
    select name, level
    from ref_area
    where code = $area
)

select * from final
