-- explain lineage: the raw rows behind each unit of an explanation (tkpk explain).
-- Grain: one row per (unit, raw row) of explain_units (the units one transforms/explain/<table>.sql
-- listed, numbered by `unit`):
--   a household unit (id_keluarga set): its registry household row of s(m) (role 'household')
--     and its member rows (role 'member': they make household_size and the member indicators);
--   a unit with lineage_records (macros.sql: record_lineage): the accepted program records of
--     the reach window of m (role 'record'), successful or failed, of its program, funding
--     source (the record's own, else the catalog's) and status when set, matched to the
--     household as int_program_monthly matches them (a member's NIK in s(m), else the NO_KK;
--     int_match_index); for a unit of unmatched records (no household) the records of its
--     record_period matching nobody in s(m), attributed to its kelurahan_code (the record's
--     kelurahan when it is one of ref_area, else NULL: the region row only).
-- Records are listed as they arrived: a corrected record and its correction are both listed
-- (int_program_monthly counts the chain once), as are the rows of one PBI-JK member-month.
-- flagged_fields: the row's flagged fields (column and reason; never the raw value).
-- Period: getvariable('explain_period').
--
-- Lineage access lives in the first two CTEs only (accepted_rows, flags): every accepted row's
-- file (file_id; its name from ingest_file) and row number, and the flags keyed the same way.
-- When the lineage columns change, these two CTEs change and nothing else.
with

accepted_rows as (
    -- THE lineage access: the file and row of every accepted row the explanation may list
    -- (file_id, row_number), the file's name from ingest_file
    select rows.*, ingest_file.file_name
    from (
        select
            'household' as role, snapshot, id_keluarga,
            cast(null as varchar) as program, cast(null as date) as record_period,
            cast(null as varchar) as status, cast(null as varchar) as funding_source,
            cast(null as varchar) as nik, cast(null as varchar) as no_kk,
            cast(null as varchar) as kelurahan_code,
            file_id as file_key, row_number
        from registry_households
        where snapshot in (select snapshot from explain_units)
        union all
        select
            'member', snapshot, id_keluarga, null, null, null, null, null, null, null,
            file_id, row_number
        from registry_members
        where snapshot in (select snapshot from explain_units)
        union all
        select
            'record', null, null, program, cast(date_trunc('month', period) as date), status,
            funding_source, nik, no_kk, kelurahan_code, file_id, row_number
        from program_records
        where status in ('success', 'failed')
    ) as rows
    left join ingest_file on ingest_file.file_id = rows.file_key
),

flags as (
    -- flagged fields keyed like the accepted rows (column and reason only)
    select
        file_id as file_key,
        row_number,
        list(struct_pack(column_name, reason) order by column_name, reason) as flagged_fields
    from flagged_field
    group by file_id, row_number
),

period as (
    select period, snapshot, window_start
    from int_periods
    where period = getvariable('explain_period')
),

household_units as (
    select unit, snapshot, id_keluarga from explain_units where id_keluarga is not null
),

registry_lineage as (
    select household_units.unit, accepted_rows.role, accepted_rows.file_key,
        accepted_rows.file_name, accepted_rows.row_number
    from household_units
    join accepted_rows
        on accepted_rows.role in ('household', 'member')
        and accepted_rows.snapshot = household_units.snapshot
        and accepted_rows.id_keluarga = household_units.id_keluarga
),

record_keys as (
    -- the reach window's records with their NIK and NO_KK as int_match_index keys
    select
        accepted_rows.*,
        try_cast('1' || accepted_rows.nik as bigint) as nik_key,
        try_cast('1' || accepted_rows.no_kk as bigint) as kk_key
    from accepted_rows
    cross join period
    where accepted_rows.role = 'record'
        and accepted_rows.record_period between period.window_start and period.period
),

unit_keys as (
    -- the NIK and NO_KK keys of the households whose records are listed
    select int_match_index.match_method, int_match_index.match_key
    from int_match_index
    join period on period.snapshot = int_match_index.snapshot
    where int_match_index.household_key in (
        select household_key from explain_units where lineage_records is not null
    )
),

candidate_records as (
    -- only the records that can belong to a unit (a unit's key, or a month of unmatched units):
    -- matching every record of the window is not needed for one kelurahan
    select *
    from record_keys
    where nik_key in (select match_key from unit_keys where match_method = 'nik')
        or kk_key in (select match_key from unit_keys where match_method = 'no_kk')
        or record_period in (
            select lineage_records.record_period
            from explain_units
            where household_key is null and lineage_records is not null
        )
),

window_records as (
    -- the candidate records with the household each one matches in s(m) (a member's NIK, else
    -- the NO_KK), their funding source (the record's own, else the catalog's) and their
    -- kelurahan when it is one of ref_area
    select
        candidate_records.* exclude (nik_key, kk_key),
        coalesce(candidate_records.funding_source, ref_program.funding) as effective_funding,
        kelurahan.code as record_kelurahan_code,
        coalesce(nik_index.household_key, kk_index.household_key) as household_key
    from candidate_records
    cross join period
    left join ref_program on ref_program.code = candidate_records.program
    left join ref_area as kelurahan
        on kelurahan.code = candidate_records.kelurahan_code and kelurahan.level = 'kelurahan'
    left join int_match_index as nik_index
        on nik_index.snapshot = period.snapshot
        and nik_index.match_method = 'nik'
        and nik_index.match_key = candidate_records.nik_key
    left join int_match_index as kk_index
        on kk_index.snapshot = period.snapshot
        and kk_index.match_method = 'no_kk'
        and kk_index.match_key = candidate_records.kk_key
),

record_units as (
    -- units made of records, with what selects them (macros.sql: NULL selects any)
    select
        unit,
        household_key,
        lineage_records.program as selected_program,
        lineage_records.funding_source as selected_funding_source,
        lineage_records.status as selected_status,
        lineage_records.record_period as selected_record_period,
        lineage_records.kelurahan_code as selected_kelurahan_code
    from explain_units
    where lineage_records is not null
),

candidate_rows as (
    -- a household's records (equi-join on its key), then the unmatched records of a unit of them
    select record_units.*, window_records.* exclude (household_key)
    from record_units
    join window_records on window_records.household_key = record_units.household_key
    union all
    select record_units.*, window_records.* exclude (household_key)
    from record_units
    join window_records
        on window_records.record_period = record_units.selected_record_period
        and window_records.record_kelurahan_code
            is not distinct from record_units.selected_kelurahan_code
    where record_units.household_key is null and window_records.household_key is null
),

matched_record_rows as (
    select unit, role, file_key, file_name, row_number
    from candidate_rows
    where (selected_program is null or program = selected_program)
        and (selected_funding_source is null or effective_funding = selected_funding_source)
        and (selected_status is null or status = selected_status)
),

final as (
    select
        lineage.unit,
        lineage.role,
        lineage.file_name,
        lineage.row_number,
        coalesce(flags.flagged_fields, []) as flagged_fields
    from (select * from registry_lineage union all select * from matched_record_rows) as lineage
    left join flags
        on flags.file_key = lineage.file_key and flags.row_number = lineage.row_number
    order by lineage.unit, lineage.role, lineage.file_name, lineage.row_number
)

select * from final
