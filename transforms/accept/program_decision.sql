/* MODEL (
    kind acceptance,
    grain (file_id, row_number)
) */
-- program_decision: what becomes of each staged program record (disbursements, pbi, local) of
-- the batch: `outcome` accepted | quarantined | duplicate, its `reasons`, and for a duplicate the
-- record it repeats (`duplicate_of_file_id`, `duplicate_of_row`). Read as `_decision` by the
-- files that write `program_records`, `quarantine`, `duplicate` and `flagged_field`.
-- Grain: one row per staged row of the kind (file_id, row_number), in no particular order.
--
-- The rules (shared/spec/raw-extracts.md, "Duplicates" and "Two severities"):
--   * an `error` reason of the kind's suite (expectations/stg_<kind>.json) quarantines the row;
--     a `warn` reason nulls its field first (`_flagged`: flagged_rows.sql), so records are
--     compared as they would be accepted;
--   * a record's natural key is all of its values: a valid record whose values equal an accepted
--     record of the same kind (an earlier run, or an earlier row of the batch in file order) is a
--     duplicate of it; NIKs are not checked against the registry (an unmatched payment is
--     accepted);
--   * two records that differ only in flagged fields stay distinct: their values carry what was
--     read in the nulled fields (`ids_as_read`: the name and the nulled fields as read). An
--     accepted record of an earlier run carries no such text, so a flagged record repeated in a
--     later file is accepted again;
--   * a malformed line carries only `row_malformed` (or `encoding_invalid`).
-- Rows are grouped by the 64-bit hash of their values first (a narrow aggregate, whatever the
-- batch size); only rows whose hash repeats, or matches an accepted record, are compared by their
-- values, so equal hashes of different values never make a duplicate.
--
-- Placeholders (filled by tkpk.ingest.accept.render from tkpk.ingest.schema.ACCEPTANCE): the
-- kind; the struct_pack arguments of the record's values, typed as in program_records; the hash
-- of `vals` (accept.VALUES_HASH: tests replace it with a colliding one); the staged row id's
-- factor (row id = file order x factor + row number); the staged columns passed on (`context`).
-- The staged rows are read three times (the hashes, the rows of a repeated hash, every row to
-- judge it); the result is narrow (the row's lineage, its outcome and what the files that write
-- the tables need): the accepted rows are written from the staged rows (accepted_rows.sql).
with

rows_in as not materialized (
    -- the staged rows, flagged fields null (flagged_rows.sql), with the values compared
    select f.* exclude (ids_as_read),
        struct_pack({{values}}, ids_as_read := f.ids_as_read) as vals,
        f.gx_reasons as row_reasons
    from _flagged as f
),

hashed as not materialized (
    select *, {{hash_vals}} as h, len(row_reasons) = 0 and not malformed as is_valid
    from rows_in
),

repeated_hashes as (
    select h from hashed where is_valid group by h having count(*) > 1
),

first_valid as (
    select h, vals, min(row_id) as first_id
    from hashed
    where is_valid and h in (select h from repeated_hashes)
    group by h, vals
),

accepted as (
    -- the records of this kind accepted in earlier runs, in the batch's months (the staged rows'
    -- months: a record of a month without a valid row matches no row, as its values hold the month)
    select struct_pack({{values}}, ids_as_read := null::varchar) as vals, file_id, row_number
    from program_records
    where source_kind = '{{kind}}'
        and period in (select distinct period from stg_{{kind}})
),

earlier as (
    -- per value its accepted record (the first in file-name order)
    select p.h, p.vals,
        arg_min(struct_pack(file_id := p.file_id, row_number := p.row_number),
                (i.file_name, p.row_number)) as keeper
    from (select *, {{hash_vals}} as h from accepted) as p
    join ingest_file as i on i.file_id = p.file_id
    group by p.h, p.vals
),

judged as (
    select r.*, e.keeper as earlier_keeper,
        struct_pack(file_id := b.file_id, row_number := f.first_id % {{row_id_factor}})
            as batch_keeper,
        not r.is_valid as is_quarantined,
        r.row_id = coalesce(f.first_id, r.row_id) as is_keeper
    from hashed as r
    left join earlier as e on e.h = r.h and e.vals is not distinct from r.vals
    left join first_valid as f on f.h = r.h and f.vals is not distinct from r.vals
    left join ingest_batch as b on b.file_order = f.first_id // {{row_id_factor}}
),

decided as (
    select judged.*, '{{kind}}' as kind,
        case
            when is_quarantined then 'quarantined'
            when earlier_keeper is not null then 'duplicate'
            when is_keeper then 'accepted'
            else 'duplicate'
        end as outcome,
        case when malformed then malformed_reasons(row_reasons) else list_sort(defects) end
            as reasons,
        case
            when is_quarantined or (earlier_keeper is null and is_keeper) then null
            else coalesce(earlier_keeper, batch_keeper).file_id
        end as duplicate_of_file_id,
        case
            when is_quarantined or (earlier_keeper is null and is_keeper) then null
            else coalesce(earlier_keeper, batch_keeper).row_number
        end as duplicate_of_row
    from judged
),

final as (
    select row_id, load_id, file_id, kind, row_number, outcome, reasons, duplicate_of_file_id,
        duplicate_of_row, flags{{context}}
    from decided
)

select * from final
