-- field_list_households: the rows of a field list's verification sheet (tkpk field-list; personal
-- data: the sheet is written outside the packs and its access logged, tkpk/field_list.py).
-- Grain: one row per listed household (the temp table field_list_listed: period, id_keluarga,
-- transfer_idr_month) living in the kelurahan $kelurahan, with its head's name (the smallest
-- name among members with hubungan_keluarga 1, NULL without one), address, RT/RW and the
-- figures behind its listing; ordered by RW, RT, name, ID_KELUARGA.
with

listed as (
    select * from field_list_listed
),

heads as (
    select snapshot, id_keluarga, min(nama) as nama
    from registry_members
    where hubungan_keluarga = 1
        and id_keluarga in (select id_keluarga from listed)
    group by snapshot, id_keluarga
),

final as (
    select
        listed.id_keluarga,
        heads.nama,
        registry_households.alamat,
        status.rt,
        status.rw,
        status.household_size,
        status.programs_received,
        status.pengeluaran_per_kapita,
        status.poverty_line_idr,
        status.extreme_poverty_line_idr,
        listed.transfer_idr_month
    from listed
    join int_household_status as status
        on status.period = listed.period and status.id_keluarga = listed.id_keluarga
    join registry_households
        on registry_households.snapshot = status.snapshot
        and registry_households.id_keluarga = status.id_keluarga
    left join heads on heads.snapshot = status.snapshot and heads.id_keluarga = status.id_keluarga
    where status.kelurahan_code = $kelurahan
)

select * from final order by rw, rt, nama, id_keluarga
