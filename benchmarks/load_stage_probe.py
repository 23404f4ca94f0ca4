"""Probe: the raw load's CPU and wall time over a whole raw folder (``load_new_files``, the load
stage of the nightly run), the size of what it stages per kind (staged rows, records as read
kept) and, with ``--accept``, the acceptance after it (``process_loads``) with a digest of what
the kept records feed (the quarantine with its ``raw_values``, ``flagged_field``, ``duplicate``)
for comparing two versions of the code on the same data. Usage (from the repository root)::

    PYTHONPATH=$PWD .venv/bin/python benchmarks/load_stage_probe.py \\
        --raw <raw folder> --work /tmp/load_probe [--accept] [--json out.json]

Everything happens in one transaction on a throw-away warehouse in ``--work``, rolled back.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from pathlib import Path

import duckdb

from tkpk.ingest.accept import process_loads
from tkpk.ingest.raw import load_new_files, raw_text_file

sys.path.insert(0, str(Path(__file__).parent))
from ingest_probe import begin_probe, end_probe, probe_parser  # noqa: E402

#: (table, the query whose rows are digested): what the records as read feed, and the duplicates
DIGESTS = {
    "quarantine": "select file_id, row_number, kind, reasons, raw_values from quarantine",
    "flagged_field": "select * from flagged_field",
    "duplicate": "select * from duplicate",
    "registry_households": "select * from registry_households",
    "registry_members": "select * from registry_members",
    "program_records": "select * from program_records",
    "member_nik_as_read": "select * from member_nik_as_read",
    "ingest_data_quality": "select * from ingest_data_quality",
}


def _staged_sizes(outcomes) -> dict[str, dict[str, int]]:
    """Per kind: bytes of the staged files and of the records-as-read files beside them, rows of
    the latter."""
    sizes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    with duckdb.connect() as con:
        for o in outcomes:
            if not o.staged:
                continue
            staged = Path(o.staged)
            sizes[o.kind]["staged_bytes"] += staged.stat().st_size
            kept = raw_text_file(staged)
            if kept.exists():
                sizes[o.kind]["raw_bytes"] += kept.stat().st_size
                sizes[o.kind]["raw_rows"] += con.execute(
                    f"select count(*) from read_parquet('{kept}')"
                ).fetchone()[0]
            sizes[o.kind]["rows"] += o.rows_read
    return {k: dict(v) for k, v in sizes.items()}


def _digests(con: duckdb.DuckDBPyConnection) -> dict[str, list]:
    """(rows, order-independent digest) of each table of ``DIGESTS``."""
    return {
        name: list(con.execute(
            f"select count(*), coalesce(bit_xor(hash(cast(t as varchar))), 0) "
            f"from ({query}) as t"
        ).fetchone())
        for name, query in DIGESTS.items()
    }


def main() -> None:
    """Load one raw folder; print (and save) CPU, wall, sizes and digests."""
    parser = probe_parser(__doc__)
    parser.add_argument("--accept", action="store_true", help="also run process_loads")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    settings, con = begin_probe(args.raw, args.work)
    figures: dict = {}
    cpu, wall = time.process_time(), time.perf_counter()
    outcomes = load_new_files(con, settings, "probe")
    figures["load"] = {"cpu_s": round(time.process_time() - cpu, 1),
                       "wall_s": round(time.perf_counter() - wall, 1)}
    figures["staged"] = _staged_sizes(outcomes)
    if args.accept:
        cpu, wall = time.process_time(), time.perf_counter()
        process_loads(con, settings, "probe", outcomes)
        figures["accept"] = {"cpu_s": round(time.process_time() - cpu, 1),
                             "wall_s": round(time.perf_counter() - wall, 1)}
        figures["digests"] = _digests(con)
    end_probe(con, figures, args.json)


if __name__ == "__main__":
    main()
