-- explain region_root: the region's root area (the kota, or the province of a province run):
-- the area of int_area_hierarchy without a kelurahan.
-- Grain: one row (the root's code).
with

final as (
    select area_code
    from int_area_hierarchy
    where kelurahan_code is null
)

select * from final
