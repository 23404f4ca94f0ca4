/* MODEL (
    kind acceptance,
    grain (snapshot)
) */
-- snapshot_status: whether each registry snapshot is usable (rebuilt every run from
-- ingest_file): only when its household file and its member file loaded; `note` says why not
-- ('lengkap' when usable; in Bahasa Indonesia, for the briefing), naming quarantined files.
-- Grain: one row per snapshot month with a household or member file.
with

files as (
    select period, kind, file_outcome, file_name, file_reason
    from ingest_file
    where kind in ('households', 'members') and period is not null
),

per_snapshot as (
    select period as snapshot,
        bool_or(kind = 'households' and file_outcome = 'loaded') as households_loaded,
        bool_or(kind = 'members' and file_outcome = 'loaded') as members_loaded,
        string_agg(case when file_outcome = 'quarantined'
            then file_name || ' (' || coalesce(file_reason, '?') || ')' end, ', '
            order by file_name) as quarantined_files
    from files
    group by period
),

final as (
    select snapshot,
        households_loaded and members_loaded as usable,
        case
            when households_loaded and members_loaded then 'lengkap'
            else concat_ws('; ',
                case when not households_loaded then 'berkas keluarga tidak termuat' end,
                case when not members_loaded then 'berkas anggota tidak termuat' end,
                case when quarantined_files is not null
                    then 'dikarantina: ' || quarantined_files end)
        end as note
    from per_snapshot
)

select * from final order by snapshot
