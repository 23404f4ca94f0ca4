/* MODEL (
    kind acceptance,
    grain (file_id, row_number)
) */
-- program_decision: what becomes of each staged program record (disbursements, pbi, local) of
-- the batch: `outcome` accepted | quarantined | duplicate, its `reasons`, and for a duplicate the
-- record it repeats (`duplicate_of_file_id`, `duplicate_of_row`). Read as `_decision` by the
-- files that write `program_records`, `quarantine`, `duplicate` and `flagged_field`.
-- Grain: one row per staged row of the kind (file_id, row_number) that is not accepted as is
-- (sparse: see `final`), in no particular order.
--
-- The rules (shared/spec/raw-extracts.md, "Duplicates" and "Two severities"):
--   * an `error` reason of the kind's suite (expectations/stg_<kind>.json) quarantines the row;
--     a `warn` reason nulls its field first (flagged_rows.sql), so records are
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
-- Only the rows in doubt are judged (`_flagged_in_doubt`: flagged_rows.sql over
-- in_doubt_rows.sql): those the raw load kept the record of (every row its suite flags) or with
-- a reason, and the candidates (record_candidates.sql: every row whose candidate key, a function
-- of its values, repeats in the batch or matches an accepted record). Any other staged row is
-- valid and of values no other record has (no other row or accepted record has its candidate
-- key): accepted as is, and not in `final`. Among the rows judged, the 64-bit hashes of the
-- valid rows' values are sorted (a repeated hash is its neighbour's, cheaper to find than with a
-- hash table of a group per row); only rows whose hash repeats, or matches an accepted record,
-- are compared by their values, so equal hashes of different values never make a duplicate.
--
-- Placeholders (filled by tkpk.ingest.accept.render from tkpk.ingest.schema.ACCEPTANCE): the
-- kind; the struct_pack arguments of the record's values, typed as in program_records; the hash
-- of `vals` (accept.VALUES_HASH: tests replace it with a colliding one); the staged row id's
-- factor (row id = file order x factor + row number); the staged columns passed on (`context`).
-- The result is narrow (the row's lineage, its outcome and what the files that write the tables
-- need): the accepted rows are written from the staged rows (accepted_rows.sql).
with

rows_in as not materialized (
    -- the rows judged, flagged fields null (flagged_rows.sql), with the values compared
    select f.* exclude (ids_as_read),
        struct_pack({{values}}, ids_as_read := f.ids_as_read) as vals,
        f.gx_reasons as row_reasons
    from _flagged_in_doubt as f
),

hashed as not materialized (
    select row_id, vals, {{hash_vals}} as h
    from rows_in
    where len(row_reasons) = 0 and not malformed
),

judged_keys as (
    -- the dates and NIKs of the valid rows judged: an accepted record of other values than all of
    -- theirs matches no row (its values hold its date and NIK)
    select distinct vals.period as period, vals.nik as nik
    from hashed
),

accepted as (
    -- the records of this kind accepted in earlier runs with a judged row's date and NIK (only
    -- they can hold a judged row's values: hashing and grouping every record of the batch's
    -- months cost 1.9 s CPU of a one-file night at 1,000,000 households)
    select struct_pack({{values}}, ids_as_read := null::varchar) as vals, file_id, row_number
    from program_records
    semi join judged_keys
        on judged_keys.period = program_records.period
        and judged_keys.nik is not distinct from program_records.nik
    where source_kind = '{{kind}}'
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

candidate_hashes as (
    -- the hashes of valid rows that repeat among the rows judged (a hash equal to the one before
    -- it in their order) or match an accepted record
    select h from hashed qualify h = lag(h) over (order by h)
    union
    select h from earlier
),

candidates as (
    -- the valid rows of those hashes (few): only they can be duplicates
    select r.row_id, r.h, r.vals
    from hashed as r
    semi join candidate_hashes as c on c.h = r.h
),

first_valid as (
    select h, vals, min(row_id) as first_id
    from candidates
    group by h, vals
),

duplicates as (
    -- the candidates that repeat an accepted record or an earlier valid row of the batch, with the
    -- record they repeat
    select c.row_id,
        coalesce(e.keeper, struct_pack(file_id := b.file_id,
                                       row_number := f.first_id % {{row_id_factor}})) as keeper
    from candidates as c
    left join earlier as e on e.h = c.h and e.vals is not distinct from c.vals
    left join first_valid as f on f.h = c.h and f.vals is not distinct from c.vals
    left join ingest_batch as b on b.file_order = f.first_id // {{row_id_factor}}
    where e.keeper is not null or c.row_id <> f.first_id
),

decided as (
    select r.*, '{{kind}}' as kind,
        case
            when r.malformed or len(r.gx_reasons) > 0 then 'quarantined'
            when d.row_id is not null then 'duplicate'
            else 'accepted'
        end as outcome,
        case
            when r.malformed then malformed_reasons(r.gx_reasons)
            when len(r.defects) > 1 then list_sort(r.defects)
            else r.defects
        end as reasons,
        d.keeper.file_id as duplicate_of_file_id,
        d.keeper.row_number as duplicate_of_row
    from _flagged_in_doubt as r
    left join duplicates as d on d.row_id = r.row_id
),

final as (
    -- only the rows the writes need beside the staged rows (sparse): the rows not accepted, and
    -- the accepted rows with a flagged field (flagged_field, raw_kept); every other staged row
    -- is accepted as is (accepted_rows.sql)
    select row_id, load_id, file_id, kind, row_number, outcome, reasons, duplicate_of_file_id,
        duplicate_of_row, flags{{context}}
    from decided
    where outcome <> 'accepted' or len(flags) > 0
)

select * from final
