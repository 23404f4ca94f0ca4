"""The nightly flow: ingest new raw extracts, validate, compute indicators, publish the packs.

A short sequence of small typed tasks. The warehouse part (load, validate, accept, marts) commits
in bounded steps recorded in the run ledger (``tkpk.ledger``): the load with the first kind, each
kind of the ingest (in steps of at most ``Settings.commit_rows`` rows), then the bookkeeping, the
transforms and the run's completion in one last transaction. An error undoes the committed steps
at once; a crash leaves them to the next opening of the warehouse (``tkpk.db.connect`` undoes
every unfinished run), so either way the warehouse returns to the state before the run. Scratch
data is kept out of the transactions (tables created and dropped inside one would keep their
storage until the commit): the ingest's staged
rows and decisions are Parquet files in the run's scratch folder (``Settings.scratch_dir``),
deleted kind by kind and swept at the next run after a crash.
The packs are then written to a staging folder, validated and swapped in atomically, so a run
either publishes a complete, validated set of outputs or leaves the last good one untouched.
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NONE as NO_CACHE
from prefect.context import FlowRunContext
from prefect.exceptions import MissingContextError

from flows.failures import RunFailure, lock_conflict, scrubbed
from flows.progress import StageProgress
from flows.summary import RunSummary, render_console, render_markdown, summarise
from flows.timing import StageClock
from tkpk import reference
from tkpk.config import Settings, get_settings
from tkpk.db import connect
from tkpk.ledger import FINAL, RunLedger
from tkpk.publish.atomic import crashpoint
from tkpk.validation import GxLane, gx_lane


@dataclass
class RunContext:
    """What the tasks of one run share: its id, settings, warehouse connection and ledger."""

    run_id: str
    settings: Settings
    con: duckdb.DuckDBPyConnection
    ledger: RunLedger
    outcomes: list = field(default_factory=list)
    progress: StageProgress = field(default_factory=lambda: StageProgress(enabled=False))


#: ``Settings.orchestration``: ``auto`` runs the flow under Prefect when ``PREFECT_API_URL``
#: names a server (``tkpk serve``, a deployment run) and in this process without Prefect
#: otherwise; ``prefect`` always under Prefect (without ``PREFECT_API_URL`` Prefect then starts a
#: temporary API server for the process: 5-20 s before the first step on a busy machine);
#: ``plain`` never.
ORCHESTRATIONS = ("auto", "prefect", "plain")


def uses_prefect(settings: Settings) -> bool:
    """True when a run started here goes through Prefect (``ORCHESTRATIONS``)."""
    from prefect.settings import PREFECT_API_URL

    if settings.orchestration not in ORCHESTRATIONS:
        raise ValueError(
            f"TKPK_ORCHESTRATION={settings.orchestration!r}; expected one of {ORCHESTRATIONS}"
        )
    if settings.orchestration == "auto":
        return bool(PREFECT_API_URL.value())
    return settings.orchestration == "prefect"


@dataclass
class PlainState:
    """A task's outcome in a run without Prefect, shaped like the Prefect state the flow and the
    retry conditions read (``data``: the error; ``result``; ``is_completed``)."""

    value: object = None
    error: BaseException | None = None

    @property
    def data(self) -> object:
        """The error of a failed task (what ``warehouse_busy`` inspects), else the result."""
        return self.error if self.error is not None else self.value

    def is_completed(self) -> bool:
        """True when the task returned."""
        return self.error is None

    def result(self, raise_on_failure: bool = True) -> object:
        """The task's return value; its error, raised or (``raise_on_failure=False``) returned."""
        if self.error is not None and raise_on_failure:
            raise self.error
        return self.data


def _retry_delay(delays: object, attempt: int) -> float:
    """Seconds before retry ``attempt`` (0-based) of a task's ``retry_delay_seconds``."""
    if isinstance(delays, list | tuple):
        return float(delays[min(attempt, len(delays) - 1)]) if delays else 0.0
    return float(delays or 0)


def run_task(step: object, *args: object, return_state: bool = False, **kwargs: object) -> object:
    """Run one task of the flow: a Prefect task run inside a Prefect flow run; otherwise (a run
    without Prefect, ``uses_prefect``) the task's function in this process, with the task's own
    retry rule (``retries``, ``retry_delay_seconds``, ``retry_condition_fn``)."""
    if FlowRunContext.get() is not None:
        return step(*args, return_state=return_state, **kwargs)
    retries = int(getattr(step, "retries", 0) or 0)
    condition = getattr(step, "retry_condition_fn", None)
    for attempt in range(retries + 1):
        try:
            state = PlainState(value=step.fn(*args, **kwargs))
        except Exception as error:
            state = PlainState(error=error)
            if attempt < retries and (condition is None or condition(step, None, state)):
                time.sleep(_retry_delay(step.retry_delay_seconds, attempt))
                continue
        break
    return state if return_state else state.result()


def run_logger() -> logging.Logger | logging.LoggerAdapter:
    """The Prefect run logger inside a Prefect run, else the module's logger."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


def new_run_id() -> str:
    """A sortable, unique run id: UTC timestamp plus a random suffix."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


@task(cache_policy=NO_CACHE)
@scrubbed
def check_pseudonym_key(settings: Settings) -> None:
    """Production mode: refuse to start without ``TKPK_PSEUDONYM_KEY`` (before any work)."""
    from tkpk.publish.pseudonym import PRODUCTION, load_key

    if settings.mode == PRODUCTION:
        load_key(settings)


@task(cache_policy=NO_CACHE)
@scrubbed
def check_files_at_rest(settings: Settings) -> None:
    """Production mode: refuse to start when the warehouse, the key file or the restricted pack
    is accessible by group/others; files created from here on are private (umask 077)."""
    from tkpk.publish.privacy import check_files_at_rest as check
    from tkpk.publish.pseudonym import PRODUCTION

    if settings.mode == PRODUCTION:
        check(settings)


def warehouse_busy(task: object, task_run: object, state: object) -> bool:
    """Retry condition: the warehouse file is locked by another process (a transient I/O
    conflict); any other error (a damaged file, a bad path) fails at once."""
    error = getattr(state, "data", None)
    if isinstance(error, RunFailure):  # the task's error, scrubbed (flows.failures)
        return error.lock_conflict
    return isinstance(error, duckdb.IOException) and "lock" in str(error).lower()


def pull_io_failure(task: object, task_run: object, state: object) -> bool:
    """Retry condition of a source's pull: an I/O failure (server down, connection dropped,
    time-out); refused credentials and configuration errors fail at once."""
    from tkpk.pull import is_transient

    error = state.result(raise_on_failure=False)
    return isinstance(error, BaseException) and is_transient(error)


@task(cache_policy=NO_CACHE)
def pull_one_source(source: object, settings: Settings, run_id: str) -> object:
    """Pull one source's new files into the raw folder, each recorded in the warehouse as it
    lands (I/O: retried with a doubling delay, ``Settings.pull_retries``)."""
    from tkpk.pull import pull_once

    result = pull_once(source, settings, run_id)
    run_logger().info(
        "pull %s: %d new file(s) %s", result.source, len(result.landed), result.outcomes
    )
    return result


def pull_sources(settings: Settings, run_id: str) -> list[dict]:
    """The pull step: one task per configured source, before the warehouse is opened for the
    run (each pull record commits on its own, so a crash of the run keeps it). A source that
    fails is recorded with its cause and the night goes on; so does a malformed sources file."""
    from dataclasses import asdict

    from tkpk.pull import SourceConfigError, SourceResult, load_sources, record_failure
    from tkpk.pull.transfer import sweep_temp

    logger = run_logger()
    try:
        sources = load_sources(settings.sources_file)
    except SourceConfigError as error:
        logger.error("pull: %s", error)
        return [asdict(SourceResult(source="sources.toml", url="", ok=False, cause=str(error)))]
    sweep_temp(settings.pull_temp_dir)
    delays = [settings.pull_retry_delay * 2**i for i in range(settings.pull_retries)] or 0
    results = []
    for source in sources:
        state = run_task(
            pull_one_source.with_options(
                task_run_name=f"pull-{source.name}",
                retries=settings.pull_retries,
                retry_delay_seconds=delays,
                retry_condition_fn=pull_io_failure,
            ),
            source, settings, run_id, return_state=True,
        )
        if state.is_completed():
            results.append(asdict(state.result()))
            continue
        failure = state.result(raise_on_failure=False)
        logger.warning("pull %s failed: %s", source.name, getattr(failure, "cause", "error"))
        if not hasattr(failure, "cause"):
            raise failure
        record_failure(settings, run_id, source, failure)
        results.append(asdict(SourceResult.failed(source, failure)))
    return results


@task(cache_policy=NO_CACHE, retries=3, retry_delay_seconds=30, retry_condition_fn=warehouse_busy)
@scrubbed
def open_warehouse(settings: Settings, run_id: str) -> RunContext:
    """Open the warehouse (undoing an unfinished earlier run), record the run as started in the
    ledger, start its first transaction and (re)install the reference tables (I/O: retried while
    another process holds the warehouse file's lock)."""
    try:
        con = connect(settings)
    except duckdb.Error as error:
        if lock_conflict(error):
            raise
        raise RunFailure(
            f"the warehouse {settings.warehouse} cannot be opened ({type(error).__name__}): "
            "check that it is the pipeline's DuckDB file, readable and writable by this user",
            error_type=type(error).__name__,
        ) from None
    ledger = RunLedger(con, run_id)
    try:
        ledger.start()
        con.begin()
        reference.install(con, settings.region, settings.reference_dir)
    except BaseException:
        ledger.abort()
        con.close()
        raise
    run_logger().info("run %s: warehouse %s opened", run_id, settings.warehouse)
    return RunContext(run_id=run_id, settings=settings, con=con, ledger=ledger)


@task(cache_policy=NO_CACHE)
@scrubbed
def load_raw_files(ctx: RunContext) -> list:
    """Discover files in the raw folder and stage the new ones' rows in the run's scratch (their
    ``ingest_file`` rows are committed with the first kind of the ingest: a run killed before it
    leaves no file recorded)."""
    from tkpk.ingest.raw import load_new_files

    ctx.ledger.begin_step("load")
    outcomes = load_new_files(ctx.con, ctx.settings, ctx.run_id, on_file=ctx.progress.file_started)
    ctx.ledger.step_done("load", sum(int(o.rows_read or 0) for o in outcomes))
    logger = run_logger()
    for outcome in outcomes:
        logger.info(
            "load %s: %s%s (%s rows)",
            outcome.file_name,
            outcome.outcome,
            f" [{outcome.reason}]" if outcome.reason else "",
            outcome.rows_read,
        )
    ctx.outcomes = outcomes
    return outcomes


@task(cache_policy=NO_CACHE)
@scrubbed
def validate_and_accept(ctx: RunContext) -> object:
    """Normalise, validate (Great Expectations), accept / quarantine / deduplicate, reconcile;
    each kind's rows are committed as steps of the run ledger of at most
    ``Settings.commit_rows`` rows: ``ingest:<kind>:1``, ``:2`` ... and the kind's last one
    ``ingest:<kind>``."""
    from tkpk.ingest.accept import process_loads

    def commit_kind(kind: str, rows: int) -> None:
        ctx.ledger.commit(f"ingest:{kind}", rows)

    def commit_step(kind: str, step: int, rows: int) -> None:
        ctx.ledger.commit(f"ingest:{kind}:{step}", rows)

    summary = process_loads(ctx.con, ctx.settings, ctx.run_id, ctx.outcomes,
                            on_kind=commit_kind, on_step=commit_step)
    ctx.ledger.begin_step(FINAL)
    return summary


@scrubbed
def join_gx_checks(lane: GxLane) -> None:
    """Wait for the GX cross-checks of the run's samples (``tkpk.validation.GxLane``); raises
    their first failure (e.g. an engine disagreement: the run then fails, nothing committed)."""
    lane.join()


@task(cache_policy=NO_CACHE)
@scrubbed
def build_indicators(ctx: RunContext) -> dict:
    """Compute the curated tables: only the periods this run's new files touch when that is
    exact (``transforms.incremental``), else every table from scratch."""
    from transforms.incremental import build_changed

    # Models are tables of sets (every export orders its rows): not keeping insertion order lets
    # DuckDB stream and spill large CREATE TABLE AS results within the memory limit.
    ctx.con.execute("set preserve_insertion_order = false")
    report = build_changed(ctx.con, ctx.outcomes)  # on error the run's transaction is rolled back
    ctx.con.execute("reset preserve_insertion_order")
    run_logger().info(
        "transforms: %s build (%s), %d period(s) recomputed",
        report.mode, report.reason, len(report.periods),
    )
    return report.as_dict()


@task(cache_policy=NO_CACHE)
@scrubbed
def commit_warehouse(ctx: RunContext) -> None:
    """Commit the run's last transaction with its completion in the ledger: the warehouse now
    holds the new state, and the run is never undone."""
    ctx.ledger.complete()
    ctx.con.commit()
    ctx.ledger.close()


@task(cache_policy=NO_CACHE)
@scrubbed
def checkpoint_warehouse(ctx: RunContext) -> None:
    """Write the committed state into the warehouse file (DuckDB ``CHECKPOINT``).

    DuckDB would otherwise do it at the close or at the commit of a later run; done here, the run
    pays for its own storage work and its timings show it (stage ``checkpoint``). The run's
    changes are already committed and in the write-ahead log: a failure here loses nothing.
    """
    ctx.con.execute("checkpoint")


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=10)
@scrubbed
def publish(ctx: RunContext) -> object:
    """Write, validate and atomically publish the restricted and Bappeda packs (I/O: retried)."""
    from tkpk.publish import publish_packs
    from tkpk.publish.privacy import set_pack_modes

    result = publish_packs(ctx.con, ctx.settings, ctx.run_id)
    set_pack_modes(ctx.settings.curated_dir, result.version_dir)
    return result


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=10)
@scrubbed
def publish_validation_docs(ctx: RunContext, ingest: object, published: object = None) -> None:
    """Great Expectations Data Docs of this run's validations, next to the packs (I/O: retried):
    the raw rows' suites (ingest) and the published tables' output suites (publish)."""
    from tkpk.validation import publish_data_docs

    validations = [
        *(getattr(ingest, "validations", None) or []),
        *(getattr(published, "validations", None) or []),
    ]
    if validations:
        path = publish_data_docs(validations, ctx.settings, ctx.run_id)
        audit_data_docs(
            ctx.con, path.parent, ctx.settings.data_docs_dir,
            index_current=bool(getattr(published, "index_current", False)),
        )
        run_logger().info("data docs: %s", path)


def audit_data_docs(
    con: duckdb.DuckDBPyConnection, site: Path, root: Path, index_current: bool = False
) -> None:
    """The personal-data audit of a run's Data Docs pages (``privacy.audit_documents``); on a
    finding the run's site is removed and the run fails (``PersonalDataError``).
    ``index_current``: this run's publish left the personal-value index up to date
    (``PublishResult.index_current``; the warehouse is not written between the two)."""
    import shutil

    from tkpk.publish.privacy import PersonalDataError, audit_documents

    problems = audit_documents(con, sorted(site.rglob("*.html")), root, index_current)
    if problems:
        shutil.rmtree(site, ignore_errors=True)
        raise PersonalDataError(
            "personal-data audit of the Data Docs failed, the run's pages were removed: "
            + "; ".join(problems)
        )


def packs_exist(settings: Settings) -> bool:
    """True when both packs have been published before."""
    packs = (settings.restricted_dir, settings.bappeda_dir)
    return all((pack / "manifest.json").exists() for pack in packs)


def anything_loaded(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the warehouse holds at least one loaded raw file (this run's or earlier)."""
    return con.execute(
        "select count(*) from ingest_file where file_outcome = 'loaded'"
    ).fetchone()[0] > 0


def nothing_loaded_message(settings: Settings) -> str:
    """What to do when no raw extract has ever been loaded (nothing is published)."""
    return (
        "nothing published: no raw extract has been loaded yet. Drop the extracts into "
        f"{settings.raw_dir} (file names and columns: raw-extracts.md) and run again, or "
        "generate a synthetic sample there with `tkpk synth`."
    )


def packs_up_to_date(con: duckdb.DuckDBPyConnection, settings: Settings) -> bool:
    """True when both packs exist and were published from the warehouse's current raw files.

    False after a run that committed the warehouse but died before publishing: the next run then
    publishes even though it finds no new file.
    """
    from tkpk.publish.manifest import MANIFEST, source_files

    if not packs_exist(settings):
        return False
    try:
        published = json.loads((settings.restricted_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return published.get("source_files") == source_files(con)


#: The executors of the transform step: one orchestration (``nightly``), two ways to build.
EXECUTORS = ("local", "distributed")


def transform_step(ctx: RunContext, executor: str, shared_dir: str | None) -> dict:
    """The curated tables, built by ``executor``: ``local`` (the ``build_indicators`` task) or
    ``distributed`` (``flows.distributed.build_indicators_distributed``: an incremental build
    when it is exact, else the household-level work fanned out to the flow's Dask task runner;
    it must run in the flow's body to submit tasks)."""
    if executor == "local":
        return run_task(build_indicators, ctx)
    if executor == "distributed":
        from flows.distributed import build_indicators_distributed

        return build_indicators_distributed(ctx, shared_dir)
    raise ValueError(f"unknown executor {executor!r}; expected one of {EXECUTORS}")


@flow(name="tkpk-nightly", log_prints=True)
@scrubbed
def nightly(
    raw_dir: str,
    out_dir: str,
    db_path: str,
    force_publish: bool = False,
    executor: str = "local",
    shared_dir: str | None = None,
) -> dict:
    """The nightly job on the given folders; returns the run summary as a dict.

    ``executor`` builds the curated tables (``transform_step``); every other step is the same
    for both executors (``flows.distributed.nightly_distributed`` runs this with ``distributed``
    and a Dask task runner; ``shared_dir`` is its shared storage).
    """
    settings = get_settings().with_paths(raw=Path(raw_dir), out=Path(out_dir), db=Path(db_path))
    run_id = new_run_id()
    run_task(check_pseudonym_key, settings)
    run_task(check_files_at_rest, settings)
    progress = StageProgress()
    clock = StageClock(progress=progress)
    pulls = []
    if settings.sources_file.exists():
        with clock.stage("pull"):
            pulls = pull_sources(settings, run_id)
    with clock.stage("open"):
        ctx = run_task(open_warehouse, settings, run_id)
    ctx.progress = progress
    try:
        with clock.stage("load"):
            run_task(load_raw_files, ctx)
        crashpoint("after_load")
        new_data = any(o.outcome == "loaded" for o in ctx.outcomes)
        # GX (its import, then the samples' cross-checks) on a thread beside the ingest and the
        # transforms; joined before the commit, so a disagreement still fails the run
        with gx_lane(enabled=new_data) as gx:
            with clock.stage("validate"):
                ingest = run_task(validate_and_accept, ctx)
            needs_publish = new_data or force_publish or not packs_up_to_date(ctx.con, settings)
            nothing_loaded = not anything_loaded(ctx.con)
            needs_publish = needs_publish and not nothing_loaded  # never publish empty packs
            if needs_publish:
                with clock.stage("transform"):
                    transform = transform_step(ctx, executor, shared_dir)
            with clock.stage("commit"):
                if gx is not None:
                    join_gx_checks(gx)
                run_task(commit_warehouse, ctx)
    except BaseException:
        progress.close()
        ctx.ledger.abort()  # rolls back, and undoes the run's committed steps
        ctx.con.close()
        raise
    try:
        with clock.stage("checkpoint"):
            run_task(checkpoint_warehouse, ctx)
        with clock.stage("publish"):
            published = run_task(publish, ctx) if needs_publish else None
        with clock.stage("data_docs"):
            run_task(publish_validation_docs, ctx, ingest, published)
        summary = summarise(ctx.con, run_id, ctx.outcomes, published)
        summary.completed = packs_up_to_date(ctx.con, settings)
        if nothing_loaded:
            summary.messages.append(nothing_loaded_message(settings))
    finally:
        progress.close()
        ctx.con.close()
    summary.stages = clock.as_list()
    summary.transform = transform if needs_publish else {}
    summary.pulls = pulls
    if FlowRunContext.get() is not None:  # the run's page in Prefect
        create_markdown_artifact(
            key="tkpk-nightly-run",
            markdown=render_markdown(summary),
            description=f"tkpk nightly run {run_id}",
        )
    render_console(summary)
    return summary.as_dict()


def run_once(settings: Settings, force_publish: bool = False) -> dict:
    """Run the nightly flow once on the settings' folders, under Prefect or in this process as
    ``uses_prefect`` says (the same steps, ledger, checks and atomic publish either way); return
    the run summary as a dict, raise the run's (scrubbed) error when it failed."""
    arguments = {
        "raw_dir": str(settings.raw_dir),
        "out_dir": str(settings.curated_dir),
        "db_path": str(settings.warehouse),
        "force_publish": force_publish,
    }
    if uses_prefect(settings):
        return nightly(**arguments)
    return nightly.fn(**arguments)


def run_nightly(settings: Settings) -> bool:
    """Run the nightly flow once on the settings' folders (``run_once``); True when it completed:
    the packs on disk are then a complete, validated set published from the warehouse's current
    raw files (this run's, or the last good one's on a night without new files). False when the
    run failed (the warehouse is rolled back, committed steps undone, and the packs are
    untouched; the error is logged by the flow) or published nothing (no raw extract loaded
    yet)."""
    try:
        result = run_once(settings)
    except Exception as error:
        from tkpk.publish.privacy import scrub_error

        # Scrubbed (the step and the error's type): an engine's text may quote a cell value.
        print(f"tkpk: the nightly run failed ({scrub_error(error)}); the warehouse was rolled "
              "back and the published packs are unchanged.", file=sys.stderr)
        return False
    return RunSummary.from_dict(result).completed
