/* MODEL (
    kind acceptance,
    grain (row_id)
) */
-- flagged_rows: the staged rows of one kind (stg_<kind>) as the decisions judge them: every field
-- a `warn` expectation of the suite flagged set to null (rows are compared as they would be
-- accepted), with their `gx_reasons` (the `error` reasons, which quarantine), `defects` (every
-- reason), `flags` (column, reason of each warning) and `ids_as_read` (what was read in the
-- nulled fields that tell rows apart: a member's NIK digits; a program record's name and nulled
-- fields). Read as `_flagged` by registry_decision and program_decision.
-- Grain: one row per staged row.
-- Reasons come from `_row_reasons` (row_reasons.sql, materialised once per kind).
-- Placeholders (tkpk.ingest.accept.render): the kind; the replace list nulling the suite's `warn`
-- columns; the kind's ids_as_read expression (tkpk.ingest.schema.ACCEPTANCE).
with

final as (
    select s.* {{nulled}},
        coalesce(rr.errors, cast([] as varchar[])) as gx_reasons,
        coalesce(rr.defects, cast([] as varchar[])) as defects,
        coalesce(rr.flags, cast([] as struct(column_name varchar, reason varchar)[])) as flags,
        {{ids_as_read}} as ids_as_read
    from stg_{{kind}} as s
    left join _row_reasons as rr on rr.row_id = s.row_id
)

select * from final
