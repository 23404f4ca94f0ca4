-- int_household_status: each household's poverty, multidimensional and program status.
-- Grain: one row per (period, id_keluarga): the households of s(m) for every reported period m.
--
-- With y = pengeluaran_per_kapita, z = poverty line in force for m, z_e = its extreme line:
--   poor          y < z (strictly)
--   extreme_poor  y < z_e (NULL when the period has no extreme line)
--   near_poor     z <= y < 1.2 z, compared exactly as 5 y < 6 z on decimals
--   gap_cents     for the poor: (z - y) in cents (an exact integer; NULL otherwise)
--   mpi_poor      mpi_score_18 >= 6, i.e. c_h >= 1/3
--   program_count distinct programs the household received (>= 1 successful matched record) in
--                 the reach window of m; programs_received lists them by catalog code
-- All poverty flags are NULL when no poverty line is configured for m.
-- household_key: the household's integer key in s(m) (int_household_snapshot); the models after
-- this one join households on (period, household_key).
with

programs as (
    select
        period,
        household_key,
        count(*) filter (where recipient) as program_count,
        -- sorted after the aggregate: an ORDER BY inside the aggregate keeps every group's
        -- rows in memory to sort them, which does not spill (millions of households)
        list_sort(list(program) filter (where recipient)) as programs_received
    from int_household_program
    group by period, household_key
),

joined as (
    select
        int_periods.period,
        int_periods.poverty_line_idr,
        int_periods.extreme_poverty_line_idr,
        int_household_snapshot.*,
        programs.program_count,
        programs.programs_received
    from int_periods
    join int_household_snapshot on int_household_snapshot.snapshot = int_periods.snapshot
    left join programs
        on programs.period = int_periods.period
        and programs.household_key = int_household_snapshot.household_key
),

final as (
    select
        period,
        snapshot,
        id_keluarga,
        household_key,
        kelurahan_code,
        rt,
        rw,
        household_size,
        desil,
        pengeluaran_per_kapita,
        poverty_line_idr,
        extreme_poverty_line_idr,
        pengeluaran_per_kapita < poverty_line_idr as poor,
        case
            when poverty_line_idr is not null and extreme_poverty_line_idr is not null
            then pengeluaran_per_kapita < extreme_poverty_line_idr
        end as extreme_poor,
        pengeluaran_per_kapita >= poverty_line_idr
            and 5 * pengeluaran_per_kapita < 6 * poverty_line_idr as near_poor,
        case
            when pengeluaran_per_kapita < poverty_line_idr
            then cast((poverty_line_idr - pengeluaran_per_kapita) * 100 as bigint)
        end as gap_cents,
        deprived_schooling,
        deprived_attendance,
        deprived_insurance,
        deprived_electricity,
        deprived_water,
        deprived_sanitation,
        deprived_housing,
        deprived_cooking_fuel,
        deprived_crowding,
        mpi_score_18,
        mpi_score_18 >= 6 as mpi_poor,
        cast(coalesce(program_count, 0) as integer) as program_count,
        coalesce(programs_received, cast([] as varchar[])) as programs_received
    from joined
)

select * from final
