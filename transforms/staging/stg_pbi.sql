-- Staging: PBI-JK membership records (pbi_) of the files being loaded.
-- Grain: one row per raw member row of one file: a member-month. Runs once per file, in the raw load:
-- `_file_rows` are the reader's records (text), `_file` the file's one row of attributes (name
-- parsed once); the result goes to the run's scratch as Parquet. The row as read (`raw_text` of
-- `_file_rows`) is not carried: tkpk.ingest.raw writes it beside, for the rows the kind's suite
-- flags only (the rows quarantine and flagged_field can keep it for).
-- Renames, casts and normalises only: the record date is the file's month; STATUS AKTIF ->
-- 'success', NONAKTIF -> 'inactive'; SEGMEN PBI APBN/APBD -> funding source APBN/APBD (the
-- catalog's funding when empty); the amount is the catalog premium, 0 for an inactive member.
-- Validity: expectations/stg_pbi.json.
with raw as (
    select r.*, b.load_id, b.file_id, b.sha256, b.file_name, b.period as file_period, b.period_end
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
        file_period,
        period_end,
        clean_text(nik) as nik,
        nik_numeric,
        clean_text(nama) as nama,
        -- (fast path: the two codes as they usually come, in upper, title or lower case; the
        -- general branch makes the same upper-case code of them)
        case when status = 'AKTIF' or status = 'NONAKTIF' then status
             when status = 'Aktif' or status = 'aktif' then 'AKTIF'
             when status = 'Nonaktif' or status = 'nonaktif' then 'NONAKTIF'
             else upper(replace(replace(replace(clean_text(status), ' ', ''), '-', ''), '_', ''))
        end as status,
        clean_text(segmen) as segmen,
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
        file_period,
        id_digits(nik, nik_numeric) as nik,
        id_precision_lost(nik, nik_numeric) as nik_precision_lost,
        nama,
        case status when 'AKTIF' then 'success' when 'NONAKTIF' then 'inactive' end as status,
        -- (fast path: the two segments as they usually come, in upper, title or lower case; the
        -- regular expression reads the same upper-case text)
        case
            when segmen = 'PBI APBN' or segmen = 'Pbi Apbn' or segmen = 'pbi apbn' then 'APBN'
            when segmen = 'PBI APBD' or segmen = 'Pbi Apbd' or segmen = 'pbi apbd' then 'APBD'
            else nullif(regexp_extract(upper(segmen), '^(PBI)?[\s\-_]*(APBN|APBD)$', 2), '')
        end as segmen_source,
        segmen as segmen_text,
        coalesce(malformed, false) as malformed
    from cleaned
),

catalog as (
    select code, funding, premium_idr_per_member_month
    from ref_program
    where code = (select code from ref_program_alias where alias_key = program_key('PBI-JK'))
),

final as (
    select
        p.load_id,
        p.file_id,
        p.sha256,
        p.file_name,
        p.row_number,
        p.period_end,
        c.code as program,
        'pbi' as source_kind,
        p.file_period as record_date,
        p.file_period as period,
        p.nik,
        p.nik_precision_lost,
        cast(null as varchar) as no_kk,
        p.nama,
        cast(null as varchar) as kelurahan_code,
        case
            when p.status = 'inactive' then cast(0 as decimal(18, 2))
            else c.premium_idr_per_member_month
        end as amount_idr,
        p.status,
        case
            when p.segmen_source is not null then p.segmen_source
            when p.segmen_text is null then c.funding
        end as funding_source,
        unparsed(p.segmen_source, p.segmen_text) as segmen_unparsed,
        cast(null as varchar) as channel,
        cast(null as integer) as stage,
        p.malformed
    from parsed as p
    left join catalog as c on true
)

select * from final
