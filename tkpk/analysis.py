"""Small helpers for analysts: open a published pack with DuckDB, pick periods, format tables.

The notebooks and ``tkpk report`` read only the published Parquet packs (never the warehouse):
``open_pack()`` loads the pack's aggregate tables into an in-memory DuckDB, so a session sees one
consistent version of the pack even if the nightly run publishes a new one meanwhile, and nothing
on disk is ever locked or modified. The large household table of the restricted pack stays a view
over its Parquet file.

    from tkpk import analysis
    pack = analysis.open_pack()                   # folder from TKPK_OUT / the config
    period = analysis.latest_period(pack)
    kel = pack.table("kelurahan_poverty", period=period, level="kelurahan")
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from tkpk import formatting as fmt
from tkpk.config import Settings, get_settings
from tkpk.db import connect, sql_literal
from transforms.sql import read_sql

PACKS = ("restricted", "bappeda")
#: Tables read into memory when a pack is opened (all aggregates, small at any scale).
AGGREGATE_TABLES = (
    "kelurahan_poverty",
    "program_reach",
    "program_incidence",
    "program_overlap",
    "funding_sources",
    "data_quality",
    "data_quality_reason",
    "data_coverage",  # read when the pack has it
    "poverty_profile",
    "poverty_transitions",
)
#: Tables left as views over their Parquet file (household level: large for a province).
VIEW_TABLES = ("households",)
AREA_LEVELS = ("kelurahan", "kecamatan", "kota")

#: Indonesian labels of the figures, for tables and chart axes.
LABELS = {
    "area_name": "Wilayah",
    "population": "Penduduk (jiwa)",
    "households": "Rumah tangga",
    "poor_population": "Penduduk miskin (jiwa)",
    "poor_households": "RT miskin",
    "p0": "P0 (tingkat kemiskinan)",
    "p1": "P1 (kedalaman)",
    "p2": "P2 (keparahan)",
    "poverty_gap_idr_month": "Kesenjangan kemiskinan (Rp/bulan)",
    "extreme_poor_population": "Penduduk miskin ekstrem (jiwa)",
    "extreme_p0": "Tingkat kemiskinan ekstrem",
    "near_poor_population": "Penduduk hampir miskin (jiwa)",
    "households_desil_1_4": "RT desil 1–4",
    "poor_households_unreached": "RT miskin tanpa program",
    "mpi_poor_population": "Miskin multidimensi (jiwa)",
    "mpi_h": "IKM H (insidensi)",
    "mpi_a": "IKM A (intensitas)",
    "mpi_m0": "IKM M0",
    "deprived_schooling": "Pendidikan anggota dewasa",
    "deprived_attendance": "Anak tidak bersekolah",
    "deprived_insurance": "Tanpa jaminan kesehatan",
    "deprived_electricity": "Tanpa listrik",
    "deprived_water": "Air minum tidak layak",
    "deprived_sanitation": "Sanitasi tidak layak",
    "deprived_housing": "Lantai/dinding tidak layak",
    "deprived_cooking_fuel": "Bahan bakar memasak",
    "deprived_crowding": "Hunian sempit (< 8 m²/orang)",
    "program": "Program",
    "program_name": "Nama program",
    "recipient_households": "RT penerima",
    "amount_idr": "Nilai bantuan (Rp)",
    "target_households": "RT sasaran",
    "coverage_target": "Cakupan sasaran",
    "exclusion_error": "Exclusion error",
    "inclusion_error": "Inclusion error",
    "coverage_poor": "Cakupan RT miskin",
    "adequacy": "Kecukupan",
    "funding_source": "Sumber dana",
    "desil": "Desil",
    "beneficiary_incidence": "Sebaran penerima",
    "benefit_incidence": "Sebaran nilai bantuan",
}


class PackNotFoundError(FileNotFoundError):
    """No published pack where the settings point."""


@dataclass
class Pack:
    """An opened pack: an in-memory DuckDB with one table (or view) per Parquet file."""

    con: duckdb.DuckDBPyConnection
    name: str
    folder: Path
    tables: tuple[str, ...] = field(default_factory=tuple)

    def sql(self, query: str, params: Iterable[object] | Mapping[str, object] = ()) -> pd.DataFrame:
        """Run a query on the pack's tables and return a DataFrame."""
        return self.con.execute(query, params).df()

    def has(self, table: str) -> bool:
        """True when the pack holds ``table``."""
        return table in self.tables

    def table(
        self,
        name: str,
        period: date | str | None = None,
        level: str | Iterable[str] | None = None,
        until: date | str | None = None,
    ) -> pd.DataFrame:
        """Rows of ``name``, optionally for one ``period``, area ``level``(s) and periods up to
        ``until``; ordered by period and area code (and program / source / desil)."""
        if not self.has(name):
            raise KeyError(f"table {name!r} is not in the {self.name} pack at {self.folder}")
        columns = self.columns(name)
        where, params = [], []
        if period is not None:
            where.append("period = ?")
            params.append(fmt.parse_period(period))
        if until is not None:
            where.append("period <= ?")
            params.append(fmt.parse_period(until))
        if level is not None:
            levels = [level] if isinstance(level, str) else list(level)
            unknown = set(levels) - set(AREA_LEVELS)
            if unknown:
                raise ValueError(f"unknown area level(s) {sorted(unknown)}: use {AREA_LEVELS}")
            where.append(f"area_level in ({', '.join('?' for _ in levels)})")
            params.extend(levels)
        order = [
            c for c in ("period", "area_code", "program", "funding_source", "desil",
                        "profile_group") if c in columns
        ]
        query = f"select * from {name}"
        if where:
            query += " where " + " and ".join(where)
        if order:
            query += " order by " + ", ".join(order)
        return self.sql(query, params)

    def columns(self, name: str) -> list[str]:
        """Column names of a table of the pack."""
        return [row[0] for row in self.con.execute(f"describe {name}").fetchall()]

    def close(self) -> None:
        """Close the in-memory database."""
        self.con.close()

    def __enter__(self) -> Pack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def pack_dir(settings: Settings | None = None, pack: str = "restricted") -> Path:
    """The folder of a published pack (``restricted`` or ``bappeda``)."""
    settings = settings or get_settings()
    if pack not in PACKS:
        raise ValueError(f"unknown pack {pack!r}: use one of {PACKS}")
    return settings.restricted_dir if pack == "restricted" else settings.bappeda_dir


def choose_pack(settings: Settings | None = None, pack: str | None = None) -> str:
    """``pack`` if given, else the restricted pack when published, else the bappeda pack."""
    settings = settings or get_settings()
    candidates = [pack] if pack else list(PACKS)
    for candidate in candidates:
        if (pack_dir(settings, candidate) / "kelurahan_poverty.parquet").is_file():
            return candidate
    tried = ", ".join(str(pack_dir(settings, c)) for c in candidates)
    raise PackNotFoundError(
        f"no published pack found (looked in {tried}). Run `tkpk run` first, or point "
        "--out / TKPK_OUT at the folder holding restricted/ and bappeda/."
    )


def open_pack(settings: Settings | None = None, pack: str | None = None) -> Pack:
    """Open a published pack (default: restricted if present, else bappeda) read-only.

    Aggregate tables are copied into an in-memory DuckDB (a consistent snapshot of the pack); the
    household table stays a view over its Parquet file. The warehouse is never opened.
    """
    settings = settings or get_settings()
    name = choose_pack(settings, pack)
    # Resolve the publisher's ``current`` symlink once: every read pins this version of the pack.
    folder = pack_dir(settings, name).resolve()
    con = connect(settings, ":memory:")
    tables = []
    for table in (*AGGREGATE_TABLES, *VIEW_TABLES):
        path = folder / f"{table}.parquet"
        if not path.is_file():
            continue
        kind = "view" if table in VIEW_TABLES else "table"
        con.execute(f"create {kind} {table} as select * from read_parquet({sql_literal(path)})")
        tables.append(table)
    return Pack(con=con, name=name, folder=folder, tables=tuple(tables))


def periods(pack: Pack) -> list[date]:
    """The reported periods of the pack, oldest first."""
    rows = pack.con.execute(read_sql("analysis/pack_periods")).fetchall()
    return [row[0] for row in rows]


def latest_period(pack: Pack) -> date:
    """The most recent reported period."""
    found = periods(pack)
    if not found:
        raise ValueError(f"the {pack.name} pack at {pack.folder} has no reported period")
    return found[-1]


def resolve_period(pack: Pack, period: date | str | None = None) -> date:
    """``period`` (``YYYY-MM``) checked against the pack, or the latest period when ``None``."""
    if period is None:
        return latest_period(pack)
    wanted = fmt.parse_period(period)
    available = periods(pack)
    if wanted not in available:
        names = ", ".join(fmt.period_key(p) for p in available) or "none"
        raise ValueError(
            f"period {fmt.period_key(wanted)} is not in the {pack.name} pack (available: {names})"
        )
    return wanted


def official_rate(poverty: pd.DataFrame | None = None) -> dict | None:
    """BPS's official rate carried by the kab/kota row of ``poverty`` (rows of
    ``kelurahan_poverty`` of one period): ``year``, ``p0`` (fraction), ``registry_coverage``
    (registry population / the release's population, or None) and ``source``; None when the
    pack carries no official release for the period (reference/official_poverty.csv)."""
    if poverty is None or "official_p0" not in poverty:
        return None
    rows = poverty[poverty["area_level"].isin(["kota", "kabupaten"])
                   & poverty["official_p0"].notna()]
    if rows.empty:
        return None
    row = rows.iloc[0]
    year = int(row["official_year"])
    coverage = row.get("registry_coverage")
    return {
        "year": year,
        "p0": float(row["official_p0"]),
        "registry_coverage": None if fmt.is_missing(coverage) else float(coverage),
        "source": f"BPS (Susenas), {year}",
    }


def share(part: object, whole: object) -> float | None:
    """``part / whole``, or ``None`` when either is missing or ``whole`` is zero."""
    if fmt.is_missing(part) or fmt.is_missing(whole) or float(whole) == 0:
        return None
    return float(part) / float(whole)


def formatted(
    frame: pd.DataFrame,
    percent: Iterable[str] = (),
    number: Iterable[str] = (),
    rupiah: Iterable[str] = (),
    rupiah_compact: Iterable[str] = (),
    decimals: Mapping[str, int] | None = None,
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """A copy of ``frame`` for display: columns formatted the Indonesian way and renamed to their
    Indonesian labels (``LABELS``, overridden by ``labels``). Missing values show as ``–``."""
    decimals = dict(decimals or {})
    out = frame.copy()
    for column in percent:
        places = decimals.get(column, 1)
        out[column] = [fmt.format_percent(v, places) for v in out[column]]
    for column in number:
        places = decimals.get(column, 0)
        out[column] = [fmt.format_number(v, places) for v in out[column]]
    for column in rupiah:
        out[column] = [fmt.format_rupiah(v) for v in out[column]]
    for column in rupiah_compact:
        out[column] = [fmt.format_rupiah_compact(v) for v in out[column]]
    names = {**LABELS, **(labels or {})}
    return out.rename(columns={c: names.get(c, c) for c in out.columns}).reset_index(drop=True)


def registry_note(period: date | str) -> str:
    """The caption every registry-based figure carries."""
    return (
        f"Berbasis data registrasi, periode {fmt.format_period(period)}; "
        "bukan angka resmi BPS (Susenas)."
    )


def simulate(
    *scenarios: Mapping[str, object],
    settings: Settings | None = None,
    check_published: bool = True,
    **keys: object,
) -> pd.DataFrame:
    """Budget what-if for notebooks: the scenarios' result rows (``tkpk.simulate``), one row per
    scenario x area, the same columns as ``simulation_results.parquet``.

    Give one scenario with the scenario file's keys, or several as dicts::

        analysis.simulate(name="BLT", period="2026-10", budget_idr_month=1_500_000_000,
                          eligible="poor", rule="fill_bottom")
        analysis.simulate({"name": "A", ...}, {"name": "B", ...})

    Unlike the other helpers this reads the warehouse (read-only, like ``tkpk simulate``: only in
    the state of the last published run unless ``check_published=False``): the household-level
    expenditure and ID_KELUARGA (lift_closest's tie order) are not in the packs."""
    from tkpk.simulate import (
        SimulationError,
        open_warehouse,
        parse_scenarios,
        published_state_problem,
        run_scenarios,
    )

    settings = settings or get_settings()
    tables = [dict(s) for s in scenarios]
    if keys:
        tables.append({"name": "skenario", **keys})
    parsed = parse_scenarios({"scenario": tables}, source="analysis.simulate")
    con = open_warehouse(settings)
    try:
        if check_published:
            problem = published_state_problem(con, settings.restricted_dir)
            if problem is not None:
                raise SimulationError(f"not simulating: {problem}")
        return run_scenarios(con, parsed)
    finally:
        con.close()
