"""Disclosure control of the Bappeda pack (indicators.md, "Disclosure control"), in SQL.

Rules (driven by the column kinds of ``tkpk.publish.dictionary``):

- a count from 1 to 4 is published as null;
- an amount is null when the count of units it sums over (its ``basis``) is 1–4;
- a ratio is null when the number of units in its denominator is under 10, or when the count in
  its numerator is 1–4 (ratio × denominator would otherwise reveal the suppressed count).

Every suppressible column is followed by a BOOLEAN ``<column>_suppressed`` flag: true when a value
was withheld, false when it is shown or was undefined (null) to begin with. Zero counts are kept.
Conditions are evaluated on the unsuppressed values, so a ratio's window denominator (incidence)
uses the true totals.
"""

from __future__ import annotations

from tkpk.publish.dictionary import (
    BAPPEDA,
    MAX_SMALL_COUNT,
    MIN_COUNT,
    MIN_DENOMINATOR,
    Column,
    Table,
    exported_columns,
    flag_column,
)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def small_count_sql(expression: str) -> str:
    """SQL: ``expression`` is a count from 1 to 4 (false when null)."""
    return f"coalesce(({expression}) between {MIN_COUNT} and {MAX_SMALL_COUNT}, false)"


def suppression_condition(column: Column) -> str | None:
    """SQL: the value of ``column`` must be withheld (None: never suppressed)."""
    if column.kind == "count":
        return small_count_sql(_quote(column.name))
    if column.kind == "amount":
        return small_count_sql(_quote(column.basis or column.name))
    if column.kind == "ratio":
        condition = f"coalesce(({column.denominator}) < {MIN_DENOMINATOR}, true)"
        if column.numerator:
            condition += f" or {small_count_sql(column.numerator)}"
        return f"({condition})"
    return None


def suppressed_select(table: Table, source_sql: str) -> str:
    """A SELECT giving the Bappeda version of ``table`` from ``source_sql`` (unsuppressed)."""
    items: list[str] = []
    for column in table.columns:
        name = _quote(column.name)
        condition = suppression_condition(column)
        if condition is None:
            items.append(name)
            continue
        items.append(f"case when {condition} then null else {name} end as {name}")
        items.append(
            f"coalesce(({condition}) and {name} is not null, false) "
            f"as {_quote(flag_column(column.name))}"
        )
    expected = [c.name for c in exported_columns(table, BAPPEDA)]
    assert len(items) == len(expected), "flag columns out of step with the dictionary"
    order = ", ".join(_quote(k) for k in table.key)
    return f"select {', '.join(items)} from {source_sql} order by {order}"
