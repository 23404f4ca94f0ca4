-- int_program_monthly: program records matched to the households of a snapshot, per month.
-- Grain: one row per (snapshot, record_period, program, funding_source, status, id_keluarga,
-- kelurahan_code, match_method), for the successful and failed records a period using that
-- snapshot can see in its reach window. PBI-JK inactive rows ('inactive') are neither
-- successful nor failed and are left out here.
--
-- Matching (indicators.md, "Program reach"): a record matches the household of snapshot s one of
-- whose members has the record's NIK; failing that, the household whose NO_KK is the record's
-- NO_KK (match_method 'nik' / 'no_kk'; NULL = unmatched). Should a NIK or NO_KK occur in two
-- households of one snapshot (a registry error), the smallest id_keluarga is taken, so the
-- record is counted once.
-- kelurahan_code is where the record is attributed: the matched household's kelurahan in s;
-- else the kelurahan named on the record (when it is a kelurahan of ref_area); else NULL, which
-- the area bridge sends to the region row only.
-- funding_source: the record's own (SUMBER_DANA / SEGMEN), else the catalog's funding.
with

snapshot_reach as (
    -- months each snapshot can see: from the earliest window start to the latest period using it
    select snapshot, min(window_start) as first_month, max(period) as last_month
    from int_periods
    group by snapshot
),

records as (
    select
        snapshot_reach.snapshot,
        cast(date_trunc('month', program_records.period) as date) as record_period,
        program_records.program,
        coalesce(program_records.funding_source, ref_program.funding) as funding_source,
        program_records.status,
        program_records.nik,
        program_records.no_kk,
        program_records.kelurahan_code as record_kelurahan_code,
        -- a PBI-JK row without an amount is worth the catalog premium of one member-month
        coalesce(program_records.amount_idr, ref_program.premium_idr_per_member_month, 0)
            as amount_idr
    from program_records
    join snapshot_reach
        on cast(date_trunc('month', program_records.period) as date)
            between snapshot_reach.first_month and snapshot_reach.last_month
    left join ref_program on ref_program.code = program_records.program
    where program_records.status in ('success', 'failed')
),

snapshot_households as (
    select snapshot, id_keluarga, no_kk, kelurahan_code from int_household_snapshot
),

nik_index as (
    select
        registry_members.snapshot,
        registry_members.nik,
        min(snapshot_households.id_keluarga) as id_keluarga
    from registry_members
    join snapshot_households
        on snapshot_households.snapshot = registry_members.snapshot
        and snapshot_households.id_keluarga = registry_members.id_keluarga
    where registry_members.nik is not null
    group by registry_members.snapshot, registry_members.nik
),

kk_index as (
    select snapshot, no_kk, min(id_keluarga) as id_keluarga
    from snapshot_households
    where no_kk is not null
    group by snapshot, no_kk
),

matched as (
    select
        records.*,
        coalesce(nik_index.id_keluarga, kk_index.id_keluarga) as id_keluarga,
        case
            when nik_index.id_keluarga is not null then 'nik'
            when kk_index.id_keluarga is not null then 'no_kk'
        end as match_method
    from records
    left join nik_index
        on nik_index.snapshot = records.snapshot and nik_index.nik = records.nik
    left join kk_index
        on kk_index.snapshot = records.snapshot and kk_index.no_kk = records.no_kk
),

attributed as (
    select
        matched.*,
        case
            when matched.id_keluarga is not null then snapshot_households.kelurahan_code
            else record_kelurahan.code
        end as kelurahan_code
    from matched
    left join snapshot_households
        on snapshot_households.snapshot = matched.snapshot
        and snapshot_households.id_keluarga = matched.id_keluarga
    left join (select code from ref_area where level = 'kelurahan') as record_kelurahan
        on record_kelurahan.code = matched.record_kelurahan_code
),

final as (
    select
        snapshot,
        record_period,
        program,
        funding_source,
        status,
        id_keluarga,
        kelurahan_code,
        match_method,
        count(*) as records,
        cast(sum(amount_idr) as decimal(38, 2)) as amount_idr
    from attributed
    group by all
)

select * from final
