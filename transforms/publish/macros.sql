-- The disclosure-control rules of the Bappeda pack and the export forms of the packs
-- (docs/contract/indicators.md, "Disclosure control"), as macros the publish queries of this
-- folder call per column. Installed on the publish's connection by
-- tkpk.publish.suppression.install_rules, which fills the limits from the data dictionary
-- (tkpk.publish.dictionary: MIN_COUNT, MAX_SMALL_COUNT, MIN_DENOMINATOR).

-- small_count: a count from MIN_COUNT to MAX_SMALL_COUNT (1–4) must be withheld (false when
-- null). Counts, amounts (by the count of units they sum over) and ratio numerators.
create or replace temp macro small_count(n) as
    coalesce((n) between {{min_count}} and {{max_small_count}}, false);

-- small_denominator: a ratio over fewer than MIN_DENOMINATOR (10) units must be withheld (true
-- when the denominator is null: an undefined ratio is never shown on it).
create or replace temp macro small_denominator(d) as
    coalesce((d) < {{min_denominator}}, true);

-- withheld_value: the value as published: null where it is withheld.
create or replace temp macro withheld_value(v, withheld) as
    case when withheld then null else v end;

-- withheld_flag: the <column>_suppressed flag: true only where a value was withheld (false when
-- shown or null to begin with).
create or replace temp macro withheld_flag(v, withheld) as
    coalesce((withheld) and v is not null, false);

-- spreadsheet_safe: free text (a raw file's name) a spreadsheet will not run as a formula
-- (OWASP CSV injection: a leading = + - @ tab or carriage return gets an apostrophe); null stays
-- null. The twin of tkpk.publish.dictionary.spreadsheet_safe.
create or replace temp macro spreadsheet_safe(s) as
    case when left(s, 1) in ('=', '+', '-', '@', chr(9), chr(13)) then chr(39) || s else s end;

-- xlsx_inline_tail: the end of an xlsx_inline_string cell (below), after its reference
-- (`<c r="B5" t="inlineStr"><is><t`): it does not depend on the reference, so a column of few
-- distinct texts has it computed once per text (verivali_sheet_rows).
create or replace temp macro xlsx_inline_tail(s) as
    case
        when not regexp_matches(s, '[\x01-\x08\x0B-\x1F&<>]|_x[0-9a-fA-F]{4}_|^\s|\s$')
        then concat('>', s, '</t></is></c>')
        else concat(
            case when regexp_matches(s, '^\s|\s$') then ' xml:space="preserve"' else '' end,
            '>',
            replace(replace(replace(
                case
                    when regexp_matches(s, '[\x01-\x08\x0B-\x1F]|_x[0-9a-fA-F]{4}_')
                    then list_reduce(
                        [c for c in range(1, 32) if c not in (9, 10)],
                        lambda acc, c: replace(acc, chr(c::integer), printf('_x%04X_', c)),
                        regexp_replace(s, '(_x[0-9a-fA-F]{4}_)', '_x005F\1', 'g')
                    )
                    else s
                end, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'),
            '</t></is></c>'
        )
    end;

-- xlsx_inline_string: a worksheet cell of text at reference `ref` (B5) as xlsxwriter writes it
-- (an inline string, XML-escaped: & < >; control characters as _xHHHH_ and a literal _xHHHH_
-- as _x005F_xHHHH_; xml:space="preserve" on text with leading or trailing white space). Text
-- that needs none of these (most) is copied as it is, after one regular expression. The
-- verivali workbooks' data rows (transforms/analysis/verivali_sheet_rows.sql).
create or replace temp macro xlsx_inline_string(ref, s) as
    concat('<c r="', ref, '" t="inlineStr"><is><t', xlsx_inline_tail(s));
