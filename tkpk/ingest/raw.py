"""Raw load: every new file in the raw folder, read once and staged as typed rows in the run's
scratch folder, and one ``ingest_file`` row per distinct content (with its ``file_id``).

Entry point: :func:`load_new_files`. It does not open or commit a transaction: the nightly flow
runs it inside its own. The files are read on a separate cursor (:class:`Reader`), so a file
that breaks the reader is quarantined without aborting the caller's transaction. Its classified
data rows (text) then go through ``transforms/staging/stg_<kind>.sql`` on the same cursor
(:func:`stage_rows`: one statement per file; the rows never leave DuckDB) into one Parquet file
of the run's scratch (``<scratch>/<run_id>/staged/<kind>/<file_id>.parquet``), which
``tkpk.ingest.accept.process_loads`` validates and decides. Nothing of the file's text is stored
in the warehouse here: the files in the raw folder (with their SHA-256) are the record, and the
row as read (``raw_text``) stays in scratch, for the quarantined rows' and flagged fields' raw
values, in a file beside the staged rows holding only the rows that can be quarantined or flagged
(:func:`raw_text_file`): those the kind's suite flags, those of a key repeated in the file
(``KEY_WITHIN_PERIOD``) and the members whose household is not surely accepted
(``ACCEPTED_WITH``; household files are read first for that).
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from tkpk.config import Settings
from tkpk.db import MACROS_SQL, sql_literal
from tkpk.ingest import csv_reader, lines, spreadsheet
from tkpk.ingest.csv_bytes import LineScan, raw_scan
from tkpk.ingest.files import (
    FileName,
    IgnoredEntry,
    RawFile,
    discover_all,
    resolve_program,
)
from tkpk.ingest.hash_cache import HashCache
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
from tkpk.ingest.scratch import staged_dir
from tkpk.suite_sql import (
    TABLE_LEVEL,
    row_predicate,
    scan_fingerprint,
    scan_predicate,
    suite_path,
)

log = logging.getLogger(__name__)

#: File-level reason for a resource limit (file size, decompressed size, cells, line length).
FILE_TOO_LARGE = EXTRA_FILE_REASONS[0]
#: The reference tables ``transforms/staging/stg_*.sql`` read.
STAGING_REFERENCES = ("ref_area", "ref_area_alias", "ref_program", "ref_program_alias")
#: The per-file relations the staging SQL reads: the records, the file's attributes.
FILE_ROWS = "_file_rows"
FILE_ATTRIBUTES = "_file"
#: The one-row ``_file`` relation: the file's attributes (from ``ingest_file``, name parsed once).
FILE_SCHEMA = pa.schema(
    [
        ("load_id", pa.string()),
        ("file_id", pa.int32()),
        ("sha256", pa.string()),
        ("file_name", pa.string()),
        ("period", pa.date32()),
        ("period_end", pa.date32()),
        ("program", pa.string()),
        ("channel", pa.string()),
        ("stage", pa.int16()),
    ]
)

#: The row as read (``raw_text``) of a staged row is kept in scratch only for the rows that can be
#: quarantined or flagged, in a file beside the staged rows (:func:`raw_text_file`): writing the
#: text of every row was a quarter of a kind's staging statement. A row is quarantined or flagged
#: by its kind's suite's row-wise expectations (:func:`raw_kept_predicate`), for a kind of
#: ``KEY_WITHIN_PERIOD`` for a natural key repeated within its snapshot, and for a kind of
#: ``ACCEPTED_WITH`` (members) for a row of another kind (its household) not accepted.
#:
#: Kinds quarantined also for a natural key repeated within their snapshot (the columns of the
#: key beside the file's period; a member's is its NIK when the NIK is not flagged, and a flagged
#: row keeps its text anyway): the rows of a key repeated within the file keep their raw text,
#: and every row does when another file of the kind has the same period (loaded before, or in
#: this run: :func:`load_new_files`), whose rows the key may repeat.
KEY_WITHIN_PERIOD = {"households": ("id_keluarga",), "members": ("id_keluarga", "nik")}
#: kind -> (the kind whose row must be accepted in the same period, the column linking them): a
#: member is quarantined when its household is not accepted in its snapshot, which staging
#: knows for sure only of the household rows of the period staged in this run that keep no raw
#: text (no row-wise failure, no repeated key, the only file of its period: such a row is
#: accepted). Every other member row keeps its raw text.
ACCEPTED_WITH = {"members": ("households", "id_keluarga")}
#: Kinds the raw load reads before the others (:func:`load_new_files`): those of ``ACCEPTED_WITH``.
STAGED_FIRST = tuple(dict.fromkeys(kind for kind, _ in ACCEPTED_WITH.values()))
#: While true (:func:`every_raw_text`), the raw load keeps every row's record as read, for every
#: kind (inspection: the reader tests read the records of clean rows too).
_EVERY_RAW_TEXT = [False]

#: How the staged rows are written (``COPY`` options): scratch, written once and read by the
#: validate stage of the same run, so written for cheap writing and reading rather than size:
#: Parquet 2 encodings (delta-encoded integers and texts) without a compression codec. At 100k
#: (``benchmarks/validate_probe.py``): the staging statement of a big file -5 to -8 % CPU, the
#: validate stage reading them 13.0-13.4 -> 12.0-12.6 s CPU; the files are 1.5 times larger.
STAGED_PARQUET = "format parquet, parquet_version v2, compression uncompressed"
#: The staged rows' columns that are the file's own attributes as text, the same on every row of
#: a file: the staged Parquet does not hold them (writing three constant texts per row was ~25 %
#: of a member file's and half of a PBI-JK file's Parquet write) and :func:`staged_columns` takes
#: them from the file's row (``ingest_batch``, by ``file_id``). The staging SQL selects them first,
#: around ``file_id`` (``tests/test_staging.py`` checks), which :func:`staged_columns` keeps.
FILE_COLUMNS = ("load_id", "sha256", "file_name")
#: The program records' column that is the file's kind (``'pbi'`` on every row of a PBI-JK file:
#: ``ingest_batch.kind``), of these kinds: the staged Parquet holds it as NULL (in its place, so
#: the columns keep the staging's order) and :func:`staged_columns` puts the kind in. A constant
#: text cost ~0.05 us per row to write (17 M PBI-JK rows at 1,000,000 households); a NULL ~0.01;
#: the kind put back is a constant (``stage`` reads the files of one kind): no per-row read.
#: No suite rule reads it (the raw load's kept predicate runs over the staged Parquet);
#: ``tests/test_staging.py`` checks the staging SQL's text is the kind.
KIND_COLUMN = ("source_kind", ("disbursements", "pbi", "local"))


def staged_columns(staged: str, batch: str, kind: str) -> str:
    """The staging's columns of ``kind``, in its order, over a staged Parquet file of that kind
    (``staged``: without ``FILE_COLUMNS``, ``KIND_COLUMN`` NULL) joined to its file's row of
    ``ingest_batch`` (``batch``)."""
    column, kinds = KIND_COLUMN
    replace = f" replace ({sql_literal(kind)} as {column})" if kind in kinds else ""
    return (
        f"{batch}.load_id, {staged}.file_id, {batch}.sha256, {batch}.file_name, "
        f"{staged}.* exclude (file_id){replace}"
    )


def _without_file_columns(select: str, kind: str) -> str:
    """``select`` (the staging SQL of ``kind``) without ``FILE_COLUMNS`` and with
    ``KIND_COLUMN`` NULL: what the staged Parquet holds."""
    column, kinds = KIND_COLUMN
    replace = f" replace (cast(null as varchar) as {column})" if kind in kinds else ""
    return f"select * exclude ({', '.join(FILE_COLUMNS)}){replace} from ({select})"


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
    #: the Parquet file of the staged rows of a loaded file (the run's scratch)
    staged: str | None = None


def raw_table(kind: str) -> str:
    """The name of the raw table a kind had before the single pass (dropped on upgrade)."""
    return f"raw_{kind}"


def raw_columns(kind: str) -> list[str]:
    """The canonical columns of a kind as raw-table column names (lower case)."""
    return [name.lower() for name in COLUMNS[kind]]


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``ingest_file`` when missing; upgrade an older warehouse (``file_id``, raw tables
    dropped)."""
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
    _drop_raw_tables(con)


def _drop_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the ``raw_<kind>`` tables of a warehouse from before the single pass (the raw text
    of every row); the NIK digits as read of an accepted member whose NIK was flagged, which the
    members decision compares with, are kept first in ``member_nik_as_read``."""
    existing = {
        name
        for (name,) in con.execute(
            "select table_name from duckdb_tables() where schema_name = current_schema() "
            "and database_name = current_database()"
        ).fetchall()
    }
    if "raw_members" in existing and "registry_members" in existing:
        from tkpk.ingest.accept import TABLE_DDL

        con.execute(
            f"create table if not exists member_nik_as_read ({TABLE_DDL['member_nik_as_read']})"
        )
        con.execute(
            """
            insert into member_nik_as_read
            select m.sha256, m.row_number,
                coalesce(id_digits(clean_text(r.nik), r.nik_numeric), '') as nik_as_read
            from registry_members as m
            join raw_members as r on r.sha256 = m.sha256 and r.row_number = m.row_number
            where m.nik is null
            """
        )
    for kind in KINDS:
        if raw_table(kind) in existing:
            con.execute(f"drop table {raw_table(kind)}")
            log.info("%s dropped: the raw files are the record of their rows", raw_table(kind))


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
    problems and stage every other file's rows (``FileOutcome.staged``) with a fresh ``load_id``
    (``<run_id>-<nnnn>``) and ``file_id``, both numbered in name order. One outcome per file
    found, in name order.

    The files are read in name order too, but those of the kinds of ``STAGED_FIRST`` before the
    others (:func:`_reading_order`): a member file's rows keep their record as read only when
    their household is not surely accepted, which its period's household files staged in this
    run tell (:func:`stage_rows`). The numbers are given in name order first, so the ids, the
    outcomes and the staged rows do not depend on the reading order.

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
    #: file name -> (SHA-256, load_id, file_id) of the new contents, numbered in name order
    planned: dict[str, tuple[str, str, int]] = {}
    found, ignored = discover_all(settings.raw_dir)
    shared = _shared_periods(found)
    hashes = HashCache(settings.raw_hash_cache)
    # the same read of each new file gives its hash and the CSV reader's scan of its bytes
    hashes.prefetch((raw.path for raw in found), functools.partial(raw_scan, settings.limits))
    outcomes.extend(_ignored(entry) for entry in ignored)
    first_file_id = next_file_id(con)
    for raw in found:
        try:
            sha = hashes.sha256(raw.path)
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
        sequence = len(planned) + 1
        planned[raw.name] = (sha, f"{run_id}-{sequence:04d}", first_file_id + sequence - 1)
    references: dict[str, pa.Table] | None = None
    #: (kind, period) -> the staged files of the kind's files of that period read in this run
    staged: dict[tuple[str | None, object], list[Path]] = {}
    reader = Reader(con)
    try:
        for index, raw in enumerate(_reading_order(found)):
            if on_file is not None:
                on_file(index, len(found), raw.name)
            if raw.name not in planned:
                continue
            sha, load_id, file_id = planned[raw.name]
            if references is None:
                references = staging_references(con)
            needed = ACCEPTED_WITH.get(raw.parsed.kind or "")
            outcome = _load_file(
                con, settings, run_id, raw, sha, load_id, file_id, references,
                (raw.parsed.kind, raw.parsed.period) in shared,
                staged.get((needed[0], raw.parsed.period), []) if needed else None,
                reader,
                hashes.scan_of(raw.path),
            )
            if outcome.staged:
                staged.setdefault((raw.parsed.kind, raw.parsed.period), []).append(
                    Path(outcome.staged)
                )
            outcomes.append(outcome)
            _log_outcome(raw, outcome)
    finally:
        reader.close()
    hashes.save()
    for outcome in outcomes:
        if outcome.outcome == "ignored":
            log.warning("%s: ignored: %s", outcome.file_name, outcome.message)
    return sorted(outcomes, key=lambda o: o.file_name)


def _log_outcome(raw: RawFile, outcome: FileOutcome) -> None:
    """Log one new file's outcome (a warning unless it was loaded)."""
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


class Reader:
    """The cursor the raw load reads and stages its files on, one file after the other: a
    connection of its own (a file that breaks DuckDB's reader never aborts the caller's
    transaction), prepared for the staging SQL (:func:`_prepare_staging`: the macros, the run's
    reference tables) once instead of once per file (~25 ms each, 88 files a night at 1M). After
    a file its temporary tables and views are dropped; a file whose read or staging raises
    closes the cursor, and the next file gets a fresh one."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self._con = con
        self._cursor: duckdb.DuckDBPyConnection | None = None
        self._prepared: set[str] = set()

    @contextmanager
    def file_cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The cursor for one file's read and staging (opened when needed)."""
        if self._cursor is None:
            self._cursor = self._con.cursor()
            self._prepared = set()
        try:
            yield self._cursor
        except BaseException:
            self.close()
            raise
        _drop_file_objects(self._cursor, self._prepared)

    def prepare(self, references: dict[str, pa.Table]) -> None:
        """:func:`_prepare_staging` on the cursor, once."""
        assert self._cursor is not None
        if not self._prepared:
            _prepare_staging(self._cursor, references)
            self._prepared = set(references)

    def close(self) -> None:
        """Close the cursor (if open)."""
        if self._cursor is not None:
            with suppress(duckdb.Error):
                self._cursor.close()
            self._cursor = None


def _drop_file_objects(cur: duckdb.DuckDBPyConnection, keep: set[str]) -> None:
    """Drop the temporary tables and views a file's read and staging left on ``cur`` (its
    records), all but ``keep`` (the registered reference tables)."""
    objects = cur.execute(
        "select 'table', table_name from duckdb_tables() where temporary "
        "union all select 'view', view_name from duckdb_views() where temporary and not internal"
    ).fetchall()
    drops = [f'drop {what} "{name}"' for what, name in objects if name not in keep]
    if drops:
        cur.execute("; ".join(drops))


def _reading_order(found: list[RawFile]) -> list[RawFile]:
    """The files of ``found`` (name order) in the order the raw load reads them: those of the
    kinds of ``STAGED_FIRST`` first (in that order), then the others, each in name order."""
    rank = {kind: position for position, kind in enumerate(STAGED_FIRST)}
    return sorted(found, key=lambda raw: rank.get(raw.parsed.kind or "", len(rank)))


def _shared_periods(found: list[RawFile]) -> set[tuple[str | None, object]]:
    """(kind, period) of the kinds of ``KEY_WITHIN_PERIOD`` that more than one file of the raw
    folder has: their rows keep every row's raw text (a key may repeat across the files)."""
    seen: set[tuple[str | None, object]] = set()
    shared: set[tuple[str | None, object]] = set()
    for raw in found:
        key = (raw.parsed.kind, raw.parsed.period)
        if raw.parsed.kind in KEY_WITHIN_PERIOD:
            (shared if key in seen else seen).add(key)
    return shared


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
    file_id: int,
    references: dict[str, pa.Table],
    shared_period: bool = False,
    accepted_from: list[Path] | None = None,
    reader: Reader | None = None,
    scan: LineScan | None = None,
) -> FileOutcome:
    """Read one new file, stage its rows, record it in ``ingest_file`` (``shared_period``: another
    file of the raw folder has its kind and period; ``accepted_from``: :func:`stage_rows`;
    ``reader``: the cursor to read on, :func:`_read_and_stage`; ``scan``: the scan of the file's
    bytes made while hashing them, :func:`tkpk.ingest.csv_reader.read_csv_records`)."""
    parsed = raw.parsed
    program, channel = resolve_program(con, parsed) if parsed.problem is None else (None, None)
    record = {
        "sha256": sha,
        "file_id": file_id,
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
        stats, rows_read, skipped, staged = _read_and_stage(
            con, settings, run_id, raw, record, references, shared_period, accepted_from, reader,
            scan,
        )
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
        raw.name,
        sha,
        parsed.kind,
        "loaded",
        None,
        rows_read,
        skipped,
        load_id,
        None,
        stats.notes,
        str(staged),
    )


def _read_and_stage(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    run_id: str,
    raw: RawFile,
    record: dict,
    references: dict[str, pa.Table],
    shared_period: bool = False,
    accepted_from: list[Path] | None = None,
    reader: Reader | None = None,
    scan: LineScan | None = None,
) -> tuple[ReadStats, int, int, Path]:
    """Read the file on a cursor of its own (``reader``'s, else a new one), then stage its data
    rows into the run's scratch from that cursor: the records never leave DuckDB
    (``references``: the run's reference tables, :func:`staging_references`)."""
    parsed: FileName = raw.parsed
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
    own = reader is None
    reader = reader or Reader(con)
    try:
        with reader.file_cursor() as cur:
            return _read_and_stage_on(
                cur, reader, settings, run_id, raw, record, references, shared_period,
                accepted_from, scan,
            )
    finally:
        if own:
            reader.close()


def _read_and_stage_on(
    cur: duckdb.DuckDBPyConnection,
    reader: Reader,
    settings: Settings,
    run_id: str,
    raw: RawFile,
    record: dict,
    references: dict[str, pa.Table],
    shared_period: bool,
    accepted_from: list[Path] | None,
    scan: LineScan | None = None,
) -> tuple[ReadStats, int, int, Path]:
    """:func:`_read_and_stage` on ``reader``'s cursor ``cur``."""
    kind = raw.parsed.kind
    assert kind is not None
    limits = settings.limits
    try:
        file_format = sniff_format(raw.path)
        if file_format == "csv":
            stats = csv_reader.read_csv_records(
                cur, raw.path, kind, settings.temp_dir, limits, scan
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
    target = staged_dir(settings.scratch_dir, run_id, kind) / f"{record['file_id']}.parquet"
    reader.prepare(references)
    stage_rows(
        cur, kind, _records_sql(kind, stats.header), record, target,
        shared_period or _period_loaded_before(cur, kind, record), accepted_from,
    )
    return stats, rows_read, skipped, target


def _records_sql(kind: str, header: Header) -> str:
    """SELECT over the reader's ``_data``: the data rows as the kind's canonical columns (text;
    null when the file lacks one), ``nik_numeric`` / ``kk_numeric``, ``malformed`` and ``extra``
    (the columns outside the contract as JSON; a malformed line's text and error)."""
    selected = []
    for canonical, name in zip(COLUMNS[kind], raw_columns(kind), strict=True):
        position = header.position_of(canonical)
        selected.append(
            f"cast(c{position} as varchar) as {name}"
            if position is not None
            else f"null::varchar as {name}"
        )
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
    return f"""
        select row_number, {", ".join(selected)}, {", ".join(flags)}, malformed,
               case when malformed then json_object(
                        '{MALFORMED_LINE_KEY}', raw_line,
                        '{MALFORMED_ERROR_KEY}', error)
                    else {extra_json} end as extra
        from _data
    """


def staging_references(con: duckdb.DuckDBPyConnection) -> dict[str, pa.Table]:
    """The reference tables the staging SQL reads, as Arrow (small), from the caller's
    connection: the run installs them in its own transaction, which the reader's cursor does
    not see, so :func:`_prepare_staging` registers these copies there."""
    return {t: con.sql(f"select * from {t}").to_arrow_table() for t in STAGING_REFERENCES}


def _prepare_staging(cur: duckdb.DuckDBPyConnection, references: dict[str, pa.Table]) -> None:
    """Give a reader's cursor what the staging SQL needs: the macros (temporary, per
    connection) and the run's reference tables (registered; they shadow the committed ones)."""
    cur.execute(MACROS_SQL.read_text())
    for name, table in references.items():
        cur.register(name, table)


def _period_loaded_before(c: duckdb.DuckDBPyConnection, kind: str, record: dict) -> bool:
    """Whether a file of ``kind`` (of ``KEY_WITHIN_PERIOD``) with the period of ``record`` was
    loaded by an earlier run (committed ``ingest_file``: the rows accepted then are compared)."""
    if kind not in KEY_WITHIN_PERIOD:
        return False
    try:
        (count,) = c.execute(
            "select count(*) from ingest_file where kind = ? and period = ? "
            "and file_outcome = 'loaded' and file_id is distinct from ?",
            [kind, record.get("period"), record.get("file_id")],
        ).fetchall()[0]
    except duckdb.CatalogException:  # no ingest_file committed yet: no earlier file
        return False
    return count > 0


def stage_rows(
    c: duckdb.DuckDBPyConnection,
    kind: str,
    records_sql: str,
    record: dict,
    target: Path,
    every_row: bool = True,
    accepted_from: list[Path] | None = None,
) -> int:
    """Run ``transforms/staging/stg_<kind>.sql`` over one file's records (``records_sql``:
    ``row_number``, the canonical columns as text, ``nik_numeric``, ``kk_numeric``,
    ``malformed``, ``extra``) with the file's attributes ``record`` (its ``ingest_file`` values)
    and write the typed rows, in file order, to the Parquet file ``target``; return the rows
    written.

    One statement per file, on ``c``: the raw load's reader cursor, where the records are (the
    macros and reference tables are prepared there, :func:`_prepare_staging`). Nothing is
    stored in the warehouse. The record as read (``raw_text``: its canonical columns, flags and
    ``extra``), for the quarantine's ``raw_values`` and the flagged fields' ``raw_value``, is
    written by a second statement to :func:`raw_text_file` for the staged rows
    :func:`raw_kept_predicate` holds for (read back from ``target``: a few columns), and only
    for them; for a kind of ``KEY_WITHIN_PERIOD`` also for the rows of a key repeated within
    the file, and for every row with ``every_row`` (another file of the kind and period: the raw
    load says when; true for the hand-written files of :func:`stage_arrow`, whose order of files
    is the caller's); for a kind of ``ACCEPTED_WITH`` also for the rows whose row of the other
    kind is not surely accepted, as told by ``accepted_from`` (the staged files of the other
    kind's files of the period, staged in this run: :func:`surely_accepted_sql`); without them
    for every row.
    """
    from tkpk.ingest.accept import staging_sql

    if kind in ACCEPTED_WITH and not accepted_from:
        every_row = True  # no row of the other kind surely accepted
    with _file_relations(c, kind, records_sql, record):
        (written,) = c.execute(
            f"copy ({_without_file_columns(staging_sql(kind), kind)}) to {sql_literal(target)} "
            f"({STAGED_PARQUET})"
        ).fetchall()[0]
        _write_raw_text(
            c, kind, target, every_row and kind in KEY_WITHIN_PERIOD, accepted_from or []
        )
    return int(written)


def raw_text_file(staged: Path | str) -> Path:
    """The Parquet file beside the staged file ``staged`` (``<file_id>.parquet``): ``file_id``,
    ``row_number`` and ``raw_text`` (the record as read) of the staged rows whose raw text is
    kept (``<file_id>.raw.parquet``)."""
    staged = Path(staged)
    return staged.with_name(f"{staged.stem}.raw.parquet")


def raw_kept_predicate(kind: str, types: dict[str, str]) -> str:
    """SQL over a staged row of ``kind`` (columns of ``types``, column -> DuckDB type): true on the
    rows whose record as read is kept, a superset of the rows the decision quarantines or flags
    for their own values (:func:`_write_raw_text` adds the rows of a repeated key of
    ``KEY_WITHIN_PERIOD`` and those of ``ACCEPTED_WITH`` whose other row is not surely
    accepted). ``true`` for a suite with an expectation that judges a row against other rows;
    else a malformed line or a row that fails a row-wise expectation of
    ``expectations/stg_<kind>.json`` (compiled by ``tkpk.suite_sql``, as the validation does:
    the same rows; the disjunction is ``scan_predicate``'s, one regular expression per NIK)."""
    return _kept_rule(kind, types)[0]


def raw_kept_fingerprint(kind: str, types: dict[str, str]) -> str | None:
    """The ``suite_sql.scan_fingerprint`` of the row-wise rules :func:`raw_kept_predicate`
    evaluates (the suite's scan predicate), recorded in the :func:`raw_text_file` it chose the
    rows of (:data:`KEPT_FINGERPRINT`); None when it keeps every row or judges no row-wise
    rule (nothing to trust)."""
    return _kept_rule(kind, types)[1]


def _kept_rule(kind: str, types: dict[str, str]) -> tuple[str, str | None]:
    """(:func:`raw_kept_predicate`, :func:`raw_kept_fingerprint`) of ``kind``."""
    if _EVERY_RAW_TEXT[0]:
        return "true", None
    text = suite_path(f"stg_{kind}").read_text(encoding="utf-8")
    return _compiled_kept_rule(text, tuple(types.items()))


@functools.lru_cache(maxsize=64)
def _compiled_kept_rule(
    suite_text: str, types: tuple[tuple[str, str], ...]
) -> tuple[str, str | None]:
    """:func:`_kept_rule` of a suite (its JSON text) over staged rows of ``types``, compiled once
    per process (the same for every file of a kind: ~9 ms of Python per file)."""
    suite = json.loads(suite_text)
    expectations = dict(enumerate(suite.get("expectations", [])))
    predicates: dict[int, str] = {}
    column_types = dict(types)
    for index, expectation in expectations.items():
        predicate = row_predicate(expectation, column_types)
        if predicate is not None:
            predicates[index] = predicate
        elif expectation["type"] not in TABLE_LEVEL:
            return "true", None  # a rule across rows: keep every row's text
    if not predicates:
        return "(malformed)", None
    # the disjunction as the suite's own scan evaluates it: a column's implied regular
    # expressions only where its stricter one fails (the same rows, one expression per value)
    scan = scan_predicate(expectations, predicates, column_types)
    return "(malformed) or " + scan, scan_fingerprint(scan)


#: The key of the :func:`raw_text_file`'s Parquet key-value metadata that holds the
#: :func:`raw_kept_fingerprint` of the rules that chose its rows (absent: the file keeps every
#: row, or was written without it); the validation trusts the kept rows only with it
#: (:func:`kept_fingerprints`, ``tkpk.suite_run.Prejudged``).
KEPT_FINGERPRINT = "tkpk_kept_by"


def kept_fingerprints(c: duckdb.DuckDBPyConnection, staged: list[Path | str]) -> dict[str, str]:
    """Staged file (as given) -> the :data:`KEPT_FINGERPRINT` recorded in its
    :func:`raw_text_file` (files without one are left out)."""
    if not staged:
        return {}
    by_raw = {str(raw_text_file(p)): str(p) for p in staged}
    rows = c.execute(
        "select file_name, decode(value) from parquet_kv_metadata(?) where decode(key) = ?",
        [list(by_raw), KEPT_FINGERPRINT],
    ).fetchall()
    return {by_raw[name]: value for name, value in rows if name in by_raw}


@contextmanager
def every_raw_text() -> Iterator[None]:
    """In the block, the raw load keeps the record as read of every row of every kind (in
    :func:`raw_text_file`): for inspecting what the reader read; the outcomes are the same."""
    _EVERY_RAW_TEXT[0] = True
    try:
        yield
    finally:
        _EVERY_RAW_TEXT[0] = False


def surely_accepted_sql(staged: list[Path], column: str) -> str:
    """SELECT of ``column`` of the staged rows of ``staged`` (files of one kind and period, staged
    in this run) that keep no record as read (not in their :func:`raw_text_file`): rows of a
    kind of ``KEY_WITHIN_PERIOD`` without a row-wise failure, whose key neither repeats within
    the file nor may repeat another file's (else every row of the file keeps its record), which
    the decision accepts."""
    files = ", ".join(sql_literal(p) for p in staged)
    raws = ", ".join(sql_literal(raw_text_file(p)) for p in staged)
    return (
        f"select s.{column} from read_parquet([{files}]) as s "
        f"anti join read_parquet([{raws}]) as r "
        "on r.file_id = s.file_id and r.row_number = s.row_number"
    )


def _write_raw_text(
    c: duckdb.DuckDBPyConnection,
    kind: str,
    target: Path,
    every_row: bool = False,
    accepted_from: list[Path] | None = None,
) -> None:
    """Write :func:`raw_text_file` of ``target`` (the staged rows of one file, just written): the
    record as read of its rows that :func:`raw_kept_predicate` holds for, or whose key of
    ``KEY_WITHIN_PERIOD`` repeats within the file (NULL keys count as equal, as the decision's
    grouping does; compared by hash, so a collision keeps a few rows more), or (a kind of
    ``ACCEPTED_WITH``) whose row of the other kind is not among the surely accepted rows of
    ``accepted_from`` (:func:`surely_accepted_sql`), from ``_file_rows``; of every row with
    ``every_row``. The kept rows are a union of one narrow read of the staged rows per reason
    (cheaper than one read judging each row by all of them). The file's Parquet key-value
    metadata :data:`KEPT_FINGERPRINT` names the suite's compiled row-wise rules it kept every
    failing row of (:func:`raw_kept_fingerprint`; none with ``every_row``): the validation
    evaluates them only on these rows when its own scan has the same fingerprint."""
    staged = f"read_parquet({sql_literal(target)})"
    predicate, fingerprint = (
        ("true", None) if every_row else _kept_rule(kind, _staged_types(c, staged))
    )
    metadata = (
        f", kv_metadata {{{KEPT_FINGERPRINT}: {sql_literal(fingerprint)}}}" if fingerprint else ""
    )
    kept = [f"select row_number from {staged} as s where {predicate}"]
    if kind in KEY_WITHIN_PERIOD and predicate != "true":
        key = "hash(" + ", ".join(f"s.{column}" for column in KEY_WITHIN_PERIOD[kind]) + ")"
        kept.append(
            f"select s.row_number from {staged} as s semi join ("
            f"select key_hash from (select {key} as key_hash from {staged} as s) "
            f"group by key_hash having count(*) > 1) as k on k.key_hash = {key}"
        )
    if kind in ACCEPTED_WITH and predicate != "true":
        _, column = ACCEPTED_WITH[kind]
        accepted = surely_accepted_sql(accepted_from or [], column)
        kept.append(
            f"select s.row_number from {staged} as s "
            f"anti join ({accepted}) as a on a.{column} = s.{column}"
        )
    c.execute(
        f"""
        copy (
            select b.file_id, r.row_number, r.raw_text
            from {FILE_ROWS} as r
            cross join {FILE_ATTRIBUTES} as b
            semi join ({" union all ".join(kept)}) as k
                on k.row_number = r.row_number
            order by r.row_number
        ) to {sql_literal(raw_text_file(target))} (format parquet{metadata})
        """
    )


def _staged_types(c: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    """Column -> DuckDB type of ``relation``."""
    rows = c.execute(f"describe select * from {relation}").fetchall()
    return {str(row[0]): str(row[1]) for row in rows}


def stage_arrow(
    con: duckdb.DuckDBPyConnection, kind: str, records: pa.Table, record: dict, target: Path
) -> int:
    """:func:`stage_rows` of records given as an Arrow table (``records_schema``) on ``con``
    (which has the macros and reference tables): hand-written files of tests and benchmarks."""
    con.register("_file_records", records)
    try:
        return stage_rows(con, kind, "select * from _file_records", record, target)
    finally:
        with suppress(duckdb.Error):
            con.unregister("_file_records")


def stage_nothing(con: duckdb.DuckDBPyConnection, kind: str, table: str) -> None:
    """The temporary table ``table``: the staged rows of no file (the staged Parquet's columns:
    the staging's without ``FILE_COLUMNS``); and
    ``<table>_raw``: the records as read of no file (the columns of :func:`raw_text_file`)."""
    from tkpk.ingest.accept import staging_sql

    con.register("_file_records", pa.Table.from_pylist([], records_schema(kind)))
    try:
        with _file_relations(con, kind, "select * from _file_records", {}):
            con.execute(
                f"create or replace temp table {table} as "
                f"{_without_file_columns(staging_sql(kind), kind)}"
            )
            con.execute(
                f"create or replace temp table {table}_raw as select b.file_id, r.row_number, "
                f"r.raw_text from {FILE_ROWS} as r cross join {FILE_ATTRIBUTES} as b"
            )
    finally:
        with suppress(duckdb.Error):
            con.unregister("_file_records")


def records_schema(kind: str) -> pa.Schema:
    """The Arrow schema of a file's records (what :func:`_records_sql` selects)."""
    return pa.schema(
        [
            ("row_number", pa.int64()),
            *((c, pa.string()) for c in raw_columns(kind)),
            ("nik_numeric", pa.bool_()),
            ("kk_numeric", pa.bool_()),
            ("malformed", pa.bool_()),
            ("extra", pa.string()),
        ]
    )


@contextmanager
def _file_relations(
    c: duckdb.DuckDBPyConnection, kind: str, records_sql: str, record: dict
) -> Iterator[None]:
    """``_file_rows`` (the records of ``records_sql`` with ``raw_text``) and ``_file`` (the
    file's one row of attributes) on ``c`` for the block: what the staging SQL reads."""
    columns = [*raw_columns(kind), "nik_numeric", "kk_numeric", "malformed"]
    raw_text = ", ".join(f"{name} := r.{name}" for name in columns)
    attributes = pa.Table.from_pylist([{k: record.get(k) for k in FILE_SCHEMA.names}], FILE_SCHEMA)
    c.register(FILE_ATTRIBUTES, attributes)
    try:
        c.execute(
            f"""
            create or replace temp view {FILE_ROWS} as
            with r as ({records_sql})
            select r.* replace (cast(r.extra as json) as extra),
                struct_pack({raw_text}, extra := cast(r.extra as json)) as raw_text
            from r
            """
        )
        yield
        c.execute(f"drop view {FILE_ROWS}")
    finally:
        # After a failed statement the caller's transaction is aborted: unregistering may fail
        # too, and the statement's own error is the one to raise.
        with suppress(duckdb.Error):
            c.unregister(FILE_ATTRIBUTES)


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
