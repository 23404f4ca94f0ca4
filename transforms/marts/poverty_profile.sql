/* MODEL (
    kind period,
    grain (period, area_code, profile_group)
) */
-- poverty_profile: poverty by the groups that programs target (indicators.md, "Profiles").
-- Grain: one row per (period, area_code, profile_group) for every reported period, every area of
-- ref_area and each of the eight groups, empty groups included (zero counts, NULL p0).
--
-- Household groups (every member of the household carries the group):
--   head_female      the head (HUBUNGAN_KELUARGA = 1) is a woman
--   head_60plus      the head is aged 60 or more
--   member_disabled  a member has DISABILITAS = 1
--   member_70plus    a member is aged 70 or more
-- A household has a head when exactly one of its accepted member rows is the head; without one
-- (none, or several rows claiming it), or when the head's sex (for head_female) or birth date
-- (for head_60plus) is flagged (NULL), the household is in no head group.
-- Person groups (households = households with at least one such person):
--   children_0_17, children_0_6 (ages 0-17, 0-6), elderly_60plus, persons_disabled.
-- Ages: whole years completed on the last day of the snapshot month; a person whose birth date
-- (age groups) or disability (disability groups) is flagged is in no group that needs it. The
-- groups are per household of the snapshot: int_household_snapshot computes them in its pass over
-- the members (households without an accepted member row are in no group). Per group:
-- population, poor_population (y < z, the household's line of int_household_status), p0,
-- extreme_poor_population (y < z_e), mpi_poor_population (persons of the group in
-- multidimensionally poor households of the MPI sample) and households.
-- Poverty counts are NULL for a period without a poverty line (extreme: without an extreme line).
-- Households are summed per (period, kelurahan, poverty status) first, then unpivoted to the
-- eight groups, then rolled up to every area through int_area_hierarchy (exact integer sums).
with

status as (
    select
        int_household_status.period,
        int_household_status.kelurahan_code,
        int_household_status.household_size,
        int_household_status.poor,
        int_household_status.extreme_poor,
        int_household_status.mpi_poor,
        int_household_snapshot.head_female,
        int_household_snapshot.head_60plus,
        int_household_snapshot.member_disabled,
        int_household_snapshot.member_70plus,
        int_household_snapshot.children_0_17,
        int_household_snapshot.children_0_6,
        int_household_snapshot.elderly_60plus,
        int_household_snapshot.persons_disabled
    from int_household_status
    join int_household_snapshot
        on int_household_snapshot.snapshot = int_household_status.snapshot
        and int_household_snapshot.household_key = int_household_status.household_key
    where int_household_snapshot.household_size > 0
),

period_lines as (
    -- a poverty (extreme) line is in force when some household of the period was judged with it
    select
        period,
        bool_or(poor is not null) as has_line,
        bool_or(extreme_poor is not null) as has_extreme_line
    from int_household_status
    group by period
),

cells as (
    -- persons and households of each group per (period, kelurahan, poverty status)
    select
        period,
        kelurahan_code,
        coalesce(poor, false) as poor,
        coalesce(extreme_poor, false) as extreme_poor,
        coalesce(mpi_poor, false) as mpi_poor,
        sum(household_size) filter (where head_female) as head_female_p,
        count(*) filter (where head_female) as head_female_h,
        sum(household_size) filter (where head_60plus) as head_60plus_p,
        count(*) filter (where head_60plus) as head_60plus_h,
        sum(household_size) filter (where member_disabled) as member_disabled_p,
        count(*) filter (where member_disabled) as member_disabled_h,
        sum(household_size) filter (where member_70plus) as member_70plus_p,
        count(*) filter (where member_70plus) as member_70plus_h,
        sum(children_0_17) as children_0_17_p,
        count(*) filter (where children_0_17 > 0) as children_0_17_h,
        sum(children_0_6) as children_0_6_p,
        count(*) filter (where children_0_6 > 0) as children_0_6_h,
        sum(elderly_60plus) as elderly_60plus_p,
        count(*) filter (where elderly_60plus > 0) as elderly_60plus_h,
        sum(persons_disabled) as persons_disabled_p,
        count(*) filter (where persons_disabled > 0) as persons_disabled_h
    from status
    group by all
),

unpivoted as (
    select
        period,
        kelurahan_code,
        poor,
        extreme_poor,
        mpi_poor,
        unnest([
            {'profile_group': 'head_female', 'persons': head_female_p, 'households': head_female_h},
            {'profile_group': 'head_60plus', 'persons': head_60plus_p, 'households': head_60plus_h},
            {'profile_group': 'member_disabled', 'persons': member_disabled_p,
                'households': member_disabled_h},
            {'profile_group': 'member_70plus', 'persons': member_70plus_p,
                'households': member_70plus_h},
            {'profile_group': 'children_0_17', 'persons': children_0_17_p,
                'households': children_0_17_h},
            {'profile_group': 'children_0_6', 'persons': children_0_6_p,
                'households': children_0_6_h},
            {'profile_group': 'elderly_60plus', 'persons': elderly_60plus_p,
                'households': elderly_60plus_h},
            {'profile_group': 'persons_disabled', 'persons': persons_disabled_p,
                'households': persons_disabled_h}
        ], recursive := true)
    from cells
),

by_kelurahan as (
    select
        period,
        kelurahan_code,
        profile_group,
        sum(persons) as population,
        sum(persons) filter (where poor) as poor_population,
        sum(persons) filter (where extreme_poor) as extreme_poor_population,
        sum(persons) filter (where mpi_poor) as mpi_poor_population,
        sum(households) as households
    from unpivoted
    group by period, kelurahan_code, profile_group
),

aggregated as (
    select
        by_kelurahan.period,
        int_area_hierarchy.area_code,
        by_kelurahan.profile_group,
        sum(population) as population,
        sum(poor_population) as poor_population,
        sum(extreme_poor_population) as extreme_poor_population,
        sum(mpi_poor_population) as mpi_poor_population,
        sum(households) as households
    from by_kelurahan
    join int_area_hierarchy
        on int_area_hierarchy.kelurahan_code is not distinct from by_kelurahan.kelurahan_code
    group by by_kelurahan.period, int_area_hierarchy.area_code, by_kelurahan.profile_group
),

profile_groups as (
    select unnest([
        'head_female', 'head_60plus', 'member_disabled', 'member_70plus',
        'children_0_17', 'children_0_6', 'elderly_60plus', 'persons_disabled'
    ]) as profile_group
),

grid as (
    select
        int_periods.period,
        ref_area.level as area_level,
        ref_area.code as area_code,
        ref_area.name as area_name,
        ref_area.kecamatan_code,
        int_periods.snapshot,
        profile_groups.profile_group,
        coalesce(period_lines.has_line, false) as has_line,
        coalesce(period_lines.has_extreme_line, false) as has_extreme_line
    from int_periods
    cross join ref_area
    cross join profile_groups
    left join period_lines on period_lines.period = int_periods.period
),

final as (
    select
        grid.period,
        grid.area_level,
        grid.area_code,
        grid.area_name,
        grid.kecamatan_code,
        grid.snapshot,
        grid.profile_group,
        cast(coalesce(aggregated.population, 0) as bigint) as population,
        cast(case when grid.has_line then coalesce(aggregated.poor_population, 0) end as bigint)
            as poor_population,
        case when grid.has_line and coalesce(aggregated.population, 0) > 0
            then cast(coalesce(aggregated.poor_population, 0) as double) / aggregated.population
        end as p0,
        cast(case when grid.has_extreme_line
            then coalesce(aggregated.extreme_poor_population, 0) end as bigint)
            as extreme_poor_population,
        cast(coalesce(aggregated.mpi_poor_population, 0) as bigint) as mpi_poor_population,
        cast(coalesce(aggregated.households, 0) as bigint) as households
    from grid
    left join aggregated
        on aggregated.period = grid.period
        and aggregated.area_code = grid.area_code
        and aggregated.profile_group = grid.profile_group
    order by grid.period, grid.area_code, grid.profile_group
)

select * from final
