"""The dictionary is the registry: every published column has an entry and every entry is
published (on a real pack of a small synthetic run); each curated model's SQL produces exactly
the dictionary's columns, in order, with its types (checked at build time by ``check_columns``);
``docs/data-dictionary.md`` is generated from it."""

from __future__ import annotations

import json

import duckdb
import pytest
from marts_support import World
from pack_support import published_pack  # noqa: F401  (the session's real pack)

import transforms.runner
from tkpk.publish import dictionary
from tkpk.publish.dictionary import (
    BAPPEDA,
    PROGRAM_INCIDENCE,
    REGISTRY_ID_COLUMN,
    RESTRICTED,
    TABLES_BY_NAME,
    ColumnContractError,
    check_columns,
    exported_columns,
    pack_tables,
)
from transforms.models import graph
from transforms.runner import build_model

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


def _described(con, name: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(f"describe {name}").fetchall()]


def test_every_curated_model_builds_the_dictionary_columns(con) -> None:
    """Every curated model is in the registry and builds its columns, in order, with its types
    (the households marts carry the registry id that the publish step replaces with the
    pseudonym; sums may be a wider DECIMAL of the same scale)."""
    World(con).build()  # check_columns runs after every model
    assert set(CURATED_TABLES) == set(TABLES_BY_NAME)
    for name in CURATED_TABLES:
        table = TABLES_BY_NAME[name]
        built = _described(con, name)
        assert [n for n, _ in built] == [
            REGISTRY_ID_COLUMN if c.name == "household_pseudonym" else c.name
            for c in table.columns
        ], name
        for (column, built_type), declared in zip(built, table.columns, strict=True):
            assert built_type == declared.type or (
                built_type.startswith("DECIMAL(") and declared.type.startswith("DECIMAL(")
                and built_type.endswith(",2)") and declared.type.endswith(",2)")
            ), (name, column, built_type, declared.type)
        check_columns(con, name)


#: program_incidence as the registry declares it (a model's SELECT list).
INCIDENCE = (
    "cast('2031-01-01' as date) as period, 'PKH' as program, 1::tinyint as desil, "
    "cast(3 as bigint) as recipient_households, cast(1.50 as decimal(38,2)) as amount_idr, "
    "0.5::double as beneficiary_incidence, 0.25::double as benefit_incidence"
)


def test_check_columns_accepts_the_registry_columns() -> None:
    con = duckdb.connect()
    con.execute(f"create table program_incidence as select {INCIDENCE}")
    assert [t for _, t in _described(con, "program_incidence")][3:5] == [
        "BIGINT", "DECIMAL(38,2)"
    ]
    check_columns(con, "program_incidence")  # DECIMAL(38,2) exports as DECIMAL(18,2)
    check_columns(con, "int_whatever")  # not a registry table: nothing to check


@pytest.mark.parametrize(
    ("select", "message"),
    [
        (  # a column dropped
            INCIDENCE.replace(", 0.25::double as benefit_incidence", ""),
            r"missing \['benefit_incidence'\]",
        ),
        (  # a column added
            INCIDENCE + ", 1 as secret",
            r"not in the dictionary \['secret'\]",
        ),
        (  # two columns swapped
            INCIDENCE.replace(
                "'PKH' as program, 1::tinyint as desil", "1::tinyint as desil, 'PKH' as program"
            ),
            r"order differs from column 2: built \['desil', 'program'",
        ),
        (  # a ratio built as text, an amount with another scale
            INCIDENCE.replace("0.5::double", "'0.5'").replace("decimal(38,2)", "decimal(38,4)"),
            r"amount_idr built DECIMAL\(38,4\), dictionary DECIMAL\(18,2\); "
            r"beneficiary_incidence built VARCHAR, dictionary DOUBLE",
        ),
    ],
)
def test_check_columns_names_the_model_file_and_the_columns(select, message) -> None:
    con = duckdb.connect()
    con.execute(f"create table program_incidence as select {select}")
    with pytest.raises(ColumnContractError, match=message) as raised:
        check_columns(con, "program_incidence")
    assert "transforms/marts/program_incidence.sql" in str(raised.value)
    assert PROGRAM_INCIDENCE.model_file == "transforms/marts/program_incidence.sql"


def test_build_model_checks_the_columns(con, monkeypatch) -> None:
    """The runner checks a curated model's columns right after building it."""
    real = transforms.runner.model_sql

    def without_benefit_incidence(name: str) -> str:
        if name == "program_incidence":
            return f"select * exclude (benefit_incidence) from ({real(name)})"
        return real(name)

    World(con).build()
    monkeypatch.setattr(transforms.runner, "model_sql", without_benefit_incidence)
    with pytest.raises(ColumnContractError, match=r"program_incidence\.sql.*benefit_incidence"):
        build_model(con, "program_incidence")


def test_the_docs_are_generated_from_the_registry() -> None:
    stored = dictionary.DOCS_FILE.read_text(encoding="utf-8")
    assert stored == dictionary.render_docs(), (
        f"{dictionary.DOCS_FILE} is stale: run `{dictionary.DOCS_COMMAND}`"
    )
    assert dictionary.main(["--check"]) == 0
    # every table of the registry has its section listing its columns in order
    for table in dictionary.REGISTRY:
        section = stored.split(f"## `{table.name}`\n", 1)[1].split("\n## ", 1)[0]
        rows = [line for line in section.splitlines() if line.startswith("| ") and "`" in line]
        assert [row.split("`")[1] for row in rows] == table.names, table.name
