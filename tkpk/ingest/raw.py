"""Raw load: every new file in the raw folder into ``raw_<kind>`` (all values text, with lineage),
and one ``ingest_file`` row per distinct content.

Entry point: :func:`load_new_files`. It does not open or commit a transaction: the nightly flow
runs it inside its own. Each file is read on a separate cursor, so a file that breaks the reader
is quarantined without aborting the caller's transaction; only the final, already materialised
rows are inserted into the warehouse, streamed as Arrow batches.

The inserts of one run append to the end of each raw table (see :func:`_serial_append`): a run
leaves a kind's rows as full row groups and one partial row group at the end, not one partial row
group behind every file, so the checkpoints of later runs do not merge ("vacuum") and rewrite the
raw tables' old row groups.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime

import duckdb

from tkpk.config import Settings
from tkpk.db import sql_literal
from tkpk.ingest import csv_reader, lines, spreadsheet
from tkpk.ingest.files import (
    FileName,
    IgnoredEntry,
    RawFile,
    discover_all,
    resolve_program,
    sha256_of,
)
from tkpk.ingest.reading import (
    MALFORMED_ERROR_KEY,
    MALFORMED_LINE_KEY,
    FileNote,
    FileProblem,
    Header,
    ReadStats,
    sniff_format,
)
from tkpk.ingest.schema import COLUMNS, EXTRA_FILE_REASONS, KINDS

log = logging.getLogger(__name__)

#: File-level reason for a resource limit (file size, decompressed size, cells, line length).
FILE_TOO_LARGE = EXTRA_FILE_REASONS[0]
#: Arrow batch size when streaming rows into the warehouse.
INSERT_BATCH_ROWS = 200_000

OUTCOMES = ("loaded", "already_loaded", "quarantined", "ignored")
#: File-level reason of an entry of the raw folder that is not read (hidden, folder, link,
#: cannot be opened): ``FileOutcome.outcome`` is ``ignored``, the why is its note.
FILE_IGNORED = "file_ignored"


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one file of the raw folder in this run.

    ``sha256`` is None only for an entry that is not read (``outcome`` ``ignored``, reason
    ``file_ignored``: a hidden file, a folder, a link, or a file that cannot be opened, which is
    tried again next run); ``message`` says, for people, what is wrong and what to do. ``notes``
    are file-level observations that do not change the outcome (``file_ignored`` with why,
    ``sheet_ignored`` with the sheet's name and non-empty rows), written to ``ingest_file_note``.
    """

    file_name: str
    sha256: str | None
    kind: str | None
    outcome: str
    reason: str | None
    rows_read: int
    skipped_lines: int
    load_id: str | None
    message: str | None = None
    notes: tuple[FileNote, ...] = ()


def raw_table(kind: str) -> str:
    """The raw table of a kind."""
    return f"raw_{kind}"


def raw_columns(kind: str) -> list[str]:
    """The canonical columns of a kind as raw-table column names (lower case)."""
    return [name.lower() for name in COLUMNS[kind]]


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``ingest_file`` and the ``raw_<kind>`` tables when missing."""
    con.execute(
        """
        create table if not exists ingest_file (
            sha256 varchar primary key,
            file_name varchar not null,
            kind varchar,
            period date,
            period_end date,
            program varchar,
            channel varchar,
            stage smallint,
            load_id varchar,
            file_outcome varchar not null,
            file_reason varchar,
            rows_read bigint not null,
            skipped_lines bigint not null,
            loaded_at timestamp not null,
            file_message varchar,
            file_format varchar,
            file_encoding varchar,
            file_bytes bigint,
            run_id varchar,
            file_id integer
        )
        """
    )
    _upgrade_file_ids(con)
    for kind in KINDS:
        columns = ",\n".join(f"{name} varchar" for name in raw_columns(kind))
        con.execute(
            f"""
            create table if not exists {raw_table(kind)} (
                load_id varchar not null,
                sha256 varchar not null,
                file_name varchar not null,
                row_number bigint not null,
                {columns},
                nik_numeric boolean not null,
                kk_numeric boolean not null,
                malformed boolean not null,
                extra json
            )
            """
        )


def _upgrade_file_ids(con: duckdb.DuckDBPyConnection) -> None:
    """Give an ``ingest_file`` of an older warehouse its ``file_id`` column, numbering the files
    it holds 1, 2, ... in the order they were recorded (``loaded_at``, then name and SHA-256)."""
    columns = {
        name
        for (name,) in con.execute(
            "select column_name from duckdb_columns() where table_name = 'ingest_file' "
            "and schema_name = current_schema() and database_name = current_database()"
        ).fetchall()
    }
    if "file_id" in columns:
        return
    con.execute("alter table ingest_file add column file_id integer")
    con.execute(
        """
        update ingest_file set file_id = numbered.file_id
        from (
            select sha256,
                cast(row_number() over (order by loaded_at, file_name, sha256) as integer)
                    as file_id
            from ingest_file
        ) as numbered
        where numbered.sha256 = ingest_file.sha256
        """
    )
    log.info("ingest_file: file_id added and assigned to the files already recorded")


def next_file_id(con: duckdb.DuckDBPyConnection) -> int:
    """The ``file_id`` of the next distinct content: one more than the largest recorded."""
    (next_id,) = con.execute("select coalesce(max(file_id), 0) + 1 from ingest_file").fetchall()[0]
    return int(next_id)


def load_new_files(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    run_id: str,
    on_file: Callable[[int, int, str], None] | None = None,
) -> list[FileOutcome]:
    """Discover the raw folder (name order), skip content already loaded, quarantine file-level
    problems and load every other file into ``raw_<kind>`` with a fresh ``load_id``
    (``<run_id>-<nnnn>``). One outcome per file found, in name order.

    ``on_file(index, total, name)`` is told of each file before it is read (progress display).
    """
    ensure_tables(con)
    known = {
        sha: (name, outcome, reason, kind)
        for sha, name, outcome, reason, kind in con.execute(
            "select sha256, file_name, file_outcome, file_reason, kind from ingest_file"
        ).fetchall()
    }
    first_name_this_run: dict[str, str] = {}
    outcomes: list[FileOutcome] = []
    sequence = 0
    found, ignored = discover_all(settings.raw_dir)
    outcomes.extend(_ignored(entry) for entry in ignored)
    for index, raw in enumerate(found):
        if on_file is not None:
            on_file(index, len(found), raw.name)
        try:
            sha = sha256_of(raw.path)
        except OSError as error:
            outcomes.append(_unopenable(raw, error))
            continue
        kind = raw.parsed.kind
        if sha in known:
            first, outcome, reason, known_kind = known[sha]
            message = _already_seen(raw.name, first, outcome, reason)
            outcomes.append(
                FileOutcome(
                    raw.name, sha, known_kind or kind, "already_loaded", None, 0, 0, None, message
                )
            )
            continue
        if sha in first_name_this_run:
            first = first_name_this_run[sha]
            outcomes.append(
                FileOutcome(
                    raw.name,
                    sha,
                    kind,
                    "quarantined",
                    "file_duplicate",
                    0,
                    0,
                    None,
                    f"{raw.name}: the same bytes as {first} in this run; it is not loaded "
                    "twice. Remove one of the copies.",
                )
            )
            continue
        first_name_this_run[sha] = raw.name
        sequence += 1
        outcome = _load_file(con, settings, run_id, raw, sha, f"{run_id}-{sequence:04d}")
        outcomes.append(outcome)
        level = logging.INFO if outcome.outcome == "loaded" else logging.WARNING
        log.log(
            level,
            "%s: %s %s rows=%d skipped=%d",
            raw.name,
            outcome.outcome,
            outcome.reason or "",
            outcome.rows_read,
            outcome.skipped_lines,
        )
    for outcome in outcomes:
        if outcome.outcome == "ignored":
            log.warning("%s: ignored: %s", outcome.file_name, outcome.message)
    return sorted(outcomes, key=lambda o: o.file_name)


def _ignored(entry: IgnoredEntry) -> FileOutcome:
    """The outcome of an entry of the raw folder that is not read."""
    return FileOutcome(
        entry.name,
        None,
        None,
        "ignored",
        FILE_IGNORED,
        0,
        0,
        None,
        f"{entry.name}: not read: {entry.why}.",
        (FileNote(FILE_IGNORED, entry.why),),
    )


def _already_seen(name: str, first: str, outcome: str, reason: str | None) -> str:
    """Message for content seen in an earlier run."""
    if outcome == "quarantined":
        return (
            f"{name}: same content as {first}, quarantined earlier ({reason}); it is not read "
            "again: drop a corrected file (different content) instead."
        )
    return f"{name}: same content as {first}, already loaded."


def _unopenable(raw: RawFile, error: OSError) -> FileOutcome:
    """A file that cannot be opened: ignored this run (``file_ignored``), tried again next run."""
    why = f"it cannot be opened ({type(error).__name__}); check its permissions"
    return FileOutcome(
        raw.name,
        None,
        raw.parsed.kind,
        "ignored",
        FILE_IGNORED,
        0,
        0,
        None,
        f"{raw.name}: {why}; it is tried again next run.",
        (FileNote(FILE_IGNORED, why),),
    )


def _load_file(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    run_id: str,
    raw: RawFile,
    sha: str,
    load_id: str,
) -> FileOutcome:
    """Read one new file, insert its rows, record it in ``ingest_file``."""
    parsed = raw.parsed
    program, channel = resolve_program(con, parsed) if parsed.problem is None else (None, None)
    record = {
        "sha256": sha,
        "file_id": next_file_id(con),
        "file_name": raw.name,
        "kind": parsed.kind,
        "period": parsed.period,
        "period_end": parsed.period_end,
        "program": program,
        "channel": channel,
        "stage": parsed.stage,
        "load_id": load_id,
        "file_format": None,
        "file_encoding": None,
        "file_bytes": raw.size,
        "run_id": run_id,
    }
    try:
        stats, rows_read, skipped = _read_and_insert(con, settings, raw, parsed, sha, load_id)
    except FileProblem as problem:
        _record(con, record, "quarantined", problem.reason, 0, 0, problem.message)
        return FileOutcome(
            raw.name,
            sha,
            parsed.kind,
            "quarantined",
            problem.reason,
            0,
            0,
            load_id,
            problem.message,
            problem.notes,
        )
    record.update(file_format=stats.file_format, file_encoding=stats.encoding)
    _record(con, record, "loaded", None, rows_read, skipped, None)
    return FileOutcome(
        raw.name, sha, parsed.kind, "loaded", None, rows_read, skipped, load_id, None, stats.notes
    )


def _read_and_insert(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    raw: RawFile,
    parsed: FileName,
    sha: str,
    load_id: str,
) -> tuple[ReadStats, int, int]:
    """Read the file on a cursor of its own and stream its data rows into ``raw_<kind>``."""
    if parsed.kind is None or parsed.problem:
        raise FileProblem(
            "file_kind_unknown",
            f"{raw.name}: {parsed.problem}; name files as in docs/contract/raw-extracts.md (e.g. "
            "dtsen_keluarga_3375_202606.csv, salur_pkh_bri_202606_tahap2.csv, "
            "pbi_jk_202606.xlsx, bantuan_modal_usaha_2026.xlsx) and drop the file again.",
        )
    limits = settings.limits
    if raw.size > limits.max_file_bytes:
        raise FileProblem(
            FILE_TOO_LARGE,
            f"{raw.name}: {raw.size} bytes, more than the limit of {limits.max_file_bytes} "
            "(TKPK_MAX_FILE_BYTES); split the export or raise the limit.",
        )
    kind = parsed.kind
    cur = con.cursor()
    try:
        try:
            file_format = sniff_format(raw.path)
            if file_format == "csv":
                stats = csv_reader.read_csv_records(
                    cur, raw.path, kind, settings.temp_dir, limits
                )
            else:
                stats = spreadsheet.read_sheet_records(cur, raw.path, kind, limits, file_format)
            rows_read, non_data = lines.classify_records(cur, stats.header, kind)
            csv_reader.account_lines(cur, raw.name, stats)
        except FileProblem:
            raise
        except Exception as error:  # hostile input must never crash the run
            # Only the error type is logged: messages may quote cell values (personal data).
            log.warning("%s: the reader failed with %s", raw.name, type(error).__name__)
            raise FileProblem(
                "file_unreadable",
                f"{raw.name}: the file could not be read ({type(error).__name__}); check that it "
                "is a complete CSV or XLSX export and drop it again.",
            ) from None
        skipped = stats.skipped_before_data + stats.blank_lines_dropped + non_data
        _insert_rows(con, cur, kind, stats.header, raw.name, sha, load_id)
        return stats, rows_read, skipped
    finally:
        cur.close()


def _insert_rows(
    con: duckdb.DuckDBPyConnection,
    cur: duckdb.DuckDBPyConnection,
    kind: str,
    header: Header,
    file_name: str,
    sha: str,
    load_id: str,
) -> None:
    """Project the data rows onto the raw table's columns and stream them into ``con``."""
    selected = []
    for canonical, name in zip(COLUMNS[kind], raw_columns(kind), strict=True):
        position = header.position_of(canonical)
        selected.append(f"c{position} as {name}" if position is not None else f"null as {name}")
    flags = []
    for canonical, name in (("NIK", "nik_numeric"), ("NO_KK", "kk_numeric")):
        position = header.position_of(canonical)
        flags.append(
            f"coalesce(n{position}, false) as {name}"
            if position is not None
            else f"false as {name}"
        )
    extras = [c for c in header.columns if c.canonical is None]
    extra_json = (
        "json_object(" + ", ".join(f"{sql_literal(c.name)}, c{c.index}" for c in extras) + ")"
        if extras
        else "null::json"
    )
    query = f"""
        select row_number, {", ".join(selected)}, {", ".join(flags)}, malformed,
               case when malformed then json_object(
                        '{MALFORMED_LINE_KEY}', raw_line,
                        '{MALFORMED_ERROR_KEY}', error)
                    else {extra_json} end as extra
        from _data
    """
    # The lineage constants are added on the warehouse side, not carried through Arrow.
    batches = cur.sql(query).to_arrow_reader(INSERT_BATCH_ROWS)
    con.register("_raw_batches", batches)
    try:
        with _serial_append(con):
            con.execute(
                f"""
                insert into {raw_table(kind)} by name
                select ?::varchar as load_id, ?::varchar as sha256, ?::varchar as file_name, *
                from _raw_batches
                """,
                [load_id, sha, file_name],
            )
    except BaseException:
        # A failed insert aborts the caller's transaction, where unregistering fails too: the
        # insert's own error is the one to raise.
        with suppress(duckdb.Error):
            con.unregister("_raw_batches")
        raise
    con.unregister("_raw_batches")


@contextmanager
def _serial_append(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Run the block's INSERT on one DuckDB thread, so that it appends to the end of the table.

    With more threads DuckDB plans the INSERT as a parallel batch insert: each statement writes
    its rows as row groups of their own and leaves its last one partial, so a run left one partial
    row group behind every file, in the middle of the table. Each full checkpoint that followed
    (at the close of the run, at the commit of the next one) merged ("vacuumed") some of them with
    their neighbours, one pass at a time, rewriting rows loaded by earlier runs: at 100,000
    households about 100 of raw_pbi's 184 blocks, 2.4 s CPU, in the incremental run's commit. On
    one thread the inserts of a transaction take the plain append, which fills the table's last
    row group before it starts a new one: a run leaves its files' rows as full row groups and one
    partial row group at the end, which later checkpoints do not rewrite. Reading and classifying
    the file (the heavy part) ran before, in parallel, on the file's own cursor; only projecting
    its materialised rows and compressing them run here. ``threads`` is a database-wide setting,
    set on a cursor of its own so that it is restored even when the insert fails and leaves the
    caller's transaction aborted.
    """
    with con.cursor() as settings_cursor:
        threads = int(settings_cursor.execute("select current_setting('threads')").fetchone()[0])
        settings_cursor.execute("set threads = 1")
        try:
            yield
        finally:
            settings_cursor.execute(f"set threads = {threads}")


def _record(
    con: duckdb.DuckDBPyConnection,
    record: dict,
    outcome: str,
    reason: str | None,
    rows_read: int,
    skipped: int,
    message: str | None,
) -> None:
    """Insert the file's ``ingest_file`` row."""
    values = {
        **record,
        "file_outcome": outcome,
        "file_reason": reason,
        "rows_read": rows_read,
        "skipped_lines": skipped,
        "loaded_at": datetime.now(),
        "file_message": message,
    }
    names = list(values)
    con.execute(
        f"insert into ingest_file ({', '.join(names)}) values ({', '.join('?' * len(names))})",
        [values[n] for n in names],
    )
