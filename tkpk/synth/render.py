"""Turning logical rows into the bytes offices send: SQL value formatters and file writers.

Values are formatted in DuckDB (one SQL expression per output column, chosen by the file's style)
and CSV lines are assembled there too; the writer then copies the Arrow string buffer of each
batch straight to disk (re-encoded for Windows-1252 files). Spreadsheets are written with
xlsxwriter cell by cell, so they are kept for the naturally small files.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import xlsxwriter

from tkpk.db import sql_literal
from tkpk.formatting import MONTHS, MONTHS_SHORT

#: Number styles of the contract; ``cell`` is a numeric spreadsheet cell.
NUMBER_STYLES = ("plain", "dot", "dot_dec", "comma_dec", "rp_space", "rp_dash")
#: Date styles of the contract; the ``xlsx_*`` ones are spreadsheet cells.
DATE_STYLES = ("iso", "dmy_slash", "dmy_dash", "long_id", "short_id_agu", "short_id_agt")
XLSX_DATE_STYLES = ("xlsx_date", "xlsx_serial")
NIK_STYLES = ("plain", "apos", "spaces", "dots", "mixed")
#: Marker of an override that must be written as a numeric spreadsheet cell.
NUMERIC_CELL = "\x00num:"
EXCEL_EPOCH = dt.date(1899, 12, 30)


def sql_list(items: Iterable[str]) -> str:
    """A SQL list literal of strings."""
    return "[" + ", ".join(sql_literal(i) for i in items) + "]"


def number_sql(x: str, style: str) -> str:
    """SQL text of rupiah/area value ``x`` (DOUBLE, multiples of 0.01) in ``style``."""
    whole = f"floor(abs({x}))::bigint"
    cents = f"lpad((round(abs({x}) * 100)::bigint % 100)::varchar, 2, '0')"
    dotted = f"replace(format('{{:,}}', {whole}), ',', '.')"
    body = {
        "plain": f"{whole}::varchar",
        "dot": dotted,
        "dot_dec": f"{dotted} || ',' || {cents}",
        "comma_dec": f"{whole}::varchar || case when {cents} = '00' then '' "
        f"else ',' || rtrim({cents}, '0') end",
        "rp_space": f"'Rp ' || {dotted}",
        "rp_dash": f"'Rp' || {dotted} || ',-'",
        "cell": f"{whole}::varchar",
    }[style]
    negative = (
        f"'-' || {whole}::varchar"
        if style in ("plain", "cell", "comma_dec")
        else (f"'-' || {dotted}")
    )
    return f"(case when {x} is null then '' when {x} < 0 then {negative} else {body} end)"


def date_sql(d: str, style: str) -> str:
    """SQL text of date ``d`` in ``style`` (text styles only)."""
    if style in ("iso", "xlsx_date", "xlsx_serial"):
        body = f"strftime({d}, '%Y-%m-%d')"
    elif style == "dmy_slash":
        body = f"strftime({d}, '%d/%m/%Y')"
    elif style == "dmy_dash":
        body = f"strftime({d}, '%d-%m-%Y')"
    else:
        if style == "long_id":
            names = MONTHS
        else:
            names = tuple(
                ("Agt" if style == "short_id_agt" else "Agu") if m == "Agu" else m
                for m in MONTHS_SHORT
            )
        body = (
            f"day({d})::varchar || ' ' || list_extract({sql_list(names)}, month({d})) "
            f"|| ' ' || year({d})::varchar"
        )
    return f"coalesce({body}, '')"


def impossible_date_text(style: str, year: int) -> str:
    """A 31 February in the file's date style (text even in spreadsheets)."""
    return {
        "iso": f"{year}-02-31",
        "dmy_dash": f"31-02-{year}",
        "long_id": f"31 Februari {year}",
        "short_id_agu": f"31 Feb {year}",
        "short_id_agt": f"31 Feb {year}",
    }.get(style, f"31/02/{year}")


def nik_sql(x: str, style: str, variant: str) -> str:
    """SQL text of a 16-digit id ``x`` (BIGINT) in ``style``; ``variant`` picks per-row mixes."""
    s = f"{x}::varchar"
    forms = {
        "plain": s,
        "apos": f"'''' || {s}",
        "spaces": f"substr({s}, 1, 6) || ' ' || substr({s}, 7, 6) || ' ' || substr({s}, 13, 4)",
        "dots": f"substr({s}, 1, 4) || '.' || substr({s}, 5, 2) || '.' || substr({s}, 7, 6) "
        f"|| '.' || substr({s}, 13, 4)",
    }
    if style == "mixed":
        body = (
            f"case when {variant} % 100 < 82 then {forms['plain']} "
            f"when {variant} % 100 < 90 then {forms['apos']} "
            f"when {variant} % 100 < 95 then {forms['spaces']} else {forms['dots']} end"
        )
    else:
        body = forms[style]
    return f"(case when {x} is null or {x} = 0 then '' else {body} end)"


def code_sql(x: str, style: str, variant: str) -> str:
    """SQL text of an integer code: ``1`` or ``01`` (per file or per row)."""
    plain = f"{x}::varchar"
    padded = f"lpad({x}::varchar, 2, '0')"
    body = {"plain": plain, "pad": padded}.get(
        style, f"case when {variant} % 4 = 0 then {padded} else {plain} end"
    )
    return f"coalesce({body}, '')"


def case_sql(text: str, style: str) -> str:
    """Apply a letter-case style to a SQL text expression."""
    return {"upper": f"upper({text})", "lower": f"lower({text})", "title": text}.get(style, text)


def title_case(text: str) -> str:
    """``PBI APBN`` -> ``Pbi Apbn`` (for status/segment words)."""
    return " ".join(w.capitalize() for w in text.split(" "))


# --------------------------------------------------------------------------------------------
# CSV


def _csv_quote(value: str, delimiter: str, quote_all: bool) -> str:
    """Quote one field the way the SQL line builder does."""
    if quote_all or any(c in value for c in (delimiter, '"', "\n", "\r")):
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_line(values: Sequence[str], delimiter: str, quote_all: bool, newline: str) -> str:
    """One CSV record (header, title or total line) as text."""
    return delimiter.join(_csv_quote(v, delimiter, quote_all) for v in values) + newline


def csv_line_sql(
    exprs: Sequence[tuple[str, bool]], delimiter: str, quote_all: bool, newline: str
) -> str:
    """SQL expression building one CSV record from (text expression, may-need-quoting) pairs.

    Only columns flagged as risky (free text, decimal commas, overrides) are checked for the
    delimiter, quotes and line breaks; the others cannot contain them.
    """
    d = sql_literal(delimiter)
    parts = []
    for e, risky in exprs:
        escaped = f"replace({e}, '\"', '\"\"')" if risky else e
        if quote_all:
            parts.append(f"'\"' || {escaped} || '\"'")
        elif risky:
            parts.append(
                f"(case when contains({e}, {d}) or contains({e}, '\"') or contains({e}, chr(10))"
                f" or contains({e}, chr(13)) then '\"' || {escaped} || '\"' else {e} end)"
            )
        else:
            parts.append(e)
    return "concat(" + f", {d}, ".join(parts) + f", {sql_literal(newline)})"


@dataclass
class CsvFormat:
    """Byte-level choices of a CSV file."""

    delimiter: str = ";"
    encoding: str = "utf-8"  # utf-8 | utf-8-sig | cp1252
    newline: str = "\n"
    quote_all: bool = False


def _arrow_payload(column: pa.Array) -> bytes | memoryview:
    """The concatenated bytes of a string array without nulls (zero copy)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if column.type == pa.string_view():
        column = column.cast(pa.large_string())
    width = np.int64 if pa.types.is_large_string(column.type) else np.int32
    _, offsets_buf, data_buf = column.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=width)[
        column.offset : column.offset + len(column) + 1
    ]
    if len(offsets) == 0 or data_buf is None:
        return b""
    return memoryview(data_buf)[int(offsets[0]) : int(offsets[-1])]


def write_csv_stream(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    fmt: CsvFormat,
    head: Sequence[str],
    body_sql: str,
    tail: Sequence[str] = (),
    batch_rows: int = 500_000,
) -> int:
    """Write head lines, the ``line`` column of ``body_sql`` and tail lines; returns bytes."""
    encoding = "cp1252" if fmt.encoding == "cp1252" else "utf-8"
    written = 0
    with path.open("wb") as handle:
        if fmt.encoding == "utf-8-sig":
            handle.write(b"\xef\xbb\xbf")
            written += 3
        for line in head:
            written += handle.write(line.encode(encoding))
        reader = con.sql(body_sql).to_arrow_reader(batch_rows)
        expected = 0
        for batch in reader:
            if batch.num_columns > 1:  # row ids: the scan must have kept the rows' order
                uid = batch.column(1).to_numpy()
                if len(uid) and (uid[0] != expected or np.any(np.diff(uid) != 1)):
                    raise RuntimeError(f"{path.name}: rows came back out of order")
                expected += len(uid)
            payload = _arrow_payload(batch.column(0))
            if encoding == "cp1252":
                payload = bytes(payload).decode("utf-8").encode("cp1252")
            written += handle.write(payload)
        for line in tail:
            written += handle.write(line.encode(encoding))
    return written


# --------------------------------------------------------------------------------------------
# XLSX


@dataclass
class SheetLayout:
    """Government-spreadsheet decoration around the data rows."""

    title_lines: list[str] = field(default_factory=list)
    blank_after_title: bool = False
    total_label: str | None = None  # "JUMLAH" / "TOTAL"
    total_column: int | None = None
    total_value: float | None = None
    total_text: str = ""  # the total as written in a CSV list
    signature_lines: list[str] = field(default_factory=list)
    signature_column: int = 0
    second_sheet: list[list[str]] | None = None

    def skipped_lines(self) -> int:
        """Non-header, non-data lines this layout adds."""
        n = len(self.title_lines) + (1 if self.blank_after_title else 0)
        if self.total_label:
            n += 1
        if self.signature_lines:
            n += 1 + len(self.signature_lines)  # a blank line before the signatures
        return n


def _cell_writer(sheet, formats: dict):
    """A function writing one value with the right cell type."""

    def write(row: int, col: int, value, kind: str) -> None:
        if value is None:
            return
        if isinstance(value, str):
            if value.startswith(NUMERIC_CELL):
                sheet.write_number(row, col, float(value[len(NUMERIC_CELL) :]))
            elif value != "":
                sheet.write_string(row, col, value)
            return
        if kind == "date":
            sheet.write_datetime(row, col, dt.datetime.combine(value, dt.time()), formats["date"])
        elif kind == "serial":
            sheet.write_number(row, col, float((value - EXCEL_EPOCH).days))
        elif kind == "number":
            sheet.write_number(row, col, float(value), formats["number"])
        else:
            sheet.write_string(row, col, str(value))

    return write


def write_xlsx(
    path: Path,
    headers: Sequence[str],
    kinds: Sequence[str],
    rows: Iterable[Sequence],
    layout: SheetLayout,
) -> None:
    """Write one workbook: optional title lines, header, data, total and signature lines.

    ``kinds`` per column: ``text``, ``number``, ``date`` (date cell) or ``serial`` (serial number).
    """
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False})
    book.set_properties({"created": dt.datetime(2026, 1, 1), "author": "tkpk synth"})
    formats = {
        "date": book.add_format({"num_format": "dd/mm/yyyy"}),
        "number": book.add_format({"num_format": "#,##0"}),
        "bold": book.add_format({"bold": True}),
        "title": book.add_format({"bold": True, "align": "center"}),
    }
    sheet = book.add_worksheet("Sheet1")
    write = _cell_writer(sheet, formats)
    r = 0
    for line in layout.title_lines:
        if len(headers) > 1:
            sheet.merge_range(r, 0, r, len(headers) - 1, line, formats["title"])
        else:
            sheet.write_string(r, 0, line, formats["title"])
        r += 1
    if layout.blank_after_title:
        r += 1
    for c, h in enumerate(headers):
        sheet.write_string(r, c, h, formats["bold"])
    r += 1
    for values in rows:
        for c, value in enumerate(values):
            write(r, c, value, kinds[c])
        r += 1
    if layout.total_label:
        sheet.write_string(r, 0, layout.total_label, formats["bold"])
        if layout.total_column is not None and layout.total_value is not None:
            sheet.write_number(r, layout.total_column, layout.total_value, formats["number"])
        r += 1
    if layout.signature_lines:
        r += 1
        for line in layout.signature_lines:
            if line:
                sheet.write_string(r, layout.signature_column, line)
            r += 1
    sheet.set_column(0, len(headers) - 1, 18)
    if layout.second_sheet:
        extra = book.add_worksheet("Rekap")
        for i, line in enumerate(layout.second_sheet):
            for j, value in enumerate(line):
                extra.write_string(i, j, value)
    book.close()
    path.write_bytes(buffer.getvalue())
