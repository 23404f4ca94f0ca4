-- scenario_outcome: what one budget scenario pays each household of its period (tkpk simulate,
-- docs/contract/indicators.md, "Budget what-if"; the rules and choices: tkpk/simulate.py).
-- Grain: one row per household of int_household_status for period $period.
--
-- Parameters: $period (DATE), $eligible (desil_max | poor | extreme | mpi_poor |
-- unreached_poor), $desil_max (1-10, NULL unless $eligible = 'desil_max'), $all_kelurahan
-- (BOOLEAN: no kelurahan limit), $kelurahan (VARCHAR[]), $budget (B, rupiah per month, DECIMAL),
-- $rule (flat | per_capita | lift_closest | fill_bottom). Only the CTEs of $rule hold rows.
-- Columns: the household (id_keluarga, kelurahan_code, n, y, z, ze, poor, extreme_poor, eligible),
-- t = its transfer (rupiah per month, double), reached = it ends exactly at its line (exact).
with

base as (
    -- a flagged (NULL) DESIL, poverty or MPI status makes a household not eligible
    select
        id_keluarga,
        kelurahan_code,
        household_size as n,
        pengeluaran_per_kapita as y,
        poverty_line_idr as z,
        extreme_poverty_line_idr as ze,
        coalesce(poor, false) as poor,
        coalesce(extreme_poor, false) as extreme_poor,
        coalesce(
            case $eligible
                when 'desil_max' then desil <= $desil_max
                when 'poor' then poor
                when 'extreme' then extreme_poor
                when 'mpi_poor' then mpi_poor
                when 'unreached_poor' then poor and program_count = 0
            end,
            false
        )
            and ($all_kelurahan or kelurahan_code in (select unnest($kelurahan::varchar[])))
            as eligible
    from int_household_status
    where period = $period
),

totals as (
    select
        count(*) filter (where eligible) as e_households,
        sum(n) filter (where eligible) as e_persons
    from base
),

-- lift_closest: the poor eligible households by gap g_h = n_h (z - y_h), then ID_KELUARGA
lift_candidates as (
    select id_keluarga, n * (z - y) as g
    from base where $rule = 'lift_closest' and eligible and y < z
),

lift_ranked as (
    select
        id_keluarga,
        g,
        sum(g) over (order by g, id_keluarga rows between unbounded preceding and current row)
            as running
    from lift_candidates
),

lift_chosen as (
    -- the running sum grows: the first household that does not fit ends the process
    select id_keluarga, g from lift_ranked where running <= $budget
),

-- fill_bottom: each eligible person below the line raised to min(L, z_h)
fill_candidates as (
    select id_keluarga, n, y, z
    from base where $rule = 'fill_bottom' and eligible and y < z
),

fill_events as (
    -- the cost sum n_h max(0, min(L, z_h) - y_h) gains slope n_h at y_h and loses it at z_h
    select y as v, n as dn, n * y as dnv from fill_candidates
    union all
    select z as v, -n as dn, -(n * z) as dnv from fill_candidates
),

fill_by_value as (
    select v, sum(dn) as dn, sum(dnv) as dnv from fill_events group by v
),

fill_costs as (
    -- W (persons still rising), S (their sum of y and of reached lines) and the exact cost at v
    select
        v,
        sum(dn) over w as persons,
        sum(dnv) over w as level_sum,
        sum(dn) over w * v - sum(dnv) over w as cost
    from fill_by_value
    window w as (order by v rows between unbounded preceding and current row)
),

fill_level_rows as (
    -- the last breakpoint that fits; L = (B + S) / W after it (W = 0: everyone at the line)
    -- (y_h < L is tested exactly as W y_h < B + S)
    select
        case when persons > 0
            then (cast($budget as double) + cast(level_sum as double)) / persons
            else cast(v as double)
        end as l,
        persons,
        $budget + level_sum as paid_level
    from fill_costs where cost <= $budget order by v desc limit 1
),

fill_level as (
    select
        coalesce(max(l), 0) as l,
        coalesce(max(persons), 0) as persons,
        coalesce(max(paid_level), 0) as paid_level
    from fill_level_rows
),

final as (
    select
        base.*,
        case $rule
            when 'flat'
                then case when base.eligible
                    then cast($budget as double) / totals.e_households else 0 end
            when 'per_capita'
                then case when base.eligible
                    then cast($budget as double) * base.n / totals.e_persons else 0 end
            when 'lift_closest'
                then coalesce(cast(lift_chosen.g as double), 0)
            when 'fill_bottom' then case
                when base.eligible and base.y < base.z and line_cost.cost <= $budget
                    then cast(base.n * (base.z - base.y) as double)
                when base.eligible and base.y < base.z
                    and base.y * fill_level.persons < fill_level.paid_level
                    then base.n * (fill_level.l - cast(base.y as double))
                else 0
            end
        end as t,
        case $rule
            when 'lift_closest' then lift_chosen.id_keluarga is not null
            when 'fill_bottom' then coalesce(
                base.eligible and base.y < base.z and line_cost.cost <= $budget, false
            )
            else false
        end as reached
    from base
    cross join totals
    cross join fill_level
    left join lift_chosen on lift_chosen.id_keluarga = base.id_keluarga
    left join fill_costs as line_cost
        on line_cost.v = base.z and base.eligible and base.y < base.z
)

select * from final
