/* MODEL (
    kind acceptance,
    grain (row_id)
) */
-- row_reason_encoding: `encoding_invalid` reasons (appended to `_row_reason`, without a
-- severity, so an error) for the staged rows the reader rejected because their bytes do not
-- decode: a malformed raw row whose reader error starts with INVALID ENCODING. Only the batch's
-- malformed rows are looked at.
-- Grain: one row per such staged row.
-- Placeholders: kind; error_key the key of the reader's error in the raw row's `extra`.
with

malformed as (
    select s.row_id, r.extra
    from stg_{{kind}} as s
    join raw_{{kind}} as r on r.load_id = s.load_id and r.row_number = s.row_number
    where s.malformed and r.malformed
        and r.load_id in (select load_id from ingest_batch)
),

final as (
    select row_id, 'encoding_invalid' as reason
    from malformed
    where starts_with(extra ->> '{{error_key}}', 'INVALID ENCODING')
)

select * from final
