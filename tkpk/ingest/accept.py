"""Raw rows to the accepted, quarantine and duplicate sets, with data quality and reconciliation.

``process_loads`` takes the files the raw loader has just loaded (their ``load_id``) and, kind by
kind (households before members, so members are checked against their snapshot's households):

1. stages the new raw rows with ``transforms/staging/stg_<kind>.sql`` (rename, cast, normalise);
2. validates them with the suite ``expectations/stg_<kind>.json``, file by file, in bounded
   batches; each failing expectation's ``meta.reason`` is a contract reason code of its rows and
   its ``meta.severity`` says what the defect does: ``error`` quarantines the row, ``warn`` accepts
   it with the field set to null and records the defect in ``flagged_field``;
3. applies the cross-row rules: duplicate household keys (first valid row in file order
   wins, earlier runs first), members of unknown or quarantined households, exact repeats of an
   accepted row (same kind, natural key and values, across files and runs) as duplicates;
4. appends accepted rows to ``registry_households`` / ``registry_members`` / ``program_records``
   (their flagged fields null, one ``flagged_field`` row per defect), the others to
   ``quarantine`` (every reason, the raw values) or ``duplicate`` (with a pointer), each row
   with its lineage ``file_id``, ``row_number``; with ``on_step`` in row-id ranges of at most
   ``Settings.commit_rows`` staged rows (:func:`plan_steps`), the caller committing between them;
5. rebuilds ``snapshot_status``, writes ``ingest_data_quality`` (one row per run x file) and
   ``ingest_data_quality_reason``, and reconciles: for every file ``rows_read = accepted +
   quarantined + duplicate``, else ``ReconciliationError``.

The rules and every table written are SQL files in ``transforms/accept/`` (one per decision and
per table, ``kind acceptance`` headers); what differs between kinds is declared once in
``tkpk.ingest.schema.ACCEPTANCE`` and filled into their ``{{name}}`` placeholders by
:func:`render`. This module only orchestrates: which file runs, in which order, into which table.

Everything runs in the caller's transaction (the nightly flow's): nothing here begins or commits.
Scratch data stays out of that transaction: each kind's staged rows and decisions are Parquet files
in the run's scratch folder (``tkpk.ingest.scratch``), read through temporary views and deleted at
the end of the kind, so the transaction holds only the rows written to the warehouse's tables.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import duckdb

from tkpk.config import TRANSFORMS_DIR, Settings
from tkpk.db import sql_literal
from tkpk.ingest.reading import MALFORMED_ERROR_KEY
from tkpk.ingest.schema import ACCEPTANCE
from tkpk.ingest.scratch import RunScratch
from tkpk.ingest.tables import (
    INGEST_TABLES,
    SCRATCH_TABLES,
    TABLES_BY_NAME,
    supports_compression,
)
from tkpk.publish.atomic import crashpoint
from tkpk.suite_run import Prejudged
from tkpk.validation import (
    DEFAULT_BATCH_ROWS,
    ValidationOutcome,
    load_suite,
    nulled_columns,
    validate_table,
)
from transforms.sql import render_sql

log = logging.getLogger(__name__)

STAGING_DIR = TRANSFORMS_DIR / "staging"
#: The acceptance rules: one SQL file per decision and per table written (see :func:`render`).
ACCEPT_DIR = TRANSFORMS_DIR / "accept"
#: Staged row id = file order x ROW_ID_FACTOR + row number (unique within a run's batch).
ROW_ID_FACTOR = 10_000_000_000

#: Kinds in processing order: households first (members are checked against them).
KIND_ORDER = ("households", "members", "disbursements", "pbi", "local")

#: Reason codes this pipeline adds to the contract's (docs/contract/raw-extracts.md allows more).
EXTRA_ROW_REASONS = {
    "row_malformed": "a CSV line the reader could not split into the header's fields",
    "encoding_invalid": "the row's bytes do not decode in the file's encoding (a contract code; "
    "the row carries only this reason)",
    "id_missing": "a household row without ID_KELUARGA",
    "number_invalid": "LUAS_LANTAI, JUMLAH_ANGGOTA or TAHAP unreadable or out of range",
    "member_duplicate_key": "a second member row with the NIK of an accepted member of the same "
    "household in the same snapshot, but different values",
}

#: Canonical columns holding personal data: a flagged field of one of them is recorded without
#: its raw value (shared/spec/raw-extracts.md, "Two severities").
PERSONAL_COLUMNS = ("NIK", "NO_KK", "NAMA", "ALAMAT", "TANGGAL_LAHIR")

#: Output tables of the ingest (docs/architecture.md), created when missing: column list of each,
#: generated from the registry ``tkpk.ingest.tables``.
TABLE_DDL: dict[str, str] = {t.name: t.ddl() for t in INGEST_TABLES}

#: SQL of the 64-bit hash that groups program rows before their values are compared
#: (``{}``: the values; tests replace it with a colliding one to prove that equal hashes alone
#: never make a duplicate).
VALUES_HASH = "hash({})"


class FileOutcomeLike(Protocol):
    """What ``tkpk.ingest.raw.FileOutcome`` carries (see docs/architecture.md)."""

    file_name: str
    sha256: str
    kind: str | None
    outcome: str
    reason: str | None
    rows_read: int
    skipped_lines: int
    load_id: Any


class ReconciliationError(RuntimeError):
    """A file's rows do not add up: rows_read != accepted + quarantined + duplicate."""


@dataclass(frozen=True)
class FileQuality:
    """One row of ``ingest_data_quality``: what became of one file in one run."""

    run_id: str
    file_name: str
    kind: str | None
    sha256: str
    file_outcome: str
    file_reason: str | None
    rows_read: int
    accepted: int
    quarantined: int
    duplicate: int
    skipped_lines: int


@dataclass(frozen=True)
class SnapshotState:
    """One row of ``snapshot_status``."""

    snapshot: Any
    usable: bool
    note: str


@dataclass
class IngestSummary:
    """What a run did to the warehouse: per file, per reason, snapshots, validation results."""

    run_id: str
    files: list[FileQuality] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)
    snapshots: list[SnapshotState] = field(default_factory=list)
    validations: list[ValidationOutcome] = field(default_factory=list)
    #: flagged fields (warnings) recorded in this run, per reason
    flagged: dict[str, int] = field(default_factory=dict)

    @property
    def accepted(self) -> int:
        """Rows accepted in this run."""
        return sum(f.accepted for f in self.files)

    @property
    def quarantined(self) -> int:
        """Rows quarantined in this run."""
        return sum(f.quarantined for f in self.files)

    @property
    def duplicate(self) -> int:
        """Rows recorded as duplicates in this run."""
        return sum(f.duplicate for f in self.files)

    @property
    def rows_read(self) -> int:
        """Data rows read in this run."""
        return sum(f.rows_read for f in self.files)

    def files_with(self, outcome: str) -> list[FileQuality]:
        """The files with file outcome ``outcome`` (loaded, already_loaded, quarantined)."""
        return [f for f in self.files if f.file_outcome == outcome]

    def top_reasons(self, count: int = 5) -> list[tuple[str, int]]:
        """The most frequent row reasons of this run."""
        return Counter(self.reasons).most_common(count)


@dataclass(frozen=True)
class Steps:
    """How a kind's writes are committed: in steps of at most ``rows`` staged rows (0: one step),
    ``on_step(kind, n, rows)`` called after each step but the last (the caller commits there)."""

    rows: int = 0
    on_step: Callable[[str, int, int], None] | None = None


# ------------------------------------------------------------------------------------- tables


def table_ddl(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """The column list ``table`` is created with in ``con``'s database: ``TABLE_DDL``'s, with the
    columns' compression (``tkpk.ingest.tables.WIDE_TEXT``) where the file's storage version
    stores it, else without."""
    return TABLES_BY_NAME[table].ddl(compression=supports_compression(con))


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ingest output tables that do not exist yet (:func:`table_ddl`); give those of
    an older warehouse their integer lineage (:func:`upgrade_lineage`)."""
    compression = supports_compression(con)
    for table in INGEST_TABLES:
        con.execute(f"create table if not exists {table.name} ({table.ddl(compression)})")
    upgrade_lineage(con)


#: Tables whose rows point to their raw row by ``file_id`` (older warehouses: sha256, file_name).
LINEAGE_TABLES = (
    "registry_households",
    "registry_members",
    "program_records",
    "quarantine",
    "duplicate",
    "flagged_field",
)


def upgrade_lineage(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Rewrite the tables of ``LINEAGE_TABLES`` that still carry ``sha256`` + ``file_name`` (a
    warehouse from before integer lineage) in today's layout: ``file_id`` from ``ingest_file``
    by SHA-256 and, in ``duplicate``, ``duplicate_of_file_id`` from the loaded file of that name;
    the old columns go. Runs in the caller's transaction; returns the tables rewritten."""
    upgraded = []
    for table in LINEAGE_TABLES:
        columns = [
            name
            for (name,) in con.execute(
                "select column_name from duckdb_columns() where table_name = ? "
                "and schema_name = current_schema() and database_name = current_database() "
                "order by column_index",
                [table],
            ).fetchall()
        ]
        if "sha256" not in columns or "file_id" in columns:
            continue
        if not upgraded:
            from tkpk.ingest.raw import ensure_tables as ensure_raw_tables

            ensure_raw_tables(con)  # ingest_file.file_id first
        con.execute(f"alter table {table} rename to _{table}_old")
        con.execute(f"create table {table} ({table_ddl(con, table)})")
        pointer = ""
        if table == "duplicate":
            pointer = """, (select min(f.file_id) from ingest_file as f
                where f.file_name = t.duplicate_of_file and f.file_outcome = 'loaded')
                as duplicate_of_file_id"""
        con.execute(
            f"""
            insert into {table} by name
            select t.* exclude (sha256, file_name{", duplicate_of_file" if pointer else ""}),
                f.file_id {pointer}
            from _{table}_old as t
            left join ingest_file as f on f.sha256 = t.sha256
            """
        )
        con.execute(f"drop table _{table}_old")
        upgraded.append(table)
    if upgraded:
        log.info("integer lineage (file_id) given to %s", ", ".join(upgraded))
    return upgraded


def staging_sql(kind: str) -> str:
    """The SELECT of ``transforms/staging/stg_<kind>.sql``."""
    return (STAGING_DIR / f"stg_{kind}.sql").read_text(encoding="utf-8").strip().rstrip(";")


# ---------------------------------------------------------------------------------- entry point


def process_loads(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    run_id: str,
    outcomes: Sequence[FileOutcomeLike],
    *,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    on_kind: Callable[[str, int], None] | None = None,
    on_step: Callable[[str, int, int], None] | None = None,
) -> IngestSummary:
    """Stage, validate and sort the rows of the newly loaded files; record data quality.

    ``outcomes`` are the raw loader's file outcomes of this run, in file-name order. Only the rows
    of the ``loaded`` files (their ``load_id``) are processed. Raises ``ReconciliationError`` when
    a file's rows do not add up. It neither begins nor commits a transaction itself: the caller
    runs it inside its own and rolls back on any error. ``on_kind(kind, rows)`` is called after
    each kind's rows are written (the nightly flow commits there, a bounded step recorded in
    ``tkpk.ledger``); the bookkeeping after the last kind stays in the caller's open
    transaction. With ``on_step``, a kind of more than ``settings.commit_rows`` staged rows is
    written in several steps of at most that many rows (:func:`plan_steps`) and
    ``on_step(kind, n, rows)`` is called after each of them but the last, which ``on_kind``
    ends (the nightly flow commits ``ingest:<kind>:<n>``). Scratch data goes to
    ``settings.scratch_dir / run_id`` (removed when it returns or fails).
    """
    steps = Steps(settings.commit_rows if on_step is not None else 0, on_step)
    with RunScratch(settings.scratch_dir, run_id) as scratch:
        return _process(con, scratch, run_id, list(outcomes), batch_rows, on_kind, steps)


def _process(
    con: duckdb.DuckDBPyConnection,
    scratch: RunScratch,
    run_id: str,
    outcomes: list[FileOutcomeLike],
    batch_rows: int,
    on_kind: Callable[[str, int], None] | None = None,
    steps: Steps | None = None,
) -> IngestSummary:
    """The body of ``process_loads`` (inside a transaction)."""
    ensure_tables(con)
    summary = IngestSummary(run_id=run_id)
    loaded = [o for o in outcomes if o.outcome == "loaded"]
    create_batch(con, loaded)
    counts: dict[str, tuple[int, int, int]] = {}
    try:
        for kind in KIND_ORDER:
            files = [o for o in loaded if o.kind == kind]
            if files:
                summary.validations.append(
                    _process_kind(con, scratch, kind, files, batch_rows, counts, summary.flagged,
                                  steps or Steps())
                )
                if on_kind is not None:  # a bounded commit (tkpk.ledger)
                    on_kind(kind, sum(sum(counts.get(o.sha256, (0, 0, 0))) for o in files))
        _rebuild_snapshot_status(con)
        summary.files = _record_quality(con, run_id, outcomes, counts)
        _record_notes(con, run_id, outcomes)
        summary.reasons = _record_reasons(con, run_id)
        summary.snapshots = [
            SnapshotState(*row)
            for row in con.execute(
                "select snapshot, usable, note from snapshot_status order by snapshot"
            ).fetchall()
        ]
        _reconcile(con, summary, loaded)
    finally:
        # After an error the transaction is aborted and the caller rolls back: nothing to drop.
        # The scratch views and files are removed by ``RunScratch``.
        with contextlib.suppress(duckdb.Error):
            for table in ("ingest_batch", "_row_reason", "_reason_count", "_staged_count"):
                con.execute(f"drop table if exists {table}")
    return summary


def create_batch(con: duckdb.DuckDBPyConnection, loaded: list[FileOutcomeLike]) -> None:
    """``ingest_batch`` (``transforms/accept/ingest_batch.sql``): the files to process, with
    their order and their ``ingest_file`` facts; the run's empty scratch tables
    (``tkpk.ingest.tables.SCRATCH_TABLES``)."""
    con.execute(
        f"create or replace temp table ingest_batch as {render('ingest_batch')}",
        {
            "sha256": [o.sha256 for o in loaded],
            "staged": [getattr(o, "staged", None) for o in loaded],
        },
    )
    known = {row[0] for row in con.execute("select sha256 from ingest_batch").fetchall()}
    missing = [o.file_name for o in loaded if o.sha256 not in known]
    if missing:
        raise ReconciliationError(
            f"loaded files without an ingest_file row: {', '.join(missing)}; "
            "the raw loader must record every file it loads"
        )
    for table in SCRATCH_TABLES:
        con.execute(f"create or replace temp table {table.name} ({table.ddl()})")


# ------------------------------------------------------------------------------ per kind


def _with_row_id(source: str, columns: str) -> str:
    """``columns`` of the staged rows ``source`` (``s``) with their run-wide ``row_id`` (file
    order times ``ROW_ID_FACTOR`` plus row number, from ``ingest_batch`` ``b``)."""
    return f"""
        select cast(b.file_order as bigint) * {ROW_ID_FACTOR} + s.row_number as row_id, {columns}
        from {source} as s
        join ingest_batch as b on b.file_id = s.file_id
    """


def stage(con: duckdb.DuckDBPyConnection, kind: str, scratch: RunScratch | None = None) -> str:
    """The batch's staged rows of ``kind`` as ``stg_<kind>``; return its name.

    The raw load staged each file (``transforms/staging/stg_<kind>.sql``, one Parquet file per
    file, ``ingest_batch.staged``); this reads them together and adds ``file_order`` and
    ``row_id`` (file order x 10^10 + row number): one integer id per staged row of the batch,
    and the file's texts the staged files do not hold (``tkpk.ingest.raw.FILE_COLUMNS``, from
    ``ingest_batch``; ``KIND_COLUMN`` the file's kind): the staging's columns, in its order;
    which the validation reports failing rows by. With ``scratch`` (a run) ``stg_<kind>`` is a
    temporary view over those files, which holds no storage in the run's transaction; without it
    (inspecting the staging on its own) a temporary table. Counts the staged rows per file into
    ``_staged_count`` (the reconciliation compares them with the rows read).

    Beside it ``stg_<kind>_raw`` (``row_id``, ``raw_text``): the records as read that the raw load
    kept (``tkpk.ingest.raw.raw_kept_predicate``), read by ``raw_kept.sql`` and
    ``row_reason_encoding.sql``: the files beside the staged files (``raw_text_file``).
    """
    from tkpk.ingest.raw import raw_text_file, stage_nothing, staged_columns

    table = f"stg_{kind}"
    files = [
        path
        for (path,) in con.execute(
            "select staged from ingest_batch where kind = ? and staged is not null "
            "order by file_order",
            [kind],
        ).fetchall()
    ]
    source = "read_parquet([" + ", ".join(sql_literal(p) for p in files) + "])"
    raw_files = [str(raw_text_file(p)) for p in files]
    raw_source = "read_parquet([" + ", ".join(sql_literal(p) for p in raw_files) + "])"
    if not files:  # no file of the kind: no rows, the staging's columns
        stage_nothing(con, kind, "_staged_nothing")
        source, raw_source = "_staged_nothing", "_staged_nothing_raw"
    selects = {
        table: _with_row_id(source, f"{staged_columns('s', 'b', kind)}, b.file_order"),
        f"{table}_raw": _with_row_id(raw_source, "s.raw_text"),
    }
    for name, select in selects.items():
        if scratch is None:
            con.execute(f"create or replace temp table {name} as {select}")
        else:
            con.execute(f"create or replace temp view {name} as {select}")
            scratch.track_view(con, name, group=kind)
    con.execute(
        f"insert into _staged_count select sha256, count(*) from {table} group by sha256"
    )
    return table


def _process_kind(
    con: duckdb.DuckDBPyConnection,
    scratch: RunScratch,
    kind: str,
    files: list[FileOutcomeLike],
    batch_rows: int,
    counts: dict[str, tuple[int, int, int]],
    flagged: dict[str, int] | None = None,
    steps: Steps | None = None,
) -> ValidationOutcome:
    """Stage, validate, decide and write the rows of ``files`` (all of kind ``kind``); add the
    files' (accepted, quarantined, duplicate) counts to ``counts`` and the flagged fields per
    reason to ``flagged``. The writes go in ``steps`` (:func:`_write_steps`)."""
    table = stage(con, kind, scratch)
    names = [o.file_name for o in files]
    label = names[0] if len(names) == 1 else f"{len(names)} files: {', '.join(names)}"
    result = validate_table(
        con,
        table,
        row_id="row_id",
        batch_rows=batch_rows,
        batch_name=label[:200],
        reasons_into="_row_reason",
        prejudged=prejudged(con, kind),
    )
    log.info("validate %s: %s", kind, result.describe())
    _add_encoding_reasons(con, kind)
    _decide(con, kind, scratch)
    crashpoint(f"ingest:{kind}")  # crash tests: scratch files on disk, rows not yet written
    decided = _count_decisions(con, kind)
    written = _write_steps(con, kind, scratch, steps or Steps(), flagged)
    _check_written(kind, decided, written)
    counts.update(decided)
    scratch.release(kind)  # deletes the staged rows and decisions before the next kind
    return result


def prejudged(con: duckdb.DuckDBPyConnection, kind: str) -> Prejudged | None:
    """What the raw load's choice of the rows keeping their record as read (``stg_<kind>_raw``)
    tells the validation of ``stg_<kind>``: the raw load evaluated the suite's row-wise rules,
    compiled as the validation compiles them, on every staged row of each file and kept every
    row failing one (``tkpk.ingest.raw.raw_kept_predicate``), recording the rules' fingerprint
    in the kept file (``raw_kept_fingerprint``). The files with a fingerprint are covered by it
    (``file_id in (...)``; ``true`` when every file has the same one); the validation trusts
    them only when its own scan has that fingerprint (``tkpk.suite_run.Prejudged``): same suite,
    same compiled SQL, same DuckDB. A file without one (every row kept, or written by an older
    code) is judged whole. None when no file has one."""
    from tkpk.ingest.raw import kept_fingerprints

    files = con.execute(
        "select file_id, staged from ingest_batch where kind = ? and staged is not null "
        "order by file_order",
        [kind],
    ).fetchall()
    found = kept_fingerprints(con, [staged for _, staged in files])
    covered: dict[str, list[int]] = {}
    for file_id, staged in files:
        if staged in found:
            covered.setdefault(found[staged], []).append(int(file_id))
    if not covered:
        return None
    if len(covered) == 1 and len(found) == len(files):  # one fingerprint: every staged row
        return Prejudged(
            candidates=f"(select row_id as id from stg_{kind}_raw)",
            covered=dict.fromkeys(covered, "true"),
        )
    return Prejudged(
        candidates=f"(select row_id as id from stg_{kind}_raw)",
        covered={
            fingerprint: f"file_id in ({', '.join(str(i) for i in ids)})"
            for fingerprint, ids in covered.items()
        },
    )


# ------------------------------------------------------------------ the rules (transforms/accept)

def render(name: str, **values: str) -> str:
    """The SELECT of ``transforms/accept/<name>.sql`` with its placeholders filled.

    The acceptance rules are SQL files; what differs between kinds (a table name, a column list,
    the natural key's last part: ``tkpk.ingest.schema.ACCEPTANCE``) is written ``{{name}}`` in
    them and replaced here by the text of ``values[name]``, nothing else (no conditionals, no
    loops); a value may itself hold placeholders (a kind's ``ids_as_read`` names the nulled
    columns), filled the same way. A placeholder without a value is an error naming the file.
    """
    return render_sql(f"{ACCEPT_DIR.name}/{name}", **values)


def _table_types(table: str) -> dict[str, str]:
    """Column -> type of an ingest output table (the registry ``tkpk.ingest.tables``)."""
    return TABLES_BY_NAME[table].types()


def _rule_values(kind: str) -> dict[str, str]:
    """The placeholder values of ``kind``'s acceptance files (``schema.ACCEPTANCE``, the suite's
    ``warn`` columns, the value hash)."""
    acceptance = ACCEPTANCE[kind]
    types = _table_types(acceptance.table)
    nulled = nulled_columns(load_suite(None, f"stg_{kind}"))
    replace = ", ".join(
        f"case when list_contains(rr.nulls, '{c}') then null else s.{c} end as {c}"
        for c in nulled
    )
    return {
        "kind": kind,
        "staged": f"stg_{kind}",
        "values": ", ".join(f"{c} := try_cast({c} as {types[c]})" for c in acceptance.values),
        "nulled": f"replace ({replace})" if replace else "",
        "nulled_as_read": ", ".join(f"cast(s.{c} as varchar)" for c in nulled),
        "ids_as_read": acceptance.ids_as_read,
        "row_key": acceptance.row_key,
        "candidate_key": acceptance.candidate_key,
        "key_reason": acceptance.key_reason,
        "compared": acceptance.compared or acceptance.table,
        "table_columns": ", ".join(types),
        "hash_vals": VALUES_HASH.format("vals"),
        "row_id_factor": str(ROW_ID_FACTOR),
        "period": acceptance.period,
        "kelurahan_code": acceptance.kelurahan_code,
        "id_keluarga": acceptance.id_keluarga,
        "personal": ", ".join(f"'{c}'" for c in PERSONAL_COLUMNS),
        "error_key": MALFORMED_ERROR_KEY,
        "context": "".join(f", {c}" for c in acceptance.context),
        "judged_also": (
            f"union select row_id from _{acceptance.judged_also}" if acceptance.judged_also else ""
        ),
    }


def _add_encoding_reasons(con: duckdb.DuckDBPyConnection, kind: str) -> None:
    """``encoding_invalid`` in ``_row_reason`` for the staged rows the reader rejected because
    their bytes do not decode (``transforms/accept/row_reason_encoding.sql``)."""
    select = render("row_reason_encoding", **_rule_values(kind))
    con.execute(f"insert into _row_reason (row_id, reason) select row_id, reason from ({select})")


def _decide(con: duckdb.DuckDBPyConnection, kind: str, scratch: RunScratch) -> None:
    """``_decision`` (a scratch view): the staged rows of ``kind`` with their outcome, reasons and
    duplicate pointer, by the kind's decision file (``registry_decision`` or
    ``program_decision``), narrow (lineage, outcome and the kind's ``context`` columns) and
    sparse (the rows not accepted, and the accepted ones with a flagged field: a staged row
    without a decision row is accepted as is; ``decision_count.sql`` counts them). Before
    it, ``_row_reasons`` (``row_reasons.sql``: the reasons of the rows that have any) is written
    once (then ``_row_reason`` is emptied, so the next kind groups only its own pairs); a kind
    with ``ACCEPTANCE[kind].judged_also`` (the program kinds) writes those rows' ids
    (``record_candidates.sql``: the records whose values may repeat another's); then
    ``_in_doubt`` (``in_doubt_rows.sql``: the staged rows whose record as read the raw load kept,
    with a reason, or of ``judged_also``; a scratch file, so the staged rows are read once for
    the decision) and ``_flagged_in_doubt`` (``flagged_rows.sql`` over them: the rows as
    judged), which the decision reads; both stay until the kind's scratch is released
    (``accepted_rows.sql`` writes the accepted rows in doubt from ``_flagged_in_doubt`` and every
    other staged row as it is). Not sorted: a sort of every staged row spills the whole batch
    (tens of GB at a province), and no reader depends on the order; the accepted tables are
    sets."""
    acceptance = ACCEPTANCE[kind]
    values = _rule_values(kind)
    scratch.materialise(con, "_row_reasons", render("row_reasons"), group=kind)
    # the pairs are read once: the next kind's _row_reasons then groups only its own pairs
    con.execute("delete from _row_reason")
    if acceptance.judged_also:  # its view is named by judged_also (_rule_values)
        scratch.materialise(
            con, f"_{acceptance.judged_also}", render(acceptance.judged_also, **values), group=kind
        )
    scratch.materialise(con, "_in_doubt", render("in_doubt_rows", **values), group=kind)
    con.execute(
        "create or replace temp view _flagged_in_doubt as "
        + render("flagged_rows", **{**values, "staged": "_in_doubt"})
    )
    scratch.track_view(con, "_flagged_in_doubt", group=kind)
    views = {}
    if acceptance.compared:
        views[acceptance.compared] = render(acceptance.compared)
    for view, select in views.items():
        con.execute(f"create or replace temp view {view} as {select}")
    try:
        scratch.materialise(con, "_decision", render(acceptance.decision, **values), group=kind)
    finally:
        with contextlib.suppress(duckdb.Error):
            for view in views:
                con.execute(f"drop view if exists {view}")


def _keep_raw(con: duckdb.DuckDBPyConnection, kind: str, scratch: RunScratch) -> None:
    """``_raw_kept`` (a scratch file, ``transforms/accept/raw_kept.sql``): the record as read of
    the quarantined and flagged rows of the kind's whole ``_decision``, read by
    :func:`_write_outcomes` and :func:`_write_flags`. Written once per kind, before its steps:
    the records as read (``stg_<kind>_raw``) are not cut into steps, so a file per step would
    read all of them again at every step."""
    scratch.materialise(con, "_raw_kept", render("raw_kept", **_rule_values(kind)), group=kind)


def _write_outcomes(
    con: duckdb.DuckDBPyConnection, kind: str, scratch: RunScratch
) -> dict[str, int]:
    """Append ``_decision``'s rows to the accepted table, ``quarantine`` and ``duplicate``
    (``transforms/accept/accepted_rows.sql``, ``quarantine.sql``, ``duplicate.sql``); return
    the rows written per outcome. The raw text of the quarantined rows comes from ``_raw_kept``
    (:func:`_keep_raw`, written before the kind's first step)."""
    values = _rule_values(kind)
    acceptance = ACCEPTANCE[kind]
    written = {
        "accepted": _append(con, acceptance.table, render("accepted_rows", **values)),
        "quarantined": _append(con, "quarantine", render("quarantine", **values)),
        "duplicate": _append(con, "duplicate", render("duplicate", **values)),
    }
    for table in acceptance.also_writes:  # e.g. member_nik_as_read
        _append(con, table, render(table, **values))
    return written


def _write_flags(con: duckdb.DuckDBPyConnection, kind: str) -> dict[str, int]:
    """Append one ``flagged_field`` row per warning of each accepted row of ``_decision``
    (``transforms/accept/flagged_field.sql``); return the rows written per reason."""
    select = render("flagged_field", **_rule_values(kind))
    con.execute(f"create or replace temp table _flag_written as {select}")
    con.execute("insert into flagged_field by name select * from _flag_written")
    rows = con.execute("select reason, count(*) from _flag_written group by reason").fetchall()
    con.execute("drop table _flag_written")
    return {reason: int(n) for reason, n in rows}


def plan_steps(files: Sequence[tuple[int, int, int]], bound: int) -> list[tuple[int, int]]:
    """The row-id ranges ``(first, last)`` a kind's writes are committed in: ``files`` are the
    kind's files in file order as (first row id, last row id, rows), ``bound`` the most rows of
    one step (0: a single step). Consecutive files share a step while their rows fit; a file of
    more rows is cut into equal row-number ranges no wider than ``bound`` (so none holds more
    rows, whatever the gaps in its row numbers). Every row id of ``files`` lies in exactly one
    range, the ranges in row-id order."""
    if not files:
        return []
    if bound <= 0:
        return [(files[0][0], files[-1][1])]
    pieces: list[tuple[int, int, int]] = []
    for first, last, rows in files:
        if rows <= bound:
            pieces.append((first, last, rows))
            continue
        width = last - first + 1
        parts = -(-width // bound)
        size = -(-width // parts)
        for start in range(first, last + 1, size):
            end = min(start + size - 1, last)
            pieces.append((start, end, end - start + 1))
    steps: list[tuple[int, int]] = []
    held = 0
    for first, last, rows in pieces:
        if steps and held + rows <= bound:
            steps[-1] = (steps[-1][0], last)
            held += rows
        else:
            steps.append((first, last))
            held = rows
    return steps


def _write_steps(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    scratch: RunScratch,
    steps: Steps,
    flagged: dict[str, int] | None,
) -> dict[str, int]:
    """Write ``_decision``'s rows (:func:`_write_outcomes`, :func:`_write_flags`) in the row-id
    ranges of :func:`plan_steps` (``steps.rows`` at most each), calling ``steps.on_step`` after
    each range but the last (the caller commits: ``crashpoint`` ``ingest:<kind>:<n>`` follows);
    return the rows written per outcome, add the flagged fields per reason to ``flagged``."""
    ranges: list[tuple[int, int] | None] = [None]
    if steps.rows > 0 and steps.on_step is not None:
        extents = sorted(  # in file order: row ids grow with it
            con.execute(
                render("step_extents", kind=kind, row_id_factor=str(ROW_ID_FACTOR))
            ).fetchall()
        )
        ranges = [*plan_steps(extents, steps.rows)] or [None]
    written: Counter[str] = Counter()
    _keep_raw(con, kind, scratch)  # over the whole decision: the raw text is read once
    with _step_views(con, kind, scratch, len(ranges) > 1) as select_step:
        for n, rows in enumerate(ranges, 1):
            if rows is not None and len(ranges) > 1:
                select_step(*rows)
            step_written = _write_outcomes(con, kind, scratch)
            for reason, count in _write_flags(con, kind).items():
                if flagged is not None:
                    flagged[reason] = flagged.get(reason, 0) + count
            written.update(step_written)
            if n < len(ranges) and steps.on_step is not None:
                steps.on_step(kind, n, sum(step_written.values()))
                crashpoint(f"ingest:{kind}:{n}")  # crash tests: step n committed, not the next
    return {outcome: written[outcome] for outcome in ("accepted", "quarantined", "duplicate")}


@contextlib.contextmanager
def _step_views(
    con: duckdb.DuckDBPyConnection, kind: str, scratch: RunScratch, split: bool
) -> Iterator[Callable[[int, int], None]]:
    """With ``split``, set the kind's whole ``_decision``, ``_in_doubt`` and ``stg_<kind>`` aside
    (renamed ``_all``), define them over one step's row ids (``step_decision.sql``,
    ``step_in_doubt.sql``, ``step_staged.sql``) and yield a function that points them at a
    range, so the write files (``accepted_rows.sql`` ...) read one step's rows; they are
    restored after."""
    steps = {
        "_decision": render("step_decision"),
        "_in_doubt": render("step_in_doubt"),
        f"stg_{kind}": render("step_staged", kind=kind),
    }
    if not split:
        yield lambda first, last: None
        return
    for view, select in steps.items():
        con.execute(f"alter view {view} rename to {view}_all")
        scratch.track_view(con, f"{view}_all", group=kind)
        con.execute(f"create or replace temp view {view} as {select}")

    def select_step(first: int, last: int) -> None:
        """Point the views at the row ids ``first`` to ``last`` (their ``step_*`` variables)."""
        first_order, last_order = first // ROW_ID_FACTOR, last // ROW_ID_FACTOR
        # row numbers bound the range only within one file; across files any row number
        first_row, last_row = (
            (first % ROW_ID_FACTOR, last % ROW_ID_FACTOR)
            if first_order == last_order
            else (0, ROW_ID_FACTOR - 1)
        )
        bounds = {"first_row_id": first, "last_row_id": last, "first_order": first_order,
                  "last_order": last_order, "first_row": first_row, "last_row": last_row}
        for name, value in bounds.items():
            con.execute(f"set variable step_{name} = {int(value)}")

    yield select_step
    for view in steps:
        con.execute(f"drop view if exists {view}")
        con.execute(f"alter view {view}_all rename to {view}")


def _append(con: duckdb.DuckDBPyConnection, table: str, select: str) -> int:
    """Append ``select``'s rows to ``table`` (by column name); return how many it wrote."""
    row = con.execute(f"insert into {table} by name {select}").fetchone()
    return int(row[0]) if row else 0


def _count_decisions(
    con: duckdb.DuckDBPyConnection, kind: str
) -> dict[str, tuple[int, int, int]]:
    """sha256 -> (accepted, quarantined, duplicate) of this kind's files, from ``_decision``
    (``decision_count.sql``); adds the quarantine reasons per file to ``_reason_count``
    (``reason_count.sql``)."""
    _append(con, "_reason_count", render("reason_count"))
    rows = con.execute(render("decision_count", kind=kind)).fetchall()
    return {sha: (int(a), int(q), int(d)) for sha, a, q, d in rows}


def _check_written(
    kind: str, counts: dict[str, tuple[int, int, int]], written: dict[str, int]
) -> None:
    """Raise ``ReconciliationError`` when the tables did not receive what the decision says
    (``counts``: :func:`_count_decisions`; ``written``: rows written per outcome)."""
    decided = {
        outcome: sum(c[i] for c in counts.values())
        for i, outcome in enumerate(("accepted", "quarantined", "duplicate"))
    }
    mismatch = {
        outcome: (rows_written, decided[outcome])
        for outcome, rows_written in written.items()
        if rows_written != decided[outcome]
    }
    if mismatch:
        raise ReconciliationError(
            f"{kind}: rows written (written, decided) per outcome differ: {mismatch} "
            "(run rolled back; report this as a bug with the files)"
        )


# ------------------------------------------------------------------------ run bookkeeping


def _rebuild_snapshot_status(con: duckdb.DuckDBPyConnection) -> None:
    """``snapshot_status`` (``transforms/accept/snapshot_status.sql``): a snapshot is usable only
    when its household and member files loaded."""
    con.execute("delete from snapshot_status")
    _append(con, "snapshot_status", render("snapshot_status"))


def _record_quality(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    outcomes: list[FileOutcomeLike],
    counts: dict[str, tuple[int, int, int]],
) -> list[FileQuality]:
    """Write one ``ingest_data_quality`` row per file of the run
    (``transforms/accept/ingest_data_quality.sql``; ``counts``: sha256 -> accepted, quarantined,
    duplicate rows written for it) and return them in the outcomes' order."""
    if not outcomes:
        return []
    written = [counts.get(o.sha256, (0, 0, 0)) for o in outcomes]
    con.execute(
        f"create or replace temp table _file_quality as {render('ingest_data_quality')}",
        {
            "run_id": run_id,
            "file_name": [o.file_name for o in outcomes],
            "kind": [o.kind for o in outcomes],
            "sha256": [o.sha256 for o in outcomes],
            "file_outcome": [o.outcome for o in outcomes],
            "file_reason": [o.reason for o in outcomes],
            "rows_read": [o.rows_read for o in outcomes],
            "skipped_lines": [o.skipped_lines for o in outcomes],
            "accepted": [w[0] for w in written],
            "quarantined": [w[1] for w in written],
            "duplicate": [w[2] for w in written],
        },
    )
    con.execute(
        "insert into ingest_data_quality by name "
        "select * exclude (file_order) from _file_quality order by file_order"
    )
    cursor = con.execute("select * exclude (file_order) from _file_quality order by file_order")
    names = [d[0] for d in cursor.description]
    rows = [FileQuality(**dict(zip(names, row, strict=True))) for row in cursor.fetchall()]
    con.execute("drop table _file_quality")
    return rows


def _record_notes(
    con: duckdb.DuckDBPyConnection, run_id: str, outcomes: list[FileOutcomeLike]
) -> None:
    """Write ``ingest_file_note`` (run x entry x note, ``transforms/accept/ingest_file_note.sql``):
    the raw loader's file notes (``file_ignored`` with why, ``sheet_ignored`` with the sheet's
    name and non-empty rows)."""
    notes = [(o, n) for o in outcomes for n in getattr(o, "notes", ())]
    if notes:
        con.execute(
            f"insert into ingest_file_note by name {render('ingest_file_note')}",
            {
                "run_id": run_id,
                "file_name": [o.file_name for o, _ in notes],
                "sha256": [o.sha256 for o, _ in notes],
                "reason": [n.reason for _, n in notes],
                "note": [n.note for _, n in notes],
                "rows": [n.rows for _, n in notes],
            },
        )


def _record_reasons(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, int]:
    """Write ``ingest_data_quality_reason`` (run x file x reason,
    ``transforms/accept/ingest_data_quality_reason.sql``) and return totals per reason."""
    con.execute(
        f"insert into ingest_data_quality_reason by name {render('ingest_data_quality_reason')}",
        {"run_id": run_id},
    )
    return dict(
        con.execute(
            "select reason, sum(rows)::bigint from ingest_data_quality_reason "
            "where run_id = ? group by reason order by 2 desc, 1",
            [run_id],
        ).fetchall()
    )


def _reconcile(
    con: duckdb.DuckDBPyConnection, summary: IngestSummary, loaded: list[FileOutcomeLike]
) -> None:
    """Every file must add up: rows_read = accepted + quarantined + duplicate = staged rows."""
    raw_rows: dict[str, int] = dict(
        con.execute(
            "select sha256, sum(rows)::bigint from _staged_count group by sha256"
        ).fetchall()
    )
    problems = []
    for f in summary.files:
        total = f.accepted + f.quarantined + f.duplicate
        raw = raw_rows.get(f.sha256, 0)
        if f.file_outcome == "loaded" and (total != f.rows_read or raw != f.rows_read):
            problems.append(
                f"{f.file_name}: rows_read {f.rows_read}, staged rows {raw}, accepted {f.accepted} "
                f"+ quarantined {f.quarantined} + duplicate {f.duplicate} = {total}"
            )
        elif f.file_outcome != "loaded" and total != f.rows_read:
            problems.append(
                f"{f.file_name} ({f.file_outcome}): rows_read {f.rows_read} but no row was "
                "processed (a file that is not loaded reads no rows)"
            )
    if problems:
        raise ReconciliationError(
            "rows do not add up (run rolled back; report this as a bug with the file): "
            + "; ".join(problems)
        )
