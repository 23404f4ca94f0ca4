-- ref_poverty_line: the poverty lines in force from a month on (tkpk.reference.install).
-- Grain: one row per (area_code, effective_from); area_code 00 nation, 33 province, 33.75
-- kab/kota; effective_from the first of the month; extreme_line_idr nullable.
-- Reads the data frame `lines` (reference/poverty_lines.csv with the override folder's rows, as
-- text).
with

source as (
    select * from lines
),

final as (
    select
        area_code,
        cast(effective_from || '-01' as date) as effective_from,
        cast(line_idr_per_capita_month as decimal(18, 2)) as line_idr,
        cast(nullif(extreme_line_idr_per_capita_month, '') as decimal(18, 2))
            as extreme_line_idr,
        status,
        source
    from source
)

select * from final order by effective_from, area_code
