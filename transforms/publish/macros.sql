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
