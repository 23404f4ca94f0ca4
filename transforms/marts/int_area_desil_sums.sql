/* MODEL (
    kind period,
    grain (period, area_code, desil),
    partition_role sum
) */
-- int_area_desil_sums: households and poor households by area and DESIL (program_reach's T and P).
-- Grain: one row per (period, area_code, desil) with at least one household of s(m) in the area
-- (desil NULL for a household without one).
--
-- Counts of disjoint sets of households add up (flows/distributed.py adds them across kab/kota
-- partitions); program_reach derives each program's target households (DESIL <= the catalog's
-- target_desil_max) and the poor households from them.
with

household_facts as (
    select period, kelurahan_code, desil, poor
    from int_household_status
),

households_by_desil as (
    select
        household_facts.period,
        int_area_hierarchy.area_code,
        household_facts.desil,
        count(*) as households,
        count(*) filter (where household_facts.poor) as poor_households
    from household_facts
    join int_area_hierarchy
        on int_area_hierarchy.kelurahan_code is not distinct from household_facts.kelurahan_code
    group by household_facts.period, int_area_hierarchy.area_code, household_facts.desil
),

final as (
    select * from households_by_desil
)

select * from final
