/* MODEL (
    kind full,
    grain (kelurahan_code, area_code),
    partition_role central
) */
-- int_area_hierarchy: the bridge from a kelurahan to every area that contains it.
-- Grain: one row per (kelurahan_code, area_code): each kelurahan/desa of ref_area paired with
-- itself, its kecamatan, its kabupaten/kota and its province (the levels ref_area holds for the
-- configured region), plus one row with kelurahan_code NULL paired with the region's root area
-- (the city row for a kota region), for records that name no known kelurahan.
--
-- Area tables join their microdata facts to this bridge (`kelurahan_code is not distinct from`)
-- and aggregate by area_code: every level is the same aggregation of the same microdata, never an
-- average of smaller areas. Nothing here names a particular region.
with

areas as (
    select code, level from ref_area
),

kelurahan as (
    select code, kecamatan_code, kabkota_code, province_code
    from ref_area
    where level = 'kelurahan'
),

ancestors as (
    select code as kelurahan_code, code as area_code from kelurahan
    union
    select code, kecamatan_code from kelurahan where kecamatan_code is not null
    union
    select code, kabkota_code from kelurahan where kabkota_code is not null
    union
    select code, province_code from kelurahan where province_code is not null
),

root as (
    -- the region itself: the area with the shortest dotted code (kota, kabupaten or provinsi)
    select code from areas where level <> 'kelurahan' order by length(code), code limit 1
),

final as (
    select ancestors.kelurahan_code, ancestors.area_code
    from ancestors
    join areas on areas.code = ancestors.area_code
    union all
    select cast(null as varchar) as kelurahan_code, code as area_code
    from root
)

select * from final
