"""Benchmark: ``tkpk synth`` at a given size (default 1,000,000 households, a year of months).

Runs the generator in a fresh process (so the peak memory is the generator's own), measures wall
time, CPU time, peak resident memory, the files and bytes written and the machine's load average
(other work on the 2 cores slows the run down: the load is recorded beside the figure), writes
``benchmarks/results/synth_bench.json`` and updates the synth table in ``benchmarks/README.md``.
The generated files are deleted afterwards unless ``--keep``. Synthetic people only.

    .venv/bin/python benchmarks/synth_bench.py [--households 1000000] [--messiness 0.02]
        [--months 2025-11:2026-10] [--seed 20260626] [--keep]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tkpk.config import get_settings

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results" / "synth_bench.json"
README = BENCH_DIR / "README.md"
START, END = "<!-- synth-bench:start -->", "<!-- synth-bench:end -->"
SECTION_HEADER = """## `tkpk synth` (synthetic raw extracts)

`benchmarks/synth_bench.py` runs `tkpk.synth.generate` in a fresh process and records wall time,
CPU time (user + system, all threads), peak memory and output size; the 1-minute load average
before and after shows how much other work shared the 2 cores. Latest run per size:

| households | months | messiness | files | output | wall | CPU | peak RSS | load | date |
| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |
"""


def run_child(args: argparse.Namespace, out: Path) -> dict:
    """Generate in this process (called as the child) and return the measures."""
    from tkpk.synth import generate

    started = time.perf_counter()
    summary = generate(
        out_dir=out / "raw",
        side_dir=out / "side",
        households=args.households,
        months=args.months,
        seed=args.seed,
        region=args.region,
        messiness=args.messiness,
    )
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    files = list((out / "raw").iterdir())
    return {
        "households": args.households,
        "months": args.months,
        "seed": args.seed,
        "region": args.region,
        "messiness": args.messiness,
        "wall_s": round(wall, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "files": len(files),
        "bytes": sum(p.stat().st_size for p in files),
        "summary": summary,
    }


def update_readme(result: dict) -> None:
    """Insert or replace this size's row in the synth table of ``benchmarks/README.md``."""
    text = README.read_text(encoding="utf-8") if README.exists() else "# Benchmarks\n"
    row = (
        f"| {result['households']:,} | {result['months']} | {result['messiness']} | "
        f"{result['files']} | {result['bytes'] / 1e9:.2f} GB | {result['wall_s']:.0f} s | "
        f"{result['cpu_s']:.0f} s | {result['peak_rss_mb']:,} MB | "
        f"{result['load_before']:.1f} / {result['load_after']:.1f} | {result['date']} |"
    )
    if START in text:
        head, rest = text.split(START, 1)
        body, tail = rest.split(END, 1)
        rows = [
            line
            for line in body.splitlines()
            if line.startswith("| ")
            and not line.startswith(f"| {result['households']:,} |")
            and re.match(r"\| [\d,]+ \|", line)
        ]
    else:
        head, tail, rows = text.rstrip() + "\n\n", "\n", []
    rows.append(row)
    rows.sort(key=lambda line: int(line.split("|")[1].strip().replace(",", "")))
    section = f"{START}\n{SECTION_HEADER}" + "\n".join(rows) + f"\n{END}"
    README.write_text(head + section + tail, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--months", default="2025-11:2026-10")
    parser.add_argument("--seed", type=int, default=20260626)
    parser.add_argument("--region", default="33.75")
    parser.add_argument("--messiness", type=float, default=0.02)
    parser.add_argument("--dir", type=Path, default=None, help="Scratch folder [data/tmp].")
    parser.add_argument("--keep", action="store_true", help="Keep the generated files.")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    out = (args.dir or get_settings().temp_dir / "synth_bench") / f"h{args.households}"
    if args.child:
        print(json.dumps(run_child(args, out)))
        return

    shutil.rmtree(out, ignore_errors=True)
    load_before = os.getloadavg()[0]
    command = [sys.executable, __file__, "--child", *sys.argv[1:]]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result.update(
        load_before=round(load_before, 2),
        load_after=round(os.getloadavg()[0], 2),
        cpus=os.cpu_count(),
        python=platform.python_version(),
        date=dt.date.today().isoformat(),
    )
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    previous[str(args.households)] = result
    RESULTS.write_text(json.dumps(previous, indent=2) + "\n", encoding="utf-8")
    update_readme(result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
