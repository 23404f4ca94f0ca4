-- explain units: the units of an explanation as tkpk explain shows and writes them.
-- Grain: one row per unit of explain_units (one transforms/explain/<table>.sql's rows), in unit
-- order.
--
-- household_pseudonym: the packs' pseudonym of the household (explain_pseudonyms,
-- pseudonyms.sql); NULL for a unit of unmatched records. raw_rows: how many raw rows make the unit
-- (explain_rows, lineage.sql); lineage: those rows as 'file:row, row; file:row', flagged_fields
-- their flagged fields as 'file:row column (reason)'. The registry id and the lineage selectors
-- stay out: no personal data (NIK, KK, name, address, birth date) is in any column.
with

rows_by_file as (
    select
        unit,
        file_name,
        string_agg(cast(row_number as varchar), ', ' order by row_number) as row_list
    from explain_rows
    group by unit, file_name
),

lineage as (
    select
        unit,
        string_agg(file_name || ':' || row_list, '; ' order by file_name) as lineage
    from rows_by_file
    group by unit
),

counts as (
    select unit, count(*) as raw_rows from explain_rows group by unit
),

flagged as (
    select
        unit,
        count(*) as flagged_field_count,
        string_agg(
            file_name || ':' || row_number || ' ' || flag.column_name || ' (' || flag.reason || ')',
            '; ' order by file_name, row_number, flag.column_name, flag.reason
        ) as flagged_fields
    from (select unit, file_name, row_number, unnest(flagged_fields) as flag from explain_rows)
    group by unit
),

final as (
    select
        explain_units.unit,
        explain_pseudonyms.household_pseudonym,
        explain_units.* exclude (unit, id_keluarga, household_key, lineage_records),
        coalesce(counts.raw_rows, 0) as raw_rows,
        lineage.lineage,
        coalesce(flagged.flagged_field_count, 0) as flagged_field_count,
        flagged.flagged_fields
    from explain_units
    join explain_pseudonyms on explain_pseudonyms.unit = explain_units.unit
    left join counts on counts.unit = explain_units.unit
    left join lineage on lineage.unit = explain_units.unit
    left join flagged on flagged.unit = explain_units.unit
    order by explain_units.unit
)

select * from final
