"""The one executor of the expectation suites: staging tables and curated outputs alike.

A suite (GX 1.x JSON in ``expectations/``, compiled by ``tkpk.suite_sql`` with GX's semantics)
runs over a relation (a table, a view, ``read_parquet(...)``) in DuckDB:

1. the column-structure expectations (column list, set, count, existence) are judged first from
   the relation's columns; when one fails nothing else is evaluated (the other rules would read
   columns that are not there or not what the suite means);
2. every row-wise expectation in ONE scan: with ``ids`` the failing (row id, expectation) pairs
   go to a temp table (with ``keep_below``, found in the rows that scan keeps for a sample:
   ``SuiteRun.kept``; the scan's filter, ``suite_sql.scan_predicate``, runs a column's stricter
   regular expression first and the ones it implies only where it does not match), else
   ``count(*) filter (...)`` per expectation;
3. uniqueness expectations one query each (their rows into the pairs with ``ids``);
4. ``unexpected_rows_expectation`` queries one each, ``{batch}`` being the validated rows of the
   relation itself;
5. row-count expectations on the row count.

The result (``SuiteRun``): ``rows``, the unexpected count per expectation (``counts``, by
position in the suite) and, for a table-level failure, what is wrong (``problems``); on demand the
failing row ids (``ids``), the distinct failing (row id, ``meta.reason``) pairs with each rule's
``meta.severity`` inserted into a caller's table (``insert_reasons``) and a few failing rows
(``sample``). ``tkpk.validation.validate_table`` (staging; GX cross-checks a sample and renders
Data Docs from the same run) and ``tkpk.publish.suites.run_suite``/``validate_output`` (the
output suites) both call ``execute``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from tkpk import suite_sql

#: Name of the generated row id when the relation has none.
GENERATED_ROW_ID = "_row_id"

_COUNTER = [0]


class ValidationError(RuntimeError):
    """A suite could not be evaluated (an expectation raised): the data was not validated."""


@dataclass(frozen=True)
class Prejudged:
    """What an earlier evaluation of the same row-wise rules found, which the scan may trust.

    ``covered`` maps the fingerprint (``suite_sql.scan_fingerprint``) of the scan predicate an
    earlier evaluation used to a SQL predicate over the relation's rows it judged (e.g. the raw
    load's files: ``file_id in (...)``; ``true``: every row); ``candidates`` is a relation with
    the column ``id``: the ids of the rows it found failing, or more (the raw load's kept rows).
    When the run's own scan predicate has a fingerprint of ``covered``, a covered row that is
    not a candidate fails no row-wise expectation: the scan evaluates the expectations on the
    candidates there, on every row elsewhere, and on the rows it keeps for a sample (those
    hashing below the bound, read wherever they are). Any other fingerprint (another suite,
    another compiler, an older record) is not trusted: every row is judged, as without
    ``prejudged``."""

    candidates: str
    covered: Mapping[str, str]


def temp_name(stem: str) -> str:
    """A fresh temp-table name of this process."""
    _COUNTER[0] += 1
    return f"_tkpk_{stem}_{_COUNTER[0]}"


def relation_types(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    """Column name -> DuckDB type of ``relation`` (a table, view or table function)."""
    rows = con.execute(f"describe select * from {relation}").fetchall()
    return {name: str(dtype) for name, dtype, *_ in rows}


def execute(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    suite: Mapping[str, Any],
    *,
    table: str | None = None,
    source: str | None = None,
    row_id: str | None = None,
    where: str | None = None,
    ids: bool = False,
    keep_below: Callable[[int], int | None] | None = None,
    prejudged: Prejudged | None = None,
) -> SuiteRun:
    """Run ``suite`` over ``relation``; the returned ``SuiteRun`` is a context manager that drops
    its temp tables on exit. ``table`` names the relation and ``source`` the suite in messages;
    ``where`` restricts the rows (a SQL predicate); with ``ids`` the failing row ids are kept,
    read from the column ``row_id`` when the relation has it, else generated row numbers (the
    columns the suite reads are then copied once into a temp table with them). Raises
    ``ValidationError`` naming the expectation when one has no SQL translation or fails to run.
    With ``ids`` and ``keep_below`` (the row count -> a 64-bit ``hash(row id)`` bound, or None),
    the scan of the row-wise expectations also keeps, in the temp table ``kept``, the columns the
    suite reads of every row failing one of them and of every row whose id hashes below the
    bound: a sample drawn from those rows (``tkpk.validation.gx_sample``) reads them from there,
    not the relation again. With ``ids`` and ``prejudged`` (:class:`Prejudged`), the row-wise
    expectations are evaluated only where the earlier evaluation it records does not already
    tell (``SuiteRun.trusted``: the rows it covered, when its fingerprint is the scan's): the same
    failing rows, the same counts, the same kept rows.
    """
    run = SuiteRun(con, relation, suite, table=table, source=source, row_id=row_id, where=where,
                   ids=ids, keep_below=keep_below, prejudged=prejudged)
    try:
        run.run()
    except BaseException:
        run.close()
        raise
    return run


class SuiteRun:
    """One execution of a suite over a relation (see the module docstring)."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        relation: str,
        suite: Mapping[str, Any],
        *,
        table: str | None,
        source: str | None,
        row_id: str | None,
        where: str | None,
        ids: bool,
        keep_below: Callable[[int], int | None] | None = None,
        prejudged: Prejudged | None = None,
    ) -> None:
        self.con = con
        self.table = table or relation
        self.definition = suite
        self.expectations = list(suite.get("expectations", []))
        self.source = source or str(suite.get("name") or self.table)
        self.types = relation_types(con, relation)
        #: The validated rows of the relation: what ``{batch}`` and the samples read.
        self.batch = f"(select * from {relation} where {where})" if where else relation
        self.keep_ids = ids
        self.temp: str | None = None
        self.pairs: str | None = None
        self.keep_below = keep_below
        #: With ``keep_below``: the temp table of the kept rows (see ``execute``) and their bound.
        self.kept: str | None = None
        self.kept_below: int | None = None
        self.prejudged = prejudged
        #: The fingerprint of the row-wise scan's predicate (``suite_sql.scan_fingerprint``) and,
        #: when ``prejudged`` covers it, the SQL predicate of the rows judged by trusting it.
        self.fingerprint: str | None = None
        self.trusted: str | None = None
        self.rows = 0
        self.stopped = False
        self.counts: dict[int, int] = {}
        self.problems: dict[int, str] = {}
        self.predicates: dict[int, str] = {}
        self.row_sets: dict[int, str] = {}
        self.queries: dict[int, str] = {}
        self.structure = [
            index for index, expectation in enumerate(self.expectations)
            if expectation.get("type") in suite_sql.COLUMN_STRUCTURE
        ]
        self.row_counts: list[int] = []
        #: The rows with their id column (``id_column``): the relation itself, or a temp copy.
        self.scope = self.batch
        self.id_column = row_id if row_id in self.types else GENERATED_ROW_ID
        read: set[str] = set()
        for expectation in self.expectations:
            if expectation.get("type") not in suite_sql.TABLE_LEVEL:
                read |= suite_sql.columns_read(expectation)
        #: The columns (other than the id) the row-wise and uniqueness rules read.
        self.columns = [c for c in self.types if c in read and c != self.id_column]

    # ------------------------------------------------------------------------------- running

    def label(self, index: int) -> str:
        """``#<index> <type>(<column>)`` of an expectation."""
        return suite_sql.label(self.expectations[index], index)

    def _error(self, what: str, error: Exception) -> ValidationError:
        return ValidationError(f"suite {self.source} on {self.table}: {what}: {error}")

    def _compile(self) -> None:
        """Sort the expectations by how they are evaluated; raise on one without SQL."""
        for index, expectation in enumerate(self.expectations):
            try:
                kind = expectation["type"]
                suite_sql.flagged_field(expectation)  # validates meta.severity and meta.column
                if kind in suite_sql.COLUMN_STRUCTURE:
                    continue  # judged already
                if kind in suite_sql.TABLE_LEVEL:
                    suite_sql.table_level_failure(expectation, [], 0)  # validates the options
                    self.row_counts.append(index)
                    continue
                predicate = suite_sql.row_predicate(expectation, self.types)
                if predicate is not None:
                    self.predicates[index] = predicate
                elif kind in suite_sql.ROW_SET:
                    self.row_sets[index] = suite_sql.unexpected_sql(
                        expectation, self.scope, self.types
                    )
                else:
                    self.queries[index] = suite_sql.unexpected_sql(
                        expectation, self.batch, self.types
                    )
            except suite_sql.SuiteCompileError as error:
                raise self._error(f"expectation {self.label(index)}", error) from error

    def _judge_table(self, indices: list[int]) -> None:
        """Table-level expectations on the relation's columns and row count."""
        columns = list(self.types)
        for index in indices:
            try:
                problem = suite_sql.table_level_failure(
                    self.expectations[index], columns, self.rows
                )
            except suite_sql.SuiteCompileError as error:
                raise self._error(f"expectation {self.label(index)}", error) from error
            if problem:
                self.counts[index] = 1
                self.problems[index] = problem

    def run(self) -> None:
        """Evaluate the suite (once)."""
        self._judge_table(self.structure)
        if self.counts:
            self.stopped = True
            return
        if self.keep_ids:
            self._select_rows()
        self._compile()
        if self.keep_ids:
            self._run_pairs()
        else:
            self._run_counts()
        for index, sql in self.queries.items():
            count = self._fetch_count(sql, [index])
            if count:
                self.counts[index] = count
        self._judge_table(self.row_counts)
        self.counts = dict(sorted(self.counts.items()))

    def _select_rows(self) -> None:
        """The rows with an id: the relation in place when it has ``id_column``, else the columns
        the suite reads copied once into a temp table with generated row numbers."""
        if self.id_column != GENERATED_ROW_ID:
            return
        self.temp = temp_name("rows")
        projection = "".join(f", {suite_sql.quote(c)}" for c in self.columns)
        self.con.execute(
            f"create temp table {self.temp} as select row_number() over () as "
            f"{GENERATED_ROW_ID}{projection} from {self.batch}"
        )
        self.scope = self.temp

    @property
    def id_sql(self) -> str:
        """The quoted row-id column."""
        return suite_sql.quote(self.id_column)

    def _run_pairs(self) -> None:
        """Failing (row id, expectation) pairs in a temp table: one scan for every row-wise
        expectation, one query per uniqueness expectation; counts per expectation from them."""
        con = self.con
        self.rows = self._fetch_count(f"select * from {self.scope}", [])
        self.pairs = temp_name("failing")
        id_type = self.types.get(self.id_column, "BIGINT")
        con.execute(f"create temp table {self.pairs} (id {id_type}, idx integer)")
        if self.predicates:
            cases = ", ".join(f"case when {p} then {i} end" for i, p in self.predicates.items())
            any_failing = suite_sql.scan_predicate(
                dict(enumerate(self.expectations)), self.predicates, self.types
            )
            self.fingerprint = suite_sql.scan_fingerprint(any_failing)
            if self.prejudged is not None:
                self.trusted = self.prejudged.covered.get(self.fingerprint)
            source, failing = self._keep_rows(any_failing)
            self._execute(
                f"insert into {self.pairs} select id, idx from (select {self.id_sql} as id, "
                f"unnest(list_filter([{cases}], lambda x: x is not null)) as idx "
                f"from {source} where {failing})",
                list(self.predicates),
            )
        for index, sql in self.row_sets.items():
            self._execute(
                f"insert into {self.pairs} select {self.id_sql}, {index} from ({sql})", [index]
            )
        found = con.execute(f"select idx, count(*) from {self.pairs} group by idx").fetchall()
        self.counts.update({int(index): int(count) for index, count in found})

    def _keep_rows(self, any_failing: str) -> tuple[str, str]:
        """The rows the failing pairs are found in and the filter that finds them there. With
        ``keep_below`` giving a bound for this many rows: the suite's columns of the failing rows
        and of those whose id hashes below it, copied into ``kept`` (one scan of the relation),
        and ``any_failing``; else the scope and ``any_failing`` (or, ``trusted``, the rules
        judged only where :meth:`_judged` holds)."""
        below = self.keep_below(self.rows) if self.keep_below is not None else None
        if below is None:
            return self.scope, self._judged(any_failing)
        self.kept, self.kept_below = temp_name("kept"), int(below)
        projection = "".join(f", {suite_sql.quote(c)}" for c in self.columns)
        hashed = f"hash({self.id_sql}) < {self.kept_below}::ubigint"
        self._execute(
            f"create temp table {self.kept} as select {self.id_sql}{projection} "
            f"from {self.scope} where {hashed} or {self._judged(any_failing)}",
            list(self.predicates),
        )
        return self.kept, any_failing

    def _judged(self, any_failing: str) -> str:
        """``any_failing`` where the row-wise rules must be evaluated: every row, or (``trusted``)
        the rows the earlier evaluation did not cover and the candidates among those it covered
        (every other row fails none). The rules go inside a ``case``, which DuckDB evaluates
        only on the rows its condition holds for: as a plain conjunction with the candidates'
        semi join they are pushed below it and evaluated on every row (at 1M households that
        made the trusted scan of the PBI-JK files dearer than judging every row)."""
        if self.trusted is None:
            return f"({any_failing})"
        candidate = f"{self.id_sql} in (select id from {self.prejudged.candidates})"
        if self.trusted != "true":
            candidate = f"not {self._trusted_sql()} or {candidate}"
        return f"(case when {candidate} then ({any_failing}) else false end)"

    def _trusted_sql(self) -> str:
        """``trusted`` as a predicate that is never null."""
        return "true" if self.trusted == "true" else f"coalesce(({self.trusted}), false)"

    def _run_counts(self) -> None:
        """Counts only: the row count and every row-wise expectation in one scan, one count per
        uniqueness expectation."""
        items = "".join(f", count(*) filter (where {p})" for p in self.predicates.values())
        try:
            found = self.con.execute(f"select count(*){items} from {self.batch}").fetchone()
        except duckdb.Error as error:
            raise self._error(self._culprit_label(list(self.predicates)), error) from error
        self.rows = int(found[0])
        for index, count in zip(self.predicates, found[1:], strict=True):
            if count:
                self.counts[index] = int(count)
        for index, sql in self.row_sets.items():
            count = self._fetch_count(sql, [index])
            if count:
                self.counts[index] = count

    def _execute(self, sql: str, indices: list[int]) -> None:
        """Run ``sql``; on an engine error name the expectation that caused it."""
        try:
            self.con.execute(sql)
        except duckdb.Error as error:
            raise self._error(self._culprit_label(indices), error) from error

    def _fetch_count(self, sql: str, indices: list[int]) -> int:
        """Row count of a query; on an engine error name the expectation that caused it."""
        try:
            return int(self.con.execute(f"select count(*) from ({sql})").fetchall()[0][0])
        except duckdb.Error as error:
            raise self._error(self._culprit_label(indices), error) from error

    def _culprit_label(self, indices: list[int]) -> str:
        """``<label> could not be evaluated`` for the first of ``indices`` whose predicate alone
        fails to evaluate (the only one when there is one)."""
        culprit = indices[0] if len(indices) == 1 else None
        for index in indices if len(indices) > 1 else ():
            try:
                self.con.execute(
                    f"select count(*) from {self.batch} where {self.predicates[index]}"
                ).fetchall()
            except duckdb.Error:
                culprit = index
                break
        if culprit is not None:
            return f"{self.label(culprit)} could not be evaluated"
        what = "the row-wise expectations" if indices else "the rows"
        return f"{what} could not be evaluated"

    # ------------------------------------------------------------------------------- results

    def ids(self, semi_join: str | None = None, limit: int | None = None) -> dict[int, list[Any]]:
        """Failing row ids per expectation (row-wise and uniqueness; ``ids`` runs only): all, only
        those in ``semi_join`` (a relation with column ``id``), or the ``limit`` smallest."""
        if self.pairs is None:
            return {}
        where = f" where id in (select id from {semi_join})" if semi_join else ""
        if limit is not None:
            sql = (
                f"select idx, list(id order by id) from (select * from {self.pairs}{where} "
                f"qualify row_number() over (partition by idx order by id) <= {limit}) "
                "group by idx"
            )
        else:
            sql = f"select idx, list(id order by id) from {self.pairs}{where} group by idx"
        return {int(index): list(found) for index, found in self.con.execute(sql).fetchall()}

    def insert_reasons(self, target: str) -> None:
        """Insert the distinct failing (row id, ``meta.reason``) pairs into ``target``; when
        ``target`` also has the columns ``severity``, ``column_name`` and ``nulls``, each pair
        carries the rule's ``meta.severity``, flagged canonical column and nulled column
        (warnings only; ``suite_sql.flagged_field``)."""
        rows = []
        for index in self.counts:
            expectation = self.expectations[index]
            reason = (expectation.get("meta") or {}).get("reason")
            if reason and self.pairs is not None:
                column, nulls = suite_sql.flagged_field(expectation) or (None, None)
                rows.append((index, reason, suite_sql.severity(expectation), column, nulls))
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

    def sample(
        self, index: int, prefer: Sequence[str] = (), limit: int = 3
    ) -> tuple[list[str], list[tuple]]:
        """Up to ``limit`` unexpected rows of a failing expectation, shown by the ``prefer``
        columns (e.g. the key) and the columns it checks only (all of the query's columns when
        it has none of those): (columns, rows). A table-level failure has no rows: ([], [])."""
        expectation = self.expectations[index]
        if index in self.problems:
            return [], []
        sql = self.queries.get(index) or suite_sql.unexpected_sql(
            expectation, self.batch, self.types
        )
        described = [r[0] for r in self.con.execute(f"describe select * from ({sql})").fetchall()]
        kw = expectation.get("kwargs", {})
        wanted = [*prefer, *(kw[k] for k in ("column", "column_A", "column_B") if k in kw)]
        columns = [c for c in dict.fromkeys(wanted) if c in described] or described
        projection = ", ".join(suite_sql.quote(c) for c in columns)
        rows = self.con.execute(f"select {projection} from ({sql}) limit {limit}").fetchall()
        return columns, rows

    def close(self) -> None:
        """Drop the temp tables."""
        for name in (self.pairs, self.temp, self.kept):
            if name:
                self.con.execute(f"drop table if exists {name}")
        self.pairs = self.temp = self.kept = None

    def __enter__(self) -> SuiteRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
