-- kelurahan_names: the kelurahan/desa of the region and their names (the codes a scenario or a
-- field list may name).
-- Grain: one row per ref_area row of level kelurahan.
with

final as (
    select code, name from ref_area where level = 'kelurahan'
)

select * from final
