-- explain kelurahan_poverty: the households behind one row of kelurahan_poverty.
-- Grain: one row per household of s(m) living in the area, for period m =
-- getvariable('explain_period') and area getvariable('explain_area') (a kelurahan, or a
-- kecamatan / kota with the households of its kelurahan: int_area_hierarchy; the region row also
-- holds the households of no known kelurahan).
--
-- Each column named after a published column is the household's contribution to it (the
-- published value is the sum over the rows; NULL where the published value is NULL: no line in
-- force); a ratio r is explained by r__numerator and r__denominator (r = sum of the numerators /
-- sum of the denominators). With n = household_size, y = pengeluaran_per_kapita, z = its line:
--   population n; households 1; poor_population n if poor; poor_households 1 if poor;
--   poverty_gap_idr_month n (z - y) if poor; p1 n (z - y) / z over n; p2 n ((z - y) / z)^2 over n;
--   extreme_poor_population, near_poor_population n if extreme / near poor;
--   households_desil_1_4 1 if DESIL 1-4; poor_households_unreached 1 if poor without programs;
--   mpi_population n if in the MPI sample (mpi_complete), mpi_incomplete_population n if not;
--   mpi_poor_population n if MPI-poor; mpi_a, mpi_m0 numerator n c_h (c_h = mpi_score_18 / 18);
--   deprived_<indicator> numerator n if in the MPI sample and deprived, over mpi_population.
-- gini and median_expenditure_idr are made of the same households (n, y) but are no sums.
-- Internal columns (id_keluarga, household_key, lineage_records) are read by lineage.sql and
-- units.sql and never leave the warehouse.
with

households as (
    select * from explain_households
),

contributions as (
    select
        households.*,
        -- n if the condition holds, 0 if not, NULL when it is unknown (no line in force)
        case when poor then household_size when not poor then 0 end as poor_n,
        case when poor then 1 when not poor then 0 end as poor_1,
        cast(household_size as hugeint) * gap_cents as gap_cents_n,
        case when mpi_complete then household_size else 0 end as mpi_n
    from households
),

final as (
    select
        row_number() over (order by kelurahan_code, id_keluarga) as unit,
        snapshot,
        id_keluarga,
        household_key,
        no_record_lineage() as lineage_records,
        kelurahan_code,
        line_area_code,
        poverty_line_idr,
        household_size,
        desil,
        pengeluaran_per_kapita,
        mpi_score_18,
        program_count,
        household_size as population,
        1 as households,
        poor_n as poor_population,
        poor_1 as poor_households,
        poor_n as p0__numerator,
        household_size as p0__denominator,
        case when poor then household_size * (poverty_line_idr - pengeluaran_per_kapita)
            when not poor then 0 end as poverty_gap_idr_month,
        case when poor then cast(gap_cents_n as double) / (poverty_line_idr * 100)
            when not poor then 0 end as p1__numerator,
        household_size as p1__denominator,
        case when poor then cast(gap_cents_n * gap_cents as double)
                / (poverty_line_idr * 100) / (poverty_line_idr * 100)
            when not poor then 0 end as p2__numerator,
        household_size as p2__denominator,
        case when extreme_poor then household_size when not extreme_poor then 0 end
            as extreme_poor_population,
        case when extreme_poor then household_size when not extreme_poor then 0 end
            as extreme_p0__numerator,
        household_size as extreme_p0__denominator,
        case when near_poor then household_size when not near_poor then 0 end
            as near_poor_population,
        case when desil between 1 and 4 then 1 else 0 end as households_desil_1_4,
        case when poor and program_count = 0 then 1 when poor is not null then 0 end
            as poor_households_unreached,
        mpi_n as mpi_population,
        household_size - mpi_n as mpi_incomplete_population,
        case when mpi_poor then household_size else 0 end as mpi_poor_population,
        case when mpi_poor then household_size else 0 end as mpi_h__numerator,
        mpi_n as mpi_h__denominator,
        case when mpi_poor then household_size * mpi_score_18 / 18 else 0 end
            as mpi_a__numerator,
        case when mpi_poor then household_size else 0 end as mpi_a__denominator,
        case when mpi_poor then household_size * mpi_score_18 / 18 else 0 end
            as mpi_m0__numerator,
        mpi_n as mpi_m0__denominator,
        -- deprived_<indicator>: n if in the MPI sample and deprived in it, over mpi_population
        case when mpi_complete and columns('^deprived_') then household_size else 0 end
            as '\0__numerator',
        case when columns('^deprived_') is not null then mpi_n end as '\0__denominator'
    from contributions
)

select * from final
