/* MODEL (
    kind acceptance,
    grain (run_id, file_order)
) */
-- ingest_data_quality: what became of each entry of the raw folder in this run (appended).
-- `$run_id` is the run; the raw loader's outcomes are parallel lists in its (file-name) order:
-- `$file_name`, `$kind`, `$sha256`, `$file_outcome`, `$file_reason`, `$rows_read`,
-- `$skipped_lines`, and the rows written for each file by the kinds' decisions: `$accepted`,
-- `$quarantined`, `$duplicate`. A file already loaded in an earlier run reads no rows in this
-- one; only a loaded file has accepted, quarantined or duplicate rows.
-- Grain: one row per entry (`file_order`: its 0-based position in the lists).
with

outcome as (
    select
        unnest($file_name::varchar[]) as file_name,
        unnest($kind::varchar[]) as kind,
        unnest($sha256::varchar[]) as sha256,
        unnest($file_outcome::varchar[]) as file_outcome,
        unnest($file_reason::varchar[]) as file_reason,
        unnest($rows_read::bigint[]) as rows_read,
        unnest($skipped_lines::bigint[]) as skipped_lines,
        unnest($accepted::bigint[]) as accepted,
        unnest($quarantined::bigint[]) as quarantined,
        unnest($duplicate::bigint[]) as duplicate,
        (generate_subscripts($file_name::varchar[], 1) - 1)::integer as file_order
),

final as (
    select
        $run_id::varchar as run_id,
        file_name,
        kind,
        sha256,
        file_outcome,
        file_reason,
        case when file_outcome = 'already_loaded' then 0 else coalesce(rows_read, 0) end
            as rows_read,
        case when file_outcome = 'loaded' then accepted else 0 end as accepted,
        case when file_outcome = 'loaded' then quarantined else 0 end as quarantined,
        case when file_outcome = 'loaded' then duplicate else 0 end as duplicate,
        case when file_outcome = 'already_loaded' then 0 else coalesce(skipped_lines, 0) end
            as skipped_lines,
        file_order
    from outcome
)

select * from final
