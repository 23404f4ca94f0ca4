-- int_overlap_sums: the additive counts behind program_overlap, per period and area.
-- Grain: one row per (period, area_code) with at least one household of s(m) in the area.
--
-- Household counts by poverty / target status and number of programs received; counts of
-- disjoint sets of households add up (flows/distributed.py adds them across kab/kota
-- partitions). Definitions: program_overlap.sql.
with

facts as (
    select
        int_household_status.period,
        int_area_hierarchy.area_code,
        int_household_status.poor,
        int_household_status.desil between 1 and 4 as target,
        int_household_status.program_count
    from int_household_status
    join int_area_hierarchy
        on int_area_hierarchy.kelurahan_code
            is not distinct from int_household_status.kelurahan_code
),

aggregated as (
    select
        period,
        area_code,
        count(*) filter (where poor) as poor_households,
        count(*) filter (where poor and program_count = 0) as poor_programs_0,
        count(*) filter (where poor and program_count = 1) as poor_programs_1,
        count(*) filter (where poor and program_count = 2) as poor_programs_2,
        count(*) filter (where poor and program_count >= 3) as poor_programs_3plus,
        count(*) filter (where target) as target_households,
        count(*) filter (where target and program_count = 0) as target_programs_0,
        count(*) filter (where target and program_count = 1) as target_programs_1,
        count(*) filter (where target and program_count = 2) as target_programs_2,
        count(*) filter (where target and program_count >= 3) as target_programs_3plus
    from facts
    group by period, area_code
),

final as (
    select * from aggregated
)

select * from final
