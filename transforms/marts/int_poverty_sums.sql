/* MODEL (
    kind period,
    grain (period, area_code, line_area_code),
    partition_role sum
) */
-- int_poverty_sums: the additive sums behind kelurahan_poverty, per period and area.
-- Grain: one row per (period, area_code, line_area_code) with at least one household of s(m) in
-- the area: line_area_code is the kab/kota whose poverty line the households were measured with
-- (int_household_status), so an area inside one kab/kota has one row per period and a province
-- row one per kab/kota (kelurahan_poverty divides each group's gaps by its own line).
--
-- Every column is an exact sum (integers, decimals, hugeint cents) over the households of the
-- area, so the sums of two disjoint sets of households add up: the distributed flow
-- (flows/distributed.py) computes these per kab/kota partition, adds them by (period, area_code)
-- and kelurahan_poverty turns the totals into ratios. Definitions: kelurahan_poverty.sql.
-- The households are summed per kelurahan first, then the kelurahan sums per area (the same
-- exact sums, without repeating every household once per area level).
with

by_kelurahan as (
    select
        period,
        kelurahan_code,
        line_area_code,
        sum(household_size) as population,
        count(*) as households,
        sum(household_size) filter (where poor) as poor_population,
        count(*) filter (where poor) as poor_households,
        sum(cast(household_size as hugeint) * gap_cents) filter (where poor) as gap_cents_sum,
        sum(cast(household_size as hugeint) * gap_cents * gap_cents) filter (where poor)
            as gap_cents_squared_sum,
        sum(household_size * (poverty_line_idr - pengeluaran_per_kapita)) filter (where poor)
            as poverty_gap_idr_month,
        sum(household_size) filter (where extreme_poor) as extreme_poor_population,
        sum(household_size) filter (where near_poor) as near_poor_population,
        count(*) filter (where desil between 1 and 4) as households_desil_1_4,
        count(*) filter (where poor and program_count = 0) as poor_households_unreached,
        -- MPI: over the MPI sample only (households without a missing indicator)
        sum(household_size) filter (where mpi_complete) as mpi_population,
        sum(household_size) filter (where mpi_poor) as mpi_poor_population,
        sum(household_size * mpi_score_18) filter (where mpi_poor) as mpi_score_18_sum,
        -- deprived_<indicator>: persons of the MPI sample deprived in it (nine columns)
        sum(case when mpi_complete and columns('^deprived_') then household_size end)
    from int_household_status
    group by period, kelurahan_code, line_area_code
),

aggregated as (
    -- NULL stays NULL (no household qualified anywhere in the area), counts stay BIGINT
    select
        by_kelurahan.period,
        int_area_hierarchy.area_code,
        by_kelurahan.line_area_code,
        sum(population) as population,
        cast(sum(households) as bigint) as households,
        sum(poor_population) as poor_population,
        cast(sum(poor_households) as bigint) as poor_households,
        sum(gap_cents_sum) as gap_cents_sum,
        sum(gap_cents_squared_sum) as gap_cents_squared_sum,
        sum(poverty_gap_idr_month) as poverty_gap_idr_month,
        sum(extreme_poor_population) as extreme_poor_population,
        sum(near_poor_population) as near_poor_population,
        cast(sum(households_desil_1_4) as bigint) as households_desil_1_4,
        cast(sum(poor_households_unreached) as bigint) as poor_households_unreached,
        sum(mpi_population) as mpi_population,
        sum(mpi_poor_population) as mpi_poor_population,
        sum(mpi_score_18_sum) as mpi_score_18_sum,
        sum(deprived_schooling) as deprived_schooling,
        sum(deprived_attendance) as deprived_attendance,
        sum(deprived_insurance) as deprived_insurance,
        sum(deprived_electricity) as deprived_electricity,
        sum(deprived_water) as deprived_water,
        sum(deprived_sanitation) as deprived_sanitation,
        sum(deprived_housing) as deprived_housing,
        sum(deprived_cooking_fuel) as deprived_cooking_fuel,
        sum(deprived_crowding) as deprived_crowding
    from by_kelurahan
    join int_area_hierarchy
        on int_area_hierarchy.kelurahan_code is not distinct from by_kelurahan.kelurahan_code
    group by by_kelurahan.period, int_area_hierarchy.area_code, by_kelurahan.line_area_code
),

final as (
    select * from aggregated
)

select * from final
