"""Per-run scratch space: large intermediate results as Parquet files, outside the transaction.

Tables created and dropped inside a DuckDB transaction keep their storage until the transaction
ends. The nightly run is one transaction (so that a crash rolls every real table back), so the
ingest must not hold its scratch data (staged rows, decisions) in temporary tables: it writes them
as Parquet files to ``settings.scratch_dir / run_id`` and reads them back through temporary views.
A view costs nothing to drop; the files are deleted as soon as they are no longer needed, at the
end of the run, on any error, and (for a run that was killed) at the start of the next run.

A live run holds an exclusive ``flock`` on ``<scratch_dir>/<run_id>.lock``; a folder whose lock
can be taken belongs to a run that has ended, and is removed.

The raw load writes each file's staged rows into ``<run_id>/staged/<kind>/`` (:func:`staged_dir`)
before the ingest opens its ``RunScratch``: it takes the run's lock first (:func:`hold`), and the
``RunScratch`` of the same run in the same process adopts that lock and keeps the staged files.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
from pathlib import Path
from types import TracebackType

import duckdb

from tkpk.db import sql_literal

log = logging.getLogger(__name__)

LOCK_SUFFIX = ".lock"
#: The scratch group of the raw load's staged rows (one Parquet file per raw file).
STAGED_GROUP = "staged"
#: (root, run_id) -> descriptor of the run's lock taken by :func:`hold` in this process.
_HELD: dict[tuple[Path, str], int] = {}


def _try_lock(lock_file: Path) -> int | None:
    """An open descriptor holding an exclusive lock on ``lock_file``, or None when it is held."""
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def remove_stale(root: Path, keep: str | None = None) -> list[str]:
    """Remove the scratch folders under ``root`` of runs that have ended (their lock is free);
    return their names. ``keep`` names a folder to leave alone (the caller's own)."""
    removed: list[str] = []
    if not root.is_dir():
        return removed
    names = {p.name for p in root.iterdir() if p.is_dir()}
    names |= {p.name.removesuffix(LOCK_SUFFIX) for p in root.glob(f"*{LOCK_SUFFIX}")}
    for name in sorted(names - {keep}):
        lock_file = root / f"{name}{LOCK_SUFFIX}"
        fd = _try_lock(lock_file)
        if fd is None:
            continue  # a live run
        try:
            shutil.rmtree(root / name, ignore_errors=True)
            lock_file.unlink(missing_ok=True)
            removed.append(name)
        finally:
            os.close(fd)
    if removed:
        log.info("scratch: removed %d folder(s) of ended runs: %s", len(removed), removed)
    return removed


def hold(root: Path, run_id: str) -> Path:
    """Take the run's scratch lock (once per process; kept until the run's ``RunScratch`` ends)
    and return the run's scratch folder, created when missing (its files are kept)."""
    key = (root, run_id)
    for other in [k for k in _HELD if k[0] == root and k != key]:
        # a run of this process that staged files and then failed before its ingest ran (one
        # run at a time per process, e.g. ``tkpk serve``): its folder is removed now
        os.close(_HELD.pop(other))
    if key not in _HELD:
        root.mkdir(parents=True, exist_ok=True)
        remove_stale(root, keep=run_id)
        fd = _try_lock(root / f"{run_id}{LOCK_SUFFIX}")
        if fd is None:
            raise RuntimeError(f"scratch folder {root / run_id} is in use by another run")
        shutil.rmtree(root / run_id, ignore_errors=True)
        _HELD[key] = fd
    (root / run_id).mkdir(parents=True, exist_ok=True)
    return root / run_id


def staged_dir(root: Path, run_id: str, kind: str) -> Path:
    """The folder of the run's staged rows of ``kind`` (the run's lock held, see :func:`hold`)."""
    folder = hold(root, run_id) / STAGED_GROUP / kind
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class RunScratch:
    """The scratch folder of one run: ``with RunScratch(root, run_id) as scratch: ...``.

    ``materialise`` writes a query's result to Parquet and defines a temporary view of that name
    over it; ``release`` drops the views of a group and deletes its files. Leaving the ``with``
    block (normally or by an error) drops every view still defined and deletes the folder.
    """

    def __init__(self, root: Path, run_id: str) -> None:
        self.root = root
        self.run_id = run_id
        self.folder = root / run_id
        self._lock_fd: int | None = None
        self._views: dict[str, tuple[duckdb.DuckDBPyConnection, str]] = {}

    def __enter__(self) -> RunScratch:
        held = _HELD.pop((self.root, self.run_id), None)
        if held is not None:  # the raw load's lock: its staged files stay
            self._lock_fd = held
            self.folder.mkdir(parents=True, exist_ok=True)
            return self
        self.root.mkdir(parents=True, exist_ok=True)
        remove_stale(self.root, keep=self.run_id)
        self._lock_fd = _try_lock(self.root / f"{self.run_id}{LOCK_SUFFIX}")
        if self._lock_fd is None:
            raise RuntimeError(f"scratch folder {self.folder} is in use by another run")
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for group in sorted({group for _, group in self._views.values()}):
            self.release(group)
        shutil.rmtree(self.folder, ignore_errors=True)
        if self._lock_fd is not None:
            (self.root / f"{self.run_id}{LOCK_SUFFIX}").unlink(missing_ok=True)
            os.close(self._lock_fd)
            self._lock_fd = None

    def materialise(
        self, con: duckdb.DuckDBPyConnection, view: str, select: str, group: str
    ) -> Path:
        """Write ``select``'s rows (in its order) to ``<folder>/<group>/<view>.parquet`` and
        (re)define the temporary view ``view`` over that file; return the file."""
        target = self.folder / group / f"{view}.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        path = sql_literal(target)
        con.execute(f"copy ({select}) to {path} (format parquet)")
        con.execute(f"create or replace temp view {view} as select * from read_parquet({path})")
        self._views[view] = (con, group)
        return target

    def track_view(self, con: duckdb.DuckDBPyConnection, view: str, group: str) -> None:
        """Drop the temporary view ``view`` (defined by the caller over files of this folder)
        with ``group``."""
        self._views[view] = (con, group)

    def release(self, group: str) -> None:
        """Drop the views of ``group`` and delete its files (also after an aborted transaction,
        whose rollback removes the views anyway)."""
        for view, (con, view_group) in list(self._views.items()):
            if view_group == group:
                with contextlib.suppress(duckdb.Error):
                    con.execute(f"drop view if exists {view}")
                del self._views[view]
        shutil.rmtree(self.folder / group, ignore_errors=True)

    def size_bytes(self) -> int:
        """Bytes of the files currently in the folder."""
        return sum(p.stat().st_size for p in self.folder.rglob("*") if p.is_file())
