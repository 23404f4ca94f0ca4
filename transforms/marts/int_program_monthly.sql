/* MODEL (
    kind record_month,
    grain (snapshot, record_period, program, funding_source, status, household_key,
           kelurahan_code, match_method),
    cluster_key record_period,
    cluster_sort model,
    scope (record_period, program),
    scoped_inputs (program_records, int_match_index, int_household_snapshot),
    household_scope (snapshot, household_key, program),
    partition_role central,
    partition_rows 'household_key is not null',
    settings (disabled_optimizers = 'build_side_probe_side,compressed_materialization', threads = '2'),
    scoped_settings (disabled_optimizers = 'compressed_materialization')
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
-- integers only: NIK / NO_KK as int_match_index keys (built once per snapshot; id_key), the
-- household as its household_key, (program, funding_source, status) as a record class number and
-- the record's kelurahan as a number; the texts are looked up on the aggregated rows. The records
-- are numbered once (numbered_records, materialized: else DuckDB joins the record classes' texts
-- after the snapshot fan-out, on 3.5 times the rows); each pair probes the index on one packed
-- integer (snapshot number << 55 | key), the NO_KK index only when the NIK found nobody; the
-- pairs are grouped by two integers, not six columns (matched, grouped). The cluster order
-- (header: cluster_sort model) is sorted here, on the narrow aggregated integer rows (the pairs are
-- numbered in month order), and the texts are then looked up in one-row lists (a cross product
-- keeps the rows' order, a join would not): at 1M households the runner's sort of the 17 M wide
-- rows was the model's largest operator.
-- Engine settings (the header's): DuckDB underestimates the record-snapshot pairs (they come
-- from an unnest) and would hash them instead of int_match_index, which at 1M households is
-- gigabytes more to hold or spill; without the build-side swap each join hashes its right side,
-- as the SQL is written. Without compressed materialization the rows are sorted for the cluster
-- key as they are, not first packed into integers and unpacked again (1M households: 71 -> 67 s
-- CPU; 100k: 4.8 -> 4.1 s). In an incremental build's scoped run (`scoped_settings`) the records
-- and index rows are few and the swap stays on: the snapshots' households (4 M rows at 1M) are
-- then probed by the scoped rows instead of hashed for them (one-file night: 0.8-1.0 -> 0.6-0.7
-- s CPU). At most 2 threads (`threads`): at 1M households the model needed ~4.3 GB unbounded and
-- ran at the default 3 GB limit, spilling; with the connection's 8 threads it ran out of memory
-- in 5 of 7 runs and with 4 in 1 of 5, with 2 in none of 9 (benchmarks/README.md, eleventh round).
-- Since kept_records streams (record_classes reads program_records) its peak under 3 GB is
-- 2.7-3.0 GB (twelfth round); the cap stays.
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
        row_number() over (order by record_period, snapshot) - 1 as pair_number,
        dense_rank() over (order by snapshot) as snapshot_number
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
        id_key(nik) as nik_key,
        cast(date_trunc('month', period) as date) as record_period,
        funding_source,
        id_key(no_kk) as kk_key,
        kelurahan_code,
        amount_idr,
        file_id,
        row_number
    from program_records
    where source_kind = 'pbi' and status = 'success' and nik is not null
),

repeated_member_months as (
    -- NIKs with a month of more than one active row: only their rows are aggregated below (most
    -- have one row a month). Found per NIK, not per month or NIK-year (fewer groups to hold): a
    -- NIK repeats a month when its rows outnumber the bits their months set in a 64-bit mask
    -- (the month's number modulo 64). Months 64 apart share a bit, which can only flag a NIK
    -- whose months do not repeat: its rows are then aggregated below too, with the same result
    select program, nik_key
    from active_member_months
    group by program, nik_key
    having count(*) > bit_count(bit_or(
        cast(1 as ubigint) << ((year(record_period) * 12 + month(record_period)) % 64)
    ))
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
    left join file_order on file_order.file_id = active.file_id
    group by active.program, active.nik_key, active.record_period
),

taken_records as (
    select
        first_record.period as period,
        program,
        first_record.funding_source as funding_source,
        last_record.status as status,
        id_key(nik) as nik_key,
        id_key(first_record.no_kk) as kk_key,
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
        period, program, funding_source, status, id_key(nik),
        id_key(no_kk), kelurahan_code, amount_idr
    from keyed_disbursements as keyed
    anti join repeated_keys
        on repeated_keys.program = keyed.program
        and repeated_keys.nik = keyed.nik
        and repeated_keys.stage = keyed.stage
    union all
    -- local lists, disbursements without NIK or stage, PBI-JK rows without NIK
    select
        period, program, funding_source, status, id_key(nik),
        id_key(no_kk), kelurahan_code, amount_idr
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
    -- every (program, funding source, status) a kept record can carry, numbered: the programs'
    -- funding sources as the records state them (else the catalog's), with either status; read
    -- from program_records, not kept_records, which then has a single reader and streams into
    -- numbered_records instead of being held (19.5 M rows with their texts at 1M households)
    select
        program,
        funding_source,
        status,
        row_number() over (order by program, funding_source, status) as record_class
    from (
        select distinct
            stated.program,
            coalesce(stated.funding_source, ref_program.funding) as funding_source
        from (select distinct program, funding_source from program_records) as stated
        left join ref_program on ref_program.code = stated.program
    ) as fundings
    cross join (select unnest(['success', 'failed']) as status) as statuses
),

kelurahan as (
    -- the kelurahan codes as numbers (from 1): those of ref_area (a record's kelurahan must be one
    -- of them), then any other code a household of a snapshot carries
    select
        code,
        row_number() over (order by code) as kelurahan_number,
        bool_or(in_ref_area) as in_ref_area
    from (
        select code, true as in_ref_area from ref_area where level = 'kelurahan'
        union all
        select distinct kelurahan_code, false from int_household_snapshot
        where kelurahan_code is not null
    ) as codes
    group by code
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
    left join kelurahan
        on kelurahan.code = kept_records.record_kelurahan_code and kelurahan.in_ref_area
),

snapshot_numbers as (
    -- each snapshot as a small number: the top bits of the packed keys below
    select distinct snapshot, snapshot_number from snapshot_months
),

households as (
    -- each household of the snapshots with its kelurahan's number (NULL: none), by (snapshot,
    -- household) packed into one integer
    select
        (snapshot_numbers.snapshot_number << 32) + int_household_snapshot.household_key
            as packed_key,
        kelurahan.kelurahan_number
    from int_household_snapshot
    join snapshot_numbers on snapshot_numbers.snapshot = int_household_snapshot.snapshot
    left join kelurahan on kelurahan.code = int_household_snapshot.kelurahan_code
),

nik_index as (
    -- (snapshot, NIK) packed into one integer (a NIK key is below 2^55) -> the household
    select
        (snapshot_numbers.snapshot_number << 55) + int_match_index.match_key as packed_key,
        int_match_index.household_key
    from int_match_index
    join snapshot_numbers on snapshot_numbers.snapshot = int_match_index.snapshot
    where int_match_index.match_method = 'nik'
),

kk_index as (
    select
        (snapshot_numbers.snapshot_number << 55) + int_match_index.match_key as packed_key,
        int_match_index.household_key
    from int_match_index
    join snapshot_numbers on snapshot_numbers.snapshot = int_match_index.snapshot
    where int_match_index.match_method = 'no_kk'
),

paired as (
    select
        snapshot_months.pair_number,
        snapshot_months.snapshot_number << 55 as snapshot_bits,
        numbered_records.*
    from numbered_records
    join snapshot_months on snapshot_months.record_period = numbered_records.record_period
),

nik_matched as (
    select
        paired.*,
        nik_index.household_key as nik_household
    from paired
    left join nik_index on nik_index.packed_key = paired.snapshot_bits + paired.nik_key
),

matched as (
    -- per record and snapshot: the grouping key as two integers: the (month, snapshot) pair's
    -- number, the record's kelurahan number (unmatched records only; 0: none or matched), the
    -- record class and the match method in bit fields (pair << 40 | kelurahan << 22 |
    -- class << 2 | method; a kelurahan number stays below 2^18, a record class below 2^20), and
    -- the matched household_key (-1: unmatched)
    select
        (nik_matched.pair_number << 40)
            + (case
                when nik_matched.nik_household is null and kk_index.household_key is null
                    then coalesce(nik_matched.record_kelurahan_number, 0)
                else 0
            end << 22)
            + (nik_matched.record_class << 2)
            + case
                when nik_matched.nik_household is not null then 1
                when kk_index.household_key is not null then 2
                else 0
            end as group_number,
        coalesce(nik_matched.nik_household, kk_index.household_key, -1) as unit_number,
        nik_matched.amount_idr
    from nik_matched
    left join kk_index
        on kk_index.packed_key = case when nik_matched.nik_household is null
            then nik_matched.snapshot_bits + nik_matched.kk_key end
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

attributed as (
    -- the kelurahan a row is attributed to: the matched household's in the snapshot, else the
    -- record's (0: none)
    select
        grouped.group_number,
        grouped.unit_number,
        case
            when grouped.unit_number >= 0 then coalesce(households.kelurahan_number, 0)
            else (grouped.group_number >> 22) & 262143
        end as kelurahan_number,
        grouped.records,
        grouped.amount_idr
    from grouped
    join snapshot_months on snapshot_months.pair_number = grouped.group_number >> 40
    left join households
        on households.packed_key = case when grouped.unit_number >= 0
            then (snapshot_months.snapshot_number << 32) + grouped.unit_number end
),

sorted as (
    -- the cluster order (record_period: the pairs are numbered in month order), sorted on these
    -- narrow integer rows; the texts are looked up below row by row, which keeps the order
    select * from attributed order by group_number
),

dictionaries as (
    -- the numbers' values as lists (one row, crossed with every row: a lookup that keeps the
    -- rows' order, unlike a join)
    select
        (select list(struct_pack(snapshot, record_period) order by pair_number)
            from snapshot_months) as pairs,
        (select list(struct_pack(program, funding_source, status) order by record_class)
            from record_classes) as classes,
        (select list(code order by kelurahan_number) from kelurahan) as kelurahan_codes
),

final as (
    select
        dictionaries.pairs[(sorted.group_number >> 40) + 1].snapshot as snapshot,
        dictionaries.pairs[(sorted.group_number >> 40) + 1].record_period as record_period,
        dictionaries.classes[(sorted.group_number >> 2) & 1048575].program as program,
        dictionaries.classes[(sorted.group_number >> 2) & 1048575].funding_source
            as funding_source,
        dictionaries.classes[(sorted.group_number >> 2) & 1048575].status as status,
        case when sorted.unit_number >= 0 then cast(sorted.unit_number as integer) end
            as household_key,
        case when sorted.kelurahan_number > 0
            then dictionaries.kelurahan_codes[sorted.kelurahan_number]
        end as kelurahan_code,
        case sorted.group_number & 3 when 1 then 'nik' when 2 then 'no_kk' end as match_method,
        sorted.records,
        sorted.amount_idr
    from sorted
    cross join dictionaries
)

select * from final
