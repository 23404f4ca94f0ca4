"""Raw rows to the accepted, quarantine and duplicate sets, with data quality and reconciliation.

``process_loads`` takes the files the raw loader has just loaded (their ``load_id``) and, kind by
kind (households before members, so members are checked against their snapshot's households):

1. stages the new raw rows with ``transforms/staging/stg_<kind>.sql`` (rename, cast, normalise);
2. validates them with the suite ``expectations/stg_<kind>.json``, file by file, in bounded
   batches; each failing expectation's ``meta.reason`` is a contract reason code of its rows and
   its ``meta.severity`` says what the defect does: ``error`` quarantines the row, ``warn`` accepts
   it with the field set to null and records the defect in ``flagged_field``;
3. applies the cross-row rules in SQL: duplicate household keys (first valid row in file order
   wins, earlier runs first), members of unknown or quarantined households, exact repeats of an
   accepted row (same kind, natural key and values, across files and runs) as duplicates;
4. appends accepted rows to ``registry_households`` / ``registry_members`` / ``program_records``
   (their flagged fields null, one ``flagged_field`` row per defect), the others to
   ``quarantine`` (every reason, the raw values) or ``duplicate`` (with a pointer);
5. rebuilds ``snapshot_status``, writes ``ingest_data_quality`` (one row per run x file) and
   ``ingest_data_quality_reason``, and reconciles: for every file ``rows_read = accepted +
   quarantined + duplicate``, else ``ReconciliationError``.

Everything runs in the caller's transaction (the nightly flow's): nothing here begins or commits.
Scratch data stays out of that transaction: each kind's staged rows and decisions are Parquet files
in the run's scratch folder (``tkpk.ingest.scratch``), read through temporary views and deleted at
the end of the kind, so the transaction holds only the rows written to the warehouse's tables.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import duckdb

from tkpk.config import TRANSFORMS_DIR, Settings
from tkpk.db import sql_literal
from tkpk.ingest.reading import MALFORMED_ERROR_KEY
from tkpk.ingest.scratch import RunScratch
from tkpk.publish.atomic import crashpoint
from tkpk.validation import (
    DEFAULT_BATCH_ROWS,
    ValidationOutcome,
    load_suite,
    nulled_columns,
    validate_table,
)

log = logging.getLogger(__name__)

STAGING_DIR = TRANSFORMS_DIR / "staging"
#: Staged row id = file order x ROW_ID_FACTOR + row number (unique within a run's batch).
ROW_ID_FACTOR = 10_000_000_000

#: Kinds in processing order: households first (members are checked against them).
KIND_ORDER = ("households", "members", "disbursements", "pbi", "local")
PROGRAM_KINDS = ("disbursements", "pbi", "local")

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

#: Output tables of the ingest (docs/architecture.md), created when missing.
TABLE_DDL: dict[str, str] = {
    "registry_households": """
        snapshot date, id_keluarga varchar, no_kk varchar, kelurahan_code varchar,
        alamat varchar, rt smallint, rw smallint, jumlah_anggota smallint,
        pengeluaran_per_kapita decimal(18, 2), desil tinyint, luas_lantai decimal(12, 2),
        jenis_lantai tinyint, jenis_dinding tinyint, sumber_air_minum tinyint,
        sumber_penerangan tinyint, bahan_bakar_masak tinyint, fasilitas_bab tinyint,
        tanggal_pendataan date, sha256 varchar, file_name varchar, row_number bigint""",
    "registry_members": """
        snapshot date, id_keluarga varchar, nik varchar, nama varchar, jenis_kelamin varchar,
        tanggal_lahir date, hubungan_keluarga tinyint, pendidikan_tertinggi tinyint,
        status_sekolah tinyint, jaminan_kesehatan tinyint, disabilitas tinyint,
        status_bekerja tinyint, sha256 varchar, file_name varchar, row_number bigint""",
    "program_records": """
        program varchar, source_kind varchar, record_date date, period date, nik varchar,
        no_kk varchar, kelurahan_code varchar, amount_idr decimal(18, 2), status varchar,
        funding_source varchar, channel varchar, stage smallint, sha256 varchar,
        file_name varchar, row_number bigint""",
    "quarantine": """
        sha256 varchar, file_name varchar, kind varchar, row_number bigint, reasons varchar[],
        raw_values json, load_id varchar""",
    "duplicate": """
        sha256 varchar, file_name varchar, kind varchar, row_number bigint,
        duplicate_of_file varchar, duplicate_of_row bigint, load_id varchar""",
    "flagged_field": """
        sha256 varchar, file_name varchar, kind varchar, row_number bigint,
        column_name varchar, reason varchar, raw_value varchar, load_id varchar, period date,
        kelurahan_code varchar, id_keluarga varchar""",
    "snapshot_status": "snapshot date, usable boolean, note varchar",
    "ingest_data_quality": """
        run_id varchar, file_name varchar, kind varchar, sha256 varchar, file_outcome varchar,
        file_reason varchar, rows_read bigint, accepted bigint, quarantined bigint,
        duplicate bigint, skipped_lines bigint""",
    "ingest_data_quality_reason": """
        run_id varchar, file_name varchar, sha256 varchar, reason varchar, rows bigint""",
    "member_nik_as_read": "sha256 varchar, row_number bigint, nik_as_read varchar",
    "ingest_file_note": """
        run_id varchar, file_name varchar, sha256 varchar, reason varchar, note varchar,
        rows bigint""",
}

#: The accepted table of each kind.
ACCEPTED_TABLE = {
    "households": "registry_households",
    "members": "registry_members",
    "disbursements": "program_records",
    "pbi": "program_records",
    "local": "program_records",
}

#: Value columns (besides the natural key) that make two rows "the same values": struct_pack
#: arguments typed as in the accepted tables, so staged and accepted rows compare exactly.
HOUSEHOLD_VALUES = """no_kk, kelurahan_code, alamat,
    rt := try_cast(rt as smallint), rw := try_cast(rw as smallint),
    jumlah_anggota := try_cast(jumlah_anggota as smallint),
    pengeluaran_per_kapita := try_cast(pengeluaran_per_kapita as decimal(18, 2)),
    desil := try_cast(desil as tinyint),
    luas_lantai := try_cast(luas_lantai as decimal(12, 2)),
    jenis_lantai := try_cast(jenis_lantai as tinyint),
    jenis_dinding := try_cast(jenis_dinding as tinyint),
    sumber_air_minum := try_cast(sumber_air_minum as tinyint),
    sumber_penerangan := try_cast(sumber_penerangan as tinyint),
    bahan_bakar_masak := try_cast(bahan_bakar_masak as tinyint),
    fasilitas_bab := try_cast(fasilitas_bab as tinyint),
    tanggal_pendataan"""
MEMBER_VALUES = """nama, jenis_kelamin, tanggal_lahir,
    hubungan_keluarga := try_cast(hubungan_keluarga as tinyint),
    pendidikan_tertinggi := try_cast(pendidikan_tertinggi as tinyint),
    status_sekolah := try_cast(status_sekolah as tinyint),
    jaminan_kesehatan := try_cast(jaminan_kesehatan as tinyint),
    disabilitas := try_cast(disabilitas as tinyint),
    status_bekerja := try_cast(status_bekerja as tinyint)"""
#: A program record's natural key is all of its values (a repeated attempt is a duplicate).
#: SQL of the 64-bit hash that groups program rows before their values are compared (tests
#: replace it with a colliding one to prove that equal hashes alone never make a duplicate).
VALUES_HASH = "hash({})"
PROGRAM_VALUES = """program, source_kind, record_date, period, nik, no_kk, kelurahan_code,
    amount_idr := try_cast(amount_idr as decimal(18, 2)), status, funding_source, channel,
    stage := try_cast(stage as smallint)"""


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


# ------------------------------------------------------------------------------------- tables


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ingest output tables that do not exist yet."""
    for table, columns in TABLE_DDL.items():
        con.execute(f"create table if not exists {table} ({columns})")


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
) -> IngestSummary:
    """Stage, validate and sort the rows of the newly loaded files; record data quality.

    ``outcomes`` are the raw loader's file outcomes of this run, in file-name order. Only the rows
    of the ``loaded`` files (their ``load_id``) are processed. Raises ``ReconciliationError`` when
    a file's rows do not add up. It neither begins nor commits a transaction: the caller (the
    nightly flow) runs it inside its own and rolls back on any error. Scratch data goes to
    ``settings.scratch_dir / run_id`` (removed when it returns or fails).
    """
    with RunScratch(settings.scratch_dir, run_id) as scratch:
        return _process(con, scratch, run_id, list(outcomes), batch_rows)


def _process(
    con: duckdb.DuckDBPyConnection,
    scratch: RunScratch,
    run_id: str,
    outcomes: list[FileOutcomeLike],
    batch_rows: int,
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
                    _process_kind(con, scratch, kind, files, batch_rows, counts, summary.flagged)
                )
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
    """``ingest_batch``: the files to process, with their order and their ``ingest_file`` facts."""
    con.execute(
        """
        create or replace temp table _batch_input as
        select unnest(?::varchar[]) as sha256, unnest(?::integer[]) as file_order,
            unnest(?::varchar[]) as staged
        """,
        [
            [o.sha256 for o in loaded],
            list(range(len(loaded))),
            [getattr(o, "staged", None) for o in loaded],
        ],
    )
    con.execute(
        """
        create or replace temp table ingest_batch as
        with final as (
            select f.load_id, f.file_id, f.sha256, f.file_name, f.kind, b.file_order, f.period,
                   f.period_end, f.program, f.channel, f.stage, b.staged
            from _batch_input as b
            join ingest_file as f on f.sha256 = b.sha256
        )
        select * from final
        """
    )
    con.execute("drop table _batch_input")
    known = {row[0] for row in con.execute("select sha256 from ingest_batch").fetchall()}
    missing = [o.file_name for o in loaded if o.sha256 not in known]
    if missing:
        raise ReconciliationError(
            f"loaded files without an ingest_file row: {', '.join(missing)}; "
            "the raw loader must record every file it loads"
        )
    con.execute(
        "create or replace temp table _row_reason (row_id bigint, reason varchar, "
        "severity varchar, column_name varchar, nulls varchar)"
    )
    con.execute(
        "create or replace temp table _reason_count "
        "(file_name varchar, sha256 varchar, reason varchar, rows bigint)"
    )
    con.execute("create or replace temp table _staged_count (sha256 varchar, rows bigint)")


# ------------------------------------------------------------------------------ per kind


def stage(con: duckdb.DuckDBPyConnection, kind: str, scratch: RunScratch | None = None) -> str:
    """The batch's staged rows of ``kind`` as ``stg_<kind>``; return its name.

    The raw load staged each file (``transforms/staging/stg_<kind>.sql``, one Parquet file per
    file, ``ingest_batch.staged``); this reads them together and adds ``file_order`` and
    ``row_id`` (file order x 10^10 + row number): one integer id per staged row of the batch,
    which the validation reports failing rows by. With ``scratch`` (a run) ``stg_<kind>`` is a
    temporary view over those files, which holds no storage in the run's transaction; without it
    (inspecting the staging on its own) a temporary table. Counts the staged rows per file into
    ``_staged_count`` (the reconciliation compares them with the rows read).
    """
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
    if not files:  # no file of the kind: no rows, the staging's columns
        from tkpk.ingest.raw import stage_nothing

        stage_nothing(con, kind, "_staged_nothing")
        source = "_staged_nothing"
    select = f"""
        select cast(b.file_order as bigint) * {ROW_ID_FACTOR} + s.row_number as row_id,
            s.*, b.file_order
        from {source} as s
        join ingest_batch as b on b.file_id = s.file_id
    """
    if scratch is None:
        con.execute(f"create or replace temp table {table} as {select}")
    else:
        con.execute(f"create or replace temp view {table} as {select}")
        scratch.track_view(con, table, group=kind)
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
) -> ValidationOutcome:
    """Stage, validate, decide and write the rows of ``files`` (all of kind ``kind``); add the
    files' (accepted, quarantined, duplicate) counts to ``counts`` and the flagged fields per
    reason to ``flagged``."""
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
    )
    log.info("validate %s: %s", kind, result.describe())
    _add_encoding_reasons(con, kind)
    _decide(con, kind, scratch)
    crashpoint(f"ingest:{kind}")  # crash tests: scratch files on disk, rows not yet written
    written = _write_outcomes(con, kind)
    counts.update(_count_decisions(con, kind, written))
    for reason, rows in _write_flags(con, kind).items():
        if flagged is not None:
            flagged[reason] = flagged.get(reason, 0) + rows
    scratch.release(kind)  # deletes the staged rows and decisions before the next kind
    return result


#: Reason list of a malformed raw row: ``encoding_invalid`` when the reader rejected it because
#: its bytes do not decode (added to ``_row_reason`` by :func:`_add_encoding_reasons`), else
#: ``row_malformed``.
MALFORMED_REASONS = (
    "case when list_contains(row_reasons, 'encoding_invalid') then ['encoding_invalid'] "
    "else ['row_malformed'] end"
)


def _add_encoding_reasons(con: duckdb.DuckDBPyConnection, kind: str) -> None:
    """``encoding_invalid`` in ``_row_reason`` for the staged rows the reader rejected because
    their bytes do not decode (a malformed raw row whose error is ``INVALID ENCODING``); only the
    batch's malformed rows are looked at."""
    con.execute(
        f"""
        insert into _row_reason (row_id, reason)
        select s.row_id, 'encoding_invalid'
        from stg_{kind} as s
        where s.malformed and s.raw_text.malformed
            and starts_with(s.raw_text.extra ->> '{MALFORMED_ERROR_KEY}', 'INVALID ENCODING')
        """
    )


def _decide(con: duckdb.DuckDBPyConnection, kind: str, scratch: RunScratch) -> None:
    """``_decision`` (a scratch view): every staged row of ``kind`` with its outcome, reasons and
    duplicate pointer. Not sorted: a sort of every staged row spills the whole batch (tens of
    GB at a province), and no reader depends on the order; the accepted tables are sets."""
    scratch.materialise(con, "_decision", _decision_sql(kind), group=kind)


def _decision_sql(kind: str) -> str:
    """SELECT of ``_decision``: one row per staged row (its staged columns, ``kind``,
    ``outcome``, ``reasons``, ``duplicate_of_file``, ``duplicate_of_row``), in no particular
    order. Each staged row is read a few times (``not materialized``) rather than held as a
    wide intermediate, so the statement's memory is bounded by its narrow per-key tables."""
    if kind == "households":
        return _keyed_decision_sql(
            "households", ("snapshot", "id_keluarga"), HOUSEHOLD_VALUES, "household_duplicate_key"
        )
    if kind == "members":
        return _keyed_decision_sql(
            "members", ("snapshot", "id_keluarga", "nik_key"), MEMBER_VALUES,
            "member_duplicate_key",
        )
    return _program_decision_sql(kind)


def _keyed_decision_sql(kind: str, key: tuple[str, ...], values: str, key_reason: str) -> str:
    """Decision for registry rows with a natural key: first valid row per key is accepted (rows
    accepted in earlier runs come first); a later row with the same values is a duplicate of it,
    one with other values is quarantined with ``key_reason``. Members also need their household
    among the same snapshot's accepted households (``household_unknown`` /
    ``household_quarantined``).

    Only ``error`` reasons quarantine; ``warn`` reasons null their field first (``_flagged_sql``),
    so values are compared as they would be accepted. A member's key is its NIK, or, when the NIK
    is flagged (null), all of its values (``nik_key``): distinct persons without a valid NIK stay
    distinct, and an exact repeat of one is still a duplicate."""
    key_list = ", ".join(key)
    household_check = ""
    household_reason = "cast([] as varchar[])"
    household_join = ""
    if kind == "members":
        household_check = """,
        accepted_households as (
            select distinct snapshot, id_keluarga from registry_households
            where snapshot in (select distinct snapshot from stg_members)
        ),
        quarantined_households as (
            select distinct f.period as snapshot,
                regexp_replace(clean_text(q.raw_values ->> 'id_keluarga'), '^([0-9]+)\\.0+$', '\\1')
                    as id_keluarga
            from quarantine as q
            join ingest_file as f on f.sha256 = q.sha256
            where q.kind = 'households'
                and f.period in (select distinct snapshot from stg_members)
        )"""
        # joined straight to the staged rows (no self-join of the staged rows on row_id)
        household_reason = """case
                when a.id_keluarga is not null then cast([] as varchar[])
                when q.id_keluarga is not null then ['household_quarantined']
                else ['household_unknown']
            end"""
        household_join = """
            left join accepted_households as a
                on a.snapshot = r.snapshot and a.id_keluarga = r.id_keluarga
            left join quarantined_households as q
                on q.snapshot = r.snapshot and q.id_keluarga = r.id_keluarga"""
    return f"""
        with {_row_reasons_sql()},
        {_flagged_sql(kind)},
        rows_in as not materialized (
            select f.*, {NIK_KEY.format(values=values) if kind == "members" else ""}
                struct_pack({values}) as vals
            from flagged as f
        ){household_check},
        checked as not materialized (
            select r.*, list_concat(r.gx_reasons, {household_reason}) as row_reasons,
                list_concat(r.defects, {household_reason}) as all_reasons
            from rows_in as r {household_join}
        ),
        earlier as (
            select {key_list}, arg_min(struct_pack(sha256, file_name, row_number, vals),
                                       (file_name, row_number)) as keeper
            from (
                select *, {NIK_KEY.format(values=values) if kind == "members" else ""}
                    struct_pack({values}) as vals
                from ({_accepted_sql(kind)})
                where snapshot in (select distinct snapshot from stg_{kind})
            )
            group by {key_list}
        ),
        repeated_key_hashes as (
            select hash({key_list}) as kh from rows_in group by kh having count(*) > 1
        ),
        repeated_keys as (
            select {key_list},
                min(row_id) filter (where len(row_reasons) = 0 and not malformed)
                    as first_valid_id
            from checked
            where hash({key_list}) in (select kh from repeated_key_hashes)
            group by {key_list}
            having count(*) > 1
        ),
        batch_keepers as (
            select {", ".join(f"c.{c}" for c in key)},
                struct_pack(sha256 := c.sha256, file_name := c.file_name,
                            row_number := c.row_number, vals := c.vals) as keeper
            from checked as c
            join repeated_keys as k on {_on("k", "c", key)} and k.first_valid_id = c.row_id
        ),
        judged as (
            select r.*, coalesce(e.keeper, b.keeper) as keeper,
                e.keeper is null and case
                    when k.{key[0]} is null then len(r.row_reasons) = 0 and not r.malformed
                    else coalesce(r.row_id = k.first_valid_id, false)
                end as is_keeper,
                coalesce(e.keeper, b.keeper) is not null
                    and coalesce(e.keeper, b.keeper).vals is not distinct from r.vals
                    as same_values
            from checked as r
            left join repeated_keys as k on {_on("k", "r", key)}
            left join earlier as e on {_on("e", "r", key)}
            left join batch_keepers as b on {_on("b", "r", key)}
        ),
        decided as (
            select judged.*, '{kind}' as kind,
                case
                    when malformed or len(row_reasons) > 0 then 'quarantined'
                    when is_keeper then 'accepted'
                    when same_values then 'duplicate'
                    else 'quarantined'
                end as outcome,
                case
                    when malformed then {MALFORMED_REASONS}
                    when keeper is not null and not is_keeper and not same_values
                        then list_sort(list_distinct(list_append(all_reasons, '{key_reason}')))
                    else list_sort(all_reasons)
                end as reasons,
                case when not malformed and len(row_reasons) = 0 and not is_keeper
                    and same_values then keeper.file_name end as duplicate_of_file,
                case when not malformed and len(row_reasons) = 0 and not is_keeper
                    and same_values then keeper.row_number end as duplicate_of_row
            from judged
        ),
        final as (
            select * exclude (
                vals, gx_reasons, defects, row_reasons, all_reasons, keeper, is_keeper,
                same_values, raw_text
            )
            from decided
        )
        select * from final
    """


#: A member's natural key beside snapshot and ID_KELUARGA: its NIK, or, when the NIK is null
#: (flagged), the NIK as read with a digest of all of its values (``{values}``: the
#: struct_pack arguments; ``ids_as_read``: the NIK digits as read, '' when empty).
NIK_KEY = (
    "case when nik is not null then nik else '~' || coalesce(ids_as_read, '') || '~' || "
    "md5(cast(struct_pack({values}) as varchar)) end as nik_key,"
)
#: kind -> SQL over the staged row ``s`` (before nulling) and its ``row_reasons`` ``rr``: what
#: was read in the fields a warning nulled (``{read}``: their values as text, in suite order).
#: Members are keyed by NIK, program records compared by all of their values: two people whose
#: NIKs are both broken, or two payments that differ only in a flagged field, must not become
#: one. (An accepted record of an earlier run carries no such text, so a flagged program record
#: repeated in a later file is not recognised as a duplicate; it is accepted again.)
IDS_AS_READ = {
    "members": "case when list_contains(rr.nulls, 'nik') then coalesce(s.nik, '') end",
    "programs": "case when len(rr.nulls) > 0 then cast([s.nama, {read}] as varchar) end",
}
#: The program values of an accepted record as hashed in ``_program_decision_sql``.
PROGRAM_VALUES_READ = f"struct_pack({PROGRAM_VALUES}, ids_as_read := null::varchar)"


def _accepted_sql(kind: str) -> str:
    """The accepted rows of ``kind`` as the keyed decision compares them; members carry
    ``ids_as_read``: the NIK digits as read of a member whose NIK was flagged (from its raw
    row, normalised as staging does), so ``NIK_KEY`` matches the staged rows'."""
    if kind != "members":
        return f"select *, null::varchar as ids_as_read from {ACCEPTED_TABLE[kind]}"
    return """
        select m.*, case when m.nik is null
            then coalesce(r.nik_as_read, '') end as ids_as_read
        from registry_members as m
        left join member_nik_as_read as r
            on m.nik is null and r.sha256 = m.sha256 and r.row_number = m.row_number"""


def _row_reasons_sql() -> str:
    """CTE ``row_reasons``: per failing staged row its ``errors`` (reasons that quarantine),
    ``defects`` (every reason), ``flags`` (column, reason) and ``nulls`` (columns to null) of its
    warnings, from ``_row_reason`` (severity as declared in the suite; a reason added without
    one, e.g. ``encoding_invalid``, is an error)."""
    return """row_reasons as (
            select row_id,
                list(distinct reason order by reason)
                    filter (where coalesce(severity, 'error') = 'error') as errors,
                list(distinct reason order by reason) as defects,
                list(distinct struct_pack(column_name := column_name, reason := reason)
                     order by struct_pack(column_name := column_name, reason := reason))
                    filter (where severity = 'warn') as flags,
                list(distinct nulls) filter (where severity = 'warn') as nulls
            from _row_reason group by row_id
        )"""


def _flagged_sql(kind: str) -> str:
    """CTE ``flagged``: the staged rows of ``kind`` with every field a warning flagged set to null
    (the columns the suite's ``warn`` expectations name), their ``gx_reasons`` (errors),
    ``defects``, ``flags`` and ``ids_as_read`` (``IDS_AS_READ``; null for households)."""
    nulled = nulled_columns(load_suite(None, f"stg_{kind}"))
    replace = ", ".join(
        f"case when list_contains(rr.nulls, '{c}') then null else s.{c} end as {c}"
        for c in nulled
    )
    read = IDS_AS_READ.get("programs" if kind in PROGRAM_KINDS else kind, "null::varchar")
    read = read.format(read=", ".join(f"cast(s.{c} as varchar)" for c in nulled))
    return f"""flagged as not materialized (
            select s.*{f" replace ({replace})" if replace else ""},
                coalesce(rr.errors, cast([] as varchar[])) as gx_reasons,
                coalesce(rr.defects, cast([] as varchar[])) as defects,
                coalesce(rr.flags, cast([] as struct(column_name varchar, reason varchar)[]))
                    as flags,
                {read} as ids_as_read
            from stg_{kind} as s
            left join row_reasons as rr on rr.row_id = s.row_id
        )"""


def _on(left: str, right: str, key: tuple[str, ...]) -> str:
    """Join condition: every column of ``key`` equal between aliases ``left`` and ``right``."""
    return " and ".join(f"{left}.{c} = {right}.{c}" for c in key)


def _program_decision_sql(kind: str) -> str:
    """Decision for program records: a valid row whose values equal an accepted record (earlier
    run, or an earlier row of this batch in file order) is a duplicate of it; NIKs are not
    checked against the registry (an unmatched payment is accepted).

    Rows are grouped by the 64-bit hash of their values first (a narrow aggregate, whatever the
    batch size); only rows whose hash repeats, or matches an accepted record, are compared by
    their values, so equal hashes of different values never make a duplicate.
    """
    return f"""
        with {_row_reasons_sql()},
        {_flagged_sql(kind)},
        rows_in as not materialized (
            select f.* exclude (ids_as_read),
                struct_pack({PROGRAM_VALUES}, ids_as_read := f.ids_as_read) as vals,
                f.gx_reasons as row_reasons
            from flagged as f
        ),
        hashed as not materialized (
            select *, {VALUES_HASH.format('vals')} as h,
                len(row_reasons) = 0 and not malformed as is_valid
            from rows_in
        ),
        repeated_hashes as (
            select h from hashed where is_valid group by h having count(*) > 1
        ),
        first_valid as (
            select h, vals, min(row_id) as first_id
            from hashed
            where is_valid and h in (select h from repeated_hashes)
            group by h, vals
        ),
        valid_hashes as (
            select distinct h from hashed where is_valid
        ),
        earlier as (
            select p.h, p.vals,
                arg_min(struct_pack(file_name := p.file_name, row_number := p.row_number),
                        (p.file_name, p.row_number)) as keeper
            from (
                select struct_pack({PROGRAM_VALUES}, ids_as_read := null::varchar) as vals,
                    {VALUES_HASH.format(PROGRAM_VALUES_READ)} as h,
                    file_name, row_number
                from program_records
                where source_kind = '{kind}'
                    and period in (select distinct period from hashed where is_valid)
            ) as p
            semi join valid_hashes as v on v.h = p.h
            group by p.h, p.vals
        ),
        judged as (
            select r.*, e.keeper as earlier_keeper,
                struct_pack(file_name := b.file_name,
                            row_number := f.first_id % {ROW_ID_FACTOR}) as batch_keeper,
                not r.is_valid as is_quarantined,
                r.row_id = coalesce(f.first_id, r.row_id) as is_keeper
            from hashed as r
            left join earlier as e on e.h = r.h and e.vals is not distinct from r.vals
            left join first_valid as f on f.h = r.h and f.vals is not distinct from r.vals
            left join ingest_batch as b on b.file_order = f.first_id // {ROW_ID_FACTOR}
        ),
        decided as (
            select judged.*, '{kind}' as kind,
                case
                    when is_quarantined then 'quarantined'
                    when earlier_keeper is not null then 'duplicate'
                    when is_keeper then 'accepted'
                    else 'duplicate'
                end as outcome,
                case when malformed then {MALFORMED_REASONS} else list_sort(defects) end
                    as reasons,
                case
                    when is_quarantined then null
                    when earlier_keeper is not null then earlier_keeper.file_name
                    when is_keeper then null
                    else batch_keeper.file_name
                end as duplicate_of_file,
                case
                    when is_quarantined then null
                    when earlier_keeper is not null then earlier_keeper.row_number
                    when is_keeper then null
                    else batch_keeper.row_number
                end as duplicate_of_row
            from judged
        ),
        final as (
            select * exclude (
                vals, h, is_valid, gx_reasons, defects, row_reasons, earlier_keeper,
                batch_keeper, is_quarantined, is_keeper, raw_text
            )
            from decided
        )
        select * from final
    """


#: INSERT ... SELECT of the accepted rows of each kind (typed as in docs/architecture.md).
ACCEPT_SQL = {
    "households": """
        insert into registry_households
        select s.snapshot, s.id_keluarga, s.no_kk, s.kelurahan_code, s.alamat,
            cast(s.rt as smallint), cast(s.rw as smallint), cast(s.jumlah_anggota as smallint),
            cast(s.pengeluaran_per_kapita as decimal(18, 2)), cast(s.desil as tinyint),
            cast(s.luas_lantai as decimal(12, 2)), cast(s.jenis_lantai as tinyint),
            cast(s.jenis_dinding as tinyint), cast(s.sumber_air_minum as tinyint),
            cast(s.sumber_penerangan as tinyint), cast(s.bahan_bakar_masak as tinyint),
            cast(s.fasilitas_bab as tinyint), s.tanggal_pendataan,
            s.sha256, s.file_name, s.row_number
        from _decision as s
        where s.outcome = 'accepted'
    """,
    "members": """
        insert into registry_members
        select s.snapshot, s.id_keluarga, s.nik, s.nama, s.jenis_kelamin, s.tanggal_lahir,
            cast(s.hubungan_keluarga as tinyint), cast(s.pendidikan_tertinggi as tinyint),
            cast(s.status_sekolah as tinyint), cast(s.jaminan_kesehatan as tinyint),
            cast(s.disabilitas as tinyint), cast(s.status_bekerja as tinyint),
            s.sha256, s.file_name, s.row_number
        from _decision as s
        where s.outcome = 'accepted'
    """,
    "programs": """
        insert into program_records
        select s.program, s.source_kind, s.record_date, s.period, s.nik, s.no_kk,
            s.kelurahan_code, cast(s.amount_idr as decimal(18, 2)), s.status, s.funding_source,
            s.channel, cast(s.stage as smallint), s.sha256, s.file_name, s.row_number
        from _decision as s
        where s.outcome = 'accepted'
    """,
}


def _write_outcomes(con: duckdb.DuckDBPyConnection, kind: str) -> dict[str, int]:
    """Append ``_decision``'s rows to the accepted table, ``quarantine`` and ``duplicate``;
    return the rows written per outcome."""
    accept_sql = ACCEPT_SQL["programs"].format(kind=kind) if kind in PROGRAM_KINDS else None
    written = {"accepted": _inserted(con, accept_sql or ACCEPT_SQL[kind])}
    written["quarantined"] = _inserted(
        con,
        f"""
        insert into quarantine
        with quarantined as (
            select row_id, load_id, sha256, file_name, kind, row_number, reasons
            from _decision where outcome = 'quarantined'
        ),
        final as (
            select d.sha256, d.file_name, d.kind, d.row_number, d.reasons,
                to_json(s.raw_text) as raw_values,
                cast(d.load_id as varchar) as load_id
            from quarantined as d
            join stg_{kind} as s on s.row_id = d.row_id
        )
        select * from final
        """,
    )
    if kind == "members":
        # the NIK digits as read of a member whose NIK was flagged: a later file of the same
        # snapshot is compared with them (``_accepted_sql``); the raw files are not read again
        con.execute(
            """
            insert into member_nik_as_read
            select sha256, row_number, coalesce(ids_as_read, '') from _decision
            where outcome = 'accepted' and nik is null
            """
        )
    written["duplicate"] = _inserted(
        con,
        """
        insert into duplicate
        select sha256, file_name, kind, row_number, duplicate_of_file, duplicate_of_row,
            cast(load_id as varchar)
        from _decision where outcome = 'duplicate'
        """,
    )
    return written


#: kind -> (period, kelurahan code, registry id) of a flagged field, over ``_decision as d``
#: (members: their accepted household ``h`` of the same snapshot).
FLAG_CONTEXT = {
    "households": ("d.snapshot", "d.kelurahan_code", "d.id_keluarga"),
    "members": ("d.snapshot", "h.kelurahan_code", "d.id_keluarga"),
    "programs": ("d.period", "d.kelurahan_code", "cast(null as varchar)"),
}


def _write_flags(con: duckdb.DuckDBPyConnection, kind: str) -> dict[str, int]:
    """Append one ``flagged_field`` row per warning of each accepted row of ``_decision``: the
    file, row, canonical column and reason, the raw value (null for a personal column), the
    period (snapshot or record month), the kelurahan and the registry id where known. Returns
    the rows written per reason."""
    period, kelurahan, id_keluarga = FLAG_CONTEXT["programs" if kind in PROGRAM_KINDS else kind]
    household_join = ""
    if kind == "members":
        household_join = """
            left join registry_households as h
                on h.snapshot = d.snapshot and h.id_keluarga = d.id_keluarga"""
    personal = ", ".join(f"'{c}'" for c in PERSONAL_COLUMNS)
    con.execute(
        f"""
        create or replace temp table _flag_written as
        with flags as (
            select d.row_id, d.load_id, d.sha256, d.file_name, d.kind, d.row_number,
                {period} as period, {kelurahan} as kelurahan_code,
                {id_keluarga} as id_keluarga, unnest(d.flags) as flag
            from _decision as d {household_join}
            where d.outcome = 'accepted' and len(d.flags) > 0
        ),
        raw_rows as (
            -- only the flagged rows are turned into JSON (the semi join filters first)
            select s.row_id as raw_row_id, to_json(s.raw_text) as cells
            from stg_{kind} as s
            semi join flags as f on f.row_id = s.row_id
        ),
        resolved as (
            select f.*, raw.cells,
                coalesce(
                    list_filter(string_split(f.flag.column_name, '|'),
                        lambda c: json_extract_string(raw.cells, '$.' || lower(c)) is not null)[1],
                    string_split(f.flag.column_name, '|')[1]
                ) as column_name
            from flags as f
            join raw_rows as raw on raw.raw_row_id = f.row_id
        ),
        final as (
            select f.sha256, f.file_name, f.kind, f.row_number,
                f.column_name, f.flag.reason as reason,
                case when f.column_name in ({personal}) then null
                    else json_extract_string(f.cells, '$.' || lower(f.column_name))
                end as raw_value,
                cast(f.load_id as varchar) as load_id, f.period, f.kelurahan_code,
                f.id_keluarga
            from resolved as f
        )
        select * from final
        """
    )
    con.execute("insert into flagged_field select * from _flag_written")
    rows = con.execute(
        "select reason, count(*) from _flag_written group by reason"
    ).fetchall()
    con.execute("drop table _flag_written")
    return {reason: int(n) for reason, n in rows}


def _inserted(con: duckdb.DuckDBPyConnection, insert_sql: str) -> int:
    """Run an INSERT; return the number of rows it wrote."""
    row = con.execute(insert_sql).fetchone()
    return int(row[0]) if row else 0


def _count_decisions(
    con: duckdb.DuckDBPyConnection, kind: str, written: dict[str, int]
) -> dict[str, tuple[int, int, int]]:
    """sha256 -> (accepted, quarantined, duplicate) of this kind's files, from ``_decision``, in
    one scan that also adds the quarantine reasons per file to ``_reason_count``. Raises
    ``ReconciliationError`` when the tables did not receive what the decision says."""
    con.execute(
        """
        insert into _reason_count
        with reasons as (
            select file_name, sha256, unnest(reasons) as reason
            from _decision where outcome = 'quarantined'
        ),
        final as (
            select file_name, sha256, reason, count(*) as rows
            from reasons group by file_name, sha256, reason
        )
        select * from final
        """
    )
    rows = con.execute(
        """
        select sha256,
            count(*) filter (where outcome = 'accepted'),
            count(*) filter (where outcome = 'quarantined'),
            count(*) filter (where outcome = 'duplicate')
        from _decision group by sha256
        """
    ).fetchall()
    counts = {sha: (int(a), int(q), int(d)) for sha, a, q, d in rows}
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
    return counts


# ------------------------------------------------------------------------ run bookkeeping


def _rebuild_snapshot_status(con: duckdb.DuckDBPyConnection) -> None:
    """``snapshot_status``: a snapshot is usable only when its household and member files loaded."""
    con.execute("delete from snapshot_status")
    con.execute(
        """
        insert into snapshot_status
        with files as (
            select period, kind, file_outcome, file_name, file_reason
            from ingest_file
            where kind in ('households', 'members') and period is not null
        ),
        per_snapshot as (
            select period as snapshot,
                bool_or(kind = 'households' and file_outcome = 'loaded') as households_loaded,
                bool_or(kind = 'members' and file_outcome = 'loaded') as members_loaded,
                string_agg(case when file_outcome = 'quarantined'
                    then file_name || ' (' || coalesce(file_reason, '?') || ')' end, ', '
                    order by file_name) as quarantined_files
            from files
            group by period
        ),
        final as (
            select snapshot,
                households_loaded and members_loaded as usable,
                case
                    when households_loaded and members_loaded then 'lengkap'
                    else concat_ws('; ',
                        case when not households_loaded then 'berkas keluarga tidak termuat' end,
                        case when not members_loaded then 'berkas anggota tidak termuat' end,
                        case when quarantined_files is not null
                            then 'dikarantina: ' || quarantined_files end)
                end as note
            from per_snapshot
        )
        select * from final order by snapshot
        """
    )


def _record_quality(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    outcomes: list[FileOutcomeLike],
    counts: dict[str, tuple[int, int, int]],
) -> list[FileQuality]:
    """Write one ``ingest_data_quality`` row per file of the run (``counts``: sha256 ->
    accepted, quarantined, duplicate rows written for it)."""
    rows: list[FileQuality] = []
    for o in outcomes:
        accepted, quarantined, duplicate = counts.get(o.sha256, (0, 0, 0))
        loaded = o.outcome == "loaded"
        rows.append(
            FileQuality(
                run_id=run_id,
                file_name=o.file_name,
                kind=o.kind,
                sha256=o.sha256,
                file_outcome=o.outcome,
                file_reason=o.reason,
                rows_read=int(o.rows_read or 0) if o.outcome != "already_loaded" else 0,
                accepted=accepted if loaded else 0,
                quarantined=quarantined if loaded else 0,
                duplicate=duplicate if loaded else 0,
                skipped_lines=int(o.skipped_lines or 0) if o.outcome != "already_loaded" else 0,
            )
        )
    if rows:
        con.executemany(
            "insert into ingest_data_quality values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [
                    r.run_id,
                    r.file_name,
                    r.kind,
                    r.sha256,
                    r.file_outcome,
                    r.file_reason,
                    r.rows_read,
                    r.accepted,
                    r.quarantined,
                    r.duplicate,
                    r.skipped_lines,
                ]
                for r in rows
            ],
        )
    return rows


def _record_notes(
    con: duckdb.DuckDBPyConnection, run_id: str, outcomes: list[FileOutcomeLike]
) -> None:
    """Write ``ingest_file_note`` (run x entry x note): the raw loader's file notes
    (``file_ignored`` with why, ``sheet_ignored`` with the sheet's name and non-empty rows)."""
    rows = [
        [run_id, o.file_name, o.sha256, n.reason, n.note, n.rows]
        for o in outcomes
        for n in getattr(o, "notes", ())
    ]
    if rows:
        con.executemany("insert into ingest_file_note values (?, ?, ?, ?, ?, ?)", rows)


def _record_reasons(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, int]:
    """Write ``ingest_data_quality_reason`` (run x file x reason) and return totals per reason."""
    con.execute(
        """
        insert into ingest_data_quality_reason
        with final as (
            select ? as run_id, file_name, sha256, reason, sum(rows)::bigint as rows
            from _reason_count group by file_name, sha256, reason
        )
        select * from final order by file_name, reason
        """,
        [run_id],
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
