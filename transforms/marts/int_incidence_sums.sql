/* MODEL (
    kind period,
    grain (period, program, desil),
    partition_role sum,
    row_sums_of int_household_program
) */
-- int_incidence_sums: the additive sums behind program_incidence.
-- Grain: one row per (period, program, desil) with at least one recipient household of s(m).
--
-- Recipient households and matched amounts by national DESIL, region-wide; sums over disjoint
-- sets of households add up (flows/distributed.py adds them across kab/kota partitions before
-- program_incidence computes the shares). Definitions: program_incidence.sql.
with

recipient_facts as (
    select
        int_household_program.period,
        int_household_program.program,
        int_household_status.desil,
        int_household_program.amount_idr
    from int_household_program
    join int_household_status
        on int_household_status.period = int_household_program.period
        and int_household_status.household_key = int_household_program.household_key
    where int_household_program.recipient
),

by_desil as (
    select period, program, desil, count(*) as recipient_households, sum(amount_idr) as amount_idr
    from recipient_facts
    group by period, program, desil
),

final as (
    select * from by_desil
)

select * from final
