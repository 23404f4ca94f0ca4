"""Read a spreadsheet (XLSX, also XLS/ODS) into the temporary table ``_records`` (see
:mod:`tkpk.ingest.reading`).

python-calamine reads the first sheet only (later sheets with a non-empty cell are noted
``sheet_ignored``), after zip-bomb checks of the declared and actual decompressed size and of the
cell count (:func:`check_zip`). Cells become text column by column with Arrow compute; the NIK
and KK number cells keep a flag when the cell was numeric (digits may have been lost).
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from tkpk.config import Limits
from tkpk.ingest.lines import (
    HEADER_SEARCH_RECORDS,
    find_header,
    match_header,
    require_columns,
    suspect_sql,
)
from tkpk.ingest.reading import (
    CHUNK_BYTES,
    FILE_TOO_LARGE,
    FileNote,
    FileProblem,
    Header,
    ReadStats,
    mark_replacement_rows,
)

#: Columns whose spreadsheet cell type is kept (numeric cells lose NIK digits).
NUMERIC_FLAG_COLUMNS = ("NIK", "NO_KK")
#: Rows converted to Arrow per batch when reading a spreadsheet.
SHEET_BATCH_ROWS = 100_000
#: File note: a sheet after the first holds non-empty cells (it is not read).
SHEET_IGNORED = "sheet_ignored"


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
