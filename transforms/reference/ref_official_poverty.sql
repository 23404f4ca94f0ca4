-- ref_official_poverty: BPS's published poverty series per kab/kota (Susenas;
-- docs/contract/indicators.md, "Official series"; tkpk.reference.install_official_poverty).
-- Grain: one row per (area_code, survey_month). p0 is a fraction (the file's percent / 100);
-- poor_population, p1, p2 as BPS prints them; population nullable.
-- Reads the data frame `official` (reference/official_poverty.csv with the override folder's
-- rows, as text).
with

source as (
    select * from official
),

final as (
    select
        area_code,
        cast(year as integer) as year,
        make_date(cast(year as integer), cast(month as integer), 1) as survey_month,
        cast(cast(nullif(p0_percent, '') as decimal(9, 4)) / 100 as decimal(9, 6)) as p0,
        cast(nullif(poor_population, '') as bigint) as poor_population,
        cast(nullif(p1, '') as double) as p1,
        cast(nullif(p2, '') as double) as p2,
        cast(nullif(poverty_line_idr, '') as decimal(18, 2)) as poverty_line_idr,
        cast(nullif(population, '') as bigint) as population,
        source
    from source
)

select * from final order by area_code, survey_month
