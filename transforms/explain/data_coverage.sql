-- explain data_coverage: the accepted registry rows behind one data_coverage row.
-- Grain: one row per household of s(m) living in the area (its accepted household row and its
-- accepted member rows), for period m = getvariable('explain_period') and area
-- getvariable('explain_area') (its kelurahan through int_area_hierarchy).
--
-- Contributions (the published value is the sum over the rows): household_rows_accepted 1;
-- member_rows_accepted its member rows (= household_size); households_with_flagged_field 1 if
-- its household row has a flagged field; members_with_flagged_field its member rows with one
-- (flagged_field of the snapshot by kind and id_keluarga, rows told apart by row number: one
-- member file per snapshot); mpi_incomplete_population n when it is outside the MPI sample.
-- The quarantined counts are not explained here: quarantined rows are no household of s(m)
-- (data_quality_reason lists them per file). Lineage: the registry rows of the household.
with

households as (
    select * from explain_households
),

flagged as (
    -- flagged rows of the snapshot per household and kind
    select
        flagged_field.period as snapshot,
        flagged_field.id_keluarga,
        count(distinct flagged_field.row_number) filter (where flagged_field.kind = 'households')
            as household_rows_flagged,
        count(distinct flagged_field.row_number) filter (where flagged_field.kind = 'members')
            as member_rows_flagged
    from flagged_field
    where flagged_field.kind in ('households', 'members')
        and flagged_field.period in (select snapshot from households)
    group by flagged_field.period, flagged_field.id_keluarga
),

final as (
    select
        row_number() over (order by households.kelurahan_code, households.id_keluarga) as unit,
        households.snapshot,
        households.id_keluarga,
        households.household_key,
        no_record_lineage() as lineage_records,
        households.kelurahan_code,
        households.household_size,
        households.mpi_complete,
        1 as household_rows_accepted,
        households.household_size as member_rows_accepted,
        (coalesce(flagged.household_rows_flagged, 0) > 0)::integer
            as households_with_flagged_field,
        coalesce(flagged.member_rows_flagged, 0) as members_with_flagged_field,
        case when households.mpi_complete then 0 else households.household_size end
            as mpi_incomplete_population
    from households
    left join flagged
        on flagged.snapshot = households.snapshot
        and flagged.id_keluarga = households.id_keluarga
)

select * from final
