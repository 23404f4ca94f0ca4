/* MODEL (
    kind full,
    grain (period, line_area_code),
    partition_role central
) */
-- int_period_lines: the poverty lines in force, per reported period and kab/kota.
-- Grain: one row per (period, line_area_code): every reported period x every kab/kota of ref_area
-- and the region's root area (the line of households whose kelurahan is unknown, counted in the
-- root row only; for a kota or kabupaten region the root is that kab/kota).
--
-- Lines by area (indicators.md, "Notation"): z for period m and kab/kota K is, among the rows of
-- ref_poverty_line whose area_code is K or an area containing it (its province, '00' for the
-- nation), the one with the latest effective_from <= m; on equal dates the most specific area
-- wins (kab/kota before province before nation). The extreme line z_e is chosen the same way
-- among the rows that have one (none: z_e NULL). Columns:
--   poverty_line_idr, poverty_line_effective_from, poverty_line_status   the chosen row
--   poverty_line_scope   the level of the area it was set for: kabkota | province | national
--   poverty_line_area_code                                               that area's code
--   extreme_poverty_line_idr, extreme_poverty_line_effective_from        the chosen extreme row
-- All NULL before the first line configured for K.
with

line_areas as (
    select distinct kabkota_code as line_area_code
    from ref_area
    where kabkota_code is not null and level <> 'provinsi'
    union
    select area_code from int_area_hierarchy where kelurahan_code is null
),

lines as (
    select
        area_code,
        effective_from,
        line_idr,
        extreme_line_idr,
        status,
        case
            when area_code = '00' then 'national'
            when length(area_code) = 2 then 'province'
            else 'kabkota'
        end as scope,
        -- specificity: the more specific area wins on equal dates
        case when area_code = '00' then 0 when length(area_code) = 2 then 1 else 2 end
            as specificity
    from ref_poverty_line
),

candidates as (
    -- every line applying to (period, kab/kota): its own, its province's, the nation's
    select
        int_periods.period,
        line_areas.line_area_code,
        lines.*
    from int_periods
    cross join line_areas
    join lines
        on lines.effective_from <= int_periods.period
        and (
            lines.area_code = line_areas.line_area_code
            or lines.area_code = left(line_areas.line_area_code, 2)
            or lines.area_code = '00'
        )
),

chosen as (
    select
        period,
        line_area_code,
        arg_max(
            struct_pack(line_idr, effective_from, status, scope, area_code),
            struct_pack(effective_from, specificity)
        ) as line,
        arg_max(
            struct_pack(extreme_line_idr, effective_from),
            struct_pack(effective_from, specificity)
        ) filter (where extreme_line_idr is not null) as extreme
    from candidates
    group by period, line_area_code
),

final as (
    select
        int_periods.period,
        line_areas.line_area_code,
        cast(chosen.line.line_idr as decimal(18, 2)) as poverty_line_idr,
        chosen.line.effective_from as poverty_line_effective_from,
        chosen.line.status as poverty_line_status,
        chosen.line.scope as poverty_line_scope,
        chosen.line.area_code as poverty_line_area_code,
        cast(chosen.extreme.extreme_line_idr as decimal(18, 2)) as extreme_poverty_line_idr,
        chosen.extreme.effective_from as extreme_poverty_line_effective_from
    from int_periods
    cross join line_areas
    left join chosen
        on chosen.period = int_periods.period
        and chosen.line_area_code = line_areas.line_area_code
    order by int_periods.period, line_areas.line_area_code
)

select * from final
