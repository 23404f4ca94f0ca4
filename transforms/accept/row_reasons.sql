/* MODEL (
    kind acceptance,
    grain (row_id)
) */
-- row_reasons: the reasons of each staged row of one kind that has any (from `_row_reason`, the
-- validation's failing pairs with their severity; a reason added without one, `encoding_invalid`,
-- is an error): `errors` (which quarantine), `defects` (every reason), `flags` (column, reason of
-- each warning) and `nulls` (the columns a warning nulls). Materialised once per kind as
-- `_row_reasons` (a scratch file: only the rows with a defect), read by flagged_rows.sql each
-- time the staged rows are.
-- Grain: one row per staged row with at least one reason.
with

final as (
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
)

select * from final
