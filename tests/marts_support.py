"""Hand-written inputs for the transform tests (synthetic people only).

``World(con)`` creates the accepted tables the transforms read (``registry_households``,
``registry_members``, ``program_records``, ``snapshot_status``, ``ingest_data_quality(_reason)``)
with the types of docs/architecture.md, and offers small builders that insert a household with its
members, a program record, or a snapshot. Every household is non-deprived and non-poor-looking
unless a test says otherwise, so each test states only what matters to it.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd

from tkpk import reference
from tkpk.config import Settings
from tkpk.db import connect
from tkpk.ingest.accept import TABLE_DDL
from tkpk.ingest.raw import ensure_tables as ensure_raw_tables
from transforms.runner import build_marts

KEL_MEDONO = "33.75.01.1002"
KEL_PODOSUGIH = "33.75.01.1003"
KEL_KRAPYAK = "33.75.03.1002"
KEL_BANYURIP = "33.75.04.1002"
KEC_BARAT = "33.75.01"
KEC_UTARA = "33.75.03"
KEC_SELATAN = "33.75.04"
CITY = "33.75"

#: A poverty line for the tests' own periods (2031 onwards): z = 500,000, z_e = 300,000.
TEST_LINE = Decimal("500000")
TEST_EXTREME_LINE = Decimal("300000")
TEST_LINE_FROM = date(2031, 1, 1)

#: The accepted tables the transforms read, created with the ingest's own DDL.
INPUT_TABLES = (
    "registry_households",
    "registry_members",
    "program_records",
    "snapshot_status",
    "ingest_data_quality",
    "ingest_data_quality_reason",
    "flagged_field",
    "quarantine",
)

#: A healthy adult: schooled (SMA), not in school, insured (other JKN).
ADULT = {"birth": date(1980, 5, 5), "pendidikan": 4, "sekolah": 2, "jkn": 2}

#: Housing codes of a household deprived in nothing.
GOOD_HOUSING = {
    "jenis_lantai": 1,
    "jenis_dinding": 1,
    "sumber_air_minum": 3,
    "sumber_penerangan": 1,
    "bahan_bakar_masak": 2,
    "fasilitas_bab": 1,
}


def module_connection(temp_dir: Path) -> duckdb.DuckDBPyConnection:
    """A connection like the ``con`` fixture, for fixtures shared by a whole test module."""
    con = connect(Settings(temp_dir=temp_dir, duckdb_threads=2), ":memory:")
    reference.install(con)
    return con


def d(text: str) -> date:
    """A date from ISO text (``2031-06`` means the first of the month)."""
    return date.fromisoformat(text if len(text) == 10 else f"{text}-01")


@dataclass
class World:
    """Builders for the transform inputs on one DuckDB connection (with ref_* installed)."""

    con: duckdb.DuckDBPyConnection
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _rows: itertools.count = field(default_factory=lambda: itertools.count(1))
    _pending: dict[str, list[tuple]] = field(default_factory=dict)
    _files: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for table in INPUT_TABLES:
            self.con.execute(f"create or replace table {table} ({TABLE_DDL[table]})")
        ensure_raw_tables(self.con)  # ingest_file (data_coverage reads the files' periods)
        self.con.execute(
            "insert into ref_poverty_line values (?, ?, ?, ?, 'test', 'test line')",
            [CITY, TEST_LINE_FROM, TEST_LINE, TEST_EXTREME_LINE],
        )

    def file_id(self, file_name: str, kind: str = "disbursements") -> int:
        """The ``file_id`` of the raw file ``file_name``, recorded in ``ingest_file`` (with the
        SHA-256 of its name) the first time it is named (the transforms read a record's file
        name, for file order, from ``ingest_file``)."""
        if file_name not in self._files:
            (next_id,) = self.con.execute(
                "select coalesce(max(file_id), 0) + 1 from ingest_file"
            ).fetchone()
            self.con.execute(
                "insert into ingest_file (sha256, file_name, kind, file_outcome, rows_read, "
                "skipped_lines, loaded_at, file_id) values (?, ?, ?, 'loaded', 0, 0, now(), ?)",
                [hashlib.sha256(f"{next_id}:{file_name}".encode()).hexdigest(), file_name, kind,
                 next_id],
            )
            self._files[file_name] = int(next_id)
        return self._files[file_name]

    def tag(self, sha256: str, file_name: str = "salur_test.csv") -> None:
        """Give the file ``file_name`` recorded so far the SHA-256 ``sha256``, as if it had just
        been loaded; later records of that name go to a new file."""
        self.con.execute(
            "update ingest_file set sha256 = ? where file_id = ?",
            [sha256, self.file_id(file_name)],
        )
        del self._files[file_name]

    def _add(self, table: str, row: list) -> None:
        """Queue one row of ``table`` (inserted in bulk by ``flush``)."""
        self._pending.setdefault(table, []).append(tuple(row))

    def flush(self) -> None:
        """Insert the queued rows (as text, cast by DuckDB to the column types)."""
        for table, rows in self._pending.items():
            columns = [
                r[0]
                for r in self.con.execute(
                    "select column_name from information_schema.columns where table_name = ? "
                    "order by ordinal_position",
                    [table],
                ).fetchall()
            ]
            text = [[None if v is None else str(v) for v in row] for row in rows]
            pending = pd.DataFrame(text, columns=columns, dtype=object)  # noqa: F841
            self.con.execute(f"insert into {table} select * from pending")
        self._pending = {}

    def snapshot(self, month: str, usable: bool = True) -> None:
        """Record a snapshot month in snapshot_status."""
        self._add(
            "snapshot_status", [d(month), usable, None if usable else "member file quarantined"]
        )

    def nik(self) -> str:
        """A fresh synthetic 16-digit NIK."""
        return f"3375011{next(self._ids):09d}"

    def household(
        self,
        snapshot: str,
        y: int | str | Decimal,
        kelurahan: str | None = KEL_MEDONO,
        members: int | list[dict] = 1,
        desil: int = 6,
        luas_lantai: float = 100,
        id_keluarga: str | None = None,
        no_kk: str | None = None,
        rt: int = 1,
        rw: int = 1,
        **housing: int,
    ) -> tuple[str, list[str]]:
        """Insert a household of ``snapshot`` with its members; return (id_keluarga, NIKs).

        ``members`` is a count of healthy adults or a list of dicts overriding ``ADULT`` (keys
        birth, pendidikan, sekolah, jkn, nik; optional nama, sex 'L'/'P' [P], hubungan [1],
        disabilitas [0]).
        """
        hid = id_keluarga or f"HH{next(self._ids):06d}"
        kk = no_kk or f"3375010101{next(self._ids):06d}"
        codes = {**GOOD_HOUSING, **housing}
        people = [dict(ADULT) for _ in range(members)] if isinstance(members, int) else members
        self._add(
            "registry_households",
            [
                d(snapshot), hid, kk, kelurahan, "Jl. Sintetis", rt, rw, len(people),
                Decimal(str(y)), desil, luas_lantai, codes["jenis_lantai"], codes["jenis_dinding"],
                codes["sumber_air_minum"], codes["sumber_penerangan"],
                codes["bahan_bakar_masak"], codes["fasilitas_bab"], None,
                self.file_id("dtsen_keluarga_3375.csv", "households"), next(self._rows),
            ],
        )  # fmt: skip
        niks = []
        for person in people:
            values = {**ADULT, **person}
            nik = values.get("nik") or self.nik()
            niks.append(nik)
            self._add(
                "registry_members",
                [
                    d(snapshot), hid, nik, values.get("nama", "Nama Sintetis"),
                    values.get("sex", "P"), values["birth"], values.get("hubungan", 1),
                    values["pendidikan"], values["sekolah"], values["jkn"],
                    values.get("disabilitas", 0), 1,
                    self.file_id("dtsen_anggota_3375.csv", "members"), next(self._rows),
                ],
            )  # fmt: skip
        return hid, niks

    def record(
        self,
        program: str,
        when: str,
        nik: str | None = None,
        amount: int | str | Decimal | None = 600_000,
        status: str = "success",
        no_kk: str | None = None,
        kelurahan: str | None = None,
        funding: str | None = None,
        source_kind: str = "disbursements",
        stage: int | None = None,
        file_name: str = "salur_test.csv",
        no_nik: bool = False,
    ) -> None:
        """Insert one program record dated ``when`` (ISO date or month), of file ``file_name``
        (files are taken in name order; rows numbered in insertion order). ``no_nik``: the
        record's NIK was flagged (NULL in the accepted table)."""
        day = d(when)
        if funding is None:
            funding = self.con.execute(
                "select funding from ref_program where code = ?", [program]
            ).fetchall()[0][0]
        self._add(
            "program_records",
            [
                program, source_kind, day, day.replace(day=1),
                None if no_nik else nik or self.nik(), no_kk,
                kelurahan, None if amount is None else Decimal(str(amount)), status, funding,
                "test", stage, self.file_id(file_name, source_kind), next(self._rows),
            ],
        )  # fmt: skip

    def build(self) -> list[str]:
        """Insert the queued rows and run the transforms."""
        self.flush()
        return build_marts(self.con)

    def one(self, sql: str, params: list | None = None) -> tuple:
        """The single row of a query."""
        rows = self.con.execute(sql, params or []).fetchall()
        assert len(rows) == 1, f"expected one row, got {len(rows)}: {sql}"
        return rows[0]

    def row(self, table: str, period: str, area: str, **keys: object) -> dict:
        """One row of an area table as a dict (``keys``: extra equality filters)."""
        where = " and ".join(["period = ?", "area_code = ?", *(f"{k} = ?" for k in keys)])
        cursor = self.con.execute(
            f"select * from {table} where {where}", [d(period), area, *keys.values()]
        )
        rows = cursor.fetchall()
        assert len(rows) == 1, f"{table} {period} {area} {keys}: {len(rows)} rows"
        return dict(zip([c[0] for c in cursor.description], rows[0], strict=True))
