-- scenario_results: the figures of one budget scenario before and after its transfers
-- (tkpk simulate, SIMULATION_RESULTS in tkpk/publish/dictionary.py; indicators.md, "Budget
-- what-if").
-- Grain: one row per area of ref_area (kelurahan, kecamatan, city; a province region also its
-- kab/kota and province rows).
--
-- Reads scenario_outcome (the temp table tkpk.simulate makes from
-- transforms/decisions/scenario_outcome.sql: one row per household with its transfer t).
-- Parameters: $scenario (its name), $period (DATE).
-- After the transfer y' = y + t / n (exactly z when the whole gap was paid); P1 and P2 are capped
-- at P0 and P1 (removes a last-bit rounding difference when they are equal); spent_idr_month is
-- what the area's households receive, cost_per_person_lifted that over the persons lifted.
with

outcome as (
    select * from scenario_outcome
),

judged as (
    select
        kelurahan_code,
        n,
        t,
        poor,
        extreme_poor,
        case
            when reached then false
            when t > 0 and n > 0 then cast(y as double) + t / n < cast(z as double)
            else poor
        end as poor_after,
        case
            when ze is null then null
            when reached then z < ze
            when t > 0 and n > 0 then cast(y as double) + t / n < cast(ze as double)
            else extreme_poor
        end as extreme_after,
        case when poor then cast(z - y as double) / cast(z as double) end as rel_gap,
        case when poor then n * (z - y) end as gap_idr,
        case
            when reached then 0
            when t > 0 and n > 0
                then greatest(cast(z as double) - cast(y as double) - t / n, 0)
            when poor then cast(z - y as double)
            else 0
        end as gap_after_capita,
        z,
        case when extreme_poor then n * (ze - y) end as extreme_gap_idr
    from outcome
),

by_kelurahan as (
    select
        kelurahan_code,
        sum(n) as population,
        sum(n) filter (where poor) as poor_before,
        sum(n) filter (where poor_after) as poor_after,
        sum(n) filter (where extreme_poor) as extreme_before,
        sum(n) filter (where extreme_after) as extreme_after,
        sum(n * rel_gap) as p1_sum_before,
        sum(n * rel_gap * rel_gap) as p2_sum_before,
        sum(n * gap_after_capita / cast(z as double)) as p1_sum_after,
        sum(n * (gap_after_capita / cast(z as double)) * (gap_after_capita / cast(z as double)))
            as p2_sum_after,
        sum(gap_idr) as gap_before_idr,
        sum(n * gap_after_capita) as gap_after_idr,
        sum(n) filter (where poor and not poor_after) as lifted,
        sum(t) as spent,
        sum(t) filter (where poor) as spent_on_poor,
        sum(extreme_gap_idr) as extreme_gap_idr
    from judged
    group by kelurahan_code
),

by_area as (
    select
        int_area_hierarchy.area_code,
        sum(population) as population,
        sum(poor_before) as poor_before,
        sum(poor_after) as poor_after,
        sum(extreme_before) as extreme_before,
        sum(extreme_after) as extreme_after,
        sum(p1_sum_before) as p1_sum_before,
        sum(p2_sum_before) as p2_sum_before,
        sum(p1_sum_after) as p1_sum_after,
        sum(p2_sum_after) as p2_sum_after,
        sum(gap_before_idr) as gap_before_idr,
        sum(gap_after_idr) as gap_after_idr,
        sum(lifted) as lifted,
        sum(spent) as spent,
        sum(spent_on_poor) as spent_on_poor,
        sum(extreme_gap_idr) as extreme_gap_idr
    from by_kelurahan
    join int_area_hierarchy
        on int_area_hierarchy.kelurahan_code is not distinct from by_kelurahan.kelurahan_code
    group by int_area_hierarchy.area_code
),

region_line as (
    select count(ze) > 0 as has_extreme_line from outcome
),

shares as (
    -- per person, uncapped; only areas with persons (the others get NULL ratios)
    select
        area_code,
        coalesce(poor_before, 0) / population as p0_before,
        coalesce(poor_after, 0) / population as p0_after,
        coalesce(p1_sum_before, 0) / population as p1_before,
        coalesce(p1_sum_after, 0) / population as p1_after,
        coalesce(p2_sum_before, 0) / population as p2_before,
        coalesce(p2_sum_after, 0) / population as p2_after,
        coalesce(extreme_before, 0) / population as extreme_p0_before,
        coalesce(extreme_after, 0) / population as extreme_p0_after
    from by_area
    where population > 0
),

final as (
    select
        $scenario as scenario,
        cast($period as date) as period,
        ref_area.level as area_level,
        ref_area.code as area_code,
        ref_area.name as area_name,
        ref_area.kecamatan_code,
        shares.p0_before,
        shares.p0_after,
        least(shares.p1_before, shares.p0_before) as p1_before,
        least(shares.p1_after, shares.p0_after) as p1_after,
        least(shares.p2_before, shares.p1_before) as p2_before,
        least(shares.p2_after, shares.p1_after) as p2_after,
        case when region_line.has_extreme_line then shares.extreme_p0_before end
            as extreme_p0_before,
        case when region_line.has_extreme_line then shares.extreme_p0_after end
            as extreme_p0_after,
        cast(coalesce(a.poor_before, 0) as bigint) as poor_population_before,
        cast(coalesce(a.poor_after, 0) as bigint) as poor_population_after,
        cast(coalesce(a.lifted, 0) as bigint) as persons_lifted,
        coalesce(a.spent, 0) as spent_idr_month,
        coalesce(a.spent_on_poor, 0) as spent_on_poor_idr_month,
        case when a.spent > 0 then greatest(1 - coalesce(a.spent_on_poor, 0) / a.spent, 0) end
            as leakage,
        case when a.gap_before_idr > 0
            then least(greatest(1 - a.gap_after_idr / cast(a.gap_before_idr as double), 0), 1)
        end as gap_closed,
        case when a.lifted > 0 then a.spent / a.lifted end as cost_per_person_lifted_idr_month,
        case when region_line.has_extreme_line
            then cast(coalesce(a.extreme_gap_idr, 0) as double) end
            as budget_to_end_extreme_poverty_idr_month
    from ref_area
    cross join region_line
    left join by_area as a on a.area_code = ref_area.code
    left join shares on shares.area_code = ref_area.code
)

select * from final
