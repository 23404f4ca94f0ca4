/* MODEL (
    kind period,
    grain (period, program, desil)
) */
-- program_incidence: who gets each program, by national welfare decile, region-wide.
-- Grain: one row per (period, program, desil) for every reported period, every program of
-- ref_program and every DESIL 1-10 (zero rows kept), over all households of s(m) in the region.
--
--   recipient_households   recipients of the program in the decile (int_household_program)
--   amount_idr             successful amount matched to those recipients in the reach window
--   beneficiary_incidence  recipient_households / all recipient households of the program
--   benefit_incidence      amount_idr / all matched amount of the program
-- Shares are NULL when the program has no recipient (no amount) in the period.
-- A recipient household whose DESIL was flagged (null in the registry) is in no decile: the
-- shares are over the recipients with a known DESIL.
with

by_desil as (
    -- additive sums per (period, program, desil): int_incidence_sums
    select * from int_incidence_sums
),

grid as (
    select int_periods.period, ref_program.code as program, cast(desil as tinyint) as desil
    from int_periods
    cross join ref_program
    cross join range(1, 11) as deciles(desil)
),

counts as (
    select
        grid.period,
        grid.program,
        grid.desil,
        cast(coalesce(by_desil.recipient_households, 0) as bigint) as recipient_households,
        cast(coalesce(by_desil.amount_idr, 0) as decimal(38, 2)) as amount_idr
    from grid
    left join by_desil
        on by_desil.period = grid.period
        and by_desil.program = grid.program
        and by_desil.desil = grid.desil
),

totals as (
    select
        counts.*,
        sum(recipient_households) over (partition by period, program) as all_recipients,
        sum(amount_idr) over (partition by period, program) as all_amount
    from counts
),

final as (
    select
        period,
        program,
        desil,
        recipient_households,
        amount_idr,
        case when all_recipients > 0
            then cast(recipient_households as double) / all_recipients
        end as beneficiary_incidence,
        case when all_amount > 0
            then cast(amount_idr as double) / cast(all_amount as double)
        end as benefit_incidence
    from totals
    order by period, program, desil
)

select * from final
