/* MODEL (
    kind acceptance,
    grain (file_id)
) */
-- ingest_batch: the files this ingest processes, in the loader's order, with their ingest_file
-- facts. `$sha256` and `$staged` are the loaded files' SHA-256 and staged Parquet file (NULL when
-- none), as lists in file-name order; `file_order` is the position in them (0-based).
-- Grain: one row per loaded file (a SHA-256 without an ingest_file row has none).
with

batch_input as (
    select
        unnest($sha256::varchar[]) as sha256,
        unnest($staged::varchar[]) as staged,
        (generate_subscripts($sha256::varchar[], 1) - 1)::integer as file_order
),

final as (
    select f.load_id, f.file_id, f.sha256, f.file_name, f.kind, b.file_order, f.period,
           f.period_end, f.program, f.channel, f.stage, b.staged
    from batch_input as b
    join ingest_file as f on f.sha256 = b.sha256
)

select * from final
