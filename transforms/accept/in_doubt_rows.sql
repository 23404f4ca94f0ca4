/* MODEL (
    kind acceptance,
    grain (row_id)
) */
-- in_doubt_rows: the staged rows of one kind that its decision (registry_decision.sql,
-- program_decision.sql) judges: those whose record as read the raw load kept (stg_<kind>_raw),
-- those with a reason (`_row_reasons`) and, for a program kind, those whose values may repeat
-- another record's (`_record_candidates`: record_candidates.sql; `judged_also`). The raw load
-- keeps the record of every row the rules can quarantine or flag (tkpk.ingest.raw.stage_rows:
-- a malformed line or a row-wise failure; for households and members also a key repeated in the
-- file, every row when another file of the kind has the month, a member of a household not
-- surely accepted), so every other staged row is valid and (registry) of an accepted household
-- and the only row of its key, (program) of values no other record has: accepted as is. The
-- rows with a reason are judged whatever the raw load kept, so one without its record still
-- stops the run (raw_kept.sql). About 4 % of the members, 2 % of the households and 2.5 % of
-- the PBI-JK rows at 1M. Materialised once per kind as `_in_doubt` (a scratch file: the staged rows
-- are read once for the decision, which reads these few rows several times), read through
-- flagged_rows.sql as `_flagged_in_doubt` (tkpk.ingest.accept._decide); accepted_rows.sql
-- writes every other staged row as it is.
-- Grain: one row per staged row in doubt.
-- Placeholders: the kind; the further row ids judged (`judged_also`: a union, or nothing).
with

in_doubt as (
    -- their row ids (few)
    select row_id from stg_{{kind}}_raw
    union
    select row_id from _row_reasons
    {{judged_also}}
),

final as (
    select s.*
    from stg_{{kind}} as s
    semi join in_doubt as d on d.row_id = s.row_id
)

select * from final
