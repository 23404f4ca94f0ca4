-- pack_periods: the reported periods of a published pack, oldest first (tkpk/analysis.py).
-- Grain: one row per period of the pack's kelurahan_poverty.
with

final as (
    select distinct period from kelurahan_poverty
)

select * from final order by period
