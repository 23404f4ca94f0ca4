"""Probe: where the raw load's CPU goes for one file, phase by phase, and what staging variants
cost (CPU seconds of all threads, ``time.process_time``).

Reads the file as the raw load does (reader, line classification, line account) on a fresh
in-memory connection, then times the staging statement (``stage_rows``: the Parquet file of the
run's scratch) and, with ``--variants``, the same statement without writing, without
``raw_text`` and with other Parquet codecs. Usage (from the repository root)::

    .venv/bin/python benchmarks/stage_probe.py FILE [FILE ...] [--variants] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from tkpk import reference
from tkpk.config import get_settings
from tkpk.db import connect
from tkpk.ingest import csv_reader, lines, raw, spreadsheet
from tkpk.ingest.files import parse_file_name, resolve_program
from tkpk.ingest.reading import sniff_format


def _timed(phases: dict[str, float], name: str, function, *args, **kwargs):
    """Run ``function`` and add its CPU seconds to ``phases[name]``."""
    started = time.process_time()
    try:
        return function(*args, **kwargs)
    finally:
        phases[name] = round(phases.get(name, 0) + time.process_time() - started, 2)


def probe(path: Path, threads: int, variants: bool) -> dict:
    """The CPU seconds per phase of loading ``path``."""
    settings = replace(get_settings(), duckdb_threads=threads)
    settings.temp_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="stage_probe-", dir=settings.temp_dir))
    con = connect(settings, ":memory:")
    reference.install(con)
    references = raw.staging_references(con)
    parsed = parse_file_name(path.name)
    kind = parsed.kind
    phases: dict[str, float] = {}
    cur = con.cursor()
    total = time.process_time()
    if sniff_format(path) == "csv":
        stats = _timed(
            phases,
            "read",
            csv_reader.read_csv_records,
            cur,
            path,
            kind,
            settings.temp_dir,
            settings.limits,
        )
    else:
        stats = _timed(
            phases, "read", spreadsheet.read_sheet_records, cur, path, kind, settings.limits,
            sniff_format(path),
        )
    rows, _ = _timed(phases, "classify", lines.classify_records, cur, stats.header, kind)
    _timed(phases, "account_lines", csv_reader.account_lines, cur, path.name, stats)
    _timed(phases, "prepare", raw._prepare_staging, cur, references)
    program, channel = resolve_program(con, parsed)
    record = {
        "load_id": "probe-0001",
        "file_id": 1,
        "sha256": "0" * 64,
        "file_name": path.name,
        "period": parsed.period,
        "period_end": parsed.period_end,
        "program": program,
        "channel": channel,
        "stage": parsed.stage,
    }
    records_sql = raw._records_sql(kind, stats.header)
    target = work / "staged.parquet"
    # as the raw load stages a file without another of its kind and period
    _timed(phases, "stage", raw.stage_rows, cur, kind, records_sql, record, target, False)
    phases["total"] = round(time.process_time() - total, 2)
    result = {"file": path.name, "rows": rows, "staged_mb": round(target.stat().st_size / 1e6)}
    if variants:
        result["variants"] = _variants(cur, kind, records_sql, record, work)
    result["cpu_s"] = phases
    con.close()
    shutil.rmtree(work, ignore_errors=True)
    return result


def _variants(cur, kind: str, records_sql: str, record: dict, work: Path) -> dict[str, float]:
    """CPU seconds of the staging statement's variants on the same records."""
    from tkpk.ingest.accept import staging_sql

    out: dict[str, float] = {}
    sql = staging_sql(kind)
    cases = {
        "data_scan": f"select count(*) from ({records_sql})",
        "select_only": f"select count(*) from ({sql})",
        "select_no_raw_text": f"select count(*) from ({sql.replace('raw_text', 'null')})",
    }
    for codec in ("snappy", "uncompressed", "lz4", "zstd"):
        cases[f"copy_{codec}"] = (
            f"copy ({sql}) to '{work / codec}.parquet' (format parquet, compression {codec})"
        )
    for name, statement in cases.items():
        with raw._file_relations(cur, kind, records_sql, record):
            _timed(out, name, lambda s=statement: cur.execute(s).fetchall())
    for codec in ("snappy", "uncompressed", "lz4", "zstd"):
        out[f"{codec}_mb"] = round((work / f"{codec}.parquet").stat().st_size / 1e6)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--variants", action="store_true")
    args = parser.parse_args()
    for path in args.files:
        print(json.dumps(probe(path, args.threads, args.variants)), flush=True)


if __name__ == "__main__":
    main()
