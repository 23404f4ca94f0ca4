"""Benchmark: ``tkpk simulate``'s computation, 10 scenarios on 1,000,000 households.

Generates ``int_household_status`` of one period directly in DuckDB (no raw files, no ingest):
``--households`` households spread over Kota Pekalongan's kelurahan, 1-7 members, DESIL 1-10,
per-capita expenditure drawn around the line (z = 550,000, z_e = 330,000), MPI status and a
program count, plus the area bridge ``int_area_hierarchy``. Then runs the ten scenarios below
(every rule and eligible group, one limited to three kelurahan) with
``tkpk.simulate.run_scenarios`` on one connection and reports the wall time (and CPU time of the
process) of the run, excluding the generation. Synthetic households only.

    PYTHONPATH=. .venv/bin/python benchmarks/simulate_bench.py [--households 1000000]
        [--threads 2] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from datetime import date
from pathlib import Path

from tkpk import reference
from tkpk.config import get_settings
from tkpk.db import connect
from tkpk.simulate import parse_scenarios, run_scenarios
from transforms.runner import build_model

PERIOD = "2031-03"
GENERATE = """
create or replace table int_household_status as
with kel as (
    select row_number() over (order by code) - 1 as i, code from ref_area
    where level = 'kelurahan'
),
households as (
    select
        h,
        cast(1 + hash(h, 'size') % 7 as integer) as household_size,
        cast(1 + hash(h, 'desil') % 10 as tinyint) as desil,
        cast(180000 + hash(h, 'y') % 900000 + (hash(h, 'c') % 100) / 100 as decimal(18, 2))
            as pengeluaran_per_kapita,
        hash(h, 'mpi') % 4 = 0 as mpi_poor,
        cast(hash(h, 'programs') % 3 as integer) as program_count,
        (select code from kel where i = h % (select count(*) from kel)) as kelurahan_code
    from range($households) t(h)
)
select
    $period as period,
    'H' || lpad(cast(h as varchar), 9, '0') as id_keluarga,
    kelurahan_code,
    household_size,
    desil,
    pengeluaran_per_kapita,
    cast(550000 as decimal(18, 2)) as poverty_line_idr,
    cast(330000 as decimal(18, 2)) as extreme_poverty_line_idr,
    pengeluaran_per_kapita < 550000 as poor,
    pengeluaran_per_kapita < 330000 as extreme_poor,
    mpi_poor,
    program_count
from households
"""

SCENARIOS = [
    {"name": "flat desil 3", "eligible": "desil_max", "desil_max": 3, "rule": "flat",
     "budget_idr_month": 20_000_000_000},
    {"name": "per capita poor", "eligible": "poor", "rule": "per_capita",
     "budget_idr_month": 20_000_000_000},
    {"name": "lift closest poor", "eligible": "poor", "rule": "lift_closest",
     "budget_idr_month": 20_000_000_000},
    {"name": "fill bottom poor", "eligible": "poor", "rule": "fill_bottom",
     "budget_idr_month": 20_000_000_000},
    {"name": "fill bottom extreme", "eligible": "extreme", "rule": "fill_bottom",
     "budget_idr_month": 5_000_000_000},
    {"name": "lift closest mpi", "eligible": "mpi_poor", "rule": "lift_closest",
     "budget_idr_month": 8_000_000_000},
    {"name": "flat unreached", "eligible": "unreached_poor", "rule": "flat",
     "budget_idr_month": 8_000_000_000},
    {"name": "per capita desil 2", "eligible": "desil_max", "desil_max": 2,
     "rule": "per_capita", "budget_idr_month": 15_000_000_000},
    {"name": "fill bottom unreached", "eligible": "unreached_poor", "rule": "fill_bottom",
     "budget_idr_month": 3_000_000_000},
    {"name": "lift closest 3 kelurahan", "eligible": "poor", "rule": "lift_closest",
     "budget_idr_month": 1_000_000_000,
     "kelurahan": ["33.75.01.1002", "33.75.03.1002", "33.75.04.1002"]},
]


def _commit() -> str:
    """The checked-out commit (short), or 'unknown'."""
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    """Generate, run the ten scenarios, print (and optionally store) the timings."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    settings = get_settings()
    settings = type(settings)(**{**settings.__dict__, "duckdb_threads": args.threads})
    con = connect(settings, ":memory:")
    reference.install(con)
    start = time.perf_counter()
    con.execute(GENERATE, {"households": args.households, "period": date(2031, 3, 1)})
    build_model(con, "int_area_hierarchy")
    generated = time.perf_counter() - start
    scenarios = parse_scenarios({"scenario": [{"period": PERIOD, **s} for s in SCENARIOS]})
    cpu = os.times()
    start = time.perf_counter()
    results = run_scenarios(con, scenarios)
    wall = time.perf_counter() - start
    after = os.times()
    cpu_s = (after.user - cpu.user) + (after.system - cpu.system)
    city = results[results["area_level"] == "kota"]
    report = {
        "households": args.households,
        "scenarios": len(scenarios),
        "threads": args.threads,
        "generate_s": round(generated, 2),
        "simulate_wall_s": round(wall, 2),
        "simulate_cpu_s": round(cpu_s, 2),
        "rows": len(results),
        "commit": _commit(),
        "date": date.today().isoformat(),
        "load_avg_1m": round(os.getloadavg()[0], 1),
    }
    print(city[["scenario", "p0_before", "p0_after", "persons_lifted", "spent_idr_month"]]
          .to_string(index=False))
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    con.close()


if __name__ == "__main__":
    main()
