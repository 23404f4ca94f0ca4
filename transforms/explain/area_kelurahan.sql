-- explain area_kelurahan: the kelurahan whose households and records make an area's row.
-- Grain: one row per kelurahan_code of getvariable('explain_area') in int_area_hierarchy (the
-- kelurahan itself; a kecamatan's or the kota's kelurahan; for the region's root area also the
-- NULL code: households and records of no known kelurahan). Read as explain_kelurahan.
with

final as (
    select kelurahan_code
    from int_area_hierarchy
    where area_code = getvariable('explain_area')
)

select * from final
