"""Benchmark: the raw load of a big CSV and a big XLSX (discovery, SHA-256, read, insert).

Generates (once, cached in ``--dir``) synthetic files:

- ``dtsen_anggota_3375_202606.csv``: ``--csv-rows`` member rows (default 3,500,000, the members of
  1,000,000 households), ``;``-delimited, header aliases, quoted names, some with a ``;``;
- ``bantuan_modal_usaha_2026.xlsx``: ``--xlsx-rows`` recipient rows (default 200,000) laid out as
  a government spreadsheet (title lines, ``NO`` column, text and numeric NIK cells, date cells,
  total and signature lines);
- ``--hostile``: ``dtsen_anggota_3375_202607.csv``, the CSV with a quote opened on line 11 and
  never closed, which DuckDB's parallel reader would otherwise silently shorten.

Each file is loaded by ``tkpk.ingest.raw.load_new_files`` in a fresh process (so the peak memory
is that file's), into a file-backed warehouse inside one transaction, as the nightly flow does.
Wall and CPU time (all threads) are reported per phase; ``--profile N`` adds a cProfile of the
load. ``--file PATH`` measures given files instead (e.g. the largest members CSV of the pipeline
bench's extracts); ``--file FOLDER`` loads every file of a folder as one run (the nightly load
stage, e.g. ``benchmarks/work/pipeline/h100000-r33.75/raw``). Synthetic people only.

    .venv/bin/python benchmarks/readers_bench.py [--csv-rows 3500000] [--xlsx-rows 200000]
        [--threads 2] [--hostile] [--profile 25]
        [--file benchmarks/work/pipeline/h100000-r33.75/raw/dtsen_anggota_3375_202511.csv]
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import pstats
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from tkpk.config import get_settings

CSV_NAME = "dtsen_anggota_3375_202606.csv"
XLSX_NAME = "bantuan_modal_usaha_2026.xlsx"
HOSTILE_NAME = "dtsen_anggota_3375_202607.csv"


def make_csv(path: Path, rows: int) -> None:
    """Members CSV written by DuckDB (fast), header aliases, quoted names."""
    import duckdb

    con = duckdb.connect()
    con.execute(
        f"""
        copy (
            select
                'ID' || lpad(cast(i // 35 * 10 as varchar), 9, '0') as IDBDT,
                cast(3375010101800000 + i as varchar) as NIK_ART,
                case when i % 50 = 0 then 'Nama; Dengan Titik Koma ' || i
                     else 'Nama Orang ' || i end as NAMA_ART,
                case when i % 2 = 0 then 'L' else 'P' end as JK,
                strftime(date '1950-01-01' + cast(i % 20000 as integer), '%d/%m/%Y')
                    as TGL_LAHIR,
                cast(1 + i % 8 as varchar) as HUB_KRT,
                cast(i % 6 as varchar) as PENDIDIKAN,
                cast(i % 3 as varchar) as PARTISIPASI_SEKOLAH,
                cast(i % 4 as varchar) as JKN,
                cast(i % 2 as varchar) as DISABILITAS,
                cast(i % 2 as varchar) as BEKERJA
            from range({rows}) t(i)
        ) to '{path}' (delimiter ';', header true, quote '"', force_quote (NAMA_ART))
        """
    )
    con.close()


def make_xlsx(path: Path, rows: int) -> None:
    """Government-style recipient list, streamed by xlsxwriter."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet()
    date_format = book.add_format({"num_format": "dd/mm/yyyy"})
    sheet.write_row(0, 0, ["DAFTAR PENERIMA BANTUAN MODAL USAHA TAHUN 2026"])
    sheet.write_row(1, 0, ["DINAS KOPERASI DAN UKM KOTA PEKALONGAN"])
    header = [
        "NO",
        "NIK",
        "NAMA",
        "ALAMAT",
        "KELURAHAN",
        "JENIS_BANTUAN",
        "NILAI",
        "TANGGAL",
        "SUMBER_DANA",
    ]
    sheet.write_row(3, 0, header)
    for i in range(rows):
        r = i + 4
        sheet.write_number(r, 0, i + 1)
        nik = 3375010101900000 + i
        if i % 10 == 0:
            sheet.write_number(r, 1, nik)
        else:
            sheet.write_string(r, 1, str(nik))
        sheet.write_string(r, 2, f"Nama Orang {i}")
        sheet.write_string(r, 3, f"Jl. Merdeka No. {i % 300}")
        sheet.write_string(r, 4, "Kel. Podosugih")
        sheet.write_string(r, 5, "MODAL USAHA")
        sheet.write_number(r, 6, 1_500_000)
        sheet.write_datetime(r, 7, dt.datetime(2026, 3, 1 + i % 28), date_format)
        sheet.write_string(r, 8, "APBD")
    end = rows + 4
    sheet.write_row(end, 0, ["JUMLAH", None, None, None, None, None, 1_500_000 * rows])
    sheet.write_row(end + 2, 4, ["Pekalongan, 30 Juni 2026"])
    sheet.write_row(end + 3, 4, ["Kepala Dinas"])
    book.close()


def make_hostile(source: Path, path: Path) -> None:
    """The CSV with an unclosed quote on its 11th line."""
    with source.open("rb") as handle, path.open("wb") as out:
        for number, line in enumerate(handle):
            out.write(line.replace(b'";', b";", 1) if number == 10 else line)


def _timed(module, name: str, phases: dict[str, float], cpu: dict[str, float]) -> None:
    """Wrap ``module.name`` so its wall time adds up in ``phases[name]`` and its CPU time (all
    threads of the process, DuckDB's included) in ``cpu[name]``."""
    function = getattr(module, name)

    def wrapper(*args, **kwargs):
        started, started_cpu = time.perf_counter(), time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            phases[name] = round(phases.get(name, 0) + time.perf_counter() - started, 2)
            cpu[name] = round(cpu.get(name, 0) + time.process_time() - started_cpu, 2)

    setattr(module, name, wrapper)


def measure(path: Path, threads: int, profile: int = 0) -> dict:
    """Load one file (in this process) into a file-backed warehouse inside a transaction (as the
    nightly flow does) and report wall and CPU time per phase, rows and peak memory; with
    ``profile`` > 0, also the top ``profile`` functions of a cProfile run (cumulative time)."""
    from tkpk import reference
    from tkpk.db import connect
    from tkpk.ingest import csv_reader, lines, raw, spreadsheet
    from tkpk.ingest.raw import load_new_files

    phases: dict[str, float] = {}
    cpu: dict[str, float] = {}
    _timed(raw, "sha256_of", phases, cpu)
    # Each function is wrapped where its caller looks it up.
    for module, name in (
        (csv_reader, "prepare_text"),
        (csv_reader, "_header_region"),
        (csv_reader, "_duckdb_read"),
        (csv_reader, "blank_line_offsets"),
        (csv_reader, "_build_csv_records"),
        (spreadsheet, "read_sheet_records"),
        (spreadsheet, "check_zip"),
        (spreadsheet, "_load_sheet_rows"),
        (lines, "classify_records"),
        (csv_reader, "account_lines"),
    ):
        _timed(module, name, phases, cpu)
    _timed(raw, "stage_rows", phases, cpu)

    work = get_settings().temp_dir / "readers_bench" / f"load-{path.stem}"
    shutil.rmtree(work, ignore_errors=True)
    raw_dir = work / "raw"
    raw_dir.mkdir(parents=True)
    files = sorted(f for f in path.iterdir() if f.is_file()) if path.is_dir() else [path]
    for file in files:
        (raw_dir / file.name).symlink_to(file.resolve())
    settings = replace(get_settings(), raw_dir=raw_dir, duckdb_threads=threads)
    warehouse = work / "warehouse.duckdb"
    con = connect(settings, warehouse)
    reference.install(con)
    profiler = cProfile.Profile() if profile else None
    load_before = os.getloadavg()[0]
    con.execute("begin")
    started, started_cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    outcomes = load_new_files(con, settings, "bench")
    if profiler:
        profiler.disable()
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - started_cpu
    con.execute("commit")
    con.close()
    shutil.rmtree(work)
    counted: dict[str, int] = {}
    for outcome in outcomes:
        key = outcome.outcome + (f":{outcome.reason}" if outcome.reason else "")
        counted[key] = counted.get(key, 0) + 1
    result = {
        "file": path.name,
        "files": len(files),
        "bytes": sum(f.stat().st_size for f in files),
        "outcomes": counted,
        "rows_read": sum(o.rows_read for o in outcomes),
        "skipped_lines": sum(o.skipped_lines for o in outcomes),
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu_seconds, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "load_avg": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "phases_s": phases,
        "phases_cpu_s": cpu,
    }
    if profiler:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(profile)
        result["profile"] = text.getvalue()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--csv-rows", type=int, default=3_500_000)
    parser.add_argument("--xlsx-rows", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dir", type=Path, default=get_settings().temp_dir / "readers_bench")
    parser.add_argument("--hostile", action="store_true")
    parser.add_argument(
        "--file",
        type=Path,
        action="append",
        help="measure these files (e.g. a members CSV of a pipeline bench) instead of the "
        "generated ones; the name must follow docs/contract/raw-extracts.md; a folder is loaded "
        "as one run "
        "(every file in it, one transaction, as the nightly flow's load stage)",
    )
    parser.add_argument(
        "--profile", type=int, default=0, help="print the top N functions of a cProfile run"
    )
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        result = measure(args.measure, args.threads, args.profile)
        profile = result.pop("profile", None)
        print(json.dumps(result))
        if profile:
            print(profile)
        return
    if args.file:
        _run([path.resolve() for path in args.file], args.threads, args.profile)
        return
    args.dir.mkdir(parents=True, exist_ok=True)
    csv_path = args.dir / f"{args.csv_rows}" / CSV_NAME
    xlsx_path = args.dir / f"{args.xlsx_rows}" / XLSX_NAME
    for path, make, rows in (
        (csv_path, make_csv, args.csv_rows),
        (xlsx_path, make_xlsx, args.xlsx_rows),
    ):
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            started = time.perf_counter()
            make(path, rows)
            print(f"generated {path} in {time.perf_counter() - started:.1f} s", flush=True)
    targets = [csv_path, xlsx_path]
    if args.hostile:
        hostile = csv_path.parent / HOSTILE_NAME
        if not hostile.exists():
            make_hostile(csv_path, hostile)
        targets.append(hostile)
    _run(targets, args.threads, args.profile)


def _run(targets: list[Path], threads: int, profile: int) -> None:
    """Measure each file in a fresh process and print its result."""
    print(f"load average before: {os.getloadavg()}", flush=True)
    for path in targets:
        result = subprocess.run(
            [
                sys.executable,
                __file__,
                "--measure",
                str(path),
                "--threads",
                str(threads),
                "--profile",
                str(profile),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        print(result.stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
