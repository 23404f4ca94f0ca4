/* MODEL (
    kind acceptance,
    grain (file_id, row_number)
) */
-- accepted_rows: the batch's accepted rows of one kind, appended to the kind's accepted table
-- (registry_households, registry_members or program_records; docs/architecture.md) and cast to
-- its column types on insert. A field a warning flagged is null (its defect is in
-- flagged_field); each row keeps its lineage: file_id, row_number (the file's name and SHA-256
-- are in ingest_file).
-- Grain: one row per accepted raw row (registry_decision keeps one row per natural key;
-- program_decision one per distinct record).
-- Placeholder: the accepted table's columns (tkpk.ingest.accept.TABLE_DDL).
with

accepted as (
    select * from _decision where outcome = 'accepted'
),

final as (
    select {{table_columns}} from accepted
)

select * from final
