"""The registry owners' correction list (verivali): one XLSX per kelurahan, in Bahasa Indonesia.

Every field a warning flagged (``data_quality_field``: accepted with the field empty) is one line
an operator of the social-welfare office works through: the raw file and its row number, the
column, the reason in words, the value as read (never for personal data) and, for a household or
member row, the household's pseudonym. The workbooks are written from the staged restricted
``data_quality_field.parquet`` (already pseudonymised) into ``restricted/verivali/`` with each
publish, so they are part of the same atomic swap and of the restricted manifest; the Bappeda
pack never holds them. Records that name no kelurahan (program lists) go to one workbook of
their own.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import xlsxwriter

from tkpk.publish import suppression
from transforms.sql import read_sql

#: Sub-folder of the restricted pack holding the workbooks.
FOLDER = "verivali"
#: Workbook of the flagged fields whose row names no kelurahan (program records).
NO_KELURAHAN = "tanpa_kelurahan"
SHEET = "Daftar perbaikan"
#: Workbooks written at a time.
WRITERS = 2
#: Creation date written into every workbook (reproducible bytes).
CREATED = datetime(2026, 1, 1)
#: zlib level of the sheet (the rows; every other part as xlsxwriter wrote it). Level 1 against
#: zlib's default 6 on a 7.8 MB sheet of 1M households' flagged fields: 0.027 s against 0.088 s
#: CPU, 1.23 MB against 1.05 MB (benchmarks/README.md, eleventh round).
SHEET_COMPRESSLEVEL = 1

#: Column headings (Bahasa Indonesia) and the width of each column.
HEADINGS: tuple[tuple[str, int], ...] = (
    ("No", 6),
    ("Berkas", 40),
    ("Nomor baris", 12),
    ("Jenis berkas", 16),
    ("Periode", 11),
    ("Kolom", 22),
    ("Alasan", 60),
    ("Nilai terbaca", 22),
    ("Pseudonim keluarga", 24),
    ("Sudah diperbaiki (ya/tidak)", 16),
    ("Catatan petugas", 40),
)

#: Reason code -> what is wrong, in words (Bahasa Indonesia).
REASON_TEXT: dict[str, str] = {
    "nik_invalid": "NIK tidak sah: bukan 16 digit, kode provinsi salah, atau tanggal lahir di "
    "dalam NIK tidak mungkin",
    "nik_precision_lost": "NIK berasal dari sel angka lembar kerja atau notasi ilmiah: digit "
    "terakhirnya hilang",
    "kk_invalid": "Nomor KK tidak 16 digit (atau berasal dari sel angka / notasi ilmiah)",
    "code_invalid": "Kode di luar daftar kode kolom ini",
    "number_invalid": "Angka tidak terbaca atau di luar rentang yang mungkin",
    "date_invalid": "Tanggal tidak terbaca, tidak mungkin (mis. 31/02), sebelum 1900, atau "
    "sesudah akhir periode berkas",
    "kelurahan_unknown": "Kode atau nama kelurahan tidak dikenal",
}

#: Kind of file -> its name in Bahasa Indonesia.
KIND_TEXT: dict[str, str] = {
    "households": "keluarga",
    "members": "anggota keluarga",
    "disbursements": "penyaluran",
    "pbi": "PBI-JK",
    "local": "bantuan daerah",
}


def reason_text(reason: str) -> str:
    """The reason in words (the code itself for a reason without a text)."""
    return REASON_TEXT.get(reason, reason)


def file_stem(kelurahan_code: str | None, kelurahan_name: str | None) -> str:
    """``<kelurahan_code>_<name>`` (name lower-case, letters and digits only), or
    ``tanpa_kelurahan``."""
    if not kelurahan_code:
        return NO_KELURAHAN
    name = re.sub(r"[^0-9a-z]+", "_", (kelurahan_name or "").lower()).strip("_")
    return f"{kelurahan_code}_{name}" if name else kelurahan_code


def write_verivali(con: duckdb.DuckDBPyConnection, restricted: Path) -> list[Path]:
    """Write one workbook per kelurahan with flagged fields from the staged restricted pack in
    ``restricted``; return the paths written (none when nothing is flagged).

    The data rows are rendered as worksheet XML in DuckDB (``verivali_sheet_rows``) and spliced
    into the workbook xlsxwriter writes with the title, the headings and the filter
    (``_write_workbook``): cell by cell in Python, 644k flagged fields took half a minute."""
    source = restricted / "data_quality_field.parquet"
    parameters = {
        "source": str(source),
        "first": FIRST_ROW,
        "kinds": list(KIND_TEXT),
        "kind_texts": list(KIND_TEXT.values()),
        "reasons": list(REASON_TEXT),
        "reason_texts": list(REASON_TEXT.values()),
    }
    suppression.install_rules(con)  # the macro xlsx_inline_string
    rows = con.sql(read_sql("analysis/verivali_sheet_rows"), params=parameters)
    folder = restricted / FOLDER
    paths = []
    # Two writers: most of a workbook's time is zlib compressing its sheet, which releases the
    # GIL; each workbook's bytes are the same as written alone.
    with ThreadPoolExecutor(max_workers=WRITERS) as writers:
        pending = []
        for (code, name), rows_xml in _workbook_lines(rows):
            folder.mkdir(exist_ok=True)
            path = folder / f"{file_stem(code, name)}.xlsx"
            pending.append(writers.submit(_write_workbook, path, code, name, rows_xml))
            paths.append(path)
            if len(pending) > WRITERS:  # bounded memory: a sheet's XML is tens of MB
                pending.pop(0).result()
        for job in pending:
            job.result()
    return paths


def _workbook_lines(
    rows: duckdb.DuckDBPyRelation, batch: int = 65536
) -> Iterator[tuple[tuple[str | None, str | None], list[pa.Array]]]:
    """((kelurahan code, name), its lines' row XML as Arrow string arrays) per workbook, from
    ``verivali_sheet_rows``' rows (in workbook, then line order: a workbook starts where
    ``line`` is 1), read as Arrow batches and cut at those starts (a loop over the pieces, not
    the rows; the lines stay Arrow data, see ``_utf8``)."""
    key: tuple[str | None, str | None] | None = None
    pieces: list[pa.Array] = []
    for chunk in rows.to_arrow_reader(batch):
        codes, names, numbers, xml = chunk.columns
        starts = np.flatnonzero(numbers.to_numpy(zero_copy_only=False) == 1).tolist()
        cuts = sorted({0, *starts, chunk.num_rows})
        for first, end in zip(cuts[:-1], cuts[1:], strict=True):
            if first in starts:
                if key is not None:
                    yield key, pieces
                key, pieces = (codes[first].as_py(), names[first].as_py()), []
            pieces.append(xml.slice(first, end - first))
    if key is not None:
        yield key, pieces


def _utf8(piece: pa.Array) -> memoryview:
    """The UTF-8 bytes of the strings of ``piece`` one after the other (no separator): the span
    of its data buffer between its first and last offset, without a copy (no nulls: every line
    is a row's XML)."""
    if not (pa.types.is_string(piece.type) or pa.types.is_large_string(piece.type)):
        piece = piece.cast(pa.large_string())
    width = np.int32 if pa.types.is_string(piece.type) else np.int64
    _, offsets, data = piece.buffers()
    bounds = np.frombuffer(offsets, dtype=width, count=len(piece) + 1,
                           offset=piece.offset * np.dtype(width).itemsize)
    return memoryview(data)[int(bounds[0]):int(bounds[-1])]


#: The 0-based row of the headings (the title and a note above them, then one empty row).
FIRST_ROW = 3
SHEET_PART = "xl/worksheets/sheet1.xml"


def _write_workbook(
    path: Path, code: str | None, name: str | None, rows_xml: list[pa.Array]
) -> None:
    """One kelurahan's workbook: a title, the headings, and its data rows (``rows_xml``: Arrow
    string arrays of the rows' worksheet XML, in order)."""
    lines = sum(len(piece) for piece in rows_xml)
    book = xlsxwriter.Workbook(
        str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                    "strings_to_urls": False}
    )
    try:
        # a fixed creation date: the same flagged fields give the same bytes in every publish
        book.set_properties({"title": "Daftar perbaikan data (verivali)", "created": CREATED})
        sheet = book.add_worksheet(SHEET)
        bold = book.add_format({"bold": True})
        heading = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1,
                                   "text_wrap": True, "valign": "top"})
        where = f"Kelurahan {name} ({code})" if code else "Catatan program tanpa kelurahan"
        sheet.write_string(0, 0, f"Daftar perbaikan data (verivali): {where}", bold)
        sheet.write_string(
            1, 0, "Setiap baris adalah satu kolom yang ditandai: baris data diterima dengan "
            "kolom ini dikosongkan. Perbaiki di sumber data lalu kirim ulang berkasnya.",
        )
        first = FIRST_ROW
        for column, (text, width) in enumerate(HEADINGS):
            sheet.write_string(first, column, text, heading)
            sheet.set_column(column, column, width)
        sheet.freeze_panes(first + 1, 0)
        sheet.autofilter(first, 0, first + lines, len(HEADINGS) - 1)
    finally:
        book.close()
    _splice_rows(path, first + 1, rows_xml)


def _splice_rows(path: Path, headings_row: int, rows_xml: list[pa.Array]) -> None:
    """Put the data rows ``rows_xml`` after the headings (Excel row ``headings_row``) of the
    workbook at ``path``, and widen the sheet's dimension to them; every other part and each
    member's zip header (fixed time stamp) stay as xlsxwriter wrote them. The sheet is streamed
    into its zip member an Arrow piece at a time (zlib's output does not depend on how its input
    is split), at :data:`SHEET_COMPRESSLEVEL`."""
    last = get_column_letter(len(HEADINGS))
    lines = sum(len(piece) for piece in rows_xml)
    with zipfile.ZipFile(path) as book:
        members = [(info, book.read(info)) for info in book.infolist()]
    temporary = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(temporary, "w") as book:
        for info, data in members:
            if info.filename != SHEET_PART:
                book.writestr(info, data)
                continue
            sheet = data.decode("utf-8").replace(
                f'<dimension ref="A1:{last}{headings_row}"/>',
                f'<dimension ref="A1:{last}{headings_row + lines}"/>', 1,
            )
            head, tail = sheet.split("</sheetData>", 1)
            info._compresslevel = SHEET_COMPRESSLEVEL  # read by ZipFile.open(info, "w")
            with book.open(info, "w") as member:
                member.write(head.encode("utf-8"))
                for piece in rows_xml:
                    member.write(_utf8(piece))
                member.write(("</sheetData>" + tail).encode("utf-8"))
    temporary.replace(path)


def get_column_letter(number: int) -> str:
    """``1`` -> ``A``, ``11`` -> ``K`` (the headings are fewer than 27)."""
    return chr(ord("A") + number - 1)
