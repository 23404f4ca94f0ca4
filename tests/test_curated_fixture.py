"""The hand-built curated fixture (tests/curated_fixture.py), kept for the report's unit tests,
has the tables, columns and column types of the published packs (tkpk/publish/dictionary.py) and
of packs that ``publish_packs`` writes (``conftest.real_packs``)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from curated_fixture import write_curated_fixture

from tkpk.db import sql_literal
from tkpk.publish import dictionary

PACKS = ("restricted", "bappeda")


def _schema(folder: Path) -> dict[str, list[tuple[str, str]]]:
    """table -> [(column, DuckDB type)] of the Parquet files of a pack folder."""
    with duckdb.connect() as con:
        return {
            path.stem: [
                (name, type_) for name, type_, *_ in con.execute(
                    f"describe select * from read_parquet({sql_literal(path)})"
                ).fetchall()
            ]
            for path in sorted(folder.glob("*.parquet"))
        }


@pytest.fixture(scope="module")
def fixture_packs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    curated = tmp_path_factory.mktemp("fixture") / "curated"
    write_curated_fixture(curated)
    return curated


@pytest.mark.parametrize("pack", PACKS)
def test_fixture_tables_and_columns_follow_the_dictionary(fixture_packs, pack) -> None:
    schema = _schema(fixture_packs / pack)
    differences = []
    for table in dictionary.pack_tables(pack):
        if table.name not in schema:
            continue  # a table the report and notebooks do not read (checked below)
        expected = [c.name for c in dictionary.exported_columns(table, pack)]
        got = [name for name, _ in schema[table.name]]
        if got != expected:
            differences.append(
                f"{pack}/{table.name}: missing {sorted(set(expected) - set(got))}, "
                f"extra {sorted(set(got) - set(expected))}"
                + (", order differs" if sorted(got) == sorted(expected) else "")
            )
    assert differences == []
    assert set(schema) <= {t.name for t in dictionary.pack_tables(pack)}


@pytest.mark.parametrize("pack", PACKS)
def test_fixture_types_equal_the_published_packs(fixture_packs, real_packs, pack) -> None:
    fixture = _schema(fixture_packs / pack)
    real = _schema(real_packs.curated_dir / pack)
    differences = [
        f"{pack}/{table}.{name}: {type_} in the fixture, {dict(real[table]).get(name)} published"
        for table, columns in fixture.items()
        for name, type_ in columns
        if table in real and dict(real[table]).get(name) != type_
    ]
    assert differences == []
