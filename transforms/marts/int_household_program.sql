/* MODEL (
    kind period,
    grain (period, household_key, program),
    cluster_key period,
    cluster_sort model,
    household_scope (snapshot, household_key, program),
    partition_role partition
) */
-- int_household_program: what each household got from each program in a period's reach window.
-- Grain: one row per (period, household_key, program) for the households of s(m) with at least
-- one matched successful or failed record of the program dated in the reach window of m (the
-- twelve calendar months ending with m).
--
-- recipient: at least one successful record (a failed attempt followed by a success makes a
-- recipient; failed attempts only do not). amount_idr: successful amounts only (PBI-JK: the
-- premium of every active member-month), summed over all the household's members' records.
-- household_key: the household's integer key in s(m) (int_household_snapshot); its id_keluarga
-- is int_household_status's (period, household_key) row's, not repeated here (carrying the text
-- through the aggregation of 17 M monthly rows cost ~20 % of the model).
--
-- Computed without multiplying every monthly row by the periods whose window holds it (at
-- 1,000,000 households 17 M monthly rows would become 47 M row-period pairs to aggregate): the
-- rows of each (snapshot, household, program) are summed once over the snapshot's reach (the
-- months from its periods' earliest window start to its latest period: every month
-- int_program_monthly holds for the snapshot), and a period's figures are those totals minus
-- the rows of the reach months outside its window (int_excluded_months; with quarterly
-- snapshots the few months at the reach's two ends). A period has a row when some row of its
-- window remains (months_in_window > 0). The sums are exact (integers and decimals).
--
-- Memory (the model runs right after int_program_monthly, at the limit at 1,000,000 households:
-- it ran out of memory now and then under the default 3 GB): the rows are grouped, joined and
-- sorted on narrow values, the program as its number, the counts as INTEGER and the amounts as
-- DECIMAL(18, 2) (a cast that fails, not rounds, beyond its range); the cluster order (header:
-- cluster_sort model) is sorted here on those narrow rows and the columns get their table's
-- types after the sort. The runner's sort of the wide rows (the program text, 128-bit sums) held
-- 1.2 GB at 1M, this one 0.67 GB; the model's peak 1.85-1.9 -> 1.4 GB (duckdb_memory()).
with

periods as (
    select period, snapshot, window_start from int_periods
),

excluded_months as (
    -- the reach months outside the window of each period recomputed (int_excluded_months)
    select int_excluded_months.period, int_excluded_months.snapshot,
        int_excluded_months.record_period
    from int_excluded_months
    semi join periods on periods.period = int_excluded_months.period
),

programs as (
    -- the programs' names as one list: the rows carry a program's number in it (a two-byte
    -- group key, join key and sort payload instead of the text), its name looked up after the
    -- sort (a cross product with this one row keeps the rows' order, a join would not)
    select list(distinct program order by program) as names
    from int_program_monthly
    where household_key is not null
),

monthly as not materialized (
    -- the matched rows, their figures split by status
    select
        snapshot,
        record_period,
        household_key,
        cast(list_position(programs.names, program) as usmallint) as program,
        case when status = 'success' then records else 0 end as success_records,
        case when status = 'success' then amount_idr else 0 end as success_amount_idr,
        case when status = 'failed' then records else 0 end as failed_records,
        case when status = 'failed' then amount_idr else 0 end as failed_amount_idr
    from int_program_monthly
    cross join programs
    where household_key is not null
),

reach_totals as (
    -- per (snapshot, household, program): the rows of the snapshot's reach
    select
        monthly.snapshot,
        monthly.household_key,
        monthly.program,
        count(*) as months,
        sum(monthly.success_records) as success_records,
        sum(monthly.success_amount_idr) as success_amount_idr,
        sum(monthly.failed_records) as failed_records,
        sum(monthly.failed_amount_idr) as failed_amount_idr
    from monthly
    semi join periods on periods.snapshot = monthly.snapshot
    group by monthly.snapshot, monthly.household_key, monthly.program
),

excluded as (
    -- per (period, household, program): the rows of the reach outside the period's window
    select
        excluded_months.period,
        monthly.household_key,
        monthly.program,
        count(*) as months,
        sum(monthly.success_records) as success_records,
        sum(monthly.success_amount_idr) as success_amount_idr,
        sum(monthly.failed_records) as failed_records,
        sum(monthly.failed_amount_idr) as failed_amount_idr
    from monthly
    join excluded_months
        on excluded_months.snapshot = monthly.snapshot
        and excluded_months.record_period = monthly.record_period
    group by excluded_months.period, monthly.household_key, monthly.program
),

windowed as (
    select
        periods.period,
        reach_totals.snapshot,
        reach_totals.household_key,
        reach_totals.program,
        reach_totals.months - coalesce(excluded.months, 0) as months_in_window,
        reach_totals.success_records - coalesce(excluded.success_records, 0) as success_records,
        reach_totals.success_amount_idr - coalesce(excluded.success_amount_idr, 0)
            as amount_idr,
        reach_totals.failed_records - coalesce(excluded.failed_records, 0) as failed_records,
        reach_totals.failed_amount_idr - coalesce(excluded.failed_amount_idr, 0)
            as failed_amount_idr
    from reach_totals
    join periods on periods.snapshot = reach_totals.snapshot
    left join excluded
        on excluded.period = periods.period
        and excluded.household_key = reach_totals.household_key
        and excluded.program = reach_totals.program
),

sorted as (
    -- the cluster order, sorted on the narrow rows
    select
        period,
        snapshot,
        household_key,
        program,
        cast(success_records as integer) as success_records,
        cast(amount_idr as decimal(18, 2)) as amount_idr,
        cast(failed_records as integer) as failed_records,
        cast(failed_amount_idr as decimal(18, 2)) as failed_amount_idr
    from windowed
    where months_in_window > 0
    order by period
),

final as (
    select
        period,
        snapshot,
        household_key,
        programs.names[program] as program,
        success_records > 0 as recipient,
        cast(success_records as bigint) as success_records,
        cast(amount_idr as decimal(38, 2)) as amount_idr,
        cast(failed_records as bigint) as failed_records,
        cast(failed_amount_idr as decimal(38, 2)) as failed_amount_idr
    from sorted
    cross join programs
)

select * from final
