/* MODEL (
    kind acceptance,
    grain (snapshot, id_keluarga, nik)
) */
-- accepted_members_compared: the accepted members as registry_decision compares the batch's
-- members with them: each with `ids_as_read`, the NIK digits as read of a member whose NIK was
-- flagged (null in registry_members; read again from its raw row, normalised as staging does),
-- so a repeat of a member without a valid NIK gets the same key (macro member_key).
-- Grain: one row per accepted member.
with

members as (
    select * from registry_members
),

raw_rows as (
    select f.file_id, r.row_number, r.nik, r.nik_numeric
    from raw_members as r
    join ingest_file as f on f.sha256 = r.sha256
),

final as (
    select m.*,
        case when m.nik is null
            then coalesce(id_digits(clean_text(r.nik), r.nik_numeric), '') end as ids_as_read
    from members as m
    left join raw_rows as r
        on m.nik is null and r.file_id = m.file_id and r.row_number = m.row_number
)

select * from final
