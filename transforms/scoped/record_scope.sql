-- record_scope: the (record_period, program) pairs of int_program_monthly that a run's new
-- program files change (transforms.incremental; $new_files: the files' SHA-256).
-- Grain: one row per (record_period, program).
-- The months of the new files' records, per program; and, since a correction in a new file
-- changes the record of an earlier (or later) month (int_program_monthly, "corrections"), every
-- month of a disbursement record that shares a correction key (program, NIK, stage) with one of
-- them. int_program_monthly computes each program's rows from that program's records only, so
-- the other programs' rows of those months are kept.
with

new_records as (
    select program, nik, stage, source_kind, period
    from program_records
    where file_id in (
        select file_id from ingest_file where sha256 in (select unnest($new_files::varchar[]))
    )
),

new_keys as (
    select distinct program, nik, stage
    from new_records
    where source_kind = 'disbursements' and nik is not null and stage is not null
),

pairs as (
    select cast(date_trunc('month', period) as date) as record_period, program
    from new_records
    union
    select cast(date_trunc('month', records.period) as date), records.program
    from program_records as records
    join new_keys
        on new_keys.program = records.program
        and new_keys.nik = records.nik
        and new_keys.stage = records.stage
    where records.source_kind = 'disbursements'
),

final as (
    select record_period, program
    from pairs
    where record_period is not null
)

select * from final
