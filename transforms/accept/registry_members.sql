/* MODEL (
    kind acceptance,
    grain (snapshot, id_keluarga, nik)
) */
-- registry_members: the accepted member rows of the batch (appended), typed as in
-- docs/architecture.md, with their lineage (file_id, row_number; the file's name and SHA-256 are
-- in ingest_file). A field a warning flagged is null here (its defect is in flagged_field); a
-- member whose NIK was flagged is kept with a null NIK.
-- Grain: one row per member of a household of a snapshot.
with

accepted as (
    select * from _decision where outcome = 'accepted'
),

final as (
    select
        snapshot,
        id_keluarga,
        nik,
        nama,
        jenis_kelamin,
        tanggal_lahir,
        cast(hubungan_keluarga as tinyint) as hubungan_keluarga,
        cast(pendidikan_tertinggi as tinyint) as pendidikan_tertinggi,
        cast(status_sekolah as tinyint) as status_sekolah,
        cast(jaminan_kesehatan as tinyint) as jaminan_kesehatan,
        cast(disabilitas as tinyint) as disabilitas,
        cast(status_bekerja as tinyint) as status_bekerja,
        file_id,
        row_number
    from accepted
)

select * from final
