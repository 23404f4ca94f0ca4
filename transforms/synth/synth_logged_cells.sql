-- synth_logged_cells: the text a synthetic file holds in the cells its defect log names, for the
-- rows `wanted_src` lists (tkpk synth; tkpk/synth/files.py). `t` is the file's rows (`uid` the
-- 0-based row); placeholder `cells` the text expressions of the logged columns.
-- Grain: one row per wanted row.
with

final as (
    select t.uid, {{cells}}
    from t
    semi join wanted_src as w on w.uid = t.uid
)

select * from final order by uid
