-- synth_resolving_names: how many of the generator's "unknown" names would resolve after all
-- (tkpk synth checks that they stay unknown to the pipeline).
-- Grain: one row: area_matches (ref_area_alias keys among area_key($area_names)) and
-- program_matches (ref_program_alias keys among program_key($program_names)).
with

area_matches as (
    select count(*) as n from ref_area_alias
    where alias_key in (select area_key(unnest($area_names::varchar[])))
),

program_matches as (
    select count(*) as n from ref_program_alias
    where alias_key in (select program_key(unnest($program_names::varchar[])))
),

final as (
    select area_matches.n as area_matches, program_matches.n as program_matches
    from area_matches cross join program_matches
)

select * from final
