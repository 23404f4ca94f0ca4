"""Probe: where the raw load's CPU goes, per kind of file and per phase (``load_new_files`` over a
whole raw folder). Each phase is a function of the raw load wrapped with a timer (CPU seconds of
the process, ``time.process_time``, and wall seconds), counted exclusively (a phase's time leaves
out the phases it calls), per kind of the file being read: hashing the files, the byte scan and
transcoding, DuckDB's ``read_csv`` into ``_good``, the line checks, classification, the staging
statement (``stage``: the ``COPY`` of ``stg_<kind>`` to the staged Parquet), the records-as-read
file (``raw_text``), the spreadsheet reader, the ``ingest_file`` rows; ``other`` is the rest of
reading and staging a file, ``outside_files`` the rest of the load. With ``--digests``, the
count and order-independent digests (hash of the row and of its reversed text) of the staged
and records-as-read files of each kind, for comparing two versions of the code. Usage (from the
repository root)::

    PYTHONPATH=$PWD .venv/bin/python benchmarks/load_phase_probe.py \\
        --raw <raw folder> --work /tmp/load_phases [--digests] [--json out.json]

Everything happens in one transaction on a throw-away warehouse in ``--work``, rolled back.
"""

from __future__ import annotations

import functools
import sys
import time
from collections import defaultdict
from pathlib import Path

import duckdb

from tkpk.db import sql_literal
from tkpk.ingest import csv_reader, hash_cache, lines, raw, spreadsheet

sys.path.insert(0, str(Path(__file__).parent))
from ingest_probe import begin_probe, end_probe, probe_parser  # noqa: E402

#: (module or class, attribute, phase): the functions timed, looked up where the raw load calls
#: them
PHASES = (
    (hash_cache.HashCache, "prefetch", "hash_files"),
    (csv_reader, "prepare_text", "byte_scan"),
    (csv_reader, "transcode", "transcode"),
    (csv_reader, "has_utf8_multibyte", "utf8_check"),
    (csv_reader, "_header_region", "header"),
    (csv_reader, "_duckdb_read", "read_csv"),
    (csv_reader, "_needs_blank_lines", "line_checks"),
    (csv_reader, "_good_value_breaks", "value_breaks"),
    (csv_reader, "blank_line_offsets", "blank_lines"),
    (csv_reader, "_build_csv_records", "records"),
    (csv_reader, "account_lines", "account_lines"),
    (spreadsheet, "read_sheet_records", "read_xlsx"),
    (lines, "classify_records", "classify"),
    (raw, "stage_rows", "stage"),
    (raw, "_write_raw_text", "raw_text"),
    (raw, "_record", "ingest_file"),
    (raw, "_read_and_stage_on", "other"),
)

#: (kind, phase) -> [CPU s, wall s, calls], exclusive of the timed phases called inside
TIMES: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
#: the open phases: [phase, CPU of the children, wall of the children]
STACK: list[list] = []
KIND = ["-"]


def _timed(function, phase: str):
    """``function`` timing itself as ``phase`` (exclusive of the timed phases inside)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if phase == "other":  # _read_and_stage_on(cur, reader, settings, run_id, raw, ...)
            KIND[0] = args[4].parsed.kind or "-"
        STACK.append([phase, 0.0, 0.0])
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent_cpu, spent_wall = time.process_time() - cpu, time.perf_counter() - wall
            _, child_cpu, child_wall = STACK.pop()
            entry = TIMES[(KIND[0], phase)]
            entry[0] += spent_cpu - child_cpu
            entry[1] += spent_wall - child_wall
            entry[2] += 1
            if STACK:
                STACK[-1][1] += spent_cpu
                STACK[-1][2] += spent_wall
            if phase == "other":
                KIND[0] = "-"

    return wrapper


def _digests(outcomes) -> dict[str, dict[str, list]]:
    """Per kind: (rows, bit_xor of the row hash, bit_xor of the reversed text's hash) of the
    staged files and of the records-as-read files."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    for o in outcomes:
        if o.staged:
            by_kind[o.kind].append(o.staged)
    result = {}
    with duckdb.connect() as con:
        for kind, files in sorted(by_kind.items()):
            result[kind] = {}
            for name, paths in (("staged", files), ("raw", [raw.raw_text_file(f) for f in files])):
                listed = ", ".join(sql_literal(p) for p in paths)
                result[kind][name] = [str(v) for v in con.execute(
                    "select count(*), coalesce(bit_xor(hash(t)), 0), "
                    "coalesce(bit_xor(hash(reverse(cast(t as varchar)))), 0) "
                    f"from read_parquet([{listed}]) as t"
                ).fetchone()]
    return result


def main() -> None:
    """Load one raw folder with the phases timed; print (and save) the figures."""
    parser = probe_parser(__doc__)
    parser.add_argument("--digests", action="store_true", help="digest the staged files")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    for owner, name, phase in PHASES:
        setattr(owner, name, _timed(getattr(owner, name), phase))
    settings, con = begin_probe(args.raw, args.work)
    cpu, wall = time.process_time(), time.perf_counter()
    outcomes = load_new_files_timed(con, settings)
    total_cpu, total_wall = time.process_time() - cpu, time.perf_counter() - wall
    timed_cpu = sum(v[0] for v in TIMES.values())
    timed_wall = sum(v[1] for v in TIMES.values())
    TIMES[("-", "outside_files")] = [total_cpu - timed_cpu, total_wall - timed_wall, 1]
    by_phase: dict[str, float] = defaultdict(float)
    by_kind: dict[str, float] = defaultdict(float)
    for (kind, phase), (spent, _, _) in TIMES.items():
        by_phase[phase] += spent
        by_kind[kind] += spent
    figures: dict = {
        "load": {"cpu_s": round(total_cpu, 2), "wall_s": round(total_wall, 2)},
        "by_phase": {k: round(v, 2) for k, v in sorted(by_phase.items(), key=lambda kv: -kv[1])},
        "by_kind": {k: round(v, 2) for k, v in sorted(by_kind.items(), key=lambda kv: -kv[1])},
        "phases": {
            f"{kind}|{phase}": [round(v[0], 2), round(v[1], 2), int(v[2])]
            for (kind, phase), v in sorted(TIMES.items(), key=lambda kv: -kv[1][0])
        },
    }
    if args.digests:
        figures["digests"] = _digests(outcomes)
    end_probe(con, figures, args.json)


def load_new_files_timed(con, settings):
    """``load_new_files`` (looked up after the phases are wrapped)."""
    return raw.load_new_files(con, settings, "probe")


if __name__ == "__main__":
    main()
