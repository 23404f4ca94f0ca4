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
way).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from tkpk.ingest.files import sha256_of

#: A file changed less than this long before the cache is written is hashed again next time.
RACY_SECONDS = 2.0


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

    def sha256(self, path: Path) -> str:
        """The file's SHA-256: from the cache when its status is unchanged, else read."""
        key = str(path.absolute())
        status = _status(path)
        entry = self.entries.get(key)
        if isinstance(entry, dict) and entry.get("status") == status and entry.get("sha256"):
            sha = str(entry["sha256"])
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
