-- Staging: member records (dtsen_anggota_) of the files being loaded.
-- Grain: one row per raw member row of one file. Runs once per file, in the raw load:
-- `_file_rows` are the reader's records (text), `_file` the file's one row of attributes (name
-- parsed once); the result goes to the run's scratch as Parquet. The row as read (`raw_text` of
-- `_file_rows`) is written beside it only for the rows that can be quarantined or flagged
-- (tkpk.ingest.raw.stage_rows).
-- Renames, casts and normalises only: every text is cleaned once (`cleaned`), then parsed to its
-- type (NULL when unreadable); the coded columns are parsed from the raw text by `code_of` /
-- `sex_of`, which clean only a value that is not plain digits; `<column>_unparsed` keeps the text
-- of an optional value that could not be read. Validity is judged by expectations/stg_members.json;
-- the household rules by tkpk.ingest.accept.
with raw as (
    select r.*, b.load_id, b.file_id, b.sha256, b.file_name, b.period, b.period_end
    from _file_rows as r
    cross join _file as b
),

-- each distinct birth date text of the file read once (a file of 3.5 M members holds ~40 k), then
-- joined to its rows by the text as read: cheaper than parsing every row's
birth_dates as (
    select tanggal_lahir as tanggal_lahir_raw, parse_date(clean_text(tanggal_lahir)) as tanggal_lahir
    from (select distinct tanggal_lahir from _file_rows)
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
        jenis_kelamin as jenis_kelamin_raw,
        tanggal_lahir as tanggal_lahir_raw,
        hubungan_keluarga as hubungan_keluarga_raw,
        pendidikan_tertinggi as pendidikan_tertinggi_raw,
        status_sekolah as status_sekolah_raw,
        jaminan_kesehatan as jaminan_kesehatan_raw,
        disabilitas as disabilitas_raw,
        status_bekerja as status_bekerja_raw,
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
        sex_of(jenis_kelamin_raw) as sex,
        jenis_kelamin_raw,
        d.tanggal_lahir,
        code_of(hubungan_keluarga_raw) as hubungan,
        hubungan_keluarga_raw,
        code_of(pendidikan_tertinggi_raw) as pendidikan_tertinggi,
        code_of(status_sekolah_raw) as status_sekolah,
        code_of(jaminan_kesehatan_raw) as jaminan_kesehatan,
        code_of(disabilitas_raw) as disabilitas_code,
        disabilitas_raw,
        code_of(status_bekerja_raw) as status_bekerja_code,
        status_bekerja_raw,
        coalesce(malformed, false) as malformed
    from cleaned
    left join birth_dates as d on d.tanggal_lahir_raw = cleaned.tanggal_lahir_raw
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
        unparsed(sex, clean_text(jenis_kelamin_raw)) as jenis_kelamin_unparsed,
        tanggal_lahir,
        hubungan as hubungan_keluarga,
        unparsed(hubungan, clean_text(hubungan_keluarga_raw)) as hubungan_keluarga_unparsed,
        pendidikan_tertinggi,
        status_sekolah,
        jaminan_kesehatan,
        disabilitas_code as disabilitas,
        unparsed(disabilitas_code, clean_text(disabilitas_raw)) as disabilitas_unparsed,
        status_bekerja_code as status_bekerja,
        unparsed(status_bekerja_code, clean_text(status_bekerja_raw)) as status_bekerja_unparsed,
        malformed
    from parsed
)

select * from final
