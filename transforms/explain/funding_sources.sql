-- explain funding_sources: the households and unmatched records behind funding_sources rows.
-- Grain: one row per (funding_source, unit) for period m = getvariable('explain_period'), area
-- getvariable('explain_area') (its kelurahan through int_area_hierarchy) and every funding
-- source, or getvariable('explain_program') only when set (the funding source: APBN, APBD, ...).
-- Units:
--   a household of s(m) living in the area with successful matched records of the source in the
--     reach window (int_household_funding): recipient_households 1, amount_idr their amount;
--     lineage: its registry rows and the source's records matched to it in the window;
--   a group of the source's successful records in the window that match nobody in s(m),
--     attributed to a kelurahan of the area (else NULL: the region row only), of one month and
--     program (int_program_monthly): unmatched_records, unmatched_amount_idr.
-- A record's funding source is its own (SUMBER_DANA / SEGMEN), else the catalog's.
with

household_units as (
    select
        int_household_funding.funding_source,
        int_household_status.snapshot,
        int_household_status.id_keluarga,
        int_household_status.household_key,
        record_lineage(
            null,
            int_household_funding.funding_source,
            'success',
            null,
            null
        ) as lineage_records,
        'household' as unit_kind,
        int_household_status.kelurahan_code,
        cast(null as varchar) as program,
        cast(null as date) as record_period,
        1 as recipient_households,
        int_household_funding.amount_idr,
        0 as unmatched_records,
        cast(0 as decimal(38, 2)) as unmatched_amount_idr
    from int_household_funding
    join explain_households as int_household_status
        on int_household_status.period = int_household_funding.period
        and int_household_status.household_key = int_household_funding.household_key
    where getvariable('explain_program') is null
        or int_household_funding.funding_source = getvariable('explain_program')
),

record_units as (
    select
        explain_unmatched.funding_source,
        explain_unmatched.snapshot,
        cast(null as varchar) as id_keluarga,
        cast(null as integer) as household_key,
        record_lineage(
            explain_unmatched.program,
            explain_unmatched.funding_source,
            'success',
            explain_unmatched.record_period,
            explain_unmatched.kelurahan_code
        ) as lineage_records,
        'unmatched success records' as unit_kind,
        explain_unmatched.kelurahan_code,
        explain_unmatched.program,
        explain_unmatched.record_period,
        0 as recipient_households,
        cast(0 as decimal(38, 2)) as amount_idr,
        explain_unmatched.records as unmatched_records,
        explain_unmatched.amount_idr as unmatched_amount_idr
    from explain_unmatched
    where explain_unmatched.status = 'success'
        and (getvariable('explain_program') is null
            or explain_unmatched.funding_source = getvariable('explain_program'))
),

final as (
    select
        row_number() over (
            order by funding_source, unit_kind, kelurahan_code, id_keluarga, program,
                record_period
        ) as unit,
        *
    from (select * from household_units union all select * from record_units)
)

select * from final
