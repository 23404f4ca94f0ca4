/* MODEL (
    kind acceptance,
    grain (snapshot, id_keluarga)
) */
-- registry_households: the accepted household rows of the batch (appended), typed as in
-- docs/architecture.md, with their lineage (file_id, row_number; the file's name and SHA-256 are
-- in ingest_file). A field a warning flagged is null here (its defect is in flagged_field).
-- Grain: one row per household of a snapshot (the registry_decision keeps one row per key).
with

accepted as (
    select * from _decision where outcome = 'accepted'
),

final as (
    select
        snapshot,
        id_keluarga,
        no_kk,
        kelurahan_code,
        alamat,
        cast(rt as smallint) as rt,
        cast(rw as smallint) as rw,
        cast(jumlah_anggota as smallint) as jumlah_anggota,
        cast(pengeluaran_per_kapita as decimal(18, 2)) as pengeluaran_per_kapita,
        cast(desil as tinyint) as desil,
        cast(luas_lantai as decimal(12, 2)) as luas_lantai,
        cast(jenis_lantai as tinyint) as jenis_lantai,
        cast(jenis_dinding as tinyint) as jenis_dinding,
        cast(sumber_air_minum as tinyint) as sumber_air_minum,
        cast(sumber_penerangan as tinyint) as sumber_penerangan,
        cast(bahan_bakar_masak as tinyint) as bahan_bakar_masak,
        cast(fasilitas_bab as tinyint) as fasilitas_bab,
        tanggal_pendataan,
        file_id,
        row_number
    from accepted
)

select * from final
