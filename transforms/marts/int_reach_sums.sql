/* MODEL (
    kind period,
    grain (period, area_code, program),
    partition_role sum,
    row_sums_of int_household_program
) */
-- int_reach_sums: the additive recipient sums behind program_reach.
-- Grain: one row per (period, area_code, program) with at least one recipient household of s(m)
-- in the area.
--
-- Recipients R, R & T, R & P, their matched amount and their yearly consumption: sums over
-- disjoint sets of households add up (flows/distributed.py adds them across kab/kota
-- partitions). Definitions: program_reach.sql.
with

household_facts as (
    select period, household_key, kelurahan_code, household_size, desil, pengeluaran_per_kapita,
        poor
    from int_household_status
),

recipient_facts as (
    select
        int_household_program.period,
        int_household_program.program,
        household_facts.kelurahan_code,
        household_facts.desil <= ref_program.target_desil_max as in_target,
        household_facts.poor,
        int_household_program.amount_idr,
        12 * household_facts.household_size * household_facts.pengeluaran_per_kapita
            as consumption_year
    from int_household_program
    join household_facts
        on household_facts.period = int_household_program.period
        and household_facts.household_key = int_household_program.household_key
    join ref_program on ref_program.code = int_household_program.program
    where int_household_program.recipient
),

by_kelurahan as (
    -- summed per kelurahan first (exact sums: counts and decimals), then per area below: the
    -- households are not repeated for every area above their kelurahan
    select
        period,
        kelurahan_code,
        program,
        count(*) as recipient_households,
        sum(amount_idr) as amount_idr,
        count(*) filter (where in_target) as recipient_target_households,
        count(*) filter (where poor) as recipient_poor_households,
        sum(consumption_year) as recipient_consumption_idr_year
    from recipient_facts
    group by period, kelurahan_code, program
),

recipients as (
    select
        by_kelurahan.period,
        int_area_hierarchy.area_code,
        by_kelurahan.program,
        cast(sum(by_kelurahan.recipient_households) as bigint) as recipient_households,
        sum(by_kelurahan.amount_idr) as amount_idr,
        cast(sum(by_kelurahan.recipient_target_households) as bigint)
            as recipient_target_households,
        cast(sum(by_kelurahan.recipient_poor_households) as bigint)
            as recipient_poor_households,
        sum(by_kelurahan.recipient_consumption_idr_year) as recipient_consumption_idr_year
    from by_kelurahan
    join int_area_hierarchy
        on int_area_hierarchy.kelurahan_code is not distinct from by_kelurahan.kelurahan_code
    group by by_kelurahan.period, int_area_hierarchy.area_code, by_kelurahan.program
),

final as (
    select * from recipients
)

select * from final
