"""``tkpk field-list``: the verification sheet an officer takes to the field (named households).

The packs hold pseudonyms only; to act, an officer needs names and addresses. This command
re-identifies one kelurahan's households of a list from the warehouse and writes one XLSX
workbook (one sheet per RW, headings in Bahasa Indonesia: head's name, address, RT/RW, household
size, what the household receives, why it is listed, and empty columns for the visit's result).

Safeguards:

- it refuses unless ``TKPK_MODE=production`` and an explicit ``--purpose`` text are given;
- every list written appends one JSON line to the access log (``settings.access_log``, opened
  O_APPEND, mode 0600): when, who (the OS user), purpose, kind, kelurahan, scenario file, number
  of rows and the sheet's file name, never the rows. A sheet whose log line cannot be written is
  deleted (no unlogged access);
- the sheet goes to ``settings.field_lists_dir`` (``<out>/field_lists/``), never into a pack
  (refused if that folder resolves inside one), with file mode 0600;
- the warehouse is opened read-only and only in the state of the last published run (as
  ``tkpk simulate``), so the list matches the published figures.

Kinds: ``unreached_poor`` (poor, no program at all in the reach window) and ``extreme`` (below
the extreme-poverty line), both of the latest reported period (the restricted pack's
``households`` table); ``simulation:<scenario>``: the households the named scenario of the file
given with ``--scenarios`` pays (its period), with the monthly amount.
"""

from __future__ import annotations

import getpass
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from tkpk import formatting as fmt
from tkpk.config import Settings
from tkpk.publish.pseudonym import PRODUCTION
from transforms.sql import create_table_sql, read_sql

KINDS = ("unreached_poor", "extreme")
SIMULATION_PREFIX = "simulation:"
MIN_PURPOSE_CHARS = 10

#: Column headings of a sheet (Bahasa Indonesia).
HEADINGS = (
    "No.",
    "Nama kepala keluarga",
    "Alamat",
    "RT",
    "RW",
    "Jumlah anggota keluarga",
    "Bantuan yang diterima (12 bulan terakhir)",
    "Alasan masuk daftar",
    "Hasil verifikasi lapangan",
    "Catatan petugas",
)
KIND_TITLES = {
    "unreached_poor": "Keluarga miskin yang belum menerima program apa pun",
    "extreme": "Keluarga miskin ekstrem",
    "simulation": "Calon penerima skenario anggaran",
}


class FieldListError(RuntimeError):
    """The field list was refused or could not be written (nothing was logged or kept)."""


@dataclass(frozen=True)
class FieldList:
    """A written verification sheet."""

    path: Path
    rows: int
    sheets: int


# --------------------------------------------------------------------------------- checks


def check_allowed(settings: Settings, purpose: str | None) -> str:
    """The stripped purpose; FieldListError unless production mode and a real purpose."""
    if settings.mode != PRODUCTION:
        raise FieldListError(
            "field lists hold names and addresses: refused outside production mode "
            "(TKPK_MODE=production)"
        )
    text = (purpose or "").strip()
    if len(text) < MIN_PURPOSE_CHARS:
        raise FieldListError(
            f"an explicit --purpose of at least {MIN_PURPOSE_CHARS} characters is required "
            "(why these households are visited; it goes into the access log)"
        )
    return text


def check_outside_packs(settings: Settings, folder: Path) -> None:
    """The sheet folder must not lie inside either pack (or the pack versions)."""
    target = folder.resolve()
    for pack in (settings.restricted_dir, settings.bappeda_dir, settings.curated_dir / "current",
                 settings.curated_dir / ".versions"):
        resolved = pack.resolve()
        if target == resolved or resolved in target.parents:
            raise FieldListError(f"field lists are never written into a pack ({pack})")


# --------------------------------------------------------------------------------- rows

def listed_households(
    con: duckdb.DuckDBPyConnection, kind: str, kelurahan: str, scenarios_path: Path | None
) -> tuple[pd.DataFrame, str]:
    """The kelurahan's listed households with their sheet values, and the kind's title."""
    if kind in KINDS:
        con.execute(
            create_table_sql("field_list_listed", "decisions/field_list_listed", temporary=True),
            {"kind": kind, "kelurahan": kelurahan},
        )
        title = KIND_TITLES[kind]
    else:
        from tkpk.simulate import household_transfers, load_scenarios

        name = kind[len(SIMULATION_PREFIX):]
        if scenarios_path is None:
            raise FieldListError(f"--kind {kind} needs --scenarios FILE (the scenario file)")
        scenarios = {s.name: s for s in load_scenarios(scenarios_path)}
        if name not in scenarios:
            raise FieldListError(
                f"scenario '{name}' is not in {scenarios_path} (it has: "
                f"{', '.join(scenarios)})"
            )
        scenario = scenarios[name]
        transfers = household_transfers(con, scenario)  # noqa: F841  (read by DuckDB)
        con.execute(
            create_table_sql(
                "field_list_listed", "decisions/field_list_scenario_listed", temporary=True
            ),
            {"period": scenario.period},
        )
        title = f"{KIND_TITLES['simulation']} '{name}'"
    frame = con.execute(
        read_sql("decisions/field_list_households"), {"kelurahan": kelurahan}
    ).df()
    con.execute("drop table if exists temp.field_list_listed")
    return frame, title


def _programs(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute(read_sql("reference/program_names")).fetchall())


def _reason(kind: str, row: pd.Series) -> str:
    """Why the household is listed, in Bahasa Indonesia."""
    y = fmt.format_rupiah(row["pengeluaran_per_kapita"])
    if kind == "unreached_poor":
        return (f"Miskin: pengeluaran {y}/jiwa/bulan di bawah garis kemiskinan "
                f"{fmt.format_rupiah(row['poverty_line_idr'])}; tidak tercatat menerima program "
                "apa pun dalam 12 bulan terakhir.")
    if kind == "extreme":
        return (f"Miskin ekstrem: pengeluaran {y}/jiwa/bulan di bawah garis kemiskinan ekstrem "
                f"{fmt.format_rupiah(row['extreme_poverty_line_idr'])}.")
    return (f"Akan menerima {fmt.format_rupiah(row['transfer_idr_month'])}/bulan menurut "
            f"skenario (pengeluaran sekarang {y}/jiwa/bulan).")


# --------------------------------------------------------------------------------- writing


def _sheet_name(rw: float | None) -> str:
    """``RW 003``; ``Kosong`` for the empty list, ``RW tidak tercatat`` without an RW."""
    if rw is None:
        return "Kosong"
    return "RW tidak tercatat" if rw == -1 else f"RW {int(rw):03d}"


def write_workbook(
    path: Path, frame: pd.DataFrame, kind: str, title: str, kelurahan: str,
    kelurahan_name: str, purpose: str, programs: dict[str, str],
) -> int:
    """One sheet per RW (a single 'Kosong' sheet when nobody is listed); returns the sheets."""
    import xlsxwriter

    base_kind = "simulation" if kind.startswith(SIMULATION_PREFIX) else kind
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False,
                                               "strings_to_urls": False})
    bold = workbook.add_format({"bold": True})
    header = workbook.add_format({"bold": True, "text_wrap": True, "bg_color": "#d9e2ef",
                                  "border": 1, "valign": "top"})
    cell = workbook.add_format({"text_wrap": True, "valign": "top", "border": 1})
    warning = workbook.add_format({"bold": True, "font_color": "#c0392b"})
    groups = list(frame.groupby(frame["rw"].fillna(-1), sort=True)) if len(frame) else []
    if not groups:
        groups = [(None, frame)]
    for rw, rows in groups:
        name = _sheet_name(rw)
        sheet = workbook.add_worksheet(name)
        sheet.write(0, 0, f"Daftar verifikasi lapangan: {title}", bold)
        sheet.write(1, 0, f"Kelurahan {kelurahan_name} ({kelurahan}); {name}")
        sheet.write(2, 0, f"Keperluan: {purpose}")
        sheet.write(3, 0, "RAHASIA: berisi data pribadi. Hanya untuk petugas verifikasi; jangan "
                    "disebarkan atau disalin. Dicatat dalam log akses.", warning)
        sheet.write_row(5, 0, HEADINGS, header)
        for i, (_, row) in enumerate(rows.iterrows(), start=1):
            received = [programs.get(p, p) for p in row["programs_received"]]
            values = [
                i,
                row["nama"] if isinstance(row["nama"], str) else "(kepala keluarga tidak tercatat)",
                row["alamat"] if isinstance(row["alamat"], str) else "",
                "" if pd.isna(row["rt"]) else int(row["rt"]),
                "" if pd.isna(row["rw"]) else int(row["rw"]),
                int(row["household_size"]),
                ", ".join(received) if received else "Tidak ada",
                _reason(base_kind, row),
                "",
                "",
            ]
            sheet.write_row(5 + i, 0, values, cell)
        if not len(rows):
            sheet.write(6, 0, "Tidak ada keluarga dalam daftar ini.")
        sheet.set_column(0, 0, 5)
        sheet.set_column(1, 2, 28)
        sheet.set_column(3, 5, 9)
        sheet.set_column(6, 7, 42)
        sheet.set_column(8, 9, 24)
        sheet.freeze_panes(6, 0)
    workbook.close()
    return len(groups)


def append_access_log(settings: Settings, entry: dict) -> None:
    """Append one JSON line to the access log (created 0600, opened for appending only)."""
    settings.access_log.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(settings.access_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def _slug(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_")[:40] or "x"


def field_list(
    settings: Settings,
    kind: str,
    kelurahan: str,
    purpose: str | None,
    scenarios_path: Path | None = None,
) -> FieldList:
    """Write the verification sheet of ``kind`` for one kelurahan; log the access."""
    from tkpk.simulate import (
        ScenarioError,
        SimulationError,
        open_warehouse,
        published_state_problem,
    )

    text = check_allowed(settings, purpose)
    if kind not in KINDS and not (kind.startswith(SIMULATION_PREFIX)
                                  and len(kind) > len(SIMULATION_PREFIX)):
        raise FieldListError(
            f"--kind must be unreached_poor, extreme or simulation:<scenario>; got {kind!r}"
        )
    folder = settings.field_lists_dir
    check_outside_packs(settings, folder)
    try:
        con = open_warehouse(settings)
    except SimulationError as error:
        raise FieldListError(str(error)) from error
    try:
        problem = published_state_problem(con, settings.restricted_dir)
        if problem is not None:
            raise FieldListError(f"no field list: {problem}")
        names = dict(con.execute(read_sql("reference/kelurahan_names")).fetchall())
        if kelurahan not in names:
            raise FieldListError(f"--kelurahan {kelurahan} is not a kelurahan of the region")
        try:
            frame, title = listed_households(con, kind, kelurahan, scenarios_path)
        except ScenarioError as error:
            raise FieldListError(str(error)) from error
        programs = _programs(con)
    finally:
        con.close()
    now = datetime.now(UTC)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"daftar_{_slug(kind)}_{kelurahan}_{now:%Y%m%dT%H%M%S%fZ}.xlsx"
    try:
        sheets = write_workbook(path, frame, kind, title, kelurahan, names[kelurahan], text,
                                programs)
        os.chmod(path, 0o600)
        append_access_log(settings, {
            "when": now.isoformat(timespec="seconds"),
            "who": getpass.getuser(),
            "purpose": text,
            "kind": kind,
            "kelurahan": kelurahan,
            "scenarios": None if scenarios_path is None else str(scenarios_path),
            "rows": len(frame),
            "file": path.name,
        })
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return FieldList(path=path, rows=len(frame), sheets=sheets)
