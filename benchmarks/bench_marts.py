"""Benchmark: build every curated table on a city-sized synthetic warehouse.

Generates the accepted tables directly in DuckDB (no raw files, no ingest): ``--households``
households per snapshot (default 90,000, Kota Pekalongan) spread over the region's kelurahan,
about 3.5 members each, one snapshot per quarter over ``--months`` months, and monthly program
records (BPNT, PBI-JK member-months, PKH stages, PIP, a local program), then times
``transforms.runner.build_marts`` model by model: wall time, CPU time (every DuckDB thread of the
process) and peak resident memory (sampled every 20 ms) per model, under DuckDB's memory limit.
``--dump DIR`` writes every curated table as Parquet (sorted), to compare two versions of the SQL
on the same data. Synthetic people only.
``--warehouse FILE`` times the build on a copy of a real warehouse instead (its accepted tables,
e.g. a pipeline_bench run's; copy it first): the models are rebuilt in one transaction that is
rolled back at the end, so the file is left as it was and runs can be repeated on it.
``--models a,b`` rebuilds only those models (in build order; their inputs as the warehouse holds
them), and ``--check`` compares each rebuilt table with the warehouse's own (``table_digest``):
a changed model's SQL measured and shown equal on real data in one command.

    .venv/bin/python benchmarks/bench_marts.py [--households 90000] [--months 24] [--threads 2]
        [--memory-limit 3GB] [--json results.json] [--dump DIR] [--warehouse FILE]
        [--models a,b] [--check]
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from dataclasses import replace
from pathlib import Path

import duckdb

from tkpk import reference
from tkpk.config import get_settings
from tkpk.db import connect
from tkpk.ingest import accept, raw
from tkpk.publish.reuse import table_digest
from transforms.models import graph
from transforms.runner import build_model, check_inputs

GENERATE = """
create or replace table snapshot_status as
select cast(s as date) as snapshot, true as usable, cast(null as varchar) as note
from range(date '2024-01-01', date '2024-01-01' + to_months($months), interval 3 month) t(s);

create or replace table base_households as
with kel as (
    select row_number() over (order by code) - 1 as i, code from ref_area
    where level = 'kelurahan'
)
select
    h,
    (select code from kel where i = h % (select count(*) from kel)) as kelurahan_code,
    cast(1 + hash(h, 'size') % 7 as integer) as size,
    cast(1 + hash(h, 'desil') % 10 as integer) as desil
from range($households) t(h);

create or replace table registry_households as
select
    s.snapshot,
    'H' || lpad(cast(b.h as varchar), 9, '0') as id_keluarga,
    '3375' || lpad(cast(b.h as varchar), 12, '0') as no_kk,
    b.kelurahan_code,
    'Jl. Sintetis' as alamat,
    cast(1 + hash(b.h, 'rt') % 12 as smallint) as rt,
    cast(1 + hash(b.h, 'rw') % 8 as smallint) as rw,
    cast(b.size as smallint) as jumlah_anggota,
    cast(250000 + b.desil * 90000 + hash(b.h, s.snapshot) % 150000 as decimal(18, 2))
        as pengeluaran_per_kapita,
    cast(b.desil as tinyint) as desil,
    cast(10 + hash(b.h, 'luas') % 120 as decimal(12, 2)) as luas_lantai,
    cast(1 + hash(b.h, 'lantai') % 7 as tinyint) as jenis_lantai,
    cast(1 + hash(b.h, 'dinding') % 7 as tinyint) as jenis_dinding,
    cast(1 + hash(b.h, 'air') % 11 as tinyint) as sumber_air_minum,
    cast(case when hash(b.h, 'pln') % 50 = 0 then 4 else 1 end as tinyint) as sumber_penerangan,
    cast(1 + hash(b.h, 'masak') % 7 as tinyint) as bahan_bakar_masak,
    cast(1 + hash(b.h, 'bab') % 4 as tinyint) as fasilitas_bab,
    s.snapshot as tanggal_pendataan,
    1 as file_id, b.h as row_number
from base_households b cross join snapshot_status s;

create or replace table registry_members as
select
    s.snapshot,
    'H' || lpad(cast(b.h as varchar), 9, '0') as id_keluarga,
    '3375' || lpad(cast(b.h as varchar), 10, '0') || lpad(cast(m as varchar), 2, '0') as nik,
    'Nama Sintetis' as nama,
    case when m % 2 = 0 then 'L' else 'P' end as jenis_kelamin,
    cast(date '1950-01-01' + cast(hash(b.h, m) % 25000 as integer) as date) as tanggal_lahir,
    cast(case when m = 0 then 1 else 3 end as tinyint) as hubungan_keluarga,
    cast(hash(b.h, m, 'pend') % 6 as tinyint) as pendidikan_tertinggi,
    cast(hash(b.h, m, 'sek') % 3 as tinyint) as status_sekolah,
    cast(hash(b.h, m, 'jkn') % 4 as tinyint) as jaminan_kesehatan,
    cast(0 as tinyint) as disabilitas, cast(1 as tinyint) as status_bekerja,
    2 as file_id, b.h * 10 + m as row_number
from base_households b
cross join snapshot_status s
cross join lateral (select unnest(range(b.size)) as m);

create or replace table program_records as
with months as (
    select cast(m as date) as month
    from range(date '2024-01-01', date '2024-01-01' + to_months($months), interval 1 month) t(m)
),
monthly as (
    -- BPNT: DESIL 1-4 households, monthly, 5% paid to a NIK the registry does not know
    select 'BPNT' as program, 'disbursements' as source_kind, b.h, 0 as m, months.month,
           200000 as amount, 'success' as status
    from base_households b cross join months where b.desil <= 4 and hash(b.h, 'bpnt') % 3 = 0
    union all
    -- PBI-JK: every member of DESIL 1-5 households, active member-months
    select 'PBI_JK', 'pbi', b.h, m.m, months.month, 42000,
           case when hash(b.h, months.month) % 20 = 0 then 'inactive' else 'success' end
    from base_households b
    cross join lateral (select unnest(range(b.size)) as m) m
    cross join months
    where b.desil <= 5 and hash(b.h, 'pbi') % 2 = 0
    union all
    -- PKH: quarterly stages, 3% failed
    select 'PKH', 'disbursements', b.h, 0, months.month, 750000,
           case when hash(b.h, months.month, 'pkh') % 33 = 0 then 'failed' else 'success' end
    from base_households b cross join months
    where b.desil <= 3 and hash(b.h, 'pkh') % 2 = 0 and month(months.month) in (1, 4, 7, 10)
    union all
    select 'PIP', 'disbursements', b.h, 1, months.month, 450000, 'success'
    from base_households b cross join months
    where b.size >= 3 and b.desil <= 4 and hash(b.h, 'pip') % 4 = 0 and month(months.month) = 8
    union all
    select 'MODAL_USAHA', 'local', b.h, 0, months.month, 2000000, 'success'
    from base_households b cross join months
    where hash(b.h, 'modal') % 200 = 0 and month(months.month) = 5
)
select
    program, source_kind, month + 9 as record_date, month as period,
    case when hash(h, 'ghost') % 20 = 0 then '9999' || lpad(cast(h as varchar), 12, '0')
         else '3375' || lpad(cast(h as varchar), 10, '0') || lpad(cast(m as varchar), 2, '0')
    end as nik,
    cast(null as varchar) as no_kk,
    cast(null as varchar) as kelurahan_code,
    cast(amount as decimal(18, 2)) as amount_idr,
    status,
    case when program = 'MODAL_USAHA' then 'APBD' else 'APBN' end as funding_source,
    'bench' as channel, cast(null as smallint) as stage,
    3 as file_id, row_number() over () as row_number
from monthly;

create or replace table ingest_data_quality (
    run_id varchar, file_name varchar, kind varchar, sha256 varchar, file_outcome varchar,
    file_reason varchar, rows_read bigint, accepted bigint, quarantined bigint,
    duplicate bigint, skipped_lines bigint);
create or replace table ingest_data_quality_reason (
    run_id varchar, file_name varchar, sha256 varchar, reason varchar, rows bigint);
drop table base_households;
"""


class RssSampler:
    """Peak resident memory of this process (from /proc/self/statm), sampled in a thread."""

    def __init__(self, interval_s: float = 0.02) -> None:
        self.interval_s = interval_s
        self.peak = 0
        self._page = os.sysconf("SC_PAGE_SIZE")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        """Current resident bytes."""
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * self._page

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            self._stop.wait(self.interval_s)

    def reset(self) -> None:
        """Start a new peak from the current value."""
        self.peak = self.rss()

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def time_models(
    con: duckdb.DuckDBPyConnection, only: set[str] | None = None, check: bool = False
) -> list[dict]:
    """Build every model (``only``: those) in order; per model its wall and CPU seconds, peak RSS
    and rows; with ``check``, whether the rebuilt table equals the one it replaced
    (``table_digest``: rows and row hashes)."""
    check_inputs(con)
    unknown = (only or set()) - set(graph().order)
    if unknown:
        raise SystemExit(f"no such model: {', '.join(sorted(unknown))}")
    out = []
    with RssSampler() as sampler:
        for name in graph().order:
            if only is not None and name not in only:
                continue
            before = table_digest(con, name) if check else None
            sampler.reset()
            wall, cpu = time.perf_counter(), time.process_time()
            build_model(con, name)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            sampler.peak = max(sampler.peak, sampler.rss())
            rows = con.execute(f"select count(*) from {name}").fetchone()[0]
            figures = {"model": name, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
                       "peak_rss_mb": round(sampler.peak / 2**20), "rows": rows}
            if check:
                figures["equal"] = table_digest(con, name) == before
            out.append(figures)
    return out


def dump(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """Write every curated table as Parquet, rows sorted by all columns."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in graph().curated:
        target = str(folder / f"{name}.parquet").replace("'", "''")
        con.execute(f"copy (select * from {name} order by all) to '{target}' (format parquet)")


def generate(con: duckdb.DuckDBPyConnection, settings, households: int, months: int) -> None:
    """Create the reference tables and the synthetic accepted tables in ``con``."""
    reference.install(con, settings.region)
    raw.ensure_tables(con)  # the ingest tables the models read (empty unless generated below)
    accept.ensure_tables(con)
    started = time.perf_counter()
    con.execute(GENERATE.replace("$households", str(households)).replace("$months", str(months)))
    print(f"generated in {time.perf_counter() - started:.1f} s")


def main() -> None:
    """Generate the synthetic warehouse, build the marts, print timings and sizes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=90_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-limit", default="3GB", help="DuckDB memory_limit")
    parser.add_argument("--json", type=Path, help="write the per-model figures here")
    parser.add_argument("--dump", type=Path, help="write the curated tables here as Parquet")
    parser.add_argument("--warehouse", type=Path,
                        help="rebuild the models of this warehouse copy (rolled back at the end)")
    parser.add_argument("--models", help="only these models, comma-separated (in build order)")
    parser.add_argument("--check", action="store_true",
                        help="compare each rebuilt table with the one it replaced (table_digest)")
    args = parser.parse_args()
    if args.check and args.warehouse is None:
        parser.error("--check compares with a warehouse's tables: give --warehouse")
    settings = replace(
        get_settings(), duckdb_threads=args.threads, duckdb_memory_limit=args.memory_limit
    )
    con = connect(settings, args.warehouse or ":memory:")
    if args.warehouse is None:
        generate(con, settings, args.households, args.months)
    sizes = {
        t: con.execute(f"select count(*) from {t}").fetchall()[0][0]
        for t in ("registry_households", "registry_members", "program_records")
    }
    print(f"accepted tables: {sizes}")
    # as the nightly flow builds them (flows/nightly.py): no insertion-order preservation
    con.execute("set preserve_insertion_order = false")
    con.execute("begin")
    only = set(args.models.split(",")) if args.models else None
    models = time_models(con, only, args.check)
    wall = sum(m["wall_s"] for m in models)
    cpu = sum(m["cpu_s"] for m in models)
    peak = max(m["peak_rss_mb"] for m in models)
    print(f"build_marts: {wall:.1f} s wall, {cpu:.1f} s CPU, peak RSS {peak:,} MB "
          f"({args.threads} threads, memory_limit {args.memory_limit})")
    print(f"  {'model':<24} {'wall s':>8} {'CPU s':>8} {'peak MB':>8} {'rows':>12}"
          + ("  equal" if args.check else ""))
    for m in models:
        print(f"  {m['model']:<24} {m['wall_s']:>8.2f} {m['cpu_s']:>8.2f} "
              f"{m['peak_rss_mb']:>8,} {m['rows']:>12,}"
              + (f"  {m['equal']}" if args.check else ""))
    if args.json:
        args.json.write_text(json.dumps(
            {"households": args.households, "months": args.months, "threads": args.threads,
             "memory_limit": args.memory_limit, "sizes": sizes, "wall_s": round(wall, 3),
             "cpu_s": round(cpu, 3), "peak_rss_mb": peak, "models": models}, indent=2))
    if args.dump:
        dump(con, args.dump)
    con.execute("rollback")
    con.close()


if __name__ == "__main__":
    main()
