"""The run ledger: bounded commits of the nightly run, and the undo of a run that did not finish.

The nightly run commits its warehouse work in steps instead of one transaction over a whole
province: the raw load rides with the first ingest step; each kind of ``process_loads`` is
decided once, then written in steps of at most ``Settings.commit_rows`` staged rows (row-id
ranges, ``tkpk.ingest.accept.plan_steps``), committed as ``ingest:<kind>:1``, ``:2`` ... and the
kind's last one as ``ingest:<kind>`` (a kind within the bound: that one step only), so no
transaction holds a whole province's kind; the bookkeeping, the transforms and the completion of
the run are the last step (``final``). Every step is recorded in ``run_ledger``, one row per
event:

- ``(run_id, 'run', 'started')`` when the run starts, committed on its own before any work;
- ``(run_id, <step>, 'started')`` when a step starts (written on a cursor of its own, so it is
  committed at once and shows, after a kill, the step that was running);
- ``(run_id, <step>, 'committed', rows)`` in the step's own transaction: it exists exactly when
  the step's rows do;
- ``(run_id, 'run', 'completed')`` in the last transaction, with the transforms: the warehouse
  then holds the run's new state;
- ``(run_id, 'run', 'rolled_back', rows)`` once a run that did not complete has been undone.

The run's own ``ingest_file`` rows (the record that a file is loaded, what every later run and
the packs' manifests go by) become visible only with the final step: at each step's commit they
are parked in ``run_ledger_file`` (same columns) and moved back into ``ingest_file`` when the next
step's transaction begins, so the run itself reads them all along while the committed warehouse
lists only the files of completed runs (until the run completes, its committed rows belong to
files no ``ingest_file`` row names).

A run whose ledger has ``started`` but neither ``completed`` nor ``rolled_back`` died (SIGKILL,
power) or failed without being undone. :func:`recover` deletes every row its committed steps wrote,
table by table, keyed by the run's ``run_id`` and by its files (``load_id``, ``file_id`` or
``sha256`` of its ``ingest_file`` or parked ``run_ledger_file`` rows), those two last, so the
warehouse equals the last good state again (every step of a kind writes rows of the same files,
so the undo takes them all, however many steps committed); each delete is idempotent, so a
recovery that is itself killed is simply done again. ``tkpk.db.connect`` runs it whenever the
warehouse is opened for writing, so no pipeline code ever reads a half-finished night. A
``completed`` run is never undone, and neither is a run this process is running (``_ACTIVE``: a
second connection opened during a run must not undo it; another process cannot hold the
warehouse for writing meanwhile, DuckDB locks the file).

Nothing the committed steps write is read by the published packs before the final step commits:
the derived tables (transforms) are replaced only in that last transaction, which is small in
memory beside the ingest (the rows are already committed) and keeps the curated tables and
``snapshot_status`` consistent with each other.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)

TABLE = "run_ledger"
#: A running run's ``ingest_file`` rows between its steps (``ingest_file``'s columns).
FILES_TABLE = "run_ledger_file"
DDL = """
    run_id varchar not null, step varchar not null, status varchar not null,
    started_at timestamp, finished_at timestamp, rows bigint"""
#: ``step`` of the rows about the whole run.
RUN = "run"
STARTED, COMMITTED, COMPLETED, ROLLED_BACK = "started", "committed", "completed", "rolled_back"
#: The last step: ingest bookkeeping, transforms and the run's completion (one transaction).
FINAL = "final"

#: The tables the ingest writes are ``tkpk.ingest.accept.TABLE_DDL``'s (imported when a run is
#: undone); their rows are found by the run's files (``load_id``, ``file_id``, ``sha256``) or its
#: ``run_id``. ``snapshot_status`` and the curated tables are written only by the final step, so
#: an unfinished run never committed any of their rows.
#: Where a run's files are listed, undone last (one transaction with the ``rolled_back`` row).
FILE_TABLES = ("ingest_file", FILES_TABLE)
#: The key of a table's rows, by preference: the run itself, then the run's files.
KEY_COLUMNS = ("run_id", "load_id", "file_id", "sha256")

#: Run ids this process is running (never undone by a connection opened meanwhile).
_ACTIVE: set[str] = set()


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``run_ledger`` when it does not exist."""
    con.execute(f"create table if not exists {TABLE} ({DDL})")


def _table_columns(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    """Table name -> column names, for the base tables of the current schema."""
    rows = con.execute(
        "select table_name, column_name from duckdb_columns() "
        "where schema_name = current_schema() and not internal and database_name = "
        "current_database()"
    ).fetchall()
    columns: dict[str, set[str]] = {}
    for table, column in rows:
        columns.setdefault(table, set()).add(column)
    return columns


def unfinished_runs(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The runs whose ledger says started but neither completed nor rolled back, oldest first
    (none when there is no ledger yet)."""
    if TABLE not in _table_columns(con):
        return []
    rows = con.execute(
        f"""
        select run_id from {TABLE}
        group by run_id
        having bool_or(step = '{RUN}' and status = '{STARTED}')
            and not bool_or(step = '{RUN}' and status in ('{COMPLETED}', '{ROLLED_BACK}'))
        order by min(started_at), run_id
        """
    ).fetchall()
    return [run_id for (run_id,) in rows]


def _delete_sql(table: str, columns: dict[str, set[str]]) -> str | None:
    """The DELETE of one run's rows (``$run_id``) from ``table``, by its best key column
    (``KEY_COLUMNS``: the run id, else a key of the run's files in ``FILE_TABLES``); None when
    the table does not exist or has none of them."""
    own = columns.get(table, set())
    for key in KEY_COLUMNS:
        if key not in own:
            continue
        if key == "run_id":
            return f"delete from {table} where run_id = $run_id"
        listed = [t for t in FILE_TABLES if key in columns.get(t, set())]
        if listed:
            files = " union all ".join(
                f"select {key} from {t} where run_id = $run_id and {key} is not null"
                for t in listed
            )
            return f"delete from {table} where {key} in ({files})"
    return None


def undo_run(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, int]:
    """Delete every row run ``run_id`` committed in the ingest tables (autocommit: one
    transaction per table, ``ingest_file`` and the ledger's ``rolled_back`` row together last);
    return the rows deleted per table. Call outside a transaction."""
    from tkpk.ingest.accept import TABLE_DDL

    columns = _table_columns(con)
    deleted: dict[str, int] = {}
    for table in (*TABLE_DDL, *FILE_TABLES):
        if table == FILE_TABLES[0]:
            con.begin()
        sql = _delete_sql(table, columns)
        if sql is not None:
            row = con.execute(sql, {"run_id": run_id}).fetchone()
            deleted[table] = int(row[0]) if row else 0
    ensure_table(con)
    now = datetime.now()
    con.execute(
        f"insert into {TABLE} values (?, '{RUN}', '{ROLLED_BACK}', ?, ?, ?)",
        [run_id, now, now, sum(deleted.values())],
    )
    con.commit()
    return {table: rows for table, rows in deleted.items() if rows}


def recover(con: duckdb.DuckDBPyConnection, scratch_dir: Path | None = None) -> list[str]:
    """Undo every unfinished run (not one this process is running); return their ids. With
    ``scratch_dir``, the scratch folders of ended runs are swept too. Call outside a
    transaction, on a connection that may write."""
    runs = [run_id for run_id in unfinished_runs(con) if run_id not in _ACTIVE]
    for run_id in runs:
        deleted = undo_run(con, run_id)
        log.warning("run %s did not finish: its committed steps were undone (%s)",
                    run_id, ", ".join(f"{t} {n}" for t, n in deleted.items()) or "no rows")
    if runs and scratch_dir is not None:
        from tkpk.ingest.scratch import remove_stale

        remove_stale(scratch_dir)
    return runs


class RunLedger:
    """One run's ledger on its connection: ``start`` (before the first transaction), then
    ``step_done`` / ``commit`` per step, ``complete`` in the last transaction (the caller
    commits), or ``abort`` on an error."""

    def __init__(self, con: duckdb.DuckDBPyConnection, run_id: str) -> None:
        self.con = con
        self.run_id = run_id
        self._cursor: duckdb.DuckDBPyConnection | None = None
        self._step_started = datetime.now()
        #: (step, started_at, finished_at, rows) done in the open transaction, not yet recorded
        self._pending: list[tuple[str, datetime, datetime, int | None]] = []

    def start(self) -> None:
        """Record the run as started (committed at once; call outside a transaction)."""
        ensure_table(self.con)
        columns = _table_columns(self.con)
        if FILES_TABLE in columns and not self.con.execute(
            f"select count(*) from {FILES_TABLE}"
        ).fetchone()[0]:
            # recreated from ingest_file at the first commit: follows its columns
            self.con.execute(f"drop table {FILES_TABLE}")
        _ACTIVE.add(self.run_id)
        self._cursor = self.con.cursor()
        self._event(RUN, STARTED)
        self._step_started = datetime.now()

    def _event(self, step: str, status: str, rows: int | None = None) -> None:
        """A ledger row committed at once (on the ledger's own cursor, outside the run's
        transaction)."""
        if self._cursor is not None:
            self._cursor.execute(
                f"insert into {TABLE} values (?, ?, ?, ?, null, ?)",
                [self.run_id, step, status, datetime.now(), rows],
            )

    def begin_step(self, step: str) -> None:
        """Say that ``step`` starts (committed at once: after a kill it names the step that was
        running)."""
        self._step_started = datetime.now()
        self._event(step, STARTED)

    def step_done(self, step: str, rows: int | None = None) -> None:
        """``step`` finished in the open transaction; recorded as committed with the next
        commit."""
        now = datetime.now()
        self._pending.append((step, self._step_started, now, rows))
        self._step_started = now

    def _write_pending(self) -> None:
        self.con.executemany(
            f"insert into {TABLE} values (?, ?, '{COMMITTED}', ?, ?, ?)",
            [[self.run_id, step, start, end, rows] for step, start, end, rows in self._pending],
        )
        self._pending.clear()

    def commit(self, step: str, rows: int | None = None) -> None:
        """End ``step`` (and the pending ones before it): record them, commit, and begin the
        next step's transaction."""
        self.step_done(step, rows)
        self._write_pending()
        parked = self._park_files()
        self.con.commit()
        self.con.begin()
        if parked:
            self._unpark_files()

    def _park_files(self) -> bool:
        """Move the run's ``ingest_file`` rows to ``run_ledger_file`` (in the transaction about
        to commit); False when there is no ``ingest_file`` yet."""
        if "ingest_file" not in _table_columns(self.con):
            return False
        self.con.execute(
            f"create table if not exists {FILES_TABLE} as select * from ingest_file limit 0"
        )
        self.con.execute(
            f"insert into {FILES_TABLE} by name select * from ingest_file where run_id = ?",
            [self.run_id],
        )
        self.con.execute("delete from ingest_file where run_id = ?", [self.run_id])
        return True

    def _unpark_files(self) -> None:
        """Move the run's parked rows back into ``ingest_file`` (in the new transaction)."""
        self.con.execute(
            f"insert into ingest_file by name select * from {FILES_TABLE} where run_id = ?",
            [self.run_id],
        )
        self.con.execute(f"delete from {FILES_TABLE} where run_id = ?", [self.run_id])

    def complete(self, rows: int | None = None) -> None:
        """Record the final step and the run's completion in the open (last) transaction; the
        caller commits it. After the commit the run is never undone."""
        self.step_done(FINAL, rows)
        self._write_pending()
        now = datetime.now()
        self.con.execute(
            f"insert into {TABLE} values (?, '{RUN}', '{COMPLETED}', ?, ?, null)",
            [self.run_id, now, now],
        )

    def abort(self) -> None:
        """After an error: roll the open transaction back and undo the committed steps now
        (when that fails too, the next opening of the warehouse does it)."""
        self._pending.clear()
        with contextlib.suppress(duckdb.Error):  # no transaction open
            self.con.rollback()
        self.close()
        try:
            if self.run_id in unfinished_runs(self.con):
                undo_run(self.con, self.run_id)
        except duckdb.Error as error:
            log.warning("run %s: undo failed (%s); the next run undoes it",
                        self.run_id, type(error).__name__)

    def close(self) -> None:
        """The run is over in this process (a later connection may undo it if unfinished)."""
        _ACTIVE.discard(self.run_id)
        if self._cursor is not None:
            self._cursor.close()
            self._cursor = None
