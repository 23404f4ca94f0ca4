-- Staging: household records (dtsen_keluarga_) of the files being loaded.
-- Grain: one row per raw household row of one file. Runs once per file, in the raw load:
-- `_file_rows` are the reader's records (text), `_file` the file's one row of attributes (name
-- parsed once); the result goes to the run's scratch as Parquet. The row as read (`raw_text` of
-- `_file_rows`) is not carried: tkpk.ingest.raw writes it beside, for the rows the kind's suite
-- flags and the rows of an ID_KELUARGA repeated in the file only (the rows quarantine and
-- flagged_field can keep it for; every row when another household file has the month).
-- Renames, casts and normalises only: every text is cleaned once (`cleaned`), then parsed to its
-- type (NULL when unreadable); the coded columns are parsed from the raw text by `code_of` /
-- `sex_of`, which clean only a value that is not plain digits; `<column>_unparsed` keeps the text
-- of an optional value that could not be read. Validity is judged by
-- expectations/stg_households.json; cross-row rules by tkpk.ingest.accept.
with raw as (
    select r.*, b.load_id, b.file_id, b.sha256, b.file_name, b.period, b.period_end
    from _file_rows as r
    cross join _file as b
),

-- Values that repeat across a file are read once per distinct text as read, then joined to the
-- rows by that text (a file of 1 M households holds a few dozen kelurahan code-name pairs and
-- under a thousand survey dates and floor areas): the kelurahan by code or name, ...
kelurahan as (
    -- the kelurahan of each code-name pair (macro kelurahan_lookup, transforms/macros.sql)
    select * from kelurahan_lookup(_file_rows)
),

-- ... the survey date (and its text, kept when unreadable), ...
survey_dates as (
    select
        tanggal_pendataan as tanggal_pendataan_raw,
        parse_date(cleaned) as tanggal_pendataan,
        cleaned as tanggal_pendataan_text
    from (
        select tanggal_pendataan, clean_text(tanggal_pendataan) as cleaned
        from (select distinct tanggal_pendataan from _file_rows)
    )
),

-- ... and the floor area.
floor_areas as (
    select luas_lantai as luas_lantai_raw,
        parse_number(number_text(clean_text(luas_lantai))) as luas_lantai
    from (select distinct luas_lantai from _file_rows)
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
        clean_text(no_kk) as no_kk,
        kk_numeric,
        kode_kelurahan as kode_kelurahan_raw,
        nama_kelurahan as nama_kelurahan_raw,
        clean_text(alamat) as alamat,
        rt as rt_raw,
        rw as rw_raw,
        jumlah_anggota as jumlah_anggota_raw,
        number_text(clean_text(pengeluaran_per_kapita)) as pengeluaran_per_kapita,
        desil as desil_raw,
        luas_lantai as luas_lantai_raw,
        jenis_lantai as jenis_lantai_raw,
        jenis_dinding as jenis_dinding_raw,
        sumber_air_minum as sumber_air_minum_raw,
        sumber_penerangan as sumber_penerangan_raw,
        bahan_bakar_masak as bahan_bakar_masak_raw,
        fasilitas_bab as fasilitas_bab_raw,
        tanggal_pendataan as tanggal_pendataan_raw,
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
        id_digits(no_kk, kk_numeric) as no_kk,
        id_precision_lost(no_kk, kk_numeric) as no_kk_precision_lost,
        k.kelurahan_code,
        k.kelurahan_unparsed,
        alamat,
        code_of(rt_raw) as rt,
        rt_raw,
        code_of(rw_raw) as rw,
        rw_raw,
        code_of(jumlah_anggota_raw) as jumlah_anggota,
        jumlah_anggota_raw,
        parse_number(pengeluaran_per_kapita) as pengeluaran_per_kapita,
        code_of(desil_raw) as desil,
        f.luas_lantai,
        code_of(jenis_lantai_raw) as jenis_lantai,
        code_of(jenis_dinding_raw) as jenis_dinding,
        code_of(sumber_air_minum_raw) as sumber_air_minum,
        code_of(sumber_penerangan_raw) as sumber_penerangan,
        code_of(bahan_bakar_masak_raw) as bahan_bakar_masak,
        code_of(fasilitas_bab_raw) as fasilitas_bab,
        d.tanggal_pendataan,
        d.tanggal_pendataan_text,
        coalesce(malformed, false) as malformed
    from cleaned as c
    left join kelurahan as k
        on k.kode_kelurahan_raw is not distinct from c.kode_kelurahan_raw
        and k.nama_kelurahan_raw is not distinct from c.nama_kelurahan_raw
    left join survey_dates as d on d.tanggal_pendataan_raw = c.tanggal_pendataan_raw
    left join floor_areas as f on f.luas_lantai_raw = c.luas_lantai_raw
),

final as (
    select
        p.load_id,
        p.file_id,
        p.sha256,
        p.file_name,
        p.row_number,
        p.snapshot,
        p.period_end,
        p.id_keluarga,
        p.no_kk,
        p.no_kk_precision_lost,
        p.kelurahan_code,
        p.kelurahan_unparsed,
        p.alamat,
        p.rt,
        unparsed(p.rt, clean_text(p.rt_raw)) as rt_unparsed,
        p.rw,
        unparsed(p.rw, clean_text(p.rw_raw)) as rw_unparsed,
        p.jumlah_anggota,
        unparsed(p.jumlah_anggota, clean_text(p.jumlah_anggota_raw)) as jumlah_anggota_unparsed,
        p.pengeluaran_per_kapita,
        p.desil,
        p.luas_lantai,
        p.jenis_lantai,
        p.jenis_dinding,
        p.sumber_air_minum,
        p.sumber_penerangan,
        p.bahan_bakar_masak,
        p.fasilitas_bab,
        p.tanggal_pendataan,
        unparsed(p.tanggal_pendataan, p.tanggal_pendataan_text) as tanggal_pendataan_unparsed,
        p.malformed
    from parsed as p
)

select * from final
