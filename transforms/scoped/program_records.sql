-- program_records: the program records that shadow the table program_records while
-- int_program_monthly is recomputed for the changed (record_period, program) pairs
-- (transforms.incremental; temporary table _record_scope).
-- Grain: one row per program record (file_id, row_number), as program_records.
-- The records of those pairs, and every disbursement record sharing a correction key (program,
-- NIK, stage) with one of them: its corrections, which may lie in other months (the rows the
-- model computes for other pairs are not kept). Matching looks the records up in the snapshots'
-- int_match_index, which an incremental build keeps (built once per registry snapshot).
with

in_scope as (
    select records.*
    from program_records as records
    semi join _record_scope as scope
        on scope.record_period = cast(date_trunc('month', records.period) as date)
        and scope.program = records.program
),

keys as (
    select distinct program, nik, stage
    from in_scope
    where source_kind = 'disbursements' and nik is not null and stage is not null
),

final as (
    select * from in_scope
    union
    select records.*
    from program_records as records
    join keys
        on keys.program = records.program
        and keys.nik = records.nik
        and keys.stage = records.stage
    where records.source_kind = 'disbursements'
)

select * from final
