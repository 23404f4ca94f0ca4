"""DuckDB connections configured from the settings (memory limit, threads, spill folder, macros)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tkpk.config import TRANSFORMS_DIR, Settings

MACROS_SQL = TRANSFORMS_DIR / "macros.sql"


def connect(
    settings: Settings, database: Path | str | None = None, read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse (or ``database``; ``":memory:"`` for tests) with the engine settings.

    No extension is installed or loaded: nothing is fetched at run time. A warehouse file opened
    for writing is first brought back to its last good state: the committed steps of a nightly
    run that did not finish are undone (``tkpk.ledger.recover``).
    """
    target = str(database if database is not None else settings.warehouse)
    if target != ":memory:":
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    settings.temp_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(
        target,
        read_only=read_only,
        config={
            "memory_limit": settings.duckdb_memory_limit,
            "threads": settings.duckdb_threads,
            "temp_directory": str(settings.temp_dir / "duckdb_spill"),
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        },
    )
    con.execute(MACROS_SQL.read_text())
    if target != ":memory:" and not read_only:
        from tkpk.ledger import recover

        try:
            recover(con, settings.scratch_dir)
        except BaseException:
            con.close()
            raise
    return con


def run_sql_file(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Execute every statement of a SQL file."""
    con.execute(path.read_text())


def sql_literal(value: str | Path) -> str:
    """``value`` (a text or a path) as a SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"
