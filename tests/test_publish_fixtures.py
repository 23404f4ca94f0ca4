"""Hand-written curated tables with the contract's columns, for the publish tests.

Synthetic people only. Kelurahan rows carry small made-up counts (some 1–4, some 0, some >= 5);
kecamatan and city rows are sums of them and every ratio is computed from the summed numerators,
so the tables satisfy the output suites exactly. ``build_curated`` also creates warehouse tables
holding personal data (registry, program records) so that the no-personal-data tests can look
for those values in the exports.
"""

from __future__ import annotations

import duckdb

from tkpk.publish.dictionary import TABLES

PERIODS = ("2026-09-01", "2026-10-01")
LATEST_SNAPSHOT = "2026-09-01"
PROGRAMS = ("PKH", "BPNT")

#: Synthetic personal data: distinctive values that must never appear in an export.
PEOPLE = [
    # id_keluarga, no_kk, alamat, nik, nama, tanggal_lahir
    ("KLG-TEST-000101", "3375019912340001", "Jl. Uji Coba Sintetis No. 11",
     "3375015507800011", "Sumiyati Testdata Sintetis", "1980-07-15"),
    ("KLG-TEST-000102", "3375019912340002", "Gang Contoh Palsu RT 02",
     "3375011203900022", "Bambang Contohnama Palsu", "1990-03-12"),
    ("KLG-TEST-000103", "3375029912340003", "Jl. Fiktif Raya 7",
     "3375026610650033", "Wagiyem Fiktifiana", "1965-10-26"),
    ("KLG-TEST-000104", "3375039912340004", "Perum Rekaan Blok C",
     "3375032708020044", "Slamet Rekaansaja", "2002-08-27"),
]


def _base(con: duckdb.DuckDBPyConnection) -> None:
    periods = ", ".join(f"(date '{p}')" for p in PERIODS)
    con.execute(
        f"""
        create or replace temp table t_kel as
        select code as area_code, name as area_name, kecamatan_code,
               row_number() over (order by code) as i
        from ref_area where level = 'kelurahan';
        create or replace temp table t_period as select * from (values {periods}) p(period);
        create or replace temp table t_areas as
        select 'kelurahan' as area_level, area_code, area_name, kecamatan_code, area_code as leaf
        from t_kel
        union all
        select 'kecamatan', r.code, r.name, r.code, k.area_code
        from ref_area r join t_kel k on k.kecamatan_code = r.code where r.level = 'kecamatan'
        union all
        select 'kota', r.code, r.name, null, k.area_code
        from ref_area r cross join t_kel k where r.level = 'kota';
        """
    )


def _kelurahan_poverty(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        create or replace table kelurahan_poverty as
        with leaf as (
            select p.period, k.area_code,
                   (100 + 7 * i + month(p.period)) as population,
                   (30 + 2 * i) as households,
                   (i % 6) as poor_households,
                   (i % 6) * 4 as poor_population,
                   (i % 6) * 4 * 0.25 as p1num,
                   (i % 6) * 4 * 0.1 as p2num,
                   (i % 6) * 2 as extreme_poor_population,
                   (i % 5) * 3 as near_poor_population,
                   (10 + i) as households_desil_1_4,
                   (i % 6) // 2 as poor_households_unreached,
                   (i % 7) * 2 as mpi_poor_population,
                   (i % 7) * 2 * 0.4 as mpi_num,
                   (i * 3) % 20 as d1, (i * 5) % 20 as d2, (i * 7) % 20 as d3
            from t_period p cross join t_kel k
        ),
        agg as (
            select l.period, a.area_level, a.area_code, any_value(a.area_name) as area_name,
                   any_value(a.kecamatan_code) as kecamatan_code,
                   sum(population) as population, sum(households) as households,
                   sum(poor_population) as poor_population,
                   sum(poor_households) as poor_households,
                   sum(p1num) as p1num, sum(p2num) as p2num,
                   sum(extreme_poor_population) as extreme_poor_population,
                   sum(near_poor_population) as near_poor_population,
                   sum(households_desil_1_4) as households_desil_1_4,
                   sum(poor_households_unreached) as poor_households_unreached,
                   sum(mpi_poor_population) as mpi_poor_population, sum(mpi_num) as mpi_num,
                   sum(d1) as d1, sum(d2) as d2, sum(d3) as d3
            from leaf l join t_areas a on a.leaf = l.area_code
            group by all
        ),
        final as (
            select period, area_level, area_code, area_name, kecamatan_code, population,
                   households, poor_population, poor_households,
                   poor_population / population as p0, p1num / population as p1,
                   p2num / population as p2,
                   cast(p1num * 570870 as decimal(18, 2)) as poverty_gap_idr_month,
                   extreme_poor_population, extreme_poor_population / population as extreme_p0,
                   near_poor_population, households_desil_1_4, poor_households_unreached,
                   0.25::double as gini, 480000.00::decimal(18, 2) as median_expenditure_idr,
                   population as mpi_population, 0::bigint as mpi_incomplete_population,
                   mpi_poor_population, mpi_poor_population / population as mpi_h,
                   case when mpi_poor_population > 0 then mpi_num / mpi_poor_population end
                       as mpi_a,
                   mpi_num / population as mpi_m0,
                   d1 / population as deprived_schooling, d2 / population as deprived_attendance,
                   d3 / population as deprived_insurance, d1 / population as deprived_electricity,
                   d2 / population as deprived_water, d3 / population as deprived_sanitation,
                   d1 / population as deprived_housing, d2 / population as deprived_cooking_fuel,
                   d3 / population as deprived_crowding,
                   case when area_level = 'kota' then 0.0671 end as official_p0,
                   case when area_level = 'kota' then 2024 end as official_year,
                   case when area_level = 'kota' then population / 318182 end
                       as registry_coverage
            from agg
        )
        select * from final
        """
    )


def _program_reach(con: duckdb.DuckDBPyConnection) -> None:
    programs = ", ".join(f"('{p}', {n})" for n, p in enumerate(PROGRAMS, 1))
    con.execute(
        f"""
        create or replace table program_reach as
        with prog as (select * from (values {programs}) v(program, j)),
        leaf as (
            select p.period, k.area_code, g.program,
                   (i + j) % 9 as recipient_households,
                   (i + j) % 9 * 600000 as amount_idr,
                   (10 + i) as target_households,
                   least((i + j) % 9, 10 + i) - ((i + j) % 9 > 2)::int as recipient_target,
                   (i % 6) as poor_households,
                   least((i + j) % 9, i % 6) as recipient_poor,
                   (i + j) % 9 * 12 * 3 * 400000 as consumption,
                   case when i = 3 then 2 else 0 end as unmatched_records,
                   case when i = 3 then 1200000 else 0 end as unmatched_amount_idr,
                   (i % 4) as failed_records, (i % 4) * 300000 as failed_amount_idr
            from t_period p cross join t_kel k cross join prog g
        ),
        agg as (
            select l.period, a.area_level, a.area_code, any_value(a.area_name) as area_name,
                   any_value(a.kecamatan_code) as kecamatan_code, l.program,
                   sum(recipient_households) as recipient_households,
                   sum(amount_idr) as amount_idr, sum(target_households) as target_households,
                   sum(recipient_target) as recipient_target_households,
                   sum(poor_households) as poor_households,
                   sum(recipient_poor) as recipient_poor_households,
                   sum(consumption) as recipient_consumption_idr_year,
                   sum(unmatched_records) + max((a.area_level = 'kota')::int) as unmatched_records,
                   sum(unmatched_amount_idr) + max((a.area_level = 'kota')::int) * 600000
                       as unmatched_amount_idr,
                   sum(failed_records) as failed_records,
                   sum(failed_amount_idr) as failed_amount_idr
            from leaf l join t_areas a on a.leaf = l.area_code
            group by all
        ),
        final as (
            select period, area_level, area_code, area_name, kecamatan_code, agg.program,
                   r.name as program_name, recipient_households, amount_idr, target_households,
                   recipient_target_households, poor_households, recipient_poor_households,
                   recipient_target_households / nullif(target_households, 0) as coverage_target,
                   1 - recipient_target_households / nullif(target_households, 0)
                       as exclusion_error,
                   (recipient_households - recipient_target_households)
                       / nullif(recipient_households, 0) as inclusion_error,
                   recipient_poor_households / nullif(poor_households, 0) as coverage_poor,
                   amount_idr / nullif(recipient_consumption_idr_year, 0) as adequacy,
                   recipient_consumption_idr_year, unmatched_records, unmatched_amount_idr,
                   failed_records, failed_amount_idr, 12 as window_months_with_records
            from agg join ref_program r on r.code = agg.program
        )
        select * from final
        """
    )


def _other_tables(con: duckdb.DuckDBPyConnection) -> None:
    programs = ", ".join(f"('{p}', {n})" for n, p in enumerate(PROGRAMS, 1))
    # data coverage: accepted rows are the poverty base; two quarantined household rows that
    # resolve nowhere (city row only)
    con.execute(
        """
        create or replace table data_coverage as
        select period, area_level, area_code, area_name, kecamatan_code, snapshot,
               cast(date_diff('month', snapshot, period) as integer) as snapshot_age_months,
               date '2026-01-01' as poverty_line_effective_from,
               cast(date_diff('month', date '2026-01-01', period) as integer)
                   as poverty_line_age_months,
               'province' as poverty_line_scope,
               households as household_rows_accepted,
               case when area_level = 'kota' then 2 else 0 end as household_rows_quarantined,
               population as member_rows_accepted,
               0 as member_rows_quarantined,
               0 as households_with_flagged_field,
               0 as members_with_flagged_field,
               mpi_incomplete_population
        from kelurahan_poverty
        """
    )
    con.execute(
        f"""
        create or replace table program_incidence as
        with prog as (select * from (values {programs}) v(program, j)),
        base as (
            select p.period, g.program, d.desil::tinyint as desil,
                   (d.desil * g.j) % 7 as recipient_households,
                   (d.desil * g.j) % 7 * 600000 as amount_idr
            from t_period p cross join prog g cross join range(1, 11) d(desil)
        ),
        final as (
            select *, recipient_households / sum(recipient_households)
                          over (partition by period, program) as beneficiary_incidence,
                   amount_idr / sum(amount_idr) over (partition by period, program)
                       as benefit_incidence
            from base
        )
        select * from final;

        create or replace table program_overlap as
        with leaf as (
            select p.period, k.area_code, i % 6 as poor_households, i % 2 as poor_programs_0,
                   (i % 6) - (i % 2) as poor_programs_1, 0 as poor_programs_2,
                   0 as poor_programs_3plus, 10 + i as target_households,
                   3 as target_programs_0, 5 as target_programs_1, i as target_programs_2,
                   2 as target_programs_3plus
            from t_period p cross join t_kel k
        ),
        final as (
            select l.period, a.area_level, a.area_code, any_value(a.area_name) as area_name,
                   any_value(a.kecamatan_code) as kecamatan_code,
                   sum(poor_households) as poor_households,
                   sum(poor_programs_0) as poor_programs_0,
                   sum(poor_programs_1) as poor_programs_1,
                   sum(poor_programs_2) as poor_programs_2,
                   sum(poor_programs_3plus) as poor_programs_3plus,
                   sum(target_households) as target_households,
                   sum(target_programs_0) as target_programs_0,
                   sum(target_programs_1) as target_programs_1,
                   sum(target_programs_2) as target_programs_2,
                   sum(target_programs_3plus) as target_programs_3plus
            from leaf l join t_areas a on a.leaf = l.area_code
            group by all
        )
        select * from final;

        create or replace table funding_sources as
        with src as (select * from (values ('APBN', 1), ('APBD', 2)) v(funding_source, j)),
        leaf as (
            select p.period, k.area_code, s.funding_source, (i * j) % 8 as recipient_households,
                   (i * j) % 8 * 250000 as amount_idr
            from t_period p cross join t_kel k cross join src s
        ),
        final as (
            select l.period, a.area_level, a.area_code, any_value(a.area_name) as area_name,
                   any_value(a.kecamatan_code) as kecamatan_code,
                   l.funding_source, sum(recipient_households) as recipient_households,
                   sum(amount_idr) as amount_idr, 0 as unmatched_records,
                   0 as unmatched_amount_idr
            from leaf l join t_areas a on a.leaf = l.area_code
            group by all
        )
        select * from final;
        """
    )
    con.execute(
        """
        create or replace table ingest_file as
        select * from (values
            ('dtsen_keluarga_3375_202609.csv', repeat('a', 64), 'households',
             date '2026-09-01', 'loaded'),
            ('salur_pkh_bri_202609.csv', repeat('b', 64), 'disbursements',
             date '2026-09-01', 'loaded'),
            ('salur_bpnt_pos_202610.xlsx', repeat('c', 64), 'disbursements',
             date '2026-10-01', 'quarantined')
        ) v(file_name, sha256, kind, period, file_outcome);

        create or replace table data_quality as
        select 'run-1' as run_id, file_name, kind, sha256, file_outcome,
               case when file_outcome = 'quarantined' then 'file_unreadable' end as file_reason,
               rows_read, accepted, quarantined, duplicate, skipped_lines
        from ingest_file join (values
            ('dtsen_keluarga_3375_202609.csv', 120, 117, 3, 0, 0),
            ('salur_pkh_bri_202609.csv', 40, 30, 0, 10, 2),
            ('salur_bpnt_pos_202610.xlsx', 0, 0, 0, 0, 0)
        ) c(fname, rows_read, accepted, quarantined, duplicate, skipped_lines)
          on c.fname = file_name;

        create or replace table data_quality_reason as
        select 'run-1' as run_id, 'dtsen_keluarga_3375_202609.csv' as file_name,
               repeat('a', 64) as sha256, 'desil_invalid' as reason, 3 as rows;

        create or replace table source_pulls as
        select * from (values
            ('run-1', 'bri', 's3://salur-bri/exports/salur_pkh_bri_202609.csv', 4096::bigint,
             timestamp '2026-09-30 17:00:00', repeat('b', 64), timestamp '2026-09-30 19:00:00',
             'pulled', 'salur_pkh_bri_202609.csv', null),
            ('run-1', 'pos', 'sftp://127.0.0.1:2222/exports/', null, null, null,
             timestamp '2026-09-30 19:00:01', 'failed', null, 'server unreachable (OSError)')
        ) v(run_id, source, remote_path, size, remote_modified, sha256, pulled_at, outcome,
            local_name, reason);
        """
    )


def _personal(con: duckdb.DuckDBPyConnection) -> None:
    values = ", ".join(
        "(" + ", ".join(f"'{v}'" for v in person) + f", {n})" for n, person in enumerate(PEOPLE)
    )
    con.execute(
        f"""
        create or replace temp table t_people as
        select * from (values {values})
            v(id_keluarga, no_kk, alamat, nik, nama, tanggal_lahir, n);

        create or replace table registry_households as
        select date '{LATEST_SNAPSHOT}' as snapshot, id_keluarga, no_kk, k.area_code
                   as kelurahan_code, alamat, (n + 1)::smallint as rt, 2::smallint as rw,
               (n + 2)::smallint as jumlah_anggota,
               (300000 + n * 150000)::decimal(18, 2) as pengeluaran_per_kapita,
               (n + 1)::tinyint as desil
        from t_people join t_kel k on k.i = n + 1;

        create or replace table registry_members as
        select date '{LATEST_SNAPSHOT}' as snapshot, id_keluarga, nik, nama,
               cast(tanggal_lahir as date) as tanggal_lahir
        from t_people;

        create or replace table program_records as
        select 'PKH' as program, nik, no_kk, 600000::decimal(18, 2) as amount_idr,
               'success' as status
        from t_people where n < 2;

        create or replace table households as
        with base as (
            select h.*, k.area_name as kelurahan_name, k.kecamatan_code,
                   case when n < 2 then ['PKH'] else [] end as programs_received
            from registry_households h join t_people using (id_keluarga)
            join t_kel k on k.area_code = h.kelurahan_code
        ),
        final as (
            select id_keluarga, snapshot, kelurahan_code, kelurahan_name, kecamatan_code, rt, rw,
                   jumlah_anggota as household_size, desil, pengeluaran_per_kapita,
                   pengeluaran_per_kapita < 570870 as poor,
                   pengeluaran_per_kapita < 391000 as extreme_poor,
                   pengeluaran_per_kapita >= 570870 and pengeluaran_per_kapita < 685044
                       as near_poor,
                   7 / 18 as mpi_score, true as mpi_poor,
                   programs_received, len(programs_received) as program_count,
                   pengeluaran_per_kapita < 570870 and len(programs_received) = 0
                       as unreached_poor
            from base
        )
        select * from final
        """
    )


def _decision_tables(con: duckdb.DuckDBPyConnection) -> None:
    """poverty_profile (kelurahan counts summed to every area) and poverty_transitions."""
    con.execute(
        """
        create or replace table poverty_profile as
        with grp as (
            select * from (values ('head_female', 1), ('children_0_6', 2)) v(profile_group, j)
        ),
        leaf as (
            select p.period, k.area_code, g.profile_group, (i * j) % 9 + 3 as population,
                   (i * j) % 4 as poor_population, (i * j) % 2 as extreme_poor_population,
                   (i * j) % 3 as mpi_poor_population, (i * j) % 9 // 3 + 1 as households
            from t_period p cross join t_kel k cross join grp g
        ),
        final as (
            select l.period, a.area_level, a.area_code, any_value(a.area_name) as area_name,
                   any_value(a.kecamatan_code) as kecamatan_code,
                   l.profile_group, sum(population) as population,
                   sum(poor_population) as poor_population,
                   sum(poor_population) / sum(population) as p0,
                   sum(extreme_poor_population) as extreme_poor_population,
                   sum(mpi_poor_population) as mpi_poor_population,
                   sum(households) as households
            from leaf l join t_areas a on a.leaf = l.area_code
            group by all
        )
        select * from final;

        create or replace table poverty_transitions as
        with leaf as (
            select date '2026-06-01' as snapshot_from, date '2026-09-01' as snapshot_to,
                   k.area_code, i % 3 as s1, i % 5 as s2, i % 2 as s3, 20 + i as s4,
                   i % 4 as s5, i % 3 as s6
            from t_kel k
        ),
        final as (
            select snapshot_from, snapshot_to, a.area_level, a.area_code,
                   any_value(a.area_name) as area_name,
                   any_value(a.kecamatan_code) as kecamatan_code,
                   sum(s1) as stayed_poor_households, sum(s1 * 3) as stayed_poor_population,
                   sum(s2) as entered_poverty_households,
                   sum(s2 * 4) as entered_poverty_population,
                   sum(s3) as exited_poverty_households, sum(s3 * 2) as exited_poverty_population,
                   sum(s4) as stayed_non_poor_households,
                   sum(s4 * 3) as stayed_non_poor_population,
                   sum(s5) as new_households, sum(s5 * 2) as new_population,
                   sum(s6) as left_households, sum(s6 * 3) as left_population,
                   sum(s3 // 2) as exited_poverty_recipient_households,
                   sum(s1 // 2) as stayed_poor_recipient_households
            from leaf l join t_areas a on a.leaf = l.area_code
            group by all
        )
        select * from final;
        """
    )


def _flagged(con: duckdb.DuckDBPyConnection) -> None:
    """``data_quality_field`` and its summary: a household's DESIL and floor code and a member's
    birth date flagged in kelurahan 1, a program record's NIK flagged (no kelurahan)."""
    con.execute(
        f"""
        create or replace table data_quality_field as
        with flags as (
            select * from (values
                ('KLG-TEST-000101', 'households', 'dtsen_keluarga_3375_202609.csv', 4, 'DESIL',
                 'code_invalid', '11'),
                ('KLG-TEST-000101', 'households', 'dtsen_keluarga_3375_202609.csv', 4,
                 'JENIS_LANTAI', 'code_invalid', '9'),
                ('KLG-TEST-000101', 'members', 'dtsen_anggota_3375_202609.csv', 7,
                 'TANGGAL_LAHIR', 'date_invalid', null),
                (null, 'disbursements', '=salur_pkh_bri_202609.csv', 2, 'NIK', 'nik_invalid',
                 null)
            ) v(id_keluarga, kind, file, row_number, column_name, reason, raw_value)
        ),
        final as (
            select f.id_keluarga, date '{LATEST_SNAPSHOT}' as period,
                case when f.id_keluarga is not null then k.area_code end as kelurahan_code,
                case when f.id_keluarga is not null then k.area_name end as kelurahan_name,
                f.kind, f.file, repeat('f', 64) as sha256, f.row_number, f.column_name,
                f.reason, f.raw_value
            from flags as f join t_kel as k on k.i = 1
        )
        select * from final;

        create or replace table data_quality_field_summary as
        select period, coalesce(r.level, 'kota') as area_level,
            coalesce(kelurahan_code, '33.75') as area_code,
            coalesce(kelurahan_name, 'Kota Pekalongan') as area_name, kind, column_name, reason,
            count(*) as rows
        from data_quality_field left join ref_area as r on r.code = kelurahan_code
        group by all
        """
    )


#: Values of the columns several curated tables share, where a table does not compute its own.
SHARED = {
    "snapshot": f"date '{LATEST_SNAPSHOT}'",
    "poverty_line_idr": "570870.00",
    "extreme_poverty_line_idr": "391000.00",
    "poverty_line_status": "'provisional'",
    "poverty_line_effective_from": "date '2025-09-01'",
    "poverty_line_scope": "'province'",
}


def _conform(con: duckdb.DuckDBPyConnection, names: tuple[str, ...] | None = None) -> None:
    """Give every curated table (or those of ``names``) exactly its registry columns
    (``tkpk.publish.dictionary``), in the registry's order and types: each column from the
    hand-built table, else from ``SHARED`` (a column with neither is an error naming it: give the
    fixture a value for it)."""
    for table in TABLES:
        if names is not None and table.name not in names:
            continue
        built = {
            name
            for (name,) in con.execute(
                "select column_name from duckdb_columns() where table_name = ?", [table.name]
            ).fetchall()
        }
        items = []
        for name, type_ in table.warehouse_columns:
            if name not in built and name not in SHARED:
                raise KeyError(f"test_publish_fixtures: no value for {table.name}.{name}")
            value = f'"{name}"' if name in built else SHARED[name]
            items.append(f'cast({value} as {type_}) as "{name}"')
        con.execute(
            f"create or replace table {table.name} as select {', '.join(items)} from {table.name}"
        )


def build_curated(con: duckdb.DuckDBPyConnection) -> None:
    """Create every curated table (and personal-data warehouse tables) in ``con``: the values by
    hand, the columns (names, order, types) from the registry (:func:`_conform`)."""
    _base(con)
    _kelurahan_poverty(con)
    _conform(con, ("kelurahan_poverty",))  # data_coverage reads its snapshot
    _program_reach(con)
    _other_tables(con)
    _decision_tables(con)
    _personal(con)
    _flagged(con)
    _conform(con)


def publish(con: duckdb.DuckDBPyConnection, settings, run_id: str = "run-1", **options):
    """``publish_packs`` without Great Expectations (the same suites, evaluated in DuckDB)."""
    from tkpk.publish import publish_packs

    options.setdefault("use_gx", False)
    return publish_packs(con, settings, run_id, **options)
