"""Hand-written raw rows for the ingest tests (synthetic people only).

``RawWorld(con)`` creates ``ingest_file`` (the raw loader's own DDL) and stages files of
hand-written raw rows through the raw loader's own staging step (``tkpk.ingest.raw.stage_arrow``,
into a temporary folder of the world), so the staging, validation and accept tests do not depend
on the file readers. Each ``add_file`` returns a ``FileOutcome`` as the raw loader would.
"""

from __future__ import annotations

import calendar
import hashlib
import itertools
import json
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from tkpk.ingest.raw import FileOutcome, next_file_id, raw_columns, records_schema, stage_arrow
from tkpk.ingest.raw import ensure_tables as ensure_raw_tables


#: Valid synthetic NIKs: Kota Pekalongan (33 75 01), born 01-01-80 / women 41-01-80.
def nik(serial: int, female: bool = False) -> str:
    """A valid synthetic NIK with sequence number ``serial``."""
    return f"337501{41 if female else 1:02d}0180{serial:04d}"


def kk(serial: int) -> str:
    """A synthetic 16-digit family-card number."""
    return f"33750120260{serial:05d}"


#: A complete, valid household row (raw text), overridable per test.
HOUSEHOLD = {
    "id_keluarga": "H1",
    "no_kk": kk(1),
    "kode_kelurahan": "3375011002",
    "nama_kelurahan": "MEDONO",
    "alamat": "Jl. Contoh 1",
    "rt": "01",
    "rw": "002",
    "jumlah_anggota": "2",
    "pengeluaran_per_kapita": "600.000",
    "desil": "1",
    "luas_lantai": "36",
    "jenis_lantai": "3",
    "jenis_dinding": "1",
    "sumber_air_minum": "3",
    "sumber_penerangan": "1",
    "bahan_bakar_masak": "2",
    "fasilitas_bab": "1",
    "tanggal_pendataan": "2026-06-10",
}

#: A complete, valid member row.
MEMBER = {
    "id_keluarga": "H1",
    "nik": nik(1),
    "nama": "Warga Satu",
    "jenis_kelamin": "L",
    "tanggal_lahir": "1980-01-01",
    "hubungan_keluarga": "1",
    "pendidikan_tertinggi": "2",
    "status_sekolah": "2",
    "jaminan_kesehatan": "1",
    "disabilitas": "0",
    "status_bekerja": "1",
}

#: A complete, valid disbursement row (program from the file name unless given).
DISBURSEMENT = {
    "nik": nik(1),
    "no_kk": kk(1),
    "nama": "Warga Satu",
    "tanggal_salur": "2026-06-20",
    "nominal": "600000",
    "status": "SUKSES",
}

PBI = {
    "nik": nik(1),
    "no_kartu": "0001234567890",
    "nama": "Warga Satu",
    "segmen": "PBI APBN",
    "status": "AKTIF",
}

LOCAL = {
    "nik": nik(1),
    "nama": "Warga Satu",
    "alamat": "Jl. Contoh 1",
    "kelurahan": "Medono",
    "nilai": "Rp 1.000.000",
    "tanggal": "15/03/2026",
    "sumber_dana": "APBD",
}


def month_bounds(period: str) -> tuple[date, date]:
    """(first day, last day) of ``YYYYMM`` or of the year ``YYYY``."""
    if len(period) == 4:
        return date(int(period), 1, 1), date(int(period), 12, 31)
    year, month = int(period[:4]), int(period[4:])
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


@dataclass
class RawWorld:
    """Builders for raw files on one DuckDB connection (reference tables installed)."""

    con: duckdb.DuckDBPyConnection
    _loads: itertools.count = field(default_factory=lambda: itertools.count(1))
    _staged: tempfile.TemporaryDirectory = field(
        default_factory=lambda: tempfile.TemporaryDirectory(prefix="tkpk-rawworld-")
    )

    def __post_init__(self) -> None:
        ensure_raw_tables(self.con)

    def add_file(
        self,
        kind: str,
        file_name: str,
        rows: list[dict[str, Any]],
        period: str = "202606",
        program: str | None = None,
        channel: str | None = None,
        stage: int | None = None,
        skipped_lines: int = 0,
        rows_read: int | None = None,
    ) -> FileOutcome:
        """Insert a loaded file of raw rows; return its outcome (``rows_read`` overridable).

        A row may set ``nik_numeric``, ``kk_numeric``, ``malformed`` (booleans) and ``extra``.
        """
        load_id = f"load-{next(self._loads)}"
        sha = hashlib.sha256(f"{file_name}|{rows}|{load_id}".encode()).hexdigest()
        first, last = month_bounds(period)
        file_id = next_file_id(self.con)
        self.con.execute(
            """
            insert into ingest_file (sha256, file_name, kind, period, period_end, program,
                channel, stage, load_id, file_outcome, file_reason, rows_read, skipped_lines,
                loaded_at, file_id)
            values (?, ?, ?, ?, ?, ?, ?, ?, ?, 'loaded', null, ?, ?, now(), ?)
            """,
            [
                sha,
                file_name,
                kind,
                first,
                last,
                program,
                channel,
                stage,
                load_id,
                len(rows),
                skipped_lines,
                file_id,
            ],
        )
        columns = raw_columns(kind)
        records = []
        for number, row in enumerate(rows, start=1):
            unknown = set(row) - set(columns) - {"nik_numeric", "kk_numeric", "malformed", "extra"}
            assert not unknown, f"unknown raw columns {unknown}"
            extra = row.get("extra")
            records.append(
                {
                    "row_number": number,
                    **{c: row.get(c) for c in columns},
                    "nik_numeric": bool(row.get("nik_numeric", False)),
                    "kk_numeric": bool(row.get("kk_numeric", False)),
                    "malformed": bool(row.get("malformed", False)),
                    "extra": extra if extra is None or isinstance(extra, str)
                    else json.dumps(extra),
                }
            )
        schema = records_schema(kind)
        target = Path(self._staged.name) / f"{file_id}.parquet"
        attributes = {
            "load_id": load_id, "file_id": file_id, "sha256": sha, "file_name": file_name,
            "period": first, "period_end": last, "program": program, "channel": channel,
            "stage": stage,
        }
        stage_arrow(self.con, kind, pa.Table.from_pylist(records, schema), attributes, target)
        return FileOutcome(
            file_name=file_name,
            sha256=sha,
            kind=kind,
            outcome="loaded",
            reason=None,
            rows_read=len(rows) if rows_read is None else rows_read,
            skipped_lines=skipped_lines,
            load_id=load_id,
            staged=str(target),
        )

    def quarantined_file(
        self, file_name: str, reason: str, kind: str | None = None, period: str | None = "202606"
    ) -> FileOutcome:
        """A file the raw loader quarantined (recorded in ingest_file, no rows)."""
        sha = hashlib.sha256(f"q|{file_name}".encode()).hexdigest()
        first, last = month_bounds(period) if period else (None, None)
        self.con.execute(
            """
            insert into ingest_file (sha256, file_name, kind, period, period_end, load_id,
                file_outcome, file_reason, rows_read, skipped_lines, loaded_at, file_id)
            values (?, ?, ?, ?, ?, null, 'quarantined', ?, 0, 0, now(), ?)
            """,
            [sha, file_name, kind, first, last, reason, next_file_id(self.con)],
        )
        return FileOutcome(file_name, sha, kind, "quarantined", reason, 0, 0, None)


def household(**changes: Any) -> dict[str, Any]:
    """A valid household row with ``changes``."""
    return {**HOUSEHOLD, **changes}


def member(**changes: Any) -> dict[str, Any]:
    """A valid member row with ``changes``."""
    return {**MEMBER, **changes}


def disbursement(**changes: Any) -> dict[str, Any]:
    """A valid disbursement row with ``changes``."""
    return {**DISBURSEMENT, **changes}


def pbi(**changes: Any) -> dict[str, Any]:
    """A valid PBI-JK row with ``changes``."""
    return {**PBI, **changes}


def local(**changes: Any) -> dict[str, Any]:
    """A valid local-list row with ``changes``."""
    return {**LOCAL, **changes}


def with_file(table: str) -> str:
    """SQL of ``table`` (an accepted, quarantine, duplicate or flagged_field table, whose rows
    carry ``file_id``) with its file's ``file_name`` and ``sha256`` from ``ingest_file``, for
    tests that look rows up by file name: ``from {with_file('quarantine')} where file_name = ?``.
    """
    return (
        f"(select i.file_name, i.sha256, t.* from {table} as t "
        f"join ingest_file as i on i.file_id = t.file_id) as {table}"
    )
