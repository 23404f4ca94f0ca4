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
-- Reasons come from `_row_reason` (the validation's failing pairs with their severity); a reason
-- added without one (`encoding_invalid`) is an error.
-- Placeholders (tkpk.ingest.accept.render): the kind; the replace list nulling the suite's `warn`
-- columns; the kind's ids_as_read expression (tkpk.ingest.schema.ACCEPTANCE).
with

row_reasons as (
    select row_id,
        list(distinct reason order by reason)
            filter (where coalesce(severity, 'error') = 'error') as errors,
        list(distinct reason order by reason) as defects,
        list(distinct struct_pack(column_name := column_name, reason := reason)
             order by struct_pack(column_name := column_name, reason := reason))
            filter (where severity = 'warn') as flags,
        list(distinct nulls) filter (where severity = 'warn') as nulls
    from _row_reason
    group by row_id
),

final as (
    select s.* {{nulled}},
        coalesce(rr.errors, cast([] as varchar[])) as gx_reasons,
        coalesce(rr.defects, cast([] as varchar[])) as defects,
        coalesce(rr.flags, cast([] as struct(column_name varchar, reason varchar)[])) as flags,
        {{ids_as_read}} as ids_as_read
    from stg_{{kind}} as s
    left join row_reasons as rr on rr.row_id = s.row_id
)

select * from final
