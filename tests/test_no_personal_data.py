"""No export contains a NIK, family-card number, name, address or date of birth.

Every file of both published packs is scanned: its raw bytes (text files, and whatever Parquet
stores uncompressed) and, for Parquet, every decoded cell, for the identifiers and names present
in the input tables.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest
from test_publish_fixtures import PEOPLE, build_curated, publish

from tkpk.publish import privacy
from tkpk.publish.privacy import PersonalDataError


def personal_values(con: duckdb.DuckDBPyConnection) -> tuple[set[str], set[date]]:
    """Identifiers, names and addresses (text) and birth dates found in the input tables."""
    text: set[str] = set()
    for table, columns in privacy.PERSONAL_SOURCES.items():
        exists = con.execute(
            "select count(*) from information_schema.tables where table_name = ?", [table]
        ).fetchone()[0]
        if not exists:
            continue
        for column in columns:
            if column == "tanggal_lahir":
                continue
            rows = con.execute(f"select distinct {column} from {table}").fetchall()
            text |= {r[0] for r in rows if r[0]}
    births = {r[0] for r in con.execute("select tanggal_lahir from registry_members").fetchall()}
    return text, births


def scan_exports(con: duckdb.DuckDBPyConnection, folder: Path) -> list[str]:
    """Every personal value found in any file under ``folder`` (bytes and decoded Parquet)."""
    text, births = personal_values(con)
    needles = set()
    for value in text:
        needles |= {value, value.upper(), value.lower()}
    for born in births:
        needles |= {born.isoformat(), born.strftime("%d/%m/%Y"), born.strftime("%d-%m-%Y")}
    found = []
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        found += [f"{path.name}: bytes {n!r}" for n in needles if n.encode() in data]
        if path.suffix != ".parquet":
            continue
        relation = f"read_parquet('{path}')"
        described = con.execute(f"describe select * from {relation}").fetchall()
        for name, type_, *_ in described:
            if type_ == "DATE":
                dates = {r[0] for r in con.execute(f'select distinct "{name}" from {relation}')
                         .fetchall()}
                found += [f"{path.name}.{name}: birth date {d}" for d in dates & births]
                continue
            cells = con.execute(
                f'select distinct cast("{name}" as varchar) from {relation}'
            ).fetchall()
            for (cell,) in cells:
                if cell is None:
                    continue
                found += [
                    f"{path.name}.{name}: {n!r}" for n in needles if n.lower() in cell.lower()
                ]
    return found


@pytest.fixture
def published(con, settings):
    build_curated(con)
    result = publish(con, settings)
    return result


def test_no_export_contains_personal_data(con, settings, published) -> None:
    text, births = personal_values(con)
    # the inputs do hold the synthetic people, and the restricted pack holds their households
    assert {p[3] for p in PEOPLE} <= text and {p[4] for p in PEOPLE} <= text
    assert len(births) == len(PEOPLE)
    assert scan_exports(con, published.version_dir) == []


def test_the_scan_finds_a_planted_value(con, settings, published, tmp_path) -> None:
    """Control: the scanner finds a name inside a compressed Parquet file and a birth date."""
    planted = tmp_path / "planted"
    planted.mkdir()
    con.execute(
        f"copy (select 'laporan ' || '{PEOPLE[1][4]}' as note, date '{PEOPLE[2][5]}' as d, "
        f"range as n from range(5000)) to '{planted}/x.parquet' (format parquet, compression zstd)"
    )
    found = scan_exports(con, planted)
    assert any(PEOPLE[1][4] in f for f in found)
    assert any("birth date" in f for f in found)


@pytest.mark.parametrize(
    "plant",
    [
        # a member's name turns up as a raw file name
        f"update data_quality set file_name = '{PEOPLE[0][4]}' where kind = 'households'",
        # a NIK-like number in a free-text column
        "update data_quality set file_name = 'salur_pkh_3375019999999999.csv' "
        "where kind = 'households'",
        # an address in a kelurahan name of the household list
        f"update households set kelurahan_name = '{PEOPLE[3][2]}' where rt = 1",
    ],
)
def test_publish_stops_on_personal_data(con, settings, plant: str) -> None:
    build_curated(con)
    con.execute(plant)
    with pytest.raises(PersonalDataError, match="personal-data audit failed"):
        publish(con, settings)
    assert not settings.restricted_dir.exists()
    assert not settings.bappeda_dir.exists()


def test_household_list_keys_are_pseudonyms_only(con, settings, published) -> None:
    relation = f"read_parquet('{published.restricted_dir}/households.parquet')"
    columns = [r[0] for r in con.execute(f"describe select * from {relation}").fetchall()]
    assert columns[0] == "household_pseudonym"
    assert not {"id_keluarga", "no_kk", "nik", "nama", "alamat", "tanggal_lahir"} & set(columns)
    ids = {p[0] for p in PEOPLE}
    pseudonyms = {r[0] for r in con.execute(f"select household_pseudonym from {relation}")
                  .fetchall()}
    assert len(pseudonyms) == len(PEOPLE) and not pseudonyms & ids
