-- ref_program: the program catalog with typed columns (tkpk.reference.install).
-- Grain: one row per program code.
-- Reads the data frame `programs` (tkpk.reference.load_programs: the packaged catalog with the
-- override folder's rows).
with

source as (
    select * from programs
),

final as (
    select
        code,
        name,
        unit,
        cash,
        funding,
        target_desil_max,
        cast(premium_idr_per_member_month as decimal(18, 2)) as premium_idr_per_member_month,
        benefit_note,
        adequacy
    from source
)

select * from final
