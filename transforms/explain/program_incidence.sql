-- explain program_incidence: the recipient households behind program_incidence rows.
-- Grain: one row per (program, household) for period m = getvariable('explain_period'): every
-- recipient household of s(m) in the region (the table is region-wide; the caller checks that
-- getvariable('explain_area') is the region's root area) of every program, or of
-- getvariable('explain_program') only when set, with its DESIL (the row it counts in; a
-- household whose DESIL was flagged counts in no row).
--
-- Contributions: recipient_households 1; amount_idr the successful amount matched to it in the
-- reach window (int_household_program). beneficiary_incidence and benefit_incidence divide by
-- the sums over the ten DESIL rows of the program. Lineage: its registry rows and the program's
-- records matched to it in the window.
with

final as (
    select
        row_number() over (
            order by int_household_program.program, int_household_status.desil,
                int_household_status.kelurahan_code, int_household_status.id_keluarga
        ) as unit,
        int_household_program.program,
        int_household_status.desil,
        int_household_status.snapshot,
        int_household_status.id_keluarga,
        int_household_status.household_key,
        record_lineage(int_household_program.program, null, null, null, null) as lineage_records,
        int_household_status.kelurahan_code,
        1 as recipient_households,
        int_household_program.amount_idr
    from int_household_program
    join int_household_status
        on int_household_status.period = int_household_program.period
        and int_household_status.household_key = int_household_program.household_key
    where int_household_program.period = getvariable('explain_period')
        and int_household_program.recipient
        and int_household_status.desil is not null
        and (getvariable('explain_program') is null
            or int_household_program.program = getvariable('explain_program'))
)

select * from final
