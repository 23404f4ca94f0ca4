"""What the ingest leaves in DuckDB's memory before the transforms: one transaction over the
whole ingest (``--mode one``, the nightly run before issue 14) against the run ledger's bounded
commits (``--mode steps``: one transaction per kind, ``tkpk.ledger``).

    PYTHONPATH=. .venv/bin/python benchmarks/ledger_probe.py --households 20000

generates a one-month drop (cached in ``--work``), runs the load and ``process_loads`` both ways
on a fresh warehouse each, and prints ``duckdb_memory()`` (per tag, MB) after the ingest: the
uncommitted rows of one transaction show as ``IN_MEMORY_TABLE``, what the transforms then run
beside. Nothing is kept (the probe rolls back and undoes its run).
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from tkpk import reference
from tkpk.config import Settings
from tkpk.db import connect
from tkpk.ingest.accept import process_loads
from tkpk.ingest.raw import load_new_files
from tkpk.ledger import RunLedger


def probe(raw: Path, base: Path, mode: str, threads: int) -> dict:
    """Load and ingest ``raw`` into a fresh warehouse under ``base``; DuckDB's memory after."""
    shutil.rmtree(base, ignore_errors=True)
    settings = Settings(raw_dir=raw, curated_dir=base / "curated", warehouse=base / "wh.duckdb",
                        synth_dir=base / "synth", temp_dir=base / "tmp", duckdb_threads=threads,
                        local_key_file=base / "local.key", region="33.75")
    con = connect(settings)
    run = RunLedger(con, f"probe-{mode}")
    run.start()
    con.begin()
    started = time.monotonic()
    try:
        reference.install(con, settings.region)
        outcomes = load_new_files(con, settings, run.run_id)

        def commit_kind(kind: str, rows: int) -> None:
            run.commit(f"ingest:{kind}", rows)

        process_loads(con, settings, run.run_id, outcomes,
                      on_kind=commit_kind if mode == "steps" else None)
        seconds = time.monotonic() - started
        tags = con.execute(
            "select tag, memory_usage_bytes from duckdb_memory() "
            "where memory_usage_bytes > 0 order by 2 desc"
        ).fetchall()
    finally:
        run.abort()
        con.close()
    return {"mode": mode, "ingest_s": round(seconds, 1),
            "memory_mb": round(sum(b for _, b in tags) / 1e6, 1),
            "by_tag_mb": {tag: round(b / 1e6, 1) for tag, b in tags}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=20000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", type=Path,
                        default=Path(__file__).resolve().parent / "work" / "ledger_probe")
    args = parser.parse_args()
    raw = args.work / f"h{args.households}" / "raw"
    if not raw.exists():
        from tkpk.synth import generate

        generate(out_dir=raw, side_dir=raw.parent / "synth", households=args.households,
                 months="2026-08:2026-08", seed=3, region="33.75", messiness=0.02)
    results = [probe(raw, args.work / f"run-{mode}", mode, args.threads)
               for mode in ("one", "steps")]
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
