"""Build the curated tables: run ``transforms/marts/*.sql`` in dependency order.

Each model is one SQL file named after the table it creates (``marts/kelurahan_poverty.sql`` ->
DuckDB table ``kelurahan_poverty``); ``int_*`` files are intermediate models the curated tables
read. The runner only orchestrates: it checks that the inputs exist, then runs
``create or replace table <name> as <sql>`` for every model in ``MODEL_ORDER``. It neither begins
nor commits a transaction: the caller (the nightly flow) owns it.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import duckdb

from tkpk.config import TRANSFORMS_DIR
from tkpk.publish.atomic import crashpoint
from tkpk.publish.dictionary import check_columns
from tkpk.pull.log import DDL as PULL_LOG_DDL

MARTS_DIR = TRANSFORMS_DIR / "marts"

#: Intermediate models, each reading only the inputs and the models listed before it.
INTERMEDIATE_MODELS: tuple[str, ...] = (
    "int_periods",
    "int_area_hierarchy",
    "int_period_lines",
    "int_area_lines",
    "int_household_snapshot",
    "int_snapshot_distribution",
    "int_match_index",
    "int_program_monthly",
    "int_household_program",
    "int_household_funding",
    "int_household_status",
    # additive sums per area (or DESIL) behind the curated tables: the distributed flow adds
    # them across partitions before the curated tables turn them into ratios
    "int_poverty_sums",
    "int_area_desil_sums",
    "int_reach_sums",
    "int_incidence_sums",
    "int_overlap_sums",
    "int_funding_sums",
)

#: Engine settings a model runs with (set for its statement only, on top of the connection's).
#: ``int_program_monthly`` joins tens of millions of record-snapshot pairs to the snapshots'
#: ``int_match_index``; DuckDB underestimates the pairs (they come from an unnest) and would
#: hash them instead of the index, which at 1M households is gigabytes more to hold or spill.
#: Without the build-side swap each join hashes its right side, as the SQL is written.
MODEL_SETTINGS: dict[str, dict[str, str]] = {
    "int_program_monthly": {"disabled_optimizers": "build_side_probe_side"},
}

#: The column the rows of a large model's table are clustered by: its build writes them in that
#: order (``order by``), so each period (record month) fills row groups of its own. The incremental
#: build (``transforms.incremental``) replaces whole periods; on a clustered table the delete drops
#: whole row groups and the checkpoint at the commit rewrites only the few around the replaced
#: periods. On an unclustered table (rows scattered by the parallel build) every row group loses
#: rows and the checkpoint merges and rewrites them all: at 100,000 households, replacing 3 of 12
#: periods made the automatic checkpoint at the commit take 2.4 s CPU (the commit itself 0.2 s),
#: 0.7 s on clustered tables. Only the household-grain models are large enough to matter (the
#: others fit in one row group).
CLUSTER_KEYS: dict[str, str] = {
    "int_program_monthly": "record_period",
    "int_household_program": "period",
    "int_household_funding": "period",
    "int_household_status": "period",
}

#: The curated tables (published as ``<name>.parquet``), in build order.
CURATED_TABLES: tuple[str, ...] = (
    "kelurahan_poverty",
    "program_reach",
    "program_incidence",
    "program_overlap",
    "funding_sources",
    "data_quality",
    "data_quality_reason",
    "source_pulls",
    "households",
    "data_quality_field",
    "data_quality_field_summary",
    "data_coverage",
    "poverty_profile",
    "poverty_transitions",
)

#: Every model in build order.
MODEL_ORDER: tuple[str, ...] = INTERMEDIATE_MODELS + CURATED_TABLES

#: Tables the models read, with the step that creates each one.
INPUT_TABLES: dict[str, str] = {
    "registry_households": "ingest (tkpk.ingest.accept.process_loads)",
    "registry_members": "ingest (tkpk.ingest.accept.process_loads)",
    "program_records": "ingest (tkpk.ingest.accept.process_loads)",
    "snapshot_status": "ingest (tkpk.ingest.accept.process_loads)",
    "ingest_data_quality": "ingest (tkpk.ingest.accept.process_loads)",
    "ingest_data_quality_reason": "ingest (tkpk.ingest.accept.process_loads)",
    "flagged_field": "ingest (tkpk.ingest.accept.process_loads)",
    "ref_area": "tkpk.reference.install",
    "ref_program": "tkpk.reference.install",
    "ref_poverty_line": "tkpk.reference.install",
    "ref_official_poverty": "tkpk.reference.install",
    "quarantine": "ingest (tkpk.ingest.accept.process_loads)",
    "ingest_file": "ingest (tkpk.ingest.raw.load_new_files)",
    "ref_area_alias": "tkpk.reference.install",
    "source_pull_log": "tkpk pull (tkpk.pull.log; created empty when nothing was ever pulled)",
}

#: Inputs that exist only once their step has run at least once: created empty when missing.
OPTIONAL_INPUTS: dict[str, str] = {"source_pull_log": PULL_LOG_DDL}


class MissingInputError(RuntimeError):
    """An input table of the transforms does not exist in the warehouse."""


def model_path(name: str) -> Path:
    """The SQL file of model ``name``."""
    return MARTS_DIR / f"{name}.sql"


def model_sql(name: str) -> str:
    """The SELECT statement of model ``name`` (its file, without a trailing semicolon)."""
    return model_path(name).read_text(encoding="utf-8").strip().rstrip(";")


def sql_code(sql: str) -> str:
    """``sql`` without its ``--`` comments, lower-cased."""
    return re.sub(r"--[^\n]*", "", sql).lower()


def referenced_models(name: str) -> set[str]:
    """The other models that model ``name`` reads (after ``from`` / ``join``, not its CTEs)."""
    code = sql_code(model_sql(name))
    ctes = set(re.findall(r"\b([a-z_][a-z0-9_]*)\s+as\s*(?:not\s+)?(?:materialized\s*)?\(", code))
    tables = set(re.findall(r"\b(?:from|join)\s+([a-z_][a-z0-9_]*)", code))
    return (tables - ctes) & set(MODEL_ORDER) - {name}


def existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Names of the tables and views visible in the connection's current schema."""
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = current_schema()"
    ).fetchall()
    return {row[0] for row in rows}


def check_inputs(con: duckdb.DuckDBPyConnection) -> None:
    """Raise MissingInputError naming every missing input table and the step that creates it
    (``OPTIONAL_INPUTS`` are created empty instead)."""
    present = existing_tables(con)
    for name, ddl in OPTIONAL_INPUTS.items():
        if name not in present:
            con.execute(f"create table {name} ({ddl})")
            present.add(name)
    missing = [name for name in INPUT_TABLES if name not in present]
    if missing:
        details = "; ".join(f"{name} (created by {INPUT_TABLES[name]})" for name in missing)
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
    for name in MODEL_ORDER:
        start = time.perf_counter()
        build_model(con, name)
        if timings is not None:
            timings.append((name, time.perf_counter() - start))
        crashpoint(f"transform:{name}")
    return list(CURATED_TABLES)


def build_model(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Create or replace the table of model ``name`` (its inputs must exist), its rows
    clustered by the model's ``CLUSTER_KEYS`` column if it has one."""
    sql = clustered_sql(name) if name in CLUSTER_KEYS else model_sql(name)
    execute_model(con, name, f"create or replace table {name} as\n{sql}")
    check_columns(con, name)  # a curated table's columns against the registry (dictionary.py)


def clustered_sql(name: str) -> str:
    """A SELECT of every row of model ``name``: its SQL as a subquery, the rows ordered by the
    model's ``CLUSTER_KEYS`` column if it has one (to create or insert into its table)."""
    key = CLUSTER_KEYS.get(name)
    order = "" if key is None else f" order by {key}"
    return f"select * from (\n{model_sql(name)}\n){order}"


def execute_model(con: duckdb.DuckDBPyConnection, name: str, statement: str) -> None:
    """Run ``statement`` (a statement built from model ``name``'s SQL) with the model's
    ``MODEL_SETTINGS``; an engine error becomes a RuntimeError naming the model's file.

    The settings are restored after success only: after an engine error the caller's transaction
    is aborted and rolled back, and a SET there would mask the error.
    """
    previous = {
        setting: con.execute("select current_setting(?)", [setting]).fetchone()[0]
        for setting in MODEL_SETTINGS.get(name, {})
    }
    for setting, value in MODEL_SETTINGS.get(name, {}).items():
        combined = ",".join(v for v in (str(previous[setting] or ""), value) if v)
        con.execute(f"set {setting} = '{combined}'")
    try:
        con.execute(statement)
    except duckdb.Error as error:
        raise RuntimeError(f"transform {model_path(name).name} failed: {error}") from error
    for setting, value in previous.items():
        if value in (None, ""):
            con.execute(f"reset {setting}")
        else:
            con.execute(f"set {setting} = '{value}'")
