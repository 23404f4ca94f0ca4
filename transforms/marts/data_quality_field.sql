/* MODEL (
    kind full,
    grain (sha256, row_number, column_name, reason)
) */
-- data_quality_field: the flagged fields of accepted rows (warnings), the registry owners'
-- correction list (verivali).
-- Grain: one row per (sha256, row_number, column_name, reason): flagged_field of all runs. A
-- field flagged by a warning was accepted as null (shared/spec/raw-extracts.md, "Two
-- severities"); quarantined rows are in data_quality_reason instead. `column_name` is the
-- canonical column, `raw_value` the text as read (null for personal data: NIK, NO_KK, NAMA,
-- ALAMAT, TANGGAL_LAHIR), `period` the registry snapshot or the record's month, `kelurahan_code`
-- the row's resolved kelurahan (a member's household's; null when a program record names none),
-- `id_keluarga` the registry household of a household or member row (replaced by the
-- household pseudonym on export). Left out (null) like personal data: a raw value holding 15 or
-- more digits (ignoring separators: a NIK or family-card number typed into the wrong column),
-- and the raw value of a date column (TANGGAL_*: an enumeration or payment date cannot be told
-- apart from a birth date, and the personal-data audit refuses any birth date in a pack).
with

source as (
    -- each flagged field with its file's name and SHA-256 (flagged_field carries its file_id)
    select flagged_field.*, ingest_file.file_name, ingest_file.sha256
    from flagged_field
    left join ingest_file on ingest_file.file_id = flagged_field.file_id
),

kelurahan as (
    select code, name from ref_area where level = 'kelurahan'
),

final as (
    select
        source.id_keluarga,
        source.period,
        source.kelurahan_code,
        kelurahan.name as kelurahan_name,
        source.kind,
        source.file_name as file,
        source.sha256,
        source.row_number,
        source.column_name,
        source.reason,
        case
            when regexp_matches(regexp_replace(source.raw_value, '[^0-9]', '', 'g'), '[0-9]{15}')
                then null
            when source.column_name like 'TANGGAL%' then null
            else source.raw_value
        end as raw_value
    from source
    left join kelurahan on kelurahan.code = source.kelurahan_code
    order by source.sha256, source.row_number, source.column_name, source.reason
)

select * from final
