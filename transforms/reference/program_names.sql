-- program_names: the programs of the catalog and their names (the codes a field list may name).
-- Grain: one row per ref_program row.
with

final as (
    select code, name from ref_program
)

select * from final
