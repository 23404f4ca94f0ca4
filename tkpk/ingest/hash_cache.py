"""SHA-256 of the raw files, cached by file status: a nightly run reads only its new files.

Every run identifies the raw folder's files by content (``ingest_file.sha256``). Hashing every
file again each night reads the whole folder: 3 GB at 1,000,000 households, about 4 s CPU of a
one-file run. The cache (``Settings.raw_hash_cache``, a JSON file outside the warehouse) maps a
file's path and status (size, mtime and ctime in nanoseconds, inode, device) to its hash. Any
write to a file changes its ctime, which no tool can set back, so a cached hash is only used for
a file whose bytes cannot have changed; a file whose ctime is less than ``RACY_SECONDS`` old when
the cache is written is not kept (a write in the same clock tick would leave its status
unchanged). A missing or unreadable cache only means hashing again: it holds nothing the
warehouse needs, and an entry can never be wrong for the current run (git's index works the same
way). The files the cache does not hold are hashed up front on two threads
(:meth:`HashCache.prefetch`: a full run's 3.2 GB at 1,000,000 households, ~2 s CPU, in about
half the wall time). The same read feeds the reader's scan of the bytes (``scanner``: the CSV
reader's :class:`~tkpk.ingest.csv_bytes.LineScan`), which :meth:`HashCache.scan_of` then hands
to the reader while the file's status is unchanged: a new file is read once for both.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tkpk.ingest.files import HASH_CHUNK_BYTES, sha256_of

#: A file changed less than this long before the cache is written is hashed again next time.
RACY_SECONDS = 2.0
#: Threads hashing the files the cache does not hold (:meth:`HashCache.prefetch`; hashlib
#: releases the GIL on large updates).
HASH_THREADS = 2


def _status(path: Path) -> list[int]:
    """The status fields a content change always changes (the link's target for a link)."""
    info = path.stat()
    return [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev]


class HashCache:
    """The cached hashes of one run: ``sha256(path)``, then ``save()``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.used: dict[str, dict] = {}
        try:
            self.entries: dict[str, dict] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.entries = {}
        if not isinstance(self.entries, dict):
            self.entries = {}
        #: path -> (SHA-256, status after hashing) of :meth:`prefetch`
        self.prefetched: dict[str, tuple[str, list[int]]] = {}
        #: path -> (the scanner's scan of the bytes hashed, status after hashing)
        self.scans: dict[str, tuple[Any, list[int]]] = {}

    def _cached(self, key: str, status: list[int]) -> str | None:
        entry = self.entries.get(key)
        if isinstance(entry, dict) and entry.get("status") == status and entry.get("sha256"):
            return str(entry["sha256"])
        return None

    def prefetch(self, paths: Iterable[Path], scanner: Callable[[], Any] | None = None) -> None:
        """Hash the files of ``paths`` the cache does not hold, on ``HASH_THREADS`` threads
        (a full run's first pass over the raw folder); :meth:`sha256` then takes a file's hash
        from here when its status is still the one after hashing. A file that cannot be read is
        left to :meth:`sha256` (which raises). With ``scanner`` (a factory of objects with
        ``feed(chunk)`` and ``finish()``), each file hashed is also fed, chunk by chunk, to a
        scan of its own, kept for :meth:`scan_of`."""

        def one(path: Path) -> tuple[str, tuple[str, list[int]], Any] | None:
            key = str(path.absolute())
            try:
                if self._cached(key, _status(path)) is not None:
                    return None
                scan = scanner() if scanner is not None else None
                if scan is None:
                    sha = sha256_of(path)
                else:
                    sha = sha256_of(path, HASH_CHUNK_BYTES, scan.feed)
                if scan is not None:
                    scan.finish()
                return key, (sha, _status(path)), scan
            except OSError:
                return None

        with ThreadPoolExecutor(HASH_THREADS) as pool:
            for result in pool.map(one, list(paths)):
                if result is not None:
                    key, hashed, scan = result
                    self.prefetched[key] = hashed
                    if scan is not None:
                        self.scans[key] = (scan, hashed[1])

    def scan_of(self, path: Path) -> Any | None:
        """The scan :meth:`prefetch` made of the file's bytes while hashing them, when the file's
        status is still the one after hashing (its bytes cannot have changed); else None (and
        the reader scans the file itself). Each scan is handed out once."""
        kept = self.scans.pop(str(path.absolute()), None)
        try:
            return kept[0] if kept is not None and kept[1] == _status(path) else None
        except OSError:
            return None

    def sha256(self, path: Path) -> str:
        """The file's SHA-256: from the cache when its status is unchanged, else read."""
        key = str(path.absolute())
        status = _status(path)
        cached = self._cached(key, status)
        prefetched = self.prefetched.pop(key, None)
        if cached is not None:
            sha = cached
        elif prefetched is not None and prefetched[1] == status:
            sha = prefetched[0]
        else:
            sha = sha256_of(path)
            status = _status(path)  # as read (a file written meanwhile is hashed again next run)
        self.used[key] = {"status": status, "sha256": sha}
        return sha

    def save(self) -> None:
        """Write the hashes of this run's files (others are dropped), atomically; a failure to
        write only costs the next run its hashing."""
        settled = time.time_ns() - int(RACY_SECONDS * 1e9)
        kept = {k: v for k, v in self.used.items() if v["status"][2] < settled}
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(json.dumps(kept, indent=0), encoding="utf-8")
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)
        except OSError:
            temporary.unlink(missing_ok=True)
