-- ref_program_alias: which program a written program name means (tkpk.reference.install).
-- Grain: one row per alias_key (the program_key macro of a program's code, name or one of its
-- '|'-separated aliases); a key shared by two programs is ambiguous and left out.
-- Reads ref_program and the data frame `programs` (its aliases column).
with

names as (
    select code, program_key(code) as alias_key from ref_program
    union select code, program_key(name) from ref_program
    union
    select code, program_key(unnest(string_split(aliases, '|'))) from programs
    where aliases <> ''
),

final as (
    select alias_key, min(code) as code from names where alias_key is not null
    group by alias_key having count(distinct code) = 1
)

select * from final
