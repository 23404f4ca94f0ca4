-- explain pseudonyms: the household pseudonym of every unit of an explanation.
-- Grain: one row per unit of explain_units.
--
-- household_pseudonym = HMAC-SHA256(key, id_keluarga) as hex, the packs' pseudonym
-- (tkpk.publish.pseudonym.hmac_sql): $hmac_ipad and $hmac_opad are the padded key blocks, given
-- as query parameters (the key itself is never in SQL text). NULL for a unit of unmatched
-- records (no household).
with

final as (
    select
        unit,
        case when id_keluarga is not null
            then sha256($hmac_opad::blob || unhex(sha256($hmac_ipad::blob
                || encode(cast(id_keluarga as varchar)))))
        end as household_pseudonym
    from explain_units
)

select * from final
