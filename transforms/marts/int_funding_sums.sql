/* MODEL (
    kind period,
    grain (period, area_code, funding_source),
    partition_role sum
) */
-- int_funding_sums: the additive sums behind funding_sources.
-- Grain: one row per (period, area_code, funding_source) with at least one recipient household
-- of s(m) in the area.
--
-- Recipient households and their successful amounts; sums over disjoint sets of households add
-- up (flows/distributed.py adds them across kab/kota partitions). Definitions:
-- funding_sources.sql.
with

facts as (
    select
        int_household_funding.period,
        int_household_funding.funding_source,
        int_household_status.kelurahan_code,
        int_household_funding.amount_idr
    from int_household_funding
    join int_household_status
        on int_household_status.period = int_household_funding.period
        and int_household_status.household_key = int_household_funding.household_key
),

by_kelurahan as (
    -- summed per kelurahan first (exact sums), then per area below: the households are not
    -- repeated for every area above their kelurahan
    select
        period,
        kelurahan_code,
        funding_source,
        count(*) as recipient_households,
        sum(amount_idr) as amount_idr
    from facts
    group by period, kelurahan_code, funding_source
),

aggregated as (
    select
        by_kelurahan.period,
        int_area_hierarchy.area_code,
        by_kelurahan.funding_source,
        cast(sum(by_kelurahan.recipient_households) as bigint) as recipient_households,
        sum(by_kelurahan.amount_idr) as amount_idr
    from by_kelurahan
    join int_area_hierarchy
        on int_area_hierarchy.kelurahan_code is not distinct from by_kelurahan.kelurahan_code
    group by by_kelurahan.period, int_area_hierarchy.area_code, by_kelurahan.funding_source
),

final as (
    select * from aggregated
)

select * from final
