/* MODEL (
    kind acceptance,
    grain (row_id)
) */
-- flagged_rows: the staged rows of one kind in doubt (`staged`: `_in_doubt`, in_doubt_rows.sql;
-- or any staged rows of the kind) as the decisions judge them: every field a `warn` expectation
-- of the suite flagged set to null (rows are compared as they would be accepted), with their
-- `gx_reasons` (the `error` reasons, which quarantine), `defects` (every reason), `flags`
-- (column, reason of each warning) and `ids_as_read` (what was read in the nulled fields that
-- tell rows apart: a member's NIK digits; a program record's name and nulled fields). Read as
-- `_flagged_in_doubt` by registry_decision, program_decision and accepted_rows (the accepted
-- rows in doubt; every other staged row has no reason, so nothing to null).
-- Grain: one row per staged row read.
-- Reasons come from `_row_reasons` (row_reasons.sql, materialised once per kind).
-- Placeholders (tkpk.ingest.accept.render): the kind; the staged rows read (`staged`); the
-- replace list nulling the suite's `warn` columns; the kind's ids_as_read expression
-- (tkpk.ingest.schema.ACCEPTANCE).
with

final as (
    select s.* {{nulled}},
        coalesce(rr.errors, cast([] as varchar[])) as gx_reasons,
        coalesce(rr.defects, cast([] as varchar[])) as defects,
        coalesce(rr.flags, cast([] as struct(column_name varchar, reason varchar)[])) as flags,
        {{ids_as_read}} as ids_as_read
    from {{staged}} as s
    left join _row_reasons as rr on rr.row_id = s.row_id
)

select * from final
