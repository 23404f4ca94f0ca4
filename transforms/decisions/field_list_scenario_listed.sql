-- field_list_scenario_listed: the households a field list of kind simulation:<scenario> lists
-- (tkpk field-list; tkpk/field_list.py).
-- Grain: one row per household the scenario pays (t > 0), in the scenario's period $period.
-- Reads the data frame `transfers` (tkpk.simulate.household_transfers: id_keluarga, t).
with

final as (
    select
        cast($period as date) as period,
        id_keluarga,
        t as transfer_idr_month
    from transfers
)

select * from final
