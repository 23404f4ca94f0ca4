/* MODEL (
    kind period,
    grain (period, area_code, funding_source)
) */
-- funding_sources: who contributes where.
-- Grain: one row per (period, area_code, funding_source) for every reported period, every area
-- of ref_area and every funding source: the six of the input contract (APBN, APBD, DBHCHT, DAK,
-- BAZNAS, CSR; tkpk.ingest.schema.FUNDING_SOURCES), the catalog's and any other a record names.
--
--   recipient_households  households of s(m) in the area with at least one successful matched
--                         record of that funding source in the reach window of m
--   amount_idr            those records' successful amounts (all programs)
--   unmatched_records     successful records of that source in the reach window that matched
--                         nobody in s(m), attributed like unmatched_amount_idr
--   unmatched_amount_idr  the successful amount of that source's records in the reach window that
--                         matched nobody in s(m), attributed to the kelurahan named on the record
--                         (else the region row only), as program_reach.unmatched_amount_idr:
--                         money that reached no registered household still came from its source
-- Per program, amounts follow the record's own funding source (SUMBER_DANA of a local list,
-- SEGMEN of PBI-JK), else the catalog's; amount_idr summed over the sources of an area equals
-- program_reach.amount_idr summed over the programs.
with

contract_sources as (
    select funding_source
    from (values ('APBN'), ('APBD'), ('DBHCHT'), ('DAK'), ('BAZNAS'), ('CSR')) as s(funding_source)
),

sources as (
    select funding_source from contract_sources
    union
    select funding from ref_program where funding is not null
    union
    select distinct funding_source from int_program_monthly where funding_source is not null
),

aggregated as (
    -- additive sums per (period, area_code, funding_source): int_funding_sums
    select * from int_funding_sums
),

unmatched as (
    -- successful records matching nobody (read centrally: not an additive household sum); few
    -- rows, so joined to the periods whose reach window holds their month by a range
    select
        int_periods.period,
        int_area_hierarchy.area_code,
        int_program_monthly.funding_source,
        sum(int_program_monthly.records) as unmatched_records,
        sum(int_program_monthly.amount_idr) as unmatched_amount_idr
    from int_program_monthly
    join int_periods
        on int_periods.snapshot = int_program_monthly.snapshot
        and int_program_monthly.record_period between int_periods.window_start
            and int_periods.period
    join int_area_hierarchy
        on int_area_hierarchy.kelurahan_code is not distinct from int_program_monthly.kelurahan_code
    where int_program_monthly.status = 'success' and int_program_monthly.household_key is null
    group by int_periods.period, int_area_hierarchy.area_code, int_program_monthly.funding_source
),

grid as (
    select
        int_periods.period,
        ref_area.level as area_level,
        ref_area.code as area_code,
        ref_area.name as area_name,
        ref_area.kecamatan_code,
        int_periods.snapshot,
        sources.funding_source
    from int_periods
    cross join ref_area
    cross join sources
),

final as (
    select
        grid.*,
        cast(coalesce(aggregated.recipient_households, 0) as bigint) as recipient_households,
        cast(coalesce(aggregated.amount_idr, 0) as decimal(38, 2)) as amount_idr,
        cast(coalesce(unmatched.unmatched_records, 0) as bigint) as unmatched_records,
        cast(coalesce(unmatched.unmatched_amount_idr, 0) as decimal(38, 2))
            as unmatched_amount_idr
    from grid
    left join aggregated
        on aggregated.period = grid.period
        and aggregated.area_code = grid.area_code
        and aggregated.funding_source = grid.funding_source
    left join unmatched
        on unmatched.period = grid.period
        and unmatched.area_code = grid.area_code
        and unmatched.funding_source = grid.funding_source
    order by grid.period, grid.area_code, grid.funding_source
)

select * from final
