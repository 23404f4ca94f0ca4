/* MODEL (
    kind acceptance,
    grain (file_id, row_number)
) */
-- registry_decision: what becomes of each staged registry row (households, members) of the
-- batch: `outcome` accepted | quarantined | duplicate, its `reasons`, and for a duplicate the
-- row it repeats (`duplicate_of_file_id`, `duplicate_of_row`). Read as `_decision` by the files
-- that write the accepted table, `quarantine`, `duplicate` and `flagged_field`.
-- Grain: one row per staged row of the kind (file_id, row_number) that is not accepted as is
-- (sparse: see `final`), in no particular order.
--
-- The rules (shared/spec/raw-extracts.md, "Duplicates" and "Two severities"):
--   * an `error` reason of the kind's suite (expectations/stg_<kind>.json) quarantines the row;
--     a `warn` reason nulls its field first (flagged_rows.sql), so rows are
--     compared as they would be accepted;
--   * members only: the household must be accepted in the same snapshot, else
--     `household_quarantined` (it was quarantined) or `household_unknown`;
--   * the natural key is (snapshot, id_keluarga, row_key): the first valid row of a key is
--     accepted, rows accepted in earlier runs coming first, then the batch in file order
--     (row_id); a later row of the key with the same values is a duplicate of it, one with other
--     values is quarantined with the kind's key reason (beside any reasons it has);
--   * a malformed line carries only `row_malformed` (or `encoding_invalid`).
-- A member's row_key is its NIK, or, when the NIK is flagged (null), the NIK as read with a
-- digest of all of its values (macro member_key): people without a valid NIK stay distinct.
--
-- Placeholders (filled by tkpk.ingest.accept.render from tkpk.ingest.schema.ACCEPTANCE): the
-- kind; the struct_pack arguments of the compared values, typed as in the accepted table; the
-- key's last part (row_key); the accepted rows as compared (`compared`, with `ids_as_read`);
-- the key reason; the staged columns passed on (`context`); the candidate key (`candidate_key`).
-- Only the rows in doubt are judged (`_flagged_in_doubt`: flagged_rows.sql over
-- in_doubt_rows.sql, the rows whose record as read the raw load kept and those with a reason):
-- every other staged row is valid, of an accepted household and the only row of its key, so
-- accepted as is and not in `final`.
-- The rows in doubt are a scratch file (`_in_doubt`, written once per kind), read a few times
-- (`not materialized`) rather than held as a wide intermediate, so the statement's memory is
-- bounded by its narrow per-key tables: once for the
-- hashes of the keys as read without the values (`candidate_key`, a function of the key: for a
-- member its NIK, or the NIK as read without member_key's digest), sorted so that repeats are
-- neighbours (cheaper than a hash table with a group per row); once for the rows of the keys
-- whose hash repeats or was accepted before (`candidates`, a semi join on those hashes: few
-- rows), which are judged by their exact key and values (`keyed`); once to judge every row by
-- its lineage, reasons and household only (no values), joined by row id with `keyed`. The
-- household lookups are semi joins (`exists`): one row per member whatever the tables hold. The
-- batch's snapshots are its files' months (`ingest_batch.period`, the staged rows' snapshot).
-- The result is narrow (the row's lineage, its outcome and what the files that write the tables
-- need, `context`): the accepted rows are written from the staged rows themselves
-- (accepted_rows.sql).
with

keys_in as not materialized (
    -- every row's key as far as it is read without the values: `candidate_key`, a function
    -- of the natural key's last part (row_key), so rows of equal keys have equal candidate keys
    select f.row_id, f.snapshot, f.id_keluarga, {{candidate_key}} as ck
    from _flagged_in_doubt as f
),

accepted_households as (
    -- members only: the households accepted in the batch's snapshots that a row in doubt
    -- (`_in_doubt`) names, the only ones looked up below: a semi join on those few rows, so the
    -- two lookups hold these instead of a hash table of every accepted household each (4 M at 1M)
    select h.snapshot, h.id_keluarga
    from registry_households as h
    semi join _in_doubt as d on d.snapshot = h.snapshot and d.id_keluarga = h.id_keluarga
    where '{{kind}}' = 'members'
        and h.snapshot in (select period from ingest_batch where kind = '{{kind}}')
),

quarantined_households as (
    -- members only: the household ids quarantined in the batch's snapshots, as staging reads them
    select distinct f.period as snapshot,
        regexp_replace(clean_text(q.raw_values ->> 'id_keluarga'), '^([0-9]+)\.0+$', '\1')
            as id_keluarga
    from quarantine as q
    join ingest_file as f on f.file_id = q.file_id
    where '{{kind}}' = 'members' and q.kind = 'households'
        and f.period in (select period from ingest_batch where kind = '{{kind}}')
),

compared as (
    -- the rows accepted in earlier runs of the batch's snapshots, valued as the staged rows
    select c.*, struct_pack({{values}}) as vals
    from {{compared}} as c
    where c.snapshot in (select period from ingest_batch where kind = '{{kind}}')
),

earlier as (
    -- per key its accepted row (the first in file-name order, should there be several)
    select c.snapshot, c.id_keluarga, c.row_key, c.ck,
        arg_min(struct_pack(file_id := c.file_id, row_number := c.row_number, vals := c.vals),
                (i.file_name, c.row_number)) as keeper
    from (select *, {{row_key}} as row_key, {{candidate_key}} as ck from compared) as c
    join ingest_file as i on i.file_id = c.file_id
    group by c.snapshot, c.id_keluarga, c.row_key, c.ck
),

candidate_key_hashes as (
    -- the hashes of the candidate keys that repeat in the batch (equal hashes are neighbours in
    -- their order: a sort, cheaper than a hash table with a group per row) or that an earlier run
    -- accepted
    select kh
    from (select hash(snapshot, id_keluarga, ck) as kh from keys_in)
    qualify kh = lag(kh) over (order by kh)
    union
    select hash(snapshot, id_keluarga, ck) from earlier
),

candidate_rows as (
    -- the rows of those hashes (few): only they can repeat a key
    select f.*
    from _flagged_in_doubt as f
    semi join candidate_key_hashes as k
        on k.kh = hash(f.snapshot, f.id_keluarga, {{candidate_key}})
),

candidates as (
    -- their values and exact key; valid when without an error and (members) of an accepted
    -- household
    select v.*, {{row_key}} as row_key,
        len(v.gx_reasons) = 0 and not v.malformed
            and ('{{kind}}' <> 'members' or exists (
                select 1 from accepted_households as a
                where a.snapshot = v.snapshot and a.id_keluarga = v.id_keluarga
            )) as is_valid
    from (select r.*, struct_pack({{values}}) as vals from candidate_rows as r) as v
),

repeated_keys as (
    -- per repeated key its first valid row in the batch (row id order) and that row as keeper
    select snapshot, id_keluarga, row_key,
        min(row_id) filter (where is_valid) as first_valid_id,
        arg_min(struct_pack(file_id := file_id, row_number := row_number, vals := vals),
                row_id) filter (where is_valid) as keeper
    from candidates
    group by snapshot, id_keluarga, row_key
    having count(*) > 1
),

candidates_judged as (
    -- per candidate row: the key's keeper, whether it is the keeper, whether it has its values
    select c.row_id, coalesce(e.keeper, k.keeper) as keeper,
        e.keeper is null and case
            when k.snapshot is null then c.is_valid
            else coalesce(c.row_id = k.first_valid_id, false)
        end as is_keeper,
        case when coalesce(e.keeper, k.keeper) is not null
            then coalesce(e.keeper, k.keeper).vals is not distinct from c.vals
            else false
        end as same_values
    from candidates as c
    left join repeated_keys as k
        on k.snapshot = c.snapshot and k.id_keluarga = c.id_keluarga and k.row_key = c.row_key
    left join earlier as e
        on e.snapshot = c.snapshot and e.id_keluarga = c.id_keluarga and e.row_key = c.row_key
),

keyed as (
    -- narrow: what the judging of every row takes from its candidate row
    select row_id, keeper is not null as has_keeper, keeper.file_id as keeper_file_id,
        keeper.row_number as keeper_row, is_keeper, same_values
    from candidates_judged
),

household_checked as not materialized (
    -- members only: the household must be accepted in the same snapshot (lookups that keep one
    -- row per member, whatever the households' tables hold)
    select r.*,
        case
            when '{{kind}}' <> 'members' or exists (
                select 1 from accepted_households as a
                where a.snapshot = r.snapshot and a.id_keluarga = r.id_keluarga
            ) then cast([] as varchar[])
            when exists (
                select 1 from quarantined_households as q
                where q.snapshot = r.snapshot and q.id_keluarga = r.id_keluarga
            ) then ['household_quarantined']
            else ['household_unknown']
        end as household_reason
    from _flagged_in_doubt as r
),

checked as not materialized (
    select *,
        case when len(household_reason) = 0 then gx_reasons
            else list_concat(gx_reasons, household_reason) end as row_reasons,
        case when len(household_reason) = 0 then defects
            else list_concat(defects, household_reason) end as all_reasons
    from household_checked
),

judged as (
    -- every row: a row of a key that neither repeats nor was accepted before is its own keeper
    -- when it is valid
    select r.*, coalesce(j.has_keeper, false) as has_keeper, j.keeper_file_id, j.keeper_row,
        coalesce(j.is_keeper, len(r.row_reasons) = 0 and not r.malformed) as is_keeper,
        coalesce(j.same_values, false) as same_values
    from checked as r
    left join keyed as j on j.row_id = r.row_id
),

decided as (
    select judged.*, '{{kind}}' as kind,
        case
            when malformed or len(row_reasons) > 0 then 'quarantined'
            when is_keeper then 'accepted'
            when same_values then 'duplicate'
            else 'quarantined'
        end as outcome,
        case
            when malformed then malformed_reasons(row_reasons)
            when has_keeper and not is_keeper and not same_values
                then list_sort(list_distinct(list_append(all_reasons, '{{key_reason}}')))
            when len(all_reasons) > 1 then list_sort(all_reasons)
            else all_reasons
        end as reasons,
        case when not malformed and len(row_reasons) = 0 and not is_keeper and same_values
            then keeper_file_id end as duplicate_of_file_id,
        case when not malformed and len(row_reasons) = 0 and not is_keeper and same_values
            then keeper_row end as duplicate_of_row
    from judged
),

final as (
    -- only the rows the writes need beside the staged rows (sparse): the rows not accepted, and
    -- the accepted rows with a flagged field or a NIK as read (flagged_field, raw_kept,
    -- member_nik_as_read); every other staged row is accepted as is (accepted_rows.sql)
    select row_id, load_id, file_id, kind, row_number, outcome, reasons, duplicate_of_file_id,
        duplicate_of_row, flags{{context}}
    from decided
    where outcome <> 'accepted' or len(flags) > 0 or ids_as_read is not null
)

select * from final
