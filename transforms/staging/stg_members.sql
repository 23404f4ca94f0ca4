-- Staging: member records (dtsen_anggota_) of the files being loaded.
-- Grain: one row per raw member row of the batch (raw_members joined to ingest_batch).
-- Renames, casts and normalises only: every value is parsed to its type (NULL when unreadable)
-- and `<column>_unparsed` keeps the text of an optional value that could not be read. Validity is
-- judged by expectations/stg_members.json; the household rules by tkpk.ingest.accept.
with raw as (
    select r.*, b.file_order, b.period, b.period_end
    from raw_members as r
    join ingest_batch as b on r.load_id = b.load_id
),

parsed as (
    select
        load_id,
        sha256,
        file_name,
        row_number,
        file_order,
        period as snapshot,
        period_end,
        regexp_replace(clean_text(id_keluarga), '^([0-9]+)\.0+$', '\1') as id_keluarga,
        id_digits(nik, nik_numeric) as nik,
        id_precision_lost(nik, nik_numeric) as nik_precision_lost,
        clean_text(nama) as nama,
        parse_sex(jenis_kelamin) as jenis_kelamin,
        clean_text(jenis_kelamin) as jenis_kelamin_text,
        parse_date(tanggal_lahir) as tanggal_lahir,
        parse_code(hubungan_keluarga) as hubungan_keluarga,
        clean_text(hubungan_keluarga) as hubungan_keluarga_text,
        parse_code(pendidikan_tertinggi) as pendidikan_tertinggi,
        parse_code(status_sekolah) as status_sekolah,
        parse_code(jaminan_kesehatan) as jaminan_kesehatan,
        parse_code(disabilitas) as disabilitas,
        clean_text(disabilitas) as disabilitas_text,
        parse_code(status_bekerja) as status_bekerja,
        clean_text(status_bekerja) as status_bekerja_text,
        coalesce(malformed, false) as malformed
    from raw
),

final as (
    select
        load_id,
        sha256,
        file_name,
        row_number,
        file_order,
        snapshot,
        period_end,
        id_keluarga,
        nik,
        nik_precision_lost,
        nama,
        jenis_kelamin,
        case when jenis_kelamin is null then jenis_kelamin_text end as jenis_kelamin_unparsed,
        tanggal_lahir,
        hubungan_keluarga,
        case when hubungan_keluarga is null then hubungan_keluarga_text end
            as hubungan_keluarga_unparsed,
        pendidikan_tertinggi,
        status_sekolah,
        jaminan_kesehatan,
        disabilitas,
        case when disabilitas is null then disabilitas_text end as disabilitas_unparsed,
        status_bekerja,
        case when status_bekerja is null then status_bekerja_text end as status_bekerja_unparsed,
        malformed
    from parsed
)

select * from final
