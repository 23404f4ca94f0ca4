/* MODEL (
    kind acceptance,
    grain (file_id, row_number)
) */
-- accepted_rows: the batch's accepted rows of one kind, appended to the kind's accepted table
-- (registry_households, registry_members or program_records; docs/architecture.md) and cast to
-- its column types on insert. A field a warning flagged is null (its defect is in
-- flagged_field); each row keeps its lineage: file_id, row_number (the file's name and SHA-256
-- are in ingest_file).
-- The rows are, in one statement: the staged rows not in doubt (`_in_doubt`: in_doubt_rows.sql),
-- accepted as they are (no reason, so no field to null: read straight from the staged rows,
-- without their reasons); and the rows in doubt as the decision judged them
-- (`_flagged_in_doubt`: flagged_rows.sql) that it did not quarantine or find duplicate (an anti
-- join with those few rows of the narrow decision, `_decision`), so no wide decision is written.
-- Grain: one row per accepted raw row (registry_decision keeps one row per natural key;
-- program_decision one per distinct record).
-- Placeholders: the kind; the accepted table's columns (tkpk.ingest.accept.TABLE_DDL).
with

as_staged as (
    -- the rows not in doubt (about 96 %)
    select s.*
    from stg_{{kind}} as s
    anti join _in_doubt as d on d.row_id = s.row_id
),

not_accepted as (
    select row_id from _decision where outcome <> 'accepted'
),

judged as (
    -- the rows in doubt that the decision accepted, flagged fields null
    select f.*
    from _flagged_in_doubt as f
    anti join not_accepted as n on n.row_id = f.row_id
),

final as (
    select {{table_columns}} from as_staged
    union all
    select {{table_columns}} from judged
)

select * from final
