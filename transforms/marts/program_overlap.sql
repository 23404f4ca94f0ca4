/* MODEL (
    kind period,
    grain (period, area_code)
) */
-- program_overlap: how many programs the poor and the target households receive.
-- Grain: one row per (period, area_code) for every reported period and every area of ref_area.
--
-- For the households of s(m) living in the area: poor households (y < z) and target households
-- (DESIL <= 4) by the number of distinct programs they received in the reach window of m (at
-- least one successful matched record): 0, 1, 2, 3 or more. Each family of buckets adds up to
-- poor_households / target_households. Poverty uses each household's kab/kota line; the row shows
-- the line (int_area_lines: value, effective_from, status, scope; NULL on a row measured with
-- several lines).
with

aggregated as (
    -- additive counts per (period, area_code): int_overlap_sums
    select * from int_overlap_sums
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
        int_area_lines.poverty_line_effective_from,
        int_area_lines.poverty_line_status,
        int_area_lines.poverty_line_scope,
        int_area_lines.poverty_line_in_force as has_line
    from int_periods
    cross join ref_area
    join int_area_lines
        on int_area_lines.period = int_periods.period
        and int_area_lines.area_code = ref_area.code
),

final as (
    select
        grid.period,
        grid.area_level,
        grid.area_code,
        grid.area_name,
        grid.kecamatan_code,
        grid.snapshot,
        grid.poverty_line_idr,
        grid.poverty_line_effective_from,
        grid.poverty_line_status,
        grid.poverty_line_scope,
        cast(case when grid.has_line then coalesce(aggregated.poor_households, 0) end as bigint)
            as poor_households,
        cast(case when grid.has_line then coalesce(aggregated.poor_programs_0, 0) end as bigint)
            as poor_programs_0,
        cast(case when grid.has_line then coalesce(aggregated.poor_programs_1, 0) end as bigint)
            as poor_programs_1,
        cast(case when grid.has_line then coalesce(aggregated.poor_programs_2, 0) end as bigint)
            as poor_programs_2,
        cast(case when grid.has_line then coalesce(aggregated.poor_programs_3plus, 0) end
            as bigint) as poor_programs_3plus,
        cast(coalesce(aggregated.target_households, 0) as bigint) as target_households,
        cast(coalesce(aggregated.target_programs_0, 0) as bigint) as target_programs_0,
        cast(coalesce(aggregated.target_programs_1, 0) as bigint) as target_programs_1,
        cast(coalesce(aggregated.target_programs_2, 0) as bigint) as target_programs_2,
        cast(coalesce(aggregated.target_programs_3plus, 0) as bigint) as target_programs_3plus
    from grid
    left join aggregated
        on aggregated.period = grid.period and aggregated.area_code = grid.area_code
    order by grid.period, grid.area_code
)

select * from final
