"""Find a query of ``transforms/`` by name: the one way Python reads the project's SQL.

Business logic lives in SQL files under ``transforms/`` (one query per file, named after what it
yields, a chain of CTEs ending in ``select * from final``); Python loads the file, binds its
``$name`` parameters and runs it. Only the engine's own SQL (catalog queries, bookkeeping DDL,
``copy ... to`` exports, views over Parquet files, settings) stays inline in Python.
"""

from __future__ import annotations

from functools import cache

from tkpk.config import TRANSFORMS_DIR


@cache
def read_sql(name: str) -> str:
    """The text of ``transforms/<name>.sql`` (``name`` like ``"decisions/scenario_results"``)."""
    return (TRANSFORMS_DIR / f"{name}.sql").read_text(encoding="utf-8")


def create_table_sql(table: str, name: str, temporary: bool = False) -> str:
    """``create or replace [temp] table <table> as`` the query ``name`` of ``transforms/``."""
    kind = "temp table" if temporary else "table"
    return f"create or replace {kind} {table} as\n{read_sql(name)}"
