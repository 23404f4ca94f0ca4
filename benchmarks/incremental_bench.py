"""Benchmark: the incremental transform of one more program file, model by model, and its commit.

Takes a warehouse that already holds the file's accepted rows (the state after the nightly run's
ingest) and the file itself (its SHA-256 names it in ``ingest_file``). On a warehouse whose
curated tables already include the file (e.g. a benchmark warehouse after its incremental run)
the build recomputes the same rows and writes none: the writes, and every step that depends on
which rows changed, cost nothing. ``--prepare OUT`` makes the real "before" state once: a copy
whose program records (and flagged fields) of the file are moved to the table
``bench_withheld_records`` (``bench_withheld_flagged``) and whose
curated tables are then built in full (as the previous night left them); a bench on ``--db OUT``
puts the withheld records back into ``program_records`` (and commits, as the ingest does)
before the timed build. The warehouse is copied to ``--work`` (the original is never written),
marked as built by this checkout's model code (``mart_build_state``: the fingerprint of the SQL
files, so that a change of a header does not force a full build; the SQL bodies must produce the
same rows), and ``transforms.incremental.build_changed`` runs in one transaction, as the nightly
flow runs it, then the commit and a checkpoint. Prints (and with ``--json`` writes) the scope,
CPU seconds (every DuckDB thread of the process) and wall seconds of the build, per model, of the
commit and of the checkpoint.

    .venv/bin/python benchmarks/incremental_bench.py --db /work/ref/100k/warehouse.duckdb \\
        --file benchmarks/work/pipeline/h100000-r33.75/raw/salur_sembako_bri_202608_tahap3.csv \\
        [--prepare before.duckdb] [--work /tmp/incremental-bench] [--json result.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import duckdb

import transforms.incremental as incremental
from tkpk.db import MACROS_SQL
from tkpk.ingest.files import parse_file_name, sha256_of


class ModelClock:
    """CPU and wall seconds of each model's statements (wraps the builder's ``execute_model``)."""

    def __init__(self) -> None:
        self.models: dict[str, dict[str, float]] = {}
        self.original = incremental.execute_model

    def __enter__(self) -> ModelClock:
        def timed(con: duckdb.DuckDBPyConnection, name: str, sql: str, **kwargs: bool) -> None:
            cpu, wall = time.process_time(), time.perf_counter()
            self.original(con, name, sql, **kwargs)
            entry = self.models.setdefault(name, {"cpu_s": 0.0, "wall_s": 0.0})
            entry["cpu_s"] += time.process_time() - cpu
            entry["wall_s"] += time.perf_counter() - wall

        incremental.execute_model = timed
        return self

    def __exit__(self, *exc: object) -> None:
        incremental.execute_model = self.original


def timed(step: object) -> tuple[object, float, float]:
    """(result, CPU seconds, wall seconds) of calling ``step``."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = step()
    return result, time.process_time() - cpu, time.perf_counter() - wall


WITHHELD = "bench_withheld_records"
#: The ingest tables whose rows of the file ``prepare`` withholds (table -> the table holding them)
WITHHELD_TABLES = {"program_records": WITHHELD, "flagged_field": "bench_withheld_flagged"}


def prepare(db: Path, raw_file: Path, out: Path, work: Path, memory_limit: str,
            sha256: str | None = None) -> dict:
    """Write the "before" warehouse ``out``: a copy of ``db`` whose program records and flagged
    fields of ``raw_file`` (its SHA-256, or ``sha256`` when given) are withheld
    (``WITHHELD_TABLES``), its curated tables built in full."""
    sha256 = sha256 or sha256_of(raw_file)
    out.parent.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(db, out)
    out.chmod(0o600)
    con = duckdb.connect(str(out))
    try:
        con.execute(f"set memory_limit = '{memory_limit}'")
        con.execute(f"set temp_directory = '{work / 'spill'}'")
        con.execute(MACROS_SQL.read_text(encoding="utf-8"))
        con.begin()
        file_ids = "(select file_id from ingest_file where sha256 = ?)"
        for table, withheld in WITHHELD_TABLES.items():
            con.execute(f"create or replace table {withheld} as select * from {table} "
                        f"where file_id in {file_ids}", [sha256])
            con.execute(f"delete from {table} where file_id in {file_ids}", [sha256])
        report, cpu, wall = timed(lambda: incremental.full_build(con, "benchmark before state"))
        con.commit()
        con.execute("checkpoint")
        withheld = con.execute(f"select count(*) from {WITHHELD}").fetchone()[0]
    finally:
        con.close()
        shutil.rmtree(work, ignore_errors=True)
    return {"prepared": str(out), "withheld_records": withheld,
            "full_build": {"cpu_s": round(cpu, 3), "wall_s": round(wall, 3)}}


def restore_withheld(con: duckdb.DuckDBPyConnection) -> int:
    """Put the rows ``prepare`` withheld back into ``program_records`` and ``flagged_field``
    (committed, as the nightly ingest commits its rows before the transforms run); the number
    of records (0: none)."""
    if not con.execute("select count(*) from duckdb_tables() where table_name = ?",
                       [WITHHELD]).fetchone()[0]:
        return 0
    con.begin()
    count = con.execute(f"select count(*) from {WITHHELD}").fetchone()[0]
    for table, withheld in WITHHELD_TABLES.items():
        if con.execute("select count(*) from duckdb_tables() where table_name = ?",
                       [withheld]).fetchone()[0]:
            con.execute(f"insert into {table} select * from {withheld}")
            con.execute(f"drop table {withheld}")
    con.commit()
    con.execute("checkpoint")
    return count


def bench(db: Path, raw_file: Path, work: Path, memory_limit: str,
          sha256: str | None = None, keep: Path | None = None) -> dict:
    """Copy the warehouse, build the file's increment, commit, checkpoint; the timings (the file
    is read for its SHA-256 unless ``sha256`` is given). With ``keep``, the built warehouse is
    moved there (e.g. for ``incremental_check.py``)."""
    work.mkdir(parents=True, exist_ok=True)
    copy = work / "warehouse.duckdb"
    shutil.copyfile(db, copy)
    copy.chmod(0o600)
    outcome = SimpleNamespace(
        sha256=sha256 or sha256_of(raw_file), kind=parse_file_name(raw_file.name).kind,
        outcome="loaded", file_name=raw_file.name,
    )
    con = duckdb.connect(str(copy))
    try:
        con.execute(f"set memory_limit = '{memory_limit}'")
        con.execute(f"set temp_directory = '{work / 'spill'}'")
        con.execute(MACROS_SQL.read_text(encoding="utf-8"))
        restored = restore_withheld(con)
        incremental.record_build(con, "benchmark")
        con.begin()
        con.execute("set preserve_insertion_order = false")  # as the nightly flow
        with ModelClock() as clock:
            report, build_cpu, build_wall = timed(lambda: incremental.build_changed(con, [outcome]))
        con.execute("reset preserve_insertion_order")
        _, commit_cpu, commit_wall = timed(con.commit)
        _, checkpoint_cpu, checkpoint_wall = timed(lambda: con.execute("checkpoint"))
    finally:
        con.close()
        if keep is not None and copy.exists():
            shutil.move(copy, keep)
        shutil.rmtree(work, ignore_errors=True)
    scope = report.as_dict()
    scope["delta"] = [m["name"] for m in scope.pop("models") if m.get("delta")]
    return {
        "file": raw_file.name,
        "restored_records": restored,
        "scope": scope,
        "build": {"cpu_s": round(build_cpu, 3), "wall_s": round(build_wall, 3)},
        "commit": {"cpu_s": round(commit_cpu, 3), "wall_s": round(commit_wall, 3)},
        "checkpoint": {"cpu_s": round(checkpoint_cpu, 3), "wall_s": round(checkpoint_wall, 3)},
        "models": {
            name: {k: round(v, 3) for k, v in entry.items()}
            for name, entry in sorted(clock.models.items(), key=lambda kv: -kv[1]["cpu_s"])
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="warehouse holding the file's rows")
    parser.add_argument("--file", type=Path, required=True, help="the added raw file")
    parser.add_argument("--sha256", help="the file's SHA-256 (then --file need not exist: its "
                        "name gives the kind)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/tkpk-incremental-bench"))
    parser.add_argument("--memory-limit", default="3GB")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", type=Path, metavar="OUT",
                        help="keep the incrementally built warehouse as OUT")
    parser.add_argument("--prepare", type=Path, metavar="OUT",
                        help="write the before-state warehouse OUT instead of benchmarking")
    args = parser.parse_args()
    if args.prepare:
        result = prepare(args.db, args.file, args.prepare, args.work, args.memory_limit,
                         args.sha256)
    else:
        result = bench(args.db, args.file, args.work, args.memory_limit, args.sha256,
                       args.keep)
    text = json.dumps(result, indent=2, default=str)
    if args.json:
        args.json.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
