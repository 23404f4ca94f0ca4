"""Expectation suites on DuckDB tables: the verdict in SQL, Great Expectations on a sample.

The suites are GX 1.x JSON files named after the table they check (``expectations/<table>.json``),
the single declaration of the rules. ``validate_table`` evaluates a suite in two engines:

1. **DuckDB SQL, every row**: ``tkpk.suite_run``, the one executor of the suites (the output
   suites of the curated tables run through it too), with the rules compiled by
   ``tkpk.suite_sql`` with GX's semantics: one scan writes the failing (row id, expectation)
   pairs of all row-wise expectations to a temp table; uniqueness and table-level expectations
   run as one query each. This is the verdict: success, ``unexpected_count`` per expectation, and,
   with ``reasons_into``, the (row id, reason) pairs inserted set-based into the caller's table
   (no Python lists of ids).
2. **Great Expectations, a bounded deterministic sample** (``Settings.gx_sample_rows``, env
   ``TKPK_GX_SAMPLE_ROWS``, default 20,000; 0 = every row): GX's pandas backend validates the
   sampled rows (failing rows first, then a hash-of-row-id sample) in Arrow batches of at most
   ``batch_rows`` rows, with only the columns the suite reads plus the row id. Its failing ids must
   equal the SQL engine's on those rows, else ``ValidationError`` ("engine disagreement"). Its
   results feed the Data Docs; their meta carries the sample size and the full-table counts
   (``gx_sample``, also used by ``tkpk.publish.suites.validate_output``).

Values are excluded from GX's results (COMPLETE format keyed by the row id), so no personal data
ends up in them or in the Data Docs. Importing GX costs seconds: it happens lazily, once per
process, or at once on the thread of a ``GxLane`` (``gx_lane``: the nightly run's), which then
also runs GX's part of the sample checks beside the caller's DuckDB work until it is joined.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from tkpk import suite_run, suite_sql

# Re-exported: the suites' severities and the executor's error have their home in
# tkpk.suite_sql / tkpk.suite_run; callers (tkpk.ingest.accept, tests) import them from here.
from tkpk.suite_run import ValidationError as ValidationError
from tkpk.suite_sql import flagged_field as flagged_field
from tkpk.suite_sql import nulled_columns as nulled_columns
from tkpk.suite_sql import severity as severity
from tkpk.suite_sql import suite_path as suite_path

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
    )

#: Rows per validated batch: bounds memory (one pandas frame of this many rows at a time).
DEFAULT_BATCH_ROWS = 1_000_000
#: Row ids kept per failure when the failing pairs go to a ``reasons_into`` table.
FAILURE_SAMPLE_IDS = 20
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



# ------------------------------------------------------------------------------------------ GX

_CONTEXT: Any = None
_CONTEXT_LOCK = threading.Lock()


def _context() -> Any:
    """The process-wide ephemeral GX context (created on first use, progress bars off)."""
    global _CONTEXT
    with _CONTEXT_LOCK:
        if _CONTEXT is None:
            import logging

            import great_expectations as gx
            from great_expectations.data_context.types.base import ProgressBarsConfig

            logging.getLogger("great_expectations").setLevel(logging.WARNING)
            context = gx.get_context(mode="ephemeral")
            context.variables.progress_bars = ProgressBarsConfig(globally=False)
            context.data_sources.add_pandas("tkpk")
            _install_configuration_memo()
            _install_plain_ids()
            _CONTEXT = context
    return _CONTEXT


class GxLane:
    """Great Expectations beside a run's DuckDB work: one background thread that imports GX and
    creates its context at once (seconds of Python, while DuckDB, which releases the GIL,
    works), then runs the GX part of each sample check handed to it (``gx_sample`` while the
    lane is open: the rows and the SQL verdict on them are read by the caller). ``join`` waits
    for all of it and raises the first error (an engine disagreement, an expectation GX could
    not evaluate): a run joins before it commits, so such an error still fails it."""

    def __init__(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(1, thread_name_prefix="gx")
        self._futures = [self._pool.submit(_context)]

    def submit(self, step: Callable[[], object]) -> None:
        """Run ``step`` on the lane's thread after what was handed to it before."""
        self._futures.append(self._pool.submit(step))

    def join(self) -> None:
        """Wait for every step handed to the lane; raise the first failure."""
        for future in list(self._futures):
            future.result()

    def close(self) -> None:
        """Drop the steps not started yet; wait for the running one."""
        self._pool.shutdown(wait=True, cancel_futures=True)


#: The open lane (``gx_lane``), or None: GX then runs in the caller's thread.
_LANE: GxLane | None = None


@contextlib.contextmanager
def gx_lane(enabled: bool = True) -> Iterator[GxLane | None]:
    """Open a ``GxLane`` for the block (none when ``enabled`` is false or one is open already):
    the samples' GX checks of the block run on it. The caller joins it (``GxLane.join``) where
    their errors must have been seen; on leaving, steps not started are dropped."""
    global _LANE
    if not enabled or _LANE is not None:
        yield None
        return
    lane = GxLane()
    _LANE = lane
    try:
        yield lane
    finally:
        _LANE = None
        lane.close()


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


def _select_list(columns: Iterable[str], types: Mapping[str, str]) -> list[str]:
    """Projection for validation: decimals as DOUBLE (vectorised in pandas), others as is."""
    parts = []
    for name in columns:
        quoted = suite_sql.quote(name)
        if types[name].upper().startswith("DECIMAL"):
            parts.append(f"cast({quoted} as double) as {quoted}")
        else:
            parts.append(quoted)
    return parts


def _to_pandas(batch: Any, row_id: str) -> pd.DataFrame:
    """An Arrow record batch as a pandas frame GX evaluates vectorised (dates as datetime64[ns]),
    indexed by the row id (named ``row_id``): GX then lists a failing row's id from the index
    instead of looking each one up in the column (a Python loop over the failing rows)."""
    import pandas as pd

    frame = batch.to_pandas(date_as_object=False)
    frame.index = pd.Index(frame[row_id], name=row_id)
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
    prejudged: suite_run.Prejudged | None = None,
) -> ValidationOutcome:
    """Run ``suite`` (default ``expectations/<table>.json``) on ``table`` (a table or a view, e.g.
    over ``read_parquet(...)``) in ``con``.

    The verdict comes from DuckDB: the executor (``tkpk.suite_run``) runs the suite compiled to
    SQL (``tkpk.suite_sql``); one scan finds the failing rows of every row-wise expectation.
    ``row_id`` names the table's row-id column (a generated row number when absent or None);
    ``where`` restricts the rows (a SQL predicate, e.g. one file's load id).

    ``reasons_into`` names an existing table ``(row_id bigint, reason varchar)``, optionally with
    ``severity``, ``column_name`` and ``nulls`` (varchar; see ``SuiteRun.insert_reasons``): the
    distinct failing (row id, ``meta.reason``) pairs are inserted into it in DuckDB, and each
    failure then carries its full ``unexpected_count`` but only a sample of
    ``FAILURE_SAMPLE_IDS`` row ids (the smallest), so ``row_ids_by_reason()``/
    ``failing_row_ids()`` are incomplete in that mode. Without it, failures carry every failing
    row id.

    Great Expectations also validates, on at most ``gx_sample_rows`` rows (default
    ``Settings.gx_sample_rows``; 0: every row): failing rows first, then a hash-of-row-id sample
    (see ``gx_sample``). Its results feed Data Docs (meta: sample size and full-table counts),
    and its failing ids must equal the SQL engine's on the sampled rows, else ``ValidationError``
    ("engine disagreement"). Raises ``ValidationError`` when an expectation cannot be evaluated.

    ``prejudged`` (``suite_run.Prejudged``: the raw load's kept rows and the fingerprint of the
    compiled rules that chose them) lets the scan evaluate the row-wise expectations only on the
    rows that record does not clear, when it was made by the same compiled rules; the verdict is
    the same (the sample's rows are still read, and GX still judges them).
    """
    definition = load_suite(suite, table)
    source = _suite_source(suite, table)
    gx_sample_rows = _sample_budget(gx_sample_rows)
    budget = max(int(gx_sample_rows), 0)
    with suite_run.execute(
        con, table, definition, table=table, source=source, row_id=row_id, where=where, ids=True,
        keep_below=(lambda rows: _hash_threshold(budget, rows)) if budget > 0 else None,
        prejudged=prejudged,
    ) as run:
        if reasons_into:
            run.insert_reasons(reasons_into)
        outcome = outcome_of(run, complete_ids=not reasons_into)
        outcome.results = gx_sample(run, gx_sample_rows, batch_rows, batch_name)
    return outcome


def _suite_source(suite: str | Path | Mapping[str, Any] | None, table: str) -> str:
    """How errors name the suite: its file when it came from one."""
    if isinstance(suite, Mapping):
        return str(suite.get("name") or table)
    path = Path(suite) if suite is not None else suite_path(table)
    if not (path.suffix == ".json" and path.exists()):
        path = suite_path(str(suite if suite is not None else table))
    return str(path)


def outcome_of(run: suite_run.SuiteRun, complete_ids: bool = True) -> ValidationOutcome:
    """The SQL verdict of a suite run as a ``ValidationOutcome`` (GX results added by the
    caller): every failing row id, or with ``complete_ids`` false the ``FAILURE_SAMPLE_IDS``
    smallest."""
    ids = run.ids(limit=None if complete_ids else FAILURE_SAMPLE_IDS)
    failures = []
    for index, count in run.counts.items():
        expectation = run.expectations[index]
        failures.append(
            ExpectationFailure(
                index=index,
                expectation_type=expectation["type"],
                column=expectation.get("kwargs", {}).get("column"),
                reason=(expectation.get("meta") or {}).get("reason"),
                unexpected_count=count,
                row_ids=tuple(ids.get(index, ())),
                severity=severity(expectation),
            )
        )
    return ValidationOutcome(
        table=run.table,
        suite_name=run.definition.get("name", run.table),
        success=not failures,
        rows=run.rows,
        failures=failures,
    )


def gx_sample(
    run: suite_run.SuiteRun,
    budget: int | None = None,
    batch_rows: int | None = DEFAULT_BATCH_ROWS,
    batch_name: str | None = None,
) -> list[Any]:
    """Great Expectations on a bounded sample of a suite run made with ``ids`` (budget: default
    ``Settings.gx_sample_rows``), cross-checked against the SQL verdict: its results, one per
    batch, for the Data Docs (none when the run stopped on the relation's columns)."""
    if run.stopped:
        return []
    return _GxSample(run, _sample_budget(budget)).run(batch_rows, batch_name)


def _sample_budget(budget: int | None) -> int:
    """``budget``, or ``Settings.gx_sample_rows`` when None."""
    if budget is None:
        from tkpk.config import get_settings

        return get_settings().gx_sample_rows
    return budget


class _GxCheck:
    """GX's part of a sample's check, on rows already read (no DuckDB, no reference to the run's
    connection): validate the Arrow batches, cross-check the failing ids with the SQL
    verdict's (``sql_ids``), annotate the results; returns them."""

    def __init__(
        self,
        engine: suite_run.SuiteRun,
        suite: Mapping[str, Any],
        label: str,
        checked: list[int],
        sql_ids: Mapping[int, list[Any]],
        sample: int,
        full: bool,
    ) -> None:
        self.table, self.source, self.id_column = engine.table, engine.source, engine.id_column
        self.expectations = engine.expectations
        self.rows, self.counts = engine.rows, dict(engine.counts)
        self.suite = suite
        self.label = label
        self.checked = checked
        self.sql_ids = sql_ids
        self.sample = sample
        self.full = full

    def __call__(self, batches: Iterable[Any]) -> list[Any]:
        gx_ids, results = _run_gx(
            batches, self.suite, self.table, self.source, self.id_column, self.label
        )
        self._cross_check(gx_ids)
        self._annotate(results)
        return results

    def _cross_check(self, gx_ids: Mapping[int, list[Any]]) -> None:
        """Raise when GX and SQL disagree on the failing rows of an expectation."""
        for index in self.checked:
            gx, sql = set(gx_ids.get(index, ())), set(self.sql_ids.get(index, ()))
            if gx != sql:
                differing = sorted(gx ^ sql, key=repr)[:5]
                expectation = self.expectations[index]
                raise ValidationError(
                    f"engine disagreement: table {self.table}, suite {self.source}, "
                    f"expectation {suite_sql.label(expectation, index)}: GX and DuckDB SQL "
                    f"differ on row ids {differing} (GX fails {len(gx)}, SQL fails {len(sql)} of "
                    "the validated rows); the data was not validated: report a bug "
                    "(tkpk/suite_sql.py)"
                )

    def _annotate(self, results: list[Any]) -> None:
        """Sample size and full-table counts in the results' meta (shown with the Data Docs)."""
        rows, sample = self.rows, self.sample
        note = f"all {rows} rows" if self.full else f"sample of {sample} of {rows} rows"
        for result in results:
            result.meta["tkpk_sample"] = {
                "rows": sample,
                "table_rows": rows,
                "note": note,
                "engine": "verdict by DuckDB SQL over every row; GX on the rows above",
            }
            for position, expectation_result in enumerate(result.results):
                index = _suite_index(expectation_result, position)
                meta = dict(expectation_result.meta or {})
                meta["tkpk_full_table"] = {
                    "rows": rows,
                    "unexpected_count": self.counts.get(index, 0),
                    "success": index not in self.counts,
                }
                expectation_result.meta = meta


class _GxSample:
    """Great Expectations on a bounded, deterministic sample of a suite run's rows, cross-checked
    against the SQL verdict.

    With ``budget`` 0, or a selection of at most ``budget`` rows, GX validates every row with the
    suite (its row-count results then also come from GX). Otherwise it validates the row-wise
    expectations on at most ``budget`` rows: failing rows first (up to half the budget, an equal
    quota per failing expectation, lowest ``hash(row id)`` first), then the rows with the lowest
    ``hash(row id)`` among the others. Cross-table ``unexpected_rows_expectation`` queries
    (pandas cannot run SQL) and the column-structure expectations (GX's frame carries the row id
    and only the columns the suite reads) never run in GX.
    """

    def __init__(self, run: suite_run.SuiteRun, budget: int) -> None:
        self.engine = run
        self.con = run.con
        self.budget = max(int(budget), 0)
        self.sample = suite_run.temp_name("gx_sample")
        #: The sampled rows' columns, read with the draw (``_draw_rest``); None: from the scope.
        self.rows: str | None = None

    def run(self, batch_rows: int | None, batch_name: str | None) -> list[Any]:
        """GX results (one per batch), after the cross-check. While a ``GxLane`` is open and the
        rows are a bounded sample, the rows and the SQL verdict on them are read here and GX's
        part is handed to the lane: the list returned is filled when the lane has run it (the
        lane's ``join`` raises what it raised)."""
        engine = self.engine
        full = self.budget == 0 or engine.rows <= self.budget
        if full:
            indices = sorted([*engine.predicates, *engine.row_sets, *engine.row_counts])
            checked = [*engine.predicates, *engine.row_sets]
            extra = None
        else:
            indices = list(engine.predicates)
            checked = indices
            extra = f"{engine.id_sql} in (select id from {self.sample})"
        lane = _LANE if self.budget > 0 else None  # every row (budget 0): streamed, not held
        try:
            sample_rows = engine.rows if full else self._draw()
            if self.rows is not None:
                extra = None  # the table of the sampled rows holds them and no other
            suite = {
                **engine.definition,
                "expectations": [_tagged(engine.expectations[i], i) for i in indices],
            }
            label = batch_name or engine.table
            if not full:
                label = f"{label} (sampel {sample_rows:,} dari {engine.rows:,} baris)"
            batches = _arrow_batches(engine, suite, extra, batch_rows, self.rows)
            if lane is not None:
                batches = iter(list(batches))  # read now: the temp tables go below
            sql_ids = engine.ids(semi_join=None if full else self.sample)
            check = _GxCheck(engine, suite, label, checked, sql_ids, sample_rows, full)
            if lane is None:
                if _LANE is not None:
                    _LANE.join()  # GX runs in one thread at a time
                return check(batches)
            results: list[Any] = []
            lane.submit(lambda: results.extend(check(batches)))
            return results
        finally:
            for table in (self.sample, self.rows):
                if table:
                    self.con.execute(f"drop table if exists {table}")

    def _draw(self) -> int:
        """Create the sample table (column ``id``) and, when one read of the columns can draw
        it, the table of the sampled rows (``rows``: ``_draw_rest``); returns its size."""
        engine, con = self.engine, self.con
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
        if not self._draw_rest(rest):
            id_sql = engine.id_sql
            con.execute(
                f"insert into {self.sample} select {id_sql} from {engine.scope} "
                f"where {id_sql} not in (select id from {self.sample}) "
                f"order by hash({id_sql}), {id_sql} limit {rest}"
            )
        return con.execute(f"select count(*) from {self.sample}").fetchall()[0][0]

    def _draw_rest(self, rest: int) -> bool:
        """Add to the sample the ``rest`` rows of the lowest ``(hash(id), id)`` not in it yet,
        drawn in the same read as the sampled rows' columns: one scan keeps the rows already
        sampled and those whose hash lies below a threshold about ``2 * rest + 1024`` rows pass
        (``rows``, a temp table), and the lowest of the new ones join the sample. When at least
        ``rest`` new rows pass, they are the lowest of all (every other row's hash is higher):
        the same sample as a read of every row's id, with one read of the columns instead of
        two. Else (a threshold passing too few rows, or a small table) nothing is added, no table
        is kept and False is returned: the caller draws from every row."""
        engine, con = self.engine, self.con
        threshold = _hash_threshold(rest, engine.rows)
        if threshold is None:
            return False
        id_sql = engine.id_sql
        columns = "".join(f", {suite_sql.quote(c)}" for c in engine.columns)
        rows, drawn = suite_run.temp_name("gx_rows"), suite_run.temp_name("gx_drawn")
        con.execute(
            f"create temp table {rows} as select {id_sql}{columns} from {self._source(threshold)} "
            f"where hash({id_sql}) < {threshold}::ubigint "
            f"or {id_sql} in (select id from {self.sample})"
        )
        con.execute(
            f"create temp table {drawn} as select {id_sql} as id from {rows} "
            f"where {id_sql} not in (select id from {self.sample}) "
            f"order by hash({id_sql}), {id_sql} limit {rest}"
        )
        enough = con.execute(f"select count(*) from {drawn}").fetchall()[0][0] == rest
        if enough:
            con.execute(f"insert into {self.sample} select id from {drawn}")
            con.execute(f"delete from {rows} where {id_sql} not in (select id from {self.sample})")
            self.rows = rows
        else:
            con.execute(f"drop table {rows}")
        con.execute(f"drop table {drawn}")
        return enough

    def _source(self, threshold: int) -> str:
        """Where the sampled rows are read: the rows the suite's scan kept (``SuiteRun.kept``:
        every row failing a row-wise expectation, every row hashing below its bound) when they
        hold every row this draw reads (the ids hashing below ``threshold`` and the sampled
        failing rows, i.e. no failing row of a uniqueness expectation), else the scope."""
        engine = self.engine
        if (
            engine.kept is not None
            and engine.kept_below is not None
            and threshold <= engine.kept_below
            and not engine.row_sets
        ):
            return engine.kept
        return engine.scope

def _hash_threshold(rest: int, rows: int) -> int | None:
    """The ``hash(id)`` below which about ``2 * rest + 1024`` of ``rows`` rows lie (the hashes
    are uniform over the 64-bit range), or None when that is half of them or more (or ``rest``
    is 0): then a read of every id costs no more."""
    share = (2 * rest + 1024) / max(rows, 1)
    if rest <= 0 or share >= 0.5:
        return None
    return int(share * 2**64)


def _tagged(expectation: Mapping[str, Any], index: int) -> dict[str, Any]:
    """A copy of ``expectation`` whose meta records its position in the suite file."""
    tagged = copy.deepcopy(dict(expectation))
    tagged["meta"] = {**(tagged.get("meta") or {}), "tkpk_index": index}
    return tagged


def _suite_index(expectation_result: Any, position: int) -> int:
    """Position in the suite of the expectation behind a GX result (``tkpk_index`` meta)."""
    meta = getattr(expectation_result.expectation_config, "meta", None) or {}
    return int(meta.get("tkpk_index", position))


def _arrow_batches(
    run: suite_run.SuiteRun,
    suite: Mapping[str, Any],
    extra: str | None,
    batch_rows: int | None,
    rows: str | None = None,
) -> Iterator[Any]:
    """The run's rows matching ``extra``, or the table ``rows`` (the sampled rows, already read;
    in row-id order), with the id and the columns the suite reads, as Arrow tables of at most
    ``batch_rows`` rows when every expectation is row-wise (else one); at least one (empty)."""
    con = run.con
    row_wise = all(e["type"] in suite_sql.ROW_WISE for e in suite["expectations"])
    projection = "".join(f", {p}" for p in _select_list(run.columns, run.types))
    if rows is not None:
        select = f"select {run.id_sql}{projection} from {rows} order by {run.id_sql}"
    else:
        where = f" where {extra}" if extra else ""
        select = f"select {run.id_sql}{projection} from {run.scope}{where}"
    chunk = batch_rows if (row_wise and batch_rows) else 1_000_000_000
    reader = con.sql(select).to_arrow_reader(min(chunk, 1_000_000))
    empty = True
    for table in _record_batches(reader, chunk):
        empty = False
        yield table
    if empty:  # an empty selection still gets judged (row-count expectations)
        yield con.sql(select).to_arrow_table()


def _run_gx(
    batches: Iterable[Any],
    suite: Mapping[str, Any],
    table: str,
    source: str,
    id_column: str,
    label: str,
) -> tuple[dict[int, list[Any]], list[Any]]:
    """GX (pandas) on Arrow ``batches`` of ``table``'s rows: failing ids by suite position, and
    one suite result per batch."""
    from great_expectations.core.expectation_suite import ExpectationSuite

    gx_suite = ExpectationSuite(**copy.deepcopy(dict(suite)))
    batch_definition = _batch_definition(_context(), table)
    failing: dict[int, list[Any]] = {}
    counts: dict[int, int] = {}
    results: list[Any] = []
    for number, batch in enumerate(batches):
        frame = _to_pandas(batch, id_column)
        result = _validate_frame(batch_definition, gx_suite, frame, id_column)
        result.meta["tkpk_table"] = table
        result.meta["tkpk_batch"] = label if number == 0 else f"{label} #{number + 1}"
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
    with _configuration_memo():
        return batch.validate(suite, result_format=_result_format(row_id))


_MEMO = threading.local()


def _install_configuration_memo() -> None:
    """Make ``Expectation.configuration`` (GX rebuilds it from the pydantic fields on every
    access, ~90 times per expectation and validation) computed once per expectation object
    inside ``_configuration_memo``; unchanged elsewhere."""
    from great_expectations.expectations.expectation import Expectation

    original = Expectation.__dict__["configuration"]
    if getattr(original.fget, "tkpk_memo", False):
        return
    build = original.fget

    def configuration(self: Any) -> Any:
        memo = getattr(_MEMO, "memo", None)
        if memo is None:
            return build(self)
        entry = memo.get(id(self))
        if entry is None or entry[0] is not self:
            entry = memo[id(self)] = (self, build(self))
        return entry[1]

    configuration.tkpk_memo = True  # type: ignore[attr-defined]
    Expectation.configuration = property(configuration, doc=original.__doc__)


class _NotPlain(Exception):
    """A value ``_plain_json`` leaves to GX's own conversion."""


def _plain_json(value: Any) -> Any:
    """``value`` as GX's ``convert_to_json_serializable`` returns it, for the plain values GX's
    metric ids are made of (text, integers, booleans, None, finite floats, and dicts with text
    keys, lists, tuples and sets of them); raises ``_NotPlain`` for anything else."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        if value != value:  # NaN: GX makes it None
            raise _NotPlain
        return value
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _NotPlain
            out[key] = _plain_json(item)
        return out
    if kind is list or kind is tuple or kind is set:
        return [_plain_json(item) for item in value]
    raise _NotPlain


def _install_plain_ids() -> None:
    """Make ``IDDict.to_id`` (GX computes the ids of ~700 metric configurations per table's
    validation, each through ``convert_to_json_serializable``'s isinstance and numpy dtype
    checks) convert plain values directly (``_plain_json``): the same id text, computed the
    same way (md5 of the sorted JSON); anything else goes through GX's own code."""
    import hashlib

    from great_expectations.core.id_dict import IDDict

    original = IDDict.__dict__["to_id"]
    if getattr(original, "tkpk_plain", False):
        return

    def to_id(self: Any, id_keys: Any = None, id_ignore_keys: Any = None) -> Any:
        if id_keys is not None or id_ignore_keys is not None or self._id_ignore_keys:
            return original(self, id_keys, id_ignore_keys)
        if len(self) <= 1:  # () or "key=value": no conversion in GX either
            return original(self)
        try:
            plain = {str(k): _plain_json(v) for k, v in self.items() if type(k) is str}
        except _NotPlain:
            return original(self)
        if len(plain) != len(self):  # a key that is not text: GX's way
            return original(self)
        return hashlib.md5(
            json.dumps(plain, sort_keys=True).encode("utf-8"), usedforsecurity=False
        ).hexdigest()

    to_id.tkpk_plain = True  # type: ignore[attr-defined]
    IDDict.to_id = to_id


@contextlib.contextmanager
def _configuration_memo() -> Iterator[None]:
    """Inside the block, each GX expectation object builds its ``configuration`` once
    (``_install_configuration_memo``, installed with the context)."""
    _MEMO.memo = {}
    try:
        yield
    finally:
        _MEMO.memo = None


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
    suite_pages: Path | None = None,
) -> Path:
    """Write GX Data Docs (HTML site: suites and one page per validated batch) into ``target_dir``.

    ``results`` are ``ValidationOutcome`` objects or GX suite results. Values are scrubbed first.
    The site works offline (``tkpk.data_docs.make_offline``: vendored assets, no http(s)
    resource) and its names are readable: the site is ``tkpk <run>``, a validation page is named
    ``<NN>-<suite>.html`` (position in the run and suite, never a file name) and every page's
    title says the run, the suite and the kind. ``validations.json`` lists the results (suite,
    batch, page, success). Returns the site's ``index.html``.

    ``suite_pages``: a folder of GX's pages of the suites as GX renders them (before
    ``make_offline``), one per suite definition (``_suite_page_key``); a suite found there is
    not rendered again (its page is the same; GX's rendering is most of a night's Data Docs),
    one that is not is rendered and kept there. None: every page is rendered.
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
    suites_seen: dict[str, str] = {}  # name -> _suite_page_key
    validated: list[Any] = []
    entries: list[dict[str, Any]] = []
    for position, result in enumerate(_flatten(results)):
        suite_name = result.suite_name
        if suite_name not in suites_seen:
            definition = _register_suite(context, ExpectationSuite, suite_name)
            suites_seen[suite_name] = _suite_page_key(definition)
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
        validated.append(key)
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
    resources = None
    rendered: dict[str, Path] = {}
    if suite_pages is not None:
        # the kept pages go in first: GX's index lists the suite pages the site holds
        for name, page_key in suites_seen.items():
            page = target_dir / _suite_page_path(name)
            if not _copy_kept(Path(suite_pages) / f"{page_key}.html", page):
                rendered[name] = page
        resources = [
            *validated, *(ExpectationSuiteIdentifier(name=name) for name in rendered)
        ]
    try:
        context.build_data_docs(site_names=[site_name], resource_identifiers=resources)
    finally:
        context.delete_data_docs_site(site_name)
    for name, page in rendered.items():
        _keep(page, Path(suite_pages) / f"{suites_seen[name]}.html")  # type: ignore[arg-type]
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


def _register_suite(context: Any, suite_class: Any, name: str) -> dict[str, Any]:
    """Put suite ``name`` (from expectations/) into the context's store for its Data Docs page;
    returns its definition."""
    try:
        definition = load_suite(name, name)
    except FileNotFoundError:
        definition = {"name": name, "expectations": []}
    with contextlib.suppress(Exception):  # absent suite: nothing to replace
        context.suites.delete(name)
    context.suites.add(suite_class(**copy.deepcopy(definition)))
    return definition


#: What else GX's page of a suite depends on besides the suite and GX's version: the site's
#: settings of ``build_data_docs`` (change it with them).
SUITE_PAGE_FORMAT = "SiteBuilder show_how_to_buttons=False DefaultSiteIndexBuilder"


def _suite_page_key(definition: Mapping[str, Any]) -> str:
    """The name of a suite's page in ``build_data_docs``'s ``suite_pages``: the SHA-256 of the
    suite's definition, GX's version and ``SUITE_PAGE_FORMAT``."""
    import great_expectations as gx

    text = json.dumps(
        {"suite": definition, "gx": gx.__version__, "format": SUITE_PAGE_FORMAT},
        sort_keys=True, default=str,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _suite_page_path(name: str) -> Path:
    """Where GX writes the page of suite ``name`` in a site."""
    parts = name.split(".")
    return Path("expectations", *parts[:-1], f"{parts[-1]}.html")


def _copy_kept(kept: Path, page: Path) -> bool:
    """Copy a kept suite page into the site; False when there is none (or it cannot be read)."""
    try:
        data = kept.read_bytes()
    except OSError:
        return False
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_bytes(data)
    return True


def _keep(page: Path, kept: Path) -> None:
    """Keep a suite page GX rendered (written atomically; a failure only means rendering it
    again next time)."""
    temporary = kept.with_name(f".{kept.name}.{os.getpid()}")
    try:
        kept.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(page.read_bytes())
        os.replace(temporary, kept)
    except OSError:
        temporary.unlink(missing_ok=True)


def publish_data_docs(results: Iterable[Any], settings: Any, run_id: str) -> Path:
    """Build this run's Data Docs into ``<data_docs_dir>/<run_id>/`` (written to a temporary
    folder first, then renamed) and refresh ``<data_docs_dir>/index.html``, a list of the runs
    (newest first) linking to each run's site. Returns the run's ``index.html``. The suites'
    pages come from ``settings.suite_page_cache`` when it holds them (``build_data_docs``)."""
    import html
    import os
    import shutil

    root = Path(settings.data_docs_dir)
    root.mkdir(parents=True, exist_ok=True)
    safe_run = re.sub(r"[^A-Za-z0-9_.\-]", "_", run_id)
    staging = root / f".tmp-{safe_run}"
    if staging.exists():
        shutil.rmtree(staging)
    build_data_docs(results, staging, run_name=run_id, suite_pages=settings.suite_page_cache)
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
