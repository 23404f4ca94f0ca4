-- explain published_rows: the published row(s) of a curated table an explanation takes apart.
-- Placeholders (tkpk.explain.EXPLAINABLE): `table`, the table; `area_column`, its area column
-- (`area_code`; `null` for a region-wide table, one row per period and key); `program_column`,
-- its program key (`program`, `funding_source`; `null` when it has none). `$period` is the
-- period; `$area` and `$program` the requested area and program, NULL to take every row.
-- Grain: the table's own; the rows of the period, area and program.
with

final as (
    select *
    from {{table}}
    where period = $period
        and ($area is null or {{area_column}} = $area)
        and ($program is null or {{program_column}} = $program)
)

select * from final
