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
--          sum_h n_h y_h (2 W_h + n_h) - N sum_h n_h y_h: one running sum (W_h) per area.
--   median_expenditure_idr = the person-weighted lower median: the smallest y_h whose cumulative
--          weight (households sorted by y) reaches N / 2 (2 * cumulative >= N); NULL when N = 0.
-- The figures depend on the snapshot only: the distributed flow builds this model centrally from
-- the combined household table (gini and the median are not additive over partitions), and the
-- incremental build keeps it (a registry file forces a full build).
with

households as (
    select
        int_household_snapshot.snapshot,
        int_area_hierarchy.area_code,
        int_household_snapshot.household_key,
        cast(int_household_snapshot.household_size as bigint) as weight,
        int_household_snapshot.pengeluaran_per_kapita as y,
        cast(int_household_snapshot.pengeluaran_per_kapita * 100 as bigint) as y_cents
    from int_household_snapshot
    join int_area_hierarchy
        on int_area_hierarchy.kelurahan_code
            is not distinct from int_household_snapshot.kelurahan_code
),

cumulated as (
    -- one sort per area: the cumulative weight up to and including each household (W_h is this
    -- minus the household's own weight), and the area's total weight
    select
        snapshot,
        area_code,
        weight,
        y,
        y_cents,
        sum(weight) over upto as weight_upto,
        sum(weight) over (
            partition by snapshot, area_code order by y_cents, household_key
            rows between unbounded preceding and unbounded following
        ) as area_weight
    from households
    window upto as (
        partition by snapshot, area_code order by y_cents, household_key
        rows between unbounded preceding and current row
    )
),

aggregated as (
    select
        snapshot,
        area_code,
        sum(weight) as population,
        sum(cast(weight as hugeint) * y_cents) as amount_cents,
        -- sum_h n_h y_h (2 W_h + n_h), W_h = weight_upto - n_h
        sum(cast(weight as hugeint) * y_cents * (2 * weight_upto - weight)) as weighted_ranks,
        min(y) filter (where 2 * weight_upto >= area_weight and area_weight > 0)
            as median_expenditure_idr
    from cumulated
    group by snapshot, area_code
),

final as (
    select
        snapshot,
        area_code,
        case when population > 0 and amount_cents > 0
            then cast(weighted_ranks - population * amount_cents as double)
                / (cast(population as double) * cast(amount_cents as double))
        end as gini,
        cast(median_expenditure_idr as decimal(18, 2)) as median_expenditure_idr
    from aggregated
)

select * from final
