"""Per-statement probe of the ingest (and optionally the transforms): wall time of every SQL
statement and the spill / memory DuckDB holds while it runs.

Runs the raw load and ``process_loads`` on a raw folder inside one transaction, as the nightly
flow does, then rolls back. A sampler on a second cursor reads ``duckdb_temporary_files()`` and
``duckdb_memory()`` every ``--every`` seconds; each statement gets the peak spill seen while it
ran. Prints the statements that took longest or spilled most, and writes every statement to
``<work>/probe.json``. Usage (from the repository root)::

    TKPK_REGION=33 .venv/bin/python benchmarks/ingest_probe.py \\
        --raw <raw folder> --work /tmp/probe [--transforms]

It found the province's spill (issue 6): at 5 of the 35 kab/kota, the members decision held
4 GB of spill (a wide CTE materialised for three readers, and the sort of every staged row).
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from tkpk import reference
from tkpk.config import get_settings
from tkpk.db import connect
from tkpk.ingest.accept import process_loads
from tkpk.ingest.raw import load_new_files


@dataclass
class Statement:
    """One executed statement: its first words, wall seconds, peak spill MB while it ran."""

    sql: str
    start_s: float
    wall_s: float = 0.0
    peak_spill_mb: float = 0.0
    peak_memory: dict[str, int] = field(default_factory=dict)


class Probe:
    """Samples the spill and memory of a DuckDB database while statements run."""

    def __init__(self, con: duckdb.DuckDBPyConnection, every: float) -> None:
        self.cursor = con.cursor()
        self.every = every
        self.started = time.perf_counter()
        self.statements: list[Statement] = []
        self.current: Statement | None = None
        self.peak_spill_mb = 0.0
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while True:
            spill = self.cursor.execute(
                "select coalesce(sum(size), 0) / 1e6 from duckdb_temporary_files()"
            ).fetchone()[0]
            memory = dict(
                self.cursor.execute(
                    "select tag, ((memory_usage_bytes + temporary_storage_bytes) // 1e6)::int "
                    "from duckdb_memory() where memory_usage_bytes + temporary_storage_bytes > 0"
                ).fetchall()
            )
            self.peak_spill_mb = max(self.peak_spill_mb, spill)
            statement = self.current
            if statement is not None and spill >= statement.peak_spill_mb:
                statement.peak_spill_mb = spill
                statement.peak_memory = memory
            time.sleep(self.every)

    def begin(self, sql: str) -> Statement:
        """Start timing a statement."""
        statement = Statement(" ".join(str(sql).split())[:160], time.perf_counter() - self.started)
        self.statements.append(statement)
        self.current = statement
        return statement

    def end(self, statement: Statement) -> None:
        """Stop timing a statement."""
        statement.wall_s = round(time.perf_counter() - self.started - statement.start_s, 3)
        self.current = None


class ProbedConnection:
    """A DuckDB connection whose ``execute`` is timed and sampled by a ``Probe``."""

    def __init__(self, con: duckdb.DuckDBPyConnection, probe: Probe) -> None:
        self._con = con
        self._probe = probe

    def __getattr__(self, name: str):
        return getattr(self._con, name)

    def execute(self, sql, *args, **kwargs):
        """Execute and record ``sql``."""
        statement = self._probe.begin(sql)
        try:
            return self._con.execute(sql, *args, **kwargs)
        finally:
            self._probe.end(statement)


def probe_warehouse(raw: Path, work: Path):
    """(settings, connection) of a throw-away warehouse in ``work`` (created) over the raw folder
    ``raw``; spill in ``work/tmp`` unless ``TKPK_TEMP`` says otherwise."""
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TKPK_TEMP", str(work / "tmp"))
    settings = get_settings().with_paths(raw=raw, out=work / "out", db=work / "probe.duckdb")
    return settings, connect(settings)


def probe_parser(doc: str) -> argparse.ArgumentParser:
    """The argument parser of a load probe described by ``doc`` (its first line): ``--raw`` (the
    raw folder) and ``--work`` (a throw-away work folder); the probe adds its own options."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--raw", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True, help="throw-away work folder")
    return parser


def begin_probe(raw: Path, work: Path):
    """``probe_warehouse`` in an open transaction (the probe rolls it back) with the region's
    reference tables installed."""
    settings, con = probe_warehouse(raw, work)
    con.begin()
    reference.install(con, settings.region)
    return settings, con


def end_probe(con, figures: dict, json_path: Path | None) -> None:
    """Roll the probe's transaction back, close it, print ``figures`` and save them (when
    ``json_path`` is given)."""
    con.rollback()
    con.close()
    text = json.dumps(figures, indent=1)
    print(text)
    if json_path:
        json_path.write_text(text)


def main() -> None:
    """Probe one raw folder; print and save the per-statement figures."""
    parser = probe_parser(__doc__)
    parser.add_argument("--transforms", action="store_true", help="also build every model")
    parser.add_argument("--every", type=float, default=2.0, help="sampling interval, seconds")
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    settings, con = begin_probe(args.raw, args.work)
    probe = Probe(con, args.every)
    probed = ProbedConnection(con, probe)
    outcomes = load_new_files(con, settings, "probe")  # many small statements: not probed
    process_loads(probed, settings, "probe", outcomes)
    if args.transforms:
        from transforms.incremental import build_changed

        con.execute("set preserve_insertion_order = false")
        build_changed(probed, outcomes)
    con.rollback()
    con.close()
    statements = probe.statements
    (args.work / "probe.json").write_text(
        json.dumps(
            {"peak_spill_mb": probe.peak_spill_mb, "statements": [asdict(s) for s in statements]},
            indent=1,
        )
    )
    total = sum(s.wall_s for s in statements)
    print(f"peak spill {probe.peak_spill_mb:,.0f} MB; probed statements {total:,.1f} s")
    for title, key in (("longest", "wall_s"), ("most spill", "peak_spill_mb")):
        print(f"\n{title}:")
        for s in sorted(statements, key=lambda s: getattr(s, key), reverse=True)[: args.top]:
            print(f"{s.wall_s:8.1f} s {s.peak_spill_mb:8,.0f} MB  {s.sql[:100]}")


if __name__ == "__main__":
    main()
