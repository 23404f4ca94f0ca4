-- restricted_table: one curated table as the restricted pack publishes it (tkpk.publish.packs).
-- Placeholders, filled from the data dictionary (tkpk.publish.dictionary.TABLES): `table`, the
-- curated table (with the warehouse's cached pseudonyms of its registry ids left-joined, when
-- it has them: tkpk.publish.pseudonym.cached_source); `columns`, its columns in dictionary
-- order, each cast to its dictionary type, except the household's pseudonym (the column
-- `household_pseudonym`: the keyed HMAC-SHA256 of the registry id, tkpk.publish.pseudonym.hmac_sql
-- with $hmac_ipad and $hmac_opad, or its cached value) and free text (raw file names:
-- spreadsheet_safe, macros.sql); `key`, the table's key.
-- Grain: the table's key, in key order.
with

final as (
    select {{columns}}
    from {{table}}
)

select * from final order by {{key}}
