/* MODEL (
    kind period,
    grain (period, id_keluarga),
    cluster_key period,
    cluster_sort model,
    household_scope (snapshot, household_key),
    partition_role partition,
    settings (disabled_optimizers = 'build_side_probe_side')
) */
-- int_household_status: each household's poverty, multidimensional and program status.
-- Grain: one row per (period, id_keluarga): the households of s(m) for every reported period m.
--
-- z = the poverty line in force for m in the household's kab/kota (int_period_lines; a household
-- of an unknown kelurahan: the region root's line), line_area_code = that kab/kota, z_e = the
-- extreme line chosen the same way. With y = pengeluaran_per_kapita:
--   poor          y < z (strictly)
--   extreme_poor  y < z_e (NULL when the period has no extreme line)
--   near_poor     z <= y < 1.2 z, compared exactly as 5 y < 6 z on decimals
--   gap_cents     for the poor: (z - y) in cents (an exact integer; NULL otherwise)
--   mpi_poor      mpi_score_18 >= 6, i.e. c_h >= 1/3 (NULL outside the MPI sample:
--                 mpi_complete false)
--   program_count distinct programs the household received (>= 1 successful matched record) in
--                 the reach window of m; programs_received lists them by catalog code
-- All poverty flags are NULL when no poverty line is configured for m in the kab/kota.
-- household_key: the household's integer key in s(m) (int_household_snapshot); the models after
-- this one join households on (period, household_key).
-- Engine settings (the header's): without the build-side swap each join hashes its right side
-- as written, so the rows sorted in period order (period_households) stay the probing side and
-- the table is written in that order without sorting the wide rows (1,000,000 households:
-- ~24 -> ~21 s CPU, peak memory ~1.1 GB lower).
with

program_bits as (
    -- each program some household received as one bit of a mask, in code order
    select
        program,
        cast(1 as hugeint) << cast(row_number() over (order by program) - 1 as integer) as bit
    from (select distinct program from int_household_program where recipient) as received
),

programs as (
    -- the programs received as a mask: an integer aggregate (a list aggregate per household
    -- costs several times more at millions of households); program_count = its bits
    select
        int_household_program.period,
        int_household_program.household_key,
        bit_or(program_bits.bit) as program_mask
    from int_household_program
    join program_bits on program_bits.program = int_household_program.program
    where int_household_program.recipient
    group by int_household_program.period, int_household_program.household_key
),

mask_programs as (
    -- each mask's programs, sorted by code (few masks: the combinations that occur)
    select masks.program_mask, list_sort(list(program_bits.program)) as programs_received
    from (select distinct program_mask from programs) as masks
    join program_bits on masks.program_mask & program_bits.bit <> 0
    group by masks.program_mask
),

root as (
    -- the region's root area: the line of households whose kelurahan is unknown
    select area_code as root_code from int_area_hierarchy where kelurahan_code is null
),

line_areas as (
    -- each kelurahan's kab/kota (whose line its households use)
    select code as kelurahan_code, kabkota_code from ref_area where level = 'kelurahan'
),

located as (
    select
        int_household_snapshot.*,
        coalesce(line_areas.kabkota_code, root.root_code) as line_area_code
    from int_household_snapshot
    cross join root
    left join line_areas on line_areas.kelurahan_code = int_household_snapshot.kelurahan_code
    where int_household_snapshot.snapshot in (select snapshot from int_periods)
),

period_households as (
    -- the households of each period in the cluster order (header: cluster_sort model), sorted
    -- on these narrow rows; the wide rows are joined to them below, each join probing with
    -- them, which keeps their order (at 1,000,000 households the runner's sort of the 12 M wide
    -- rows was the model's largest operator)
    select int_periods.period, int_periods.snapshot, int_household_snapshot.household_key
    from int_household_snapshot
    join int_periods on int_periods.snapshot = int_household_snapshot.snapshot
    order by int_periods.period
),

joined as (
    select
        period_households.period,
        int_period_lines.poverty_line_idr,
        int_period_lines.extreme_poverty_line_idr,
        located.*,
        bit_count(programs.program_mask) as program_count,
        mask_programs.programs_received
    -- every join below hashes its right side and probes with the sorted rows (header: the
    -- build-side swap is off); located is left-joined so that it stays the hashed side (a
    -- period's households are all in located: the same rows as an inner join)
    from period_households
    left join located
        on located.snapshot = period_households.snapshot
        and located.household_key = period_households.household_key
    left join int_period_lines
        on int_period_lines.period = period_households.period
        and int_period_lines.line_area_code = located.line_area_code
    left join programs
        on programs.period = period_households.period
        and programs.household_key = period_households.household_key
    left join mask_programs on mask_programs.program_mask = programs.program_mask
),

final as (
    select
        period,
        snapshot,
        id_keluarga,
        household_key,
        kelurahan_code,
        line_area_code,
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
        mpi_complete,
        mpi_score_18,
        mpi_score_18 >= 6 as mpi_poor,
        cast(coalesce(program_count, 0) as integer) as program_count,
        coalesce(programs_received, cast([] as varchar[])) as programs_received
    from joined
)

select * from final
