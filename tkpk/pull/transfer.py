"""Pull one source: list, download what is new, verify, land it in the raw folder atomically.

A remote file is new when its (path, size, modification time) differs from its last recorded
pull (``tkpk.pull.log``). It is then downloaded into ``Settings.pull_temp_dir`` (outside the raw
folder) while its SHA-256 is computed, and verified: the bytes received equal the listed size and
the remote file still has the listed size and time (a file rewritten meanwhile is ``unstable``:
not landed, tried again at the next pull). Then, by its content:

- the same bytes as its last pull: ``unchanged``, nothing lands;
- its name is free in the raw folder: linked in under that name (``pulled``);
- the raw folder already has these bytes under the name (or one of its revision names):
  ``already_present`` (a file copied by hand, or a pull that crashed before its record);
- the name is taken by other bytes: ``data/raw/`` is append-only, so it lands under the next free
  revision name, ``<stem>__r02.<ext>`` ... ``__r99`` (``renamed``). The name keeps the kind prefix
  and the period words the ingest reads, and sorts after the earlier file (a later file corrects
  an earlier one).

Landing is a hard link of the verified temporary file to its new name (``os.link`` fails when
the name exists: nothing is ever overwritten), atomic on one file system; a partial download is
never visible in the raw folder. Where links are not possible (another file system, a share
without links) the file is copied to a hidden name in the raw folder, synced and renamed.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from tkpk.config import Settings
from tkpk.ingest.files import sha256_of
from tkpk.pull import log, remote
from tkpk.pull.log import PullRecord
from tkpk.pull.sources import Source

CHUNK_BYTES = 1024 * 1024
MAX_REVISION = 99
#: Leftovers of a crashed pull older than this are removed from the temporary folder.
STALE_SECONDS = 6 * 3600


class RemoteFileChanged(OSError):
    """The remote file changed while it was being downloaded."""


def utc_now() -> datetime:
    """Now, as naive UTC (the warehouse's timestamps)."""
    return datetime.now(UTC).replace(tzinfo=None)


def revision_name(name: str, revision: int) -> str:
    """``salur_pkh_bri_202606_tahap2.csv`` -> ``salur_pkh_bri_202606_tahap2__r02.csv``."""
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    return f"{stem}__r{revision:02d}{dot}{extension}"


def sweep_temp(folder: Path, older_than: float = STALE_SECONDS) -> None:
    """Remove partial downloads that a crashed pull left in ``folder``."""
    if not folder.is_dir():
        return
    limit = time.time() - older_than
    for entry in folder.iterdir():
        try:
            if entry.stat().st_mtime < limit:
                entry.unlink()
        except OSError:
            continue


def _fsync_dir(folder: Path) -> None:
    """Make a rename or link in ``folder`` durable (best effort where unsupported)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def download(filesystem, item: remote.RemoteFile, target: Path, max_bytes: int) -> str:
    """Stream ``item`` into ``target`` (synced); its SHA-256. Raises RemoteFileChanged when the
    bytes received are not the listed size (or exceed ``max_bytes``)."""
    digest = hashlib.sha256()
    received = 0
    with filesystem.open(item.path, "rb") as source, target.open("wb") as sink:
        while chunk := source.read(CHUNK_BYTES):
            received += len(chunk)
            if received > max(item.size, 0) or received > max_bytes:
                raise RemoteFileChanged(f"more bytes than the {item.size} listed")
            digest.update(chunk)
            sink.write(chunk)
        sink.flush()
        os.fsync(sink.fileno())
    if received != item.size:
        raise RemoteFileChanged(f"{received} bytes received, {item.size} listed")
    return digest.hexdigest()


def _link_new(temp: Path, target: Path) -> bool:
    """Give ``temp``'s content the name ``target`` unless it exists; True when it landed."""
    try:
        os.link(temp, target)
    except FileExistsError:
        return False
    except OSError as error:
        if error.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK):
            raise
        return _copy_new(temp, target)
    temp.unlink()
    _fsync_dir(target.parent)
    return True


def _copy_new(temp: Path, target: Path) -> bool:
    """Fallback without hard links: copy to a hidden name beside ``target``, sync, rename."""
    if target.exists():
        return False
    staged = target.parent / f".tkpk-pull-{uuid.uuid4().hex}.part"
    try:
        with temp.open("rb") as source, staged.open("wb") as sink:
            shutil.copyfileobj(source, sink, CHUNK_BYTES)
            sink.flush()
            os.fsync(sink.fileno())
        if target.exists():
            return False
        os.replace(staged, target)
    finally:
        staged.unlink(missing_ok=True)
    temp.unlink()
    _fsync_dir(target.parent)
    return True


def land(temp: Path, sha256: str, name: str, raw_dir: Path) -> tuple[str, str]:
    """(outcome, local name): put the verified ``temp`` into ``raw_dir`` under ``name`` or its
    first free revision name, unless the folder already holds these bytes under one of them."""
    raw_dir.mkdir(parents=True, exist_ok=True)
    candidates = [name] + [revision_name(name, n) for n in range(2, MAX_REVISION + 1)]
    for candidate in candidates:
        target = raw_dir / candidate
        while True:
            if target.exists():
                if target.is_file() and sha256_of(target) == sha256:
                    return log.ALREADY_PRESENT, candidate
                break
            if _link_new(temp, target):
                return (log.PULLED if candidate == name else log.RENAMED), candidate
    raise OSError(f"{name}: every revision name up to __r{MAX_REVISION} is taken")


def failure_record(run_id: str, source: Source, cause: str) -> PullRecord:
    """The record of a source that could not be pulled (its URL without user; the cause)."""
    return PullRecord(
        run_id=run_id,
        source=source.name,
        remote_path=source.public_url,
        size=None,
        remote_modified=None,
        sha256=None,
        pulled_at=utc_now(),
        outcome=log.FAILED,
        local_name=None,
        reason=cause,
    )


def pull_source(
    source: Source,
    settings: Settings,
    run_id: str,
    con: duckdb.DuckDBPyConnection,
    *,
    on_listed: Callable[[list[remote.RemoteFile]], None] | None = None,
) -> list[PullRecord]:
    """Pull the new files of ``source`` into ``settings.raw_dir``; the records written.

    Each record is committed to ``source_pull_log`` as soon as its file landed. An I/O failure
    (or a refused login) propagates: files landed before it keep their records, and a retry
    skips them. ``on_listed`` (tests) is called with the listing before any download.
    """
    temp_dir = settings.pull_temp_dir
    temp_dir.mkdir(parents=True, exist_ok=True)
    filesystem, folder = remote.open_filesystem(source, settings.pull_timeout)
    records: list[PullRecord] = []
    try:
        listing = remote.list_matching(filesystem, folder, source)
        if on_listed is not None:
            on_listed(listing)
        held = log.held_files(con, source.name)
        for item in listing:
            known = held.get(item.public_path)
            if known is not None and (known.size, known.modified) == (item.size, item.modified):
                continue
            record = _pull_file(filesystem, item, source, settings, run_id, known)
            log.write(con, [record])
            records.append(record)
    finally:
        remote.close_filesystem(filesystem)
    return records


def _pull_file(
    filesystem,
    item: remote.RemoteFile,
    source: Source,
    settings: Settings,
    run_id: str,
    known: log.Held | None,
) -> PullRecord:
    """Download, verify and land one remote file; its record."""
    temp = settings.pull_temp_dir / f"{run_id}-{uuid.uuid4().hex}.part"

    def record(outcome: str, sha: str | None, local: str | None, reason: str | None = None):
        return PullRecord(run_id, source.name, item.public_path, item.size, item.modified, sha,
                          utc_now(), outcome, local, reason)

    if item.size > settings.limits.max_file_bytes:
        return record(log.FAILED, None, None, "file too large (over TKPK_MAX_FILE_BYTES)")
    try:
        try:
            sha = download(filesystem, item, temp, settings.limits.max_file_bytes)
            if remote.stat(filesystem, item) != (item.size, item.modified):
                raise RemoteFileChanged("size or time changed during the download")
        except (RemoteFileChanged, FileNotFoundError) as error:
            return record(log.UNSTABLE, None, None, remote.cause(error))
        if known is not None and known.sha256 == sha:
            return record(log.UNCHANGED, sha, known.local_name)
        outcome, local = land(temp, sha, item.name, settings.raw_dir)
        return record(outcome, sha, local)
    finally:
        temp.unlink(missing_ok=True)
