"""Atomic, reader-safe publication of the packs.

Layout under ``settings.curated_dir``::

    .staging/<version>/{restricted,bappeda}/   written and validated here (same filesystem)
    .versions/<version>/{restricted,bappeda}/  complete, validated versions (renamed from staging)
    current -> .versions/<version>             swapped atomically (os.replace of a new symlink)
    restricted -> current/restricted           fixed symlinks: the paths readers use
    bappeda -> current/bappeda

A reader that opens ``restricted/<table>.parquet`` gets a file of exactly one version; a reader
that needs several files of one version resolves the pack once (``resolve_pack``) and reads from
the resolved folder. One swap of ``current`` publishes both packs together. Old versions are kept
(the previous ones, and anything younger than a grace period) so pinned readers keep working, and
are removed later under the publish lock by renaming them away first. Readers take no lock, so
they never block the nightly run.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import secrets
import shutil
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)

VERSIONS_DIR = ".versions"
STAGING_DIR = ".staging"
TRASH_DIR = ".trash"
CURRENT_LINK = "current"
LOCK_FILE = ".publish.lock"
#: Environment variable naming a crash point at which the process kills itself (crash tests).
CRASH_ENV = "TKPK_CRASH_AT"
#: Previous versions always kept besides the current one.
KEEP_PREVIOUS = 2
#: Versions younger than this are never removed (readers may have pinned them).
GRACE_SECONDS = 3600.0


def crashpoint(name: str) -> None:
    """Kill this process with SIGKILL when ``TKPK_CRASH_AT`` names this point (crash tests)."""
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


#: Environment variable of :func:`holdpoint`: ``<point>:<folder>``.
HOLD_ENV = "TKPK_HOLD_AT"


def holdpoint(name: str, timeout: float = 300.0) -> None:
    """Tests: when ``TKPK_HOLD_AT`` is ``<name>:<folder>``, say that the process stands at this
    point (create ``<folder>/<name>.held``) and wait until ``<folder>/<name>.release`` exists (at
    most ``timeout`` seconds), so that a test can act at that moment (e.g. read the old pack
    while the swap waits)."""
    point, _, folder = os.environ.get(HOLD_ENV, "").partition(":")
    if point != name or not folder:
        return
    (Path(folder) / f"{name}.held").touch()
    release = Path(folder) / f"{name}.release"
    deadline = time.monotonic() + timeout
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """Flush every file and folder under ``root`` to disk."""
    for folder, _dirs, files in os.walk(root):
        for name in files:
            fd = os.open(Path(folder) / name, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(folder))


@contextmanager
def publish_lock(curated_dir: Path) -> Iterator[None]:
    """Serialise publishers (never readers) with an advisory lock on ``.publish.lock``."""
    curated_dir.mkdir(parents=True, exist_ok=True)
    with open(curated_dir / LOCK_FILE, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def version_name(run_id: str) -> str:
    """A sortable, unique version folder name: UTC time, then the run id."""
    safe_run = re.sub(r"[^A-Za-z0-9_.-]", "_", run_id)[:80] or "run"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}_{safe_run}_{secrets.token_hex(2)}"


def new_staging(curated_dir: Path, run_id: str) -> Path:
    """A fresh staging folder for one version."""
    path = curated_dir / STAGING_DIR / version_name(run_id)
    path.mkdir(parents=True)
    return path


def commit_version(curated_dir: Path, staging: Path) -> Path:
    """Flush ``staging`` to disk and move it into ``.versions/`` (one rename)."""
    versions = curated_dir / VERSIONS_DIR
    versions.mkdir(exist_ok=True)
    fsync_tree(staging)
    target = versions / staging.name
    os.rename(staging, target)
    _fsync_dir(versions)
    _fsync_dir(staging.parent)
    return target


def _atomic_symlink(link: Path, target: str) -> None:
    """Point ``link`` at ``target`` (relative) by renaming a fresh symlink over it."""
    temporary = link.with_name(f".{link.name}.tmp-{secrets.token_hex(4)}")
    os.symlink(target, temporary)
    try:
        os.replace(temporary, link)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_dir(link.parent)


def current_version(curated_dir: Path) -> Path | None:
    """The published version folder, or None before the first publish."""
    link = curated_dir / CURRENT_LINK
    if not link.is_symlink():
        return None
    return (curated_dir / os.readlink(link)).resolve()


def ensure_pack_links(curated_dir: Path, packs: list[str]) -> None:
    """Make ``<pack>`` a symlink to ``current/<pack>`` (migrating a legacy real folder)."""
    for pack in packs:
        link = curated_dir / pack
        target = f"{CURRENT_LINK}/{pack}"
        if link.is_symlink():
            if os.readlink(link) != target:
                _atomic_symlink(link, target)
            continue
        if link.exists():
            legacy = curated_dir / VERSIONS_DIR / version_name(f"legacy-{pack}")
            legacy.mkdir(parents=True)
            os.rename(link, legacy / pack)
            log.warning("moved the legacy folder %s to %s", link, legacy / pack)
        _atomic_symlink(link, target)


def swap_current(curated_dir: Path, version_dir: Path, packs: list[str]) -> None:
    """Publish ``version_dir``: one atomic replacement of the ``current`` symlink."""
    relative = os.path.relpath(version_dir, curated_dir)
    _atomic_symlink(curated_dir / CURRENT_LINK, relative)
    ensure_pack_links(curated_dir, packs)


def resolve_pack(curated_dir: Path, pack: str) -> Path:
    """The version folder a reader should read ``pack`` from (pinned: later swaps don't affect
    it). Raises FileNotFoundError before the first publish."""
    path = (curated_dir / pack).resolve(strict=True)
    return path


def _remove(curated_dir: Path, path: Path) -> None:
    """Remove a folder: rename it into ``.trash`` first (atomic), then delete it."""
    trash = curated_dir / TRASH_DIR
    trash.mkdir(exist_ok=True)
    target = trash / f"{path.name}-{secrets.token_hex(3)}"
    os.rename(path, target)
    shutil.rmtree(target, ignore_errors=True)


def collect_garbage(
    curated_dir: Path,
    keep_previous: int = KEEP_PREVIOUS,
    grace_seconds: float = GRACE_SECONDS,
) -> list[str]:
    """Remove staging leftovers and old versions; call with the publish lock held.

    Kept: the current version, the ``keep_previous`` newest versions older than it, and any
    version younger than ``grace_seconds``. Returns the names of removed versions.
    """
    for leftover in (curated_dir / STAGING_DIR).glob("*"):
        log.warning("removing the leftover staging folder %s (interrupted run)", leftover)
        _remove(curated_dir, leftover)
    for stale in curated_dir.glob(".*.tmp-*"):
        if stale.is_symlink():
            stale.unlink(missing_ok=True)
    trash = curated_dir / TRASH_DIR
    if trash.exists():
        for item in trash.iterdir():
            shutil.rmtree(item, ignore_errors=True)
    versions_dir = curated_dir / VERSIONS_DIR
    if not versions_dir.exists():
        return []
    current = current_version(curated_dir)
    names = sorted(p.name for p in versions_dir.iterdir() if p.is_dir())
    current_name = current.name if current is not None else None
    older = [n for n in names if current_name is None or n < current_name]
    keep = set(older[-keep_previous:]) if keep_previous > 0 else set()
    if current_name:
        keep.add(current_name)
    removed = []
    now = time.time()
    for name in names:
        path = versions_dir / name
        if name in keep or now - path.stat().st_mtime < grace_seconds:
            continue
        _remove(curated_dir, path)
        removed.append(name)
    return removed
