/* MODEL (
    kind acceptance,
    grain (row_id)
) */
-- in_doubt_rows: the staged rows of one registry kind (households, members) that its decision
-- (registry_decision.sql) judges: those whose record as read the raw load kept
-- (stg_<kind>_raw) and those with a reason (`_row_reasons`). The raw load keeps the record of
-- every row the rules can quarantine, flag or find a repeat of (tkpk.ingest.raw.stage_rows: a
-- row-wise failure, a key repeated in the file, every row when another file of the kind has the
-- month, a member of a household not surely accepted), so every other staged row is valid, of
-- an accepted household and the only row of its key: accepted as is. The rows with a reason are
-- judged whatever the raw load kept, so one without its record still stops the run
-- (raw_kept.sql). About 4 % of the members and 2 % of the households at 1M. Read as `_in_doubt`
-- through flagged_rows.sql (`_flagged_in_doubt`; tkpk.ingest.accept._decide).
-- Grain: one row per staged row in doubt.
-- Placeholder: the kind.
with

in_doubt as (
    -- their row ids (few)
    select row_id from stg_{{kind}}_raw
    union
    select row_id from _row_reasons
),

final as (
    select s.*
    from stg_{{kind}} as s
    semi join in_doubt as d on d.row_id = s.row_id
)

select * from final
