"""Helpers for the raw-load tests: write raw files, run the load, read raw rows, build XLSX."""

from __future__ import annotations

import datetime as dt
import io

import xlsxwriter

from tkpk.config import Settings
from tkpk.ingest.raw import FileOutcome, load_new_files

NIK1 = "3375014101900001"
NIK2 = "3375015502850002"
NIK3 = "3375010303700003"


def load(con, settings: Settings, files: dict[str, bytes]) -> dict[str, FileOutcome]:
    """Write ``files`` into the raw folder and run the raw load once."""
    settings.raw_dir.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (settings.raw_dir / name).write_bytes(data)
    return {o.file_name: o for o in load_new_files(con, settings, "run-test")}


def raw_rows(con, kind: str, columns: str, file_name: str | None = None) -> list[tuple]:
    """Rows of ``raw_<kind>`` (optionally one file's) in row order."""
    where = "where file_name = ?" if file_name else ""
    params = [file_name] if file_name else []
    return con.execute(
        f"select {columns} from raw_{kind} {where} order by file_name, row_number", params
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
