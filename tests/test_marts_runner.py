"""The transform runner: file conventions, build order, other regions (the curated tables' columns:
tests/test_dictionary_contract.py)."""

from __future__ import annotations

import dataclasses
import re

import pytest
from marts_support import World

from tkpk import reference
from tkpk.publish.dictionary import TABLES_BY_NAME
from transforms.models import graph
from transforms.runner import (
    MARTS_DIR,
    MissingInputError,
    build_marts,
    execute_model,
    model_sql,
)

MODEL_ORDER = graph().order


def sql_code(sql: str) -> str:
    """``sql`` without its ``--`` comments, lower-cased."""
    return re.sub(r"--[^\n]*", "", sql).lower()


def test_every_sql_file_is_a_model_and_every_model_has_a_file():
    files = {path.stem for path in MARTS_DIR.glob("*.sql")}
    assert files == set(MODEL_ORDER)
    # the curated tables are the registry's exported tables (their columns: tkpk/publish/
    # dictionary.py, checked at build time by check_columns; tests/test_dictionary_contract.py)
    assert set(graph().curated) == set(TABLES_BY_NAME)


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
    own = "build_side_probe_side,compressed_materialization"
    assert graph()["int_program_monthly"].settings == {"disabled_optimizers": own, "threads": "2"}
    setting = "disabled_optimizers"
    current = "select current_setting('disabled_optimizers')"
    execute_model(con, "int_program_monthly", f"create table seen as {current} as value")
    assert con.execute("select value from seen").fetchall() == [(own,)]
    assert con.execute(current).fetchone()[0] == ""
    con.execute(f"set {setting} = 'top_n'")
    execute_model(con, "int_program_monthly", f"create or replace table seen as {current} as value")
    (value,) = con.execute("select value from seen").fetchone()
    assert set(value.split(",")) == {"top_n", *own.split(",")}
    assert con.execute(current).fetchone()[0] == "top_n"
    execute_model(con, "int_periods", f"create or replace table seen as {current} as value")
    assert con.execute("select value from seen").fetchall() == [("top_n",)]
    with pytest.raises(RuntimeError, match="int_program_monthly.sql"):
        execute_model(con, "int_program_monthly", "select * from no_such_table")


def test_a_model_setting_that_is_not_a_list_replaces_the_connections(con, monkeypatch):
    """A header setting other than a list (here preserve_insertion_order) holds as written
    during the model's statement, not joined to the connection's value, and is restored after."""
    model = dataclasses.replace(graph()["int_periods"],
                                settings={"preserve_insertion_order": "false"})
    monkeypatch.setattr("transforms.runner.graph", lambda: {"int_periods": model})
    current = "select current_setting('preserve_insertion_order')"
    execute_model(con, "int_periods", f"create table seen as {current} as value")
    assert con.execute("select value from seen").fetchall() == [(False,)]
    assert con.execute(current).fetchone()[0] is True
