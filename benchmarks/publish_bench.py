"""Benchmark: publish both packs from a city-sized synthetic warehouse.

Reuses the generator of ``bench_marts.py`` (accepted tables directly in DuckDB, synthetic people
only), builds the marts, then times ``tkpk.publish.publish_packs`` step by step: restricted export
(with the HMAC pseudonyms computed in DuckDB), output suites, Bappeda suppression and audit,
personal-data audit, documents and the atomic swap. Writes under ``benchmarks/work/publish``.

    .venv/bin/python benchmarks/publish_bench.py [--households 90000] [--months 12] [--gx]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

from tkpk.config import PROJECT_ROOT, PSEUDONYM_KEY_ENV, get_settings
from tkpk.db import connect
from transforms.runner import build_marts

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_marts import generate  # noqa: E402

WORK = PROJECT_ROOT / "benchmarks" / "work" / "publish"


def main() -> None:
    """Generate, build the marts, publish twice (cold and warm) and print the timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=90_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--gx", action="store_true", help="run GX-native checks in GX")
    args = parser.parse_args()
    os.environ.setdefault(PSEUDONYM_KEY_ENV, "benchmark-key-not-secret")
    shutil.rmtree(WORK, ignore_errors=True)
    settings = replace(
        get_settings(), duckdb_threads=args.threads, curated_dir=WORK / "curated",
        temp_dir=WORK / "tmp",
    )
    con = connect(settings, ":memory:")
    generate(con, settings, args.households, args.months)
    con.execute(
        "insert into ingest_file by name select 1 as file_id, 'bench.csv' as file_name, "
        "repeat('0', 64) as sha256, 'households' as kind, date '2024-01-01' as period, "
        "'loaded' as file_outcome, 0 as rows_read, 0 as skipped_lines, now() as loaded_at"
    )
    started = time.perf_counter()
    build_marts(con)
    print(f"build_marts: {time.perf_counter() - started:.1f} s")
    from tkpk.publish import publish_packs

    for attempt in ("first", "second"):
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        result = publish_packs(con, settings, f"bench-{attempt}", use_gx=args.gx)
        profile.disable()
        elapsed = time.perf_counter() - started
        print(f"publish_packs ({attempt}): {elapsed:.1f} s with {args.threads} threads")
        stats = pstats.Stats(profile)
        for name in ("write_restricted", "validate_restricted", "write_bappeda", "audit_bappeda",
                     "audit_personal_data", "write_documents", "commit_version", "swap_current"):
            for key, value in stats.stats.items():
                if key[2] == name:
                    print(f"  {name:<22} {value[3]:6.2f} s")
    for pack, tables in result.rows.items():
        size = sum(p.stat().st_size for p in (WORK / "curated" / pack).resolve().glob("*"))
        print(f"  {pack}: {tables} ({size / 1e6:.1f} MB)")
    con.close()


if __name__ == "__main__":
    main()
