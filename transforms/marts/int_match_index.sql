/* MODEL (
    kind snapshot,
    grain (snapshot, match_method, match_key),
    partition_role central
) */
-- int_match_index: the NIK / NO_KK -> household index of every snapshot, for program matching.
-- Grain: one row per (snapshot, match_method, match_key) of the snapshots int_household_snapshot
-- holds: match_method 'nik' for a member's NIK, 'no_kk' for a household's family-card number.
--
-- match_key is the identifier as an integer: the BIGINT of '1' followed by its digits (NIK and
-- NO_KK are 16-digit text in the accepted tables; the leading 1 keeps leading zeros, so equal keys
-- are equal texts; macro id_key, computed without building the 17-character text). Should a NIK or NO_KK occur in two households of one snapshot (a registry
-- error), the smallest id_keluarga (household_key) is taken, so a record is counted once.
-- household_key is the household's integer key in the snapshot (int_household_snapshot). The
-- index depends on the registry snapshots only: an incremental build keeps it
-- (transforms/incremental.py).
with

households as not materialized (
    select snapshot, household_key, id_keluarga, no_kk
    from int_household_snapshot
),

nik_entries as (
    -- per snapshot and NIK: the smallest household of a member with that NIK
    select
        registry_members.snapshot,
        'nik' as match_method,
        id_key(registry_members.nik) as match_key,
        min(households.household_key) as household_key
    from registry_members
    join households
        on households.snapshot = registry_members.snapshot
        and households.id_keluarga = registry_members.id_keluarga
    where registry_members.nik is not null
    group by registry_members.snapshot, id_key(registry_members.nik)
),

kk_entries as (
    -- per snapshot and NO_KK: the smallest household with that NO_KK
    select
        snapshot,
        'no_kk' as match_method,
        id_key(no_kk) as match_key,
        min(household_key) as household_key
    from households
    where no_kk is not null
    group by snapshot, id_key(no_kk)
),

first_household as (
    -- the two methods' entries, grouped apart (no text in the grouping keys)
    select * from nik_entries
    union all
    select * from kk_entries
),

final as (
    select snapshot, match_method, match_key, household_key
    from first_household
)

select * from final
