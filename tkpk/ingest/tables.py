"""The ONE registry of the ingest's output tables and their columns.

Every table the ingest writes (``tkpk.ingest.accept``: the accepted rows, quarantine, duplicates,
flagged fields, snapshot status, data quality, file notes) is declared here with its columns in
order, each with its DuckDB type and an English description. Everything else derives from it:
the tables' DDL (``accept.TABLE_DDL``, ``IngestTable.ddl``), the types the acceptance rules cast
to (``accept._rule_values``), the column tables of the accepted layer in
``docs/architecture.md`` (``python -m tkpk.ingest.tables --docs`` rewrites them between their
``<!-- ingest-table NAME -->`` markers; ``tests/test_ingest_tables.py`` keeps the doc in sync and
checks that the prose of the other tables names every column).

The run's scratch tables (``SCRATCH_TABLES``: temporary, dropped at the end of the ingest) are
declared the same way.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass

import duckdb

from tkpk.config import DOCS_DIR

ARCHITECTURE_DOC = DOCS_DIR / "architecture.md"


@dataclass(frozen=True)
class IngestColumn:
    """One column of an ingest table: name, DuckDB type, what it holds (English)."""

    name: str
    type: str
    en: str
    #: DuckDB compression the column is stored with (``USING COMPRESSION``; "" = DuckDB chooses)
    compression: str = ""


@dataclass(frozen=True)
class IngestTable:
    """One table the ingest writes: its grain and its columns, in order."""

    name: str
    grain: str
    columns: tuple[IngestColumn, ...]
    #: True: ``docs/architecture.md`` holds its generated column table (else prose names them)
    doc_table: bool = False

    def ddl(self, compression: bool = True) -> str:
        """The column list of ``create table <name> (...)``; with ``compression``, each column's
        ``USING COMPRESSION`` (:data:`WIDE_TEXT`; a file of an older storage version has none:
        :func:`supports_compression`)."""
        return ", ".join(
            f"{c.name} {c.type}"
            + (f" using compression {c.compression}" if compression and c.compression else "")
            for c in self.columns
        )

    def types(self) -> dict[str, str]:
        """Column name -> DuckDB type."""
        return {c.name: c.type for c in self.columns}


def _col(name: str, type_: str, en: str, compression: str = "") -> IngestColumn:
    """Shorthand for an :class:`IngestColumn`."""
    return IngestColumn(name, type_, en, compression)


#: The compression of the accepted tables' wide, nearly unique text columns (NIK, NO_KK, names,
#: addresses, registry ids). DuckDB's own choice for them, dictionary + FSST, spends half the CPU
#: of inserting the accepted rows on analysing and encoding these strings (a dictionary that does
#: not pay off: almost every value is distinct); with ZSTD the insert takes a quarter to a third
#: less CPU, the columns are read as fast and stored about 20 % larger (the tables ~6 %).
#: Columns of few distinct values keep DuckDB's choice.
WIDE_TEXT = "zstd"
#: The first DuckDB storage version that stores ``WIDE_TEXT`` (an older file refuses it).
WIDE_TEXT_STORAGE = (1, 2)


def supports_compression(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the current database's storage version can store ``WIDE_TEXT`` (a warehouse
    written with an older storage version, or one whose version is unknown, cannot)."""
    row = con.execute(
        "select tags['storage_version'] from duckdb_databases() "
        "where database_name = current_database()"
    ).fetchone()
    found = re.match(r"v(\d+)\.(\d+)", str(row[0]) if row and row[0] else "")
    return found is not None and (int(found[1]), int(found[2])) >= WIDE_TEXT_STORAGE


_FILE_ID = _col("file_id", "INTEGER", "lineage: `ingest_file.file_id` of the row's file")
_ROW_NUMBER = _col("row_number", "BIGINT", "lineage: the 1-based data row of the file")
_LOAD_ID = _col("load_id", "VARCHAR", "the load of the file (`<run_id>-<nnnn>`)")
_KIND = _col("kind", "VARCHAR", "`households|members|disbursements|pbi|local`")
_RUN_ID = _col("run_id", "VARCHAR", "the nightly run")
_FILE_NAME = _col("file_name", "VARCHAR", "the file's name in the raw folder")
_SHA256 = _col("sha256", "VARCHAR", "SHA-256 of the file's content (NULL for an ignored entry)")
_CODE = "TINYINT"

#: The ingest's output tables (docs/architecture.md), created when missing, in this order.
INGEST_TABLES: tuple[IngestTable, ...] = (
    IngestTable(
        "registry_households",
        "snapshot × household (accepted rows only)",
        (
            _col("snapshot", "DATE", "first day of the snapshot month"),
            _col(
                "id_keluarga",
                "VARCHAR",
                "registry id (personal-data-adjacent; pseudonymised on export)",
                WIDE_TEXT,
            ),
            _col("no_kk", "VARCHAR", "16 digits or NULL (personal data)", WIDE_TEXT),
            _col("kelurahan_code", "VARCHAR", "dotted Kemendagri code, resolved"),
            _col("alamat", "VARCHAR", "personal data", WIDE_TEXT),
            _col("rt", "SMALLINT", "RT number"),
            _col("rw", "SMALLINT", "RW number"),
            _col(
                "jumlah_anggota",
                "SMALLINT",
                "declared size (indicators use the accepted member count)",
            ),
            _col("pengeluaran_per_kapita", "DECIMAL(18,2)", "rupiah / person / month"),
            _col("desil", "TINYINT", "1–10"),
            _col("luas_lantai", "DECIMAL(12,2)", "m²"),
            _col("jenis_lantai", _CODE, "code"),
            _col("jenis_dinding", _CODE, "code"),
            _col("sumber_air_minum", _CODE, "code"),
            _col("sumber_penerangan", _CODE, "code"),
            _col("bahan_bakar_masak", _CODE, "code"),
            _col("fasilitas_bab", _CODE, "code"),
            _col("tanggal_pendataan", "DATE", "nullable"),
            _FILE_ID,
            _ROW_NUMBER,
        ),
        doc_table=True,
    ),
    IngestTable(
        "registry_members",
        "snapshot × member row (accepted rows only)",
        (
            _col("snapshot", "DATE", "first day of the snapshot month"),
            _col("id_keluarga", "VARCHAR", "the member's household (registry id)"),
            _col("nik", "VARCHAR", "16 digits (personal data)", WIDE_TEXT),
            _col("nama", "VARCHAR", "personal data", WIDE_TEXT),
            _col("jenis_kelamin", "VARCHAR", "`L`/`P` (nullable)"),
            _col("tanggal_lahir", "DATE", "personal data"),
            _col("hubungan_keluarga", _CODE, "code"),
            _col("pendidikan_tertinggi", _CODE, "code (nullable)"),
            _col("status_sekolah", _CODE, "code (nullable)"),
            _col("jaminan_kesehatan", _CODE, "code (nullable)"),
            _col("disabilitas", _CODE, "code (nullable)"),
            _col("status_bekerja", _CODE, "code (nullable)"),
            _FILE_ID,
            _ROW_NUMBER,
        ),
        doc_table=True,
    ),
    IngestTable(
        "program_records",
        "one accepted record of a program list (disbursement attempt, PBI-JK member-month, "
        "local recipient)",
        (
            _col("program", "VARCHAR", "catalog code"),
            _col("source_kind", "VARCHAR", "`disbursements|pbi|local`"),
            _col(
                "record_date",
                "DATE",
                "payment / receipt date; PBI-JK: first day of the file month",
            ),
            _col("period", "DATE", "first day of record_date's month"),
            _col("nik", "VARCHAR", "16 digits", WIDE_TEXT),
            _col("no_kk", "VARCHAR", "NULL when absent", WIDE_TEXT),
            _col(
                "kelurahan_code",
                "VARCHAR",
                "resolved from the record's own kelurahan fields, NULL when none",
            ),
            _col(
                "amount_idr",
                "DECIMAL(18,2)",
                "successful or failed amount; PBI-JK: catalog premium; in-kind may be 0",
            ),
            _col("status", "VARCHAR", "`success`, `failed`, or `inactive` (PBI-JK NONAKTIF)"),
            _col(
                "funding_source",
                "VARCHAR",
                "`SUMBER_DANA` (local), `SEGMEN` (PBI APBN→APBN, PBI APBD→APBD), "
                "else catalog funding",
            ),
            _col("channel", "VARCHAR", "from the file name"),
            _col("stage", "SMALLINT", "from TAHAP, else the file name"),
            _FILE_ID,
            _ROW_NUMBER,
        ),
        doc_table=True,
    ),
    IngestTable(
        "quarantine",
        "one quarantined row",
        (
            _FILE_ID,
            _KIND,
            _ROW_NUMBER,
            _col("reasons", "VARCHAR[]", "contract codes: every defect of the row"),
            _col("raw_values", "JSON", "the row as read"),
            _LOAD_ID,
        ),
    ),
    IngestTable(
        "duplicate",
        "one row that repeats an accepted row",
        (
            _FILE_ID,
            _KIND,
            _ROW_NUMBER,
            _col("duplicate_of_file_id", "INTEGER", "the accepted row's file"),
            _col("duplicate_of_row", "BIGINT", "the accepted row's data row"),
            _LOAD_ID,
        ),
    ),
    IngestTable(
        "flagged_field",
        "one field a warning flagged in an accepted row",
        (
            _FILE_ID,
            _KIND,
            _ROW_NUMBER,
            _col("column_name", "VARCHAR", "canonical column"),
            _col("reason", "VARCHAR", "contract reason code"),
            _col("raw_value", "VARCHAR", "the cell as read; NULL for personal data"),
            _LOAD_ID,
            _col("period", "DATE", "snapshot, or the record's month"),
            _col("kelurahan_code", "VARCHAR", "the row's (a member's: its household's)"),
            _col("id_keluarga", "VARCHAR", "household and member rows"),
        ),
    ),
    IngestTable(
        "snapshot_status",
        "snapshot month",
        (
            _col("snapshot", "DATE", "first day of the snapshot month"),
            _col("usable", "BOOLEAN", "its household and member files loaded"),
            _col("note", "VARCHAR", "why not"),
        ),
    ),
    IngestTable(
        "ingest_data_quality",
        "run × file",
        (
            _RUN_ID,
            _FILE_NAME,
            _col("kind", "VARCHAR", "the file's kind (NULL when unknown)"),
            _SHA256,
            _col("file_outcome", "VARCHAR", "`loaded|already_loaded|quarantined|ignored`"),
            _col("file_reason", "VARCHAR", "file-level reason code"),
            _col("rows_read", "BIGINT", "data rows read (0 when already loaded)"),
            _col("accepted", "BIGINT", "rows accepted"),
            _col("quarantined", "BIGINT", "rows quarantined"),
            _col("duplicate", "BIGINT", "rows recorded as duplicates"),
            _col("skipped_lines", "BIGINT", "title, blank, total, signature lines"),
        ),
    ),
    IngestTable(
        "ingest_data_quality_reason",
        "run × file × reason",
        (
            _RUN_ID,
            _FILE_NAME,
            _SHA256,
            _col("reason", "VARCHAR", "row reason code"),
            _col("rows", "BIGINT", "quarantined rows with the reason"),
        ),
    ),
    IngestTable(
        "member_nik_as_read",
        "accepted member row whose NIK was flagged",
        (
            _SHA256,
            _ROW_NUMBER,
            _col("nik_as_read", "VARCHAR", "the NIK digits as read"),
        ),
    ),
    IngestTable(
        "ingest_file_note",
        "run × entry × note",
        (
            _RUN_ID,
            _FILE_NAME,
            _SHA256,
            _col("reason", "VARCHAR", "`file_ignored` or `sheet_ignored`"),
            _col("note", "VARCHAR", "why ignored, or the sheet's name"),
            _col("rows", "BIGINT", "the sheet's non-empty rows"),
        ),
    ),
)

#: The run's scratch tables (temporary; dropped when the ingest ends).
SCRATCH_TABLES: tuple[IngestTable, ...] = (
    IngestTable(
        "_row_reason",
        "staged row × failing expectation",
        (
            _col("row_id", "BIGINT", "staged row id (file order × 10^10 + row number)"),
            _col("reason", "VARCHAR", "contract reason code"),
            _col("severity", "VARCHAR", "`error` or `warn`"),
            _col("column_name", "VARCHAR", "the flagged canonical column"),
            _col("nulls", "VARCHAR", "the column a warning sets to null"),
        ),
    ),
    IngestTable(
        "_reason_count",
        "file × reason (per kind)",
        (
            _FILE_ID,
            _col("reason", "VARCHAR", "row reason code"),
            _col("rows", "BIGINT", "quarantined rows"),
        ),
    ),
    IngestTable(
        "_staged_count",
        "file (per kind)",
        (_SHA256, _col("rows", "BIGINT", "staged rows")),
    ),
)

TABLES_BY_NAME: dict[str, IngestTable] = {t.name: t for t in (*INGEST_TABLES, *SCRATCH_TABLES)}


# ------------------------------------------------------------------------------------- the doc

_MARKER = re.compile(r"(<!-- ingest-table (\w+) -->\n)(.*?)(<!-- /ingest-table -->)", re.DOTALL)


def _doc_cell(text: str) -> str:
    """``text`` safe in a Markdown table cell."""
    return text.replace("|", "\\|")


def doc_table(table: IngestTable) -> str:
    """The Markdown column table of ``table`` (column, type, note)."""
    lines = ["| column | type | note |", "| --- | --- | --- |"]
    lines += [f"| {c.name} | {c.type} | {_doc_cell(c.en)} |" for c in table.columns]
    return "\n".join(lines) + "\n"


def render_doc(text: str) -> str:
    """``text`` (``docs/architecture.md``) with every ``ingest-table`` block regenerated."""
    return _MARKER.sub(lambda m: m[1] + doc_table(TABLES_BY_NAME[m[2]]) + m[4], text)


def doc_blocks(text: str) -> set[str]:
    """The tables that have a generated block in ``text``."""
    return {m[2] for m in _MARKER.finditer(text)}


def main(argv: list[str] | None = None) -> int:
    """``--docs``: rewrite the ingest column tables of ``docs/architecture.md``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", action="store_true", help="rewrite docs/architecture.md")
    args = parser.parse_args(argv)
    if not args.docs:
        parser.print_help()
        return 1
    text = ARCHITECTURE_DOC.read_text(encoding="utf-8")
    ARCHITECTURE_DOC.write_text(render_doc(text), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
