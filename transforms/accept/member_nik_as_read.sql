/* MODEL (
    kind acceptance,
    grain (sha256, row_number)
) */
-- member_nik_as_read: the NIK digits as read (normalised as staging does, '' when empty) of each
-- member of the batch accepted with a flagged, so null, NIK (appended). A later file of the same
-- snapshot is compared with them (accepted_members_compared.sql): the raw files are not read
-- again. Members only (tkpk.ingest.schema.ACCEPTANCE: `also_writes`).
-- Grain: one row per such accepted member row (its file's SHA-256 and row number).
with

flagged_nik as (
    select sha256, row_number, ids_as_read
    from _decision
    where outcome = 'accepted' and nik is null
),

final as (
    select sha256, row_number, coalesce(ids_as_read, '') as nik_as_read
    from flagged_nik
)

select * from final
