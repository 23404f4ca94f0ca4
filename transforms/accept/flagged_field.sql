/* MODEL (
    kind acceptance,
    grain (file_id, row_number, column_name, reason)
) */
-- flagged_field: one row per warning of each accepted row of the batch (appended): the file and
-- row (file_id, row_number; name and SHA-256 in ingest_file), the canonical column and reason,
-- the raw value as read (null for a personal column: shared/spec/raw-extracts.md, "Two
-- severities"), the period (snapshot or record month), the kelurahan and the registry household
-- where known (a member's: its accepted household of the same snapshot).
-- A warning on one of several alternative columns ("KODE_KELURAHAN|NAMA_KELURAHAN") names the
-- first of them that holds a value in the raw row.
-- Grain: one row per (file_id, row_number, column_name, reason).
-- Placeholders (tkpk.ingest.schema.ACCEPTANCE): kind; period, kelurahan_code,
-- id_keluarga expressions over the decision `d` and, for members, their household `h`;
-- personal the quoted personal columns.
with

flagged as materialized (
    select *
    from _decision as d
    where d.outcome = 'accepted' and len(d.flags) > 0
),

households as (
    -- the accepted households of the flagged rows only (a member's: its household of the same
    -- snapshot), found by a semi join on the few flagged rows: the left join below then holds
    -- these instead of a hash table of every accepted household (millions, at every step)
    select h.snapshot, h.id_keluarga, h.kelurahan_code
    from registry_households as h
    semi join flagged as d
        on '{{kind}}' = 'members' and h.snapshot = {{period}} and h.id_keluarga = {{id_keluarga}}
),

flags as (
    select d.row_id, d.load_id, d.file_id, d.kind, d.row_number,
        {{period}} as period, {{kelurahan_code}} as kelurahan_code,
        {{id_keluarga}} as id_keluarga, unnest(d.flags) as flag
    from flagged as d
    left join households as h
        on '{{kind}}' = 'members' and h.snapshot = {{period}} and h.id_keluarga = {{id_keluarga}}
),

raw_rows as (
    -- the record as read of the flagged rows (`_raw_kept`: raw_kept.sql)
    select row_id as raw_row_id, cells
    from _raw_kept
),

resolved as (
    select f.*, raw.cells,
        coalesce(
            list_filter(string_split(f.flag.column_name, '|'),
                lambda c: json_extract_string(raw.cells, '$.' || lower(c)) is not null)[1],
            string_split(f.flag.column_name, '|')[1]
        ) as column_name
    from flags as f
    join raw_rows as raw on raw.raw_row_id = f.row_id
),

final as (
    select
        f.file_id,
        f.kind,
        f.row_number,
        f.column_name,
        f.flag.reason as reason,
        case when f.column_name in ({{personal}}) then null
            else json_extract_string(f.cells, '$.' || lower(f.column_name))
        end as raw_value,
        cast(f.load_id as varchar) as load_id,
        f.period,
        f.kelurahan_code,
        f.id_keluarga
    from resolved as f
)

select * from final
