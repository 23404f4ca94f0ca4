/* MODEL (
    kind acceptance,
    grain (row_id)
) */
-- raw_kept: the record as read (JSON of the staged row's `raw_text`) of the rows of one kind's
-- batch whose raw text is kept: the quarantined rows (quarantine.raw_values) and the accepted rows
-- with a flagged field (flagged_field.raw_value). Materialised once per kind as `_raw_kept` (a
-- scratch file), so the wide raw text of the staged rows is read once.
-- The records as read are `stg_<kind>_raw` (tkpk.ingest.accept.stage): only of the rows that can
-- be quarantined or flagged (the raw load keeps a superset of them: the rows the kind's suite
-- flags, a key repeated within the file, a member whose household is not surely accepted;
-- tkpk.ingest.raw.stage_rows). A kept row without its record as read is an error, never a
-- quarantine row without its values.
-- Grain: one row per quarantined or flagged staged row.
-- Placeholder: the kind (its staged rows stg_<kind>).
with

kept as (
    select row_id
    from _decision
    where outcome = 'quarantined' or (outcome = 'accepted' and len(flags) > 0)
),

final as (
    select k.row_id,
        case when s.row_id is null
            then error('raw_kept: staged row ' || k.row_id || ' of {{kind}} is quarantined or '
                       || 'flagged but its record as read was not kept by the raw load')
            else to_json(s.raw_text) end as cells
    from kept as k
    left join stg_{{kind}}_raw as s on s.row_id = k.row_id
)

select * from final
