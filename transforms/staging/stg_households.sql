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
        clean_text(kode_kelurahan) as kode_kelurahan,
        clean_text(nama_kelurahan) as nama_kelurahan,
        clean_text(alamat) as alamat,
        rt as rt_raw,
        rw as rw_raw,
        jumlah_anggota as jumlah_anggota_raw,
        number_text(clean_text(pengeluaran_per_kapita)) as pengeluaran_per_kapita,
        desil as desil_raw,
        number_text(clean_text(luas_lantai)) as luas_lantai,
        jenis_lantai as jenis_lantai_raw,
        jenis_dinding as jenis_dinding_raw,
        sumber_air_minum as sumber_air_minum_raw,
        sumber_penerangan as sumber_penerangan_raw,
        bahan_bakar_masak as bahan_bakar_masak_raw,
        fasilitas_bab as fasilitas_bab_raw,
        clean_text(tanggal_pendataan) as tanggal_pendataan,
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
        area_code_text(kode_kelurahan) as kelurahan_code_text,
        nama_kelurahan,
        coalesce(kode_kelurahan, nama_kelurahan) as kelurahan_text,
        alamat,
        code_of(rt_raw) as rt,
        rt_raw,
        code_of(rw_raw) as rw,
        rw_raw,
        code_of(jumlah_anggota_raw) as jumlah_anggota,
        jumlah_anggota_raw,
        parse_number(pengeluaran_per_kapita) as pengeluaran_per_kapita,
        code_of(desil_raw) as desil,
        parse_number(luas_lantai) as luas_lantai,
        code_of(jenis_lantai_raw) as jenis_lantai,
        code_of(jenis_dinding_raw) as jenis_dinding,
        code_of(sumber_air_minum_raw) as sumber_air_minum,
        code_of(sumber_penerangan_raw) as sumber_penerangan,
        code_of(bahan_bakar_masak_raw) as bahan_bakar_masak,
        code_of(fasilitas_bab_raw) as fasilitas_bab,
        parse_date(tanggal_pendataan) as tanggal_pendataan,
        tanggal_pendataan as tanggal_pendataan_text,
        coalesce(malformed, false) as malformed
    from cleaned
),

kelurahan_by_code as (
    select code from ref_area where level = 'kelurahan'
),

coded as (
    select p.*, by_code.code as kelurahan_by_code
    from parsed as p
    left join kelurahan_by_code as by_code on by_code.code = p.kelurahan_code_text
),

named as (
    select *, area_name_key(kelurahan_by_code, nama_kelurahan) as kelurahan_name_key from coded
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
        coalesce(p.kelurahan_by_code, by_name.code) as kelurahan_code,
        unparsed(coalesce(p.kelurahan_by_code, by_name.code), p.kelurahan_text)
            as kelurahan_unparsed,
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
    from named as p
    left join ref_area_alias as by_name on by_name.alias_key = p.kelurahan_name_key
)

select * from final
