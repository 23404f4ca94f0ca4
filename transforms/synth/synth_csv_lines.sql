-- synth_csv_lines: the data records of one synthetic CSV file, as the file holds them
-- (tkpk synth; tkpk/synth/files.py). `t` is the file's rows (frame, gathered lookups, override
-- columns; `uid` the 0-based row); placeholder `line` the record's text built from the file style's
-- column expressions (tkpk.synth.render.csv_line_sql). Not sorted: the writer checks that the
-- scan kept the rows' order by `uid`.
-- Grain: one row per data row of the file.
with

final as (
    select {{line}} as line, t.uid
    from t
)

select * from final
