-- synth_areas: the leaf areas the synthetic generator places households in (tkpk synth;
-- tkpk/synth/generator.py), with its attributes.
-- Grain: one row per kelurahan/desa of ref_area, by code. alias: its first alias; kec6: its
-- kecamatan code without dots; is_kota: its kab/kota is a kota; is_desa: a desa (4th part
-- starts with 2); name_ok: its name and its alias each resolve alone to it (ref_area_alias).
with

leaves as (
    select
        code,
        name,
        kecamatan_code,
        kabkota_code,
        split_part(aliases, '|', 1) as alias
    from ref_area
    where level = 'kelurahan'
),

kab as (
    select code, level from ref_area where level in ('kota', 'kabupaten')
),

final as (
    select
        l.code,
        replace(l.code, '.', '') as code_plain,
        l.name,
        l.alias,
        l.kecamatan_code,
        l.kabkota_code as kab,
        cast(replace(l.kecamatan_code, '.', '') as bigint) as kec6,
        coalesce(k.level = 'kota', true) as is_kota,
        split_part(l.code, '.', 4)[1] = '2' as is_desa,
        coalesce(n.code = l.code, false)
            and (l.alias = '' or coalesce(al.code = l.code, false)) as name_ok
    from leaves as l
    left join kab as k on k.code = l.kabkota_code
    left join ref_area_alias as n on n.alias_key = area_key(l.name)
    left join ref_area_alias as al on al.alias_key = area_key(l.alias)
)

select * from final order by code
