-- explain program_overlap: the households behind one program_overlap row.
-- Grain: one row per household of s(m) living in the area that is poor or a target household
-- (DESIL 1-4), for period m = getvariable('explain_period') and area
-- getvariable('explain_area') (its kelurahan through int_area_hierarchy).
--
-- Contributions (the published value is the sum over the rows): poor_households 1 if poor
-- (NULL without a line in force), poor_programs_<k> 1 if poor and it received k programs (3plus:
-- 3 or more) in the reach window (program_count, int_household_status); target_households and
-- target_programs_<k> the same for DESIL 1-4. Lineage: the registry rows and every program
-- record matched to the household in the reach window (the programs it was counted with).
with

households as (
    select *, coalesce(desil between 1 and 4, false) as target from explain_households
),

final as (
    select
        row_number() over (order by kelurahan_code, id_keluarga) as unit,
        snapshot,
        id_keluarga,
        household_key,
        record_lineage(null, null, null, null, null) as lineage_records,
        kelurahan_code,
        household_size,
        desil,
        pengeluaran_per_kapita,
        poverty_line_idr,
        program_count,
        array_to_string(programs_received, ', ') as programs_received,
        poor::integer as poor_households,
        (poor and program_count = 0)::integer as poor_programs_0,
        (poor and program_count = 1)::integer as poor_programs_1,
        (poor and program_count = 2)::integer as poor_programs_2,
        (poor and program_count >= 3)::integer as poor_programs_3plus,
        target::integer as target_households,
        (target and program_count = 0)::integer as target_programs_0,
        (target and program_count = 1)::integer as target_programs_1,
        (target and program_count = 2)::integer as target_programs_2,
        (target and program_count >= 3)::integer as target_programs_3plus
    from households
    where coalesce(poor, false) or target
)

select * from final
