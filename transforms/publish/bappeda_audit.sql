-- bappeda_audit: the independent check of one written Bappeda table against its restricted
-- table (tkpk.publish.packs.audit_bappeda): one joined scan (each Bappeda row with its restricted
-- row, by key) counting the rows of both and of the join, then, per check, the rows that break
-- it. Placeholders, filled from the data dictionary: `bappeda` and `restricted`, the two files;
-- `small`, per ratio column the rule of macros.sql on the restricted row (`small_<column>`);
-- `checks`, per suppressible column `count(*) filter (where <broken>)`: a count of 1–4 shown, a
-- ratio shown on a small denominator or numerator, a value shown although flagged, a flag that
-- does not match a withheld value; `key`, the table's key.
-- Grain: one row.
with

r as (
    select *{{small}}
    from {{restricted}}
),

final as (
    select
        (select count(*) from {{bappeda}}) as bappeda_rows,
        (select count(*) from r) as restricted_rows,
        count(*) as joined_rows{{checks}}
    from {{bappeda}} as b
    join r using ({{key}})
)

select * from final
