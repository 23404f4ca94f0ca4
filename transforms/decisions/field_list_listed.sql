-- field_list_listed: the households a field list of kind unreached_poor or extreme lists
-- (tkpk field-list; tkpk/field_list.py).
-- Grain: one row per household of the kelurahan $kelurahan in the latest reported period of
-- int_household_status that is unreached poor (poor, no program received) or extreme poor
-- ($kind); a flagged (NULL) status lists nobody. transfer_idr_month is NULL (no scenario).
with

latest as (
    select max(period) as period from int_household_status
),

final as (
    select
        status.period,
        status.id_keluarga,
        cast(null as double) as transfer_idr_month
    from int_household_status as status
    join latest on latest.period = status.period
    where status.kelurahan_code = $kelurahan
        and coalesce(
            case $kind
                when 'unreached_poor' then status.poor and status.program_count = 0
                when 'extreme' then status.extreme_poor
            end,
            false
        )
)

select * from final
