-- synth_sheet_rows: the data rows of one synthetic spreadsheet, in row order (tkpk synth;
-- tkpk/synth/files.py). `t` is the file's rows (`uid` the 0-based row); placeholder `cells` the file
-- style's column expressions: a text column as its text, a typed column (date, number) as its
-- override text (empty when none) followed by its typed value.
-- Grain: one row per data row of the file; `uid` last (the caller reads the cells by position).
with

final as (
    select {{cells}}, t.uid
    from t
)

select * from final order by uid
