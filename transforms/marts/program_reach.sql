/* MODEL (
    kind period,
    grain (period, area_code, program)
) */
-- program_reach: coverage, targeting errors, adequacy and leakage of every catalog program.
-- Grain: one row per (period, area_code, program): every reported period x every area of
-- ref_area x every program of ref_program (rows whose counts are all zero are kept).
--
-- Definitions: indicators.md, "Program reach" (ASPIRE / ADePT conventions). For period m, area
-- A and program p, over the households of s(m) living in A:
--   R = recipients (int_household_program.recipient), T = households with desil <=
--   target_desil_max of p, P = poor households (y < z).
--   amount_idr                      successful amounts matched to R in the reach window
--   recipient_consumption_idr_year  sum over R of 12 * n_h * y_h
--   coverage_target = |R & T| / |T|, exclusion_error = |T - R| / |T|,
--   inclusion_error = |R - T| / |R|, coverage_poor = |R & P| / |P|,
--   adequacy = amount_idr / recipient_consumption_idr_year, only for programs whose benefit adds
--   to household consumption (catalog adequacy = true: cash and food transfers); NULL for the
--   others (PBI-JK premiums paid to the insurer, training, house repair).
--   window_months_with_records: months of the reach window in which the program has at least
--   one accepted record (any status, by the record's own date) anywhere in the region: the same
--   on every area row of the period and program (program_records before corrections).
-- Ratios are NULL when their denominator is empty (T, P or R).
-- P and the poverty counts use each household's kab/kota line; the row shows the line
-- (int_area_lines: value, effective_from, status, scope; NULL on a row measured with several).
-- Records: unmatched_* are successful records matching nobody in s(m), attributed to the
-- kelurahan named on the record (else the region row only); failed_* are all failed records,
-- attributed to the matched household's kelurahan, else the record's kelurahan, else the region
-- row only. PBI-JK inactive rows are neither.
with

recipients as (
    -- additive sums per (period, area_code, program): int_reach_sums
    select * from int_reach_sums
),

households_by_desil as (
    -- additive counts per (period, area_code, desil): int_area_desil_sums
    select * from int_area_desil_sums
),

targets as (
    select
        households_by_desil.period,
        households_by_desil.area_code,
        ref_program.code as program,
        sum(households_by_desil.households)
            filter (where households_by_desil.desil <= ref_program.target_desil_max)
            as target_households
    from households_by_desil
    cross join ref_program
    group by households_by_desil.period, households_by_desil.area_code, ref_program.code
),

poor as (
    select period, area_code, sum(poor_households) as poor_households
    from households_by_desil
    group by period, area_code
),

period_months as (
    -- each reported period with the months of its reach window (an equi-join key)
    select
        period,
        snapshot,
        cast(unnest(generate_series(window_start, period, interval 1 month)) as date)
            as record_period
    from int_periods
),

record_facts as (
    -- only the rows the sums below count: unmatched successful and failed records
    select
        period_months.period,
        int_program_monthly.program,
        int_area_hierarchy.area_code,
        int_program_monthly.status,
        int_program_monthly.household_key is null as unmatched,
        int_program_monthly.records,
        int_program_monthly.amount_idr
    from period_months
    join int_program_monthly
        on int_program_monthly.snapshot = period_months.snapshot
        and int_program_monthly.record_period = period_months.record_period
    join int_area_hierarchy
        on int_area_hierarchy.kelurahan_code is not distinct from int_program_monthly.kelurahan_code
    where int_program_monthly.status = 'failed' or int_program_monthly.household_key is null
),

program_months as (
    -- months with at least one accepted record of the program (any status)
    select distinct program, cast(date_trunc('month', period) as date) as record_period
    from program_records
    where period is not null
),

window_months as (
    select
        period_months.period,
        program_months.program,
        count(*) as window_months_with_records
    from period_months
    join program_months on program_months.record_period = period_months.record_period
    group by period_months.period, program_months.program
),

records as (
    select
        period,
        area_code,
        program,
        sum(records) filter (where status = 'success' and unmatched) as unmatched_records,
        sum(amount_idr) filter (where status = 'success' and unmatched) as unmatched_amount_idr,
        sum(records) filter (where status = 'failed') as failed_records,
        sum(amount_idr) filter (where status = 'failed') as failed_amount_idr
    from record_facts
    group by period, area_code, program
),

grid as (
    select
        int_periods.period,
        ref_area.level as area_level,
        ref_area.code as area_code,
        ref_area.name as area_name,
        ref_area.kecamatan_code,
        int_periods.snapshot,
        int_area_lines.poverty_line_idr,
        int_area_lines.poverty_line_effective_from,
        int_area_lines.poverty_line_status,
        int_area_lines.poverty_line_scope,
        int_area_lines.poverty_line_in_force,
        ref_program.code as program,
        ref_program.name as program_name,
        ref_program.adequacy as adequacy_applies
    from int_periods
    cross join ref_area
    cross join ref_program
    join int_area_lines
        on int_area_lines.period = int_periods.period
        and int_area_lines.area_code = ref_area.code
),

counts as (
    select
        grid.*,
        cast(coalesce(recipients.recipient_households, 0) as bigint) as recipient_households,
        cast(coalesce(recipients.amount_idr, 0) as decimal(38, 2)) as amount_idr,
        cast(coalesce(targets.target_households, 0) as bigint) as target_households,
        cast(coalesce(recipients.recipient_target_households, 0) as bigint)
            as recipient_target_households,
        cast(case when grid.poverty_line_in_force
            then coalesce(poor.poor_households, 0) end as bigint) as poor_households,
        cast(case when grid.poverty_line_in_force
            then coalesce(recipients.recipient_poor_households, 0) end as bigint)
            as recipient_poor_households,
        cast(coalesce(recipients.recipient_consumption_idr_year, 0) as decimal(38, 2))
            as recipient_consumption_idr_year,
        cast(coalesce(records.unmatched_records, 0) as bigint) as unmatched_records,
        cast(coalesce(records.unmatched_amount_idr, 0) as decimal(38, 2)) as unmatched_amount_idr,
        cast(coalesce(records.failed_records, 0) as bigint) as failed_records,
        cast(coalesce(records.failed_amount_idr, 0) as decimal(38, 2)) as failed_amount_idr,
        cast(coalesce(window_months.window_months_with_records, 0) as integer)
            as window_months_with_records
    from grid
    left join recipients
        on recipients.period = grid.period
        and recipients.area_code = grid.area_code
        and recipients.program = grid.program
    left join targets
        on targets.period = grid.period
        and targets.area_code = grid.area_code
        and targets.program = grid.program
    left join poor on poor.period = grid.period and poor.area_code = grid.area_code
    left join records
        on records.period = grid.period
        and records.area_code = grid.area_code
        and records.program = grid.program
    left join window_months
        on window_months.period = grid.period
        and window_months.program = grid.program
),

final as (
    select
        period,
        area_level,
        area_code,
        area_name,
        kecamatan_code,
        snapshot,
        program,
        program_name,
        poverty_line_idr,
        poverty_line_effective_from,
        poverty_line_status,
        poverty_line_scope,
        recipient_households,
        amount_idr,
        target_households,
        recipient_target_households,
        poor_households,
        recipient_poor_households,
        case when target_households > 0
            then cast(recipient_target_households as double) / target_households
        end as coverage_target,
        case when target_households > 0
            then cast(target_households - recipient_target_households as double)
                / target_households
        end as exclusion_error,
        case when recipient_households > 0
            then cast(recipient_households - recipient_target_households as double)
                / recipient_households
        end as inclusion_error,
        case when poor_households > 0
            then cast(recipient_poor_households as double) / poor_households
        end as coverage_poor,
        case
            when not adequacy_applies or recipient_households = 0 then null
            when recipient_consumption_idr_year > 0
            then cast(amount_idr as double) / cast(recipient_consumption_idr_year as double)
        end as adequacy,
        recipient_consumption_idr_year,
        unmatched_records,
        unmatched_amount_idr,
        failed_records,
        failed_amount_idr,
        window_months_with_records
    from counts
    order by period, area_code, program
)

select * from final
