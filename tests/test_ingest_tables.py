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
