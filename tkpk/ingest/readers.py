"""Read one raw file (CSV or spreadsheet) into a temporary table of text records.

Both readers leave, on the DuckDB connection they are given (a cursor of its own, so a failing
read never aborts the caller's transaction), a temporary table ``_records``:

``pos`` (file order of the records after the header), ``c0 .. cN`` VARCHAR (one per header
cell), ``n0 .. nN`` BOOLEAN (the cell was a numeric spreadsheet cell), ``malformed`` BOOLEAN,
``raw_line`` and ``error`` VARCHAR (the text and DuckDB error of a rejected CSV line).

:func:`classify_records` then tells data rows from blank, total, signature and column-numbering
lines and numbers the data rows; :mod:`tkpk.ingest.raw` inserts them into ``raw_<kind>``.

CSV: delimiter (``;``, ``,``, tab) and header row are sniffed from the first lines; encoding is
UTF-16 with a BOM, else UTF-8 (with or without BOM) when the file is valid UTF-8 or holds a valid
UTF-8 multi-byte sequence (its rows with invalid bytes are rejected, ``encoding_invalid``), else
Windows-1252; UTF-16 and Windows-1252 are transcoded to a UTF-8 temporary file in streamed
chunks (bytes that do not decode become invalid UTF-8, so their rows are rejected too);
DuckDB's ``read_csv`` reads every value as text with ``store_rejects`` so malformed lines are
kept. Every physical line of the file is accounted for
(header region + rows + line breaks inside quoted values + rejected lines + blank lines): when
DuckDB's parallel reader loses lines (an unbalanced quote, a line longer than its buffer) the file
is quarantined rather than silently shortened. The bytes are scanned once in large blocks (line
breaks counted, NUL bytes and over-long lines found at C speed); blank lines and line breaks inside
values are only looked for when the rows and rejected lines do not already account for every line.

The read stays on its own cursor (the rows reach the warehouse as Arrow batches) rather than
inserting straight from ``read_csv`` in the caller's transaction: DuckDB's reader can still raise
on hostile input despite ``store_rejects`` (e.g. a lone LF blank line in a CRLF file: "the CSV
parser state machine reached an invalid state"), and an error there would abort the nightly run's
transaction instead of quarantining one file.

Spreadsheets (XLSX, also XLS/ODS): python-calamine, first sheet only (later sheets with a
non-empty cell are noted ``sheet_ignored``), after zip-bomb checks of the declared and actual
decompressed size and of the cell count.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import io
import mmap
import re
import uuid
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from tkpk.config import Limits
from tkpk.db import sql_literal
from tkpk.ingest.schema import EXTRA_FILE_REASONS, REQUIRED, alias_map, header_key

FILE_TOO_LARGE = EXTRA_FILE_REASONS[0]

#: Bytes streamed per step (hash, validate, transcode).
CHUNK_BYTES = 4 * 1024 * 1024
#: The header must be among the first records.
HEADER_SEARCH_RECORDS = 60
#: Bytes of the file looked at to find the header.
HEADER_SEARCH_BYTES = 1024 * 1024
#: A header row matches at least this many distinct canonical columns of the kind.
HEADER_MIN_MATCHES = 2
DELIMITERS = (";", ",", "\t")
#: Columns whose spreadsheet cell type is kept (numeric cells lose NIK digits).
NUMERIC_FLAG_COLUMNS = ("NIK", "NO_KK")
#: Keys of ``extra`` on a malformed row.
MALFORMED_LINE_KEY = "_line"
MALFORMED_ERROR_KEY = "_error"
#: A rejected line's text kept in ``extra`` is cut to this many characters.
MAX_KEPT_LINE_CHARS = 100_000
#: Rows converted to Arrow per batch when reading a spreadsheet.
SHEET_BATCH_ROWS = 100_000

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BINARY_MAGICS = {
    b"\x1f\x8b": "a gzip archive",
    b"%PDF": "a PDF document",
    b"Rar!": "a RAR archive",
    b"7z\xbc\xaf": "a 7-Zip archive",
    b"PK\x05\x06": "an empty zip archive",
}
_TOTAL_LINE = r"^(JUMLAH|TOTAL)(\b|$)"
#: U+FFFD, the replacement character, in UTF-8.
REPLACEMENT_UTF8 = "\ufffd".encode()
#: Error of a record whose text holds U+FFFD (quarantined ``encoding_invalid``).
REPLACEMENT_ERROR = (
    "INVALID ENCODING: the row holds the replacement character U+FFFD (its text was garbled "
    "by an earlier conversion; kept as \\ufffd)"
)


#: File note: a sheet after the first holds non-empty cells (it is not read).
SHEET_IGNORED = "sheet_ignored"


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


# --------------------------------------------------------------------------------------------
# Header detection (shared)
# --------------------------------------------------------------------------------------------


@functools.cache
def _aliases(kind: str) -> dict[str, str]:
    """The kind's alias map, built once per process (header search tries up to 60 records
    under three delimiters: rebuilding it per record was most of a file's header search)."""
    return alias_map(kind)


def match_header(cells: Sequence[str | None], kind: str) -> tuple[Column, ...]:
    """Map header cells onto the kind's canonical columns (first occurrence wins).

    Unmatched and repeated cells keep their own name (kept in ``extra``); an empty header cell
    is named ``column_<n>`` (1-based).
    """
    aliases = _aliases(kind)
    used: set[str] = set()
    names: set[str] = set()
    columns = []
    for index, cell in enumerate(cells):
        text = _clean_name(cell or "")
        canonical = aliases.get(header_key(text)) if text else None
        if canonical in used:
            canonical = None
        if canonical:
            used.add(canonical)
        name = text or f"column_{index + 1}"
        while name in names:
            name = f"{name}_{index + 1}"
        names.add(name)
        columns.append(Column(index, canonical, name))
    return tuple(columns)


def _clean_name(text: str) -> str:
    """A header cell as a safe name: no BOM, control characters or outer spaces."""
    cleaned = re.sub(r"[\x00-\x1f\x7f\ufeff]", " ", str(text))
    return re.sub(r"\s+", " ", cleaned).strip()[:200]


def _matches(columns: Iterable[Column]) -> int:
    return sum(1 for c in columns if c.canonical)


def find_header(records: Sequence[Sequence[str | None]], kind: str) -> int | None:
    """Index of the first record that matches enough of the kind's header aliases, or None."""
    for index, record in enumerate(records[:HEADER_SEARCH_RECORDS]):
        if _matches(match_header(record, kind)) >= HEADER_MIN_MATCHES:
            return index
    return None


#: More header cells than this is not an export of the contract (and would bloat every query).
MAX_COLUMNS = 2000


def require_columns(header: Header, kind: str, name: str) -> None:
    """Raise ``file_too_large`` for an absurdly wide header and ``column_missing`` naming the
    required columns the header lacks."""
    if header.width > MAX_COLUMNS:
        raise FileProblem(
            FILE_TOO_LARGE,
            f"{name}: the header has {header.width} columns, more than {MAX_COLUMNS}; check the "
            "export (wrong delimiter or a corrupt file) and drop a corrected file.",
        )
    missing = missing_required(header, kind)
    if missing:
        found = ", ".join(c.name for c in header.columns)
        raise FileProblem(
            "column_missing",
            f"{name}: required column(s) {', '.join(missing)} missing (header found: {found}); "
            "any alias of docs/contract/raw-extracts.md is accepted; add the column to the export "
            "and drop "
            "the file again.",
        )


def missing_required(header: Header, kind: str) -> list[str]:
    """Required columns (any alias; ``A/B`` means either) the header lacks."""
    present = {c.canonical for c in header.columns if c.canonical}
    missing = []
    for required in REQUIRED[kind]:
        options = required if isinstance(required, tuple) else (required,)
        if not present.intersection(options):
            missing.append("/".join(options))
    return missing


def suspect_sql(header: Header, kind: str) -> str:
    """SQL over ``c<i>``: the row lacks a required value (every option of one required column
    is null). Blank, total and signature lines are such rows; data rows with every required
    column filled are never examined further. Stored as ``_suspect`` when the records are read,
    so classification filters on one boolean column instead of scanning every cell."""
    return " or ".join(
        "("
        + " and ".join(
            f"c{p} is null"
            for o in (item if isinstance(item, tuple) else (item,))
            if (p := header.position_of(o)) is not None
        )
        + ")"
        for item in REQUIRED[kind]
    )


# --------------------------------------------------------------------------------------------
# Format sniffing
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------


@dataclass
class LineScan:
    """Streamed facts about the bytes DuckDB will read: line breaks, NUL bytes and over-long
    lines. Cost per chunk: one ``count`` of line breaks and one ``find`` of a NUL byte (both
    C speed), plus a look at a few aligned windows for over-long lines.

    Blank lines are not looked for here: :func:`blank_line_offsets` finds them only when the
    rows DuckDB read do not already account for every line (see :func:`_read_text`)."""

    max_line_bytes: int
    newlines: int = 0
    nul_bytes: int = 0
    first_nul_at: int | None = None
    long_line_at: int | None = None
    #: the bytes hold a U+FFFD replacement character (text already garbled by a conversion)
    replacement_char: bool = False
    size: int = 0
    last_byte: int | None = None
    _last_newline: int = -1
    _tail: bytes = b""

    def feed(self, chunk: bytes) -> None:
        """Scan the next chunk (any size)."""
        if not chunk:
            return
        offset = self.size
        first_nul = chunk.find(b"\x00")
        if first_nul >= 0:
            if self.first_nul_at is None:
                self.first_nul_at = offset + first_nul
            self.nul_bytes += chunk.count(b"\x00")
        if self.long_line_at is None:
            self._scan_line_lengths(chunk, offset)
        self.newlines += chunk.count(b"\n")
        if not self.replacement_char:
            self.replacement_char = (
                REPLACEMENT_UTF8 in chunk or REPLACEMENT_UTF8 in self._tail + chunk[:2]
            )
        self._tail = chunk[-2:]
        self.size += len(chunk)
        self.last_byte = chunk[-1]

    def finish(self) -> None:
        """Check the last line (no line break after it)."""
        if self.long_line_at is None and self.size - self._last_newline - 1 > self.max_line_bytes:
            self.long_line_at = self._last_newline + 1

    def _long(self, start: int, end: int) -> bool:
        """Record a line [start, end) longer than the limit."""
        if end - start > self.max_line_bytes:
            self.long_line_at = start
            return True
        return False

    def _scan_line_lengths(self, chunk: bytes, offset: int) -> None:
        """Any run without a line break longer than the limit. Inside the chunk such a run
        contains a whole aligned window of half the limit without a line break, so only those
        windows are examined."""
        first = chunk.find(b"\n")
        if first < 0:
            self._long(self._last_newline + 1, offset + len(chunk))
            return
        if self._long(self._last_newline + 1, offset + first):
            return
        half = max(1, self.max_line_bytes // 2)
        for window in range(0, len(chunk), half):
            if chunk.find(b"\n", window, window + half) >= 0:
                continue
            before = chunk.rfind(b"\n", 0, window)
            after = chunk.find(b"\n", window + half)
            if after < 0:
                break  # the run reaches the chunk's end: checked with the next chunk
            if self._long(offset + before + 1, offset + after):
                return
        self._last_newline = offset + chunk.rfind(b"\n")

    @property
    def physical_lines(self) -> int:
        """Lines in the file (a last line without a line break counts)."""
        return self.newlines + (1 if self.size and self.last_byte != ord("\n") else 0)


def blank_line_offsets(path: Path, start: int = 0) -> list[int]:
    """Byte offsets (at or after ``start``) of the empty lines of a CSV that are not inside a
    quoted value (an even number of quotes before them), streamed in chunks.

    Only called when needed (a file with rejected lines, or whose rows do not account for every
    line): a clean file is not read a second time.
    """
    offsets: list[int] = []
    quotes = 0
    tail = b""
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            data = tail + chunk
            base = size - len(tail)
            found = []
            for pattern in (b"\n\n", b"\n\r\n"):
                at = data.find(pattern)
                while at >= 0:
                    if at + len(pattern) > len(tail):
                        found.append(at)
                    at = data.find(pattern, at + 1)
            counted = len(tail)
            for at in sorted(found):
                if at > counted:
                    quotes += data.count(b'"', counted, at)
                    counted = at
                if quotes % 2 == 0 and base + at + 1 >= start:
                    offsets.append(base + at + 1)
            quotes += data.count(b'"', counted)
            size += len(chunk)
            tail = data[-2:]
    return offsets


def _problem_for_scan(scan: LineScan, name: str, limits: Limits) -> None:
    """Raise for NUL bytes and over-long lines."""
    if scan.nul_bytes:
        raise FileProblem(
            "file_unreadable",
            f"{name}: contains {scan.nul_bytes} NUL byte(s) (first at byte {scan.first_nul_at}), "
            "so it is not a plain-text CSV (corrupt copy, or UTF-16 without a byte-order mark); "
            "re-export it as CSV (UTF-8) and drop it again.",
        )
    if scan.long_line_at is not None:
        raise FileProblem(
            FILE_TOO_LARGE,
            f"{name}: a line starting at byte {scan.long_line_at} is longer than the limit of "
            f"{limits.max_line_bytes} bytes (TKPK_MAX_LINE_BYTES); check the export (a missing "
            "line break?) and drop a corrected file.",
        )


def prepare_text(path: Path, temp_dir: Path, limits: Limits) -> tuple[Path, str, LineScan]:
    """The file DuckDB will read first (``path`` itself, or a transcoded UTF-8 copy of a UTF-16
    file with a byte-order mark), its encoding, and the scan of its bytes.

    UTF-8 validity is left to DuckDB (invalid lines are rejected as ``INVALID ENCODING``; see
    :func:`read_csv_records` for what follows): one pass less over big UTF-8 files.
    """
    with path.open("rb") as handle:
        head = handle.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _transcode(path, temp_dir, "utf-16", limits)
    scan = LineScan(limits.max_line_bytes)
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            scan.feed(chunk)
    scan.finish()
    return path, "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8", scan


#: Name of the codec error handler that marks undecodable bytes (see :func:`_mark_undecodable`).
MARK_UNDECODABLE = "tkpk-mark-undecodable"
def _mark_undecodable(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: an undecodable sequence becomes lone surrogates that
    ``surrogateescape`` encodes back as bytes that are invalid UTF-8 in the transcoded file: the
    bytes themselves when they are all UTF-8 continuation bytes (0x80-0xBF, e.g. the bytes
    Windows-1252 leaves undefined: a stray continuation byte is never valid after a complete
    character), else one 0xFF byte."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    if all(0x80 <= b <= 0xBF for b in bad):
        return "".join(chr(0xDC00 + b) for b in bad), error.end
    return "\udcff", error.end


codecs.register_error(MARK_UNDECODABLE, _mark_undecodable)

#: A valid UTF-8 multi-byte sequence (2 to 4 bytes, no overlong form, no surrogate).
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)


#: Byte classes for the pre-filter of :func:`has_utf8_multibyte`: ``L`` a lead byte of a
#: multi-byte sequence (0xC2-0xF4), ``C`` a continuation byte (0x80-0xBF), ``.`` any other.
_BYTE_CLASS = bytes(
    ord("L") if 0xC2 <= b <= 0xF4 else ord("C") if 0x80 <= b <= 0xBF else ord(".")
    for b in range(256)
)


def has_utf8_multibyte(path: Path) -> bool:
    """True when the file holds at least one valid UTF-8 multi-byte sequence (streamed in
    chunks, stops at the first one; a sequence across a chunk boundary is found too).

    Every such sequence starts with a lead byte followed by a continuation byte: a chunk
    without that pair (classified with ``bytes.translate``, C speed) is passed over, and only a
    chunk with one is searched with the exact pattern."""
    tail = b""
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            window = tail + chunk[:3] if tail else b""
            for part in (window, chunk):
                if b"LC" in part.translate(_BYTE_CLASS) and _UTF8_MULTIBYTE.search(part):
                    return True
            tail = chunk[-3:]
    return False


def _transcode(path: Path, temp_dir: Path, encoding: str, limits: Limits):
    """Stream ``path`` from ``encoding`` into a UTF-8 temporary file; scan the output. A byte
    sequence that does not decode (a broken UTF-16 surrogate, a byte Windows-1252 leaves
    undefined) becomes invalid UTF-8 (:func:`_mark_undecodable`), so its line is rejected and
    quarantined (``encoding_invalid``) instead of carrying a replacement character."""
    temp_dir.mkdir(parents=True, exist_ok=True)
    target = temp_dir / f"transcoded-{uuid.uuid4().hex}.csv"
    scan = LineScan(limits.max_line_bytes)
    decoder = codecs.getincrementaldecoder(encoding)(errors=MARK_UNDECODABLE)
    with path.open("rb") as source, target.open("wb") as sink:
        while chunk := source.read(CHUNK_BYTES):
            text = decoder.decode(chunk)
            if encoding == "utf-16":
                text = text.lstrip("\ufeff") if scan.size == 0 else text
            out = text.encode("utf-8", "surrogateescape")
            scan.feed(out)
            sink.write(out)
        out = decoder.decode(b"", final=True).encode("utf-8", "surrogateescape")
        scan.feed(out)
        sink.write(out)
    scan.finish()
    return target, encoding, scan


def _header_region(path: Path, kind: str, name: str) -> tuple[Header, int]:
    """Sniff delimiter and header in the first records; returns the header and the byte
    offset where data starts."""
    with path.open("rb") as handle:
        prefix = handle.read(HEADER_SEARCH_BYTES)
        at_end = not handle.read(1)
    if not at_end:
        cut = prefix.rfind(b"\n")
        prefix = prefix[: cut + 1] if cut >= 0 else b""
    text = prefix.decode("utf-8", errors="backslashreplace")
    if text.startswith("\ufeff"):
        text = text[1:]
        bom = 3
    else:
        bom = 0
    best: tuple[int, int, str, list[list[str]]] | None = None
    for delimiter in DELIMITERS:
        records, line_ends = _parse_records(text, delimiter)
        index = find_header(records, kind)
        if index is None:
            continue
        score = _matches(match_header(records[index], kind))
        if best is None or (index, -score) < (best[0], -best[1]):
            best = (index, score, delimiter, records, line_ends)
    if best is None:
        raise FileProblem(
            "header_missing",
            f"{name}: no header row with the contract's column names was found in the "
            "first lines; check that the file is the right export (see "
            "docs/contract/raw-extracts.md) and "
            "that its header row is present.",
        )
    index, _, delimiter, records, line_ends = best
    lines_through_header = line_ends[index]
    header = Header(
        record_index=index,
        columns=match_header(records[index], kind),
        delimiter=delimiter,
        lines_through_header=lines_through_header,
    )
    data_start = bom + _nth_line_end(prefix[bom:], lines_through_header)
    return header, data_start


def _parse_records(text: str, delimiter: str) -> tuple[list[list[str]], list[int]]:
    """Records of ``text`` with the physical line count at each record's end."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')
    records, line_ends = [], []
    try:
        for record in reader:
            records.append(record)
            line_ends.append(reader.line_num)
            if len(records) >= HEADER_SEARCH_RECORDS:
                break
    except csv.Error:
        pass
    return records, line_ends


def _nth_line_end(data: bytes, lines: int) -> int:
    """Byte offset just after the ``lines``-th line break."""
    at = -1
    for _ in range(lines):
        nxt = data.find(b"\n", at + 1)
        if nxt < 0:
            return len(data)
        at = nxt
    return at + 1


def read_csv_records(
    cur: duckdb.DuckDBPyConnection, path: Path, kind: str, temp_dir: Path, limits: Limits
) -> ReadStats:
    """Read a CSV file into ``_records`` on ``cur`` (see the module docstring).

    Encoding, as the input contract says: UTF-16 when the file starts with a UTF-16 byte-order
    mark (transcoded); else UTF-8 when DuckDB finds no invalid line, or when the file holds at
    least one valid UTF-8 multi-byte sequence (:func:`has_utf8_multibyte`, looked for only when
    a line is invalid); else (no valid multi-byte sequence at all) Windows-1252, transcoded in
    streamed chunks (DuckDB's latin-1 differs from cp1252 in 0x80-0x9F) and read again. In every
    encoding a line whose bytes do not decode is kept as a rejected record whose error starts
    with ``INVALID ENCODING`` (quarantined ``encoding_invalid``; its text has ``\\xNN`` escapes
    for the bytes that do not decode, :func:`_restore_undecodable_lines`): the other lines keep
    their text, and no replacement character is ever produced (rows whose text already holds one
    are rejected the same way, :func:`mark_replacement_rows`).
    """
    source, encoding, scan = prepare_text(path, temp_dir, limits)
    try:
        stats = _read_text(cur, path.name, source, encoding, scan, kind, limits)
        if stats is None:
            source, encoding, scan = _transcode(path, temp_dir, "cp1252", limits)
            stats = _read_text(cur, path.name, source, encoding, scan, kind, limits)
        if stats is None:  # pragma: no cover - a transcoded file is valid UTF-8
            raise FileProblem("file_unreadable", f"{path.name}: not a text file.")
        return stats
    finally:
        if source != path:
            source.unlink(missing_ok=True)


def _read_text(
    cur: duckdb.DuckDBPyConnection,
    name: str,
    source: Path,
    encoding: str,
    scan: LineScan,
    kind: str,
    limits: Limits,
) -> ReadStats | None:
    """One read of a text file; None when some of its lines are not valid UTF-8 and the file
    holds no valid UTF-8 multi-byte sequence (it is then read as Windows-1252)."""
    if scan.size == 0:
        raise FileProblem(
            "header_missing", f"{name}: the file is empty; drop the complete export again."
        )
    _problem_for_scan(scan, name, limits)
    header, data_start = _header_region(source, kind, name)
    require_columns(header, kind, name)
    _duckdb_read(cur, source, header, kind, limits)
    invalid = cur.execute(
        "select count(*) from _rej where error_type = 'INVALID ENCODING'"
    ).fetchall()[0][0]
    if invalid and encoding.startswith("utf-8") and not has_utf8_multibyte(source):
        return None
    _check_unbalanced_quotes(cur, name)
    blanks = []
    if _needs_blank_lines(cur, scan, header):
        blanks = blank_line_offsets(source, data_start)
    _restore_undecodable_lines(cur, source)
    _build_csv_records(cur, header, blanks, as_table=scan.replacement_char)
    if scan.replacement_char:
        mark_replacement_rows(cur, header)
    stats = ReadStats("csv", header, encoding=encoding, scan=scan)
    stats.skipped_before_data = header.record_index
    stats.blank_lines_dropped = len(blanks)
    return stats


def _needs_blank_lines(cur: duckdb.DuckDBPyConnection, scan: LineScan, header: Header) -> bool:
    """Whether the file's blank lines must be located: when DuckDB rejected lines (they are
    placed in file order past the blank lines DuckDB skips) or when the good rows and rejected
    lines do not already cover every line after the header. Every term of the line account is
    non-negative, so when they do, the file has no blank line (nor line break inside a value,
    nor lost line)."""
    good, rejected, rejected_inner = cur.execute(
        """
        select (select count(*) from _good), count(*),
               coalesce(sum(length(t) - length(replace(t, chr(10), ''))), 0)
        from (
            select any_value(trim(csv_line, chr(13) || chr(10))) as t from _rej group by line
        )
        """
    ).fetchall()[0]
    expected = scan.physical_lines - header.lines_through_header
    return rejected > 0 or good + rejected + rejected_inner != expected


def _duckdb_read(
    cur: duckdb.DuckDBPyConnection, source: Path, header: Header, kind: str, limits: Limits
) -> None:
    """DuckDB read: explicit dialect, every column text, rejected lines kept; each row's
    ``_suspect`` flag (:func:`suspect_sql`) computed on the way in."""
    columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(header.width))
    max_line = max(2 * limits.max_line_bytes, 64 * 1024)
    cur.execute("drop table if exists _good; drop table if exists _rej; drop table if exists _rs")
    cur.execute(
        f"""
        create temp table _good as
        select *, ({suspect_sql(header, kind)}) as _suspect from read_csv(
            ?, delim = ?, quote = '"', escape = '"', header = false, skip = ?,
            columns = {{{columns}}}, auto_detect = false, strict_mode = true,
            null_padding = false, store_rejects = true, rejects_table = '_rej',
            rejects_scan = '_rs', max_line_size = {max_line},
            rejects_line_size_limit = {max_line},
            buffer_size = {max(16 * max_line, 1024 * 1024)}, encoding = 'utf-8'
        )
        """,
        [str(source), header.delimiter, header.lines_through_header],
    )


def _check_unbalanced_quotes(cur: duckdb.DuckDBPyConnection, name: str) -> None:
    """A quote that is never closed swallows the rest of the file: quarantine the file."""
    row = cur.execute(
        """
        select min(line) from _rej
        where error_type = 'UNQUOTED VALUE'
          and strpos(trim(csv_line, chr(13) || chr(10)), chr(10)) > 0
        """
    ).fetchall()[0]
    if row and row[0] is not None:
        raise FileProblem(
            "file_unreadable",
            f"{name}: a quoted value opened on record {row[0]} is never closed, so the rest of "
            "the file cannot be split into rows; fix the quote (or re-export) and drop the "
            "file again.",
        )


def account_lines(cur: duckdb.DuckDBPyConnection, name: str, stats: ReadStats) -> None:
    """Every physical line of a CSV must be a header-region line, part of a good row (its first
    line or a line break inside a value), a rejected line or a blank line; otherwise DuckDB's
    reader lost lines and the file is quarantined rather than silently shortened. Line breaks
    inside values are only counted when the other lines do not add up already."""
    scan = stats.scan
    if scan is None:
        return
    good, rejected, rejected_inner = cur.execute(
        """
        select (select count(*) from _records where not malformed), count(*),
               coalesce(sum(length(t) - length(replace(t, chr(10), ''))), 0)
        from (select trim(raw_line, chr(13) || chr(10)) as t from _records where malformed)
        """
    ).fetchall()[0]
    expected = scan.physical_lines - stats.header.lines_through_header
    accounted = good + rejected + rejected_inner + stats.blank_lines_dropped
    if accounted < expected:
        width = stats.header.width
        breaks = " + ".join(
            f"coalesce(length(c{i}) - length(replace(c{i}, chr(10), '')), 0)" for i in range(width)
        )
        any_break = " or ".join(f"contains(c{i}, chr(10))" for i in range(width))
        accounted += cur.execute(
            f"select coalesce(sum({breaks}), 0) from _records where not malformed and ({any_break})"
        ).fetchall()[0][0]
    if accounted != expected:
        raise FileProblem(
            "file_unreadable",
            f"{name}: the CSV reader accounted for {accounted} of the {expected} lines after the "
            "header: a quote that is never closed or a broken line break; fix the file (or "
            "re-export it) and drop it again.",
        )


def _restore_undecodable_lines(cur: duckdb.DuckDBPyConnection, source: Path) -> None:
    """Give the lines DuckDB rejected as ``INVALID ENCODING`` their own bytes back.

    DuckDB keeps such a line with a ``?`` for each byte that does not decode, which may hide a
    delimiter next to it. The line's bytes (from its 1-based ``line_byte_position``, as many
    bytes as DuckDB's text, one ``?`` per byte) are read again from the file and kept with
    Python's ``\\xNN`` escapes for the bytes that do not decode: the quarantined row shows what
    the file holds, and never a replacement character. One slice of the memory-mapped file per
    rejected line (1,000,000 rejected lines: 2.5 s CPU with the update)."""
    rows = cur.execute(
        """
        select line, min(line_byte_position), max(strlen(csv_line))
        from _rej where error_type = 'INVALID ENCODING' group by line order by line
        """
    ).fetchall()
    if not rows:
        return
    with source.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as m:
        # DuckDB's line_byte_position is 1-based
        texts = [
            m[max(at - 1, 0) : max(at - 1, 0) + min(length, MAX_KEPT_LINE_CHARS)].decode(
                "utf-8", "backslashreplace"
            )
            for _, at, length in rows
        ]
    cur.execute(
        "create or replace temp table _undecodable as "
        "select unnest(?::bigint[]) as line, unnest(?::varchar[]) as csv_line",
        [[r[0] for r in rows], texts],
    )
    cur.execute(
        "update _rej set csv_line = u.csv_line from _undecodable as u "
        "where _rej.line = u.line and _rej.error_type = 'INVALID ENCODING'"
    )
    cur.execute("drop table _undecodable")


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


def _build_csv_records(
    cur: duckdb.DuckDBPyConnection, header: Header, blanks: list[int], as_table: bool = False
) -> None:
    """``_records``: good rows and rejected lines with their position in file order.

    Without rejected lines the good rows' order is their position (a view, no copy; a table
    with ``as_table``). Otherwise a
    rejected line's record number (DuckDB's ``line``, counting skipped and blank lines) minus the
    blank lines before it gives its position, and good rows fill the other positions in order.
    """
    width = header.width
    cells = ", ".join(f"c{i}" for i in range(width))
    nulls = ", ".join(f"null::varchar as c{i}" for i in range(width))
    flags = ", ".join(f"false as n{i}" for i in range(width))
    rejected = cur.execute("select count(*) from _rej").fetchall()[0][0]
    if not rejected:
        what = "table" if as_table else "view"
        cur.execute(
            f"""
            create or replace temp {what} _records as
            select rowid + 1 as pos, {cells}, {flags}, false as malformed,
                   null::varchar as raw_line, null::varchar as error, _suspect
            from _good
            """
        )
        return
    cur.execute("drop table if exists _blank")
    cur.execute("create temp table _blank as select unnest(?::bigint[]) as offset_", [blanks])
    cur.execute(
        f"""
        create or replace temp table _records as
        with rejected as (
            select line, min(line_byte_position) as at, any_value(error_type) as error_type,
                   min(error_message) as error_message,
                   any_value(csv_line) as csv_line
            from _rej group by line
        ),
        placed as (
            select r.*,
                   r.line - {header.lines_through_header}
                   - (select count(*) from _blank b where b.offset_ < r.at) as p,
                   row_number() over (order by r.line) as j
            from rejected r
        ),
        gaps as (
            select p - j as good_before, max(j) as j from placed group by p - j
        ),
        good as (
            select rowid + 1 as k, * from _good
        ),
        good_placed as (
            select g.k + coalesce(x.j, 0) as pos, g.* exclude (k)
            from good g asof left join gaps x on g.k > x.good_before
        ),
        final as (
            select pos, {cells}, {flags}, false as malformed,
                   null::varchar as raw_line, null::varchar as error, _suspect
            from good_placed
            union all
            select p as pos, {nulls}, {flags}, true as malformed,
                   left(trim(csv_line, chr(13) || chr(10)), {MAX_KEPT_LINE_CHARS}) as raw_line,
                   error_type || ': ' || coalesce(error_message, '') as error,
                   true as _suspect
            from placed
        )
        select * from final
        """
    )
    cur.execute("drop table _good; drop table _blank")


# --------------------------------------------------------------------------------------------
# Spreadsheets
# --------------------------------------------------------------------------------------------


def check_zip(path: Path, limits: Limits) -> None:
    """Zip-bomb and integrity checks before any parsing: declared and actual decompressed
    size within ``max_xlsx_uncompressed_bytes``, and the worksheets' cells (``<c`` elements,
    counted while streaming) within ``max_xlsx_cells``."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            names = {m.filename for m in members}
            if not ({"xl/workbook.xml", "xl/workbook.bin"} & names or "content.xml" in names):
                raise FileProblem(
                    "file_unreadable",
                    f"{path.name}: a zip archive that is not a spreadsheet; drop the XLSX or "
                    "CSV export itself.",
                )
            declared = sum(m.file_size for m in members)
            if declared > limits.max_xlsx_uncompressed_bytes:
                raise _too_large_unpacked(path.name, declared, limits)
            actual = cells = 0
            for member in members:
                is_sheet = member.filename.startswith("xl/worksheets/")
                tail = b""
                with archive.open(member) as handle:
                    while chunk := handle.read(CHUNK_BYTES):
                        actual += len(chunk)
                        if actual > limits.max_xlsx_uncompressed_bytes:
                            raise _too_large_unpacked(path.name, actual, limits)
                        if is_sheet:
                            window = tail + chunk
                            cells += window.count(b"<c ") + window.count(b":c ")
                            cells -= tail.count(b"<c ") + tail.count(b":c ")
                            tail = chunk[-3:]
                if cells > limits.max_xlsx_cells:
                    raise FileProblem(
                        FILE_TOO_LARGE,
                        f"{path.name}: its sheets hold more than {limits.max_xlsx_cells} cells "
                        "(TKPK_MAX_XLSX_CELLS); split the export or raise the limit.",
                    )
    except FileProblem:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as error:
        raise FileProblem(
            "file_unreadable",
            f"{path.name}: the spreadsheet is damaged or truncated ({error}); export it again "
            "and drop the new file.",
        ) from None


def _too_large_unpacked(name: str, size: int, limits: Limits) -> FileProblem:
    return FileProblem(
        FILE_TOO_LARGE,
        f"{name}: unpacks to more than {limits.max_xlsx_uncompressed_bytes} bytes "
        f"(at least {size}; TKPK_MAX_XLSX_UNCOMPRESSED_BYTES); this is not a normal export "
        "(zip bomb?); check the file's origin, or split the export and raise the limit.",
    )


def _cell_text(value: object) -> str | None:
    """A spreadsheet cell as text: integral numbers as digits, other numbers with a decimal
    comma, dates as ISO ``YYYY-MM-DD`` (a time of day is kept after a space)."""
    if value is None:
        return None
    cls = value.__class__
    if cls is str:
        return value or None
    if cls is float:
        if value.is_integer() and abs(value) < 1e18:
            return str(int(value))
        return format(value, ".15g").replace(".", ",")
    if cls is bool:
        return "TRUE" if value else "FALSE"
    if cls is int:
        return str(value)
    if cls is dt.datetime:
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if cls in (dt.date, dt.time):
        return value.isoformat()
    return str(value)


_VECTOR_CLASSES = {str, float, int, dt.date, dt.datetime}


def _column_arrays(
    rows: list[list[object]], width: int, flagged: set[int]
) -> tuple[list[pa.Array], list[pa.Array]]:
    """Columns of ``rows`` as text arrays and numeric-flag arrays. Arrow compute formats text,
    numbers and dates; rarer cell types (booleans, times) go through :func:`_cell_text`."""
    texts, flags = [], []
    columns = list(zip(*rows, strict=True))[:width] if rows else [() for _ in range(width)]
    for index, column in enumerate(columns):
        classes = set(map(type, column))
        if classes <= {str}:
            array = pa.array(column, pa.string())
            texts.append(pc.if_else(pc.equal(array, ""), None, array))
        elif classes <= _VECTOR_CLASSES:
            texts.append(_mixed_text(column, classes))
        else:
            texts.append(pa.array([_cell_text(v) for v in column], pa.string()))
        if index in flagged and classes & {float, int}:
            flags.append(pa.array([v.__class__ in (float, int) for v in column], pa.bool_()))
        else:
            flags.append(pa.repeat(pa.scalar(False), len(column)))
    return texts, flags


def _only(column: Sequence[object], cls: type) -> list[object]:
    """The column's cells of exactly class ``cls``, None elsewhere."""
    return [v if v.__class__ is cls else None for v in column]


def _mixed_text(column: Sequence[object], classes: set[type]) -> pa.Array:
    """Text of a column of strings, numbers and dates, formatted by Arrow compute: integral
    numbers as digits, dates as ISO (a datetime at midnight as its date)."""
    parts = []
    if str in classes:
        strings = pa.array(_only(column, str), pa.string())
        parts.append(pc.if_else(pc.equal(strings, ""), None, strings))
    if classes & {float, int}:
        values = [v if v.__class__ in (float, int) else None for v in column]
        numbers = pa.array(values, pa.float64())
        integral = pc.and_(pc.equal(numbers, pc.floor(numbers)), pc.less(pc.abs(numbers), 1e18))
        if pc.all(pc.or_kleene(integral, pc.is_null(numbers))).as_py() is False:
            parts.append(pa.array([_cell_text(v) for v in values], pa.string()))
        else:
            parts.append(pc.cast(pc.cast(numbers, pa.int64()), pa.string()))
    if dt.date in classes:
        parts.append(pc.cast(pa.array(_only(column, dt.date), pa.date32()), pa.string()))
    if dt.datetime in classes:
        stamps = pa.array(_only(column, dt.datetime), pa.timestamp("s"))
        days = pc.cast(stamps, pa.date32())
        midnight = pc.equal(pc.cast(days, pa.timestamp("s")), stamps)
        parts.append(
            pc.if_else(
                midnight, pc.cast(days, pa.string()), pc.strftime(stamps, "%Y-%m-%d %H:%M:%S")
            )
        )
    return pc.coalesce(*parts) if len(parts) > 1 else parts[0]


def read_sheet_records(
    cur: duckdb.DuckDBPyConnection, path: Path, kind: str, limits: Limits, file_format: str
) -> ReadStats:
    """Read the first sheet of a spreadsheet into ``_records`` on ``cur``; the later sheets that
    hold a non-empty cell are noted (``sheet_ignored``) in the stats, or in the problem raised."""
    from python_calamine import CalamineWorkbook

    if file_format == "xlsx":
        check_zip(path, limits)
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
    except Exception as error:  # calamine raises its own error types for damaged files
        raise FileProblem(
            "file_unreadable",
            f"{path.name}: the spreadsheet cannot be read ({type(error).__name__}); export it "
            "again as XLSX and drop the new file.",
        ) from None
    notes = ignored_sheets(workbook, limits)
    try:
        stats = _read_first_sheet(cur, path, kind, limits, file_format, workbook, sheet)
    except FileProblem as problem:
        problem.notes = notes
        raise
    stats.notes = notes
    return stats


def ignored_sheets(workbook: object, limits: Limits) -> tuple[FileNote, ...]:
    """A ``sheet_ignored`` note for every sheet after the first that holds a non-empty cell,
    with its number of non-empty rows (None when the sheet cannot be read or is larger than the
    cell limit, which is then not read)."""
    notes = []
    for index, name in enumerate(workbook.sheet_names[1:], start=1):
        try:
            sheet = workbook.get_sheet_by_index(index)
            if sheet.height * sheet.width > limits.max_xlsx_cells:
                notes.append(FileNote(SHEET_IGNORED, str(name), None))
                continue
            rows = sheet.to_python(skip_empty_area=True)
        except Exception:  # a chart sheet or a damaged sheet: noted, not read
            notes.append(FileNote(SHEET_IGNORED, str(name), None))
            continue
        filled = sum(1 for row in rows if any(v not in ("", None) for v in row))
        if filled:
            notes.append(FileNote(SHEET_IGNORED, str(name), filled))
    return tuple(notes)


def _read_first_sheet(
    cur: duckdb.DuckDBPyConnection,
    path: Path,
    kind: str,
    limits: Limits,
    file_format: str,
    workbook: object,
    sheet: object,
) -> ReadStats:
    """The body of :func:`read_sheet_records`: the first sheet into ``_records``."""
    height, width = sheet.height, sheet.width
    if height * width > limits.max_xlsx_cells:
        raise FileProblem(
            FILE_TOO_LARGE,
            f"{path.name}: the first sheet has {height} x {width} cells, more than the limit of "
            f"{limits.max_xlsx_cells} (TKPK_MAX_XLSX_CELLS); split the export or raise the "
            "limit.",
        )
    try:
        rows = sheet.to_python(skip_empty_area=False)
    except Exception as error:
        raise FileProblem(
            "file_unreadable",
            f"{path.name}: the first sheet cannot be read ({type(error).__name__}); export it "
            "again and drop the new file.",
        ) from None
    finally:
        workbook.close()
    if not rows or not any(any(v != "" for v in row) for row in rows[:HEADER_SEARCH_RECORDS]):
        raise FileProblem(
            "header_missing",
            f"{path.name}: the first sheet is empty; the data must be on the first sheet.",
        )
    head = [[_cell_text(v) for v in row] for row in rows[:HEADER_SEARCH_RECORDS]]
    index = find_header(head, kind)
    if index is None:
        raise FileProblem(
            "header_missing",
            f"{path.name}: no header row with the contract's column names was found at the top "
            "of the first sheet; check that it is the right export (see "
            "docs/contract/raw-extracts.md).",
        )
    header = Header(record_index=index, columns=match_header(head[index], kind))
    require_columns(header, kind, path.name)
    data = rows[index + 1 :]
    while data and all(v == "" or v is None for v in data[-1]):
        data.pop()  # trailing empty rows of the sheet's used range are not lines
    del rows
    flagged = {c.index for c in header.columns if c.canonical in NUMERIC_FLAG_COLUMNS}
    _load_sheet_rows(cur, data, header.width, flagged, suspect_sql(header, kind))
    mark_replacement_rows(cur, header)
    stats = ReadStats(file_format, header)
    stats.skipped_before_data = index
    return stats


def _load_sheet_rows(
    cur: duckdb.DuckDBPyConnection,
    data: list[list[object]],
    width: int,
    flagged: set[int],
    suspect: str,
) -> None:
    """Convert the sheet's rows to Arrow in batches and store them as ``_records`` (with the
    ``_suspect`` flag of :func:`suspect_sql`)."""
    text_cols = [f"c{i}" for i in range(width)]
    flag_cols = [f"n{i}" for i in range(width)]
    cur.execute("drop table if exists _records")
    cur.execute(
        "create temp table _records (pos bigint, "
        + ", ".join(f"{c} varchar" for c in text_cols)
        + ", "
        + ", ".join(f"{c} boolean" for c in flag_cols)
        + ", malformed boolean, raw_line varchar, error varchar, _suspect boolean)"
    )
    for start in range(0, len(data), SHEET_BATCH_ROWS):
        batch = data[start : start + SHEET_BATCH_ROWS]
        texts, flags = _column_arrays(batch, width, flagged)
        n = len(batch)
        arrow_batch = pa.table(  # noqa: F841  (read by DuckDB's replacement scan)
            [pa.array(range(start + 1, start + n + 1), pa.int64()), *texts, *flags],
            names=["pos", *text_cols, *flag_cols],
        )
        cur.execute(
            f"insert into _records select *, false, null, null, ({suspect}) from arrow_batch"
        )


# --------------------------------------------------------------------------------------------
# Row classification (shared)
# --------------------------------------------------------------------------------------------


#: Up to this many non-data records, data rows are numbered with a list lookup (no join).
SMALL_NON_DATA = 1000


def classify_records(cur: duckdb.DuckDBPyConnection, header: Header, kind: str) -> tuple[int, int]:
    """Tell data rows of ``_records`` from blank, total, signature and column-numbering lines;
    number the data rows (1-based, file order) in the view ``_data``. Returns (data rows,
    non-data records).

    - blank: every cell empty or spaces (a rejected line of only spaces too);
    - numbering: the first record after the header when it only numbers the columns
      (``1 2 3 ...`` or ``(1) (2) ...``), as government spreadsheets often do;
    - total: the first non-empty cell starts with ``JUMLAH`` or ``TOTAL`` and the row has no
      NIK digits;
    - signature: after a total line, a line whose required columns (every alias of each) are all
      empty; a line after a total line that holds a value in any required column is a data row
      (subtotals sit mid-sheet; a short NIK or a bad value does not make a signature line). A
      rejected CSV line's fields are found by splitting it at the delimiter.

    One pass of null checks over the records keeps only the candidates (usually few); the data
    rows are never sorted or copied. A row of spaces only (not empty) counts as data.
    """
    width = header.width
    filled = [f"nullif(trim(c{i}), '') is not null" for i in range(width)]
    # A data row's first cell is usually filled: the CASE stops there (one trim per row).
    is_blank = "case " + " ".join(f"when {f} then false" for f in filled) + " else true end"
    first_cell = (
        f"coalesce({', '.join(f'nullif(trim(c{i}), {chr(39) * 2})' for i in range(width))})"
    )
    nik = header.position_of("NIK")
    nik_digits = (
        f"coalesce(length(c{nik}) - length(translate(c{nik}, '0123456789', '')), 0)"
        if nik is not None
        else "0"
    )
    required_empty = _required_empty_sql(header, kind)
    # Blank, total and signature lines lack a required value (``_suspect``, stored by the
    # reader; rejected lines are suspects too): the filter on that one boolean column is pushed
    # into the scan, so the other cells are only read for the (usually few) suspects.
    suspect_columns = ", ".join(["pos", "malformed", "raw_line", *(f"c{i}" for i in range(width))])
    numbering_pos = _numbering_pos(cur, width)
    numbering_row = (
        f"union all select {suspect_columns} from _records where pos = 1 and not _suspect"
        if numbering_pos
        else ""
    )
    cur.execute(
        f"""
        create or replace temp table _candidates as
        with suspects as (
            select {suspect_columns} from _records where _suspect
            {numbering_row}
        ),
        flagged as (
            select pos, malformed,
                   case when malformed then nullif(trim(raw_line), '') is null
                        else {is_blank} end as is_blank,
                   case when malformed then false
                        when upper(left({first_cell}, 1)) not in ('J', 'T') then false
                        else regexp_matches(upper({first_cell}), '{_TOTAL_LINE}')
                             and {nik_digits} < 10 end as is_total,
                   {required_empty} as required_empty
            from suspects
        ),
        final as (
            select * from flagged
            where malformed or is_blank or is_total or required_empty or pos = {numbering_pos}
        )
        select * from final
        """
    )
    first_total = cur.execute(
        "select min(pos) from _candidates where is_total and not is_blank"
    ).fetchall()[0][0]
    # After a total line, lines without a value in any required column are signature lines
    # (they lack a required value, so they are among the candidates).
    signatures = (
        f"select pos from _candidates where pos > {first_total} and required_empty"
        if first_total is not None
        else "select null::bigint as pos where false"
    )
    cur.execute(
        f"""
        create or replace temp table _non_data as
        with signature as ({signatures}),
        positions as (
            select pos from _candidates union select pos from signature
        ),
        kinds as (
            select p.pos,
                   case when c.is_blank then 'blank'
                        when p.pos = {numbering_pos} then 'numbering'
                        when c.is_total then 'total'
                        when s.pos is not null then 'signature'
                        else 'data' end as line_kind
            from positions as p
            left join _candidates as c on c.pos = p.pos
            left join signature as s on s.pos = p.pos
        ),
        final as (
            select pos, line_kind, row_number() over (order by pos) as before_and_self
            from kinds where line_kind <> 'data'
        )
        select * from final
        """
    )
    non_data, records = cur.execute(
        "select (select count(*) from _non_data), (select count(*) from _records)"
    ).fetchall()[0]
    if non_data == 0:
        cur.execute(
            "create or replace temp view _data as select *, pos as row_number from _records"
        )
    elif non_data <= SMALL_NON_DATA:
        positions = [r[0] for r in cur.execute("select pos from _non_data order by pos").fetchall()]
        listed = "[" + ", ".join(str(p) for p in positions) + "]::bigint[]"
        cur.execute(
            f"""
            create or replace temp view _data as
            select *, pos - len(list_filter({listed}, lambda x: x < pos)) as row_number
            from _records
            where not list_contains({listed}, pos)
            """
        )
    else:
        cur.execute(
            """
            create or replace temp view _data as
            select r.*, r.pos - coalesce(n.before_and_self, 0) as row_number
            from _records as r
            asof left join _non_data as n on r.pos > n.pos
            where r.pos not in (select pos from _non_data)
            """
        )
    return records - non_data, non_data


def _required_empty_sql(header: Header, kind: str) -> str:
    """SQL over a record: every required column (each of its aliases present in the header) is
    empty. A rejected CSV line has no cells: its fields are its text split at the delimiter
    (quotes ignored), so a rejected line that holds a value where a required column sits counts
    as holding it."""
    positions = sorted(
        p
        for item in REQUIRED[kind]
        for o in (item if isinstance(item, tuple) else (item,))
        if (p := header.position_of(o)) is not None
    )
    if not positions:
        return "true"
    cells = " and ".join(f"nullif(trim(c{p}), '') is null" for p in positions)
    if header.delimiter is None:
        return f"({cells})"
    fields = f"string_split(coalesce(raw_line, ''), {sql_literal(header.delimiter)})"
    split = " and ".join(
        f"nullif(trim(trim({fields}[{p + 1}]), '\"'), '') is null" for p in positions
    )
    return f"(case when malformed then {split} else {cells} end)"


def _numbering_pos(cur: duckdb.DuckDBPyConnection, width: int) -> int:
    """1 when the first record only numbers the columns (1, 2, 3 ... in order), else 0."""
    rows = cur.execute(
        "select " + ", ".join(f"c{i}" for i in range(width)) + " from _records "
        "where pos = 1 and not malformed"
    ).fetchall()
    if not rows:
        return 0
    row = rows[0]
    numbers = [re.sub(r"[()\s.]", "", v) for v in row if v is not None and v.strip()]
    if len(numbers) < 3 or not all(n.isdigit() for n in numbers):
        return 0
    values = [int(n) for n in numbers]
    return 1 if values == list(range(values[0], values[0] + len(values))) and values[0] <= 1 else 0
