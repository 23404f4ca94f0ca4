/* MODEL (
    kind full,
    grain (id_keluarga),
    partition_role partition
) */
-- households: the task force's working list for finding the unreached poor (restricted pack).
-- Grain: one row per household of the latest usable snapshot, as seen in the latest reported
-- period (its poverty line and its twelve-month reach window).
--
-- id_keluarga is the registry id: the publish step replaces it with household_pseudonym (HMAC)
-- and it never leaves the warehouse. Flags as in int_household_status; mpi_score = c_h
-- (eighteenths / 18, 4 decimals; mpi_poor is the exact test c_h >= 1/3); programs_received: the
-- catalog codes of the programs received in the reach window; unreached_poor: poor and no
-- program at all (in-kind programs and PBI-JK included). poverty_line_*: the line the household
-- was judged with (its kab/kota's, int_period_lines). mpi_score and mpi_poor are NULL for a
-- household outside the MPI sample (an indicator missing).
-- The rows are in no particular order: the publish step writes them in the order of the
-- household's pseudonym (the table's key, transforms/publish/restricted_table.sql).
with

latest as (
    select period from int_periods order by period desc limit 1
),

kelurahan as (
    select code, name from ref_area where level = 'kelurahan'
),

joined as (
    select
        int_household_status.*,
        kelurahan.name as kelurahan_name,
        ref_area.kecamatan_code,
        int_period_lines.poverty_line_effective_from,
        int_period_lines.poverty_line_status,
        int_period_lines.poverty_line_scope
    from int_household_status
    join latest on latest.period = int_household_status.period
    left join int_period_lines
        on int_period_lines.period = int_household_status.period
        and int_period_lines.line_area_code = int_household_status.line_area_code
    left join kelurahan on kelurahan.code = int_household_status.kelurahan_code
    left join ref_area on ref_area.code = int_household_status.kelurahan_code
),

final as (
    select
        id_keluarga,
        snapshot,
        kelurahan_code,
        kelurahan_name,
        kecamatan_code,
        rt,
        rw,
        household_size,
        desil,
        pengeluaran_per_kapita,
        poor,
        extreme_poor,
        near_poor,
        poverty_line_idr,
        poverty_line_effective_from,
        poverty_line_status,
        poverty_line_scope,
        cast(cast(mpi_score_18 as decimal(9, 4)) / 18 as decimal(5, 4)) as mpi_score,
        mpi_poor,
        programs_received,
        program_count,
        poor and program_count = 0 as unreached_poor
    from joined
)

select * from final
