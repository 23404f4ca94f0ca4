"""Great Expectations 1.x suites compiled to DuckDB SQL, with GX's semantics.

One declaration, one compiler, one executor: the suite files in ``expectations/`` (staging and
output suites, each rule with its ``meta.severity``) are compiled here and run as plain DuckDB SQL
over whole relations by ``tkpk.suite_run``; GX runs them on a bounded sample as a cross-check and
for the Data Docs (``tkpk.validation``). Each row-wise expectation becomes a predicate that is
true exactly on the rows GX reports as unexpected:

- column-value expectations skip nulls (GX's pandas "column map" metrics drop them first), except
  ``expect_column_values_to_not_be_null``; for FLOAT/DOUBLE columns NaN counts as null, as in
  pandas;
- ``row_condition`` (GX 1.x condition objects: ``comparison``, ``nullity``, ``and``, ``or``) keeps
  the rows pandas' ``DataFrame.query`` keeps: a comparison with a null is false, except ``!=`` and
  ``NOT_IN``, which are true on nulls (NaN compares unequal to everything);
- ``expect_column_values_to_match_regex`` is a search (pandas ``str.contains``, i.e. Python
  ``re.search``), as is DuckDB's ``regexp_matches``; the pattern is translated so that RE2 agrees
  with Python ``re`` (``$`` also matches before a final newline, ``\\d`` is any Unicode digit) and
  constructs whose meaning differs (``\\w``, ``\\s``, ``\\b``, lookarounds, backreferences) are
  refused;
- ``expect_column_values_to_be_between`` compares dates and timestamps as timestamps when the bounds
  are ISO strings (GX parses them), refuses mixing strings and numbers (GX raises too);
- ``expect_column_pair_values_a_to_be_greater_than_b`` honours ``or_equal`` and ``ignore_row_if``
  (a comparison with a missing value is unexpected unless the row is ignored).

The row-wise expectations are judged in one scan whose filter is :func:`scan_predicate`: where a
column's regular expression (``match_regex``) can only match values that another one of the same
column also matches (:func:`regex_implies`, proven from the patterns), the scan runs the stricter
one first and the others only on the values it does not match (a NIK's "16 digits" after its
"province, birth date" pattern: one regular expression per valid NIK instead of two).

Anything else (an unknown type, an unsupported option) raises ``SuiteCompileError`` naming the suite
and the expectation, so a suite never silently means something else in SQL than in GX.
"""

from __future__ import annotations

import re
import re._parser as re_parser
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tkpk.config import EXPECTATIONS_DIR
from tkpk.db import sql_literal

#: Options every expectation may carry without changing which rows are unexpected.
_NEUTRAL_OPTIONS = {"result_format", "catch_exceptions", "meta", "notes"}
#: Options understood per expectation type (besides the neutral ones).
_OPTIONS: dict[str, set[str]] = {
    "expect_column_values_to_not_be_null": {"column", "row_condition"},
    "expect_column_values_to_be_null": {"column", "row_condition"},
    "expect_column_values_to_be_in_set": {"column", "value_set", "row_condition"},
    "expect_column_values_to_not_be_in_set": {"column", "value_set", "row_condition"},
    "expect_column_values_to_be_between": {
        "column", "min_value", "max_value", "strict_min", "strict_max", "row_condition",
    },
    "expect_column_values_to_match_regex": {"column", "regex", "row_condition"},
    "expect_column_values_to_not_match_regex": {"column", "regex", "row_condition"},
    "expect_column_pair_values_a_to_be_greater_than_b": {
        "column_A", "column_B", "or_equal", "ignore_row_if", "row_condition",
    },
    "expect_column_values_to_be_unique": {"column", "row_condition"},
    "expect_compound_columns_to_be_unique": {"column_list", "ignore_row_if", "row_condition"},
    "unexpected_rows_expectation": {"unexpected_rows_query", "description"},
    "expect_table_row_count_to_equal": {"value"},
    "expect_table_row_count_to_be_between": {"min_value", "max_value", "strict_min", "strict_max"},
    "expect_table_columns_to_match_ordered_list": {"column_list"},
    "expect_table_columns_to_match_set": {"column_set", "exact_match"},
    "expect_table_column_count_to_equal": {"value"},
    "expect_column_to_exist": {"column", "column_index"},
}
#: Expectations judged on rows one at a time (safe on any subset of rows, e.g. a sample).
ROW_WISE = (
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_null",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_not_be_in_set",
    "expect_column_values_to_be_between",
    "expect_column_values_to_match_regex",
    "expect_column_values_to_not_match_regex",
    "expect_column_pair_values_a_to_be_greater_than_b",
)
#: Expectations judged per row but against the other rows (duplicates): rows have ids.
ROW_SET = ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique")
#: Expectations about the relation's columns: judged before any expectation reads a column.
COLUMN_STRUCTURE = (
    "expect_table_columns_to_match_ordered_list",
    "expect_table_columns_to_match_set",
    "expect_table_column_count_to_equal",
    "expect_column_to_exist",
)
#: Expectations about the table as a whole (no failing rows).
TABLE_LEVEL = (
    "expect_table_row_count_to_equal",
    "expect_table_row_count_to_be_between",
    *COLUMN_STRUCTURE,
)
#: ``meta.severity`` values (dbt's words): ``error`` quarantines the row, ``warn`` accepts it with
#: the flagged field set to null. An expectation without one is an ``error``.
SEVERITIES = ("error", "warn")

_COMPARISON_OPERATORS = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_STRING_TYPES = ("VARCHAR", "CHAR", "TEXT", "STRING", "BPCHAR")
_NUMERIC_TYPES = (
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
    "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "REAL", "DECIMAL",
)
_FLOAT_TYPES = ("FLOAT", "DOUBLE", "REAL")
_TEMPORAL_TYPES = ("DATE", "TIMESTAMP")


class SuiteCompileError(ValueError):
    """An expectation of a suite cannot be expressed in SQL with GX's exact meaning."""


def suite_path(name: str, directory: Path = EXPECTATIONS_DIR) -> Path:
    """The file of suite ``name`` (a table's suite is named after the table) in ``directory``."""
    return directory / f"{name}.json"


def quote(name: str) -> str:
    """A DuckDB identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def literal(value: Any) -> str:
    """A DuckDB literal of a JSON scalar (strings quoted, booleans as true/false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return sql_literal(value)
    if isinstance(value, (int, float)):
        return repr(value)
    raise SuiteCompileError(f"unsupported literal {value!r}")


def label(expectation: Mapping[str, Any], index: int | None = None) -> str:
    """``#<index> <type>(<column>)`` for error messages."""
    kwargs = expectation.get("kwargs", {})
    column = kwargs.get("column") or ",".join(
        str(kwargs[k]) for k in ("column_A", "column_B") if k in kwargs
    )
    position = f"#{index} " if index is not None else ""
    return f"{position}{expectation.get('type')}({column or ''})"


# ------------------------------------------------------------------------------ building blocks


def _base_type(types: Mapping[str, str] | None, column: str) -> str | None:
    """The DuckDB type of ``column`` without parameters (``DECIMAL(18,2)`` -> ``DECIMAL``)."""
    if not types or column not in types:
        return None
    return str(types[column]).upper().split("(")[0].strip()


def is_null(column: str, types: Mapping[str, str] | None = None) -> str:
    """SQL true when ``column`` is null as pandas sees it (NaN included for floats)."""
    quoted = quote(column)
    if _base_type(types, column) in _FLOAT_TYPES:
        return f"({quoted} is null or isnan({quoted}))"
    return f"{quoted} is null"


def condition_sql(condition: Any, types: Mapping[str, str] | None = None) -> str:
    """A GX 1.x ``row_condition`` object as a SQL predicate that is never null.

    Pandas ``DataFrame.query`` semantics: a comparison with a null is false, except ``!=`` and
    ``NOT_IN`` (true on a null); ``nullity`` tests ``isnull()``.
    """
    if isinstance(condition, str):
        raise SuiteCompileError(
            f"string row_condition {condition!r} (legacy pandas query syntax) is not supported: "
            "write it as a GX 1.x condition object (comparison/nullity/and/or)"
        )
    if not isinstance(condition, Mapping):
        raise SuiteCompileError(f"row_condition {condition!r} is not a condition object")
    kind = condition.get("type")
    if kind in ("and", "or"):
        parts = [condition_sql(c, types) for c in condition.get("conditions") or []]
        if not parts:
            raise SuiteCompileError(f"row_condition '{kind}' without conditions")
        return "(" + f" {kind} ".join(parts) + ")"
    column = condition.get("column")
    name = column.get("name") if isinstance(column, Mapping) else column
    if not isinstance(name, str):
        raise SuiteCompileError(f"row_condition {condition!r} names no column")
    if kind == "nullity":
        test = is_null(name, types)
        return test if condition.get("is_null") else f"not {test}"
    if kind != "comparison":
        raise SuiteCompileError(f"row_condition type {kind!r} is not supported")
    operator = str(condition.get("operator"))
    parameter = condition.get("parameter")
    if parameter is None:
        raise SuiteCompileError("row_condition comparison with a null parameter")
    quoted = quote(name)
    if operator in ("IN", "NOT_IN"):
        values = ", ".join(literal(v) for v in parameter)
        if operator == "IN":
            return f"coalesce({quoted} in ({values}), false)" if values else "false"
        return f"coalesce({quoted} not in ({values}), true)" if values else "true"
    if operator not in _COMPARISON_OPERATORS:
        raise SuiteCompileError(f"row_condition operator {operator!r} is not supported")
    test = f"{quoted} {_COMPARISON_OPERATORS[operator]} {literal(parameter)}"
    return f"coalesce({test}, {'true' if operator == '!=' else 'false'})"


_UNSUPPORTED_REGEX = re.compile(
    r"\\[wWsSbBAZ]|\\[1-9]|\(\?[=!<]|\(\?P[=>]|\(\?[aiLmsux]"
)


def regex_for_re2(pattern: str) -> str:
    """``pattern`` (Python ``re``) rewritten so that DuckDB's RE2 finds the same matches.

    ``$`` (outside a character class) also matches before a final newline in Python: it becomes
    ``(?:\\n?$)``; ``\\d``/``\\D`` are Unicode digits in Python: ``\\p{Nd}``/``\\P{Nd}``.
    Constructs with a different or no meaning in RE2 raise ``SuiteCompileError``.
    """
    found = _UNSUPPORTED_REGEX.search(pattern)
    if found:
        raise SuiteCompileError(
            f"regex {pattern!r}: {found.group(0)!r} means something else in DuckDB (RE2) than in "
            "GX (Python re); write it with explicit character classes"
        )
    out: list[str] = []
    in_class = False
    position = 0
    while position < len(pattern):
        char = pattern[position]
        if char == "\\" and position + 1 < len(pattern):
            escaped = pattern[position + 1]
            if escaped in "dD":
                class_ = r"\p{Nd}" if escaped == "d" else r"\P{Nd}"
                out.append(class_)
            else:
                out.append(char + escaped)
            position += 2
            continue
        if in_class:
            if char == "]" and out and out[-1] not in ("[", "[^"):
                in_class = False
            out.append(char)
        elif char == "[":
            in_class = True
            if pattern.startswith("[^", position):
                out.append("[^")
                position += 2
                continue
            out.append(char)
        elif char == "$":
            out.append(r"(?:\n?$)")
        else:
            out.append(char)
        position += 1
    return "".join(out)


def _between(kw: Mapping[str, Any], column: str, types: Mapping[str, str] | None) -> str:
    """SQL true on a non-null value outside [min_value, max_value] (GX's bounds and types)."""
    low, high = kw.get("min_value"), kw.get("max_value")
    if low is None and high is None:
        raise SuiteCompileError("min_value and max_value cannot both be None")
    base = _base_type(types, column)
    bounds = [b for b in (low, high) if b is not None]
    strings = [isinstance(b, str) for b in bounds]
    value = quote(column)
    if any(strings) and not all(strings):
        raise SuiteCompileError("min_value and max_value must be of the same type")
    if all(strings) and base in _TEMPORAL_TYPES:
        value = f"cast({value} as timestamp)"

        def render(bound: Any) -> str:
            return f"cast({literal(bound)} as timestamp)"
    elif all(strings) and base is not None and base not in _STRING_TYPES:
        raise SuiteCompileError(f"string bounds on column {column} of type {base}")
    elif not any(strings) and base in _STRING_TYPES:
        raise SuiteCompileError(
            f"numeric bounds on column {column} of type {base} (GX raises TypeError)"
        )
    else:
        render = literal
    if low is not None and high is not None and low > high:
        raise SuiteCompileError("min_value cannot be greater than max_value")
    tests = []
    if low is not None:
        tests.append(f"{value} {'<=' if kw.get('strict_min') else '<'} {render(low)}")
    if high is not None:
        tests.append(f"{value} {'>=' if kw.get('strict_max') else '>'} {render(high)}")
    return f"not {is_null(column, types)} and ({' or '.join(tests)})"


def _in_set(kw: Mapping[str, Any], column: str, types: Mapping[str, str] | None) -> str:
    """SQL true on a non-null value in ``value_set`` (types must agree, as in pandas isin)."""
    values = list(kw.get("value_set") or [])
    base = _base_type(types, column)
    if base in _STRING_TYPES and any(not isinstance(v, str) for v in values):
        raise SuiteCompileError(f"value_set of column {column} ({base}) must hold strings")
    if base in _NUMERIC_TYPES and any(isinstance(v, str) for v in values):
        raise SuiteCompileError(f"value_set of column {column} ({base}) must hold numbers")
    if not values:
        return "false"
    return f"{quote(column)} in ({', '.join(literal(v) for v in values)})"


def _pair(kw: Mapping[str, Any]) -> str:
    """SQL true on an unexpected row of ``column_A > column_B`` (or ``>=``)."""
    a_name, b_name = kw["column_A"], kw["column_B"]
    a, b = quote(a_name), quote(b_name)
    compare = f"{a} {'>=' if kw.get('or_equal') else '>'} {b}"
    ignore = kw.get("ignore_row_if", "both_values_are_missing")
    if ignore == "either_value_is_missing":
        skip = f"({a} is null or {b} is null)"
    elif ignore == "both_values_are_missing":
        skip = f"({a} is null and {b} is null)"
    elif ignore == "neither":
        skip = "false"
    else:
        raise SuiteCompileError(f"ignore_row_if {ignore!r} is not supported")
    return f"not {skip} and not coalesce({compare}, false)"


# ------------------------------------------------------------------------------------- compiler


def severity(expectation: Mapping[str, Any]) -> str:
    """The expectation's ``meta.severity`` (``error`` when absent); raises on any other word."""
    value = (expectation.get("meta") or {}).get("severity", "error")
    if value not in SEVERITIES:
        raise SuiteCompileError(f"meta.severity {value!r} of {expectation.get('type')} is not "
                                f"one of {SEVERITIES}")
    return value


def flagged_field(expectation: Mapping[str, Any]) -> tuple[str, str] | None:
    """For a ``warn`` expectation: (canonical column it flags, ``meta.column``: a name, or a list
    of alternatives joined by ``|``, the first holding a raw value being flagged; the table's
    column set to null, ``meta.nulls`` else the tested column: ``column`` or ``column_B``).
    None for an ``error``. Raises when a warning names no canonical column."""
    if severity(expectation) != "warn":
        return None
    meta = expectation.get("meta") or {}
    kwargs = expectation.get("kwargs", {})
    column = meta.get("column")
    if isinstance(column, list):
        column = "|".join(column)
    if not column:
        raise SuiteCompileError(f"warn expectation {expectation.get('type')} "
                                f"({kwargs.get('column')}) needs meta.column (the canonical "
                                "column it flags)")
    return column, meta.get("nulls") or kwargs.get("column") or kwargs["column_B"]


def nulled_columns(suite: Mapping[str, Any]) -> list[str]:
    """The table columns the suite's ``warn`` expectations may set to null, in suite order."""
    found: dict[str, None] = {}
    for expectation in suite.get("expectations", []):
        field_ = flagged_field(expectation)
        if field_:
            found[field_[1]] = None
    return list(found)


def columns_read(expectation: Mapping[str, Any]) -> set[str]:
    """The columns an expectation reads: its column kwargs and the names in its row_condition
    (an ``unexpected_rows_expectation`` query names none: it reads the relation itself)."""
    kwargs = expectation.get("kwargs", {})
    columns = {kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs}
    columns.update(kwargs.get("column_list", []) or [])
    pending = [kwargs.get("row_condition")]
    while pending:
        item = pending.pop()
        if isinstance(item, Mapping):
            column = item.get("column")
            if isinstance(column, Mapping) and "name" in column:
                columns.add(str(column["name"]))
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return columns


def _check_options(expectation: Mapping[str, Any]) -> None:
    """Raise on an unknown type or option."""
    kind = expectation.get("type")
    if kind not in _OPTIONS:
        raise SuiteCompileError(f"expectation type {kind!r} has no SQL translation")
    unknown = set(expectation.get("kwargs", {})) - _OPTIONS[kind] - _NEUTRAL_OPTIONS
    if unknown:
        raise SuiteCompileError(f"option(s) {sorted(unknown)} of {kind} are not supported")
    if kind.endswith("_unique") and expectation.get("kwargs", {}).get("row_condition"):
        raise SuiteCompileError(f"row_condition on {kind} is not supported")


def row_predicate(
    expectation: Mapping[str, Any], types: Mapping[str, str] | None = None
) -> str | None:
    """SQL predicate, never null, true exactly on the rows GX reports as unexpected, for a
    row-wise expectation; ``None`` for the others. ``types`` (column -> DuckDB type) lets the
    compiler apply GX's type rules; without it the literals are used as they are."""
    _check_options(expectation)
    kind = expectation["type"]
    if kind not in ROW_WISE:
        return None
    kw = expectation["kwargs"]
    column = kw.get("column")
    if kind == "expect_column_values_to_not_be_null":
        test = is_null(column, types)
    elif kind == "expect_column_values_to_be_null":
        test = f"not {is_null(column, types)}"
    elif kind in ("expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set"):
        member = _in_set(kw, column, types)
        negate = "not " if kind == "expect_column_values_to_be_in_set" else ""
        test = f"not {is_null(column, types)} and {negate}coalesce({member}, false)"
    elif kind == "expect_column_values_to_be_between":
        test = _between(kw, column, types)
    elif kind in ("expect_column_values_to_match_regex", "expect_column_values_to_not_match_regex"):
        pattern = literal(regex_for_re2(str(kw["regex"])))
        text = quote(column)
        if _base_type(types, column) not in (*_STRING_TYPES, None):
            raise SuiteCompileError(
                f"regex on column {column} of type {_base_type(types, column)}: pandas renders "
                "non-text values differently from DuckDB; match a text column"
            )
        negate = "not " if kind == "expect_column_values_to_match_regex" else ""
        test = f"not {is_null(column, types)} and {negate}regexp_matches({text}, {pattern})"
    else:
        test = _pair(kw)
    condition = kw.get("row_condition")
    if condition:
        return f"({condition_sql(condition, types)} and coalesce({test}, false))"
    return f"coalesce({test}, false)"


def unexpected_sql(
    expectation: Mapping[str, Any], relation: str, types: Mapping[str, str] | None = None
) -> str:
    """A query returning the unexpected rows of ``expectation`` on ``relation`` (all columns for
    row-wise and uniqueness expectations; the query's own columns for
    ``unexpected_rows_expectation``, with ``{batch}`` replaced by ``relation``)."""
    predicate = row_predicate(expectation, types)
    if predicate is not None:
        return f"select * from {relation} where {predicate}"
    kind = expectation["type"]
    kw = expectation["kwargs"]
    if kind == "unexpected_rows_expectation":
        return str(kw["unexpected_rows_query"]).replace("{batch}", relation)
    if kind == "expect_column_values_to_be_unique":
        column = quote(kw["column"])
        return (
            f"select * from {relation} where {column} is not null "
            f"qualify count(*) over (partition by {column}) > 1"
        )
    if kind == "expect_compound_columns_to_be_unique":
        columns = [quote(c) for c in kw["column_list"]]
        ignore = kw.get("ignore_row_if", "all_values_are_missing")
        if ignore == "all_values_are_missing":
            skip = " and ".join(f"{c} is null" for c in columns)
        elif ignore == "any_value_is_missing":
            skip = " or ".join(f"{c} is null" for c in columns)
        elif ignore == "never":
            skip = "false"
        else:
            raise SuiteCompileError(f"ignore_row_if {ignore!r} is not supported")
        return (
            f"select * from {relation} where not ({skip}) "
            f"qualify count(*) over (partition by {', '.join(columns)}) > 1"
        )
    raise SuiteCompileError(f"{kind} is a table-level expectation: no unexpected rows")


#: The most characters one position of a fixed-width pattern may allow (:func:`_positions`).
_MAX_CLASS = 256


def _positions(items: Any) -> tuple[list[frozenset[int]], bool] | None:
    """The characters each position of a fixed-width piece of a Python pattern (parsed by
    ``re._parser``) allows, and whether their product is exactly its language (False when
    alternatives were merged position by position: then a superset of it); None when the piece
    is not a fixed sequence of literals and plain character classes."""
    sets: list[frozenset[int]] = []
    exact = True
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            sets.append(frozenset((arg,)))
        elif name == "IN":
            chars: set[int] = set()
            for item_op, item in arg:
                if str(item_op) == "LITERAL":
                    chars.add(item)
                elif str(item_op) == "RANGE" and item[1] - item[0] < _MAX_CLASS:
                    chars.update(range(item[0], item[1] + 1))
                else:  # NEGATE, CATEGORY, a wide range: not reasoned about
                    return None
            sets.append(frozenset(chars))
        elif name == "MAX_REPEAT" and arg[0] == arg[1]:
            inner = _positions(arg[2])
            if inner is None:
                return None
            sets.extend(inner[0] * arg[0])
            exact &= inner[1]
        elif name == "SUBPATTERN" and not arg[1] and not arg[2]:  # a group without flags
            inner = _positions(arg[3])
            if inner is None:
                return None
            sets.extend(inner[0])
            exact &= inner[1]
        elif name == "BRANCH":
            branches = [_positions(branch) for branch in arg[1]]
            if any(b is None for b in branches) or len({len(b[0]) for b in branches}) != 1:
                return None
            columns = zip(*(b[0] for b in branches), strict=True)
            sets.extend(frozenset().union(*column) for column in columns)
            exact = False
        else:
            return None
    return sets, exact


def _anchored(pattern: str) -> tuple[list[frozenset[int]], bool] | None:
    """:func:`_positions` of a pattern written ``^<fixed-width piece>$`` (None otherwise)."""
    try:
        items = list(re_parser.parse(pattern))
    except re.error:
        return None
    if len(items) < 2:
        return None
    first, last = items[0], items[-1]
    if (str(first[0]), str(first[1])) != ("AT", "AT_BEGINNING") or (
        str(last[0]), str(last[1])) != ("AT", "AT_END"):
        return None
    return _positions(items[1:-1])


def regex_implies(strict: str, loose: str) -> bool:
    """True when every text Python's ``re.search(strict, text)`` matches is matched by
    ``loose`` too, proven from the patterns: both ``^<fixed-width piece>$`` of literals and
    plain character classes (alternatives of equal width allowed in ``strict``, none in
    ``loose``), of the same width, each position of ``strict`` allowing no character that
    ``loose`` refuses there. False when that cannot be shown (not necessarily untrue).
    ``regex_for_re2`` keeps the matches, so it holds of the SQL translations too."""
    a, b = _anchored(strict), _anchored(loose)
    if a is None or b is None or not b[1] or len(a[0]) != len(b[0]):
        return False
    return all(x <= y for x, y in zip(a[0], b[0], strict=True))


def scan_predicate(
    expectations: Mapping[int, Mapping[str, Any]],
    predicates: Mapping[int, str],
    types: Mapping[str, str] | None = None,
) -> str:
    """SQL true on a row failing any of the row-wise ``predicates`` (index -> ``row_predicate``
    of ``expectations[index]``): their disjunction, except that a column's ``match_regex``
    expectations whose pattern another one of the column implies (:func:`regex_implies`) are
    evaluated with it under ``case when <the stricter pattern matches> then false``: a value it
    matches fails none of them (whatever their ``row_condition``), so each such value costs one
    regular expression instead of one per expectation."""
    regexes = {
        index: expectations[index] for index in predicates
        if expectations[index].get("type") == "expect_column_values_to_match_regex"
    }
    groups: dict[int, list[int]] = {}
    grouped: set[int] = set()
    for index, strict in regexes.items():
        if index in grouped:
            continue
        implied = [
            other for other, loose in regexes.items()
            if other != index and other not in grouped
            and loose["kwargs"]["column"] == strict["kwargs"]["column"]
            and regex_implies(str(strict["kwargs"]["regex"]), str(loose["kwargs"]["regex"]))
        ]
        if implied:
            groups[index] = [index, *implied]
            grouped.update(groups[index])
    parts = []
    for index, predicate in predicates.items():
        if index in groups:
            kw = expectations[index]["kwargs"]
            pattern = literal(regex_for_re2(str(kw["regex"])))
            inner = " or ".join(f"({predicates[i]})" for i in sorted(groups[index]))
            parts.append(
                f"(case when regexp_matches({quote(kw['column'])}, {pattern}) then false "
                f"else ({inner}) end)"
            )
        elif index not in grouped:
            parts.append(f"({predicate})")
    return " or ".join(parts)


def scan_fingerprint(predicate: str) -> str:
    """A name of the row-wise rules compiled into ``predicate`` (a :func:`scan_predicate`): two
    evaluations whose fingerprints are equal judged the same rows the same way (the same SQL
    text, the same DuckDB version). The raw load records it beside the rows it kept
    (``tkpk.ingest.raw.raw_kept_fingerprint``), the validation trusts that record only when its own
    scan's fingerprint is equal (``tkpk.suite_run.Prejudged``)."""
    import hashlib

    import duckdb

    text = f"duckdb {duckdb.__version__}\n{predicate}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def table_level_failure(
    expectation: Mapping[str, Any], columns: list[str], rows: int
) -> str | None:
    """Why a table-level expectation fails on a table with ``columns`` and ``rows`` (None: met)."""
    _check_options(expectation)
    kind = expectation["type"]
    kw = expectation["kwargs"]
    if kind == "expect_table_row_count_to_equal":
        return None if rows == kw["value"] else f"{rows} rows, expected {kw['value']}"
    if kind == "expect_table_row_count_to_be_between":
        low, high = kw.get("min_value"), kw.get("max_value")
        too_low = low is not None and (rows <= low if kw.get("strict_min") else rows < low)
        too_high = high is not None and (rows >= high if kw.get("strict_max") else rows > high)
        return f"{rows} rows, expected [{low}, {high}]" if too_low or too_high else None
    if kind == "expect_table_columns_to_match_ordered_list":
        expected = list(kw["column_list"])
        if columns == expected:
            return None
        missing = [c for c in expected if c not in columns]
        extra = [c for c in columns if c not in expected]
        return f"missing {missing}, undocumented {extra}, order {columns}"
    if kind == "expect_table_columns_to_match_set":
        expected = set(kw["column_set"])
        actual = set(columns)
        met = actual == expected if kw.get("exact_match", True) else expected <= actual
        return None if met else f"columns {sorted(actual)}, expected {sorted(expected)}"
    if kind == "expect_table_column_count_to_equal":
        return None if len(columns) == kw["value"] else f"{len(columns)} columns"
    if kind == "expect_column_to_exist":
        if kw["column"] not in columns:
            return f"column {kw['column']} is missing"
        index = kw.get("column_index")
        if index is not None and columns.index(kw["column"]) != index:
            return f"column {kw['column']} is not at position {index}"
        return None
    raise SuiteCompileError(f"{kind} is not a table-level expectation")


def check_suite(suite: Mapping[str, Any], source: str) -> None:
    """Raise ``SuiteCompileError`` naming ``source`` (the suite file) and the expectation when an
    expectation of ``suite`` has no exact SQL translation."""
    for index, expectation in enumerate(suite.get("expectations", [])):
        try:
            _check_options(expectation)
            kw = expectation.get("kwargs", {})
            if kw.get("row_condition"):
                condition_sql(kw["row_condition"])
            if "regex" in kw:
                regex_for_re2(str(kw["regex"]))
            flagged_field(expectation)
        except SuiteCompileError as error:
            raise SuiteCompileError(f"suite {source}, expectation {label(expectation, index)}: "
                                    f"{error}") from error
