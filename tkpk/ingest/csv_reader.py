"""Read a CSV file into the temporary table ``_records`` (see :mod:`tkpk.ingest.reading`).

Delimiter (``;``, ``,``, tab) and header row are sniffed from the first lines; the bytes are
prepared by :mod:`tkpk.ingest.csv_bytes` (encoding, transcoding, line scan); DuckDB's
``read_csv`` reads every value as text with ``store_rejects`` so malformed lines are kept. Every
physical line of the file is accounted for (header region + rows + line breaks inside quoted
values + rejected lines + blank lines, :func:`account_lines`): when DuckDB's parallel reader
loses lines (an unbalanced quote, a line longer than its buffer) the file is quarantined rather
than silently shortened.
"""

from __future__ import annotations

import csv
import io
import mmap
from pathlib import Path

import duckdb

from tkpk.config import Limits
from tkpk.ingest.csv_bytes import (
    LineScan,
    blank_line_offsets,
    check_scan,
    has_utf8_multibyte,
    prepare_text,
    transcode,
)
from tkpk.ingest.lines import (
    HEADER_SEARCH_RECORDS,
    find_header,
    match_header,
    matched_count,
    require_columns,
    suspect_sql,
)
from tkpk.ingest.reading import FileProblem, Header, ReadStats, mark_replacement_rows

#: Bytes of the file looked at to find the header.
HEADER_SEARCH_BYTES = 1024 * 1024
DELIMITERS = (";", ",", "\t")
#: A rejected line's text kept in ``extra`` is cut to this many characters.
MAX_KEPT_LINE_CHARS = 100_000


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
    best: tuple[int, int, str, list[list[str]], list[int]] | None = None
    for delimiter in DELIMITERS:
        records, line_ends = _parse_records(text, delimiter)
        index = find_header(records, kind)
        if index is None:
            continue
        score = matched_count(match_header(records[index], kind))
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
    cur: duckdb.DuckDBPyConnection,
    path: Path,
    kind: str,
    temp_dir: Path,
    limits: Limits,
    scan: LineScan | None = None,
) -> ReadStats:
    """Read a CSV file into ``_records`` on ``cur`` (see the module docstring).

    Encoding, as the input contract says: UTF-16 when the file starts with a UTF-16 byte-order
    mark (transcoded); else UTF-8 when DuckDB finds no invalid line, or when the file holds at
    least one valid UTF-8 multi-byte sequence (:func:`has_utf8_multibyte`, looked for only when
    a line is invalid); else (no valid multi-byte sequence at all) Windows-1252, transcoded in
    streamed chunks (DuckDB's latin-1 differs from cp1252 in 0x80-0x9F) and read again. A file
    with bytes above 0x7F and no valid multi-byte sequence is transcoded before any read
    (:func:`_surely_not_utf8`; the read confirms it, else the file is read as UTF-8 first). In every
    encoding a line whose bytes do not decode is kept as a rejected record whose error starts
    with ``INVALID ENCODING`` (quarantined ``encoding_invalid``; its text has ``\\xNN`` escapes
    for the bytes that do not decode, :func:`_restore_undecodable_lines`): the other lines keep
    their text, and no replacement character is ever produced (rows whose text already holds one
    are rejected the same way, :func:`mark_replacement_rows`).

    ``scan``: the file's :func:`~tkpk.ingest.csv_bytes.raw_scan` made while hashing it (see
    :func:`~tkpk.ingest.csv_bytes.prepare_text`); its ``utf8_multibyte`` answers
    :func:`has_utf8_multibyte` for the file without reading it again.
    """
    prepared = prepare_text(path, temp_dir, limits, scan)
    source, encoding, scan = prepared
    try:
        stats = None
        if _surely_not_utf8(path, encoding, scan, kind, limits):
            source, encoding, scan = transcode(path, temp_dir, "cp1252", limits)
            stats = _read_text(
                cur, path.name, source, encoding, scan, kind, limits, confirm_cp1252=True
            )
            if stats is None:  # rare: not confirmed; the file is read as UTF-8 first
                source.unlink(missing_ok=True)
                source, encoding, scan = prepared
        if stats is None:
            stats = _read_text(cur, path.name, source, encoding, scan, kind, limits)
        if stats is None:
            source, encoding, scan = transcode(path, temp_dir, "cp1252", limits)
            stats = _read_text(cur, path.name, source, encoding, scan, kind, limits)
        if stats is None:  # pragma: no cover - a transcoded file is valid UTF-8
            raise FileProblem("file_unreadable", f"{path.name}: not a text file.")
        return stats
    finally:
        if source != path:
            source.unlink(missing_ok=True)


def _surely_not_utf8(path: Path, encoding: str, scan: LineScan, kind: str, limits: Limits) -> bool:
    """Whether the file, read as UTF-8, would be read again as Windows-1252: it holds bytes
    above 0x7F but no valid UTF-8 multi-byte sequence, so every such byte is invalid UTF-8.
    Its checks as UTF-8 (scan, header) run first, as :func:`_read_text` runs them on the first
    read, so a file-level problem is the same. Then it is transcoded before any read by DuckDB
    (a read of the whole file saved), and :func:`_read_text` confirms that DuckDB would have
    rejected a line as ``INVALID ENCODING`` (``confirm_cp1252``)."""
    if not encoding.startswith("utf-8") or not scan.non_ascii or scan.size == 0:
        return False
    check_scan(scan, path.name, limits)
    if _utf8_multibyte(scan, path):
        return False
    header, _ = _header_region(path, kind, path.name)
    require_columns(header, kind, path.name)
    return True


def _utf8_multibyte(scan: LineScan, path: Path) -> bool:
    """:func:`has_utf8_multibyte` of ``path``, from ``scan`` (of the same bytes) when it looked
    for one (:func:`~tkpk.ingest.csv_bytes.raw_scan`): no read of the file."""
    return scan.utf8_multibyte if scan.track_utf8 else has_utf8_multibyte(path)


def _read_text(
    cur: duckdb.DuckDBPyConnection,
    name: str,
    source: Path,
    encoding: str,
    scan: LineScan,
    kind: str,
    limits: Limits,
    confirm_cp1252: bool = False,
) -> ReadStats | None:
    """One read of a text file; None when some of its lines are not valid UTF-8 and the file
    holds no valid UTF-8 multi-byte sequence (it is then read as Windows-1252).

    With ``confirm_cp1252`` (``source`` is the Windows-1252 transcoding of a file that holds
    bytes above 0x7F and no valid UTF-8 multi-byte sequence, :func:`_surely_not_utf8`): None
    unless a row read without error holds a character above U+007F. Such a row's line holds an
    invalid UTF-8 byte in the original file, and transcoding changes no byte below 0x80 (no
    delimiter, quote or line break), so DuckDB reading the original rejects that line as
    ``INVALID ENCODING``, and the file would be read as Windows-1252: this read is that read."""
    if scan.size == 0:
        raise FileProblem(
            "header_missing", f"{name}: the file is empty; drop the complete export again."
        )
    check_scan(scan, name, limits)
    header, data_start = _header_region(source, kind, name)
    require_columns(header, kind, name)
    _duckdb_read(cur, source, header, kind, limits)
    if confirm_cp1252 and not _has_non_ascii_row(cur, header):
        return None
    invalid = cur.execute(
        "select count(*) from _rej where error_type = 'INVALID ENCODING'"
    ).fetchall()[0][0]
    if invalid and encoding.startswith("utf-8") and not _utf8_multibyte(scan, source):
        return None
    _check_unbalanced_quotes(cur, name)
    blanks = []
    breaks = None
    if _needs_blank_lines(cur, scan, header):
        breaks = _good_value_breaks(cur, header)
        if not _accounts_without_blank_lines(cur, scan, header, breaks):
            blanks = blank_line_offsets(source, data_start)
    _restore_undecodable_lines(cur, source)
    _build_csv_records(cur, header, blanks, as_table=scan.replacement_char)
    if scan.replacement_char:
        mark_replacement_rows(cur, header)
    stats = ReadStats("csv", header, encoding=encoding, scan=scan)
    stats.skipped_before_data = header.record_index
    stats.blank_lines_dropped = len(blanks)
    if not scan.replacement_char:  # else rows become rejected records: account_lines counts
        stats.value_line_breaks = breaks
    return stats


def _has_non_ascii_row(cur: duckdb.DuckDBPyConnection, header: Header) -> bool:
    """Whether a row of ``_good`` holds a character above U+007F (more bytes than characters);
    the scan stops at the first one."""
    hit = " or ".join(f"strlen(c{i}) <> length(c{i})" for i in range(header.width))
    return bool(cur.execute(f"select exists (select 1 from _good where {hit})").fetchall()[0][0])


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


def _good_value_breaks(cur: duckdb.DuckDBPyConnection, header: Header) -> int | None:
    """The line breaks inside the values of the good rows of a file without rejected lines (the
    count :func:`account_lines` adds); None when DuckDB rejected lines."""
    if cur.execute("select count(*) from _rej").fetchall()[0][0]:
        return None
    return int(cur.execute(_value_breaks_sql(header, "_good")).fetchall()[0][0])


def _accounts_without_blank_lines(
    cur: duckdb.DuckDBPyConnection, scan: LineScan, header: Header, breaks: int | None
) -> bool:
    """Whether the good rows (no rejected line) and the line breaks inside their values account
    for every line after the header. Every such line is a row's first line, a line break inside
    a value, a blank line or a lost line, so then the file has no blank line and the scan for
    them (:func:`blank_line_offsets`) is not needed."""
    if breaks is None:
        return False
    good = cur.execute("select count(*) from _good").fetchall()[0][0]
    return good + breaks == scan.physical_lines - header.lines_through_header


def _value_breaks_sql(header: Header, relation: str, where: str = "true") -> str:
    """SELECT of the line breaks inside the values of ``relation``'s rows (``where``)."""
    width = header.width
    breaks = " + ".join(
        f"coalesce(length(c{i}) - length(replace(c{i}, chr(10), '')), 0)" for i in range(width)
    )
    any_break = " or ".join(f"contains(c{i}, chr(10))" for i in range(width))
    return f"select coalesce(sum({breaks}), 0) from {relation} where ({where}) and ({any_break})"


def _duckdb_read(
    cur: duckdb.DuckDBPyConnection, source: Path, header: Header, kind: str, limits: Limits
) -> None:
    """DuckDB read: explicit dialect, every column text, rejected lines kept; each row's
    ``_suspect`` flag (:func:`suspect_sql`) computed on the way in. On one thread
    (``parallel = false``): the parallel reader's ordered insert into ``_good`` cost ~30 % more
    CPU (1M households, every CSV: 39.6 -> 29.6 s CPU), and the raw load reads one file at a
    time."""
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
            buffer_size = {max(16 * max_line, 1024 * 1024)}, encoding = 'utf-8',
            parallel = false
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
        if stats.value_line_breaks is not None:  # counted by the reader on the same rows
            accounted += stats.value_line_breaks
        else:
            accounted += cur.execute(
                _value_breaks_sql(stats.header, "_records", "not malformed")
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
