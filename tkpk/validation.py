"""Expectation suites on DuckDB tables: the verdict in SQL, Great Expectations on a sample.

The suites are GX 1.x JSON files named after the table they check (``expectations/<table>.json``),
the single declaration of the rules. ``validate_table`` evaluates a suite in two engines:

1. **DuckDB SQL, every row** (``tkpk.suite_sql`` compiles the suite with GX's semantics): one scan
   writes the failing (row id, expectation) pairs of all row-wise expectations to a temp table;
   uniqueness and table-level expectations run as one query each. This is the verdict: success,
   ``unexpected_count`` per expectation, and, with ``reasons_into``, the (row id, reason) pairs
   inserted set-based into the caller's table (no Python lists of ids).
2. **Great Expectations, a bounded deterministic sample** (``Settings.gx_sample_rows``, env
   ``TKPK_GX_SAMPLE_ROWS``, default 20,000; 0 = every row): GX's pandas backend validates the
   sampled rows (failing rows first, then a hash-of-row-id sample) in Arrow batches of at most
   ``batch_rows`` rows, with only the columns the suite reads plus the row id. Its failing ids must
   equal the SQL engine's on those rows, else ``ValidationError`` ("engine disagreement"). Its
   results feed the Data Docs; their meta carries the sample size and the full-table counts.

Values are excluded from GX's results (COMPLETE format keyed by the row id), so no personal data
ends up in them or in the Data Docs. Importing GX costs seconds: it happens lazily, once per
process.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from tkpk import suite_sql
from tkpk.config import EXPECTATIONS_DIR

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
    )

#: Rows per validated batch: bounds memory (one pandas frame of this many rows at a time).
DEFAULT_BATCH_ROWS = 1_000_000
#: Name of the generated row id when the table has none.
GENERATED_ROW_ID = "_row_id"

#: Expectation types evaluated row by row: the suite can run on batches of a table.
_ROW_WISE_PREFIXES = ("expect_column_values_to_", "expect_column_pair_values_")
_ROW_WISE_EXCEPTIONS = (
    "expect_column_values_to_be_unique",
    "expect_column_values_to_be_increasing",
    "expect_column_values_to_be_decreasing",
    "expect_column_pair_cramers_phi_value_to_be_less_than",
)
_ROW_WISE_OTHERS = (
    "expect_multicolumn_sum_to_equal",
    "expect_select_column_values_to_be_unique_within_record",
)
#: Expectation types that need every column of the table.
_ALL_COLUMN_TYPES = (
    "expect_table_columns_to_match_set",
    "expect_table_columns_to_match_ordered_list",
    "expect_table_column_count_to_equal",
    "expect_table_column_count_to_be_between",
    "expect_column_to_exist",
)
#: Result keys that may carry data values: removed before results are rendered or stored.
_VALUE_KEYS = (
    "unexpected_list",
    "partial_unexpected_list",
    "partial_unexpected_counts",
    "partial_unexpected_index_list",
    "unexpected_index_list",
    "unexpected_index_query",
    "unexpected_rows",
    "details",
)


class ValidationError(RuntimeError):
    """A suite could not be evaluated (an expectation raised): the data was not validated."""


@dataclass(frozen=True)
class ExpectationFailure:
    """One expectation of a suite that failed on the table, with the failing rows."""

    index: int
    expectation_type: str
    column: str | None
    reason: str | None
    unexpected_count: int
    row_ids: tuple[Any, ...]
    #: ``meta.severity`` (dbt's words): ``error`` rejects the row, ``warn`` flags the field.
    severity: str = "error"


@dataclass
class ValidationOutcome:
    """The result of a suite on one table: success, failing rows per expectation, GX results."""

    table: str
    suite_name: str
    success: bool
    rows: int
    failures: list[ExpectationFailure] = field(default_factory=list)
    results: list[ExpectationSuiteValidationResult] = field(default_factory=list)

    def failing_row_ids(self) -> dict[int, list[Any]]:
        """Expectation index (position in the suite) -> ids of its failing rows."""
        return {failure.index: list(failure.row_ids) for failure in self.failures}

    def row_ids_by_reason(self) -> dict[str, set[Any]]:
        """``meta.reason`` of the failing expectations -> ids of the rows failing any of them."""
        by_reason: dict[str, set[Any]] = {}
        for failure in self.failures:
            if failure.reason:
                by_reason.setdefault(failure.reason, set()).update(failure.row_ids)
        return by_reason

    def describe(self) -> str:
        """A one-paragraph summary for logs (no data values)."""
        if self.success:
            return f"{self.suite_name} on {self.table}: {self.rows} rows, all expectations met"
        parts = [
            f"{f.expectation_type}({f.column or ''}) {f.unexpected_count} rows"
            for f in self.failures
        ]
        return f"{self.suite_name} on {self.table}: {self.rows} rows; failed: " + "; ".join(parts)


# --------------------------------------------------------------------------------------- suites


def suite_path(name: str) -> Path:
    """The file of suite ``name`` in ``expectations/``."""
    return EXPECTATIONS_DIR / f"{name}.json"


def load_suite(suite: str | Path | Mapping[str, Any] | None, table: str) -> dict[str, Any]:
    """A suite as a dict: ``None`` -> ``expectations/<table>.json``; a name; a path; a dict."""
    if suite is None:
        suite = table
    if isinstance(suite, Mapping):
        return dict(suite)
    path = Path(suite)
    if not (path.suffix == ".json" and path.exists()):
        path = suite_path(str(suite))
    if not path.exists():
        raise FileNotFoundError(f"expectation suite not found: {path}")
    return json.loads(path.read_text(encoding="utf-8"))


#: ``meta.severity`` values (dbt's words): ``error`` quarantines the row, ``warn`` accepts it with
#: the flagged field set to null. An expectation without one is an ``error``.
SEVERITIES = ("error", "warn")


def severity(expectation: Mapping[str, Any]) -> str:
    """The expectation's ``meta.severity`` (``error`` when absent); raises on any other word."""
    value = (expectation.get("meta") or {}).get("severity", "error")
    if value not in SEVERITIES:
        raise ValueError(f"meta.severity {value!r} of {expectation.get('type')} is not one of "
                         f"{SEVERITIES}")
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
        raise ValueError(f"warn expectation {expectation.get('type')} "
                         f"({kwargs.get('column')}) lacks meta.column (the canonical column)")
    return column, meta.get("nulls") or kwargs.get("column") or kwargs["column_B"]


def nulled_columns(suite: Mapping[str, Any]) -> list[str]:
    """The table columns the suite's ``warn`` expectations may set to null, in suite order."""
    found: dict[str, None] = {}
    for expectation in suite.get("expectations", []):
        field_ = flagged_field(expectation)
        if field_:
            found[field_[1]] = None
    return list(found)


def _columns_of(expectation: Mapping[str, Any]) -> set[str]:
    """Columns an expectation reads (kwargs columns; row_condition identifiers resolved later)."""
    kwargs = expectation.get("kwargs", {})
    columns = {kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs}
    columns.update(kwargs.get("column_list", []) or [])
    return columns


def _row_condition_names(expectation: Mapping[str, Any]) -> set[str]:
    """Columns a ``row_condition`` reads: names in a Condition dict, identifiers in a string."""
    condition = expectation.get("kwargs", {}).get("row_condition")
    if isinstance(condition, str):
        return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", condition))
    names: set[str] = set()
    pending = [condition]
    while pending:
        item = pending.pop()
        if isinstance(item, Mapping):
            column = item.get("column")
            if isinstance(column, Mapping) and "name" in column:
                names.add(str(column["name"]))
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return names


def _is_row_wise(expectation_type: str) -> bool:
    """True when the expectation judges each row on its own (safe to run per batch)."""
    if expectation_type in _ROW_WISE_EXCEPTIONS:
        return False
    return expectation_type.startswith(_ROW_WISE_PREFIXES) or expectation_type in _ROW_WISE_OTHERS


# ------------------------------------------------------------------------------------------ GX

_CONTEXT: Any = None


def _context() -> Any:
    """The process-wide ephemeral GX context (created on first use, progress bars off)."""
    global _CONTEXT
    if _CONTEXT is None:
        import logging

        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        logging.getLogger("great_expectations").setLevel(logging.WARNING)
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        context.data_sources.add_pandas("tkpk")
        _CONTEXT = context
    return _CONTEXT


def _batch_definition(context: Any, asset_name: str) -> Any:
    """The whole-dataframe batch definition of asset ``asset_name`` (created once)."""
    datasource = context.data_sources.get("tkpk")
    try:
        asset = datasource.get_asset(asset_name)
    except LookupError:
        asset = datasource.add_dataframe_asset(asset_name)
    try:
        return asset.get_batch_definition("whole")
    except (KeyError, LookupError):
        return asset.add_batch_definition_whole_dataframe("whole")


def _result_format(row_id: str) -> dict[str, Any]:
    """COMPLETE results keyed by the row id, without the failing values themselves."""
    return {
        "result_format": "COMPLETE",
        "unexpected_index_column_names": [row_id],
        "return_unexpected_index_query": False,
        "exclude_unexpected_values": True,
        "partial_unexpected_count": 0,
    }


def _ids_of(result: Any, row_id: str) -> list[Any]:
    """Failing row ids of one expectation result."""
    ids: list[Any] = []
    for entry in (result.result or {}).get("unexpected_index_list") or []:
        value = entry.get(row_id) if isinstance(entry, Mapping) else None
        if isinstance(value, list):
            ids.extend(_plain(v) for v in value)
        elif value is not None:
            ids.append(_plain(value))
    return ids


def _plain(value: Any) -> Any:
    """numpy scalars -> Python scalars (hashable, comparable with DuckDB values)."""
    return value.item() if hasattr(value, "item") else value


def _raise_on_exception(result: Any, table: str, suite_name: str) -> None:
    """An expectation that raised means rows were not checked: fail loudly."""
    info = result.exception_info or {}
    infos = info.values() if info and "raised_exception" not in info else [info]
    for item in infos:
        if isinstance(item, Mapping) and item.get("raised_exception"):
            config = result.expectation_config
            raise ValidationError(
                f"suite {suite_name} on {table}: {config.type} "
                f"({config.kwargs.get('column', '')}) could not be evaluated: "
                f"{item.get('exception_message')}"
            )


# ---------------------------------------------------------------------------------- fetching


def _table_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Column name -> DuckDB type of ``table`` (a table, view or temp table)."""
    rows = con.execute(f"describe select * from {table}").fetchall()
    return {name: str(dtype) for name, dtype, *_ in rows}


def _select_list(columns: Iterable[str], types: Mapping[str, str]) -> str:
    """Projection for validation: decimals as DOUBLE (vectorised in pandas), others as is."""
    parts = []
    for name in columns:
        quoted = '"' + name.replace('"', '""') + '"'
        if types[name].upper().startswith("DECIMAL"):
            parts.append(f"cast({quoted} as double) as {quoted}")
        else:
            parts.append(quoted)
    return ", ".join(parts)


def _to_pandas(batch: Any) -> pd.DataFrame:
    """An Arrow record batch as a pandas frame GX evaluates vectorised (dates as datetime64[ns])."""
    import pandas as pd

    frame = batch.to_pandas(date_as_object=False)
    for name in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[name]) and frame[name].dtype != "M8[ns]":
            # out of the ns range: left as is, GX then compares element-wise
            with contextlib.suppress(OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
                frame[name] = frame[name].astype("datetime64[ns]")
    return frame


def validate_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    suite: str | Path | Mapping[str, Any] | None = None,
    *,
    row_id: str | None = "row_id",
    where: str | None = None,
    batch_rows: int | None = DEFAULT_BATCH_ROWS,
    batch_name: str | None = None,
    reasons_into: str | None = None,
    gx_sample_rows: int | None = None,
) -> ValidationOutcome:
    """Run ``suite`` (default ``expectations/<table>.json``) on ``table`` (a table or a view, e.g.
    over ``read_parquet(...)``) in ``con``.

    The verdict comes from DuckDB: the suite is compiled to SQL (``tkpk.suite_sql``) and one scan
    finds the failing rows of every row-wise expectation. ``row_id`` names the table's row-id
    column (a generated row number when absent or None); ``where`` restricts the rows (a SQL
    predicate, e.g. one file's load id).

    ``reasons_into`` names an existing table ``(row_id bigint, reason varchar)``, optionally with
    ``severity``, ``column_name`` and ``nulls`` (varchar; see ``insert_reasons``): the distinct
    failing (row id, ``meta.reason``) pairs are inserted into it in DuckDB, and each failure then
    carries its full ``unexpected_count`` but only a sample of ``FAILURE_SAMPLE_IDS`` row ids
    (the smallest), so ``row_ids_by_reason()``/``failing_row_ids()`` are incomplete in that mode.
    Without it, failures carry every failing row id.

    Great Expectations also validates, on at most ``gx_sample_rows`` rows (default
    ``Settings.gx_sample_rows``; 0: every row): failing rows first, then a hash-of-row-id sample
    (see ``_sample_rows``). Its results feed Data Docs (meta: sample size and full-table counts),
    and its failing ids must equal the SQL engine's on the sampled rows, else ``ValidationError``
    ("engine disagreement"). Raises ``ValidationError`` when an expectation cannot be evaluated.
    """
    definition = load_suite(suite, table)
    source = _suite_source(suite, table)
    if gx_sample_rows is None:
        from tkpk.config import get_settings

        gx_sample_rows = get_settings().gx_sample_rows
    with _Selection(con, table, definition, row_id, where) as selection:
        engine = _SqlEngine(con, selection, definition, source)
        try:
            engine.run()
            if reasons_into:
                engine.insert_reasons(reasons_into)
            outcome = engine.outcome(complete_ids=not reasons_into)
            outcome.results = _GxSample(engine, gx_sample_rows).run(batch_rows, batch_name)
        finally:
            engine.close()
    return outcome


#: Row ids kept per failure when the failing pairs go to a ``reasons_into`` table.
FAILURE_SAMPLE_IDS = 20
_COUNTER = [0]


def _temp_name(stem: str) -> str:
    """A fresh temp-table name of this process."""
    _COUNTER[0] += 1
    return f"_tkpk_{stem}_{_COUNTER[0]}"


def _suite_source(suite: str | Path | Mapping[str, Any] | None, table: str) -> str:
    """How errors name the suite: its file when it came from one."""
    if isinstance(suite, Mapping):
        return str(suite.get("name") or table)
    path = Path(suite) if suite is not None else suite_path(table)
    if not (path.suffix == ".json" and path.exists()):
        path = suite_path(str(suite if suite is not None else table))
    return str(path)


class _Selection:
    """The validated rows as one relation with a row-id column (``relation``, ``id_column``).

    A table with its row-id column is read in place; otherwise the needed columns are copied once
    into a temp table with generated row numbers, so both engines see the same ids.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        table: str,
        definition: Mapping[str, Any],
        row_id: str | None,
        where: str | None,
    ) -> None:
        self.con = con
        self.table = table
        self.types = _table_columns(con, table)
        expectations = definition.get("expectations", [])
        wanted: set[str] = set()
        all_columns = False
        for expectation in expectations:
            wanted |= _columns_of(expectation) | (
                _row_condition_names(expectation) & self.types.keys()
            )
            all_columns = all_columns or expectation["type"] in _ALL_COLUMN_TYPES
        self.columns = [c for c in self.types if all_columns or c in wanted]
        self.where = where
        self.temp: str | None = None
        if row_id and row_id in self.types:
            self.id_column = row_id
            self.relation = table
            self.columns = [c for c in self.columns if c != row_id]
        else:
            self.id_column = GENERATED_ROW_ID
            self.temp = _temp_name("rows")
            projection = ", ".join(_quote(c) for c in self.columns)
            filter_ = f" where {where}" if where else ""
            con.execute(
                f"create temp table {self.temp} as select row_number() over () as "
                f"{GENERATED_ROW_ID}{', ' + projection if projection else ''} "
                f"from {table}{filter_}"
            )
            self.relation = self.temp
            self.where = None
        self.id_sql = _quote(self.id_column)

    def filter(self, *extra: str) -> str:
        """`` where ...`` combining the selection's restriction with ``extra`` predicates."""
        parts = [f"({p})" for p in (self.where, *extra) if p]
        return " where " + " and ".join(parts) if parts else ""

    def __enter__(self) -> _Selection:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.temp:
            self.con.execute(f"drop table if exists {self.temp}")


def _quote(name: str) -> str:
    """A DuckDB identifier."""
    return '"' + name.replace('"', '""') + '"'


class _SqlEngine:
    """The suite evaluated in DuckDB: failing (row id, expectation index) pairs in a temp table."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        selection: _Selection,
        definition: Mapping[str, Any],
        source: str,
    ) -> None:
        self.con = con
        self.selection = selection
        self.definition = definition
        self.expectations = list(definition.get("expectations", []))
        self.source = source
        self.pairs = _temp_name("failing")
        self.rows = 0
        self.counts: dict[int, int] = {}
        self.problems: dict[int, str] = {}
        self.predicates: dict[int, str] = {}
        self.row_sets: dict[int, str] = {}
        self.table_level: list[int] = []
        self.other_queries: dict[int, str] = {}

    def _compile(self) -> None:
        """Sort the expectations by how they are evaluated; raise on one without SQL."""
        types = self.selection.types
        for index, expectation in enumerate(self.expectations):
            try:
                kind = expectation["type"]
                if kind in suite_sql.TABLE_LEVEL:
                    suite_sql.table_level_failure(expectation, [], 0)  # validates the options
                    self.table_level.append(index)
                    continue
                predicate = suite_sql.row_predicate(expectation, types)
                if predicate is not None:
                    self.predicates[index] = predicate
                elif kind in suite_sql.ROW_SET:
                    self.row_sets[index] = suite_sql.unexpected_sql(
                        expectation, self._filtered_relation(), types
                    )
                else:
                    self.other_queries[index] = suite_sql.unexpected_sql(
                        expectation, self._filtered_relation(), types
                    )
            except suite_sql.SuiteCompileError as error:
                raise ValidationError(
                    f"suite {self.source} on {self.selection.table}: expectation "
                    f"{suite_sql.label(expectation, index)}: {error}"
                ) from error

    def _filtered_relation(self) -> str:
        """The selection as a subquery (``where`` applied)."""
        selection = self.selection
        return f"(select * from {selection.relation}{selection.filter()})"

    def run(self) -> None:
        """Fill the pairs table (one scan for all row-wise expectations); count per expectation."""
        self._compile()
        selection = self.selection
        con = self.con
        self.rows = con.execute(
            f"select count(*) from {selection.relation}{selection.filter()}"
        ).fetchall()[0][0]
        id_type = selection.types.get(selection.id_column, "BIGINT")
        con.execute(f"create temp table {self.pairs} (id {id_type}, idx integer)")
        if self.predicates:
            cases = ", ".join(
                f"case when {p} then {i} end" for i, p in self.predicates.items()
            )
            any_failing = " or ".join(f"({p})" for p in self.predicates.values())
            self._execute(
                f"insert into {self.pairs} select id, idx from (select {selection.id_sql} as id, "
                f"unnest(list_filter([{cases}], lambda x: x is not null)) as idx "
                f"from {selection.relation}{selection.filter(any_failing)})",
                list(self.predicates),
            )
        for index, sql in self.row_sets.items():
            self._execute(
                f"insert into {self.pairs} select {selection.id_sql}, {index} from ({sql})",
                [index],
            )
        self.counts = dict(
            con.execute(f"select idx, count(*) from {self.pairs} group by idx").fetchall()
        )
        for index, sql in self.other_queries.items():
            count = self._fetch_count(sql, index)
            if count:
                self.counts[index] = count
        columns = [c for c in selection.types if c != GENERATED_ROW_ID]
        for index in self.table_level:
            problem = suite_sql.table_level_failure(self.expectations[index], columns, self.rows)
            if problem:
                self.counts[index] = 1
                self.problems[index] = problem

    def _execute(self, sql: str, indices: list[int]) -> None:
        """Run ``sql``; on an engine error name the expectation that caused it."""
        try:
            self.con.execute(sql)
        except duckdb.Error as error:
            culprit = self._culprit(indices) if len(indices) > 1 else indices[0]
            what = (
                suite_sql.label(self.expectations[culprit], culprit)
                if culprit is not None
                else "the row-wise expectations"
            )
            raise ValidationError(
                f"suite {self.source} on {self.selection.table}: {what} could not be "
                f"evaluated: {error}"
            ) from error

    def _fetch_count(self, sql: str, index: int) -> int:
        """Row count of an unexpected-rows query."""
        try:
            return int(self.con.execute(f"select count(*) from ({sql})").fetchall()[0][0])
        except duckdb.Error as error:
            raise ValidationError(
                f"suite {self.source} on {self.selection.table}: "
                f"{suite_sql.label(self.expectations[index], index)} could not be evaluated: "
                f"{error}"
            ) from error

    def _culprit(self, indices: list[int]) -> int | None:
        """The first expectation whose predicate alone fails to evaluate."""
        selection = self.selection
        for index in indices:
            try:
                self.con.execute(
                    f"select count(*) from {selection.relation}"
                    f"{selection.filter(self.predicates[index])}"
                ).fetchall()
            except duckdb.Error:
                return index
        return None

    def insert_reasons(self, target: str) -> None:
        """Insert the distinct failing (row id, reason) pairs into ``target``; when ``target``
        also has the columns ``severity``, ``column_name`` and ``nulls``, each pair carries the
        expectation's severity, flagged canonical column and nulled column (warnings only)."""
        rows = []
        for index in self.counts:
            expectation = self.expectations[index]
            reason = (expectation.get("meta") or {}).get("reason")
            if reason:
                column, nulls = flagged_field(expectation) or (None, None)
                rows.append((index, reason, severity(expectation), column, nulls))
        if not rows:
            return
        values = ", ".join(
            "(" + ", ".join(suite_sql.literal(v) if v is not None else "null::varchar"
                            for v in row) + ")"
            for row in rows
        )
        target_columns = {
            r[0] for r in self.con.execute(
                f"select name from pragma_table_info({suite_sql.literal(target)})"
            ).fetchall()
        }
        extra = [c for c in ("severity", "column_name", "nulls") if c in target_columns]
        names = ", ".join(["row_id", "reason", *extra])
        picked = ", ".join(["p.id", "r.reason", *(f"r.{c}" for c in extra)])
        self.con.execute(
            f"insert into {target} ({names}) select distinct {picked} "
            f"from {self.pairs} p join (values {values}) "
            "r(idx, reason, severity, column_name, nulls) on r.idx = p.idx"
        )

    def ids(self, semi_join: str | None = None, limit: int | None = None) -> dict[int, list[Any]]:
        """Failing row ids per expectation (all; only those in ``semi_join``; the ``limit``
        smallest)."""
        where = f" where id in (select id from {semi_join})" if semi_join else ""
        if limit is not None:
            sql = (
                f"select idx, list(id order by id) from (select * from {self.pairs}{where} "
                f"qualify row_number() over (partition by idx order by id) <= {limit}) "
                "group by idx"
            )
        else:
            sql = f"select idx, list(id order by id) from {self.pairs}{where} group by idx"
        return {int(index): list(ids) for index, ids in self.con.execute(sql).fetchall()}

    def outcome(self, complete_ids: bool) -> ValidationOutcome:
        """The outcome of the SQL verdict (GX results added by the caller)."""
        ids = self.ids(limit=None if complete_ids else FAILURE_SAMPLE_IDS)
        failures = [
            ExpectationFailure(
                index=index,
                expectation_type=self.expectations[index]["type"],
                column=self.expectations[index].get("kwargs", {}).get("column"),
                reason=(self.expectations[index].get("meta") or {}).get("reason"),
                unexpected_count=self.counts[index],
                row_ids=tuple(ids.get(index, ())),
                severity=severity(self.expectations[index]),
            )
            for index in sorted(self.counts)
        ]
        return ValidationOutcome(
            table=self.selection.table,
            suite_name=self.definition.get("name", self.selection.table),
            success=not failures,
            rows=self.rows,
            failures=failures,
        )

    def close(self) -> None:
        """Drop the pairs table."""
        self.con.execute(f"drop table if exists {self.pairs}")


class _GxSample:
    """Great Expectations on a bounded, deterministic sample of the selection, cross-checked
    against the SQL engine.

    With ``budget`` 0, or a selection of at most ``budget`` rows, GX validates every row with the
    whole suite (its table-level results then also come from GX). Otherwise it validates the
    row-wise expectations on at most ``budget`` rows: failing rows first (up to half the budget,
    an equal quota per failing expectation, lowest ``hash(row id)`` first), then the rows with the
    lowest ``hash(row id)`` among the others. Cross-table ``unexpected_rows_expectation`` queries
    never run in GX (pandas cannot run SQL).
    """

    def __init__(self, engine: _SqlEngine, budget: int) -> None:
        self.engine = engine
        self.con = engine.con
        self.selection = engine.selection
        self.budget = max(int(budget), 0)
        self.sample = _temp_name("gx_sample")

    def run(self, batch_rows: int | None, batch_name: str | None) -> list[Any]:
        """GX results (one per batch), after the cross-check."""
        engine = self.engine
        full = self.budget == 0 or engine.rows <= self.budget
        if full:
            indices = [
                i for i in range(len(engine.expectations)) if i not in engine.other_queries
            ]
            checked = [*engine.predicates, *engine.row_sets]
            extra = None
        else:
            indices = list(engine.predicates)
            checked = indices
            extra = f"{self.selection.id_sql} in (select id from {self.sample})"
        try:
            sample_rows = engine.rows if full else self._draw()
            suite = {
                **engine.definition,
                "expectations": [_tagged(engine.expectations[i], i) for i in indices],
            }
            label = batch_name or self.selection.table
            if not full:
                label = f"{label} (sampel {sample_rows:,} dari {engine.rows:,} baris)"
            failing, results = _run_gx(
                self.con, self.selection, suite, extra, batch_rows, label, engine.source
            )
            gx_ids = failing
            sql_ids = engine.ids(semi_join=None if full else self.sample)
            self._cross_check(checked, gx_ids, sql_ids)
            self._annotate(results, sample_rows, full)
            return results
        finally:
            self.con.execute(f"drop table if exists {self.sample}")

    def _draw(self) -> int:
        """Create the sample table (column ``id``); returns its size."""
        engine, selection, con = self.engine, self.selection, self.con
        half = self.budget // 2
        quota = max(1, half // max(1, len(engine.counts)))
        con.execute(
            f"""
            create temp table {self.sample} as
            with picked as (
                select id, hash(id) as h from {engine.pairs}
                qualify row_number() over (partition by idx order by hash(id), id) <= {quota}
            )
            select id from picked group by id order by min(h), id limit {half}
            """
        )
        failing = con.execute(f"select count(*) from {self.sample}").fetchall()[0][0]
        rest = self.budget - failing
        id_sql = selection.id_sql
        con.execute(
            f"insert into {self.sample} select {id_sql} from {selection.relation}"
            f"{selection.filter(f'{id_sql} not in (select id from {self.sample})')} "
            f"order by hash({id_sql}), {id_sql} limit {rest}"
        )
        return con.execute(f"select count(*) from {self.sample}").fetchall()[0][0]

    def _cross_check(
        self,
        checked: list[int],
        gx_ids: Mapping[int, list[Any]],
        sql_ids: Mapping[int, list[Any]],
    ) -> None:
        """Raise when GX and SQL disagree on the failing rows of an expectation."""
        engine = self.engine
        for index in checked:
            gx, sql = set(gx_ids.get(index, ())), set(sql_ids.get(index, ()))
            if gx != sql:
                differing = sorted(gx ^ sql, key=repr)[:5]
                expectation = engine.expectations[index]
                raise ValidationError(
                    f"engine disagreement: table {self.selection.table}, suite {engine.source}, "
                    f"expectation {suite_sql.label(expectation, index)}: GX and DuckDB SQL "
                    f"differ on row ids {differing} (GX fails {len(gx)}, SQL fails {len(sql)} of "
                    "the validated rows); the data was not validated: report a bug "
                    "(tkpk/suite_sql.py)"
                )

    def _annotate(self, results: list[Any], sample: int, full: bool) -> None:
        """Sample size and full-table counts in the results' meta (shown with the Data Docs)."""
        engine = self.engine
        note = (
            f"all {engine.rows} rows" if full else f"sample of {sample} of {engine.rows} rows"
        )
        for result in results:
            result.meta["tkpk_sample"] = {
                "rows": sample,
                "table_rows": engine.rows,
                "note": note,
                "engine": "verdict by DuckDB SQL over every row; GX on the rows above",
            }
            for position, expectation_result in enumerate(result.results):
                index = _suite_index(expectation_result, position)
                meta = dict(expectation_result.meta or {})
                meta["tkpk_full_table"] = {
                    "rows": engine.rows,
                    "unexpected_count": engine.counts.get(index, 0),
                    "success": index not in engine.counts,
                }
                expectation_result.meta = meta


def _tagged(expectation: Mapping[str, Any], index: int) -> dict[str, Any]:
    """A copy of ``expectation`` whose meta records its position in the suite file."""
    tagged = copy.deepcopy(dict(expectation))
    tagged["meta"] = {**(tagged.get("meta") or {}), "tkpk_index": index}
    return tagged


def _suite_index(expectation_result: Any, position: int) -> int:
    """Position in the suite of the expectation behind a GX result (``tkpk_index`` meta)."""
    meta = getattr(expectation_result.expectation_config, "meta", None) or {}
    return int(meta.get("tkpk_index", position))


def _run_gx(
    con: duckdb.DuckDBPyConnection,
    selection: _Selection,
    suite: Mapping[str, Any],
    extra: str | None,
    batch_rows: int | None,
    label: str,
    source: str,
) -> tuple[dict[int, list[Any]], list[Any]]:
    """GX (pandas) on the selection's rows matching ``extra``: failing ids by suite position, and
    one suite result per Arrow batch."""
    from great_expectations.core.expectation_suite import ExpectationSuite

    table = selection.table
    row_wise = all(_is_row_wise(e["type"]) for e in suite["expectations"])
    projection = _select_list(selection.columns, selection.types) if selection.columns else ""
    select = (
        f"select {selection.id_sql}{', ' + projection if projection else ''} "
        f"from {selection.relation}{selection.filter(extra) if extra else selection.filter()}"
    )
    chunk = batch_rows if (row_wise and batch_rows) else 1_000_000_000
    gx_suite = ExpectationSuite(**copy.deepcopy(dict(suite)))
    batch_definition = _batch_definition(_context(), table)
    id_column = selection.id_column
    failing: dict[int, list[Any]] = {}
    counts: dict[int, int] = {}
    results: list[Any] = []
    offset = 0
    reader = con.sql(select).to_arrow_reader(min(chunk, 1_000_000))
    frames = (_to_pandas(b) for b in _record_batches(reader, chunk))
    for number, frame in enumerate(frames):
        frame.index = range(offset, offset + len(frame))
        offset += len(frame)
        result = _validate_frame(batch_definition, gx_suite, frame, id_column)
        result.meta["tkpk_table"] = table
        result.meta["tkpk_batch"] = label if number == 0 else f"{label} #{number + 1}"
        _collect(result, table, source, id_column, failing, counts)
        results.append(result)
    if not results:  # an empty selection still gets judged (row-count expectations)
        frame = _to_pandas(con.sql(select).to_arrow_table())
        result = _validate_frame(batch_definition, gx_suite, frame, id_column)
        result.meta["tkpk_table"] = table
        result.meta["tkpk_batch"] = label
        _collect(result, table, source, id_column, failing, counts)
        results.append(result)
    return failing, results


def _record_batches(reader: Any, chunk: int) -> Iterable[Any]:
    """Record batches of about ``chunk`` rows (DuckDB yields vectors; regroup them)."""
    import pyarrow as pa

    pending: list[Any] = []
    size = 0
    for batch in reader:
        pending.append(batch)
        size += batch.num_rows
        if size >= chunk:
            yield pa.Table.from_batches(pending)
            pending, size = [], 0
    if pending:
        yield pa.Table.from_batches(pending)


def _validate_frame(batch_definition: Any, suite: Any, frame: pd.DataFrame, row_id: str) -> Any:
    """One GX validation of a pandas frame."""
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    return batch.validate(suite, result_format=_result_format(row_id))


def _collect(
    result: Any,
    table: str,
    suite_name: str,
    row_id: str,
    failing: dict[int, list[Any]],
    counts: dict[int, int],
) -> None:
    """Merge one batch's failing ids (by expectation position in the suite) into ``failing``.

    GX does not return the results in the suite's order: the position comes from the
    ``tkpk_index`` meta each expectation is tagged with (``_tagged``).
    """
    for position, expectation_result in enumerate(result.results):
        index = _suite_index(expectation_result, position)
        _raise_on_exception(expectation_result, table, suite_name)
        if expectation_result.success:
            continue
        ids = _ids_of(expectation_result, row_id)
        unexpected = (expectation_result.result or {}).get("unexpected_count")
        counts[index] = counts.get(index, 0) + int(unexpected if unexpected is not None else 1)
        failing.setdefault(index, []).extend(ids)


# -------------------------------------------------------------------------------- Data Docs


def scrub(result: Any) -> Any:
    """A copy of a GX suite result without any data value (personal data never reaches docs)."""
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
    )

    cleaned = copy.deepcopy(result)
    if not isinstance(cleaned, ExpectationSuiteValidationResult):
        return cleaned
    for expectation_result in cleaned.results:
        payload = expectation_result.result or {}
        for key in _VALUE_KEYS:
            payload.pop(key, None)
        if isinstance(payload.get("observed_value"), (list, dict)):
            payload.pop("observed_value")
    return cleaned


def build_data_docs(
    results: Iterable[Any],
    target_dir: Path,
    run_name: str | None = None,
) -> Path:
    """Write GX Data Docs (HTML site: suites and one page per validated batch) into ``target_dir``.

    ``results`` are ``ValidationOutcome`` objects or GX suite results. Values are scrubbed first.
    The site works offline (``tkpk.data_docs.make_offline``: vendored assets, no http(s)
    resource) and its names are readable: the site is ``tkpk <run>``, a validation page is named
    ``<NN>-<suite>.html`` (position in the run and suite, never a file name) and every page's
    title says the run, the suite and the kind. ``validations.json`` lists the results (suite,
    batch, page, success). Returns the site's ``index.html``.
    """
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    from tkpk import data_docs

    context = _context()
    target_dir = Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    run_time = datetime.now(UTC)
    run_name = run_name or run_time.strftime("%Y%m%dT%H%M%SZ")
    site_name = f"tkpk {run_name}"
    run = RunIdentifier(run_name=run_name, run_time=run_time)
    store = context.validation_results_store
    for old_key in store.list_keys():  # the context is process-wide: render this call's results
        store.remove_key(old_key)
    suites_seen: set[str] = set()
    entries: list[dict[str, Any]] = []
    for position, result in enumerate(_flatten(results)):
        suite_name = result.suite_name
        if suite_name not in suites_seen:
            suites_seen.add(suite_name)
            _register_suite(context, ExpectationSuite, suite_name)
        batch = str(result.meta.get("tkpk_batch") or f"batch {position + 1}")
        batch_id = _batch_id(position, suite_name, batch)
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite_name),
            run_id=run,
            batch_identifier=batch_id,
        )
        cleaned = scrub(result)
        cleaned.meta["run_id"] = run  # the pages show the run's name and time (not "__none__")
        store.set(key, cleaned)
        page = Path("validations", *suite_name.split("."), run_name,
                    run_time.strftime("%Y%m%dT%H%M%S.%fZ"), f"{batch_id}.html")  # fmt: skip
        entries.append(
            {"batch_id": batch_id, "suite": suite_name, "batch": batch,
             "success": bool(result.success), "page": page.as_posix()}
        )  # fmt: skip
    site = {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(target_dir),
        },
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }
    if site_name in context.list_data_docs_sites():
        context.update_data_docs_site(site_name, site)
    else:
        context.add_data_docs_site(site_name, site)
    try:
        context.build_data_docs(site_names=[site_name])
    finally:
        context.delete_data_docs_site(site_name)
    data_docs.make_offline(target_dir, run_name, {e["batch_id"]: e["batch"] for e in entries})
    listing = {"run": run_name, "validations": entries}
    (target_dir / "validations.json").write_text(
        json.dumps(listing, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return target_dir / "index.html"


def _batch_id(position: int, suite_name: str, batch: str) -> str:
    """A validation page's name: ``03-stg_pbi`` (``-2`` etc. for a table's later batches); the
    position in the run keeps it unique, the suite says what it is; no file name goes in."""
    slug = re.sub(r"[^A-Za-z0-9_]+", "_", suite_name).strip("_") or "suite"
    part = re.search(r" #(\d+)$", batch)
    return f"{position + 1:02d}-{slug}" + (f"-{part.group(1)}" if part else "")


def _flatten(results: Iterable[Any]) -> Iterable[Any]:
    """GX suite results from a mix of ``ValidationOutcome`` and GX results."""
    for item in results:
        if isinstance(item, ValidationOutcome):
            yield from item.results
        else:
            yield item


def _register_suite(context: Any, suite_class: Any, name: str) -> None:
    """Put suite ``name`` (from expectations/) into the context's store for its Data Docs page."""
    try:
        definition = load_suite(name, name)
    except FileNotFoundError:
        definition = {"name": name, "expectations": []}
    with contextlib.suppress(Exception):  # absent suite: nothing to replace
        context.suites.delete(name)
    context.suites.add(suite_class(**copy.deepcopy(definition)))


def publish_data_docs(results: Iterable[Any], settings: Any, run_id: str) -> Path:
    """Build this run's Data Docs into ``<data_docs_dir>/<run_id>/`` (written to a temporary
    folder first, then renamed) and refresh ``<data_docs_dir>/index.html``, a list of the runs
    (newest first) linking to each run's site. Returns the run's ``index.html``."""
    import html
    import os
    import shutil

    root = Path(settings.data_docs_dir)
    root.mkdir(parents=True, exist_ok=True)
    safe_run = re.sub(r"[^A-Za-z0-9_.\-]", "_", run_id)
    staging = root / f".tmp-{safe_run}"
    if staging.exists():
        shutil.rmtree(staging)
    build_data_docs(results, staging, run_name=run_id)
    target = root / safe_run
    if target.exists():
        shutil.rmtree(target)
    os.replace(staging, target)
    runs = sorted(
        (p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
        reverse=True,
    )
    _offline_earlier_runs(root, runs)
    items = "\n".join(
        f'<li><a href="{html.escape(name)}/index.html">{html.escape(name)}</a></li>'
        for name in runs
    )
    page = (
        '<!doctype html>\n<html lang="id"><head><meta charset="utf-8">'
        "<title>tkpk: hasil validasi data</title></head><body>\n"
        "<h1>Hasil validasi data (Great Expectations Data Docs)</h1>\n"
        "<p>Satu halaman per proses malam; yang terbaru di atas. Nilai data pribadi tidak "
        "ditampilkan.</p>\n"
        f"<ul>\n{items}\n</ul>\n</body></html>\n"
    )
    temp_index = root / ".index.html.tmp"
    temp_index.write_text(page, encoding="utf-8")
    os.replace(temp_index, root / "index.html")
    return target / "index.html"


def _offline_earlier_runs(root: Path, runs: Iterable[str]) -> None:
    """Sites of runs published before the Data Docs were made offline (no ``static/vendor``):
    rewritten in place to the vendored assets, so the whole list opens without internet."""
    from tkpk import data_docs

    for name in runs:
        site = root / name
        if (site / "index.html").is_file() and not (site / data_docs.SITE_VENDOR).is_dir():
            data_docs.make_offline(site, name)
