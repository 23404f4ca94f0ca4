-- explain program_reach: the households and unmatched records behind program_reach rows.
-- Grain: one row per (program, unit) for period m = getvariable('explain_period'), area
-- getvariable('explain_area') (its kelurahan through int_area_hierarchy) and every program of
-- ref_program, or getvariable('explain_program') only when set. Units:
--   a household of s(m) living in the area that counts in the program's row: a recipient (R),
--     a target household (T: DESIL <= the program's target_desil_max), a poor household (P), or
--     one with failed records of the program in the reach window (int_household_program); its
--     lineage: its registry rows and the program's records matched to it in the window;
--   a group of the program's records in the window that match nobody in s(m), attributed to a
--     kelurahan of the area (else NULL: the region row only), of one month, funding source and
--     status (int_program_monthly): unmatched_* when successful, failed_* when failed.
-- Contributions (published value = sum over the units; ratios r = sum r__numerator / sum
-- r__denominator): recipient_households 1 if R; amount_idr the successful amount matched to it;
-- target_households 1 if T; recipient_target_households 1 if R and T; poor_households 1 if P
-- (NULL without a line); recipient_poor_households 1 if R and P; recipient_consumption_idr_year
-- 12 n y if R; failed_records, failed_amount_idr its failed records; coverage_target R&T over T;
-- exclusion_error T-R over T; inclusion_error R-T over R; coverage_poor R&P over P; adequacy
-- amount over consumption over R (catalog adequacy programs only; NULL otherwise).
with

programs as (
    select code as program, target_desil_max, adequacy
    from ref_program
    where getvariable('explain_program') is null or code = getvariable('explain_program')
),

households as (
    select * from explain_households
),

household_programs as (
    select
        households.*,
        programs.program,
        programs.adequacy,
        coalesce(households.desil <= programs.target_desil_max, false) as in_target,
        coalesce(int_household_program.recipient, false) as recipient,
        coalesce(int_household_program.amount_idr, 0) as program_amount_idr,
        coalesce(int_household_program.failed_records, 0) as program_failed_records,
        coalesce(int_household_program.failed_amount_idr, 0) as program_failed_amount_idr
    from households
    cross join programs
    left join int_household_program
        on int_household_program.period = households.period
        and int_household_program.household_key = households.household_key
        and int_household_program.program = programs.program
),

household_units as (
    select
        program,
        snapshot,
        id_keluarga,
        household_key,
        record_lineage(program, null, null, null, null) as lineage_records,
        'household' as unit_kind,
        kelurahan_code,
        cast(null as date) as record_period,
        cast(null as varchar) as funding_source,
        household_size,
        desil,
        pengeluaran_per_kapita,
        poverty_line_idr,
        recipient::integer as recipient_households,
        case when recipient then program_amount_idr else 0 end as amount_idr,
        in_target::integer as target_households,
        (recipient and in_target)::integer as recipient_target_households,
        poor::integer as poor_households,
        case when poor is not null then (recipient and poor)::integer end
            as recipient_poor_households,
        case when recipient then 12 * household_size * pengeluaran_per_kapita else 0 end
            as recipient_consumption_idr_year,
        0 as unmatched_records,
        cast(0 as decimal(38, 2)) as unmatched_amount_idr,
        program_failed_records as failed_records,
        program_failed_amount_idr as failed_amount_idr,
        (recipient and in_target)::integer as coverage_target__numerator,
        in_target::integer as coverage_target__denominator,
        (in_target and not recipient)::integer as exclusion_error__numerator,
        in_target::integer as exclusion_error__denominator,
        (recipient and not in_target)::integer as inclusion_error__numerator,
        recipient::integer as inclusion_error__denominator,
        case when poor is not null then (recipient and poor)::integer end
            as coverage_poor__numerator,
        poor::integer as coverage_poor__denominator,
        case when adequacy then
            case when recipient then program_amount_idr else 0 end end as adequacy__numerator,
        case when adequacy then
            case when recipient then 12 * household_size * pengeluaran_per_kapita else 0 end
        end as adequacy__denominator
    from household_programs
    where recipient or in_target or coalesce(poor, false) or program_failed_records > 0
),

record_groups as (
    -- records matching nobody in s(m), of a month of the reach window, attributed to the area
    select explain_unmatched.*
    from explain_unmatched
    join programs on programs.program = explain_unmatched.program
),

record_units as (
    select
        program,
        snapshot,
        cast(null as varchar) as id_keluarga,
        cast(null as integer) as household_key,
        record_lineage(program, funding_source, status, record_period, kelurahan_code)
            as lineage_records,
        'unmatched ' || status || ' records' as unit_kind,
        kelurahan_code,
        record_period,
        funding_source,
        cast(null as integer) as household_size,
        cast(null as tinyint) as desil,
        cast(null as decimal(18, 2)) as pengeluaran_per_kapita,
        cast(null as decimal(18, 2)) as poverty_line_idr,
        0 as recipient_households,
        cast(0 as decimal(38, 2)) as amount_idr,
        0 as target_households,
        0 as recipient_target_households,
        0 as poor_households,
        0 as recipient_poor_households,
        0 as recipient_consumption_idr_year,
        case when status = 'success' then records else 0 end as unmatched_records,
        case when status = 'success' then amount_idr else 0 end as unmatched_amount_idr,
        case when status = 'failed' then records else 0 end as failed_records,
        case when status = 'failed' then amount_idr else 0 end as failed_amount_idr,
        0 as coverage_target__numerator,
        0 as coverage_target__denominator,
        0 as exclusion_error__numerator,
        0 as exclusion_error__denominator,
        0 as inclusion_error__numerator,
        0 as inclusion_error__denominator,
        0 as coverage_poor__numerator,
        0 as coverage_poor__denominator,
        cast(null as decimal(38, 2)) as adequacy__numerator,
        cast(null as decimal(38, 2)) as adequacy__denominator
    from record_groups
),

final as (
    select
        row_number() over (
            order by program, unit_kind, kelurahan_code, id_keluarga, record_period,
                funding_source
        ) as unit,
        *
    from (select * from household_units union all select * from record_units)
)

select * from final
