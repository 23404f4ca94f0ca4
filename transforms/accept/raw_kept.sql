/* MODEL (
    kind acceptance,
    grain (row_id)
) */
-- raw_kept: the record as read (JSON of the staged row's `raw_text`) of the rows of one kind's
-- batch whose raw text is kept: the quarantined rows (quarantine.raw_values) and the accepted rows
-- with a flagged field (flagged_field.raw_value). Materialised once per kind as `_raw_kept` (a
-- scratch file), so the wide raw text of the staged rows is read once.
-- Grain: one row per quarantined or flagged staged row.
-- Placeholder: the kind (its staged rows stg_<kind>).
with

kept as (
    select row_id
    from _decision
    where outcome = 'quarantined' or (outcome = 'accepted' and len(flags) > 0)
),

final as (
    select s.row_id, to_json(s.raw_text) as cells
    from stg_{{kind}} as s
    semi join kept as k on k.row_id = s.row_id
)

select * from final
