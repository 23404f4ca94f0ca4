-- scenario_transfers: the households one budget scenario pays (the field list's transfer column).
-- Grain: one row per household of scenario_outcome (the temp table tkpk.simulate makes from
-- transforms/decisions/scenario_outcome.sql) with a transfer t > 0 (rupiah per month).
with

final as (
    select id_keluarga, t
    from scenario_outcome
    where t > 0
)

select * from final order by id_keluarga
