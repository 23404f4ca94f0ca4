-- Staging: disbursement records (salur_) of the files being loaded.
-- Grain: one row per raw disbursement row of one file. Runs once per file, in the raw load:
-- `_file_rows` are the reader's records (text), `_file` the file's one row of attributes (name
-- parsed once); the result goes to the run's scratch as Parquet. The row as read (`raw_text` of
-- `_file_rows`) is not carried: tkpk.ingest.raw writes it beside, for the rows the kind's suite
-- flags only (the rows quarantine and flagged_field can keep it for).
-- Renames, casts and normalises only: every text is cleaned once (`cleaned`), then parsed to its
-- type (NULL when unreadable); the program resolved through the catalog aliases (the PROGRAM
-- column when given, else the file name's program), the kelurahan by code or name;
-- `<column>_unparsed` keeps the text of an optional value that could not be read.
-- Validity: expectations/stg_disbursements.json.
with raw as (
    select
        r.*,
        b.load_id,
        b.file_id,
        b.sha256,
        b.file_name,
        b.period_end,
        b.program as file_program,
        b.channel as file_channel,
        b.stage as file_stage
    from _file_rows as r
    cross join _file as b
),

cleaned as (
    select
        load_id,
        file_id,
        sha256,
        file_name,
        row_number,
        period_end,
        file_program,
        clean_text(file_channel) as channel,
        try_cast(file_stage as integer) as file_stage,
        clean_text(nik) as nik,
        nik_numeric,
        clean_text(no_kk) as no_kk,
        kk_numeric,
        clean_text(nama) as nama,
        clean_text(program) as program,
        clean_text(tahap) as tahap,
        clean_text(tanggal_salur) as tanggal_salur,
        number_text(clean_text(nominal)) as nominal,
        clean_text(status) as status,
        clean_text(kode_kelurahan) as kode_kelurahan,
        clean_text(nama_kelurahan) as nama_kelurahan,
        malformed
    from raw
),

parsed as (
    select
        load_id,
        file_id,
        sha256,
        file_name,
        row_number,
        period_end,
        program as program_text,
        program_key(program) as program_column_key,
        program_key(file_program) as program_file_key,
        parse_date(tanggal_salur) as record_date,
        id_digits(nik, nik_numeric) as nik,
        id_precision_lost(nik, nik_numeric) as nik_precision_lost,
        id_digits(no_kk, kk_numeric) as no_kk,
        id_precision_lost(no_kk, kk_numeric) as no_kk_precision_lost,
        nama,
        area_code_text(kode_kelurahan) as kelurahan_code_text,
        nama_kelurahan,
        coalesce(kode_kelurahan, nama_kelurahan) as kelurahan_text,
        parse_number(nominal) as amount_idr,
        transfer_status(status) as status,
        channel,
        tahap as tahap_text,
        try_cast(
            regexp_extract(upper(tahap), '^(TAHAP|TAHAPAN)?\s*([0-9]{1,2})([.,]0+)?$', 2) as integer
        ) as tahap,
        file_stage,
        coalesce(malformed, false) as malformed
    from cleaned
),

coded as (
    select p.*, by_code.code as kelurahan_by_code
    from parsed as p
    left join ref_area as by_code
        on by_code.level = 'kelurahan' and by_code.code = p.kelurahan_code_text
),

named as (
    select c.*, area_name_key(c.kelurahan_by_code, c.nama_kelurahan) as kelurahan_name_key
    from coded as c
),

resolved as (
    select
        p.*,
        case when p.program_text is not null then by_column.code else by_file.code end
            as program,
        coalesce(p.kelurahan_by_code, by_name.code) as kelurahan_code
    from named as p
    left join ref_program_alias as by_column on by_column.alias_key = p.program_column_key
    left join ref_program_alias as by_file on by_file.alias_key = p.program_file_key
    left join ref_area_alias as by_name on by_name.alias_key = p.kelurahan_name_key
),

final as (
    select
        r.load_id,
        r.file_id,
        r.sha256,
        r.file_name,
        r.row_number,
        r.period_end,
        r.program,
        catalog.cash as program_cash,
        'disbursements' as source_kind,
        r.record_date,
        cast(date_trunc('month', r.record_date) as date) as period,
        r.nik,
        r.nik_precision_lost,
        r.no_kk,
        r.no_kk_precision_lost,
        r.nama,
        r.kelurahan_code,
        unparsed(r.kelurahan_code, r.kelurahan_text) as kelurahan_unparsed,
        r.amount_idr,
        r.status,
        catalog.funding as funding_source,
        r.channel,
        coalesce(r.tahap, r.file_stage) as stage,
        unparsed(r.tahap, r.tahap_text) as stage_unparsed,
        r.malformed
    from resolved as r
    left join ref_program as catalog on catalog.code = r.program
)

select * from final
