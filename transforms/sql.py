"""Find a query of ``transforms/`` by name: the one way Python reads the project's SQL.

Business logic lives in SQL files under ``transforms/`` (one query per file, named after what it
yields, a chain of CTEs ending in ``select * from final``); Python loads the file, binds its
``$name`` parameters and runs it. Only the engine's own SQL (catalog queries, bookkeeping DDL,
``copy ... to`` exports, views over Parquet files, settings) stays inline in Python.
"""

from __future__ import annotations

import re
from functools import cache

from tkpk.config import TRANSFORMS_DIR


@cache
def read_sql(name: str) -> str:
    """The text of ``transforms/<name>.sql`` (``name`` like ``"decisions/scenario_results"``)."""
    return (TRANSFORMS_DIR / f"{name}.sql").read_text(encoding="utf-8")


#: ``{{name}}`` in a query file: filled by :func:`render_sql`.
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def render_sql(name: str, **values: str) -> str:
    """The query ``transforms/<name>.sql`` (no trailing ``;``) with its placeholders filled.

    What differs between the uses of one query (a table name, a column list drawn from a
    registry: ``tkpk.ingest.schema.ACCEPTANCE``, ``tkpk.publish.dictionary``) is written
    ``{{name}}`` in the file and replaced here by the text of ``values[name]``, nothing else (no
    conditionals, no loops); a value may itself hold placeholders, filled the same way (one
    level). A placeholder without a value is an error naming the file.
    """
    text = read_sql(name).strip().rstrip(";")
    for _ in range(2):
        missing = sorted(set(_PLACEHOLDER.findall(text)) - values.keys())
        if missing:
            raise KeyError(f"transforms/{name}.sql: no value for {', '.join(missing)}")
        text = _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)
    if _PLACEHOLDER.search(text):
        raise KeyError(f"transforms/{name}.sql: placeholders nested too deep")
    return text


def create_table_sql(table: str, name: str, temporary: bool = False) -> str:
    """``create or replace [temp] table <table> as`` the query ``name`` of ``transforms/``."""
    kind = "temp table" if temporary else "table"
    return f"create or replace {kind} {table} as\n{read_sql(name)}"
