"""Incremental builds of the curated tables: recompute only the periods a run's new files touch.

A nightly run that adds program files (disbursements, PBI-JK, local lists) changes the figures of
the reported periods whose reach window (the twelve months ending with the period) contains a
month of the new records, and nothing else. What happens to each model is its header's ``kind``
(``transforms.models``); ``build_changed``

1. rebuilds the ``kind full`` models that read no ``record_month`` / ``period`` model outright
   (``int_periods``, ``int_area_hierarchy``, ``data_quality``, ... : small; ``data_quality_field``
   gets the rows of the night's files appended, ``APPENDED``); keeps the
   ``kind snapshot`` models (``int_household_snapshot``, ``int_match_index``: the registry
   snapshots are unchanged);
2. recomputes the ``kind record_month`` models (``int_program_monthly``) for the (record month,
   program) pairs the new files change only (``transforms/scoped/record_scope.sql``: the new
   records' pairs and those of every record sharing a correction key with them; the header's
   ``scope`` columns): the model's SQL runs with its ``scoped_inputs`` (``program_records``)
   shadowed by a temporary table of those pairs' records (``transforms/scoped/<input>.sql``),
   and its rows of those pairs are replaced; the records are matched through the kept
   ``int_match_index``, shadowed by the rows they can match (the snapshots reaching the pairs'
   months, the records' NIK / NO_KK keys), and ``int_household_snapshot`` by those rows'
   households. The units (``household_scope``: snapshot,
   household, program) of the rows that changed (deleted or appended) are kept (``_affected``):
   a unit whose rows did not change keeps its figures (at 1,000,000 households a tranche file
   of one bank changes 113 k of the 281 k units of its month's BPNT rows);
3. recomputes the ``kind period`` models (``int_household_program`` ... ``poverty_profile``) for
   the affected periods only (those whose reach window holds a changed month; new ones and
   those whose line changed), in build order: their SQL runs unchanged with ``int_periods``
   shadowed by a temporary view of the affected periods; each model's rows of those periods are
   deleted from its warehouse table and the new ones inserted straight into it, and a temporary
   view of the table's rows of those periods then shadows it for the models after it. When no
   affected period is new or has a changed line, the models with a ``household_scope``
   (``int_household_program``, ``int_household_funding``, ``int_household_status``) first
   replace the rows of the affected units only, their inputs with a ``household_scope``
   shadowed by those units' rows (a one-file night then costs in proportion to the households
   of the file's records, not to the registry; a household model whose changed inputs all kept
   their replaced rows recomputes only the households whose rows changed in a column it reads,
   ``_narrowed_units``). In that household mode the models after them
   are scoped as well: the ``sum`` models (``partition_role sum``: exact sums over households)
   are updated by the difference of the affected households' share (computed from their rows
   before and after, ``_apply_delta``; a row the difference cannot tell recomputes the model's
   periods whole), and a model none of whose changed inputs changed in a column it reads
   (``columns_read``; ``poverty_profile`` reads no program column; ``data_coverage`` reads only
   ``mpi_incomplete_population`` of ``kelurahan_poverty`` and the registry files' rows of the
   ingest tables, ``REGISTRY_ROWS``) keeps its rows; ``program_reach`` recomputes only the
   programs whose input rows changed (``PROGRAM_MODELS``);
4. rebuilds the other ``kind full`` models (those reading a model of 2. or 3.: ``households``
   (the latest period), ``poverty_transitions`` (pairs of snapshots, each
   household judged in its own snapshot month)) from the merged tables; in household mode
   only the rows of ``households`` whose status row of the latest period changed and the pairs
   with a side in the scope of ``poverty_transitions`` (updated by the difference of the
   households whose judged status row changed).

The large household-grain tables are clustered by period (record month) by every build (their
header's ``cluster_key``): replacing a few periods then empties or adds whole row groups,
and the checkpoint at the run's commit rewrites only those, not every row group of the table.
The record_month models and the household-scoped replacements write the difference only
(``_replace_rows``): the old rows not computed again are deleted, the new rows not there before
are appended (in cluster order); most rows of a recomputed unit are unchanged, and deleting them
would thin row groups the commit's checkpoint then rewrites (at 1,000,000 households 5 s CPU).
Each key's rows then lie in its block and in appended ones; the next full build (a registry
file, new code) clusters the tables again.

The model SQL files are not touched: scoping works by DuckDB's name resolution (temporary objects
shadow the warehouse's). Everything runs in the caller's transaction.

A full build (``transforms.runner.build_marts``) runs instead whenever an incremental one could be
wrong: the first build, a model missing, the SQL code or the reference tables changed since the
last build (a fingerprint kept in ``mart_build_state``), a registry file was loaded (snapshots
change every period using them), a period's snapshot changed, or a snapshot's reach grew beyond
the new months. The incremental result equals a full build (tests/test_incremental.py checks
every table).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb

from tkpk.db import MACROS_SQL as MACROS_PATH
from tkpk.publish.atomic import crashpoint
from transforms.models import REFERENCE, SCOPED_DIR, graph, statement_tree, walk_tree
from transforms.runner import (
    build_marts,
    check_inputs,
    clustered_sql,
    execute_model,
    existing_tables,
    model_path,
    model_sql,
)

log = logging.getLogger(__name__)

STATE_TABLE = "mart_build_state"
#: The temporary tables of an incremental build (dropped at its end).
TEMP_TABLES = ("_old_periods", "_old_period_lines", "_record_scope", "_new_months", "_scope",
               "_affected", "_households")
#: The ``kind full`` model listing the households of the latest period (one row per household:
#: its ``int_household_status`` row of that period with the period's line and area names).
#: After a household-mode build only the affected households' rows can change, and only when the
#: latest period is in the scope (``_rebuild_household_list``).
HOUSEHOLD_LIST = "households"
#: The ``kind full`` model over pairs of consecutive snapshots (one row per pair and area), each
#: side judged in its own snapshot month's period: after a household-mode build only the pairs
#: with a side whose month is in the scope can change (``_rebuild_transitions``).
TRANSITIONS = "poverty_transitions"
REGISTRY_KINDS = ("households", "members")
#: The registry tables, keyed by snapshot: while the period models run for the scope periods they
#: are shadowed by the rows of those periods' snapshots (a period's figures use its own snapshot
#: s(m) only: data_coverage joins them through int_periods' snapshot).
SNAPSHOT_SOURCES = ("registry_households", "registry_members")
PROGRAM_KINDS = ("disbursements", "pbi", "local")
#: ``kind full`` models each of whose rows is made from one row of an ingest table (the value) and
#: the file that row came from: the ingest appends the rows of the night's new files and leaves
#: the others as they were (a run's rows are undone only while its build is not committed), so
#: an incremental build appends the model's rows of those files only (``_append_rows``).
APPENDED = {"data_quality_field": "flagged_field"}
#: The ingest tables a household-mode night changes by rows of its program files only (a loaded
#: registry file makes the build full), per period model that reads only their rows of registry
#: files (each filters them by the file's ``kind``, households / members): for that model they
#: are unchanged inputs (``_kept_for``; ``data_coverage`` is then kept when ``kelurahan_poverty``
#: is).
REGISTRY_ROWS = {"data_coverage": ("ingest_file", "quarantine", "flagged_field")}
#: Period models whose rows of a program (their ``program`` column) are made from their inputs'
#: rows of that program and from inputs without a program alone (``program_reach``: its grid
#: crosses ``ref_program``, its sums join by program). In household mode, when each input is
#: unchanged or tells its changed programs, only those programs' rows are recomputed
#: (``_rebuild_programs``).
PROGRAM_MODELS = ("program_reach",)


def rebuilt_before() -> tuple[str, ...]:
    """The ``kind full`` models an incremental build rebuilds first: those reading no
    ``record_month`` or ``period`` model (directly or indirectly), in build order."""
    changing = set(graph().of_kind("record_month", "period"))
    return tuple(m for m in graph().of_kind("full") if not graph().upstream(m) & changing)


def rebuilt_after() -> tuple[str, ...]:
    """The other ``kind full`` models: rebuilt after the merge, in build order."""
    return tuple(m for m in graph().of_kind("full") if m not in rebuilt_before())


def reference_tables() -> tuple[str, ...]:
    """The reference tables the models read (sources created by the reference install)."""
    return tuple(s for s in graph().sources_read() if graph().sources[s].step == REFERENCE)


@dataclass
class BuildReport:
    """What a build did: ``full`` (with the reason), ``incremental`` (with its scope)."""

    mode: str
    reason: str
    periods: list[date] = field(default_factory=list)
    record_months: list[date] = field(default_factory=list)
    record_scope: list[tuple[date, str]] = field(default_factory=list)
    households: int | None = None
    models: list[dict[str, Any]] = field(default_factory=list)
    curated: list[str] = field(default_factory=lambda: list(graph().curated))

    def as_dict(self) -> dict[str, Any]:
        """Plain values (for the run summary)."""
        return {
            "mode": self.mode,
            "reason": self.reason,
            "periods": [p.isoformat() for p in self.periods],
            "record_months": [m.isoformat() for m in self.record_months],
            "record_scope": [[m.isoformat(), p] for m, p in self.record_scope],
            "households": self.households,
            "models": self.models,
        }


# --------------------------------------------------------------------------- fingerprint


def fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """Hash of everything besides the accepted data that the models' output depends on: the SQL
    of the macros and of every model, and the contents of the reference tables."""
    digest = hashlib.sha256()
    digest.update(MACROS_PATH.read_bytes())
    for name in graph().order:
        digest.update(name.encode())
        digest.update(model_path(name).read_bytes())
    for path in sorted(SCOPED_DIR.glob("*.sql")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    for table in reference_tables():
        row = con.execute(
            f"select count(*), md5(coalesce(string_agg(cast(t as varchar), chr(10) "
            f"order by cast(t as varchar)), '')) from {table} as t"
        ).fetchone()
        digest.update(f"{table}:{row[0]}:{row[1]}".encode())
    return digest.hexdigest()


def _stored_fingerprint(con: duckdb.DuckDBPyConnection) -> str | None:
    if STATE_TABLE not in existing_tables(con):
        return None
    row = con.execute(
        f"select fingerprint from {STATE_TABLE} order by built_at desc limit 1"
    ).fetchone()
    return None if row is None else row[0]


def _store_fingerprint(con: duckdb.DuckDBPyConnection, value: str, mode: str) -> None:
    con.execute(
        f"create table if not exists {STATE_TABLE} "
        "(fingerprint varchar, mode varchar, built_at timestamp)"
    )
    con.execute(f"delete from {STATE_TABLE}")
    con.execute(f"insert into {STATE_TABLE} values (?, ?, now())", [value, mode])


def record_build(con: duckdb.DuckDBPyConnection, mode: str) -> None:
    """Record that every model was just built from scratch (by ``mode``), so that the next run
    may build incrementally on top of it."""
    _store_fingerprint(con, fingerprint(con), mode)


# --------------------------------------------------------------------------------- build


def _database(con: duckdb.DuckDBPyConnection) -> str:
    """The warehouse's catalog name (temporary objects shadow ``<catalog>.main.<table>``)."""
    return con.execute("select current_database()").fetchone()[0]


def _timed(con: duckdb.DuckDBPyConnection, report: BuildReport, name: str, sql: str) -> None:
    """Run one statement of model ``name`` and record its wall time."""
    start = time.perf_counter()
    execute_model(con, name, sql)
    report.models.append({"name": name, "wall_s": round(time.perf_counter() - start, 3)})
    crashpoint(f"transform:{name}")


def _insert(con: duckdb.DuckDBPyConnection, report: BuildReport, db: str, name: str) -> None:
    """Insert the rows model ``name`` computes (for the shadowed scope) into its warehouse
    table, clustered like a full build's (the model's ``cluster_key``)."""
    _timed(con, report, name, f"insert into {db}.main.{name} by name\n{clustered_sql(name)}")


def full_build(con: duckdb.DuckDBPyConnection, reason: str) -> BuildReport:
    """Every model from scratch (``build_marts``), then the fingerprint."""
    report = BuildReport(mode="full", reason=reason)
    timings: list[tuple[str, float]] = []
    report.curated = build_marts(con, timings=timings)
    report.models = [{"name": n, "wall_s": round(s, 3)} for n, s in timings]
    _store_fingerprint(con, fingerprint(con), "full")
    return report


def _new_files(outcomes: Sequence[Any], kinds: Sequence[str]) -> list[str]:
    """sha256 of this run's loaded files of ``kinds``."""
    return [o.sha256 for o in outcomes if o.outcome == "loaded" and o.kind in kinds]


def _full_reason(con: duckdb.DuckDBPyConnection, outcomes: Sequence[Any]) -> str | None:
    """Why this build must be full (None when an incremental build is exact)."""
    order = graph().order
    present = existing_tables(con)
    missing = [m for m in order if m not in present]
    if missing:
        return "first build" if len(missing) == len(order) else f"missing {missing}"
    stored = _stored_fingerprint(con)
    if stored is None:
        return "no build fingerprint"
    if stored != fingerprint(con):
        return "transform code or reference tables changed"
    if _new_files(outcomes, REGISTRY_KINDS):
        return "registry snapshot files loaded"
    return None


def scoped_sql(name: str) -> str:
    """The SELECT of ``transforms/scoped/<name>.sql`` (without a trailing semicolon)."""
    return (SCOPED_DIR / f"{name}.sql").read_text(encoding="utf-8").strip().rstrip(";").rstrip()


def _record_scope(con: duckdb.DuckDBPyConnection, shas: list[str]) -> list[tuple[date, str]]:
    """The (record month, program) pairs to recompute for the given (new) files
    (``scoped/record_scope.sql``), kept in the temporary table ``_record_scope``, and their
    months in ``_new_months``."""
    con.execute(
        f"create or replace temp table _record_scope as\n{scoped_sql('record_scope')}",
        {"new_files": shas},
    )
    con.execute(
        "create or replace temp table _new_months as "
        "select distinct record_period as month from _record_scope"
    )
    return [
        (r[0], r[1]) for r in
        con.execute("select * from _record_scope order by record_period, program").fetchall()
    ]


def _reach_problem(con: duckdb.DuckDBPyConnection) -> str | None:
    """Compare the new ``int_periods`` with the previous one (``_old_periods``): the snapshot of
    an existing period must not change, and a snapshot may see new months only among
    ``_new_months`` (else ``int_program_monthly`` would lack rows)."""
    changed = con.execute(
        """
        select count(*) from _old_periods as o
        left join int_periods as n on n.period = o.period
        where n.period is null or n.snapshot is distinct from o.snapshot
        """
    ).fetchone()[0]
    if changed:
        return f"{changed} reported period(s) changed snapshot or disappeared"
    grown = con.execute(
        """
        with reach_old as (
            select snapshot, min(window_start) as first_month, max(period) as last_month
            from _old_periods group by snapshot
        ),
        reach_new as (
            select snapshot, min(window_start) as first_month, max(period) as last_month
            from int_periods group by snapshot
        ),
        months as (
            select n.snapshot, cast(unnest(generate_series(n.first_month, n.last_month,
                interval 1 month)) as date) as month, o.first_month, o.last_month
            from reach_new as n left join reach_old as o on o.snapshot = n.snapshot
        )
        select count(*) from months
        where (first_month is null or month not between first_month and last_month)
            and month not in (select month from _new_months)
            and exists (select 1 from program_records
                        where cast(date_trunc('month', period) as date) = months.month)
        """
    ).fetchone()[0]
    if grown:
        return f"snapshot reach grew over {grown} month(s) with older records"
    return None


def build_changed(con: duckdb.DuckDBPyConnection, outcomes: Sequence[Any]) -> BuildReport:
    """Build the curated tables for this run's new files: incrementally when that is exact,
    else in full. ``outcomes`` are the raw loader's file outcomes of the run."""
    check_inputs(con)
    reason = _full_reason(con, outcomes)
    if reason is not None:
        return full_build(con, reason)
    db = _database(con)
    con.execute("create or replace temp table _old_periods as select * from int_periods")
    con.execute(
        "create or replace temp table _old_period_lines as select * from int_period_lines"
    )
    pairs = _record_scope(con, _new_files(outcomes, PROGRAM_KINDS))
    months = sorted({month for month, _ in pairs})
    report = BuildReport(mode="incremental", reason="new program records", record_months=months,
                         record_scope=pairs)
    try:
        for name in rebuilt_before():
            if name in APPENDED and _append_rows(con, report, db, name, outcomes):
                continue
            _timed(con, report, name, f"create or replace table {name} as\n{model_sql(name)}")
        problem = _reach_problem(con)
        if problem is not None:
            return full_build(con, problem)
        report.periods = _scope_periods(con)
        if pairs:
            _rebuild_record_months(con, report, db)
        if report.periods:
            _rebuild_periods(con, report, db)
        for name in rebuilt_after():
            if name == HOUSEHOLD_LIST and report.households is not None:
                _rebuild_household_list(con, report, db)
                continue
            if name == TRANSITIONS and report.households is not None:
                _rebuild_transitions(con, report, db)
                continue
            _timed(con, report, name, f"create or replace table {name} as\n{model_sql(name)}")
    finally:
        for table in TEMP_TABLES:
            con.execute(f"drop table if exists temp.main.{table}")
        for name in (*graph().of_kind("period"), *_difference_sources()):
            con.execute(f"drop table if exists temp.main._diff_{name}")
    # the fingerprint checked by _full_reason (the build changed no reference table or file)
    _store_fingerprint(con, _stored_fingerprint(con), "incremental")
    log.info(
        "incremental build: %d period(s) %s (%s households) from %d record month(s) %s",
        len(report.periods), [p.isoformat() for p in report.periods],
        "all" if report.households is None else report.households, len(months),
        [(m.isoformat(), p) for m, p in pairs],
    )
    return report


def _append_rows(con: duckdb.DuckDBPyConnection, report: BuildReport, db: str, name: str,
                 outcomes: Sequence[Any]) -> bool:
    """Append to ``APPENDED`` model ``name`` the rows of this run's loaded files (its source
    shadowed by their rows, by ``file_id``); True when its table then holds one row per row of
    the source (else its rows are not those of a full build: the caller rebuilds it whole)."""
    source = APPENDED[name]
    con.execute(
        f"create or replace temp table _night_files as select file_id from {db}.main.ingest_file "
        "where sha256 in (select unnest(?::varchar[]))",
        [[o.sha256 for o in outcomes if o.outcome == "loaded"]],
    )
    try:
        con.execute(f"create or replace temp view {source} as select * from {db}.main.{source} "
                    "where file_id in (select file_id from _night_files)")
        _insert(con, report, db, name)
    finally:
        con.execute(f"drop view if exists temp.main.{source}")
        con.execute("drop table if exists temp.main._night_files")
    counts = con.execute(f"select (select count(*) from {db}.main.{name}), "
                         f"(select count(*) from {db}.main.{source})").fetchone()
    if counts[0] != counts[1]:
        log.info("%s: %d rows for %d of %s: rebuilt whole", name, *counts, source)
        return False
    report.models[-1]["appended"] = True
    return True


def _scope_periods(con: duckdb.DuckDBPyConnection) -> list[date]:
    """Reported periods to recompute (temporary table ``_scope``): those that are new or whose
    ``int_periods`` row changed, those whose poverty line changed in any kab/kota
    (``int_period_lines``), all ``whole`` (every household recomputed), and those whose reach
    window holds a changed record month (``whole`` false: only the households whose
    ``int_program_monthly`` rows changed may differ)."""
    con.execute(
        """
        create or replace temp table _scope as
        with changed_lines as (
            select period from (
                (select * from int_period_lines except select * from _old_period_lines)
                union all
                (select * from _old_period_lines except select * from int_period_lines)
            )
        ),
        changed_periods as (
            select period from (select * from int_periods except select * from _old_periods)
            union
            select period from changed_lines
        ),
        scope as (
            select
                n.period,
                n.period in (select period from changed_periods) as whole,
                exists (select 1 from _new_months as m
                        where m.month between n.window_start and n.period) as windowed
            from int_periods as n
        )
        select period, whole from scope where whole or windowed order by period
        """
    )
    return [r[0] for r in con.execute("select period from _scope order by period").fetchall()]


def _matching(alias: str, columns: Sequence[str], table: str) -> str:
    """A condition: the row ``alias`` has its ``columns`` among the rows of ``table``."""
    cols = ", ".join(columns)
    qualified = ", ".join(f"{alias}.{c}" for c in columns)
    return f"({qualified}) in (select {cols} from {table})"


def _household_models() -> tuple[str, ...]:
    """The record_month models with a ``household_scope``: the households of their replaced
    rows are those the household-scoped period models recompute."""
    return tuple(m for m in graph().of_kind("record_month") if graph()[m].household_scope)


def _rebuild_record_months(con: duckdb.DuckDBPyConnection, report: BuildReport, db: str) -> None:
    """Replace the ``kind record_month`` models' rows of the changed (record month, program)
    pairs (their ``scope`` columns against ``_record_scope``), their ``scoped_inputs`` shadowed
    by those pairs' rows (``transforms/scoped/<input>.sql``). The units (``household_scope``)
    of the rows that changed (the old rows not computed again, the computed rows not there
    before) are kept in ``_affected``: a unit none of whose rows changed keeps its figures in
    every household-scoped model (a one-tranche file leaves the households of the month's other
    tranches as they were)."""
    names = graph().of_kind("record_month")
    created: list[str] = []
    keys = {graph()[m].household_scope for m in _household_models()}
    affected = next(iter(keys)) if len(keys) == 1 else None
    if affected is not None:
        cols = ", ".join(affected)
        con.execute(f"create or replace temp table _affected as select {cols} "
                    f"from {db}.main.{_household_models()[0]} where false")
    try:
        for table in dict.fromkeys(t for name in names for t in graph()[name].scoped_inputs):
            con.execute(f"drop table if exists temp.main.{table}")
            con.execute(f"create temp table {table} as\n{scoped_sql(table)}")
            created.append(table)
        for name in names:
            model = graph()[name]
            scoped = _matching("t", model.scope, "_record_scope")
            units = affected if affected is not None and model.household_scope == affected else ()
            _replace_rows(con, report, db, name, scoped, units,
                          keep_diff=name in _difference_sources())
    finally:
        for table in reversed(created):
            con.execute(f"drop table if exists temp.main.{table}")


def _replace_rows(con: duckdb.DuckDBPyConnection, report: BuildReport, db: str, name: str,
                  where: str, units: Sequence[str] = (), capture: bool = False,
                  post_of_pre: bool = False, keep_diff: bool = False,
                  columns: Sequence[str] | None = None, computed: str | None = None,
                  rows: str | None = None, old_read: str | None = None) -> None:
    """Replace model ``name``'s rows matching ``where`` (on alias ``t``) by the rows its SQL
    computes (under the current shadows) that match it, writing the difference only: the old
    rows not computed again are deleted, the computed rows not there before are appended (in
    the model's cluster order). Most rows of a recomputed unit are usually unchanged (a household
    whose BPNT count grew keeps its status row): deleting and appending them would thin every
    row group they sit in, which the checkpoint at the commit then rewrites. With ``units``
    (columns), the distinct non-null ``units`` of the deleted and of the appended rows are added
    to ``_affected``. With ``capture``, the rows matching ``where`` before and after are kept
    in the temporary tables ``_pre_in_<name>`` and ``_post_in_<name>``. With ``post_of_pre``,
    ``_pre_in_<name>`` holds a superset of the rows matching ``where`` (``_capture_inputs``):
    ``_post_in_<name>`` is made of its rows not matching it and the rows matching it after.
    The deleted and the appended rows are found by one full join of the old rows with the new,
    in the temporary table ``_diff_<name>`` (``_added``: false / true, ``_rowid`` of a deleted
    row, ``_row``); with ``keep_diff`` it is kept (read by ``_delta_image``,
    ``_rebuild_household_list``, ...), else dropped. ``columns``: the columns the images
    (``_pre_in_`` / ``_post_in_``) keep, in the table's order (all when not given:
    ``_image_columns``).
    ``computed`` (a condition on alias ``t`` narrowing ``where``): only the rows matching it are
    computed and replaced; the rows matching ``where`` are still read once (the images of
    ``capture`` hold them all: the rows outside ``computed`` are the same before and after).
    ``rows``: a relation holding the new rows matching ``computed``, used instead of the model's
    SQL (``_difference_rows``). ``old_read``: the rows matching ``where`` are already in the
    temporary table ``_old_rows`` (``_rowid``, ``_row``: read by ``_difference_rows``, before
    this transaction changed the table), and ``old_read`` is the relation of those of them
    matching ``computed``.

    Row ids are used only to delete rows found by a plain scan of a table this transaction has
    not changed yet; rows are never looked up by row id (a join on ``rowid``) in a table the
    transaction already deleted from or appended to: DuckDB 2.0 then misses rows of it now and
    then (and may crash)."""
    model = graph()[name]
    order = ", ".join(f"r._row.{c}" for c in (model.cluster_key,) if c) or ", ".join(
        f"r._row.{c}" for c in model.scope)
    start = time.perf_counter()
    con.execute(f"create or replace temp table _new_rows as select * from {db}.main.{name} "
                "limit 0")
    if rows is not None:
        con.execute(f"insert into _new_rows by name select * from {rows}")
    else:
        execute_model(con, name, f"insert into _new_rows by name\nselect * from (\n"
                                 f"{model_sql(name)}\n) as t where {computed or where}",
                      scoped=True)
    if old_read is not None:
        old = old_read
    else:
        inside = "" if computed is None else f", ({computed}) as _in"
        con.execute(f"create or replace temp table _old_rows as select t.rowid as _rowid, "
                    f"t as _row{inside} from {db}.main.{name} as t where {where}")
        old = "_old_rows" if computed is None else "(select * from _old_rows where _in)"
    diff = f"_diff_{name}"
    # the deleted rows (``_added`` false, with their row id) and the appended ones, by one full
    # join of the old rows with the new (a row matched on both sides is unchanged)
    con.execute(f"create or replace temp table {diff} as "
                "select o._rowid is null as _added, o._rowid, "
                "case when o._rowid is null then n._row else o._row end as _row "
                f"from {old} as o full join (select n as _row from _new_rows as n) as n "
                "on o._row is not distinct from n._row where o._rowid is null or n._row is null")
    con.execute(f"delete from {db}.main.{name} where rowid in "
                f"(select _rowid from {diff} where not _added)")
    order = f" order by {order}" if order else ""
    execute_model(con, name, f"insert into {db}.main.{name} by name select unnest(r._row) "
                             f"from {diff} as r where r._added{order}")
    if units:
        cols = ", ".join(units)
        fields = ", ".join(f"r._row.{c} as {c}" for c in units)
        present = " and ".join(f"r._row.{c} is not null" for c in units)
        con.execute(
            f"insert into _affected select {cols} from (select {fields} from {diff} as r "
            f"where {present} except select {cols} from _affected)"
        )
    kept = (f"select {_fields('o', columns)} from _old_rows as o anti join "
            f"(select _rowid from {diff} where not _added) as g on g._rowid = o._rowid "
            f"union all select {_fields('a', columns)} from {diff} as a where a._added")
    if capture:  # the rows matching ``where`` before and after (``_capture_inputs``)
        con.execute(f"create or replace temp table _pre_in_{name} as "
                    f"select {_fields('o', columns)} from _old_rows as o")
        con.execute(f"create or replace temp table _post_in_{name} as {kept}")
    if post_of_pre:  # the rows of ``_pre_in_`` after: those outside ``where`` kept
        con.execute(f"create or replace temp table _post_in_{name} as "
                    f"select * from _pre_in_{name} as t where ({where}) is not true "
                    f"union all {kept}")
    for table in ("_new_rows", "_old_rows", *(() if keep_diff else (diff,))):
        con.execute(f"drop table {table}")
    report.models.append({"name": name, "wall_s": round(time.perf_counter() - start, 3)})
    crashpoint(f"transform:{name}")


def _fields(alias: str, columns: Sequence[str] | None) -> str:
    """The fields ``columns`` (every field when None) of the struct ``<alias>._row`` as
    columns."""
    if columns is None:
        return f"unnest({alias}._row)"
    return ", ".join(f"{alias}._row.{c} as {c}" for c in columns)


def _image_columns(con: duckdb.DuckDBPyConnection, db: str, table: str,
                   readers: Sequence[str]) -> list[str] | None:
    """The columns of household-scoped model ``table`` its images (``<image>_in_<table>``)
    keep, in the table's order: those the ``readers`` (the models run or compared on the images)
    may read of it (``_columns_of``), its grain, scope and ``household_scope``, and the
    household key (the images are filtered and compared by these); None (every column) when a
    reader may read every column. At 1,000,000 households the images of
    ``int_household_status`` then leave its list of programs received and three other
    columns unread."""
    model = graph()[table]
    columns = [r[0] for r in con.execute(f"describe {db}.main.{table}").fetchall()]
    needed = {*model.grain, *model.scope, *model.household_scope, *_household_key()}
    for reader in readers:
        if table not in graph()[reader].depends_on:
            continue
        read = _columns_of(reader, table, columns)
        if read is None:
            return None
        needed |= read
    if not set(model.grain) or needed >= set(columns):
        return None
    return [c for c in columns if c in needed]


def _temp_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The names of the connection's temporary tables (the build's scopes, images and diffs)."""
    return {r[0] for r in con.execute(
        "select table_name from duckdb_tables() where temporary").fetchall()}


def _household_mode(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the period models with a ``household_scope`` may be recomputed for the
    affected households only (``_affected``): no scope period is ``whole``."""
    if "_affected" not in _temp_tables(con):
        return False
    return not con.execute("select count(*) from _scope where whole").fetchone()[0]


def _rebuild_periods(con: duckdb.DuckDBPyConnection, report: BuildReport, db: str) -> None:
    """Replace the ``kind period`` models' rows of the scope, model by model in build order, in
    the warehouse tables: delete the scope's rows (by the model's ``scope`` column), insert the
    model's rows for the scope (its SQL runs with ``int_periods`` shadowed by a temporary view of
    the scope, the ``SNAPSHOT_SOURCES`` by their rows of the scope's snapshots), then shadow the
    table by a temporary view of the scope's rows for the models after it. The rows go straight
    to the table (no temporary copy), clustered by period (the model's ``cluster_key``) like a
    full build's.

    In household mode (``_household_mode``) the models with a ``household_scope`` come first
    (``_rebuild_households``) and replace the rows of the affected households only; the models
    after them read every household of the scope's periods."""
    shadows: list[str] = []
    periods = graph().of_kind("period")
    household = _household_mode(con)
    first = tuple(m for m in periods if household and graph()[m].household_scope)
    delta = _delta_models() if first else ()
    kept = _kept_inputs() if first else set()
    derived: tuple[str, ...] = ()
    derived_post: tuple[str, ...] = ()
    # the period models that may read nothing changed: every input kept or household-scoped
    candidates = tuple(
        m for m in periods if first and m not in first and m not in delta
        and all(t in _kept_for(m, kept) or t in first or t in periods
                for t in graph()[m].depends_on))
    captured = tuple(dict.fromkeys((*_delta_inputs(delta), *(
        t for t in _delta_inputs(candidates) if t not in kept))))
    # the inputs summed row by row (header ``row_sums_of``) and read by no other model: their
    # images are made of their changed units' rows only, after the replacement (``_row_images``)
    summed = {t for t in captured if all(graph()[m].row_sums_of == t
                                         for m in (*delta, *candidates)
                                         if t in graph()[m].depends_on)}
    captured = tuple(t for t in captured if t not in summed)
    changed: dict[str, frozenset[str] | None] = {}
    imaged: list[str] = []
    # the columns of the images (``<image>_in_<table>``) their readers may read
    images = {t: _image_columns(con, db, t, (*delta, *candidates)) for t in (*captured, *summed)}
    try:
        con.execute(
            f"create or replace temp view int_periods as "
            f"select * from {db}.main.int_periods where period in (select period from _scope)"
        )
        shadows.append("int_periods")
        for table in SNAPSHOT_SOURCES:
            con.execute(f"create or replace temp view {table} as select * from {db}.main.{table} "
                        "where snapshot in (select snapshot from int_periods)")
            shadows.append(table)
        if first:
            report.households = con.execute(
                "select count(*) from (select distinct snapshot, household_key from _affected)"
            ).fetchone()[0]
            _household_units(con)
            # a household model whose unit is the household: its rows before and after are
            # kept by its replacement; the others' (units of household and program) read here
            derived = tuple(t for t in captured
                            if t in first and graph()[t].household_scope == _household_key())
            _capture_inputs(con, db, [t for t in captured if t not in derived], "_pre", images)
            # the other household models' rows after: those before, their replaced rows swapped
            derived_post = tuple(t for t in captured if t in first and t not in derived)
            _rebuild_households(con, report, db, first, shadows, derived, derived_post,
                                images)
            for table in sorted(summed):
                _row_images(con, db, table, images[table])
            for name in delta:
                _delta_image(con, db, name, "_pre")
        rest = tuple(m for m in periods if m not in first)
        for name in (*first, *rest):
            scoped = f"where {_matching('t', graph()[name].scope, '_scope')}"
            if first and name == next(iter(rest), None):
                _capture_inputs(con, db, [t for t in captured
                                          if t not in derived and t not in derived_post], "_post",
                                images)
            if name in first:
                pass
            elif name in candidates and _unchanged_inputs(con, name, _kept_for(name, kept),
                                                          changed, imaged):
                kept.add(name)
                report.models.append({"name": name, "wall_s": 0.0, "kept": True})
            elif name in delta and (written := _apply_delta(con, report, db, name)) is not None:
                if not written:
                    kept.add(name)
            elif name in PROGRAM_MODELS and first and _rebuild_programs(
                    con, report, db, name, _kept_for(name, kept)):
                pass
            else:
                if any(name in graph()[m].depends_on for m in candidates):
                    # its rows before, for a candidate that may read none of its changed columns
                    con.execute(f"create or replace temp table _was_{name} as "
                                f"select * from {db}.main.{name} as t {scoped}")
                    imaged.append(name)
                con.execute(f"delete from {db}.main.{name} as t {scoped}")
                _insert(con, report, db, name)
            con.execute(
                f"create or replace temp view {name} as select * from {db}.main.{name} as t "
                f"{scoped}"
            )
            shadows.append(name)
    finally:
        for name in reversed(dict.fromkeys(shadows)):
            con.execute(f"drop view if exists temp.main.{name}")
        for name in (*delta, *(f"in_{t}" for t in (*captured, *summed))):
            for image in ("_pre", "_post", "_delta_keys", "_delta_units", "_pre_rows",
                          "_post_rows"):
                con.execute(f"drop table if exists temp.main.{image}_{name}")
        for name in imaged:
            con.execute(f"drop table if exists temp.main._was_{name}")


def _rebuild_households(con: duckdb.DuckDBPyConnection, report: BuildReport, db: str,
                        models: Sequence[str], shadows: list[str],
                        captured: Sequence[str] = (), captured_post: Sequence[str] = (),
                        images: dict[str, list[str] | None] | None = None) -> None:
    """Replace the rows of the scope's periods of ``models`` (the period models with a
    ``household_scope``, in build order) for the affected units only: the distinct values of
    each model's ``household_scope`` columns in ``_affected`` (households, or household and
    program). Before each model runs, every model with a ``household_scope`` it reads is
    shadowed by its rows of those units (and of the scope's periods); a model's rows of a unit
    depend only on its inputs' rows of that unit (what the header key declares). The shadows of
    the inputs that are not period models are dropped at the end. ``captured`` / ``captured_post``:
    the models whose rows before and after (``_replace_rows``' ``capture``) / after only
    (``post_of_pre``) are kept. The deleted and appended rows of every model are kept
    (``_diff_<model>``: the households whose rows changed, for ``_rebuild_household_list`` and
    ``_delta_image``). ``images``: the columns each image keeps (``_image_columns``; all when
    not given)."""
    inputs: set[str] = set()
    narrowed: list[str] = []
    for name in models:
        key = graph()[name].household_scope
        units = f"(select distinct {', '.join(key)} from _affected)"
        period = _matching("t", graph()[name].scope, "_scope")
        computed = rows = old_read = None
        scoped = f"{period} and {_matching('t', key, units)}"
        if _difference_rows(con, db, name, scoped):
            # only its rows of the keys its input's deleted and appended rows touch can change:
            # they are computed from their rows before and those rows' share (its SQL is not run);
            # its rows of the affected units were read once, into ``_old_rows``
            computed = _keyed_in("t", _difference_keys(name), f"_difference_{name}")
            rows = f"(select * exclude (_exists, _unclear) from _difference_{name} where _exists)"
            on = " and ".join(f"k.{c} is not distinct from o._row.{c}"
                              for c in _difference_keys(name))
            old_read = (f"(select o.* from _old_rows as o semi join _difference_{name} as k "
                        f"on {on})")
        elif _narrowed_units(con, name):
            units = f"_units_{name}"
            narrowed.append(name)
        for table in graph().select(graph()[name].depends_on):
            if rows is not None or not graph()[table].household_scope:
                continue
            where = _matching("t", key, units)
            if graph()[table].kind == "period":
                where += f" and {_matching('t', graph()[table].scope, '_scope')}"
            else:
                inputs.add(table)
            con.execute(f"create or replace temp view {table} as select * from "
                        f"{db}.main.{table} as t where {where}")
            shadows.append(table)
        scoped = f"{period} and {_matching('t', key, units)}"  # (``units`` may be narrowed)
        if name in captured and name in narrowed:
            # its rows of every affected household are read once, for the images; only those
            # of the narrowed ones are computed and replaced
            computed = scoped
            scoped = f"{period} and {_matching('t', key, '_households')}"
        try:
            _replace_rows(con, report, db, name, scoped, capture=name in captured,
                          post_of_pre=name in captured_post, keep_diff=True,
                          columns=(images or {}).get(name), computed=computed, rows=rows,
                          old_read=old_read)
        finally:
            con.execute(f"drop table if exists temp.main._difference_{name}")
            con.execute("drop table if exists temp.main._old_rows")
        if rows is not None:
            report.models[-1]["difference"] = True
    for table in inputs:  # (``_difference_rows`` may have dropped one)
        con.execute(f"drop view if exists temp.main.{table}")
    shadows[:] = [t for t in shadows if t not in inputs]
    for name in narrowed:
        con.execute(f"drop table temp.main._units_{name}")


def _difference_sources() -> tuple[str, ...]:
    """The inputs of the models whose header has ``difference_of`` (their replacements keep
    their ``_diff_``)."""
    return tuple(dict.fromkeys(
        graph()[m].difference_of[0] for m in graph().order if graph()[m].difference_of))


def _difference_keys(name: str) -> list[str]:
    """The columns naming a row of ``difference_of`` model ``name``: its grain and its
    ``household_scope`` (the other columns are its sums)."""
    model = graph()[name]
    return [*dict.fromkeys((*model.grain, *model.household_scope))]


def _keyed_in(alias: str, keys: Sequence[str], table: str) -> str:
    """A condition: the row ``alias`` has the ``keys`` of a row of ``table`` (NULL equal to
    NULL)."""
    on = " and ".join(f"k.{c} is not distinct from {alias}.{c}" for c in keys)
    return f"exists (select 1 from {table} as k where {on})"


def _difference_rows(con: duckdb.DuckDBPyConnection, db: str, name: str, where: str) -> bool:
    """For a model ``name`` whose header has ``difference_of`` (input, counted column, summing
    column), in household mode: when its input's deleted and
    appended rows are kept (``_diff_<input>``) and its other inputs are kept (``_kept_inputs``),
    its rows of the keys they touch after, in the temporary table ``_difference_<name>``
    (``_exists``: the row exists): its SQL run on the deleted rows and on the appended rows
    alone gives their share of each sum, and new = old - deleted share + appended share (a
    share's keys are the only ones whose sums can change; its rows are those of the scope's
    periods, through the shadow of ``int_periods``). False (nothing done) when it does not
    apply or a sum cannot be told exactly: an input row counting less than 1, a share without
    a row before, a count below 0, or a sum that comes to 0 where NULL (no value summed) is
    possible (the caller then recomputes the model's rows). Its rows matching ``where`` (on
    alias ``t``: those of the affected units, a superset of the touched keys' rows) are read
    once, into the temporary table ``_old_rows`` (``_rowid``, ``_row``) that ``_replace_rows``
    then uses (``old_read``): the table is scanned once, not twice."""
    if not graph()[name].difference_of:
        return False
    source, counted, witness = graph()[name].difference_of
    diff = f"_diff_{source}"
    if diff not in _temp_tables(con) or graph()[name].depends_on - _kept_inputs() != {source}:
        return False
    if con.execute(f"select count(*) from {diff} where not coalesce(_row.{counted} >= 1, false)"
                   ).fetchone()[0]:
        return False
    types = {r[0]: r[1] for r in con.execute(f"describe {db}.main.{name}").fetchall()}
    keys = _difference_keys(name)
    values = [c for c in types if c not in keys]
    if witness not in values or not all(types[c].startswith(EXACT_TYPES) for c in values):
        return False
    start = time.perf_counter()
    try:
        for side, added in (("gone", "not"), ("added", "")):
            con.execute(f"create or replace temp view {source} as select unnest(_row) "
                        f"from {diff} where {added} _added")
            execute_model(con, name, f"create or replace temp table _share_{side} as\n"
                                     f"{model_sql(name)}", scoped=True)
        con.execute(f"drop view temp.main.{source}")
        con.execute(f"create or replace temp table _old_rows as select t.rowid as _rowid, "
                    f"t as _row from {db}.main.{name} as t where {where}")
        key_list = ", ".join(keys)
        on = " and ".join(f"{{a}}.{k} is not distinct from touched.{k}" for k in keys)
        sums = {c: f"(coalesce(o.{c}, 0) - coalesce(g.{c}, 0) + coalesce(a.{c}, 0))"
                for c in values}
        result = ", ".join(
            f"cast(case when o.{c} is null and g.{c} is null and a.{c} is null then null "
            f"else {sums[c]} end as {types[c]}) as {c}" for c in values)
        unclear = " or ".join(
            ["(g._here and o._here is null)", f"{sums[witness]} < 0"]
            + [f"({sums[witness]} > 0 and {sums[c]} = 0 and (o.{c} is not null "
               f"or g.{c} is not null))" for c in values if c != witness])
        con.execute(
            f"""
            create or replace temp table _difference_{name} as
            with touched as (
                select {key_list} from _share_gone union select {key_list} from _share_added
            ),
            old as (
                select unnest(t._row), true as _here from _old_rows as t
                semi join touched on {on.format(a='t._row')}
            )
            select {', '.join(f'touched.{k}' for k in keys)}, {result},
                {sums[witness]} > 0 as _exists, ({unclear}) as _unclear
            from touched
            left join old as o on {on.format(a='o')}
            left join (select *, true as _here from _share_gone) as g on {on.format(a='g')}
            left join (select *, true as _here from _share_added) as a on {on.format(a='a')}
            """
        )
        if con.execute(f"select count(*) from _difference_{name} where _unclear"
                       ).fetchone()[0]:
            log.info("%s: a sum not told by the difference: recomputed", name)
            con.execute(f"drop table _difference_{name}")
            return False
    finally:
        con.execute(f"drop view if exists temp.main.{source}")
        for side in ("gone", "added"):
            con.execute(f"drop table if exists temp.main._share_{side}")
    log.info("%s: %d key(s) updated by the difference in %.3f s", name,
             con.execute(f"select count(*) from _difference_{name}").fetchone()[0],
             time.perf_counter() - start)
    return True


def _narrowed_units(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """For household model ``name`` (in ``_rebuild_households``; its unit the household):
    when every input it reads is kept (``_kept_inputs``) or a household model replaced before
    it with its deleted and appended rows kept (``_diff_<input>``), the households whose input
    rows changed in a column ``name`` reads (``columns_read``; the rows of each side projected
    on those columns, as multisets) are the only affected households whose rows of ``name``
    can change: they are put in the temporary table ``_units_<name>`` and True is returned
    (else False: every affected household is recomputed). A tranche file changes the amounts
    of 113 k households at 1,000,000 and the programs received (``int_household_status``) of a
    few thousand."""
    key = graph()[name].household_scope
    if key != _household_key():
        return False
    temporary = _temp_tables(con)
    kept = _kept_inputs()
    sides = []
    for table in sorted(graph()[name].depends_on):
        if table in kept:
            continue
        if table not in graph().models or not graph()[table].household_scope \
                or f"_diff_{table}" not in temporary:
            return False
        read = columns_read(name, table)
        if read is None:
            return False
        columns = [r[0] for r in con.execute(f"describe {table}").fetchall() if r[0] in read]
        if not set(key) <= set(columns):
            return False
        cols = ", ".join(f"_row.{c} as {c}" for c in columns)
        gone = f"(select {cols} from _diff_{table} where not _added)"
        added = f"(select {cols} from _diff_{table} where _added)"
        # rows unique by the grain: set differences (cheaper than ``except all``)
        op = "except" if set(graph()[table].grain) <= set(columns) else "except all"
        sides.append(f"select {', '.join(key)} from ({gone} {op} {added})")
        sides.append(f"select {', '.join(key)} from ({added} {op} {gone})")
    if not sides:
        sides.append(f"select {', '.join(key)} from _households where false")
    con.execute(f"create or replace temp table _units_{name} as select distinct * from ("
                + " union all ".join(sides) + ")")
    log.info("%s: %d household(s) whose inputs changed in a column it reads", name,
             con.execute(f"select count(*) from _units_{name}").fetchone()[0])
    return True


# ------------------------------------------------------------------------- additive deltas

#: The column types a ``sum`` model's value may have for its rows to be updated by a difference
#: (exact arithmetic: no floating point).
EXACT_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "DECIMAL")


def _household_key() -> tuple[str, ...]:
    """The columns naming one household in every model with a ``household_scope``
    (``(snapshot, household_key)``): the unit the ``sum`` models add over."""
    scopes = [graph()[m].household_scope for m in graph().models if graph()[m].household_scope]
    return tuple(c for c in scopes[0] if all(c in other for other in scopes))


def _delta_models() -> tuple[str, ...]:
    """The ``period`` models an incremental build in household mode updates by a difference:
    the ``sum`` models (``partition_role sum``: every column but the grain is an exact sum over
    the households, so that the rows of disjoint sets of households add up by the grain, as
    the distributed flow adds its partitions) whose inputs are household-scoped models, or
    tables that do not change with the households (``kind full`` models, reference tables)."""
    models = []
    for name in graph().of_kind("period"):
        model = graph()[name]
        if not model.sum_keys:
            continue
        inputs = model.depends_on
        if all((t in graph().models and (graph()[t].household_scope
                                         or graph()[t].kind == "full"))
               or t.startswith("ref_") for t in inputs):
            models.append(name)
    return tuple(models)


def _household_units(con: duckdb.DuckDBPyConnection) -> None:
    """The affected households (``_household_key`` columns of ``_affected``, distinct) in the
    temporary table ``_households``."""
    cols = ", ".join(_household_key())
    con.execute(f"create or replace temp table _households as select distinct {cols} "
                "from _affected")


def _delta_inputs(models: Sequence[str]) -> tuple[str, ...]:
    """The household-scoped inputs of ``models``, in build order."""
    read = {t for m in models for t in graph()[m].depends_on}
    return tuple(t for t in graph().select(read) if graph()[t].household_scope)


def _capture_inputs(con: duckdb.DuckDBPyConnection, db: str, tables: Sequence[str],
                    image: str, images: dict[str, list[str] | None] | None = None) -> None:
    """The rows of the affected households (``_households``; of the scope's periods for a
    period model) of each household-scoped model of ``tables``, each in a temporary table
    ``<image>_in_<table>``: read once, then by every model's ``_delta_image``; of the columns
    ``images`` names for it (``_image_columns``; every column when None)."""
    where = _matching("t", _household_key(), "_households")
    for table in tables:
        scoped = where
        if graph()[table].kind == "period":
            scoped += f" and {_matching('t', graph()[table].scope, '_scope')}"
        columns = (images or {}).get(table)
        listed = "*" if columns is None else ", ".join(columns)
        con.execute(f"create or replace temp table {image}_in_{table} as select {listed} from "
                    f"{db}.main.{table} as t where {scoped}")


def _delta_image(con: duckdb.DuckDBPyConnection, db: str, name: str, image: str) -> None:
    """The rows model ``name`` computes for the affected households alone (``_households``) of
    the scope's periods, in the temporary table ``<image>_<name>``: its household-scoped inputs
    are shadowed by their rows of those households (``_capture_inputs``) while it runs; taken
    before the household models are replaced (``_pre``: the households' share of the table's
    rows) and after (``_post``: their new share).

    When every such input was replaced with its deleted and appended rows kept (``_diff_``), the
    image holds only the households of those rows (``_delta_units_<name>``, the same for both
    images): any other household's inputs, and so its share, are the same before and after, and
    cancel out of the difference (``int_poverty_sums`` reads only ``int_household_status``, whose
    rows change for few of the affected households); for a ``row_sums_of`` model, its summed
    input's image holds only the rows of that input's changed units and of the households whose
    other inputs changed (``<image>_rows_in_<input>``, made once by ``_row_images``)."""
    inputs = _delta_inputs((name,))
    previous = {r[0] for r in con.execute(
        "select view_name from duckdb_views() where temporary").fetchall()}
    temporary = _temp_tables(con)
    units = ""
    key = _household_key()
    diffs = bool(inputs) and all(f"_diff_{t}" in temporary for t in inputs)
    if diffs:
        if f"_delta_units_{name}" not in temporary:
            fields = ", ".join(f"_row.{c} as {c}" for c in key)
            con.execute(f"create temp table _delta_units_{name} as " + " union ".join(
                f"select {fields} from _diff_{t}" for t in inputs))
        few, every = con.execute(f"select (select count(*) from _delta_units_{name}), "
                                 "(select count(*) from _households)").fetchone()
        if 2 * few < every:  # else filtering costs more than it saves
            units = f" as t where {_matching('t', key, f'_delta_units_{name}')}"
    rows = graph()[name].row_sums_of
    if rows is not None and f"{image}_rows_in_{rows}" not in temporary:
        raise RuntimeError(f"{name}: no image of {rows}'s changed units ({image})")
    try:
        for table in inputs:
            source = f"{image}_in_{table}{units}"
            if table == rows:
                source = f"{image}_rows_in_{table}"
            con.execute(f"create or replace temp view {table} as select * from "
                        f"temp.main.{source}")
        execute_model(con, name, f"create or replace temp table {image}_{name} as\n"
                                 f"{model_sql(name)}")
    finally:
        for table in inputs:
            if table in previous and graph()[table].kind == "period":  # the scope's shadow
                con.execute(f"create or replace temp view {table} as select * from "
                            f"{db}.main.{table} as t where "
                            f"{_matching('t', graph()[table].scope, '_scope')}")
            else:
                con.execute(f"drop view if exists temp.main.{table}")


def _row_images(con: duckdb.DuckDBPyConnection, db: str, table: str,
                columns: Sequence[str] | None) -> None:
    """The images of a ``row_sums_of`` input ``table`` after the household models are replaced
    (``_diff_`` of each kept): ``_post_rows_in_<table>``, its rows now of the scope's periods
    and of its changed units (``household_scope``: those of its deleted and appended rows) or
    of the households whose other household models' rows changed (a ``row_sums_of`` model joins a
    household's rows of them: ``int_household_status``), and ``_pre_rows_in_<table>``, the same
    rows before (those now less the appended ones, and the deleted ones). The other rows are
    the same before and after: their shares cancel out of every ``row_sums_of`` model's
    difference. ``columns``: the columns kept (``_image_columns``; all when None)."""
    fine = graph()[table].household_scope
    key = _household_key()
    summing = [m for m in graph().order if graph()[m].row_sums_of == table]
    others = [t for t in _delta_inputs(summing) if t != table]
    temporary = _temp_tables(con)
    if f"_diff_{table}" not in temporary or any(f"_diff_{t}" not in temporary for t in others):
        raise RuntimeError(f"{table}: its replaced rows are not known")
    fields = ", ".join(f"_row.{c} as {c}" for c in fine)
    households = ", ".join(f"_row.{c} as {c}" for c in key)
    listed = "*" if columns is None else ", ".join(columns)
    con.execute(f"create or replace temp table _fine_units as select distinct {fields} "
                f"from _diff_{table}")
    con.execute("create or replace temp table _fine_households as " + (" union ".join(
        f"select {households} from _diff_{t}" for t in others) or
        f"select {', '.join(key)} from _households where false"))
    try:
        con.execute(
            f"create or replace temp table _post_rows_in_{table} as select {listed} "
            f"from {db}.main.{table} as t "
            f"where {_matching('t', graph()[table].scope, '_scope')} and "
            f"({_matching('t', fine, '_fine_units')} or {_matching('t', key, '_fine_households')})")
        on = " and ".join(f"a._row.{c} is not distinct from p.{c}" for c in graph()[table].grain)
        con.execute(
            f"create or replace temp table _pre_rows_in_{table} as "
            f"select p.* from _post_rows_in_{table} as p anti join "
            f"(select _row from _diff_{table} where _added) as a on {on} "
            f"union all select {_fields('g', columns)} from _diff_{table} as g where not g._added")
    finally:
        con.execute("drop table if exists temp.main._fine_units")
        con.execute("drop table if exists temp.main._fine_households")


def _apply_delta(con: duckdb.DuckDBPyConnection, report: BuildReport, db: str,
                 name: str) -> int | None:
    """Update the rows of ``sum`` model ``name`` of the scope's periods by the difference of
    the affected households' share: new = old - ``_pre_<name>`` + ``_post_<name>``, by the
    model's grain, each column an exact sum where NULL stands for "no household counted".
    The rows whose difference cannot be told exactly (a key the households leave, where the
    others may count nothing; a column the households leave at NULL while the rest sums to 0)
    make it return None (the caller recomputes the periods whole); else writes the rows that
    changed and returns their number (deleted and appended)."""
    start = time.perf_counter()
    keys = graph()[name].sum_keys
    types = {r[0]: r[1] for r in con.execute(f"describe {db}.main.{name}").fetchall()}
    values = [c for c in types if c not in keys]
    if not all(types[c].startswith(EXACT_TYPES) for c in values):
        return None
    _delta_image(con, db, name, "_post")
    key_list = ", ".join(keys)
    scoped = _matching("t", graph()[name].scope, "_scope")
    sides = {0: f"(select *, true as _here from {db}.main.{name} as t where {scoped})",
             1: f"(select *, true as _here from _pre_{name})",
             2: f"(select *, true as _here from _post_{name})"}
    joins = " ".join(
        f"left join {table} as s{i} on " + " and ".join(
            f"s{i}.{k} is not distinct from touched.{k}" for k in keys)
        for i, table in sides.items())
    rest = {c: f"(case when s1.{c} is null then s0.{c} else s0.{c} - s1.{c} end)"
            for c in values}
    present = {i: f"(s{i}._here is not null)" for i in sides}
    problems = " or ".join(
        [f"(s1.{c} is not null and (s0.{c} is null or (s2.{c} is null and {rest[c]} = 0)))"
         for c in values] + [f"({present[1]} and not ({present[2]} and {present[0]}))"])
    result = ", ".join(
        f"cast(case when s2.{c} is null then {rest[c]} else coalesce({rest[c]}, 0) + s2.{c} "
        f"end as {types[c]}) as {c}" for c in values)
    con.execute(
        f"""
        create or replace temp table _delta_rows as
        with touched as (
            select {key_list} from _pre_{name} union select {key_list} from _post_{name}
        )
        select {', '.join(f'touched.{k}' for k in keys)}, ({problems}) as _unclear, {result}
        from touched {joins}
        """
    )
    unclear = con.execute("select count(*) from _delta_rows where _unclear").fetchone()[0]
    if unclear:
        log.info("%s: %d row(s) not told by the difference: its periods recomputed whole",
                 name, unclear)
        con.execute("drop table _delta_rows")
        return None
    row = ", ".join(f"{a}.{c}" for a in ("{a}",) for c in types)
    key_of = ", ".join(f"{{a}}.{k}" for k in keys)
    con.execute(
        f"""
        create or replace temp table _delta_gone as
        select t.rowid as _rowid from {db}.main.{name} as t
        semi join _delta_rows as d on ({key_of.format(a='t')}) is not distinct from
            ({key_of.format(a='d')})
        anti join _delta_rows as n on ({row.format(a='t')}) is not distinct from
            ({row.format(a='n')})
        where {scoped}
        """
    )
    written = con.execute(f"delete from {db}.main.{name} where rowid in "
                          "(select _rowid from _delta_gone)").fetchone()[0]
    con.execute(
        f"create or replace temp table _delta_added as select {', '.join(types)} "
        f"from _delta_rows as n anti join {db}.main.{name} as t "
        f"on ({row.format(a='t')}) is not distinct from ({row.format(a='n')})"
    )
    written += con.execute("select count(*) from _delta_added").fetchone()[0]
    # the keys whose row changed (a touched key keeps a row: the added one when it changed)
    con.execute(f"create or replace temp table _delta_keys_{name} as "
                f"select distinct {key_list} from _delta_added")
    execute_model(con, name, f"insert into {db}.main.{name} by name select * from _delta_added")
    for table in ("_delta_gone", "_delta_rows", "_delta_added"):
        con.execute(f"drop table {table}")
    report.models.append({"name": name, "wall_s": round(time.perf_counter() - start, 3),
                          "delta": True})
    crashpoint(f"transform:{name}")
    return written


def _recorded_by_program() -> set[str]:
    """The ``record_month`` models scoped by program and their ``scoped_inputs``: an incremental
    build changes their rows of the programs of ``_record_scope`` only."""
    record_months = graph().of_kind("record_month")
    recorded = {t for m in record_months for t in graph()[m].scoped_inputs}
    return recorded | {m for m in record_months if "program" in graph()[m].scope}


def _changed_programs(con: duckdb.DuckDBPyConnection, name: str,
                      kept: set[str]) -> list[str] | None:
    """SELECTs of the programs whose rows of the inputs of period model ``name`` may have
    changed in this household-mode build (in ``_rebuild_periods``): a kept input changed none,
    a ``record_month`` model scoped by program (and its ``scoped_inputs``) only those of
    ``_record_scope``, a ``sum`` model updated by its difference those of its changed keys
    (``_delta_keys_<model>``). None when an input's changed programs cannot be told (a
    recomputed input, or one without a program column)."""
    temporary = _temp_tables(con)
    selects = []
    for table in sorted(graph()[name].depends_on):
        if table in kept:
            continue
        if table in _recorded_by_program():
            selects.append("select program from _record_scope")
        elif f"_delta_keys_{table}" in temporary and "program" in graph()[table].sum_keys:
            selects.append(f"select program from _delta_keys_{table}")
        else:
            return None
    return selects


def _rebuild_programs(con: duckdb.DuckDBPyConnection, report: BuildReport, db: str, name: str,
                      kept: set[str]) -> bool:
    """Replace the rows of ``PROGRAM_MODELS`` model ``name`` of the scope's periods and of the
    programs whose input rows changed (``_changed_programs``), its SQL run with
    ``ref_program`` and its inputs of ``_recorded_by_program`` shadowed by those programs'
    rows; False (nothing done) when those programs cannot be told."""
    selects = _changed_programs(con, name, kept)
    if selects is None:
        return False
    start = time.perf_counter()
    con.execute("create or replace temp table _programs as "
                + (" union ".join(selects) if selects else "select null as program where false"))
    shadowed = ["ref_program"]
    try:
        con.execute(f"create or replace temp view ref_program as select * from "
                    f"{db}.main.ref_program where code in (select program from _programs)")
        for table in sorted(graph()[name].depends_on & _recorded_by_program()):
            con.execute(f"create or replace temp view {table} as select * from "
                        f"{db}.main.{table} where program in (select program from _programs)")
            shadowed.append(table)
        con.execute(f"delete from {db}.main.{name} as t where "
                    f"{_matching('t', graph()[name].scope, '_scope')} "
                    "and t.program in (select program from _programs)")
        _insert(con, report, db, name)
    finally:
        for table in shadowed:
            con.execute(f"drop view if exists temp.main.{table}")
        con.execute("drop table if exists temp.main._programs")
    report.models[-1].update(programs=True, wall_s=round(time.perf_counter() - start, 3))
    return True


def _rebuild_household_list(con: duckdb.DuckDBPyConnection, report: BuildReport,
                            db: str) -> None:
    """``households`` after a household-mode build (``report.households`` set: no period is
    new or changed, so the latest period, its lines and areas are as before): the rows of the
    affected households (``_households``, by their ``id_keluarga`` in ``int_household_snapshot``)
    are replaced by those its SQL computes from their ``int_household_status`` rows, when the
    latest period is in the scope; else nothing of it can have changed. When its other inputs
    are kept (``_kept_inputs``) and the replaced ``int_household_status`` rows are known
    (``_diff_int_household_status``), only the households whose status row of the latest
    period was deleted or appended are (a tranche file changes the programs of few of the
    households whose amounts it changes)."""
    latest = con.execute("select max(period) from int_periods").fetchone()[0]
    if not con.execute("select count(*) from _scope where period = ?", [latest]).fetchone()[0]:
        return
    key = _household_key()
    status = "int_household_status"
    diff = f"_diff_{status}"
    temporary = _temp_tables(con)
    if diff in temporary and graph()[HOUSEHOLD_LIST].depends_on - _kept_inputs() <= {status}:
        fields = ", ".join(f"_row.{c} as {c}" for c in dict.fromkeys((*key, "id_keluarga")))
        con.execute(f"create or replace temp table _list_units as select distinct {fields} "
                    f"from {diff} where _row.period = date '{latest.isoformat()}'")
        units, rows = "_list_units", "(select snapshot, id_keluarga from _list_units)"
    else:
        units = "_households"
        rows = (f"(select s.snapshot, s.id_keluarga from int_household_snapshot as s "
                f"where {_matching('s', key, '_households')})")
    try:
        if units == "_list_units" and not con.execute(
                "select count(*) from _list_units").fetchone()[0]:
            return
        con.execute(f"create or replace temp view {status} as select * from "
                    f"{db}.main.{status} as t where t.period = "
                    f"date '{latest.isoformat()}' and {_matching('t', key, units)}")
        _replace_rows(con, report, db, HOUSEHOLD_LIST, f"(t.snapshot, t.id_keluarga) in {rows}")
    finally:
        con.execute(f"drop view if exists temp.main.{status}")
        con.execute("drop table if exists temp.main._list_units")


def _rebuild_transitions(con: duckdb.DuckDBPyConnection, report: BuildReport, db: str) -> None:
    """``poverty_transitions`` after a household-mode build (the periods and their snapshots
    as before): the rows of the pairs of consecutive snapshots with a side whose month is a
    scope period (the period a side is judged in) are replaced by those its SQL computes from
    the two sides' ``int_household_status`` rows (the other snapshots' rows shadowed away);
    the other pairs' rows cannot have changed. When the replaced ``int_household_status`` rows
    are known (``_diff_``), the rows are updated by difference instead
    (``_transitions_by_difference``)."""
    con.execute(
        """
        create or replace temp table _pairs as
        with snapshots as (
            select distinct snapshot from int_periods
        ),
        pairs as (
            select snapshot as snapshot_from, lead(snapshot) over (order by snapshot) as snapshot_to
            from snapshots
        )
        select snapshot_from, snapshot_to from pairs
        where snapshot_to is not null
            and (snapshot_from in (select period from _scope)
                 or snapshot_to in (select period from _scope))
        """
    )
    try:
        if not con.execute("select count(*) from _pairs").fetchone()[0]:
            return
        if _transitions_by_difference(con, report, db):
            return
        con.execute(
            f"create or replace temp view int_household_status as select * from "
            f"{db}.main.int_household_status as t where t.period = t.snapshot and t.snapshot in "
            "(select snapshot_from from _pairs union select snapshot_to from _pairs)"
        )
        _replace_rows(con, report, db, TRANSITIONS,
                      "t.snapshot_from in (select snapshot_from from _pairs)")
    finally:
        con.execute("drop view if exists temp.main.int_household_status")
        con.execute("drop table if exists temp.main._pairs")


def _transitions_by_difference(con: duckdb.DuckDBPyConnection, report: BuildReport,
                               db: str) -> bool:
    """Update ``poverty_transitions``' rows of ``_pairs`` by the difference of the households
    whose status row judged in a side of a pair changed (``_diff_int_household_status``, when
    its only changed input is that model): each count is a sum over the followed households
    (by ``id_keluarga``), so new = old - theirs before + theirs after, their share computed by
    the model's SQL from their rows alone (both sides: a household's state needs its two rows).
    A count NULL in the table (a snapshot month without a poverty line) stays NULL: the lines
    and the households' poverty are as before in household mode, and a share the households
    leave NULL (no line among their rows) counts nobody. False (nothing done) when the replaced
    rows are not known or a row's difference cannot be told (a NULL the difference would fill:
    the caller then recomputes the pairs)."""
    status = "int_household_status"
    temporary = _temp_tables(con)
    if f"_diff_{status}" not in temporary or graph()[TRANSITIONS].depends_on - _kept_inputs() \
            != {status}:
        return False
    start = time.perf_counter()
    sides = "(select snapshot_from from _pairs union select snapshot_to from _pairs)"
    con.execute(f"create or replace temp table _moved as select distinct _row.id_keluarga as "
                f"id_keluarga from _diff_{status} where _row.period = _row.snapshot "
                f"and _row.snapshot in {sides}")
    judged = (f"t.period = t.snapshot and t.snapshot in {sides} "
              "and t.id_keluarga in (select id_keluarga from _moved)")
    keys = graph()[TRANSITIONS].grain
    types = {r[0]: r[1] for r in con.execute(f"describe {db}.main.{TRANSITIONS}").fetchall()}
    values = [c for c in types if c not in keys and types[c].startswith(EXACT_TYPES)]
    try:
        if not con.execute("select count(*) from _moved").fetchone()[0]:
            report.models.append({"name": TRANSITIONS, "wall_s": 0.0, "kept": True})
            return True
        # the status rows of the moved households, of the columns the model may read (and the
        # grain: a row now that was appended is found by it)
        grain = graph()[status].grain
        read = columns_read(TRANSITIONS, status)
        columns = [r[0] for r in con.execute(f"describe {db}.main.{status}").fetchall()
                   if read is None or r[0] in read or r[0] in grain]
        con.execute(f"create or replace temp table _moved_post as select "
                    f"{', '.join(columns)} from {db}.main.{status} as t where {judged}")
        appended = " and ".join(f"a._row.{k} is not distinct from p.{k}" for k in grain)
        con.execute(
            f"create or replace temp table _moved_pre as "
            f"select {_fields('t', columns)} from _diff_{status} as t where not t._added "
            f"and t._row.period = t._row.snapshot and t._row.snapshot in {sides} "
            f"union all select p.* from _moved_post as p "
            f"anti join (select _row from _diff_{status} where _added) as a on {appended}"
        )
        for image in ("pre", "post"):
            con.execute(f"create or replace temp view {status} as select * from _moved_{image}")
            execute_model(con, TRANSITIONS, f"create or replace temp table _transitions_{image} "
                                            f"as\n{model_sql(TRANSITIONS)}")
        on = " and ".join(f"{{a}}.{k} is not distinct from t.{k}" for k in keys)
        unclear = " or ".join(f"(t.{c} is null and (a.{c} is not null or b.{c} is not null))"
                              for c in values)
        result = ", ".join(
            f"cast(case when t.{c} is not null then t.{c} - coalesce(a.{c}, 0) "
            f"+ coalesce(b.{c}, 0) end as {types[c]}) as {c}" for c in values)
        con.execute(
            f"create or replace temp table _transitions_rows as select "
            f"{', '.join(f't.{k}' for k in keys)}, ({unclear}) as _unclear, {result} "
            f"from {db}.main.{TRANSITIONS} as t "
            f"join _transitions_pre as a on {on.format(a='a')} "
            f"join _transitions_post as b on {on.format(a='b')} "
            "where t.snapshot_from in (select snapshot_from from _pairs)"
        )
        if con.execute("select count(*) from _transitions_rows where _unclear").fetchone()[0]:
            log.info("%s: a count not told by the difference: its pairs recomputed", TRANSITIONS)
            return False
        changed = " or ".join(f"n.{c} is distinct from t.{c}" for c in values)
        match = " and ".join(f"n.{k} is not distinct from t.{k}" for k in keys)
        con.execute(f"create or replace temp table _transitions_changed as select "
                    "t.rowid as _rowid, "
                    f"{', '.join(f't.{c}' for c in types if c not in values)}, "
                    f"{', '.join(f'n.{c}' for c in values)} "
                    f"from _transitions_rows as n join {db}.main.{TRANSITIONS} as t on {match} "
                    f"where {changed}")
        written = con.execute(f"delete from {db}.main.{TRANSITIONS} where rowid in "
                              "(select _rowid from _transitions_changed)").fetchone()[0]
        log.info("%s: %d row(s) updated by the difference", TRANSITIONS, written)
        columns = ", ".join(types)
        execute_model(con, TRANSITIONS, f"insert into {db}.main.{TRANSITIONS} ({columns}) "
                                        f"select {columns} from _transitions_changed")
    finally:
        con.execute(f"drop view if exists temp.main.{status}")
        for table in ("_moved", "_moved_pre", "_moved_post", "_transitions_pre",
                      "_transitions_post", "_transitions_rows", "_transitions_changed"):
            con.execute(f"drop table if exists temp.main.{table}")
    report.models.append({"name": TRANSITIONS, "wall_s": round(time.perf_counter() - start, 3),
                          "delta": True})
    crashpoint(f"transform:{TRANSITIONS}")
    return True


# ---------------------------------------------------------------------- unchanged inputs


def _from_tables(node: object) -> Iterator[dict]:
    """The BASE_TABLE nodes of a FROM clause (through its joins, not into subqueries)."""
    if isinstance(node, dict):
        if node.get("type") == "BASE_TABLE":
            yield node
        elif node.get("type") == "JOIN":
            yield from _from_tables(node.get("left"))
            yield from _from_tables(node.get("right"))


@functools.cache
def columns_read(name: str, table: str) -> frozenset[str] | None:
    """The column names model ``name`` may read of ``table``: every column name its SQL
    references anywhere (a superset), found with DuckDB's parser; None (all of them) when a
    ``*`` or ``COLUMNS(...)`` expands the table (unqualified in a SELECT reading it directly,
    or qualified with its name or alias) or the table's row is referenced whole."""
    found = _columns_and_patterns(name, table)
    return None if found is None or found[1] else found[0]


def _columns_of(name: str, table: str, columns: Sequence[str]) -> frozenset[str] | None:
    """``columns_read``, with the ``COLUMNS('<pattern>')`` of a plain name pattern resolved
    against the table's ``columns`` (``int_poverty_sums``' ``columns('^deprived_')``)."""
    found = _columns_and_patterns(name, table)
    if found is None:
        return None
    names, patterns = found
    return names | {c for c in columns for p in patterns if re.search(p, c)}


#: A ``COLUMNS(...)`` pattern ``_columns_of`` resolves: a name, optionally anchored.
PLAIN_PATTERN = re.compile(r"\^?[A-Za-z0-9_]+\$?")


@functools.cache
def _columns_and_patterns(name: str, table: str) -> tuple[frozenset[str],
                                                           tuple[str, ...]] | None:
    """The column names of ``columns_read`` and the plain name patterns of the unqualified
    ``COLUMNS('<pattern>')`` expanding ``table`` (``PLAIN_PATTERN``); None as ``columns_read``
    for any other expansion."""
    tree = statement_tree(model_sql(name))
    names: set[str] = set()
    patterns: list[str] = []
    aliases: set[str] = {table}
    for node in walk_tree(tree):
        if node.get("type") == "BASE_TABLE" and node.get("table_name") == table:
            aliases.add(node.get("alias") or table)
    for node in walk_tree(tree):
        if node.get("type") == "SELECT_NODE":
            direct = {t.get("alias") or t["table_name"]: t["table_name"]
                      for t in _from_tables(node.get("from_table"))}
            if table in direct.values():
                for item in walk_tree(node.get("select_list")):
                    if item.get("class") == "STAR" and (
                            item.get("relation_name", "") == ""
                            or direct.get(item["relation_name"]) == table):
                        expr = item.get("expr") or {}
                        text = (expr.get("literal") or {}).get("text")
                        if (item.get("columns") and item.get("relation_name", "") == ""
                                and expr.get("class") == "CONSTANT"
                                and isinstance(text, str) and PLAIN_PATTERN.fullmatch(text)
                                and not any(item.get(k) for k in (
                                    "exclude_list", "replace_list", "rename_list",
                                    "qualified_exclude_list"))):
                            patterns.append(text)
                            continue
                        return None
        elif node.get("class") == "COLUMN_REF":
            path = node["column_names"]
            if len(path) == 1 and path[0] in aliases:
                return None
            names.add(path[-1])
        elif node.get("type") == "JOIN":
            names.update(node.get("using_columns") or ())
    return frozenset(names), tuple(patterns)


def _kept_inputs() -> set[str]:
    """The tables a household-mode build leaves as they were, besides the household-scoped
    models' rows of households outside ``_affected``: the reference and registry tables (a
    registry load builds in full; the reference tables are in the fingerprint), the snapshot
    models, ``int_periods`` and ``int_period_lines`` (a new or changed period or line makes a
    period ``whole``: no household mode), and the ``kind full`` models built before that read
    only these."""
    kept = {s for s in graph().sources if s.startswith("ref_") or s in SNAPSHOT_SOURCES}
    kept |= {*graph().of_kind("snapshot"), "int_periods", "int_period_lines"}
    for name in rebuilt_before():
        if graph()[name].depends_on <= kept:
            kept.add(name)
    return kept


def _kept_for(name: str, kept: set[str]) -> set[str]:
    """The inputs that period model ``name`` reads as before in household mode: ``kept`` and the
    ingest tables of which it reads the registry files' rows only (``REGISTRY_ROWS``)."""
    return kept | set(REGISTRY_ROWS.get(name, ()))


def _unchanged_inputs(con: duckdb.DuckDBPyConnection, name: str, kept: set[str],
                      changed: dict[str, frozenset[str] | None],
                      imaged: Sequence[str] = ()) -> bool:
    """True when period model ``name`` (not household-scoped) reads nothing this household-mode
    build changed, so that its rows of the scope's periods stay as they are: each input is kept
    (``kept``: ``_kept_inputs`` and the period models left or updated to the same rows), or a
    household-scoped model, or a period model recomputed whole whose rows of the scope before
    are in ``_was_<model>`` (``imaged``), none of whose ``_changed_columns`` ``name`` may read
    (``columns_read``)."""
    for table in graph()[name].depends_on:
        if table in kept:
            continue
        if table in imaged:  # recomputed whole: its rows before (``_was_``) and now (the shadow)
            if table not in changed:
                changed[table] = _changed_columns(con, table, f"_was_{table}", table)
        elif table not in graph().models or not graph()[table].household_scope \
                or graph()[table].kind != "period":
            return False
        elif table not in changed:
            changed[table] = _changed_columns(con, table)
        read = columns_read(name, table)
        if changed[table] is None or (changed[table] and (read is None or changed[table] & read)):
            return False
    return True


def _changed_columns(con: duckdb.DuckDBPyConnection, table: str, pre: str | None = None,
                     post: str | None = None) -> frozenset[str] | None:
    """The columns in which household-scoped model ``table``'s rows of the affected households
    differ before and after (``_pre_in_`` / ``_post_in_``, or the relations ``pre`` / ``post``,
    joined by the model's grain); None when a row is only on one side (or the model declares no
    grain). When the model's replaced rows are kept (``_diff_<table>``), its deleted rows are
    compared with its appended ones instead of the images: the other rows are the same in both.
    """
    grain = graph()[table].grain
    if not grain:
        return None
    columns = [r[0] for r in con.execute(f"describe {pre or table}").fetchall()]
    temporary = _temp_tables(con)
    if pre is None and post is None and f"_diff_{table}" in temporary:
        pre = f"(select unnest(_row) from _diff_{table} where not _added)"
        post = f"(select unnest(_row) from _diff_{table} where _added)"
    elif pre is None:  # the images: of the columns their readers may read (``_image_columns``)
        columns = [r[0] for r in con.execute(f"describe _pre_in_{table}").fetchall()]
    pre, post = pre or f"_pre_in_{table}", post or f"_post_in_{table}"
    on = " and ".join(f"a.{k} is not distinct from b.{k}" for k in grain)
    flags = ", ".join(f"bool_or(a.{c} is distinct from b.{c})" for c in columns
                      if c not in grain)
    row = con.execute(
        f"select count(*) filter (where a._here is null or b._here is null), {flags} "
        f"from (select *, true as _here from {pre}) as a "
        f"full join (select *, true as _here from {post}) as b on {on}"
    ).fetchone()
    if row[0]:
        return None
    return frozenset(c for c, flag in zip((c for c in columns if c not in grain), row[1:],
                                          strict=True) if flag)
