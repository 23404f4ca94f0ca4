/* MODEL (
    kind period,
    grain (period, area_code),
    partition_role sum
) */
-- int_overlap_sums: the additive counts behind program_overlap, per period and area.
-- Grain: one row per (period, area_code) with at least one household of s(m) in the area.
--
-- Household counts by poverty / target status and number of programs received; counts of
-- disjoint sets of households add up (flows/distributed.py adds them across kab/kota
-- partitions). Definitions: program_overlap.sql. Counted per kelurahan first, then the kelurahan
-- counts summed per area.
with

by_kelurahan as (
    select
        period,
        kelurahan_code,
        count(*) filter (where poor) as poor_households,
        count(*) filter (where poor and program_count = 0) as poor_programs_0,
        count(*) filter (where poor and program_count = 1) as poor_programs_1,
        count(*) filter (where poor and program_count = 2) as poor_programs_2,
        count(*) filter (where poor and program_count >= 3) as poor_programs_3plus,
        count(*) filter (where desil between 1 and 4) as target_households,
        count(*) filter (where desil between 1 and 4 and program_count = 0) as target_programs_0,
        count(*) filter (where desil between 1 and 4 and program_count = 1) as target_programs_1,
        count(*) filter (where desil between 1 and 4 and program_count = 2) as target_programs_2,
        count(*) filter (where desil between 1 and 4 and program_count >= 3)
            as target_programs_3plus
    from int_household_status
    group by period, kelurahan_code
),

aggregated as (
    select
        by_kelurahan.period,
        int_area_hierarchy.area_code,
        cast(sum(poor_households) as bigint) as poor_households,
        cast(sum(poor_programs_0) as bigint) as poor_programs_0,
        cast(sum(poor_programs_1) as bigint) as poor_programs_1,
        cast(sum(poor_programs_2) as bigint) as poor_programs_2,
        cast(sum(poor_programs_3plus) as bigint) as poor_programs_3plus,
        cast(sum(target_households) as bigint) as target_households,
        cast(sum(target_programs_0) as bigint) as target_programs_0,
        cast(sum(target_programs_1) as bigint) as target_programs_1,
        cast(sum(target_programs_2) as bigint) as target_programs_2,
        cast(sum(target_programs_3plus) as bigint) as target_programs_3plus
    from by_kelurahan
    join int_area_hierarchy
        on int_area_hierarchy.kelurahan_code is not distinct from by_kelurahan.kelurahan_code
    group by by_kelurahan.period, int_area_hierarchy.area_code
),

final as (
    select * from aggregated
)

select * from final
