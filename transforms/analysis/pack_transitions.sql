-- pack_transitions: a published pack's poverty transitions, as the briefing reads them
-- (tkpk/report/data.py), ordered by snapshot pair and area.
-- Grain: one row per poverty_transitions row (snapshot_from, snapshot_to, area_code).
with

final as (
    select * from poverty_transitions
)

select * from final order by snapshot_from, area_code
