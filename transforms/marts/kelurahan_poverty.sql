/* MODEL (
    kind period,
    grain (period, area_code)
) */
-- kelurahan_poverty: registry-based monetary and multidimensional poverty by area.
-- Grain: one row per (period, area_code) for every reported period and every area of ref_area
-- (each kelurahan, each kecamatan, the kota/kabupaten and, for a province, the province), empty
-- areas included (zero counts, NULL ratios).
--
-- Definitions: indicators.md. Every level is aggregated from the households of s(m) through
-- int_area_hierarchy, never by averaging smaller areas. Sums are exact (integers, decimals, gaps
-- in integer cents); each ratio is one division of an exact numerator by an exact denominator:
--   p0 = poor_population / N
--   p1 = sum(n_h * (z - y_h)) / (z * N)           over the poor
--   p2 = sum(n_h * (z - y_h)^2) / (z^2 * N)       over the poor
--   mpi_h = mpi_poor_population / N_mpi, mpi_a = sum(n_h * c_h) / mpi_poor_population over the
--   multidimensionally poor (NULL when none), mpi_m0 = sum(n_h * c_h) / N_mpi (= mpi_h * mpi_a),
--   deprived_<indicator> = sum(n_h [deprived]) / N_mpi (uncensored), where N_mpi =
--   mpi_population is the population of the households of the MPI sample (no indicator missing;
--   int_household_snapshot) and mpi_incomplete_population = N - N_mpi; all MPI ratios NULL when
--   N_mpi = 0.
-- Lines by area: each household is measured with its kab/kota's line (int_period_lines); the row
-- shows the line (value, effective_from, status, scope) when all its households use one line
-- (int_area_lines; a province row whose kab/kota use different lines shows none), and p1 / p2 are
-- then one division; otherwise p1 = sum over the kab/kota lines g of gap_g / z_g, divided by N.
-- gini and median_expenditure_idr: int_snapshot_distribution (from the area's own households).
-- Official series (BPS, Susenas; ref_official_poverty) on the kab/kota rows only: the latest
-- release whose survey month is at or before the period: official_p0 (fraction),
-- official_year, registry_coverage = N / that release's population (NULL without one).
-- p1 and p2 are capped at p0 and p1: the exact values already satisfy p2 <= p1 <= p0, the cap
-- only removes a last-bit rounding difference of the double division when they are equal.
with

by_line as (
    -- additive sums per (period, area_code, line_area_code): int_poverty_sums, with each group's
    -- gaps relative to its own line (for an area measured with several lines)
    select
        int_poverty_sums.*,
        cast(int_poverty_sums.gap_cents_sum as double)
            / cast(cast(int_period_lines.poverty_line_idr * 100 as hugeint) as double)
            as relative_gap_sum,
        cast(int_poverty_sums.gap_cents_squared_sum as double)
            / cast(
                cast(int_period_lines.poverty_line_idr * 100 as hugeint)
                * cast(int_period_lines.poverty_line_idr * 100 as hugeint) as double)
            as relative_gap_squared_sum
    from int_poverty_sums
    left join int_period_lines
        on int_period_lines.period = int_poverty_sums.period
        and int_period_lines.line_area_code = int_poverty_sums.line_area_code
),

aggregated as (
    -- the line groups of each area added up (one group unless a province row)
    select
        period,
        area_code,
        sum(columns(* exclude (
            period, area_code, line_area_code, relative_gap_sum, relative_gap_squared_sum
        ))),
        -- summed in a fixed (sorted) order: the same bits however the rows arrive
        list_sum(list_sort(list(relative_gap_sum))) as relative_gap_sum,
        list_sum(list_sort(list(relative_gap_squared_sum))) as relative_gap_squared_sum
    from by_line
    group by period, area_code
),

grid as (
    select
        int_periods.period,
        ref_area.level as area_level,
        ref_area.code as area_code,
        ref_area.name as area_name,
        ref_area.kecamatan_code,
        int_periods.snapshot,
        int_area_lines.poverty_line_idr,
        int_area_lines.extreme_poverty_line_idr,
        int_area_lines.poverty_line_status,
        int_area_lines.poverty_line_effective_from,
        int_area_lines.poverty_line_scope,
        int_area_lines.line_count,
        int_area_lines.poverty_line_in_force,
        int_area_lines.extreme_line_in_force,
        int_snapshot_distribution.gini,
        int_snapshot_distribution.median_expenditure_idr
    from int_periods
    cross join ref_area
    join int_area_lines
        on int_area_lines.period = int_periods.period
        and int_area_lines.area_code = ref_area.code
    left join int_snapshot_distribution
        on int_snapshot_distribution.snapshot = int_periods.snapshot
        and int_snapshot_distribution.area_code = ref_area.code
),

counts as (
    select
        grid.*,
        cast(coalesce(aggregated.population, 0) as bigint) as population,
        cast(coalesce(aggregated.households, 0) as bigint) as households,
        -- poverty counts exist only where a poverty line is in force (extreme: its extreme line)
        cast(case when grid.poverty_line_in_force
            then coalesce(aggregated.poor_population, 0) end as bigint) as poor_population,
        cast(case when grid.poverty_line_in_force
            then coalesce(aggregated.poor_households, 0) end as bigint) as poor_households,
        case when grid.poverty_line_in_force
            then coalesce(aggregated.gap_cents_sum, 0) end as gap_cents_sum,
        case when grid.poverty_line_in_force
            then coalesce(aggregated.gap_cents_squared_sum, 0) end as gap_cents_squared_sum,
        coalesce(aggregated.relative_gap_sum, 0) as relative_gap_sum,
        coalesce(aggregated.relative_gap_squared_sum, 0) as relative_gap_squared_sum,
        cast(case when grid.poverty_line_in_force
            then coalesce(aggregated.poverty_gap_idr_month, 0) end as decimal(38, 2))
            as poverty_gap_idr_month,
        cast(case when grid.extreme_line_in_force
            then coalesce(aggregated.extreme_poor_population, 0) end as bigint)
            as extreme_poor_population,
        cast(case when grid.poverty_line_in_force
            then coalesce(aggregated.near_poor_population, 0) end as bigint)
            as near_poor_population,
        cast(coalesce(aggregated.households_desil_1_4, 0) as bigint) as households_desil_1_4,
        cast(case when grid.poverty_line_in_force
            then coalesce(aggregated.poor_households_unreached, 0) end as bigint)
            as poor_households_unreached,
        cast(coalesce(aggregated.mpi_population, 0) as bigint) as mpi_population,
        cast(coalesce(aggregated.mpi_poor_population, 0) as bigint) as mpi_poor_population,
        cast(coalesce(aggregated.mpi_score_18_sum, 0) as bigint) as mpi_score_18_sum,
        -- the nine deprived_<indicator> counts (persons of the MPI sample)
        cast(coalesce(columns('^deprived_'), 0) as bigint)
    from grid
    left join aggregated
        on aggregated.period = grid.period and aggregated.area_code = grid.area_code
),

ratios as (
    select
        counts.*,
        case when population > 0
            then cast(poor_population as double) / population end as p0_exact,
        case
            when population = 0 or not poverty_line_in_force then null
            when line_count = 1
            then cast(gap_cents_sum as double)
                / cast(cast(poverty_line_idr * 100 as hugeint) * population as double)
            else relative_gap_sum / population
        end as p1_exact,
        case
            when population = 0 or not poverty_line_in_force then null
            when line_count = 1
            then cast(gap_cents_squared_sum as double)
                / cast(
                    cast(poverty_line_idr * 100 as hugeint)
                    * cast(poverty_line_idr * 100 as hugeint) * population as double)
            else relative_gap_squared_sum / population
        end as p2_exact
    from counts
),

official as (
    -- the latest official release at or before each period, per kab/kota
    select
        periods.period,
        ref_official_poverty.area_code,
        ref_official_poverty.p0 as official_p0,
        ref_official_poverty.year as official_year,
        ref_official_poverty.population as official_population
    from (select distinct period from int_periods) as periods
    join ref_official_poverty on ref_official_poverty.survey_month <= periods.period
    join ref_area
        on ref_area.code = ref_official_poverty.area_code
        and ref_area.level in ('kota', 'kabupaten')
    qualify row_number() over (
        partition by periods.period, ref_official_poverty.area_code
        order by ref_official_poverty.survey_month desc
    ) = 1
),

final as (
    select
        period,
        area_level,
        area_code,
        area_name,
        kecamatan_code,
        snapshot,
        poverty_line_idr,
        extreme_poverty_line_idr,
        poverty_line_status,
        poverty_line_effective_from,
        poverty_line_scope,
        population,
        households,
        poor_population,
        poor_households,
        p0_exact as p0,
        least(p1_exact, p0_exact) as p1,
        least(p2_exact, p1_exact, p0_exact) as p2,
        poverty_gap_idr_month,
        extreme_poor_population,
        case when population > 0
            then cast(extreme_poor_population as double) / population end as extreme_p0,
        near_poor_population,
        households_desil_1_4,
        poor_households_unreached,
        gini,
        median_expenditure_idr,
        mpi_population,
        population - mpi_population as mpi_incomplete_population,
        mpi_poor_population,
        case when mpi_population > 0
            then cast(mpi_poor_population as double) / mpi_population end as mpi_h,
        case when mpi_poor_population > 0
            then cast(mpi_score_18_sum as double) / (18 * mpi_poor_population) end as mpi_a,
        case when mpi_population > 0
            then cast(mpi_score_18_sum as double) / (18 * mpi_population) end as mpi_m0,
        -- deprived_<indicator> = its count / N_mpi, for the nine indicators
        case when mpi_population > 0
            then cast(columns('^deprived_') as double) / mpi_population end,
        cast(official.official_p0 as double) as official_p0,
        official.official_year,
        case when official.official_population > 0
            then cast(population as double) / official.official_population end
            as registry_coverage
    from ratios
    left join official using (period, area_code)
    order by period, area_code
)

select * from final
