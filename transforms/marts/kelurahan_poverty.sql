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
--   mpi_h = mpi_poor_population / N, mpi_a = sum(n_h * c_h) / mpi_poor_population over the
--   multidimensionally poor (NULL when none), mpi_m0 = sum(n_h * c_h) / N (= mpi_h * mpi_a),
--   deprived_<indicator> = sum(n_h [deprived]) / N (uncensored).
-- Official series (BPS, Susenas; ref_official_poverty) on the kab/kota rows only: the latest
-- release whose survey month is at or before the period: official_p0 (fraction),
-- official_year, registry_coverage = N / that release's population (NULL without one).
-- p1 and p2 are capped at p0 and p1: the exact values already satisfy p2 <= p1 <= p0, the cap
-- only removes a last-bit rounding difference of the double division when they are equal.
with

aggregated as (
    -- additive sums per (period, area_code): int_poverty_sums
    select * from int_poverty_sums
),

grid as (
    select
        int_periods.period,
        ref_area.level as area_level,
        ref_area.code as area_code,
        ref_area.name as area_name,
        ref_area.kecamatan_code,
        int_periods.snapshot,
        int_periods.poverty_line_idr,
        int_periods.extreme_poverty_line_idr,
        int_periods.poverty_line_status
    from int_periods
    cross join ref_area
),

counts as (
    select
        grid.*,
        cast(coalesce(aggregated.population, 0) as bigint) as population,
        cast(coalesce(aggregated.households, 0) as bigint) as households,
        -- poverty counts exist only where a poverty line is in force (extreme: its extreme line)
        cast(case when grid.poverty_line_idr is not null
            then coalesce(aggregated.poor_population, 0) end as bigint) as poor_population,
        cast(case when grid.poverty_line_idr is not null
            then coalesce(aggregated.poor_households, 0) end as bigint) as poor_households,
        case when grid.poverty_line_idr is not null
            then coalesce(aggregated.gap_cents_sum, 0) end as gap_cents_sum,
        case when grid.poverty_line_idr is not null
            then coalesce(aggregated.gap_cents_squared_sum, 0) end as gap_cents_squared_sum,
        cast(case when grid.poverty_line_idr is not null
            then coalesce(aggregated.poverty_gap_idr_month, 0) end as decimal(38, 2))
            as poverty_gap_idr_month,
        cast(case when grid.extreme_poverty_line_idr is not null
            then coalesce(aggregated.extreme_poor_population, 0) end as bigint)
            as extreme_poor_population,
        cast(case when grid.poverty_line_idr is not null
            then coalesce(aggregated.near_poor_population, 0) end as bigint)
            as near_poor_population,
        cast(coalesce(aggregated.households_desil_1_4, 0) as bigint) as households_desil_1_4,
        cast(case when grid.poverty_line_idr is not null
            then coalesce(aggregated.poor_households_unreached, 0) end as bigint)
            as poor_households_unreached,
        cast(coalesce(aggregated.mpi_poor_population, 0) as bigint) as mpi_poor_population,
        cast(coalesce(aggregated.mpi_score_18_sum, 0) as bigint) as mpi_score_18_sum,
        cast(coalesce(aggregated.deprived_schooling, 0) as bigint) as deprived_schooling_n,
        cast(coalesce(aggregated.deprived_attendance, 0) as bigint) as deprived_attendance_n,
        cast(coalesce(aggregated.deprived_insurance, 0) as bigint) as deprived_insurance_n,
        cast(coalesce(aggregated.deprived_electricity, 0) as bigint) as deprived_electricity_n,
        cast(coalesce(aggregated.deprived_water, 0) as bigint) as deprived_water_n,
        cast(coalesce(aggregated.deprived_sanitation, 0) as bigint) as deprived_sanitation_n,
        cast(coalesce(aggregated.deprived_housing, 0) as bigint) as deprived_housing_n,
        cast(coalesce(aggregated.deprived_cooking_fuel, 0) as bigint) as deprived_cooking_fuel_n,
        cast(coalesce(aggregated.deprived_crowding, 0) as bigint) as deprived_crowding_n
    from grid
    left join aggregated
        on aggregated.period = grid.period and aggregated.area_code = grid.area_code
),

ratios as (
    select
        counts.*,
        case when population > 0
            then cast(poor_population as double) / population end as p0_exact,
        case when population > 0
            then cast(gap_cents_sum as double)
                / cast(cast(poverty_line_idr * 100 as hugeint) * population as double)
        end as p1_exact,
        case when population > 0
            then cast(gap_cents_squared_sum as double)
                / cast(
                    cast(poverty_line_idr * 100 as hugeint)
                    * cast(poverty_line_idr * 100 as hugeint) * population as double)
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
        mpi_poor_population,
        case when population > 0
            then cast(mpi_poor_population as double) / population end as mpi_h,
        case when mpi_poor_population > 0
            then cast(mpi_score_18_sum as double) / (18 * mpi_poor_population) end as mpi_a,
        case when population > 0
            then cast(mpi_score_18_sum as double) / (18 * population) end as mpi_m0,
        case when population > 0
            then cast(deprived_schooling_n as double) / population end as deprived_schooling,
        case when population > 0
            then cast(deprived_attendance_n as double) / population end as deprived_attendance,
        case when population > 0
            then cast(deprived_insurance_n as double) / population end as deprived_insurance,
        case when population > 0
            then cast(deprived_electricity_n as double) / population end as deprived_electricity,
        case when population > 0
            then cast(deprived_water_n as double) / population end as deprived_water,
        case when population > 0
            then cast(deprived_sanitation_n as double) / population end as deprived_sanitation,
        case when population > 0
            then cast(deprived_housing_n as double) / population end as deprived_housing,
        case when population > 0
            then cast(deprived_cooking_fuel_n as double) / population end as deprived_cooking_fuel,
        case when population > 0
            then cast(deprived_crowding_n as double) / population end as deprived_crowding,
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
