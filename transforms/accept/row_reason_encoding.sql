/* MODEL (
    kind acceptance,
    grain (row_id)
) */
-- row_reason_encoding: `encoding_invalid` reasons (appended to `_row_reason`, without a
-- severity, so an error) for the staged rows the reader rejected because their bytes do not
-- decode: a malformed record whose reader error (in its `raw_text.extra`, `stg_<kind>_raw`)
-- starts with INVALID ENCODING.
-- Grain: one row per such staged row.
-- Placeholders: the kind; the key of the reader's error in the record's `extra`.
with

malformed as (
    -- the records as read of the kind (stg_<kind>_raw) hold every malformed line
    select row_id, raw_text.extra as extra
    from stg_{{kind}}_raw
    where raw_text.malformed
),

final as (
    select row_id, 'encoding_invalid' as reason
    from malformed
    where starts_with(extra ->> '{{error_key}}', 'INVALID ENCODING')
)

select * from final
