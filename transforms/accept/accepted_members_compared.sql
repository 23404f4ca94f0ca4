/* MODEL (
    kind acceptance,
    grain (snapshot, id_keluarga, nik)
) */
-- accepted_members_compared: the accepted members as registry_decision compares the batch's
-- members with them: each with `ids_as_read`, the NIK digits as read of a member whose NIK was
-- flagged (null in registry_members; kept in member_nik_as_read when it was accepted, as the raw
-- files are not read again), so a repeat of a member without a valid NIK gets the same key
-- (macro member_key).
-- Grain: one row per accepted member.
with

members as (
    select * from registry_members
),

nik_as_read as (
    select f.file_id, r.row_number, r.nik_as_read
    from member_nik_as_read as r
    join ingest_file as f on f.sha256 = r.sha256
),

final as (
    select m.*,
        case when m.nik is null then coalesce(r.nik_as_read, '') end as ids_as_read
    from members as m
    left join nik_as_read as r
        on m.nik is null and r.file_id = m.file_id and r.row_number = m.row_number
)

select * from final
