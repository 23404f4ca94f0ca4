-- Staging: local recipient lists (bantuan_) of the files being loaded.
-- Grain: one row per raw recipient row of one file. Runs once per file, in the raw load:
-- `_file_rows` are the reader's records (text), `_file` the file's one row of attributes (name
-- parsed once); the result goes to the run's scratch as Parquet. The row as read (`raw_text` of
-- `_file_rows`) is not carried: tkpk.ingest.raw writes it beside, for the rows the kind's suite
-- flags only (the rows quarantine and flagged_field can keep it for).
-- Renames, casts and normalises only: every text is cleaned once (`cleaned`), then parsed; the
-- program from JENIS_BANTUAN when given, else the file name's program (catalog aliases); an empty
-- NILAI is 0 (allowed for in-kind programs only, judged by the suite); SUMBER_DANA, else (empty or
-- unreadable: a flagged field) the catalog's funding; the kelurahan by name (or code). `<column>_unparsed` keeps the text of a
-- value that could not be read. Validity: expectations/stg_local.json.
with raw as (
    select r.*, b.load_id, b.file_id, b.sha256, b.file_name, b.period_end, b.program as file_program
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
        clean_text(nik) as nik,
        nik_numeric,
        clean_text(nama) as nama,
        clean_text(alamat) as alamat,
        clean_text(kelurahan) as kelurahan,
        clean_text(jenis_bantuan) as jenis_bantuan,
        number_text(clean_text(nilai)) as nilai,
        clean_text(tanggal) as tanggal,
        upper(clean_text(sumber_dana)) as sumber_dana,
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
        jenis_bantuan as program_text,
        program_key(jenis_bantuan) as program_column_key,
        program_key(file_program) as program_file_key,
        parse_date(tanggal) as record_date,
        id_digits(nik, nik_numeric) as nik,
        id_precision_lost(nik, nik_numeric) as nik_precision_lost,
        nama,
        alamat,
        area_code_text(kelurahan) as kelurahan_code_text,
        area_key(kelurahan) as kelurahan_name_key,
        kelurahan as kelurahan_text,
        case when nilai is null or nilai = '' then cast(0 as decimal(18, 2))
             else parse_number(nilai) end as amount_idr,
        sumber_dana,
        coalesce(malformed, false) as malformed
    from cleaned
),

resolved as (
    select
        p.*,
        case when p.program_text is not null then by_column.code else by_file.code end
            as program,
        coalesce(by_code.code, by_name.code) as kelurahan_code
    from parsed as p
    left join ref_program_alias as by_column on by_column.alias_key = p.program_column_key
    left join ref_program_alias as by_file on by_file.alias_key = p.program_file_key
    left join ref_area as by_code
        on by_code.level = 'kelurahan' and by_code.code = p.kelurahan_code_text
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
        'local' as source_kind,
        r.record_date,
        cast(date_trunc('month', r.record_date) as date) as period,
        r.nik,
        r.nik_precision_lost,
        cast(null as varchar) as no_kk,
        r.nama,
        r.kelurahan_code,
        unparsed(r.kelurahan_code, r.kelurahan_text) as kelurahan_unparsed,
        r.amount_idr,
        'success' as status,
        coalesce(funding_code(r.sumber_dana), catalog.funding) as funding_source,
        unparsed(funding_code(r.sumber_dana), r.sumber_dana) as funding_source_unparsed,
        cast(null as varchar) as channel,
        cast(null as integer) as stage,
        r.malformed
    from resolved as r
    left join ref_program as catalog on catalog.code = r.program
)

select * from final
