-- ref_area_alias: which kelurahan a written area name means (tkpk.reference.install).
-- Grain: one row per alias_key (the area_key macro of a kelurahan's name or of one of its
-- '|'-separated aliases); a key shared by two kelurahan is ambiguous and left out.
-- Reads ref_area.
with

names as (
    select code, area_key(name) as alias_key from ref_area where level = 'kelurahan'
    union
    select code, area_key(unnest(string_split(aliases, '|'))) as alias_key
    from ref_area where level = 'kelurahan' and aliases <> ''
),

final as (
    select alias_key, min(code) as code
    from names where alias_key is not null
    group by alias_key having count(distinct code) = 1
)

select * from final
