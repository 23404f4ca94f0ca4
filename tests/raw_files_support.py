"""Helpers for the raw-load tests: write raw files, run the load, read raw rows, build XLSX."""

from __future__ import annotations

import datetime as dt
import io

import xlsxwriter

from tkpk.config import Settings
from tkpk.ingest.raw import (
    FileOutcome,
    every_raw_text,
    load_new_files,
    raw_text_file,
)

NIK1 = "3375014101900001"
NIK2 = "3375015502850002"
NIK3 = "3375010303700003"


#: (connection, staged Parquet file) of every load run by ``load`` (``raw_rows`` reads them).
_STAGED: list[tuple[object, str]] = []
#: Lineage columns of a staged row; every other column asked of ``raw_rows`` is read as text.
_LINEAGE = ("load_id", "file_id", "sha256", "file_name", "row_number")


def load(con, settings: Settings, files: dict[str, bytes]) -> dict[str, FileOutcome]:
    """Write ``files`` into the raw folder and run the raw load once (keeping the record as read
    of every row, :func:`tkpk.ingest.raw.every_raw_text`, for ``raw_rows``)."""
    settings.raw_dir.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (settings.raw_dir / name).write_bytes(data)
    with every_raw_text():
        outcomes = {o.file_name: o for o in load_new_files(con, settings, "run-test")}
    _STAGED.extend((con, o.staged) for o in outcomes.values() if o.staged)
    return outcomes


def raw_rows(con, kind: str, columns: str, file_name: str | None = None) -> list[tuple]:
    """The staged rows of ``kind`` loaded on ``con`` (optionally one file's) in row order, as
    read: the lineage columns and, for every other column, the row's text (``raw_text``)."""
    staged = [p for c, p in _STAGED if c is con and f"/staged/{kind}/" in p]
    if not staged:
        return []
    names = [c.strip() for c in columns.split(",")]
    select = ", ".join(c if c in _LINEAGE else f"raw_text.{c} as {c}" for c in names)
    where = "where file_name = ?" if file_name else ""
    params = [file_name] if file_name else []
    paths = ", ".join(f"'{p}'" for p in staged)
    source = f"read_parquet([{paths}])"
    raw_paths = ", ".join(f"'{raw_text_file(p)}'" for p in staged)  # the records as read
    # the file's texts are not in the staged files (FILE_COLUMNS): ingest_file has them
    source = (f"(select s.*, f.load_id, f.sha256, f.file_name, r.raw_text from {source} as s "
              f"join read_parquet([{raw_paths}]) as r "
              "on r.file_id = s.file_id and r.row_number = s.row_number "
              "join ingest_file as f on f.file_id = s.file_id)")
    return con.execute(
        f"select {select} from {source} {where} order by file_name, row_number",
        params,
    ).fetchall()


class Formula:
    """A spreadsheet formula with its cached value."""

    def __init__(self, formula: str, value: str):
        self.formula, self.value = formula, value


def xlsx(rows: list[list[object]], second_sheet: list[list[object]] | None = None) -> bytes:
    """An XLSX file whose first sheet holds ``rows`` (None leaves a cell empty)."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    date_format = book.add_format({"num_format": "dd/mm/yyyy"})
    for sheet_rows in [rows, second_sheet]:
        if sheet_rows is None:
            continue
        sheet = book.add_worksheet()
        for r, row in enumerate(sheet_rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, Formula):
                    sheet.write_formula(r, c, value.formula, None, value.value)
                elif isinstance(value, (dt.date, dt.datetime)):
                    sheet.write_datetime(r, c, value, date_format)
                elif isinstance(value, (int, float)):
                    sheet.write_number(r, c, value)
                else:
                    sheet.write_string(r, c, value)
    book.close()
    return buffer.getvalue()
