-- explain rows: the raw rows of an explanation, one per line of a raw file.
-- Grain: one row per (unit, raw row) of explain_rows (lineage.sql), in unit, role, file and row
-- order: the unit and its household_pseudonym (pseudonyms.sql), the role of the row (household,
-- member, record), the raw file's name and the row's number in it (1-based data row), and its
-- flagged fields as a list of (column_name, reason) and as text 'column (reason); ...'. Never a
-- raw value.
with

final as (
    select
        explain_rows.unit,
        explain_pseudonyms.household_pseudonym,
        explain_rows.role,
        explain_rows.file_name,
        explain_rows.row_number,
        len(explain_rows.flagged_fields) as flagged_field_count,
        list_aggregate(
            list_transform(
                explain_rows.flagged_fields, lambda f: f.column_name || ' (' || f.reason || ')'
            ),
            'string_agg', '; '
        ) as flagged_fields
    from explain_rows
    join explain_pseudonyms on explain_pseudonyms.unit = explain_rows.unit
    order by explain_rows.unit, explain_rows.role, explain_rows.file_name, explain_rows.row_number
)

select * from final
