/* MODEL (
    kind acceptance,
    grain (run_id, file_name, reason, note)
) */
-- ingest_file_note: the raw loader's file notes of this run (appended): `file_ignored` with why,
-- `sheet_ignored` with the sheet's name and its non-empty rows. `$run_id` is the run; the notes
-- are parallel lists: `$file_name`, `$sha256`, `$reason`, `$note`, `$rows`.
-- Grain: one row per (run, entry, note).
with

note as (
    select
        unnest($file_name::varchar[]) as file_name,
        unnest($sha256::varchar[]) as sha256,
        unnest($reason::varchar[]) as reason,
        unnest($note::varchar[]) as note,
        unnest($rows::bigint[]) as rows
),

final as (
    select $run_id::varchar as run_id, file_name, sha256, reason, note, rows
    from note
)

select * from final
