/* MODEL (
    kind full,
    grain (period, area_code)
) */
-- int_area_lines: the poverty line shown on each area row of a period.
-- Grain: one row per (period, area_code) for every reported period and every area of ref_area.
--
-- The households of an area are measured with the line of their kab/kota (int_period_lines; a
-- household of an unknown kelurahan with the root area's line). An area inside one kab/kota
-- (kelurahan, kecamatan, the kab/kota itself) therefore has one line; a province row has one per
-- kab/kota. Columns:
--   line_count                  distinct lines (value, dates, status, area, extreme line) in use
--   poverty_line_idr, poverty_line_effective_from, poverty_line_status, poverty_line_scope,
--   extreme_poverty_line_idr    the line when line_count = 1, else NULL (a province whose kab/kota
--                               use different lines: each kab/kota row shows its own)
--   poverty_line_in_force       every kab/kota of the area has a line in force (else the area's
--                               poverty counts are NULL); extreme_line_in_force: the same for z_e
with

line_area_of_kelurahan as (
    -- each (kelurahan, area containing it) with the kab/kota whose line its households use
    select
        int_area_hierarchy.area_code,
        coalesce(
            case when ref_area.level <> 'provinsi' then ref_area.kabkota_code end,
            (select area_code from int_area_hierarchy where kelurahan_code is null)
        ) as line_area_code
    from int_area_hierarchy
    left join ref_area on ref_area.code = int_area_hierarchy.kelurahan_code
),

area_line_areas as (
    select distinct area_code, line_area_code from line_area_of_kelurahan
),

joined as (
    select
        area_line_areas.area_code,
        int_period_lines.*
    from area_line_areas
    join int_period_lines on int_period_lines.line_area_code = area_line_areas.line_area_code
),

per_area as (
    select
        period,
        area_code,
        count(distinct struct_pack(
            poverty_line_idr, poverty_line_effective_from, poverty_line_status,
            poverty_line_area_code, extreme_poverty_line_idr
        )) as line_count,
        bool_and(poverty_line_idr is not null) as poverty_line_in_force,
        bool_and(extreme_poverty_line_idr is not null) as extreme_line_in_force,
        any_value(poverty_line_idr) as poverty_line_idr,
        any_value(poverty_line_effective_from) as poverty_line_effective_from,
        any_value(poverty_line_status) as poverty_line_status,
        any_value(poverty_line_scope) as poverty_line_scope,
        any_value(extreme_poverty_line_idr) as extreme_poverty_line_idr
    from joined
    group by period, area_code
),

final as (
    select
        int_periods.period,
        ref_area.code as area_code,
        cast(coalesce(per_area.line_count, 0) as integer) as line_count,
        case when per_area.line_count = 1 then per_area.poverty_line_idr end as poverty_line_idr,
        case when per_area.line_count = 1 then per_area.poverty_line_effective_from end
            as poverty_line_effective_from,
        case when per_area.line_count = 1 then per_area.poverty_line_status end
            as poverty_line_status,
        case when per_area.line_count = 1 then per_area.poverty_line_scope end
            as poverty_line_scope,
        case when per_area.line_count = 1 then per_area.extreme_poverty_line_idr end
            as extreme_poverty_line_idr,
        coalesce(per_area.poverty_line_in_force, false) as poverty_line_in_force,
        coalesce(per_area.extreme_line_in_force, false) as extreme_line_in_force
    from int_periods
    cross join ref_area
    left join per_area
        on per_area.period = int_periods.period and per_area.area_code = ref_area.code
)

select * from final
