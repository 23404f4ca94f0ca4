"""Build the curated tables: run ``transforms/marts/*.sql`` in dependency order.

Each model is one SQL file named after the table it creates (``marts/kelurahan_poverty.sql`` ->
DuckDB table ``kelurahan_poverty``), declaring itself in its header (``transforms.models``);
``int_*`` files are intermediate models the curated tables read. The runner only orchestrates:
it checks that the inputs (the models' sources) exist, then runs
``create or replace table <name> as <sql>`` for every model in build order (``graph().order``,
a topological sort over the tables each model reads). It neither begins nor commits a
transaction: the caller (the nightly flow) owns it.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb

from tkpk.publish.atomic import crashpoint
from tkpk.publish.dictionary import check_columns
from transforms.models import MARTS_DIR, graph

# The build's models, their order, settings and cluster keys: ``transforms.models`` (each
# model's header). A large model's ``cluster_key``: its build writes the rows in that order
# (``order by``), so each period (record month) fills row groups of its own. The incremental
# build (``transforms.incremental``) replaces whole periods; on a clustered table the delete drops
# whole row groups and the checkpoint at the commit rewrites only the few around the replaced
# periods. On an unclustered table (rows scattered by the parallel build) every row group loses
# rows and the checkpoint merges and rewrites them all: at 100,000 households, replacing 3 of 12
# periods made the automatic checkpoint at the commit take 2.4 s CPU (the commit itself 0.2 s),
# 0.7 s on clustered tables. Only the household-grain models are large enough to matter (the
# others fit in one row group). A model's ``settings`` hold for its statement only, on top of
# the connection's (why a model needs them: its file's comment).


class MissingInputError(RuntimeError):
    """An input table of the transforms does not exist in the warehouse."""


def model_path(name: str) -> Path:
    """The SQL file of model ``name``."""
    return MARTS_DIR / f"{name}.sql"


def model_sql(name: str) -> str:
    """The SELECT statement of model ``name`` (its file after the MODEL header, without a
    trailing semicolon)."""
    return graph()[name].body


def existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Names of the tables and views visible in the connection's current schema."""
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = current_schema()"
    ).fetchall()
    return {row[0] for row in rows}


def check_inputs(con: duckdb.DuckDBPyConnection) -> None:
    """Raise MissingInputError naming every missing source table the models read and the step
    that creates it (a source with a DDL is created empty instead)."""
    present = existing_tables(con)
    sources = graph().sources
    for name in graph().sources_read():
        if name not in present and sources[name].ddl is not None:
            con.execute(f"create table {name} ({sources[name].ddl})")
            present.add(name)
    missing = [name for name in graph().sources_read() if name not in present]
    if missing:
        details = "; ".join(f"{name} (created by {sources[name].step})" for name in missing)
        raise MissingInputError(
            f"transforms cannot run, input tables missing: {details}. "
            "Run the reference install and the ingest step first (tkpk run)."
        )


def build_marts(
    con: duckdb.DuckDBPyConnection, timings: list[tuple[str, float]] | None = None
) -> list[str]:
    """Create or replace every intermediate model and curated table, in dependency order.

    Returns the curated table names, in the order they were built. ``timings``, when given,
    receives (model, wall seconds) per model.
    """
    check_inputs(con)
    for name in graph().order:
        start = time.perf_counter()
        build_model(con, name)
        if timings is not None:
            timings.append((name, time.perf_counter() - start))
        crashpoint(f"transform:{name}")
    return list(graph().curated)


#: Engine settings whose value is a comma-separated list: a model header's value is added to the
#: connection's (any other setting's header value replaces the connection's while the model runs).
LIST_SETTINGS = frozenset({"disabled_optimizers"})


def build_model(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Create or replace the table of model ``name`` (its inputs must exist), its rows
    clustered by the model's ``cluster_key`` column if it has one."""
    sql = model_sql(name) if graph()[name].cluster_key is None else clustered_sql(name)
    execute_model(con, name, f"create or replace table {name} as\n{sql}")
    check_columns(con, name)  # a curated table's columns against the registry (dictionary.py)


def clustered_sql(name: str) -> str:
    """A SELECT of every row of model ``name``: its SQL as a subquery, the rows ordered by the
    model's ``cluster_key`` column if it has one (to create or insert into its table); a model
    whose header says ``cluster_sort model`` returns its rows in that order itself."""
    model = graph()[name]
    if model.cluster_key is None or model.cluster_sort == "model":
        return f"select * from (\n{model_sql(name)}\n)"
    return f"select * from (\n{model_sql(name)}\n) order by {model.cluster_key}"


def execute_model(con: duckdb.DuckDBPyConnection, name: str, statement: str,
                  scoped: bool = False) -> None:
    """Run ``statement`` (a statement built from model ``name``'s SQL) with the model's
    header ``settings`` (``scoped``: its ``scoped_settings`` when it has them, for an
    incremental build's scoped run); an engine error becomes a RuntimeError naming the model's
    file.

    The settings are restored after success only: after an engine error the caller's transaction
    is aborted and rolled back, and a SET there would mask the error.
    """
    model = graph()[name]
    settings = model.scoped_settings if scoped and model.scoped_settings is not None \
        else model.settings
    previous = {
        setting: con.execute("select current_setting(?)", [setting]).fetchone()[0]
        for setting in settings
    }
    for setting, value in settings.items():
        if setting in LIST_SETTINGS:  # added to the connection's list, not replacing it
            value = ",".join(v for v in (str(previous[setting] or ""), value) if v)
        con.execute(f"set {setting} = '{value}'")
    try:
        con.execute(statement)
    except duckdb.Error as error:
        raise RuntimeError(f"transform {model_path(name).name} failed: {error}") from error
    for setting, value in previous.items():
        if value in (None, ""):
            con.execute(f"reset {setting}")
        else:
            con.execute(f"set {setting} = '{value}'")


def __getattr__(name: str) -> tuple[str, ...]:
    """``CURATED_TABLES`` and ``MODEL_ORDER``: derived from the models' headers on access
    (``transforms.models.graph()``; no list is kept here)."""
    if name == "CURATED_TABLES":
        return graph().curated
    if name == "MODEL_ORDER":
        return graph().order
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
