-- headline_figures: the region's registry-based figures of the latest period (run summary).
-- Grain: at most one row: the kota / kabupaten / provinsi row of kelurahan_poverty of the latest
-- period (the smallest area code among them); period as YYYY-MM.
with

region_rows as (
    select * from kelurahan_poverty
    where area_level in ('kota', 'kabupaten', 'provinsi')
),

final as (
    select
        strftime(period, '%Y-%m') as period,
        population,
        poor_population,
        p0,
        p1,
        p2,
        poverty_gap_idr_month,
        poor_households_unreached,
        mpi_h
    from region_rows
    order by region_rows.period desc, area_code
    limit 1
)

select * from final
