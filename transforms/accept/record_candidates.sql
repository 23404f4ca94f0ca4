/* MODEL (
    kind acceptance,
    grain (row_id)
) */
-- record_candidates: the staged rows of one program kind (disbursements, pbi, local) that can
-- repeat another record, so whose values program_decision.sql compares: those whose candidate
-- key repeats in the batch or matches an accepted record of the batch's months. The candidate
-- key (`candidate_key`, tkpk.ingest.schema.ACCEPTANCE: the month, the NIK read as a number,
-- the program and the date) is a function of a record's values as the decision compares them (`vals`: a field
-- a warning nulls is compared with its cell as read, `ids_as_read`), so two records of equal
-- values have equal candidate keys; it is read from the staged row alone (no reasons, no values
-- struct), over every staged row (valid or not: a superset only adds candidates). A repeated key
-- is found as sorted neighbours (lag and lead over the keys of the batch and of the accepted
-- records, in one sort), cheaper than a hash table with a group per row. Under 1 % of the PBI-JK
-- rows at 1M. Materialised once per kind as `_record_candidates` (a scratch file), read by
-- in_doubt_rows.sql: the decision judges only the rows in doubt and these.
-- Grain: one row per staged row whose candidate key repeats or matches an accepted record.
-- Placeholders: the kind; the candidate key over a staged row `s` or an accepted record.
with

keyed as (
    select s.row_id, {{candidate_key}} as ck
    from stg_{{kind}} as s
),

accepted_keys as (
    -- the candidate keys of the records of this kind accepted in earlier runs, in the batch's
    -- months (a record of another month has other values)
    select distinct {{candidate_key}} as ck
    from program_records as s
    where s.source_kind = '{{kind}}'
        and s.period in (select distinct period from stg_{{kind}})
),

final as (
    -- the batch's rows beside the accepted keys, sorted by key: a row is a candidate when a
    -- neighbour has its key
    select row_id
    from (
        select row_id, ck,
            lag(ck) over (order by ck) as before,
            lead(ck) over (order by ck) as after
        from (
            select row_id, ck from keyed
            union all
            select null as row_id, ck from accepted_keys
        )
    )
    where row_id is not null and (ck = before or ck = after)
)

select * from final
