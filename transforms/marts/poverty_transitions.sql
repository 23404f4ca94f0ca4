/* MODEL (
    kind full,
    grain (snapshot_from, area_code)
) */
-- poverty_transitions: who moves into and out of poverty (indicators.md, "Poverty dynamics").
-- Grain: one row per (snapshot_from, area_code): every pair of consecutive usable registry
-- snapshots (s1, s2) and every area of ref_area, empty areas included (zero counts).
--
-- Households are followed by ID_KELUARGA from s1 to s2. Each is judged with the poverty line in
-- force in its own snapshot month: its int_household_status row of the period equal to the
-- snapshot month (every usable snapshot's month is a reported period whose s(m) is itself).
-- States: stayed_poor, entered_poverty (not poor in s1, poor in s2), exited_poverty,
-- stayed_non_poor, new (only in s2), left (only in s1). A followed household is counted where it
-- lives in s2, one that left where it lived in s1. <state>_population counts the persons of s2
-- (n_h of the s2 household; of s1 for left). The four poverty states are NULL when either
-- snapshot month has no poverty line (no household of it has a poverty status).
-- Program receipt beside the exits (descriptive, not causal): exited_poverty_recipient_households
-- and stayed_poor_recipient_households count the households of those states that received at
-- least one program (any catalog program, PBI-JK and in-kind included) in the reach window of
-- s2's month (the twelve months ending with s2: program_count of the s2 status row).
with

snapshots as (
    select distinct snapshot from int_periods
),

pairs as (
    select snapshot_from, snapshot_to
    from (
        select snapshot as snapshot_from, lead(snapshot) over (order by snapshot) as snapshot_to
        from snapshots
    )
    where snapshot_to is not null
),

judged as (
    select snapshot, id_keluarga, kelurahan_code, household_size, poor, program_count
    from int_household_status
    where period = snapshot
),

snapshot_lines as (
    select snapshot, bool_or(poor is not null) as has_line
    from judged
    group by snapshot
),

side_from as (
    select pairs.snapshot_from, pairs.snapshot_to, judged.*
    from pairs
    join judged on judged.snapshot = pairs.snapshot_from
),

side_to as (
    select pairs.snapshot_from, pairs.snapshot_to, judged.*
    from pairs
    join judged on judged.snapshot = pairs.snapshot_to
),

paired as (
    select
        coalesce(side_from.snapshot_from, side_to.snapshot_from) as snapshot_from,
        case
            when side_from.id_keluarga is null then 'new'
            when side_to.id_keluarga is null then 'left'
            when side_from.poor and side_to.poor then 'stayed_poor'
            when not side_from.poor and side_to.poor then 'entered_poverty'
            when side_from.poor and not side_to.poor then 'exited_poverty'
            when not side_from.poor and not side_to.poor then 'stayed_non_poor'
        end as state,
        case when side_to.id_keluarga is null
            then side_from.kelurahan_code else side_to.kelurahan_code end as kelurahan_code,
        case when side_to.id_keluarga is null
            then side_from.household_size else side_to.household_size end as persons,
        coalesce(side_to.program_count > 0, false) as recipient_to
    from side_from
    full join side_to
        on side_to.snapshot_from = side_from.snapshot_from
        and side_to.id_keluarga = side_from.id_keluarga
),

by_kelurahan as (
    select
        snapshot_from,
        kelurahan_code,
        count(*) filter (where state = 'stayed_poor') as stayed_poor_households,
        sum(persons) filter (where state = 'stayed_poor') as stayed_poor_population,
        count(*) filter (where state = 'entered_poverty') as entered_poverty_households,
        sum(persons) filter (where state = 'entered_poverty') as entered_poverty_population,
        count(*) filter (where state = 'exited_poverty') as exited_poverty_households,
        sum(persons) filter (where state = 'exited_poverty') as exited_poverty_population,
        count(*) filter (where state = 'stayed_non_poor') as stayed_non_poor_households,
        sum(persons) filter (where state = 'stayed_non_poor') as stayed_non_poor_population,
        count(*) filter (where state = 'new') as new_households,
        sum(persons) filter (where state = 'new') as new_population,
        count(*) filter (where state = 'left') as left_households,
        sum(persons) filter (where state = 'left') as left_population,
        count(*) filter (where state = 'exited_poverty' and recipient_to)
            as exited_poverty_recipient_households,
        count(*) filter (where state = 'stayed_poor' and recipient_to)
            as stayed_poor_recipient_households
    from paired
    group by snapshot_from, kelurahan_code
),

aggregated as (
    select
        by_kelurahan.snapshot_from,
        int_area_hierarchy.area_code,
        sum(stayed_poor_households) as stayed_poor_households,
        sum(stayed_poor_population) as stayed_poor_population,
        sum(entered_poverty_households) as entered_poverty_households,
        sum(entered_poverty_population) as entered_poverty_population,
        sum(exited_poverty_households) as exited_poverty_households,
        sum(exited_poverty_population) as exited_poverty_population,
        sum(stayed_non_poor_households) as stayed_non_poor_households,
        sum(stayed_non_poor_population) as stayed_non_poor_population,
        sum(new_households) as new_households,
        sum(new_population) as new_population,
        sum(left_households) as left_households,
        sum(left_population) as left_population,
        sum(exited_poverty_recipient_households) as exited_poverty_recipient_households,
        sum(stayed_poor_recipient_households) as stayed_poor_recipient_households
    from by_kelurahan
    join int_area_hierarchy
        on int_area_hierarchy.kelurahan_code is not distinct from by_kelurahan.kelurahan_code
    group by by_kelurahan.snapshot_from, int_area_hierarchy.area_code
),

grid as (
    select
        pairs.snapshot_from,
        pairs.snapshot_to,
        ref_area.level as area_level,
        ref_area.code as area_code,
        ref_area.name as area_name,
        ref_area.kecamatan_code,
        coalesce(line_from.has_line, false) and coalesce(line_to.has_line, false) as has_lines
    from pairs
    cross join ref_area
    left join snapshot_lines as line_from on line_from.snapshot = pairs.snapshot_from
    left join snapshot_lines as line_to on line_to.snapshot = pairs.snapshot_to
),

final as (
    select
        grid.snapshot_from,
        grid.snapshot_to,
        grid.area_level,
        grid.area_code,
        grid.area_name,
        grid.kecamatan_code,
        cast(case when grid.has_lines then coalesce(a.stayed_poor_households, 0) end as bigint)
            as stayed_poor_households,
        cast(case when grid.has_lines then coalesce(a.stayed_poor_population, 0) end as bigint)
            as stayed_poor_population,
        cast(case when grid.has_lines then coalesce(a.entered_poverty_households, 0) end
            as bigint) as entered_poverty_households,
        cast(case when grid.has_lines then coalesce(a.entered_poverty_population, 0) end
            as bigint) as entered_poverty_population,
        cast(case when grid.has_lines then coalesce(a.exited_poverty_households, 0) end
            as bigint) as exited_poverty_households,
        cast(case when grid.has_lines then coalesce(a.exited_poverty_population, 0) end
            as bigint) as exited_poverty_population,
        cast(case when grid.has_lines then coalesce(a.stayed_non_poor_households, 0) end
            as bigint) as stayed_non_poor_households,
        cast(case when grid.has_lines then coalesce(a.stayed_non_poor_population, 0) end
            as bigint) as stayed_non_poor_population,
        cast(coalesce(a.new_households, 0) as bigint) as new_households,
        cast(coalesce(a.new_population, 0) as bigint) as new_population,
        cast(coalesce(a.left_households, 0) as bigint) as left_households,
        cast(coalesce(a.left_population, 0) as bigint) as left_population,
        cast(case when grid.has_lines then coalesce(a.exited_poverty_recipient_households, 0) end
            as bigint) as exited_poverty_recipient_households,
        cast(case when grid.has_lines then coalesce(a.stayed_poor_recipient_households, 0) end
            as bigint) as stayed_poor_recipient_households
    from grid
    left join aggregated as a
        on a.snapshot_from = grid.snapshot_from and a.area_code = grid.area_code
    order by grid.snapshot_from, grid.area_code
)

select * from final
