"""Write, validate and publish the two packs: ``restricted/`` (task force) and ``bappeda/``.

``publish_packs(con, settings, run_id)``:

1. loads the pseudonym key (a production run without ``TKPK_PSEUDONYM_KEY`` refuses to start);
2. checks that every curated table exists with exactly its documented columns;
3. under the publish lock, writes the restricted pack into a staging folder under
   ``settings.curated_dir`` (every table cast to its dictionary types, ordered by its key;
   ``households`` with ``id_keluarga`` replaced by the HMAC pseudonym, computed in DuckDB for
   the ids the warehouse's pseudonym cache does not hold yet: ``pseudonym.cache_pseudonyms``);
4. runs the output suites (``expectations/<table>.json``) on the staged files;
   writes the registry owners' correction lists, one XLSX per kelurahan, into
   ``restricted/verivali/`` (``tkpk.publish.verivali``; never in the Bappeda pack);
5. derives the Bappeda pack from the staged restricted files with disclosure control, then audits
   it (no small count or small-denominator ratio left, flags consistent, row counts equal);
6. audits both packs for personal data, writes the dictionaries, READMEs and manifests;
7. moves the staging folder into ``.versions/`` and swaps the ``current`` symlink atomically,
   then removes old versions.

Steps 4 and 5 run at once once the restricted pack is written, and the audit's personal-value
index is brought up to date while the packs are written (``Settings.publish_lanes`` threads,
each with its own DuckDB cursor; 0: one after the other); the audit of step 6 runs in a lane
too, reading the restricted files while the Bappeda pack is derived and the Bappeda files once
they are written. A failure is raised in the order above, after every lane has stopped.

Any failure raises before step 7 and leaves the previously published packs untouched.
"""

from __future__ import annotations

import logging
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from tkpk.config import EXPECTATIONS_DIR, Settings
from tkpk.db import sql_literal
from tkpk.publish import (
    atomic,
    dictionary,
    manifest,
    privacy,
    pseudonym,
    reuse,
    suites,
    suppression,
    verivali,
)
from tkpk.publish.dictionary import (
    BAPPEDA,
    MIN_DENOMINATOR,
    RESTRICTED,
    Table,
)
from tkpk.validation import gx_lane
from transforms.sql import render_sql

log = logging.getLogger(__name__)

PACKS = [RESTRICTED, BAPPEDA]
PARQUET_OPTIONS = "format parquet, compression zstd"
DICTIONARY_FILES = {
    "data_dictionary.md": dictionary.render_markdown,
    "data_dictionary.csv": dictionary.render_csv,
    "data_dictionary.json": dictionary.render_json,
}


class PublishError(RuntimeError):
    """The packs could not be published; the previous packs are untouched."""


@dataclass
class PublishResult:
    """What one publish did."""

    run_id: str
    version: str
    version_dir: Path
    restricted_dir: Path
    bappeda_dir: Path
    #: pack -> table -> rows
    rows: dict[str, dict[str, int]]
    period_range: tuple[str | None, str | None]
    key_source: str
    key_id: str
    removed_versions: list[str] = field(default_factory=list)
    #: GX outcomes of the output suites (``tkpk.validation.build_data_docs`` renders them).
    validations: list = field(default_factory=list, repr=False)
    #: The personal-value index was up to date with the warehouse for the audit
    #: (``privacy.prepare_index``); a publish writes no personal table, so it still is until the
    #: warehouse is written again (the Data Docs audit of the same run need not refresh it).
    index_current: bool = False


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _warehouse_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str] | None:
    rows = con.execute(
        "select column_name from information_schema.columns "
        "where table_name = ? and table_schema = current_schema() order by ordinal_position",
        [table],
    ).fetchall()
    return [r[0] for r in rows] or None


def check_sources(con: duckdb.DuckDBPyConnection) -> None:
    """Every exported table exists in the warehouse with exactly its documented columns."""
    problems = []
    for table in dictionary.TABLES:
        actual = _warehouse_columns(con, table.name)
        if actual is None:
            problems.append(f"table {table.name} does not exist in the warehouse")
            continue
        expected = {name for name, _ in table.warehouse_columns}
        missing = sorted(expected - set(actual))
        undocumented = sorted(set(actual) - expected)
        if missing:
            problems.append(f"table {table.name} lacks the documented column(s) {missing}")
        if undocumented:
            problems.append(
                f"table {table.name} has column(s) {undocumented} that are not in the data "
                "dictionary (tkpk/publish/dictionary.py): document them before exporting"
            )
    if problems:
        raise PublishError("cannot publish: " + "; ".join(problems))


def _export_select(table: Table, cached: bool = False) -> str:
    """SELECT of the restricted export of ``table`` (``transforms/publish/restricted_table.sql``:
    typed, key-ordered; free text such as raw file names neutralised against spreadsheet formula
    injection; needs ``suppression.install_rules`` on the connection). The pseudonym is the HMAC
    computed in the query (parameters ``pseudonym.key_parameters``), or with ``cached`` the
    warehouse's cached one (``pseudonym.cache_pseudonyms``; the same text)."""
    items = []
    source = _q(table.name)
    for column in table.columns:
        if column.name == "household_pseudonym" and cached:
            source = pseudonym.cached_source(table.name, column.warehouse_name)
            items.append("_pseudonym.pseudonym as household_pseudonym")
        elif column.name == "household_pseudonym":
            items.append(f"{pseudonym.hmac_sql(_q(column.warehouse_name))} as household_pseudonym")
        elif column.free_text:
            items.append(f"spreadsheet_safe({_q(column.name)}) as {_q(column.name)}")
        else:
            items.append(f"cast({_q(column.name)} as {column.type}) as {_q(column.name)}")
    return render_sql(
        "publish/restricted_table",
        columns=", ".join(items),
        table=source,
        key=", ".join(_q(k) for k in table.key),
    )


def write_restricted(
    con: duckdb.DuckDBPyConnection,
    key: pseudonym.PseudonymKey,
    folder: Path,
    reused: dict[str, Path] | None = None,
) -> dict[str, int]:
    """Write every restricted table as Parquet; rows per table. ``reused``: table -> the
    published file holding the same bytes (``tkpk.publish.reuse``), linked instead of written."""
    folder.mkdir(parents=True)
    suppression.install_rules(con)
    reused = reused or {}
    rows = {}
    tables = dictionary.pack_tables(RESTRICTED)
    ids = [
        (t.name, c.warehouse_name) for t in tables if t.name not in reused
        for c in t.columns if c.name == "household_pseudonym"
    ]
    # the HMACs of the ids not yet pseudonymised with this key only (else all, in the query)
    cached = bool(ids) and pseudonym.cache_pseudonyms(con, key, ids)
    for table in tables:
        path = folder / f"{table.name}.parquet"
        if table.name in reused:
            reuse.link_file(reused[table.name], path)
        else:
            keyed = "household_pseudonym" in table.names and not cached
            con.execute(
                f"copy ({_export_select(table, cached)}) to {sql_literal(path)} "
                f"({PARQUET_OPTIONS})",
                pseudonym.key_parameters(key) if keyed else None,
            )
        rows[table.name] = _count(con, path)
        atomic.crashpoint("pack_writing")
    return rows


def export_fingerprints(
    con: duckdb.DuckDBPyConnection,
    key: pseudonym.PseudonymKey,
    expectations_dir: Path = EXPECTATIONS_DIR,
) -> dict[str, str]:
    """table -> the fingerprint of its restricted export (``reuse.fingerprints``)."""
    tables = dictionary.pack_tables(RESTRICTED)
    return reuse.fingerprints(
        con,
        selects={t.name: _export_select(t) for t in tables},
        suites={t.name: suites.suite_path(t.name, expectations_dir) for t in tables},
        key_ids={
            t.name: key.key_id if "household_pseudonym" in t.names else None for t in tables
        },
    )


def write_correction_lists(
    con: duckdb.DuckDBPyConnection, restricted: Path, previous: Path | None, reused: bool
) -> list[Path]:
    """The correction lists (``verivali.write_verivali``) of the staged restricted pack; linked
    from the published version ``previous`` instead when their source, ``data_quality_field``,
    is a reused file (``reused``) and every published workbook is intact."""
    published = reuse.reusable_folder(previous, RESTRICTED, verivali.FOLDER) if (
        reused and previous is not None) else None
    if published is None:
        return verivali.write_verivali(con, restricted)
    paths = []
    for source in published:
        target = restricted / source.relative_to(previous / RESTRICTED)
        reuse.link_file(source, target)
        paths.append(target)
    return paths


def _count(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    return con.execute(f"select count(*) from read_parquet({sql_literal(path)})").fetchone()[0]


def validate_restricted(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    expectations_dir: Path = EXPECTATIONS_DIR,
    use_gx: bool = True,
    skip: frozenset[str] = frozenset(),
) -> list:
    """Run every output suite on the staged restricted files; raise naming each failure.

    ``skip``: tables whose file is a reused one (the published version's file, validated by the
    same suite on the same warehouse state: ``tkpk.publish.reuse``). Returns the GX outcomes
    (for Data Docs) when ``use_gx``.
    """
    failures: list[suites.CheckFailure] = []
    outcomes = []
    for table in dictionary.pack_tables(RESTRICTED):
        if table.name in skip:
            continue
        relation = f"read_parquet({sql_literal(folder / f'{table.name}.parquet')})"
        found, outcome = suites.validate_output(
            con, table.name, relation, expectations_dir, use_gx
        )
        failures += found
        if outcome is not None:
            outcomes.append(outcome)
    if failures:
        raise suites.OutputValidationError(
            "output validation failed, nothing published:\n" + "\n".join(map(str, failures))
        )
    return outcomes


def write_bappeda(
    con: duckdb.DuckDBPyConnection,
    restricted: Path,
    folder: Path,
    counts: dict | None = None,
) -> dict[str, int]:
    """Derive the suppressed Bappeda tables from the staged restricted files (primary and
    secondary suppression); ``counts`` receives the values withheld per table, column and step."""
    folder.mkdir(parents=True)
    tables = dictionary.pack_tables(BAPPEDA)
    source = {
        t.name: f"read_parquet({sql_literal(restricted / f'{t.name}.parquet')})" for t in tables
    }
    result = suppression.suppress_tables(con, tables, source)
    log.info("Bappeda suppression: %d round(s)", result.rounds)
    rows = {}
    for table in tables:
        path = folder / f"{table.name}.parquet"
        total = con.execute(f"select count(*) from {source[table.name]}").fetchall()[0][0]
        flags = suppression.flags_frame(result, table, total)
        con.register("_bappeda_flags", flags)
        try:
            select = suppression.final_select(table, source[table.name], "_bappeda_flags")
            con.execute(f"copy ({select}) to {sql_literal(path)} ({PARQUET_OPTIONS})")
        finally:
            con.unregister("_bappeda_flags")
        rows[table.name] = _count(con, path)
    if counts is not None:
        counts.update(result.counts)
    return rows


def audit_bappeda(con: duckdb.DuckDBPyConnection, restricted: Path, folder: Path) -> None:
    """Independent check of the Bappeda files against the rule and the restricted files.

    Per table one joined scan (Bappeda row with its restricted row, by key) counts, for every
    suppressible column: counts of 1–4 shown, ratios shown on a small denominator or numerator,
    values shown although flagged, and flags that do not match a withheld value.
    """
    suppression.install_rules(con)
    problems = []
    exported = {p.stem for p in folder.glob("*.parquet")}
    expected = {t.name for t in dictionary.pack_tables(BAPPEDA)}
    if exported != expected:
        problems.append(f"Bappeda tables {sorted(exported)} differ from {sorted(expected)}")
    for table in dictionary.pack_tables(BAPPEDA):
        small = []
        checks: list[tuple[str, str]] = []
        for column in table.columns:
            if not column.suppressible:
                continue
            name = _q(column.name)
            flag = _q(dictionary.flag_column(column.name))
            if column.kind == "count":
                checks.append((f"small_count(b.{name})", f"{column.name}: count of 1–4 shown"))
            if column.kind == "ratio":
                alias = _q(f"small_{column.name}")
                small.append(f"{suppression.suppression_condition(column)} as {alias}")
                checks.append(
                    (f"r.{alias} and b.{name} is not null",
                     f"{column.name}: ratio on a small denominator or numerator shown")
                )
            checks.append((f"b.{flag} and b.{name} is not null", f"{column.name}: flagged, shown"))
            checks.append(
                (f"b.{flag} <> (b.{name} is null and r.{name} is not null)",
                 f"{column.name}: flag does not match a withheld value")
            )
        sql = render_sql(
            "publish/bappeda_audit",
            bappeda=f"read_parquet({sql_literal(folder / f'{table.name}.parquet')})",
            restricted=f"read_parquet({sql_literal(restricted / f'{table.name}.parquet')})",
            small="".join(f", {item}" for item in small),
            checks="".join(
                f", count(*) filter (where {condition}) as check_{i}"
                for i, (condition, _) in enumerate(checks)
            ),
            key=", ".join(_q(k) for k in table.key),
        )
        row = con.execute(sql).fetchone()
        if not row[0] == row[1] == row[2]:
            problems.append(f"{table.name}: rows differ from the restricted pack ({row[:3]})")
        for (_, label), bad in zip(checks, row[3:], strict=True):
            if bad:
                problems.append(f"{table.name}.{label} ({bad} rows)")
    if problems:
        raise PublishError("disclosure audit of the Bappeda pack failed: " + "; ".join(problems))


def _count_rel(con: duckdb.DuckDBPyConnection, relation: str) -> int:
    return con.execute(f"select count(*) from {relation}").fetchone()[0]


def audit_personal_data(
    con: duckdb.DuckDBPyConnection,
    staging: Path,
    previous: Path | None = None,
    index: tuple[bool, bool] | Future | None = None,
    bappeda: Future | None = None,
) -> privacy.AuditPlan:
    """Stop the publish when any exported file holds a personal value of the warehouse.

    ``previous`` is the published version folder: the audit is incremental against it when it
    can be (``privacy.audit_version``). The audit's state is written into ``staging``.
    ``index``: what ``privacy.prepare_index`` did ahead of the audit (or its future).
    ``bappeda``: the future of the Bappeda lane: the restricted files' cells are collected while
    it runs, the Bappeda files' once it is done (its failure raised here too).
    """
    restricted = sorted((staging / RESTRICTED).glob("*.parquet"))

    def derived() -> list[Path]:
        if bappeda is not None:
            bappeda.result()
        return sorted((staging / BAPPEDA).glob("*.parquet"))

    result = privacy.audit_version(
        con, restricted, _free_text(), previous,
        index=index.result if isinstance(index, Future) else index, more=derived,
    )
    if result.problems:
        raise privacy.PersonalDataError(
            "personal-data audit failed, nothing published: " + "; ".join(result.problems)
        )
    privacy.write_state(staging, result.state)
    log.info("personal-data audit: %s (%s), %d probe(s)", result.plan.mode, result.plan.reason,
             len(result.plan.probes))
    return result.plan


def period_range(con: duckdb.DuckDBPyConnection, folder: Path) -> tuple[str | None, str | None]:
    """First and last period of the area tables."""
    parts = [
        f"select period from read_parquet({sql_literal(folder / f'{t.name}.parquet')})"
        for t in dictionary.TABLES
        if "period" in t.names and RESTRICTED in t.packs
        and t.name not in dictionary.DATA_QUALITY_TABLES  # periods of the inputs, not figures
    ]
    first, last = con.execute(
        render_sql("publish/period_range", periods=" union all ".join(parts))
    ).fetchone()
    return first, last


def write_documents(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    staging: Path,
    *,
    version: str,
    run_id: str,
    rows: dict[str, dict[str, int]],
    periods: tuple[str | None, str | None],
    key: pseudonym.PseudonymKey,
    suppressed: dict | None = None,
) -> None:
    """Dictionary files, README and manifest (last) of each pack (``suppressed``: the Bappeda
    values withheld per table, column and step, from ``write_bappeda``)."""
    sources = manifest.source_files(con)
    for pack in PACKS:
        folder = staging / pack
        for name, render in DICTIONARY_FILES.items():
            (folder / name).write_text(render(pack), encoding="utf-8")
        (folder / "README.md").write_text(
            manifest.readme_text(pack, settings.region, periods), encoding="utf-8"
        )
        tables = {
            t.name: {
                "file": f"{t.name}.parquet",
                "rows": rows[pack][t.name],
                "columns": [c.name for c in dictionary.exported_columns(t, pack)],
                "key": list(t.key),
            }
            for t in dictionary.pack_tables(pack)
        }
        if pack == BAPPEDA:
            extra = {
                "disclosure_control": {
                    "small_counts_suppressed": [dictionary.MIN_COUNT, dictionary.MAX_SMALL_COUNT],
                    "min_ratio_denominator": MIN_DENOMINATOR,
                    "flag_columns": "<column>_suppressed",
                    "secondary": "no withheld value is determined by the published equations "
                    "(area hierarchy, buckets and totals, complementary ratios, ratio × "
                    "denominator)",
                    "suppressed": suppressed or {},
                },
                "registry_based": True,
            }
        else:
            extra = {
                "pseudonym": {
                    "method": "HMAC-SHA256 of the registry id (id_keluarga), hex",
                    "key_source": key.source,
                    "key_id": key.key_id,
                },
                "registry_based": True,
            }
        document = manifest.build_manifest(
            folder, pack, version=version, run_id=run_id, region=settings.region,
            tables=tables, period_range=periods, sources=sources, extra=extra,
        )
        manifest.write_manifest(folder, document)


#: Publish steps run at once (threads, ``Settings.publish_lanes`` beside the main one): once the
#: restricted pack is written, its validation, the correction lists and the Bappeda pack (with
#: its disclosure audit) are independent of each other, and the personal-value index
#: (``privacy.prepare_index``) reads only the warehouse. Each lane has its own DuckDB cursor
#: (DuckDB runs the queries in parallel; GX's Python, zlib and the Parquet writers overlap with
#: them). The personal-data audit is a lane too: it collects the restricted files' cells (DuckDB)
#: while the Bappeda lane runs, then waits for it and reads the Bappeda files.


class _InOrder:
    """The lanes when ``Settings.publish_lanes`` is 0: each step runs when it is submitted, its
    failure kept in its future (raised where a lane's would be)."""

    def submit(self, step, *args: object) -> Future:
        """Run ``step(*args)`` now; its result or failure in the returned future."""
        future: Future = Future()
        try:
            future.set_result(step(*args))
        except Exception as error:  # noqa: BLE001 - raised by the caller, in step order
            future.set_exception(error)
        return future

    def __enter__(self) -> _InOrder:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _lanes(count: int) -> ThreadPoolExecutor | _InOrder:
    """``count`` threads for the publish steps; none (steps in order) when ``count`` is 0."""
    return ThreadPoolExecutor(count, thread_name_prefix="publish") if count > 0 else _InOrder()


def _on_cursor(con: duckdb.DuckDBPyConnection, step, *args: object) -> object:
    """``step(cursor, *args)`` on a cursor of ``con`` (its own connection to the same database:
    its own temporary tables, macros and results), closed afterwards."""
    cursor = con.cursor()
    try:
        return step(cursor, *args)
    finally:
        cursor.close()


def _bappeda_lane(con: duckdb.DuckDBPyConnection, staging: Path, withheld: dict) -> dict[str, int]:
    """The Bappeda pack derived from the staged restricted files, then its disclosure audit;
    rows per table (``withheld`` receives the values withheld)."""
    rows = write_bappeda(con, staging / RESTRICTED, staging / BAPPEDA, counts=withheld)
    audit_bappeda(con, staging / RESTRICTED, staging / BAPPEDA)
    return rows


def _free_text() -> set[str]:
    """The exported free-text columns (scanned for NIK-like numbers by the audit)."""
    return {c.name for t in dictionary.TABLES for c in t.columns if c.free_text}


def publish_packs(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    run_id: str,
    *,
    expectations_dir: Path = EXPECTATIONS_DIR,
    keep_previous: int = atomic.KEEP_PREVIOUS,
    grace_seconds: float = atomic.GRACE_SECONDS,
    use_gx: bool = True,
    reuse_files: bool = True,
) -> PublishResult:
    """Write both packs to staging, validate and audit them, then publish them atomically.

    The output suites always run in DuckDB (``tkpk.suite_run``, the staging tables' executor);
    ``use_gx=False`` skips Great Expectations' cross-check of the same run (same verdict; no GX
    results for Data Docs). ``reuse_files``: a restricted table whose export is the same as the
    published version's file is linked from it, not written and validated again
    (``tkpk.publish.reuse``; the same bytes either way).
    """
    key = pseudonym.load_key(settings)
    check_sources(con)
    curated = settings.curated_dir
    with atomic.publish_lock(curated):
        atomic.collect_garbage(curated, keep_previous, grace_seconds)
        staging = atomic.new_staging(curated, run_id)
        previous = atomic.current_version(curated)
        try:
            with _lanes(settings.publish_lanes) as lanes, gx_lane(enabled=use_gx) as gx:
                # the warehouse's personal-value index, while the packs are written
                index = lanes.submit(_on_cursor, con, privacy.prepare_index, _free_text(), previous)
                fingerprints = export_fingerprints(con, key, expectations_dir)
                reused = (
                    reuse.reusable_files(previous, RESTRICTED, fingerprints) if reuse_files else {}
                )
                if reused:
                    log.info("restricted tables reused from %s: %s", previous.name, sorted(reused))
                rows = {RESTRICTED: write_restricted(con, key, staging / RESTRICTED, reused)}
                validation = lanes.submit(
                    _on_cursor, con, validate_restricted, staging / RESTRICTED, expectations_dir,
                    use_gx, frozenset(reused),
                )
                workbooks = lanes.submit(  # correction lists
                    _on_cursor, con, write_correction_lists, staging / RESTRICTED, previous,
                    "data_quality_field" in reused,
                )
                withheld: dict = {}
                bappeda = lanes.submit(_on_cursor, con, _bappeda_lane, staging, withheld)
                # the personal-data audit reads the restricted files while the Bappeda pack is
                # derived, then the Bappeda files
                audit = lanes.submit(
                    _on_cursor, con, audit_personal_data, staging, previous, index, bappeda
                )
                # the steps' failures in the order they would stop a publish step by step
                validations = validation.result()
                if gx is not None:  # the output suites' GX cross-checks ran beside the lanes
                    gx.join()
                workbooks.result()
                rows[BAPPEDA] = bappeda.result()
                audit.result()
                index_current = index.result()[1]
            periods = period_range(con, staging / RESTRICTED)
            write_documents(
                con, settings, staging, version=staging.name, run_id=run_id, rows=rows,
                periods=periods, key=key, suppressed=withheld,
            )
            reuse.write_state(staging, fingerprints)
            atomic.crashpoint("before_publish")
            version_dir = atomic.commit_version(curated, staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        atomic.crashpoint("before_swap")
        atomic.holdpoint("before_swap")
        atomic.swap_current(curated, version_dir, PACKS)
        removed = atomic.collect_garbage(curated, keep_previous, grace_seconds)
    log.info("published packs %s (%s)", version_dir.name, rows)
    return PublishResult(
        run_id=run_id,
        version=version_dir.name,
        version_dir=version_dir,
        restricted_dir=version_dir / RESTRICTED,
        bappeda_dir=version_dir / BAPPEDA,
        rows=rows,
        period_range=periods,
        key_source=key.source,
        key_id=key.key_id,
        removed_versions=removed,
        validations=validations,
        index_current=index_current,
    )


def resolve_pack(settings: Settings, pack: str) -> Path:
    """The published version folder of ``pack`` (``restricted`` or ``bappeda``), pinned.

    Readers that read several files of one pack (a notebook, the report) should resolve the pack
    once and read everything from the returned folder: a publish that happens meanwhile does not
    mix versions, and the folder is kept for a while after it stops being current.
    """
    if pack not in PACKS:
        raise ValueError(f"unknown pack {pack!r}; expected one of {PACKS}")
    return atomic.resolve_pack(settings.curated_dir, pack)
