"""What the raw-file readers share: the ``_records`` table they leave, the header and file-level
types, format sniffing.

A reader (:mod:`tkpk.ingest.csv_reader` for CSV, :mod:`tkpk.ingest.spreadsheet` for XLSX/XLS/ODS)
leaves, on the DuckDB connection it is given (a cursor of its own, so a failing read never aborts
the caller's transaction), a temporary table ``_records``:

``pos`` (file order of the records after the header), ``c0 .. cN`` VARCHAR (one per header
cell), ``n0 .. nN`` BOOLEAN (the cell was a numeric spreadsheet cell), ``malformed`` BOOLEAN,
``raw_line`` and ``error`` VARCHAR (the text and DuckDB error of a rejected CSV line), and
``_suspect`` BOOLEAN (the row lacks a required value, :func:`tkpk.ingest.lines.suspect_sql`).

:func:`tkpk.ingest.lines.classify_records` then tells data rows from blank, total, signature and
column-numbering lines and numbers the data rows; :mod:`tkpk.ingest.raw` stages them (typed, one
statement per file) into the run's scratch.

The read stays on its own cursor (the rows reach the warehouse as Arrow batches) rather than
inserting straight from ``read_csv`` in the caller's transaction: DuckDB's reader can still raise
on hostile input despite ``store_rejects`` (e.g. a lone LF blank line in a CRLF file: "the CSV
parser state machine reached an invalid state"), and an error there would abort the nightly run's
transaction instead of quarantining one file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from tkpk.db import sql_literal
from tkpk.ingest.schema import EXTRA_FILE_REASONS

if TYPE_CHECKING:
    from tkpk.ingest.csv_bytes import LineScan

FILE_TOO_LARGE = EXTRA_FILE_REASONS[0]

#: Bytes streamed per step (hash, validate, transcode).
CHUNK_BYTES = 4 * 1024 * 1024
#: Keys of ``extra`` on a malformed row.
MALFORMED_LINE_KEY = "_line"
MALFORMED_ERROR_KEY = "_error"

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BINARY_MAGICS = {
    b"\x1f\x8b": "a gzip archive",
    b"%PDF": "a PDF document",
    b"Rar!": "a RAR archive",
    b"7z\xbc\xaf": "a 7-Zip archive",
    b"PK\x05\x06": "an empty zip archive",
}

#: Error of a record whose text holds U+FFFD (quarantined ``encoding_invalid``).
REPLACEMENT_ERROR = (
    "INVALID ENCODING: the row holds the replacement character U+FFFD (its text was garbled "
    "by an earlier conversion; kept as \\ufffd)"
)


@dataclass(frozen=True)
class FileNote:
    """A file-level observation that does not change the file's outcome: ``sheet_ignored``
    (``note`` the sheet's name, ``rows`` its non-empty rows) or ``file_ignored`` (``note`` why)."""

    reason: str
    note: str
    rows: int | None = None


class FileProblem(Exception):
    """A file-level problem: the file is quarantined with ``reason`` (a contract code).
    ``notes`` are the file's notes found before the problem (ignored sheets)."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.notes: tuple[FileNote, ...] = ()


@dataclass(frozen=True)
class Column:
    """One header cell: its position, the canonical column it maps to (or None), its name."""

    index: int
    canonical: str | None
    name: str


@dataclass(frozen=True)
class Header:
    """The header row of a file and how its cells map onto the kind's columns."""

    record_index: int
    columns: tuple[Column, ...]
    delimiter: str | None = None
    lines_through_header: int = 0

    @property
    def width(self) -> int:
        """Number of header cells (the data rows' width)."""
        return len(self.columns)

    def position_of(self, canonical: str) -> int | None:
        """Column position of a canonical column, or None."""
        for column in self.columns:
            if column.canonical == canonical:
                return column.index
        return None


@dataclass
class ReadStats:
    """What a reader saw besides the records."""

    file_format: str
    header: Header
    skipped_before_data: int = 0
    blank_lines_dropped: int = 0
    encoding: str | None = None
    scan: LineScan | None = None
    notes: tuple[FileNote, ...] = ()
    #: line breaks inside the values of the good rows, when the CSV reader counted them already
    #: (a file without rejected lines whose rows do not account for every line by themselves)
    value_line_breaks: int | None = None


def sniff_format(path: Path) -> str:
    """``xlsx`` (any zip-based spreadsheet), ``xls`` (OLE2) or ``csv`` (anything else, checked
    later as text). Raises FileProblem for known binary formats."""
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(_ZIP_MAGIC):
        return "xlsx"
    if head.startswith(_OLE_MAGIC):
        return "xls"
    for magic, what in _BINARY_MAGICS.items():
        if head.startswith(magic):
            raise FileProblem(
                "file_unreadable",
                f"{path.name}: the file is {what}, not a CSV or XLSX export; "
                "unpack or re-export it as CSV (UTF-8) or XLSX and drop it again.",
            )
    return "csv"


def mark_replacement_rows(cur: duckdb.DuckDBPyConnection, header: Header) -> None:
    """Records of the table ``_records`` whose cells hold U+FFFD become rejected records
    (``INVALID ENCODING``, quarantined ``encoding_invalid``): their cells joined by the delimiter
    (``;`` for a spreadsheet), each U+FFFD written as the text ``\\ufffd``, are kept as the raw
    line. No replacement character reaches the accepted rows."""
    width = header.width
    hit = " or ".join(f"contains(c{i}, '\ufffd')" for i in range(width))
    delimiter = sql_literal(header.delimiter or ";")
    joined = ", ".join(f"coalesce(replace(c{i}, '\ufffd', '\\ufffd'), '')" for i in range(width))
    nulls = ", ".join(f"c{i} = null" for i in range(width))
    cur.execute(
        f"""
        update _records set malformed = true, _suspect = true,
            raw_line = concat_ws({delimiter}, {joined}), error = {sql_literal(REPLACEMENT_ERROR)},
            {nulls}
        where not malformed and ({hit})
        """
    )
