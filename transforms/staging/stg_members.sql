-- Staging: member records (dtsen_anggota_) of the files being loaded.
-- Grain: one row per raw member row of one file. Runs once per file, in the raw load:
-- `_file_rows` are the reader's records (text), `_file` the file's one row of attributes (name
-- parsed once); the result goes to the run's scratch as Parquet. The row as read (`raw_text` of
-- `_file_rows`) is written beside it only for the rows that can be quarantined or flagged
-- (tkpk.ingest.raw.stage_rows).
-- Renames, casts and normalises only: every text is cleaned once (`cleaned`), then parsed to its
-- type (NULL when unreadable); `<column>_unparsed` keeps the text of an optional value that could
-- not be read. Validity is judged by expectations/stg_members.json; the household rules by
-- tkpk.ingest.accept.
with raw as (
    select r.*, b.load_id, b.file_id, b.sha256, b.file_name, b.period, b.period_end
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
        period,
        period_end,
        clean_text(id_keluarga) as id_keluarga,
        clean_text(nik) as nik,
        nik_numeric,
        clean_text(nama) as nama,
        clean_text(jenis_kelamin) as jenis_kelamin,
        clean_text(tanggal_lahir) as tanggal_lahir,
        clean_text(hubungan_keluarga) as hubungan_keluarga,
        clean_text(pendidikan_tertinggi) as pendidikan_tertinggi,
        clean_text(status_sekolah) as status_sekolah,
        clean_text(jaminan_kesehatan) as jaminan_kesehatan,
        clean_text(disabilitas) as disabilitas,
        clean_text(status_bekerja) as status_bekerja,
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
        period as snapshot,
        period_end,
        -- a numeric cell's "123,0" -> "123" (the regular expression only where a mark is)
        case when contains(id_keluarga, '.') or contains(id_keluarga, ',')
            then regexp_replace(id_keluarga, '^([0-9]+)[.,]0+$', '\1')
            else id_keluarga end as id_keluarga,
        id_digits(nik, nik_numeric) as nik,
        id_precision_lost(nik, nik_numeric) as nik_precision_lost,
        nama,
        parse_sex(jenis_kelamin) as sex,
        jenis_kelamin as jenis_kelamin_text,
        parse_date(tanggal_lahir) as tanggal_lahir,
        parse_code(hubungan_keluarga) as hubungan,
        hubungan_keluarga as hubungan_keluarga_text,
        parse_code(pendidikan_tertinggi) as pendidikan_tertinggi,
        parse_code(status_sekolah) as status_sekolah,
        parse_code(jaminan_kesehatan) as jaminan_kesehatan,
        parse_code(disabilitas) as disabilitas_code,
        disabilitas as disabilitas_text,
        parse_code(status_bekerja) as status_bekerja_code,
        status_bekerja as status_bekerja_text,
        coalesce(malformed, false) as malformed
    from cleaned
),

final as (
    select
        load_id,
        file_id,
        sha256,
        file_name,
        row_number,
        snapshot,
        period_end,
        id_keluarga,
        nik,
        nik_precision_lost,
        nama,
        sex as jenis_kelamin,
        unparsed(sex, jenis_kelamin_text) as jenis_kelamin_unparsed,
        tanggal_lahir,
        hubungan as hubungan_keluarga,
        unparsed(hubungan, hubungan_keluarga_text) as hubungan_keluarga_unparsed,
        pendidikan_tertinggi,
        status_sekolah,
        jaminan_kesehatan,
        disabilitas_code as disabilitas,
        unparsed(disabilitas_code, disabilitas_text) as disabilitas_unparsed,
        status_bekerja_code as status_bekerja,
        unparsed(status_bekerja_code, status_bekerja_text) as status_bekerja_unparsed,
        malformed
    from parsed
)

select * from final
