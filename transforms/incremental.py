"""Incremental builds of the curated tables: recompute only the periods a run's new files touch.

A nightly run that adds program files (disbursements, PBI-JK, local lists) changes the figures of
the reported periods whose reach window (the twelve months ending with the period) contains a
month of the new records, and nothing else. What happens to each model is its header's ``kind``
(``transforms.models``); ``build_changed``

1. rebuilds the ``kind full`` models that read no ``record_month`` / ``period`` model outright
   (``int_periods``, ``int_area_hierarchy``, ``data_quality``, ... : small); keeps the
   ``kind snapshot`` models (``int_household_snapshot``, ``int_match_index``: the registry
   snapshots are unchanged);
2. recomputes the ``kind record_month`` models (``int_program_monthly``) for the new records'
   months only (the header's ``scope`` column, ``record_period``): the model's SQL runs with its
   ``scoped_inputs`` (``program_records``) shadowed by a temporary table of those months
   (``SCOPED_INPUTS``), and its rows for those months are replaced; the records are matched
   through the kept ``int_match_index``;
3. recomputes the ``kind period`` models (``int_household_program`` ... ``poverty_profile``) for
   the affected periods only, in build order: their SQL runs unchanged with ``int_periods``
   shadowed by a temporary view of the affected periods; each model's rows of those periods are
   deleted from its warehouse table and the new ones inserted straight into it, and a temporary
   view of the table's rows of those periods then shadows it for the models after it;
4. rebuilds the other ``kind full`` models (those reading a model of 2. or 3.: ``households``
   (the latest period), ``data_coverage``, ``poverty_transitions`` (pairs of snapshots, each
   household judged in its own snapshot month)) from the merged tables.

The large household-grain tables are clustered by period (record month) by every build (their
header's ``cluster_key``): replacing a few periods then empties or adds whole row groups,
and the checkpoint at the run's commit rewrites only those, not every row group of the table.

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

import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb

from tkpk.db import MACROS_SQL as MACROS_PATH
from tkpk.publish.atomic import crashpoint
from transforms.models import REFERENCE, graph
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
REGISTRY_KINDS = ("households", "members")
PROGRAM_KINDS = ("disbursements", "pbi", "local")


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
    models: list[dict[str, Any]] = field(default_factory=list)
    curated: list[str] = field(default_factory=lambda: list(graph().curated))

    def as_dict(self) -> dict[str, Any]:
        """Plain values (for the run summary)."""
        return {
            "mode": self.mode,
            "reason": self.reason,
            "periods": [p.isoformat() for p in self.periods],
            "record_months": [m.isoformat() for m in self.record_months],
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
    missing = [m for m in order if m not in existing_tables(con)]
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


def _months(con: duckdb.DuckDBPyConnection, shas: list[str]) -> list[date]:
    """Record months to recompute for the given (new) files: the months of their accepted
    records, and every month of a record that shares a correction key (program, NIK, stage;
    ``int_program_monthly``) with one of them, since a correction in a new file changes the
    record of an earlier month."""
    if not shas:
        return []
    rows = con.execute(
        """
        with new_records as (
            select * from program_records
            where file_id in (
                select file_id from ingest_file where sha256 in (select unnest(?::varchar[]))
            )
        ),
        new_keys as (
            select distinct program, nik, stage from new_records
            where source_kind = 'disbursements' and nik is not null and stage is not null
        ),
        months as (
            select cast(date_trunc('month', period) as date) as month from new_records
            union
            select cast(date_trunc('month', r.period) as date)
            from program_records as r
            join new_keys as k on k.program = r.program and k.nik = r.nik and k.stage = r.stage
            where r.source_kind = 'disbursements'
        )
        select month from months where month is not null order by month
        """,
        [shas],
    ).fetchall()
    return [r[0] for r in rows]


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
    months = _months(con, _new_files(outcomes, PROGRAM_KINDS))
    report = BuildReport(mode="incremental", reason="new program records", record_months=months)
    con.execute("create or replace temp table _old_periods as select * from int_periods")
    con.execute(
        "create or replace temp table _old_period_lines as select * from int_period_lines"
    )
    con.execute(
        "create or replace temp table _new_months as select unnest(?::date[]) as month", [months]
    )
    try:
        for name in rebuilt_before():
            _timed(con, report, name, f"create or replace table {name} as\n{model_sql(name)}")
        problem = _reach_problem(con)
        if problem is not None:
            return full_build(con, problem)
        report.periods = _scope_periods(con)
        if months:
            _rebuild_record_months(con, report, db)
        if report.periods:
            _rebuild_periods(con, report, db)
        for name in rebuilt_after():
            _timed(con, report, name, f"create or replace table {name} as\n{model_sql(name)}")
    finally:
        for table in ("_old_periods", "_old_period_lines", "_new_months", "_scope"):
            con.execute(f"drop table if exists temp.main.{table}")
    _store_fingerprint(con, fingerprint(con), "incremental")
    log.info(
        "incremental build: %d period(s) %s from %d record month(s)",
        len(report.periods), [p.isoformat() for p in report.periods], len(months),
    )
    return report


def _scope_periods(con: duckdb.DuckDBPyConnection) -> list[date]:
    """Reported periods to recompute: new ones, those whose poverty line changed in any
    kab/kota (``int_period_lines``), and those whose reach window holds a new record month."""
    con.execute(
        """
        create or replace temp table _scope as
        with changed_lines as (
            select period from (
                (select * from int_period_lines except select * from _old_period_lines)
                union all
                (select * from _old_period_lines except select * from int_period_lines)
            )
        )
        select n.period
        from int_periods as n
        left join _old_periods as o on o.period = n.period
        where o.period is null
            or n.period in (select period from changed_lines)
            or exists (select 1 from _new_months as m
                       where m.month between n.window_start and n.period)
        order by n.period
        """
    )
    return [r[0] for r in con.execute("select period from _scope order by period").fetchall()]


#: The rows of a ``scoped_inputs`` table (a record_month model's header) that shadow it while the
#: model is recomputed for the new months. ``program_records``: the new months' records, and every
#: record sharing a correction key (program, NIK, stage) with one of them (its corrections, which
#: may lie in other months; the rows the model computes for other months are not kept). Matching
#: looks them up in the snapshots' ``int_match_index``, which an incremental build keeps (built
#: once per registry snapshot).
SCOPED_INPUTS: dict[str, str] = {
    "program_records": (
        "with in_months as (select * from {db}.main.program_records "
        "where cast(date_trunc('month', period) as date) in (select month from _new_months)), "
        "keys as (select distinct program, nik, stage from in_months "
        "where source_kind = 'disbursements' and nik is not null and stage is not null) "
        "select * from in_months union "
        "select r.* from {db}.main.program_records as r join keys on keys.program = r.program "
        "and keys.nik = r.nik and keys.stage = r.stage where r.source_kind = 'disbursements'"
    ),
}


def _rebuild_record_months(con: duckdb.DuckDBPyConnection, report: BuildReport, db: str) -> None:
    """Replace the ``kind record_month`` models' rows of the new record months (their
    ``scope`` column), their ``scoped_inputs`` shadowed by those months' rows."""
    names = graph().of_kind("record_month")
    created: list[str] = []
    try:
        for table in dict.fromkeys(t for name in names for t in graph()[name].scoped_inputs):
            select = SCOPED_INPUTS[table].format(db=db)
            con.execute(f"create or replace temp table {table} as {select}")
            created.append(table)
        for name in names:
            model = graph()[name]
            months = f"{model.scope} in (select month from _new_months)"
            con.execute(f"delete from {db}.main.{name} where {months}")
            _timed(
                con, report, name,
                f"insert into {db}.main.{name} by name\nselect * from (\n{model_sql(name)}\n) "
                f"where {months} order by {model.cluster_key or model.scope}",
            )
    finally:
        for table in reversed(created):
            con.execute(f"drop table if exists temp.main.{table}")


def _rebuild_periods(con: duckdb.DuckDBPyConnection, report: BuildReport, db: str) -> None:
    """Replace the ``kind period`` models' rows of the scope, model by model in build order, in
    the warehouse tables: delete the scope's rows (by the model's ``scope`` column), insert the
    model's rows for the scope (its SQL runs with ``int_periods`` shadowed by a temporary view of
    the scope), then shadow the table by a temporary view of the scope's rows for the models
    after it. The rows go straight to the table (no temporary copy), clustered by period (the
    model's ``cluster_key``) like a full build's."""
    shadows: list[str] = []
    try:
        con.execute(
            f"create or replace temp view int_periods as "
            f"select * from {db}.main.int_periods where period in (select period from _scope)"
        )
        shadows.append("int_periods")
        for name in graph().of_kind("period"):
            scoped = f"where {graph()[name].scope} in (select period from _scope)"
            con.execute(f"delete from {db}.main.{name} {scoped}")
            _insert(con, report, db, name)
            con.execute(
                f"create or replace temp view {name} as select * from {db}.main.{name} {scoped}"
            )
            shadows.append(name)
    finally:
        for name in reversed(shadows):
            con.execute(f"drop view if exists temp.main.{name}")
