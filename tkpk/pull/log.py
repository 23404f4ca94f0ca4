"""The pull record in the warehouse: ``source_pull_log``, one row per pulled (or failed) file.

It is both the history (published as the curated table ``source_pulls``) and the state that
tells what was already pulled: a remote file whose (path, size, modification time) equals its
last recorded pull is not downloaded again.

Each row is committed on its own, right after the file landed in the raw folder, outside the
nightly run's transaction (the pull runs before the warehouse is opened for the run): a run that
crashes later keeps the record. A crash between the rename into ``data/raw/`` and the insert
leaves a file without a record; the next pull finds the same bytes under that name in the raw
folder and records them (``already_present``), so nothing lands twice.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from datetime import datetime

import duckdb

TABLE = "source_pull_log"

#: Columns of ``source_pull_log`` (also created empty by the transforms when no pull ran).
DDL = """
    run_id varchar not null,
    source varchar not null,
    remote_path varchar not null,
    size bigint,
    remote_modified timestamp,
    sha256 varchar,
    pulled_at timestamp not null,
    outcome varchar not null,
    local_name varchar,
    reason varchar
"""

#: Outcomes: the bytes are in the raw folder under ``local_name`` ...
PULLED = "pulled"  # ... landed under the remote name
RENAMED = "renamed"  # ... changed bytes under a known name: landed under a revision name
UNCHANGED = "unchanged"  # ... size or time changed, same bytes as the last pull: nothing landed
ALREADY_PRESENT = "already_present"  # ... the raw folder already had these bytes under the name
#: ... or not (the file is tried again at the next pull):
UNSTABLE = "unstable"  # the file changed while it was downloaded
FAILED = "failed"  # the source (remote_path: its URL) or the file could not be pulled
HELD = (PULLED, RENAMED, UNCHANGED, ALREADY_PRESENT)
OUTCOMES = (PULLED, RENAMED, UNCHANGED, ALREADY_PRESENT, UNSTABLE, FAILED)


@dataclass(frozen=True)
class PullRecord:
    """One row of ``source_pull_log``."""

    run_id: str
    source: str
    remote_path: str
    size: int | None
    remote_modified: datetime | None
    sha256: str | None
    pulled_at: datetime
    outcome: str
    local_name: str | None
    reason: str | None = None

    @property
    def landed(self) -> bool:
        """Whether this pull put a new file into the raw folder."""
        return self.outcome in (PULLED, RENAMED)


@dataclass(frozen=True)
class Held:
    """What the last pull of a remote path holds: size, time, content and local name."""

    size: int
    modified: datetime | None
    sha256: str
    local_name: str | None


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``source_pull_log`` when it does not exist."""
    con.execute(f"create table if not exists {TABLE} ({DDL})")


def held_files(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, Held]:
    """remote path -> what its latest successful pull of ``source`` holds."""
    ensure_table(con)
    rows = con.execute(
        f"""
        select remote_path, size, remote_modified, sha256, local_name
        from {TABLE}
        where source = ? and outcome in ({", ".join("?" * len(HELD))})
        qualify row_number() over (partition by remote_path order by pulled_at desc) = 1
        """,
        [source, *HELD],
    ).fetchall()
    return {path: Held(size, modified, sha, local) for path, size, modified, sha, local in rows}


def write(con: duckdb.DuckDBPyConnection, records: list[PullRecord]) -> None:
    """Append ``records`` and commit them (autocommit: one short transaction)."""
    if not records:
        return
    ensure_table(con)
    con.executemany(
        f"insert into {TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [astuple(record) for record in records],
    )
