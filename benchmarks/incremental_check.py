"""Check: the models of a warehouse built incrementally equal a full rebuild of them.

Opens a copy of the warehouse (the original is never written), takes the digest the publish's reuse
uses (``tkpk.publish.reuse.table_digest``: column types, rows, a sum and an xor of two row
hashes) of every model table, rebuilds every model in full
(``transforms.runner.build_marts``) in a transaction, takes the same digests, rolls back, and
prints the models whose digests differ (exit status 1 when any does). Use it on a warehouse after
a full and an incremental nightly run, e.g. the 1M benchmark's::

    PYTHONPATH=. .venv/bin/python benchmarks/incremental_check.py \\
        --db benchmarks/work/pipeline/h1000000-r33.75/run/warehouse.duckdb --work /tmp/incr-check
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from tkpk.config import Settings
from tkpk.db import connect
from tkpk.publish.reuse import table_digest
from transforms.runner import build_marts, graph


def digests(con, names: list[str]) -> dict[str, list]:
    """Column types, row count and row-hash digest of each table in ``names``."""
    return {name: table_digest(con, name) for name in names}


def compare(db: Path) -> list[str]:
    """The models of ``db`` whose rows differ from a full rebuild (rolled back)."""
    con = connect(Settings(), db)
    names = list(graph().order)
    stored = digests(con, names)
    start = time.process_time()
    con.execute("begin")
    build_marts(con)
    rebuilt = digests(con, names)
    con.execute("rollback")
    print(f"full rebuild: {time.process_time() - start:.1f} s CPU")
    for name in names:
        verdict = "same" if stored[name] == rebuilt[name] else "DIFFERENT"
        print(f"{verdict:9s} {name} ({stored[name][1]:,} rows; rebuilt {rebuilt[name][1]:,})")
    return [name for name in names if stored[name] != rebuilt[name]]


def main() -> int:
    """Copy the warehouse to the work folder and compare."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="the warehouse to check")
    parser.add_argument("--work", type=Path, required=True, help="folder for the copy")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    copy = args.work / "warehouse.duckdb"
    shutil.copyfile(args.db, copy)
    try:
        different = compare(copy)
    finally:
        copy.unlink(missing_ok=True)
    print("different:", ", ".join(different) or "none")
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main())
