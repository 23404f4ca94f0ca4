/* MODEL (
    kind full,
    grain (period, area_code, kind, column_name, reason)
) */
-- data_quality_field_summary: flagged fields per kelurahan, the size of the correction list.
-- Grain: one row per (period, area_code, kind, column_name, reason) with at least one flagged
-- field: data_quality_field counted. `area_code` is the row's kelurahan, or the region's root
-- area (int_area_hierarchy's row for records that name no known kelurahan) for a program record
-- without one; `rows` counts flagged fields (one per row, column and reason). No personal data.
with

flagged as (
    select period, kelurahan_code, kind, column_name, reason
    from data_quality_field
),

placed as (
    select flagged.*, coalesce(flagged.kelurahan_code, root.area_code) as area_code
    from flagged
    left join int_area_hierarchy as root
        on flagged.kelurahan_code is null and root.kelurahan_code is null
),

counted as (
    select period, area_code, kind, column_name, reason, count(*) as rows
    from placed
    group by period, area_code, kind, column_name, reason
),

final as (
    select
        counted.period,
        areas.level as area_level,
        counted.area_code,
        areas.name as area_name,
        counted.kind,
        counted.column_name,
        counted.reason,
        counted.rows
    from counted
    join ref_area as areas on areas.code = counted.area_code
    order by counted.period, counted.area_code, counted.kind, counted.column_name, counted.reason
)

select * from final
