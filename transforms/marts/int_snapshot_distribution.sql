/* MODEL (
    kind snapshot,
    grain (snapshot, area_code)
) */
-- int_snapshot_distribution: inequality and the median of per-capita expenditure, per area.
-- Grain: one row per (snapshot, area_code) with at least one household of the snapshot in the area
-- (the snapshots of int_household_snapshot; every period m using s(m) shows its row).
--
-- Over the persons of the area (each household h weighted by n_h, y_h = pengeluaran_per_kapita),
-- computed from the area's own households (kecamatan and city rows too, never combined from
-- smaller areas; indicators.md, "Poverty"):
--   gini = sum_h sum_g n_h n_g |y_h - y_g| / (2 N^2 mu), mu = sum n_h y_h / N (no small-sample
--          correction), NULL when N = 0. Exact in O(n log n): with the households sorted by y
--          (ties in any order), sum_h sum_g n_h n_g |y_h - y_g| = 2 sum_h n_h (y_h W_h - S_h),
--          W_h and S_h the sums of n_g and n_g y_g over the households before h, so
--          gini = sum_h n_h (y_h W_h - S_h) / (N * sum_h n_h y_h): integer cents in HUGEINT, one
--          division at the end. Since sum_h n_h S_h = sum_h n_h y_h (N - W_h - n_h) (each
--          household's amount counted once for every household after it), the numerator is
--          sum_h n_h y_h (2 W_h + n_h) - N sum_h n_h y_h: one running sum (W_h) per area, taken
--          as one running sum over every area's households in turn minus the weight of the areas
--          before (one sort without partitions: at 1,000,000 households 11.8 -> 4.5 s CPU).
--   median_expenditure_idr = the person-weighted lower median: the smallest y_h whose cumulative
--          weight (households sorted by y) reaches N / 2 (2 * cumulative >= N); NULL when N = 0.
-- The figures depend on the snapshot only: the distributed flow builds this model centrally from
-- the combined household table (gini and the median are not additive over partitions), and the
-- incremental build keeps it (a registry file forces a full build).
with

areas as (
    -- each area's integer id (the sort is on integers, not on the area's text code)
    select
        area_code,
        kelurahan_code,
        cast(dense_rank() over (order by area_code) as integer) as area_id
    from int_area_hierarchy
),

households as (
    select
        int_household_snapshot.snapshot,
        areas.area_id,
        int_household_snapshot.household_key,
        cast(int_household_snapshot.household_size as bigint) as weight,
        int_household_snapshot.pengeluaran_per_kapita as y
    from int_household_snapshot
    join areas
        on areas.kelurahan_code is not distinct from int_household_snapshot.kelurahan_code
),

cumulated as (
    -- one sort of every (snapshot, area)'s households, area after area, by y (a decimal: its
    -- cents as an integer) and household: the cumulative weight over all of them up to and
    -- including each household (cheaper than a sort per area: a running sum without partitions)
    select
        snapshot,
        area_id,
        weight,
        y,
        sum(weight) over (
            order by snapshot, area_id, y, household_key
            rows between unbounded preceding and current row
        ) as weight_running
    from households
),

populations as (
    -- each area's total weight N, and the weight of the areas before it in that order (base):
    -- within the area, the cumulative weight up to each household is weight_running - base
    select
        snapshot,
        area_id,
        population,
        sum(population) over (
            order by snapshot, area_id rows between unbounded preceding and current row
        ) - population as base
    from (
        select snapshot, area_id, sum(weight) as population
        from households
        group by snapshot, area_id
    ) as area_weights
),

aggregated as (
    select
        cumulated.snapshot,
        cumulated.area_id,
        any_value(populations.population) as population,
        sum(cast(weight as hugeint) * cast(y * 100 as bigint)) as amount_cents,
        -- sum_h n_h y_h (2 W_h + n_h), W_h = (weight_running - base) - n_h
        sum(cast(weight as hugeint) * cast(y * 100 as bigint)
            * (2 * (weight_running - populations.base) - weight)) as weighted_ranks,
        min(y) filter (
            where 2 * (weight_running - populations.base) >= populations.population
            and populations.population > 0
        ) as median_expenditure_idr
    from cumulated
    join populations
        on populations.snapshot = cumulated.snapshot and populations.area_id = cumulated.area_id
    group by cumulated.snapshot, cumulated.area_id
),

final as (
    select
        aggregated.snapshot,
        area_ids.area_code,
        case when population > 0 and amount_cents > 0
            then cast(weighted_ranks - population * amount_cents as double)
                / (cast(population as double) * cast(amount_cents as double))
        end as gini,
        cast(median_expenditure_idr as decimal(18, 2)) as median_expenditure_idr
    from aggregated
    join (select distinct area_code, area_id from areas) as area_ids
        on area_ids.area_id = aggregated.area_id
)

select * from final
