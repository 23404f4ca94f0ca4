-- int_household_snapshot: the households that shadow the table int_household_snapshot while
-- int_program_monthly is recomputed for the changed (record_period, program) pairs
-- (transforms.incremental; after the shadow of int_match_index, scoped/int_match_index.sql,
-- which it reads).
-- Grain: one row per (snapshot, household_key), as int_household_snapshot.
-- Only the households a scoped record can match (those of the shadowing int_match_index rows:
-- a record matches through them only), and only the columns int_program_monthly reads of the
-- table (the kelurahan a matched row is attributed to). The model then hashes these (hundreds of
-- thousands at 1,000,000 households) instead of every snapshot's 4 M households. Its kelurahan
-- numbering sees fewer codes: the numbers are internal (the rows carry the codes).
with

matchable as (
    select distinct snapshot, household_key from int_match_index
),

final as (
    select households.snapshot, households.household_key, households.kelurahan_code
    from int_household_snapshot as households
    semi join matchable
        on matchable.snapshot = households.snapshot
        and matchable.household_key = households.household_key
)

select * from final
