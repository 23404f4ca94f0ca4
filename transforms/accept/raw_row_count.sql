/* MODEL (
    kind acceptance,
    grain (sha256)
) */
-- raw_row_count: the raw rows of each file of one kind in the batch, which reconciliation
-- compares with the file's rows_read and its accepted + quarantined + duplicate rows.
-- Grain: one row per batch file of the kind (0 when it has no raw row).
-- Placeholder: kind.
with

files as (
    select load_id, sha256 from ingest_batch where kind = '{{kind}}'
),

final as (
    select f.sha256, count(r.load_id) as raw_rows
    from files as f
    left join raw_{{kind}} as r on r.load_id = f.load_id
    group by f.sha256
)

select * from final
