"""The queries the library reads from transforms/ (decisions/, reference/, analysis/, synth/,
scoped/) keep the project's SQL style: a header naming the query and its grain, a chain of CTEs
ending in ``select * from final``; ``read_sql`` finds them by name."""

from __future__ import annotations

import re

import pytest

from tkpk.config import TRANSFORMS_DIR
from transforms.sql import create_table_sql, read_sql

QUERY_DIRS = ("decisions", "reference", "analysis", "synth", "scoped")
QUERIES = sorted(p for d in QUERY_DIRS for p in (TRANSFORMS_DIR / d).glob("*.sql"))


def test_there_are_queries():
    assert len(QUERIES) >= 15


@pytest.mark.parametrize("path", QUERIES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_query_style(path):
    text = path.read_text(encoding="utf-8")
    assert text.startswith(f"-- {path.stem}: "), "header names the query"
    assert re.search(r"^-- Grain: ", text, re.MULTILINE), "header states the grain"
    assert re.search(r"^with\n", text, re.MULTILINE)
    assert re.search(r"^final as \(", text, re.MULTILINE)
    last = text.strip().split("\n\n")[-1]
    assert last.startswith("select * from final"), "ends in select * from final"
    code = [line.split("--")[0] for line in text.splitlines()]
    # a semicolon inside a string literal (an XML entity such as '&amp;') ends no statement
    code = [re.sub(r"'(?:[^']|'')*'", "''", line) for line in code]
    assert not any(";" in line for line in code), "one statement"


def test_read_sql_by_name():
    name = "decisions/scenario_periods"
    assert read_sql(name) == (TRANSFORMS_DIR / f"{name}.sql").read_text(encoding="utf-8")
    assert create_table_sql("t", name, temporary=True).startswith(
        "create or replace temp table t as\n-- scenario_periods: "
    )
