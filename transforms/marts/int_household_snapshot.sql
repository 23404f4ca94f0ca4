/* MODEL (
    kind snapshot,
    grain (snapshot, id_keluarga),
    household_scope (snapshot, household_key),
    partition_role central,
    partition_rows 'true'
) */
-- int_household_snapshot: household facts that depend on the snapshot only.
-- Grain: one row per (snapshot, id_keluarga) of every usable snapshot some reported period uses.
--
-- household_size n_h is the number of accepted member rows (not the declared JUMLAH_ANGGOTA).
-- Ages are whole years completed on the last day of the snapshot month (someone born on 29
-- February turns a year older on 1 March in common years).
-- Multidimensional deprivations (indicators.md, Alkire-Foster), all as booleans:
--   schooling    some member is aged 15+ and no member aged 15+ has PENDIDIKAN_TERTINGGI >= 2
--   attendance   some member aged 7-15 (inclusive) has STATUS_SEKOLAH <> 1
--   insurance    some member has JAMINAN_KESEHATAN = 0
--   electricity  SUMBER_PENERANGAN = 4
--   water        SUMBER_AIR_MINUM in (6, 8, 9, 10, 11)
--   sanitation   FASILITAS_BAB in (3, 4)
--   housing      JENIS_LANTAI in (5, 6) or JENIS_DINDING in (4, 5, 6)
--   cooking_fuel BAHAN_BAKAR_MASAK in (5, 6)
--   crowding     LUAS_LANTAI / n_h < 8, compared as LUAS_LANTAI < 8 * n_h (exact; a household
--                without accepted members is not deprived)
-- A household with no member in an indicator's age band is not deprived in it.
-- Missing data (indicators.md): an indicator is missing when any value it reads is NULL (a
-- flagged field): a household code it reads (housing: floor and wall; crowding: LUAS_LANTAI),
-- or the code of a member in its age band (schooling: PENDIDIKAN_TERTINGGI of members 15+;
-- attendance: STATUS_SEKOLAH of members 7-15; insurance: JAMINAN_KESEHATAN of every member); a
-- member without a birth date makes schooling and attendance missing. mpi_complete: no
-- indicator missing (the household is in the MPI sample). The deprived_* flags are computed from
-- the values present (NULL is no evidence of deprivation); the MPI sums use them only for
-- households of the MPI sample. mpi_score_18 is the score c_h in eighteenths (schooling 3,
-- attendance 3, insurance 6, each living-standard indicator 1), so the Alkire-Foster cut-off
-- c_h >= 1/3 is the exact integer test mpi_score_18 >= 6; NULL outside the MPI sample.
-- Profile groups (poverty_profile, indicators.md "Profiles"; from the same pass over the members):
--   head_female / head_60plus  exactly one accepted member row is the head
--                (HUBUNGAN_KELUARGA = 1) and that head is a woman (JENIS_KELAMIN = 'P') / aged 60
--                or more (false when the head's value is NULL)
--   member_disabled / member_70plus  some member has DISABILITAS = 1 / is aged 70 or more
--   children_0_17, children_0_6, elderly_60plus, persons_disabled  the members aged 0-17, 0-6,
--                60 or more, with DISABILITAS = 1 (a NULL value counts in no group)
-- kelurahan_code is NULL when it is not a kelurahan of ref_area (counted in the region row only).
-- household_key: an integer standing for id_keluarga within the snapshot (its dense rank in
-- id_keluarga order, so the smallest key is the smallest id_keluarga): the household-level
-- models join and group on (snapshot or period, household_key) instead of the text id.
with

snapshots as (
    select distinct snapshot from int_periods
),

registered as not materialized (
    select registry_households.*
    from registry_households
    join snapshots on snapshots.snapshot = registry_households.snapshot
),

members as (
    select
        registry_members.snapshot,
        registry_members.id_keluarga,
        registry_members.pendidikan_tertinggi,
        registry_members.status_sekolah,
        registry_members.jaminan_kesehatan,
        registry_members.jenis_kelamin,
        registry_members.hubungan_keluarga,
        registry_members.disabilitas,
        year(last_day(registry_members.snapshot)) - year(registry_members.tanggal_lahir)
            - case
                when month(last_day(registry_members.snapshot)) * 100
                    + day(last_day(registry_members.snapshot))
                    < month(registry_members.tanggal_lahir) * 100
                    + day(registry_members.tanggal_lahir)
                then 1 else 0
            end as age
    from registry_members
    join snapshots on snapshots.snapshot = registry_members.snapshot
),

member_flags as (
    -- each member's conditions as the bits of one integer (bit_or per household below: one
    -- aggregate instead of eleven bool_or; a NULL condition sets no bit, as bool_or ignores it)
    select
        snapshot,
        id_keluarga,
        -- (each term in parentheses: | and << bind alike, left to right)
        (coalesce(age >= 15, false)::integer)
            | (coalesce(age >= 15 and pendidikan_tertinggi >= 2, false)::integer << 1)
            | (coalesce(age between 7 and 15 and status_sekolah <> 1, false)::integer << 2)
            | (coalesce(jaminan_kesehatan = 0, false)::integer << 3)
            | (coalesce(age is null or (age >= 15 and pendidikan_tertinggi is null), false)
                ::integer << 4)
            | (coalesce(age is null or (age between 7 and 15 and status_sekolah is null), false)
                ::integer << 5)
            | (coalesce(jaminan_kesehatan is null, false)::integer << 6)
            | (coalesce(hubungan_keluarga = 1 and jenis_kelamin = 'P', false)::integer << 7)
            | (coalesce(hubungan_keluarga = 1 and age >= 60, false)::integer << 8)
            | (coalesce(disabilitas = 1, false)::integer << 9)
            | (coalesce(age >= 70, false)::integer << 10)
            as flags,
        hubungan_keluarga = 1 as head,
        age between 0 and 17 as child_0_17,
        age between 0 and 6 as child_0_6,
        age >= 60 as elderly_60plus,
        disabilitas = 1 as disabled
    from members
),

member_bits as (
    select
        snapshot,
        id_keluarga,
        count(*) as household_size,
        bit_or(flags) as flags,
        count_if(head) as heads,
        count_if(child_0_17) as children_0_17,
        count_if(child_0_6) as children_0_6,
        count_if(elderly_60plus) as elderly_60plus,
        count_if(disabled) as persons_disabled
    from member_flags
    group by snapshot, id_keluarga
),

member_summary as (
    select
        snapshot,
        id_keluarga,
        household_size,
        flags & 1 <> 0 as has_member_15_plus,
        flags & 2 <> 0 as has_schooled_member_15_plus,
        flags & 4 <> 0 as has_child_not_attending,
        flags & 8 <> 0 as has_uninsured_member,
        flags & 16 <> 0 as schooling_missing,
        flags & 32 <> 0 as attendance_missing,
        flags & 64 <> 0 as insurance_missing,
        -- the profile groups (poverty_profile)
        heads = 1 and flags & 128 <> 0 as head_female,
        heads = 1 and flags & 256 <> 0 as head_60plus,
        flags & 512 <> 0 as member_disabled,
        flags & 1024 <> 0 as member_70plus,
        children_0_17,
        children_0_6,
        elderly_60plus,
        persons_disabled
    from member_bits
),

kelurahan as (
    select code from ref_area where level = 'kelurahan'
),

-- ranked on the two key columns alone: a window over the whole wide row holds a snapshot's
-- households in memory at once (out of memory at the 12 M-household province)
household_keys as (
    select
        snapshot,
        id_keluarga,
        cast(dense_rank() over (partition by snapshot order by id_keluarga) as integer)
            as household_key
    from registered
),

joined as (
    select
        registered.snapshot,
        registered.id_keluarga,
        registered.no_kk,
        kelurahan.code as kelurahan_code,
        cast(registered.rt as smallint) as rt,
        cast(registered.rw as smallint) as rw,
        cast(coalesce(member_summary.household_size, 0) as integer) as household_size,
        cast(registered.desil as tinyint) as desil,
        cast(registered.pengeluaran_per_kapita as decimal(18, 2)) as pengeluaran_per_kapita,
        coalesce(member_summary.has_member_15_plus, false)
            and not coalesce(member_summary.has_schooled_member_15_plus, false)
            as deprived_schooling,
        coalesce(member_summary.has_child_not_attending, false) as deprived_attendance,
        coalesce(member_summary.has_uninsured_member, false) as deprived_insurance,
        coalesce(registered.sumber_penerangan = 4, false) as deprived_electricity,
        coalesce(registered.sumber_air_minum in (6, 8, 9, 10, 11), false) as deprived_water,
        coalesce(registered.fasilitas_bab in (3, 4), false) as deprived_sanitation,
        coalesce(registered.jenis_lantai in (5, 6), false)
            or coalesce(registered.jenis_dinding in (4, 5, 6), false) as deprived_housing,
        coalesce(registered.bahan_bakar_masak in (5, 6), false) as deprived_cooking_fuel,
        coalesce(
            registered.luas_lantai < 8 * coalesce(member_summary.household_size, 0), false
        ) as deprived_crowding,
        not (
            coalesce(member_summary.schooling_missing, false)
            or coalesce(member_summary.attendance_missing, false)
            or coalesce(member_summary.insurance_missing, false)
            or registered.sumber_penerangan is null
            or registered.sumber_air_minum is null
            or registered.fasilitas_bab is null
            or registered.jenis_lantai is null
            or registered.jenis_dinding is null
            or registered.bahan_bakar_masak is null
            or registered.luas_lantai is null
        ) as mpi_complete,
        coalesce(member_summary.head_female, false) as head_female,
        coalesce(member_summary.head_60plus, false) as head_60plus,
        coalesce(member_summary.member_disabled, false) as member_disabled,
        coalesce(member_summary.member_70plus, false) as member_70plus,
        cast(coalesce(member_summary.children_0_17, 0) as integer) as children_0_17,
        cast(coalesce(member_summary.children_0_6, 0) as integer) as children_0_6,
        cast(coalesce(member_summary.elderly_60plus, 0) as integer) as elderly_60plus,
        cast(coalesce(member_summary.persons_disabled, 0) as integer) as persons_disabled,
        household_keys.household_key
    from registered
    left join member_summary
        on member_summary.snapshot = registered.snapshot
        and member_summary.id_keluarga = registered.id_keluarga
    left join kelurahan on kelurahan.code = registered.kelurahan_code
    join household_keys
        on household_keys.snapshot = registered.snapshot
        and household_keys.id_keluarga = registered.id_keluarga
),

final as (
    select
        *,
        cast(case when mpi_complete then
            3 * deprived_schooling::integer
            + 3 * deprived_attendance::integer
            + 6 * deprived_insurance::integer
            + deprived_electricity::integer
            + deprived_water::integer
            + deprived_sanitation::integer
            + deprived_housing::integer
            + deprived_cooking_fuel::integer
            + deprived_crowding::integer
            end as smallint
        ) as mpi_score_18
    from joined
)

select * from final
