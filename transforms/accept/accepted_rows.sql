/* MODEL (
    kind acceptance,
    grain (file_id, row_number)
) */
-- accepted_rows: the batch's accepted rows of one kind, appended to the kind's accepted table
-- (registry_households, registry_members or program_records; docs/architecture.md) and cast to
-- its column types on insert. A field a warning flagged is null (its defect is in
-- flagged_field); each row keeps its lineage: file_id, row_number (the file's name and SHA-256
-- are in ingest_file).
-- The rows are the staged rows as the decisions judge them (`_flagged`: flagged_rows.sql) that
-- the decision (`_decision`, narrow) did not quarantine or find duplicate: an anti join with
-- those few rows, so the staged rows are read once and no wide decision is written.
-- Grain: one row per accepted raw row (registry_decision keeps one row per natural key;
-- program_decision one per distinct record).
-- Placeholder: the accepted table's columns (tkpk.ingest.accept.TABLE_DDL).
with

not_accepted as (
    select row_id from _decision where outcome <> 'accepted'
),

accepted as (
    select f.*
    from _flagged as f
    anti join not_accepted as n on n.row_id = f.row_id
),

final as (
    select {{table_columns}} from accepted
)

select * from final
