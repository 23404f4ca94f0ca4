"""Benchmark: the nightly run's publish and data_docs stages on a real warehouse and its packs.

Copies the published packs of a pipeline benchmark run (``--curated``, the folder of
``pipeline_bench.py``: ``.versions/``, ``current``, ``data_docs/``) into ``--work``, then runs the
publish stage (``flows.nightly.publish``'s body: ``publish_packs`` + ``set_pack_modes``) and the
data_docs stage (``publish_validation_docs``'s body: Data Docs of the output suites + their
personal-data audit) on a copy of the warehouse (``--db``; opened read-write: copy it first),
as in:

- ``--mode full``: no published version (the full run's publish: every probe whole);
- ``--mode incremental``: the version published before the newest one is made current again
  (the warehouse holds one more load than it covered: the incremental run's publish).

Prints CPU and wall seconds of the stages and of each publish step (cProfile cumulative), as
JSON. Example (1M households, after ``pipeline_bench.py --households 1000000``)::

    cp /work/ref/1m/warehouse.duckdb W/warehouse.duckdb
    python benchmarks/publish_stage_bench.py --db W/warehouse.duckdb \
        --curated benchmarks/work/pipeline/h1000000-r33.75/run/curated --work W --mode incremental
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import shutil
import time
from dataclasses import replace
from pathlib import Path

#: (module, function) timed inside the stages (CPU seconds, summed over calls).
STEPS = (
    ("tkpk.publish.packs", "check_sources"), ("tkpk.publish.packs", "write_restricted"),
    ("tkpk.publish.packs", "validate_restricted"), ("tkpk.publish.verivali", "write_verivali"),
    ("tkpk.publish.packs", "write_bappeda"), ("tkpk.publish.packs", "audit_bappeda"),
    ("tkpk.publish.packs", "audit_personal_data"), ("tkpk.publish.packs", "write_documents"),
    ("tkpk.publish.atomic", "commit_version"), ("tkpk.publish.atomic", "collect_garbage"),
    ("tkpk.publish.privacy", "refresh_index"), ("tkpk.publish.privacy", "audit_documents"),
    ("tkpk.validation", "build_data_docs"),
)
BENCH_KEY = "pipeline-benchmark-key-not-a-secret"


def prepare(curated: Path, work: Path, mode: str) -> Path:
    """A fresh copy of the packs under ``work/curated``, set up for ``mode``."""
    target = work / "curated"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(curated, target, symlinks=True)
    versions = sorted((target / ".versions").iterdir())
    current = target / "current"
    if mode == "full":
        for name in ("current", "restricted", "bappeda"):
            (target / name).unlink(missing_ok=True)
        for version in versions:
            shutil.rmtree(version)
    else:
        current.unlink()
        os.symlink(os.path.relpath(versions[-2], target), current)
        shutil.rmtree(versions[-1])
    for site in (target / "data_docs").glob("*"):
        if site.is_dir():
            os.utime(site)
    return target


def timers() -> dict[str, float]:
    """Wrap ``STEPS`` with CPU timers; returns the totals, filled as they run."""
    import importlib

    totals: dict[str, float] = {}
    for module_name, name in STEPS:
        module = importlib.import_module(module_name)
        original = getattr(module, name, None)
        if original is None:  # an older checkout
            continue

        def wrapper(*args, _original=original, _name=name, **kwargs):
            cpu = time.process_time()
            try:
                return _original(*args, **kwargs)
            finally:
                totals[_name] = totals.get(_name, 0.0) + time.process_time() - cpu

        setattr(module, name, wrapper)
    return totals


def forget_newest_load(db: Path) -> None:
    """Incremental mode: the personal-value index as the previous run left it (the newest load
    not covered), when the warehouse has one."""
    import duckdb

    from tkpk.publish import privacy

    con = duckdb.connect(str(db))
    try:
        query = "select table_name from information_schema.tables"
        tables = {r[0] for r in con.execute(query).fetchall()}
        if getattr(privacy, "INDEX_LOADS", None) in tables:
            con.execute(
                f"""delete from {privacy.INDEX_LOADS} where load in (
                    select cast(file_id as varchar) from ingest_file
                    where load_id = (select max(load_id) from ingest_file)
                    union all select sha256 from ingest_file
                    where load_id = (select max(load_id) from ingest_file))"""
            )
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--curated", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--mode", choices=("full", "incremental"), default="incremental")
    parser.add_argument("--profile", type=Path, help="write the cProfile stats here")
    parser.add_argument("--cold-gx", action="store_true",
                        help="import Great Expectations inside the timed publish (default: before)")
    args = parser.parse_args()
    os.environ.setdefault("TKPK_PSEUDONYM_KEY", BENCH_KEY)
    curated = prepare(args.curated, args.work, args.mode)
    if args.mode == "incremental":
        forget_newest_load(args.db)
    if not args.cold_gx:  # the nightly run imported Great Expectations at its validate stage
        import great_expectations  # noqa: F401
    from flows.nightly import audit_data_docs
    from tkpk.config import get_settings
    from tkpk.db import connect
    from tkpk.publish import publish_packs
    from tkpk.publish.privacy import set_pack_modes
    from tkpk.validation import publish_data_docs

    settings = get_settings().with_paths(db=args.db, out=curated)
    settings = replace(settings, temp_dir=args.work / "tmp")
    con = connect(settings)
    run_id = f"bench-{args.mode}"
    out: dict = {"mode": args.mode, "stages": {}}
    steps = timers()
    profile = cProfile.Profile() if args.profile else None
    for stage in ("publish", "data_docs"):
        wall, cpu = time.perf_counter(), time.process_time()
        if profile:
            profile.enable()
        if stage == "publish":
            result = publish_packs(con, settings, run_id)
            set_pack_modes(settings.curated_dir, result.version_dir)
        else:
            path = publish_data_docs(result.validations, settings, run_id)
            audit_data_docs(con, path.parent, settings.data_docs_dir,
                            index_current=getattr(result, "index_current", False))
        if profile:
            profile.disable()
        out["stages"][stage] = {"cpu_s": round(time.process_time() - cpu, 2),
                                "wall_s": round(time.perf_counter() - wall, 2)}
    con.close()
    out["steps_cpu_s"] = {k: round(v, 2) for k, v in steps.items()}
    if profile:
        pstats.Stats(profile).dump_stats(args.profile)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
