-- Staging: disbursement records (salur_) of the files being loaded.
-- Grain: one row per raw disbursement row of one file. Runs once per file, in the raw load:
-- `_file_rows` are the reader's records (text), `_file` the file's one row of attributes (name
-- parsed once); the result goes to the run's scratch as Parquet. The row as read (`raw_text` of
-- `_file_rows`) is not carried: tkpk.ingest.raw writes it beside, for the rows the kind's suite
-- flags only (the rows quarantine and flagged_field can keep it for).
-- Renames, casts and normalises only: every text is cleaned once, then parsed to its type (NULL
-- when unreadable); the program resolved through the catalog aliases (the PROGRAM column when
-- given, else the file name's program), the kelurahan by code or name; `<column>_unparsed` keeps
-- the text of an optional value that could not be read.
-- The program and the kelurahan (a few distinct texts, a few dozen code-name pairs in a file of
-- 100 k rows) are resolved once per distinct text as read (`programs`, `kelurahan`) and joined to
-- the rows by that text; the file's own attributes once per file (`file`).
-- Validity: expectations/stg_disbursements.json.
with raw as (
    select r.*, b.load_id, b.file_id, b.sha256, b.file_name, b.period_end
    from _file_rows as r
    cross join _file as b
),

file as (
    select
        clean_text(b.channel) as channel,
        try_cast(b.stage as integer) as file_stage,
        by_file.code as file_program
    from _file as b
    left join ref_program_alias as by_file on by_file.alias_key = program_key(b.program)
),

programs as (
    select r.program_raw, r.program, catalog.cash as program_cash, catalog.funding
    from (
        select
            t.program as program_raw,
            case when t.program_text is not null then by_column.code else f.file_program end
                as program
        from (
            select program, clean_text(program) as program_text
            from (select distinct program from _file_rows)
        ) as t
        cross join file as f
        left join ref_program_alias as by_column
            on by_column.alias_key = program_key(t.program_text)
    ) as r
    left join ref_program as catalog on catalog.code = r.program
),

kelurahan as (
    -- the kelurahan of each code-name pair (macro kelurahan_lookup, transforms/macros.sql)
    select * from kelurahan_lookup(_file_rows)
),

record_dates as (
    select tanggal_salur as tanggal_salur_raw, parse_date(tanggal_salur_text) as record_date
    from (
        select tanggal_salur, clean_text(tanggal_salur) as tanggal_salur_text
        from (select distinct tanggal_salur from _file_rows)
    )
),

amounts as (
    select nominal as nominal_raw, parse_number(nominal_text) as amount_idr
    from (
        select nominal, number_text(clean_text(nominal)) as nominal_text
        from (select distinct nominal from _file_rows)
    )
),

statuses as (
    select status as status_raw, transfer_status(clean_text(status)) as status
    from (select distinct status from _file_rows)
),

cleaned as (
    select
        load_id,
        file_id,
        sha256,
        file_name,
        row_number,
        period_end,
        clean_text(nik) as nik,
        nik_numeric,
        clean_text(no_kk) as no_kk,
        kk_numeric,
        clean_text(nama) as nama,
        program as program_raw,
        clean_text(tahap) as tahap,
        tanggal_salur as tanggal_salur_raw,
        nominal as nominal_raw,
        status as status_raw,
        kode_kelurahan as kode_kelurahan_raw,
        nama_kelurahan as nama_kelurahan_raw,
        malformed
    from raw
),

parsed as (
    select
        c.load_id,
        c.file_id,
        c.sha256,
        c.file_name,
        c.row_number,
        c.period_end,
        p.program,
        p.program_cash,
        p.funding,
        d.record_date,
        id_digits(c.nik, c.nik_numeric) as nik,
        id_precision_lost(c.nik, c.nik_numeric) as nik_precision_lost,
        id_digits(c.no_kk, c.kk_numeric) as no_kk,
        id_precision_lost(c.no_kk, c.kk_numeric) as no_kk_precision_lost,
        c.nama,
        k.kelurahan_code,
        k.kelurahan_unparsed,
        a.amount_idr,
        s.status,
        f.channel,
        c.tahap as tahap_text,
        -- (fast path: one or two digits, as the stage usually comes)
        case
            when c.tahap glob '[0-9]' or c.tahap glob '[0-9][0-9]' then cast(c.tahap as integer)
            else try_cast(
                regexp_extract(upper(c.tahap), '^(TAHAP|TAHAPAN)?\s*([0-9]{1,2})([.,]0+)?$', 2)
                as integer
            )
        end as tahap,
        f.file_stage,
        coalesce(c.malformed, false) as malformed
    from cleaned as c
    cross join file as f
    left join programs as p on p.program_raw is not distinct from c.program_raw
    left join record_dates as d on d.tanggal_salur_raw = c.tanggal_salur_raw
    left join amounts as a on a.nominal_raw = c.nominal_raw
    left join statuses as s on s.status_raw = c.status_raw
    left join kelurahan as k
        on k.kode_kelurahan_raw is not distinct from c.kode_kelurahan_raw
        and k.nama_kelurahan_raw is not distinct from c.nama_kelurahan_raw
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
        r.program_cash,
        'disbursements' as source_kind,
        r.record_date,
        cast(date_trunc('month', r.record_date) as date) as period,
        r.nik,
        r.nik_precision_lost,
        r.no_kk,
        r.no_kk_precision_lost,
        r.nama,
        r.kelurahan_code,
        r.kelurahan_unparsed,
        r.amount_idr,
        r.status,
        r.funding as funding_source,
        r.channel,
        coalesce(r.tahap, r.file_stage) as stage,
        unparsed(r.tahap, r.tahap_text) as stage_unparsed,
        r.malformed
    from parsed as r
)

select * from final
