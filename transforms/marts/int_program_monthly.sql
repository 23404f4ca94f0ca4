/* MODEL (
    kind record_month,
    grain (snapshot, record_period, program, funding_source, status, household_key,
           kelurahan_code, match_method),
    cluster_key record_period,
    scope (record_period, program),
    scoped_inputs (program_records, int_match_index),
    household_scope (snapshot, household_key, program),
    partition_role central,
    partition_rows 'household_key is not null',
    settings (disabled_optimizers = 'build_side_probe_side,compressed_materialization')
) */
-- int_program_monthly: program records matched to the households of a snapshot, per month.
-- Grain: one row per (snapshot, record_period, program, funding_source, status, household_key,
-- kelurahan_code, match_method), for the successful and failed records a period using that
-- snapshot can see in its reach window. PBI-JK inactive rows ('inactive') are neither
-- successful nor failed and are left out here.
--
-- Matching (indicators.md, "Program reach"): a record matches the household of snapshot s one of
-- whose members has the record's NIK; failing that, the household whose NO_KK is the record's
-- NO_KK (match_method 'nik' / 'no_kk'; NULL = unmatched). Should a NIK or NO_KK occur in two
-- households of one snapshot (a registry error), the smallest id_keluarga is taken, so the
-- record is counted once. household_key is the matched household's integer key in s (NULL:
-- unmatched; its id_keluarga is int_household_snapshot's, not repeated on every monthly row).
-- kelurahan_code is where the record is attributed: the matched household's kelurahan in s;
-- else the kelurahan named on the record (when it is a kelurahan of ref_area); else NULL, which
-- the area bridge sends to the region row only.
-- funding_source: the record's own (SUMBER_DANA / SEGMEN), else the catalog's funding.
--
-- Records are taken after corrections and PBI-JK member-months (raw-extracts.md, "Corrections
-- and repeated records"):
--   corrections  disbursement records of one program, NIK and stage (TAHAP, else the file name's
--                stage), taken in file order (file_name, row_number): a record in a later file
--                than the key's previous record, dated less than 6 months from it, repeats it
--                (stages recur every year: the same stage a year later is a new payment); a
--                record of the same file as the previous one starts a new record (a GAGAL and its
--                retry in one file are two records). A chain of repeats counts as one record with
--                the last one's status and amount and the first one's date (record_period),
--                kelurahan, NO_KK and funding source: a RETUR after a SUKSES is a failed record.
--                Records without a NIK or a stage, and local lists, have no corrections.
--   PBI-JK       one member-month per NIK and month, active when any of its rows is AKTIF, funded
--                by (and worth the amount of) its first active row in file order; a row without
--                a NIK (flagged) is its own member-month.
-- A correction moves a later file's record into an earlier month: the incremental build
-- recomputes every month of a changed key (transforms/incremental.py).
--
-- At scale (tens of millions of record-snapshot pairs) the records are matched and aggregated on
-- integers only: NIK / NO_KK as int_match_index keys (built once per snapshot), the household as
-- its household_key, (program, funding_source, status) as a record class number and the record's
-- kelurahan as a number; the texts are joined back onto the aggregated rows. The records are
-- numbered once (numbered_records, materialized: else DuckDB joins the record classes' texts
-- after the snapshot fan-out, on 3.5 times the rows), and the record-snapshot pairs are grouped
-- by two integers, not six columns (matched, grouped).
-- Engine settings (the header's): DuckDB underestimates the record-snapshot pairs (they come
-- from an unnest) and would hash them instead of int_match_index, which at 1M households is
-- gigabytes more to hold or spill; without the build-side swap each join hashes its right side,
-- as the SQL is written. Without compressed materialization the rows are sorted for the cluster
-- key as they are, not first packed into integers and unpacked again (1M households: 71 -> 67 s
-- CPU; 100k: 4.8 -> 4.1 s).
with

snapshot_reach as (
    -- months each snapshot can see: from the earliest window start to the latest period using it
    select snapshot, min(window_start) as first_month, max(period) as last_month
    from int_periods
    group by snapshot
),

snapshot_month_list as (
    -- one row per snapshot and month of its reach (an equi-join key for the records)
    select
        snapshot,
        cast(unnest(generate_series(first_month, last_month, interval 1 month)) as date)
            as record_period
    from snapshot_reach
),

snapshot_months as (
    -- numbered (pair_number, from 0): the pair is one integer in the grouping key below
    select
        snapshot,
        record_period,
        row_number() over (order by snapshot, record_period) - 1 as pair_number
    from snapshot_month_list
),

file_names as (
    -- the file order of the records: their files' names (program_records carries file_id)
    select file_id, file_name from ingest_file
),

keyed_disbursements as not materialized (
    -- disbursements that may repeat an earlier record: with a NIK and a stage
    select
        program, nik, stage, file_id, row_number, record_date, period, status, amount_idr,
        funding_source, no_kk, kelurahan_code
    from program_records
    where source_kind = 'disbursements' and nik is not null and stage is not null
        and status in ('success', 'failed')
),

repeated_keys as (
    -- keys with more than one record: only these are sorted below (most keys have one)
    select program, nik, stage
    from keyed_disbursements
    group by program, nik, stage
    having count(*) > 1
),

staged_disbursements as (
    select
        keyed.* exclude (file_id),
        file_names.file_name,
        lag(file_names.file_name) over key_order as previous_file,
        lag(keyed.record_date) over key_order as previous_date
    from keyed_disbursements as keyed
    semi join repeated_keys
        on repeated_keys.program = keyed.program
        and repeated_keys.nik = keyed.nik
        and repeated_keys.stage = keyed.stage
    left join file_names on file_names.file_id = keyed.file_id
    window key_order as (
        partition by keyed.program, keyed.nik, keyed.stage
        order by file_names.file_name, keyed.row_number
    )
),

correction_groups as (
    select
        *,
        sum(
            case
                when previous_file is null or previous_file = file_name then 1
                when record_date < previous_date + interval 6 month
                    and record_date > previous_date - interval 6 month then 0
                else 1
            end
        ) over (
            partition by program, nik, stage order by file_name, row_number
            rows between unbounded preceding and current row
        ) as correction_group
    from staged_disbursements
),

corrected as (
    -- one record per chain of repeats: the first one's date and place, the last one's outcome
    select
        program,
        nik,
        arg_min(
            struct_pack(period, funding_source, no_kk, kelurahan_code),
            struct_pack(file_name, row_number)
        ) as first_record,
        arg_max(struct_pack(status, amount_idr), struct_pack(file_name, row_number))
            as last_record
    from correction_groups
    group by program, nik, stage, correction_group
),

file_order as (
    -- the file order as one number per file (ranked by file name) for member_months below
    select file_id, dense_rank() over (order by file_name) as file_rank from ingest_file
),

active_member_months as not materialized (
    -- PBI-JK active rows, on integers: the NIK and NO_KK as keys (int_match_index's)
    select
        program,
        cast('1' || nik as bigint) as nik_key,
        cast(date_trunc('month', period) as date) as record_period,
        funding_source,
        cast('1' || no_kk as bigint) as kk_key,
        kelurahan_code,
        amount_idr,
        file_id,
        row_number
    from program_records
    where source_kind = 'pbi' and status = 'success' and nik is not null
),

repeated_member_months as (
    -- NIK-years with a month of more than one active row: only their rows are aggregated below
    -- (most have one row a month). Found per NIK and year, not per month (a twelfth of the
    -- groups to hold): a year repeats a month when its rows' months, as bits of a 12-bit mask,
    -- are fewer than its rows
    select program, nik_key, year(record_period) as record_year
    from active_member_months
    group by program, nik_key, year(record_period)
    having count(*) > bit_count(bit_or(cast(1 as integer) << (month(record_period) - 1)))
),

member_months as (
    -- PBI-JK: the first active row of each NIK and month (file order); file order as one
    -- BIGINT, file_rank * 2^40 + row_number (a row of an unknown file or row number sorts last,
    -- as a NULL in the (file_name, row_number) order would)
    select
        program,
        nik_key,
        record_period,
        struct_pack(funding_source, kk_key, kelurahan_code, amount_idr) as first_active
    from active_member_months as active
    anti join repeated_member_months
        on repeated_member_months.program = active.program
        and repeated_member_months.nik_key = active.nik_key
        and repeated_member_months.record_year = year(active.record_period)
    union all
    select
        active.program,
        active.nik_key,
        active.record_period,
        arg_min(
            struct_pack(active.funding_source, active.kk_key, active.kelurahan_code,
                        active.amount_idr),
            coalesce(file_order.file_rank, 4194303) * 1099511627776
                + coalesce(active.row_number, 1099511627775)
        )
    from active_member_months as active
    semi join repeated_member_months
        on repeated_member_months.program = active.program
        and repeated_member_months.nik_key = active.nik_key
        and repeated_member_months.record_year = year(active.record_period)
    left join file_order on file_order.file_id = active.file_id
    group by active.program, active.nik_key, active.record_period
),

taken_records as (
    select
        first_record.period as period,
        program,
        first_record.funding_source as funding_source,
        last_record.status as status,
        cast('1' || nik as bigint) as nik_key,
        cast('1' || first_record.no_kk as bigint) as kk_key,
        first_record.kelurahan_code as kelurahan_code,
        last_record.amount_idr as amount_idr
    from corrected
    union all
    select
        record_period, program, first_active.funding_source, 'success', nik_key,
        first_active.kk_key, first_active.kelurahan_code, first_active.amount_idr
    from member_months
    union all
    -- disbursements whose key has a single record
    select
        period, program, funding_source, status, cast('1' || nik as bigint),
        cast('1' || no_kk as bigint), kelurahan_code, amount_idr
    from keyed_disbursements as keyed
    anti join repeated_keys
        on repeated_keys.program = keyed.program
        and repeated_keys.nik = keyed.nik
        and repeated_keys.stage = keyed.stage
    union all
    -- local lists, disbursements without NIK or stage, PBI-JK rows without NIK
    select
        period, program, funding_source, status, cast('1' || nik as bigint),
        cast('1' || no_kk as bigint), kelurahan_code, amount_idr
    from program_records
    where status in ('success', 'failed')
        and not (source_kind = 'disbursements' and nik is not null and stage is not null)
        and not (source_kind = 'pbi' and nik is not null)
),

kept_records as (
    select
        cast(date_trunc('month', taken_records.period) as date) as record_period,
        taken_records.program,
        coalesce(taken_records.funding_source, ref_program.funding) as funding_source,
        taken_records.status,
        taken_records.nik_key,
        taken_records.kk_key,
        taken_records.kelurahan_code as record_kelurahan_code,
        -- a PBI-JK row without an amount is worth the catalog premium of one member-month
        coalesce(taken_records.amount_idr, ref_program.premium_idr_per_member_month, 0)
            as amount_idr
    from taken_records
    left join ref_program on ref_program.code = taken_records.program
),

record_classes as (
    select
        program,
        funding_source,
        status,
        row_number() over (order by program, funding_source, status) as record_class
    from (select distinct program, funding_source, status from kept_records) as classes
),

kelurahan as (
    select code, row_number() over (order by code) as kelurahan_number
    from ref_area
    where level = 'kelurahan'
),

numbered_records as materialized (
    select
        kept_records.record_period,
        record_classes.record_class,
        kept_records.nik_key,
        kept_records.kk_key,
        kelurahan.kelurahan_number as record_kelurahan_number,
        kept_records.amount_idr
    from kept_records
    join record_classes
        on record_classes.program = kept_records.program
        and record_classes.funding_source is not distinct from kept_records.funding_source
        and record_classes.status = kept_records.status
    left join kelurahan on kelurahan.code = kept_records.record_kelurahan_code
),

nik_index as (
    select snapshot, match_key, household_key from int_match_index where match_method = 'nik'
),

kk_index as (
    select snapshot, match_key, household_key from int_match_index where match_method = 'no_kk'
),

matched as (
    -- per record and snapshot: the grouping key as two integers: the (snapshot, month) pair's
    -- number, the record class and the match method in bit fields (pair << 32 | class << 2 |
    -- method; a record class number stays far below 2^30), and the unit: the matched
    -- household_key, else -1 - the record's kelurahan number (-1: none)
    select
        (snapshot_months.pair_number << 32)
            + (numbered_records.record_class << 2)
            + case
                when nik_index.household_key is not null then 1
                when kk_index.household_key is not null then 2
                else 0
            end as group_number,
        case
            when nik_index.household_key is not null then nik_index.household_key
            when kk_index.household_key is not null then kk_index.household_key
            else -1 - coalesce(numbered_records.record_kelurahan_number, 0)
        end as unit_number,
        numbered_records.amount_idr
    from numbered_records
    join snapshot_months on snapshot_months.record_period = numbered_records.record_period
    left join nik_index
        on nik_index.snapshot = snapshot_months.snapshot
        and nik_index.match_key = numbered_records.nik_key
    left join kk_index
        on kk_index.snapshot = snapshot_months.snapshot
        and kk_index.match_key = numbered_records.kk_key
),

grouped as (
    select
        group_number,
        unit_number,
        count(*) as records,
        cast(sum(amount_idr) as decimal(38, 2)) as amount_idr
    from matched
    group by group_number, unit_number
),

aggregated as (
    select
        snapshot_months.snapshot,
        snapshot_months.record_period,
        (grouped.group_number >> 2) & 1073741823 as record_class,
        case when grouped.unit_number >= 0 then cast(grouped.unit_number as integer) end
            as household_key,
        nullif(grouped.group_number & 3, 0) as match_number,
        case when grouped.unit_number < -1 then -1 - grouped.unit_number end
            as record_kelurahan_number,
        grouped.records,
        grouped.amount_idr
    from grouped
    join snapshot_months on snapshot_months.pair_number = grouped.group_number >> 32
),

final as (
    select
        aggregated.snapshot,
        aggregated.record_period,
        record_classes.program,
        record_classes.funding_source,
        record_classes.status,
        aggregated.household_key,
        case
            when aggregated.household_key is not null then int_household_snapshot.kelurahan_code
            else kelurahan.code
        end as kelurahan_code,
        case aggregated.match_number when 1 then 'nik' when 2 then 'no_kk' end as match_method,
        aggregated.records,
        aggregated.amount_idr
    from aggregated
    join record_classes on record_classes.record_class = aggregated.record_class
    left join int_household_snapshot
        on int_household_snapshot.snapshot = aggregated.snapshot
        and int_household_snapshot.household_key = aggregated.household_key
    left join kelurahan
        on kelurahan.kelurahan_number = aggregated.record_kelurahan_number
)

select * from final
