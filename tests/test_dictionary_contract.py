"""The dictionary is the registry: every published column has an entry and every entry is
published (on a real pack of a small synthetic run), and each curated model's SQL produces
exactly the dictionary's columns, in order."""

from __future__ import annotations

import json

import duckdb
import pytest
from marts_support import World
from pack_support import published_pack  # noqa: F401  (the session's real pack)

from tkpk.publish.dictionary import (
    BAPPEDA,
    REGISTRY_ID_COLUMN,
    RESTRICTED,
    TABLES,
    exported_columns,
    pack_tables,
)
from transforms.models import graph

CURATED_TABLES = graph().curated

#: DuckDB type names of the Parquet columns, as the dictionary writes them.
NUMERIC = ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "DOUBLE", "DECIMAL")


def _columns(path) -> list[tuple[str, str]]:
    con = duckdb.connect()
    rows = con.execute(f"describe select * from read_parquet('{path}')").fetchall()
    con.close()
    return [(r[0], r[1]) for r in rows]


@pytest.mark.parametrize("pack", [RESTRICTED, BAPPEDA])
def test_published_columns_are_exactly_the_dictionary(published_pack, pack) -> None:  # noqa: F811
    folder = published_pack.restricted_dir if pack == RESTRICTED else published_pack.bappeda_dir
    files = {p.stem for p in folder.glob("*.parquet")}
    documented = {t.name for t in pack_tables(pack)}
    assert files == documented, "a published table without an entry, or an entry not published"
    dictionary = json.loads((folder / "data_dictionary.json").read_text(encoding="utf-8"))
    listed = {t["table"]: [c["column"] for c in t["columns"]] for t in dictionary["tables"]}
    for table in pack_tables(pack):
        published = _columns(folder / f"{table.name}.parquet")
        expected = [c.name for c in exported_columns(table, pack)]
        names = [name for name, _ in published]
        assert names == expected, f"{pack}/{table.name}: published {names}, dictionary {expected}"
        assert listed[table.name] == expected
        types = dict(published)
        for column in exported_columns(table, pack):
            # every number in the pack is a column the dictionary defines with its type
            assert types[column.name].split("(")[0] == column.type.split("(")[0], (
                f"{pack}/{table.name}.{column.name}: {types[column.name]} vs {column.type}"
            )
            if types[column.name].startswith(NUMERIC):
                assert column.kind in ("count", "amount", "ratio", "attribute", "key")
                assert column.unit and column.en and column.id


def test_every_curated_model_produces_the_dictionary_columns(con) -> None:
    """The SQL's column list of each curated model is the dictionary's (the households mart
    carries the registry id that the publish step replaces with the pseudonym)."""
    World(con).build()
    documented = {t.name: t for t in TABLES}
    assert set(documented) <= set(CURATED_TABLES) | {"households"}
    for name in CURATED_TABLES:
        if name not in documented:
            continue
        columns = [
            r[0] for r in con.execute(
                "select column_name from information_schema.columns where table_name = ? "
                "order by ordinal_position", [name],
            ).fetchall()
        ]
        expected = [
            REGISTRY_ID_COLUMN if c.name == "household_pseudonym" else c.name
            for c in documented[name].columns
        ]
        assert columns == expected, name
