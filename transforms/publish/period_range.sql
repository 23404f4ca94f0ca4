-- period_range: the first and last period of a pack's area tables (tkpk.publish.packs, the
-- packs' README and manifest). Placeholder `periods`: the union of the staged area tables'
-- periods (the data-quality tables left out: their periods are the inputs', not figures').
-- Grain: one row.
with

periods as (
    {{periods}}
),

final as (
    select cast(min(period) as varchar) as first_period, cast(max(period) as varchar) as last_period
    from periods
)

select * from final
