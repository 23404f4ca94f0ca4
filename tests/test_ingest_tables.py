"""The registry of the ingest tables (tkpk.ingest.tables) drives their DDL and their docs."""

from __future__ import annotations

import re

import duckdb

from tkpk.ingest import accept, tables
from tkpk.ingest.tables import INGEST_TABLES, TABLES_BY_NAME


def test_the_ingest_creates_every_registry_table_with_its_columns_and_types():
    con = duckdb.connect()
    accept.ensure_tables(con)
    for table in INGEST_TABLES:
        built = con.execute(
            "select column_name, data_type from duckdb_columns() where table_name = ? "
            "order by column_index",
            [table.name],
        ).fetchall()
        assert built == [(c.name, c.type) for c in table.columns], table.name
    assert accept.TABLE_DDL["snapshot_status"] == "snapshot DATE, usable BOOLEAN, note VARCHAR"
    assert accept._table_types("duplicate")["duplicate_of_row"] == "BIGINT"


def test_the_architecture_doc_holds_the_registry_s_column_tables():
    text = tables.ARCHITECTURE_DOC.read_text(encoding="utf-8")
    assert tables.render_doc(text) == text, "run: python -m tkpk.ingest.tables --docs"
    generated = {t.name for t in INGEST_TABLES if t.doc_table}
    assert tables.doc_blocks(text) == generated
    for name in generated:
        assert f"`{name}` — grain: {TABLES_BY_NAME[name].grain}" in " ".join(text.split())


def test_the_architecture_doc_names_every_column_of_the_other_ingest_tables():
    """A table without a generated block is described in prose: some paragraph or bullet of the
    doc names the table and each of its columns (`column`, or the signature `table(a, b)`)."""
    text = tables.ARCHITECTURE_DOC.read_text(encoding="utf-8")
    chunks = re.split(r"\n(?=- )|\n\n", text)
    for table in INGEST_TABLES:
        if table.doc_table:
            continue
        names = [c.name for c in table.columns]
        signature = f"`{table.name}({', '.join(names)})`"
        assert any(
            f"`{table.name}`" in chunk
            and all(f"`{n}`" in chunk for n in names)
            or signature in chunk
            for chunk in chunks
        ), f"docs/architecture.md: no paragraph names every column of {table.name}: {names}"


def _storage(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, set[str]]:
    """Column -> the compressions of its stored segments (after a checkpoint)."""
    rows = con.execute(
        "select column_name, compression from pragma_storage_info(?) "
        "where segment_type <> 'VALIDITY'",
        [table],
    ).fetchall()
    found: dict[str, set[str]] = {}
    for column, compression in rows:
        found.setdefault(column, set()).add(compression)
    return found


def test_the_wide_text_columns_are_stored_with_zstd_and_read_back_as_written(tmp_path):
    """A warehouse file stores the accepted tables' nearly unique text columns (NIK, NO_KK,
    names, addresses, registry ids) with ZSTD (cheaper to write than DuckDB's dictionary + FSST);
    the other columns keep DuckDB's choice; the values read back unchanged."""
    wide = {
        "registry_households": {"id_keluarga", "no_kk", "alamat"},
        "registry_members": {"nik", "nama"},
        "program_records": {"nik", "no_kk"},
    }
    for table in INGEST_TABLES:
        assert {c.name for c in table.columns if c.compression} == wide.get(table.name, set())
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    assert tables.supports_compression(con)
    accept.ensure_tables(con)
    con.execute(
        """insert into registry_members (snapshot, id_keluarga, nik, nama, file_id, row_number)
        select date '2026-08-01', 'K' || (i // 3), (3375010101000000 + i * 7)::varchar,
            'NAMA ' || (i * 7919 % 100003), 1, i + 1
        from range(150000) as r(i)"""
    )
    con.execute("checkpoint")
    stored = _storage(con, "registry_members")
    assert stored["nik"] == stored["nama"] == {"ZSTD"}
    assert "ZSTD" not in stored["id_keluarga"] | stored["snapshot"]
    assert con.execute(
        "select count(*), min(nik), max(nik), max(nama) from registry_members"
    ).fetchone() == (150000, "3375010101000000", "3375010102049993", "NAMA 99999")
    assert con.execute(
        "select row_number from registry_members where nik = '3375010101000700'"
    ).fetchall() == [(101,)]


def test_a_warehouse_of_an_older_storage_version_gets_the_tables_without_compression(tmp_path):
    """DuckDB refuses ZSTD in a file of storage version < 1.2: the tables are created there
    with DuckDB's own compression choice (same columns and types)."""
    con = duckdb.connect()
    con.execute(f"attach '{tmp_path / 'old.duckdb'}' as old (storage_version 'v1.1.0')")
    con.execute("use old")
    assert not tables.supports_compression(con)
    accept.ensure_tables(con)
    assert "using compression" not in accept.table_ddl(con, "registry_members")
    assert con.execute(
        "select data_type from duckdb_columns() where database_name = 'old' "
        "and table_name = 'registry_members' and column_name = 'nik'"
    ).fetchall() == [("VARCHAR",)]
    memory = duckdb.connect()
    assert not tables.supports_compression(memory)  # in memory: nothing is compressed anyway
