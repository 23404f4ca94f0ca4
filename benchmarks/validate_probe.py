"""CPU of the validate stage (``process_loads``) per statement, on a raw folder loaded once.

``prepare`` runs the raw load of a raw folder (the full run's files: the incremental file that
``pipeline_bench.py`` holds back is left out) into ``<work>/loaded.duckdb``, commits it and keeps
the staged Parquet files and the file outcomes. ``run`` then repeats only the validate stage on a
copy of that warehouse, as the nightly flow does (each kind committed in steps of at most
``Settings.commit_rows`` rows), and
reports CPU seconds per phase and per statement (``time.process_time``: every DuckDB thread of
the process); with ``--dump`` it writes the ingest's output tables, sorted, to Parquet (compare
two runs' dumps with ``compare``). Usage (from the repository root)::

    .venv/bin/python benchmarks/validate_probe.py prepare --raw <raw folder> --work /tmp/vp
    .venv/bin/python benchmarks/validate_probe.py run --work /tmp/vp [--dump /tmp/vp/dump_a]
    .venv/bin/python benchmarks/validate_probe.py compare /tmp/vp/dump_a /tmp/vp/dump_b
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.pipeline_bench import Phases, choose_increment, link_files  # noqa: E402
from tkpk.ingest.accept import LINEAGE_TABLES  # noqa: E402

#: The ingest's output tables compared between two runs (sorted by every column).
OUTPUT_TABLES = (
    *LINEAGE_TABLES,
    "member_nik_as_read",
    "snapshot_status",
    "ingest_data_quality",
    "ingest_data_quality_reason",
)
RUN_ID = "vprobe"


def _settings(work: Path, raw: Path | None = None):
    """Settings of a probe process: its own warehouse copy (``run-<pid>.duckdb``), so two probes
    of one work folder never write the same file."""
    os.environ.setdefault("TKPK_TEMP", str(work / "tmp"))
    from tkpk.config import get_settings

    return get_settings().with_paths(
        raw=raw, out=work / "out", db=work / f"run-{os.getpid()}.duckdb"
    )


def prepare(raw: Path, work: Path) -> None:
    """Load ``raw`` (without the incremental file) once; keep the warehouse, staged files and
    outcomes under ``work``."""
    from tkpk import reference
    from tkpk.db import connect
    from tkpk.ingest.raw import load_new_files

    work.mkdir(parents=True, exist_ok=True)
    increment = choose_increment(raw)
    folder = work / "raw"
    link_files([p for p in sorted(raw.iterdir()) if p != increment], folder)
    settings = _settings(work, folder)
    db = work / "loaded.duckdb"
    db.unlink(missing_ok=True)
    con = connect(settings, db)
    con.begin()
    reference.install(con, settings.region)
    cpu = time.process_time()
    outcomes = load_new_files(con, settings, RUN_ID)
    print(f"load: {time.process_time() - cpu:.1f} s CPU", flush=True)
    con.commit()
    con.close()
    stash = work / "staged"
    shutil.rmtree(stash, ignore_errors=True)
    shutil.copytree(settings.scratch_dir / RUN_ID, stash)
    (work / "outcomes.pickle").write_bytes(pickle.dumps(outcomes))


class Timer(Phases):
    """CPU and wall per phase (``Phases``: wrapped functions) and per statement (a wrapped
    connection)."""

    def __init__(self) -> None:
        super().__init__()
        self.statements: list[dict] = []


class TimedConnection:
    """A DuckDB connection whose ``execute`` is timed (CPU and wall)."""

    def __init__(self, con, timer: Timer) -> None:
        self._con = con
        self._timer = timer

    def __getattr__(self, name: str):
        return getattr(self._con, name)

    def execute(self, sql, *args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return self._con.execute(sql, *args, **kwargs)
        finally:
            self._timer.statements.append(
                {
                    "sql": " ".join(str(sql).split())[:200],
                    "cpu_s": round(time.process_time() - cpu, 3),
                    "wall_s": round(time.perf_counter() - wall, 3),
                }
            )


def run(work: Path, dump: Path | None, top: int) -> None:
    """The validate stage on a copy of the loaded warehouse; print CPU per phase and statement."""
    from tkpk.db import connect
    from tkpk.ingest import accept, scratch

    settings = _settings(work)
    shutil.copyfile(work / "loaded.duckdb", settings.warehouse)
    folder = scratch.hold(settings.scratch_dir, RUN_ID)
    shutil.rmtree(folder)
    shutil.copytree(work / "staged", folder)
    outcomes = pickle.loads((work / "outcomes.pickle").read_bytes())
    timer = Timer()
    for name, phase in (
        ("stage", "normalise"), ("validate_table", "validate_table"),
        ("_add_encoding_reasons", "encoding_reasons"), ("_decide", "decide"),
        ("_write_outcomes", "write_outcomes"), ("_count_decisions", "count_decisions"),
        ("_write_flags", "write_flags"), ("_rebuild_snapshot_status", "snapshot_status"),
        ("_record_quality", "record_quality"), ("_reconcile", "reconcile"),
    ):
        timer.wrap(accept, name, phase)
    from tkpk import validation

    timer.wrap(validation, "gx_sample", "gx_sample")
    # inside gx_sample: the GX import and context, the sample's draw, GX's own validation
    timer.wrap(validation, "_context", "gx_sample.context")
    timer.wrap(validation._GxSample, "_draw", "gx_sample.draw")
    timer.wrap(validation, "_validate_frame", "gx_sample.validate")
    from tkpk import suite_run

    timer.wrap(suite_run.SuiteRun, "run", "validate_table.suite_scan")
    con = connect(settings)
    timed = TimedConnection(con, timer)

    def commit_kind(kind: str, rows: int) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        con.commit()
        con.begin()
        entry = timer.totals.setdefault("commit", {"wall_s": 0.0, "cpu_s": 0.0, "calls": 0})
        entry["cpu_s"] += time.process_time() - cpu
        entry["wall_s"] += time.perf_counter() - wall
        entry["calls"] += 1

    def commit_step(kind: str, step: int, rows: int) -> None:  # within a kind (commit_rows)
        commit_kind(kind, rows)

    con.begin()
    wall, cpu = time.perf_counter(), time.process_time()
    accept.process_loads(timed, settings, RUN_ID, outcomes, on_kind=commit_kind,
                         on_step=commit_step)
    con.commit()
    total_cpu, total_wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"validate stage: {total_cpu:.1f} s CPU, {total_wall:.1f} s wall")
    for phase, entry in sorted(timer.totals.items(), key=lambda kv: -kv[1]["cpu_s"]):
        print(f"  {phase:18s} {entry['cpu_s']:7.1f} s CPU {entry['wall_s']:7.1f} s wall")
    print("statements:")
    for s in sorted(timer.statements, key=lambda s: -s["cpu_s"])[:top]:
        print(f"  {s['cpu_s']:7.1f} {s['wall_s']:7.1f}  {s['sql'][:150]}")
    (work / "validate_probe.json").write_text(
        json.dumps(
            {"cpu_s": total_cpu, "wall_s": total_wall, "phases": timer.as_dict(),
             "statements": timer.statements},
            indent=1,
        )
    )
    if dump is not None:
        dump.mkdir(parents=True, exist_ok=True)
        for table in OUTPUT_TABLES:
            columns = [
                r[0] for r in con.execute(f"describe {table}").fetchall()
                if r[0] not in ("run_id", "load_id")
            ]
            order = ", ".join(f'"{c}"' for c in columns)
            con.execute(
                f"copy (select {order} from {table} order by all) to "
                f"'{dump / table}.parquet' (format parquet)"
            )
    con.close()
    settings.warehouse.unlink(missing_ok=True)


def compare(a: Path, b: Path) -> None:
    """Say which dumped tables differ between two runs (as sorted multisets of rows)."""
    import duckdb

    con = duckdb.connect()
    same = True
    for table in OUTPUT_TABLES:
        left, right = f"'{a / table}.parquet'", f"'{b / table}.parquet'"
        n = con.execute(
            f"select (select count(*) from (select * from {left} except all "
            f"select * from {right})) + (select count(*) from (select * from {right} "
            f"except all select * from {left}))"
        ).fetchone()[0]
        rows = con.execute(f"select count(*) from {left}").fetchone()[0]
        print(f"{table:28s} {rows:>10,} rows  {'same' if n == 0 else f'{n} rows differ'}")
        same &= n == 0
    sys.exit(0 if same else 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--raw", type=Path, required=True)
    p.add_argument("--work", type=Path, required=True)
    r = sub.add_parser("run")
    r.add_argument("--work", type=Path, required=True)
    r.add_argument("--dump", type=Path)
    r.add_argument("--top", type=int, default=25)
    c = sub.add_parser("compare")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.raw.resolve(), args.work.resolve())
    elif args.command == "run":
        run(args.work.resolve(), args.dump.resolve() if args.dump else None, args.top)
    else:
        compare(args.a, args.b)


if __name__ == "__main__":
    main()
