"""Pull the extracts from where the offices publish them into the raw folder.

``sources.toml`` (``Settings.sources_file``, ``TKPK_SOURCES``) lists the sources
(:mod:`tkpk.pull.sources`); :func:`pull_all` pulls each one (:mod:`tkpk.pull.transfer`) and
records every pull in the warehouse (:mod:`tkpk.pull.log`). A source that fails (server down,
credentials refused, connection dropped after the retries) is recorded with its cause and the
others go on. ``tkpk pull`` runs :func:`pull_all`; the nightly flow runs one Prefect task per
source (``flows.nightly.pull_one_source``) with the same retry rule (:func:`is_transient`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import duckdb

from tkpk.config import Settings
from tkpk.db import connect
from tkpk.pull import log
from tkpk.pull.log import PullRecord
from tkpk.pull.remote import cause, classify
from tkpk.pull.sources import Source, SourceConfigError, load_sources
from tkpk.pull.transfer import failure_record, pull_source, sweep_temp

__all__ = [
    "PullFailed",
    "PullRecord",
    "Source",
    "SourceConfigError",
    "SourceResult",
    "is_transient",
    "load_sources",
    "pull_all",
    "pull_with_retries",
]

logger = logging.getLogger(__name__)


class PullFailed(Exception):
    """A source could not be pulled: only the sanitised cause (category and exception class) is
    kept, so logs and tracebacks never show a library's message (user names, listings)."""

    def __init__(self, source: str, cause: str, transient: bool) -> None:
        super().__init__(f"pull {source}: {cause}")
        self.source = source
        self.cause = cause
        self.transient = transient


@dataclass
class SourceResult:
    """What the pull of one source did (plain values: it goes into the run summary)."""

    source: str
    url: str
    ok: bool = True
    cause: str | None = None
    outcomes: dict[str, int] = field(default_factory=dict)
    landed: list[str] = field(default_factory=list)

    @classmethod
    def from_records(cls, source: Source, records: list[PullRecord]) -> SourceResult:
        """The result of a pull that completed with ``records``."""
        result = cls(source=source.name, url=source.public_url)
        for record in records:
            result.outcomes[record.outcome] = result.outcomes.get(record.outcome, 0) + 1
            if record.landed:
                result.landed.append(record.local_name)
        return result

    @classmethod
    def failed(cls, source: Source, failure: PullFailed) -> SourceResult:
        """The result of a source that could not be pulled."""
        return cls(source=source.name, url=source.public_url, ok=False, cause=failure.cause)


def is_transient(error: BaseException) -> bool:
    """Whether a pull failure is worth a retry (I/O only: never refused credentials or a bad
    configuration)."""
    if isinstance(error, PullFailed):
        return error.transient
    return classify(error)[1]


def pull_once(source: Source, settings: Settings, run_id: str) -> SourceResult:
    """One attempt at ``source`` with its own warehouse connection (each record committed);
    a failure is raised as :class:`PullFailed` (sanitised)."""
    try:
        con = connect(settings)
        try:
            records = pull_source(source, settings, run_id, con)
        finally:
            con.close()
    except Exception as error:  # noqa: BLE001  (re-raised without its message)
        raise PullFailed(source.name, cause(error), classify(error)[1]) from None
    return SourceResult.from_records(source, records)


def record_failure(settings: Settings, run_id: str, source: Source, failure: PullFailed) -> None:
    """Record that ``source`` could not be pulled (its URL without user, and the cause); when
    the warehouse itself cannot be written, the failure is only logged (and summarised)."""
    try:
        con = connect(settings)
    except duckdb.Error as error:
        logger.warning("pull %s: failure not recorded: %s", source.name, type(error).__name__)
        return
    try:
        log.write(con, [failure_record(run_id, source, failure.cause)])
    finally:
        con.close()


def pull_with_retries(source: Source, settings: Settings, run_id: str) -> SourceResult:
    """Pull ``source``, retrying I/O failures ``settings.pull_retries`` times with a doubling
    delay; a final failure is recorded and returned, never raised."""
    delay = settings.pull_retry_delay
    for attempt in range(settings.pull_retries + 1):
        try:
            return pull_once(source, settings, run_id)
        except PullFailed as failure:
            if attempt < settings.pull_retries and failure.transient:
                logger.warning("pull %s: %s; retry in %.0f s", source.name, failure.cause, delay)
                time.sleep(delay)
                delay *= 2
                continue
            logger.warning("pull %s failed: %s", source.name, failure.cause)
            record_failure(settings, run_id, source, failure)
            return SourceResult.failed(source, failure)
    raise AssertionError("unreachable")  # pragma: no cover


def pull_all(settings: Settings, run_id: str, sources: list[Source] | None = None) -> list:
    """Pull every source of the sources file (or ``sources``), one after the other."""
    if sources is None:
        sources = load_sources(settings.sources_file)
    sweep_temp(settings.pull_temp_dir)
    return [pull_with_retries(source, settings, run_id) for source in sources]
