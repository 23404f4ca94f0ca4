/* MODEL (
    kind period,
    grain (period, area_code)
) */
-- data_coverage: how much of the registry the figures of each period stand on, so that no reader
-- mistakes a data gap for a poverty change.
-- Grain: one row per (period, area_code) for every reported period and every area of ref_area.
--
-- Definitions: docs/contract/indicators.md, "Data coverage". For period m with snapshot s(m):
--   household_rows_accepted, member_rows_accepted: accepted rows of s(m) (registry_households,
--     registry_members) of the households living in the area (= households and population of
--     kelurahan_poverty);
--   household_rows_quarantined: quarantined rows of s(m)'s household files, counted in the
--     kelurahan their code or name resolves to, else in the region's root row only;
--   member_rows_quarantined: quarantined rows of s(m)'s member files, counted where their
--     household lives (the accepted household of s(m), else the quarantined household row's
--     kelurahan), else in the root row only;
--   households_with_flagged_field, members_with_flagged_field: accepted household / member rows
--     of s(m) with at least one flagged field (flagged_field), where the household lives;
--   mpi_incomplete_population: persons left out of the MPI sample for missing data (N − N_mpi),
--     as kelurahan_poverty computes it;
--   snapshot_age_months = months from s(m) to m; poverty_line_age_months = months from the
--     effective_from of the area's line in force to m (int_area_lines: its kab/kota's line;
--     NULL on a province row whose kab/kota use different lines), poverty_line_scope its scope
--     (kabkota, or province / national: borrowed from a wider area).
-- Every level is aggregated through int_area_hierarchy (a kecamatan counts its kelurahan).
-- A period's rows change only with its snapshot's registry files (a full build) or with
-- kelurahan_poverty / its lines (the period is then in an incremental build's scope): kind period.
with

periods as (
    select period, snapshot from int_periods
),

snapshot_files as (
    select file_id, kind, cast(date_trunc('month', period) as date) as snapshot
    from ingest_file
    where kind in ('households', 'members')
),

kelurahan_by_code as (
    select code from ref_area where level = 'kelurahan'
),

household_quarantine_raw as (
    select
        snapshot_files.snapshot,
        quarantine.raw_values ->> 'id_keluarga' as id_keluarga,
        area_code_text(quarantine.raw_values ->> 'kode_kelurahan') as code_text,
        area_key(quarantine.raw_values ->> 'nama_kelurahan') as name_key
    from quarantine
    join snapshot_files
        on snapshot_files.file_id = quarantine.file_id and snapshot_files.kind = 'households'
    where quarantine.kind = 'households'
),

household_quarantine as (
    select
        household_quarantine_raw.snapshot,
        household_quarantine_raw.id_keluarga,
        coalesce(by_code.code, by_name.code) as kelurahan_code
    from household_quarantine_raw
    left join kelurahan_by_code as by_code on by_code.code = household_quarantine_raw.code_text
    left join ref_area_alias as by_name on by_name.alias_key = household_quarantine_raw.name_key
),

member_quarantine as (
    select
        snapshot_files.snapshot,
        quarantine.raw_values ->> 'id_keluarga' as id_keluarga
    from quarantine
    join snapshot_files
        on snapshot_files.file_id = quarantine.file_id and snapshot_files.kind = 'members'
    where quarantine.kind = 'members'
),

quarantined_household_areas as (
    -- one kelurahan per quarantined household id (the first resolvable one)
    select snapshot, id_keluarga, min(kelurahan_code) as kelurahan_code
    from household_quarantine
    where id_keluarga is not null
    group by snapshot, id_keluarga
),

member_quarantine_located as (
    select
        member_quarantine.snapshot,
        coalesce(registry_households.kelurahan_code, quarantined_household_areas.kelurahan_code)
            as kelurahan_code
    from member_quarantine
    left join registry_households
        on registry_households.snapshot = member_quarantine.snapshot
        and registry_households.id_keluarga = member_quarantine.id_keluarga
    left join quarantined_household_areas
        on quarantined_household_areas.snapshot = member_quarantine.snapshot
        and quarantined_household_areas.id_keluarga = member_quarantine.id_keluarga
),

flagged_rows as (
    -- accepted registry rows with at least one flagged field (one per row)
    select distinct period as snapshot, kelurahan_code, kind, file_id, row_number
    from flagged_field
    where kind in ('households', 'members')
),

facts as (
    -- (snapshot, kelurahan or NULL) -> row counts; the accepted rows from int_household_snapshot
    -- (one row per accepted household row of a reported period's snapshot, household_size its
    -- accepted member rows), not from the registry tables again
    select snapshot, kelurahan_code, count(*) as household_rows_accepted,
           0 as household_rows_quarantined, sum(household_size) as member_rows_accepted,
           0 as member_rows_quarantined, 0 as households_with_flagged_field,
           0 as members_with_flagged_field
    from int_household_snapshot
    group by snapshot, kelurahan_code
    union all
    select snapshot, kelurahan_code, 0, count(*), 0, 0, 0, 0
    from household_quarantine
    group by snapshot, kelurahan_code
    union all
    select snapshot, kelurahan_code, 0, 0, 0, count(*), 0, 0
    from member_quarantine_located
    group by snapshot, kelurahan_code
    union all
    select snapshot, kelurahan_code, 0, 0, 0, 0,
           count(*) filter (where kind = 'households'), count(*) filter (where kind = 'members')
    from flagged_rows
    group by snapshot, kelurahan_code
),

sums as (
    select
        periods.period,
        int_area_hierarchy.area_code,
        sum(facts.household_rows_accepted) as household_rows_accepted,
        sum(facts.household_rows_quarantined) as household_rows_quarantined,
        sum(facts.member_rows_accepted) as member_rows_accepted,
        sum(facts.member_rows_quarantined) as member_rows_quarantined,
        sum(facts.households_with_flagged_field) as households_with_flagged_field,
        sum(facts.members_with_flagged_field) as members_with_flagged_field
    from periods
    join facts on facts.snapshot = periods.snapshot
    join int_area_hierarchy
        on int_area_hierarchy.kelurahan_code is not distinct from facts.kelurahan_code
    group by periods.period, int_area_hierarchy.area_code
),

final as (
    select
        periods.period,
        ref_area.level as area_level,
        ref_area.code as area_code,
        ref_area.name as area_name,
        ref_area.kecamatan_code,
        periods.snapshot,
        cast(date_diff('month', periods.snapshot, periods.period) as integer)
            as snapshot_age_months,
        int_area_lines.poverty_line_effective_from,
        cast(date_diff('month', int_area_lines.poverty_line_effective_from, periods.period)
            as integer) as poverty_line_age_months,
        int_area_lines.poverty_line_scope,
        cast(coalesce(sums.household_rows_accepted, 0) as bigint) as household_rows_accepted,
        cast(coalesce(sums.household_rows_quarantined, 0) as bigint)
            as household_rows_quarantined,
        cast(coalesce(sums.member_rows_accepted, 0) as bigint) as member_rows_accepted,
        cast(coalesce(sums.member_rows_quarantined, 0) as bigint) as member_rows_quarantined,
        cast(coalesce(sums.households_with_flagged_field, 0) as bigint)
            as households_with_flagged_field,
        cast(coalesce(sums.members_with_flagged_field, 0) as bigint)
            as members_with_flagged_field,
        cast(coalesce(kelurahan_poverty.mpi_incomplete_population, 0) as bigint)
            as mpi_incomplete_population
    from periods
    cross join ref_area
    join int_area_lines
        on int_area_lines.period = periods.period and int_area_lines.area_code = ref_area.code
    left join sums on sums.period = periods.period and sums.area_code = ref_area.code
    left join kelurahan_poverty
        on kelurahan_poverty.period = periods.period
        and kelurahan_poverty.area_code = ref_area.code
    order by periods.period, ref_area.code
)

select * from final
