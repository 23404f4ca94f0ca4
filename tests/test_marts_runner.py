"""The transform runner: file conventions, build order, contract columns, other regions."""

from __future__ import annotations

import re

import pytest
from marts_support import World

from tkpk import reference
from transforms.models import graph
from transforms.runner import (
    MARTS_DIR,
    MissingInputError,
    build_marts,
    execute_model,
    model_sql,
)

MODEL_ORDER = graph().order

AREA_KEYS = ["period", "area_level", "area_code", "area_name", "kecamatan_code", "snapshot"]
LINE = ["poverty_line_idr", "poverty_line_effective_from", "poverty_line_status",
        "poverty_line_scope"]

#: docs/architecture.md, "Curated tables" (households: id_keluarga until the publish step
#: replaces it with household_pseudonym).
CONTRACT_COLUMNS = {
    "kelurahan_poverty": [
        *AREA_KEYS,
        "poverty_line_idr", "extreme_poverty_line_idr", "poverty_line_status",
        "poverty_line_effective_from", "poverty_line_scope", "population",
        "households", "poor_population", "poor_households", "p0", "p1", "p2",
        "poverty_gap_idr_month", "extreme_poor_population", "extreme_p0",
        "near_poor_population", "households_desil_1_4", "poor_households_unreached", "gini",
        "median_expenditure_idr", "mpi_population", "mpi_incomplete_population",
        "mpi_poor_population", "mpi_h", "mpi_a", "mpi_m0", "deprived_schooling",
        "deprived_attendance", "deprived_insurance", "deprived_electricity", "deprived_water",
        "deprived_sanitation", "deprived_housing", "deprived_cooking_fuel", "deprived_crowding",
        "official_p0", "official_year", "registry_coverage",
    ],
    "program_reach": [
        *AREA_KEYS,
        "program", "program_name", *LINE, "recipient_households", "amount_idr",
        "target_households",
        "recipient_target_households", "poor_households", "recipient_poor_households",
        "coverage_target", "exclusion_error", "inclusion_error", "coverage_poor", "adequacy",
        "recipient_consumption_idr_year", "unmatched_records", "unmatched_amount_idr",
        "failed_records", "failed_amount_idr", "window_months_with_records",
    ],
    "program_incidence": [
        "period", "program", "desil", "recipient_households", "amount_idr",
        "beneficiary_incidence", "benefit_incidence",
    ],
    "program_overlap": [
        *AREA_KEYS, *LINE,
        "poor_households", "poor_programs_0", "poor_programs_1", "poor_programs_2",
        "poor_programs_3plus", "target_households", "target_programs_0", "target_programs_1",
        "target_programs_2", "target_programs_3plus",
    ],
    "funding_sources": [
        *AREA_KEYS, "funding_source", "recipient_households", "amount_idr", "unmatched_records",
        "unmatched_amount_idr",
    ],
    "source_pulls": [
        "run_id", "source", "remote_path", "size", "remote_modified", "sha256", "pulled_at",
        "outcome", "local_name", "reason",
    ],
    "data_quality": [
        "run_id", "file_name", "kind", "sha256", "file_outcome", "file_reason", "rows_read",
        "accepted", "quarantined", "duplicate", "skipped_lines",
    ],
    "data_quality_reason": ["run_id", "file_name", "sha256", "reason", "rows"],
    "households": [
        "id_keluarga", "snapshot", "kelurahan_code", "kelurahan_name", "kecamatan_code", "rt",
        "rw", "household_size", "desil", "pengeluaran_per_kapita", "poor", "extreme_poor",
        "near_poor", *LINE, "mpi_score", "mpi_poor", "programs_received", "program_count",
        "unreached_poor",
    ],
    "data_quality_field": [
        "id_keluarga", "period", "kelurahan_code", "kelurahan_name", "kind", "file", "sha256",
        "row_number", "column_name", "reason", "raw_value",
    ],
    "data_quality_field_summary": [
        "period", "area_level", "area_code", "area_name", "kind", "column_name", "reason", "rows",
    ],
    "data_coverage": [
        *AREA_KEYS,
        "snapshot_age_months", "poverty_line_effective_from", "poverty_line_age_months",
        "poverty_line_scope", "household_rows_accepted", "household_rows_quarantined",
        "member_rows_accepted", "member_rows_quarantined", "households_with_flagged_field",
        "members_with_flagged_field", "mpi_incomplete_population",
    ],
    "poverty_profile": [
        *AREA_KEYS,
        "profile_group", "population", "poor_population", "p0", "extreme_poor_population",
        "mpi_poor_population", "households",
    ],
    "poverty_transitions": [
        "snapshot_from", "snapshot_to", "area_level", "area_code", "area_name", "kecamatan_code",
        *(f"{state}_{what}" for state in ("stayed_poor", "entered_poverty", "exited_poverty",
                                          "stayed_non_poor", "new", "left")
          for what in ("households", "population")),
        "exited_poverty_recipient_households", "stayed_poor_recipient_households",
    ],
}  # fmt: skip


def sql_code(sql: str) -> str:
    """``sql`` without its ``--`` comments, lower-cased."""
    return re.sub(r"--[^\n]*", "", sql).lower()


def test_every_sql_file_is_a_model_and_every_model_has_a_file():
    files = {path.stem for path in MARTS_DIR.glob("*.sql")}
    assert files == set(MODEL_ORDER)
    assert set(graph().curated) == set(CONTRACT_COLUMNS)


@pytest.mark.parametrize("name", MODEL_ORDER)
def test_sql_style(name):
    text = (MARTS_DIR / f"{name}.sql").read_text(encoding="utf-8")
    assert text.startswith("/* MODEL (\n"), "the file starts with its MODEL header"
    sql = model_sql(name)
    assert sql.startswith(f"-- {name}:"), "prose comment naming the model, after the header"
    assert re.search(r"^-- Grain:", sql, re.MULTILINE), "header states the grain"
    assert re.search(r"\bwith\b", sql)
    assert sql.rstrip().endswith("select * from final")
    code = sql_code(sql)
    assert "33.75" not in code and not re.search(r"\b27\b", code), "no region literal"
    assert not re.search(r"'[^'\n]*[/\\][^'\n]*'", code), "no path literal"
    assert not re.search(r"\bread_(csv|parquet|json)", code), "inputs are tables, not files"


@pytest.mark.parametrize("name", MODEL_ORDER)
def test_models_only_read_models_built_before_them(name):
    """The build order respects what each model reads (DuckDB's parser: transforms.models)."""
    earlier = set(MODEL_ORDER[: MODEL_ORDER.index(name)])
    reads = graph()[name].depends_on
    assert reads & set(MODEL_ORDER) <= earlier
    assert reads - set(MODEL_ORDER) <= set(graph().sources)


def test_contract_columns(con):
    World(con).build()
    for table, expected in CONTRACT_COLUMNS.items():
        columns = [
            row[0]
            for row in con.execute(
                "select column_name from information_schema.columns where table_name = ? "
                "order by ordinal_position",
                [table],
            ).fetchall()
        ]
        assert columns == expected, table


def test_missing_input_names_the_table(con):
    World(con)
    con.execute("drop table program_records")
    with pytest.raises(MissingInputError, match="program_records"):
        build_marts(con)


def test_rebuild_replaces_tables(con):
    w = World(con)
    w.snapshot("2031-03")
    w.household("2031-03", 100_000, members=2)
    w.build()
    w.household("2031-03", 100_000, members=3)
    w.build()
    city = con.execute(
        "select population from kelurahan_poverty where area_level = 'kota'"
    ).fetchall()
    assert city == [(5,)]


def test_data_quality_tables_copy_the_ingest_tables(con):
    w = World(con)
    con.execute(
        "insert into ingest_data_quality values ('r1', 'salur_pkh_bri_203101.csv', "
        "'disbursements', 'abc', 'loaded', null, 10, 7, 2, 1, 0)"
    )
    con.execute(
        "insert into ingest_data_quality_reason values "
        "('r1', 'salur_pkh_bri_203101.csv', 'abc', 'nik_invalid', 2)"
    )
    w.build()
    assert con.execute("select rows_read, accepted from data_quality").fetchall() == [(10, 7)]
    assert con.execute("select reason, rows from data_quality_reason").fetchall() == [
        ("nik_invalid", 2)
    ]


def test_flagged_fields_are_listed_and_counted_per_kelurahan(con):
    """Five flagged fields: three of two Medono household rows, one of a Medono member, one of a
    program record naming no kelurahan (counted on the city row); a 16-digit value typed into
    RT and a date are left out like personal data."""
    w = World(con)
    con.execute(
        "insert into ingest_file (sha256, file_name, kind, file_outcome, rows_read, "
        "skipped_lines, loaded_at, file_id) values "
        "('h1', 'dtsen_keluarga_3375_203103.csv', 'households', 'loaded', 5, 0, now(), 201), "
        "('m1', 'dtsen_anggota_3375_203103.csv', 'members', 'loaded', 9, 0, now(), 202), "
        "('s1', 'salur_pkh_bri_203103.csv', 'disbursements', 'loaded', 2, 0, now(), 203)"
    )
    con.execute(
        "insert into flagged_field values "
        "(201, 'households', 4, 'DESIL', 'code_invalid', "
        " '11', 'l1', date '2031-03-01', '33.75.01.1002', 'K1'), "
        "(201, 'households', 4, 'RT', 'code_invalid', "
        " '3375.0101.0180.0001', 'l1', date '2031-03-01', '33.75.01.1002', 'K1'), "
        "(202, 'members', 9, 'TANGGAL_LAHIR', 'date_invalid', "
        " null, 'l2', date '2031-03-01', '33.75.01.1002', 'K1'), "
        "(201, 'households', 5, 'TANGGAL_PENDATAAN', "
        " 'date_invalid', '2031-04-02', 'l1', date '2031-03-01', '33.75.01.1002', 'K2'), "
        "(203, 'disbursements', 2, 'NIK', 'nik_invalid', "
        " null, 'l3', date '2031-03-01', null, null)"
    )
    w.build()
    assert con.execute(
        "select file, row_number, column_name, raw_value, kelurahan_name, id_keluarga "
        "from data_quality_field order by sha256, row_number, column_name"
    ).fetchall() == [
        ("dtsen_keluarga_3375_203103.csv", 4, "DESIL", "11", "Medono", "K1"),
        ("dtsen_keluarga_3375_203103.csv", 4, "RT", None, "Medono", "K1"),
        # a date is never shown: it could equal a birth date
        ("dtsen_keluarga_3375_203103.csv", 5, "TANGGAL_PENDATAAN", None, "Medono", "K2"),
        ("dtsen_anggota_3375_203103.csv", 9, "TANGGAL_LAHIR", None, "Medono", "K1"),
        ("salur_pkh_bri_203103.csv", 2, "NIK", None, None, None),
    ]
    assert con.execute(
        "select area_level, area_code, kind, column_name, reason, rows "
        "from data_quality_field_summary order by all"
    ).fetchall() == [
        ("kelurahan", "33.75.01.1002", "households", "DESIL", "code_invalid", 1),
        ("kelurahan", "33.75.01.1002", "households", "RT", "code_invalid", 1),
        ("kelurahan", "33.75.01.1002", "households", "TANGGAL_PENDATAAN", "date_invalid", 1),
        ("kelurahan", "33.75.01.1002", "members", "TANGGAL_LAHIR", "date_invalid", 1),
        ("kota", "33.75", "disbursements", "NIK", "nik_invalid", 1),
    ]


@pytest.mark.parametrize("region", ["33.26", "33"])
def test_other_regions(con, region):
    """A kabupaten (desa level) and a province: the top rows are the region's own levels."""
    reference.install(con, region)
    desa = con.execute(
        "select code, kecamatan_code, kabkota_code from ref_area where level = 'kelurahan' "
        "order by code limit 2"
    ).fetchall()
    w = World(con)
    w.snapshot("2031-03")
    w.household("2031-03", 100_000, kelurahan=desa[0][0], members=2)
    w.household("2031-03", 900_000, kelurahan=desa[1][0], members=3)
    w.record("PKH", "2031-03-10", amount=600_000)  # unmatched, names no desa: region row only
    w.build()
    levels = dict(
        con.execute(
            "select area_level, count(*) from kelurahan_poverty group by area_level"
        ).fetchall()
    )
    expected = dict(con.execute("select level, count(*) from ref_area group by level").fetchall())
    assert levels == expected
    top = con.execute(
        "select area_level, population, poor_population from kelurahan_poverty where area_code = ?",
        [region],
    ).fetchall()
    assert top == [("kabupaten" if region == "33.26" else "provinsi", 5, 2)]
    kabkota = con.execute(
        "select population from kelurahan_poverty where area_code = ?", [desa[0][2]]
    ).fetchall()
    assert kabkota == [(5,)]
    unmatched = con.execute(
        "select area_code from program_reach where unmatched_records > 0"
    ).fetchall()
    assert unmatched == [(region,)]


def test_model_settings_apply_to_their_statement_only(con):
    """A model's header settings hold during its statement and are restored after it (added to
    a value the connection already had)."""
    assert graph()["int_program_monthly"].settings == {
        "disabled_optimizers": "build_side_probe_side"
    }
    setting = "disabled_optimizers"
    current = "select current_setting('disabled_optimizers')"
    execute_model(con, "int_program_monthly", f"create table seen as {current} as value")
    assert con.execute("select value from seen").fetchall() == [("build_side_probe_side",)]
    assert con.execute(current).fetchone()[0] == ""
    con.execute(f"set {setting} = 'top_n'")
    execute_model(con, "int_program_monthly", f"create or replace table seen as {current} as value")
    (value,) = con.execute("select value from seen").fetchone()
    assert set(value.split(",")) == {"top_n", "build_side_probe_side"}
    assert con.execute(current).fetchone()[0] == "top_n"
    execute_model(con, "int_periods", f"create or replace table seen as {current} as value")
    assert con.execute("select value from seen").fetchall() == [("top_n",)]
    with pytest.raises(RuntimeError, match="int_program_monthly.sql"):
        execute_model(con, "int_program_monthly", "select * from no_such_table")
