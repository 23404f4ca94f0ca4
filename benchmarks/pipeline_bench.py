"""Benchmark: the whole nightly flow against the I/O floor, per stage, at registry scale.

For a given size it

1. generates the raw extracts with ``tkpk synth`` (cached under ``benchmarks/work/pipeline/``,
   git-ignored; a cache is reused when its parameters match);
2. times the **I/O floor** on the files of the full run: DuckDB reads every raw file once (CSV via
   ``read_csv(all_varchar)``, spreadsheets via the project's reader) and writes it to Parquet,
   nothing else;
3. runs the nightly flow (``flows.nightly.nightly``) on a fresh warehouse with every file but one
   disbursement file (**full run**), then again after adding that file (**incremental run**);
4. records per stage the wall time, CPU time and peak memory (resident set of the process, DuckDB
   included; each run and the floor in a process of its own), with sub-phases of the ingest
   (read/insert, normalise, Great Expectations, accept), the transforms (per model) and the
   publish (write, output suites, Bappeda pack, audits), the machine's load average before and
   after, and the headline ratio pipeline / floor;
5. writes ``benchmarks/results/pipeline_<size>.json`` and regenerates the pipeline section of
   ``benchmarks/README.md`` from every ``pipeline_*.json`` there.

Usage (from the repository root)::

    .venv/bin/python benchmarks/pipeline_bench.py --households 100000
    .venv/bin/python benchmarks/pipeline_bench.py --households 1000000
    TKPK_DUCKDB_MEMORY=8GB nohup .venv/bin/python benchmarks/pipeline_bench.py \\
        --households 12000000 --region 33 --per-kabkota --months 2026-08:2026-10 \\
        > benchmarks/work/pipeline_12m.log 2>&1 &

``--no-floor``, ``--no-incremental`` skip parts; ``--readme-only`` only regenerates the README
table from the JSON files. Engine settings come from the environment as in production
(``TKPK_DUCKDB_MEMORY``, default 3GB; ``TKPK_DUCKDB_THREADS``; the spill folder is the run's
``TKPK_TEMP``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "work" / "pipeline"
RESULTS = ROOT / "benchmarks" / "results"
README = ROOT / "benchmarks" / "README.md"
README_START = "<!-- pipeline-bench:start -->"
README_END = "<!-- pipeline-bench:end -->"
#: Synthetic pseudonym key of the benchmark runs (synthetic people only; not a secret).
BENCH_KEY = "pipeline-benchmark-key-not-a-secret"
#: The incremental file is the largest disbursement file of the latest months.
INCREMENT_WINDOW_MONTHS = 3


# --------------------------------------------------------------------------------- helpers


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


def git_commit(ref: str = "HEAD") -> str:
    """The full commit id of ``ref``."""
    return subprocess.run(
        ["git", "rev-parse", ref], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def export_source(commit: str) -> Path:
    """The committed tree of ``commit`` under ``benchmarks/work/src/`` (``git archive``): runs
    measure exactly that code, whatever is being edited in the checkout meanwhile."""
    target = WORK.parent / "src" / commit[:12]
    if not (target / ".complete").exists():
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True,
                                 check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
        (target / ".complete").touch()
    return target


def size_label(households: int, region: str) -> str:
    """``h1000000-r33.75``: the cache folder name of a size."""
    return f"h{households}-r{region}"


def folder_bytes(folder: Path) -> int:
    """Total size of the files of ``folder`` (not recursive)."""
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


# ------------------------------------------------------------------------------- extracts


def synth_command(out: Path, side: Path, households: int, region: str, months: str, seed: int,
                  messiness: float) -> list[str]:
    """The ``tkpk synth`` command line."""
    return [
        str(ROOT / ".venv" / "bin" / "tkpk"), "synth", "--out", str(out), "--side", str(side),
        "--households", str(households), "--region", region, "--months", months,
        "--seed", str(seed), "--messiness", str(messiness),
    ]


def kabkota_shares(region: str, households: int) -> dict[str, int]:
    """Households per kab/kota of a province, in proportion to its number of kelurahan/desa
    (largest remainder, so they add up to ``households``)."""
    from tkpk import reference
    from tkpk.config import Settings
    from tkpk.db import connect

    con = connect(Settings(), ":memory:")
    reference.install(con, region)
    counts = dict(con.execute(
        "select kabkota_code, count(*) from ref_area where level = 'kelurahan' "
        "group by kabkota_code order by kabkota_code"
    ).fetchall())
    con.close()
    total = sum(counts.values())
    exact = {k: households * n / total for k, n in counts.items()}
    shares = {k: int(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: exact[k] - shares[k], reverse=True)[
        : households - sum(shares.values())
    ]:
        shares[k] += 1
    return shares


def synth_by_kabkota(partial: Path, base: Path, households: int, region: str, months: str,
                     seed: int, messiness: float) -> None:
    """A province's extracts as its kab/kota offices would send them: ``tkpk synth`` per
    kab/kota (bounded memory; resumable), program files tagged ``_kab<code>`` (a trailing word
    the file-name contract ignores), registry files already named by kab/kota code."""
    partial.mkdir(parents=True, exist_ok=True)
    for index, (kab, n) in enumerate(kabkota_shares(region, households).items()):
        done = base / "kab" / f"{kab}.done"
        if done.exists() or n == 0:
            continue
        piece = base / "kab" / kab
        shutil.rmtree(piece, ignore_errors=True)
        command = synth_command(piece, base / "synth" / kab, n, kab, months, seed + index,
                                messiness)
        print(f"  {kab}: {n:,} households", flush=True)
        subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        tag = "_kab" + kab.replace(".", "")
        for path in sorted(piece.iterdir()):
            name = path.name if path.name.startswith("dtsen_") else (
                path.stem + tag + "".join(path.suffixes[-1:]))
            path.rename(partial / name)
        shutil.rmtree(piece)
        done.touch()


def ensure_extracts(households: int, region: str, months: str, seed: int, messiness: float,
                    per_kabkota: bool = False):
    """The cached raw folder of this size (generated with ``tkpk synth`` when missing)."""
    base = WORK / size_label(households, region)
    raw = base / "raw"
    meta_path = base / "extracts.json"
    params = {"households": households, "region": region, "months": months, "seed": seed,
              "messiness": messiness}
    if per_kabkota:
        params["per_kabkota"] = True
    if raw.is_dir() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("params") == params:
            return raw, meta
        shutil.rmtree(raw)
    partial = base / "raw.partial"
    base.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    before = os.times()
    if per_kabkota:
        print(f"generating extracts by kab/kota of {region} ...", flush=True)
        synth_by_kabkota(partial, base, households, region, months, seed, messiness)
    else:
        shutil.rmtree(partial, ignore_errors=True)
        command = synth_command(partial, base / "synth", households, region, months, seed,
                                messiness)
        print(f"generating extracts: {' '.join(command)}", flush=True)
        subprocess.run(command, check=True, cwd=ROOT)
    after = os.times()
    partial.rename(raw)
    meta = {
        "params": params,
        "files": sum(1 for p in raw.iterdir() if p.is_file()),
        "bytes": folder_bytes(raw),
        "synth_wall_s": round(time.perf_counter() - start, 1),
        "synth_cpu_s": round(
            (after.children_user - before.children_user)
            + (after.children_system - before.children_system), 1
        ),
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    meta_path.write_text(json.dumps(meta, indent=2))
    return raw, meta


def choose_increment(raw: Path) -> Path:
    """The disbursement file the incremental run adds: the largest ``salur_`` file whose month
    is among the latest ``INCREMENT_WINDOW_MONTHS`` months with disbursement files."""
    from tkpk.ingest.files import parse_file_name

    candidates = []
    for path in sorted(raw.iterdir()):
        parsed = parse_file_name(path.name)
        if parsed.kind == "disbursements" and parsed.period is not None:
            candidates.append((parsed.period, path))
    if not candidates:
        raise SystemExit(f"no disbursement file in {raw}")
    months = sorted({period for period, _ in candidates})[-INCREMENT_WINDOW_MONTHS:]
    recent = [path for period, path in candidates if period in months]
    return max(recent, key=lambda p: (p.stat().st_size, p.name))


def link_files(files: list[Path], target: Path) -> None:
    """Hard-link (or copy) ``files`` into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    for path in files:
        destination = target / path.name
        if destination.exists():
            continue
        try:
            os.link(path, destination)
        except OSError:
            shutil.copy2(path, destination)


# ------------------------------------------------------------------ child: instrumentation


class Phases:
    """Accumulates wall and CPU time of wrapped functions, by phase name."""

    def __init__(self) -> None:
        self.totals: dict[str, dict[str, float]] = {}

    def wrap(self, module, name: str, phase: str) -> None:
        """Replace ``module.name`` by a timed wrapper adding to ``phase`` (skipped when the
        measured code has no such function)."""
        original = getattr(module, name, None)
        if original is None:
            return

        def wrapper(*args, **kwargs):
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                entry = self.totals.setdefault(phase, {"wall_s": 0.0, "cpu_s": 0.0, "calls": 0})
                entry["wall_s"] += time.perf_counter() - wall
                entry["cpu_s"] += time.process_time() - cpu
                entry["calls"] += 1

        setattr(module, name, wrapper)

    def as_dict(self) -> dict:
        """Rounded totals."""
        return {
            phase: {"wall_s": round(v["wall_s"], 3), "cpu_s": round(v["cpu_s"], 3),
                    "calls": v["calls"]}
            for phase, v in self.totals.items()
        }


def instrument(phases: Phases) -> None:
    """Sub-phase timers inside the ingest, transforms and publish (benchmark only)."""
    from tkpk.ingest import accept, csv_reader, lines, raw, spreadsheet
    from tkpk.publish import packs

    phases.wrap(spreadsheet, "read_sheet_records", "load.read_xlsx")
    phases.wrap(csv_reader, "read_csv_records", "load.read_csv")
    phases.wrap(lines, "classify_records", "load.classify")
    phases.wrap(raw, "_insert_rows", "load.insert")
    phases.wrap(accept, "stage", "validate.normalise")
    phases.wrap(accept, "validate_table", "validate.great_expectations")
    phases.wrap(accept, "_store_reasons", "validate.store_reasons")
    phases.wrap(accept, "_decide", "validate.decide")
    phases.wrap(accept, "_count_decisions", "validate.count_decisions")
    phases.wrap(accept, "_write_outcomes", "validate.write_outcomes")
    phases.wrap(accept, "_record_quality", "validate.record_quality")
    phases.wrap(accept, "_reconcile", "validate.reconcile")
    for name in ("write_restricted", "validate_restricted", "write_bappeda", "audit_bappeda",
                 "audit_personal_data", "write_documents"):
        phases.wrap(packs, name, f"publish.{name}")


def child_run(raw: str, out: str, db: str, result_path: str) -> None:
    """One nightly run in this process; writes its summary, stages and phases as JSON."""
    from flows.timing import peak_rss_mb

    phases = Phases()
    instrument(phases)
    from flows.nightly import run_once
    from tkpk.config import get_settings

    settings = get_settings().with_paths(raw=Path(raw), out=Path(out), db=Path(db))
    start, cpu = time.perf_counter(), time.process_time()
    result = run_once(settings)  # as ``tkpk run``: under Prefect only with PREFECT_API_URL set
    payload = {
        "wall_s": round(time.perf_counter() - start, 3),
        "cpu_s": round(time.process_time() - cpu, 3),
        "peak_rss_mb": round(max([s["peak_rss_mb"] for s in result.get("stages", [])]
                                 + [peak_rss_mb()]), 1),
        "stages": result.get("stages", []),
        "phases": phases.as_dict(),
        "models": (result.get("transform") or {}).get("models", []),
        "transform": {k: v for k, v in (result.get("transform") or {}).items() if k != "models"},
        "overhead_s": round(
            time.perf_counter() - start - sum(s["wall_s"] for s in result.get("stages", [])), 3
        ),
        "files": result.get("files"),
        "rows": result.get("rows"),
        "published": result.get("published"),
    }
    Path(result_path).write_text(json.dumps(payload, indent=2, default=str))


def _csv_source(path: Path, temp: Path) -> tuple[Path, str]:
    """What DuckDB reads for a raw CSV: the file itself (UTF-8, or UTF-16 with a BOM), else a
    UTF-8 copy of a Windows-1252 file (DuckDB has no cp1252 decoder; the pipeline transcodes
    such files the same way)."""
    with path.open("rb") as handle:
        head = handle.read(4)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return path, "utf-16"
    return path, "utf-8"


def _transcode_cp1252(path: Path, temp: Path) -> Path:
    """A UTF-8 copy of a Windows-1252 file, streamed."""
    import codecs

    temp.mkdir(parents=True, exist_ok=True)
    target = temp / (path.name + ".utf8.csv")
    decoder = codecs.getincrementaldecoder("cp1252")(errors="replace")
    with path.open("rb") as source, target.open("wb") as sink:
        while chunk := source.read(1 << 22):
            sink.write(decoder.decode(chunk).encode("utf-8"))
        sink.write(decoder.decode(b"", final=True).encode("utf-8"))
    return target


def _dialect(path: Path, encoding: str) -> tuple[str, int]:
    """Delimiter and field count of a CSV's data lines, from its first 64 KB."""
    import csv
    import io
    from collections import Counter

    with path.open("rb") as handle:
        sample = handle.read(1 << 16).decode(encoding, errors="replace")
    lines = sample.splitlines()[:-1] or sample.splitlines()
    delimiter = max(";,\t|", key=sample.count)
    widths = Counter(len(row) for row in csv.reader(io.StringIO("\n".join(lines)),
                                                    delimiter=delimiter))
    return delimiter, max(widths.most_common(1)[0][0], 1)


def _copy_csv(con, path: Path, parquet: str, temp: Path) -> None:
    """COPY one CSV (all text columns) to Parquet; Windows-1252 files are transcoded first.

    Delimiter and width are sniffed here (DuckDB's sniffer gives up on files with title lines);
    lines of another width (titles, totals) are skipped, as a floor may."""
    source, encoding = _csv_source(path, temp)
    for attempt in range(2):
        delimiter, width = _dialect(source, "utf-16" if encoding == "utf-16" else "utf-8")
        columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
        quoted = str(source).replace("'", "''")
        relation = (
            f"read_csv('{quoted}', delim = '{delimiter}', quote = '\"', escape = '\"', "
            f"header = false, auto_detect = false, columns = {columns}, "
            f"encoding = '{encoding}', strict_mode = false, ignore_errors = true)"
        )
        try:
            con.execute(f"copy (select * from {relation}) to '{parquet}' (format parquet)")
            return
        except Exception as error:  # DuckDB: invalid UTF-8
            if attempt or "utf" not in str(error).lower():
                raise
            source, encoding = _transcode_cp1252(path, temp), "utf-8"


def child_floor(raw: str, out: str, result_path: str) -> None:
    """The I/O floor: read every raw file once into DuckDB and write it to Parquet."""
    from flows.timing import peak_rss_mb, reset_peak
    from tkpk.config import get_settings
    from tkpk.db import connect
    from tkpk.ingest.files import parse_file_name
    from tkpk.ingest.reading import FileProblem, sniff_format
    from tkpk.ingest.spreadsheet import read_sheet_records

    settings = get_settings()
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    reset_peak()
    start, cpu = time.perf_counter(), time.process_time()
    con = connect(settings, ":memory:")
    per_format = {"csv": [0, 0.0], "xlsx": [0, 0.0]}
    rows = 0
    for path in sorted(Path(raw).iterdir()):
        if not path.is_file():
            continue
        began = time.perf_counter()
        parquet = str(target / (path.name + ".parquet")).replace("'", "''")
        file_format = sniff_format(path)
        if file_format == "csv":
            _copy_csv(con, path, parquet, target / "transcoded")
        else:
            cur = con.cursor()
            kind = parse_file_name(path.name).kind or "local"
            try:
                read_sheet_records(cur, path, kind, settings.limits, file_format)
            except FileProblem:
                cur.close()
                continue
            cur.execute(f"copy _records to '{parquet}' (format parquet)")
            cur.close()
        rows += con.execute(f"select count(*) from read_parquet('{parquet}')").fetchone()[0]
        kind_format = "csv" if file_format == "csv" else "xlsx"
        per_format[kind_format][0] += 1
        per_format[kind_format][1] += time.perf_counter() - began
    con.close()
    payload = {
        "wall_s": round(time.perf_counter() - start, 3),
        "cpu_s": round(time.process_time() - cpu, 3),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "rows": rows,
        "files": {k: {"files": v[0], "wall_s": round(v[1], 3)} for k, v in per_format.items()},
        "parquet_bytes": folder_bytes(target),
    }
    shutil.rmtree(target, ignore_errors=True)
    Path(result_path).write_text(json.dumps(payload, indent=2))


# -------------------------------------------------------------------------------- driver


def run_child(args: list[str], env: dict[str, str], result: Path, log: Path) -> dict:
    """Run this script (from the exported source) as a child: a fresh process with its own
    peak memory; return its JSON."""
    script = Path(env["TKPK_HOME"]) / "benchmarks" / "pipeline_bench.py"
    command = [sys.executable, str(script), *args, str(result)]
    load_before = load_average()
    with log.open("a") as handle:
        handle.write(f"\n$ {' '.join(command)}\n")
        handle.flush()
        completed = subprocess.run(command, env=env, cwd=env["TKPK_HOME"], stdout=handle,
                                   stderr=handle)
    if completed.returncode != 0:
        raise SystemExit(f"child failed ({completed.returncode}): see {log}")
    data = json.loads(result.read_text())
    data["load_before"] = load_before
    data["load_after"] = load_average()
    return data


def stage_table(run: dict) -> dict[str, dict]:
    """Stages of a run keyed by name; a stage the flow runs inside another one (normalising is
    interleaved with validation, kind by kind) is split out of it by its sub-phase timer."""
    stages = {s["name"]: dict(s) for s in run.get("stages", [])}
    for name, parent, phase in SPLIT_STAGES:
        part = run.get("phases", {}).get(phase)
        if part is None or parent not in stages:
            continue
        whole = stages[parent]
        stages[name] = {"name": name, "wall_s": part["wall_s"], "cpu_s": part["cpu_s"],
                        "peak_rss_mb": None}
        whole["wall_s"] -= part["wall_s"]
        whole["cpu_s"] -= part["cpu_s"]
    return stages


def bench(args: argparse.Namespace) -> dict:
    """Generate (or reuse) the extracts, time the floor and the runs; return the result."""
    from tkpk.config import Settings

    raw, extracts = ensure_extracts(
        args.households, args.region, args.months, args.seed, args.messiness,
        per_kabkota=args.per_kabkota,
    )
    label = size_label(args.households, args.region)
    run_dir = WORK / label / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    increment = choose_increment(raw) if args.incremental else None
    files = sorted(p for p in raw.iterdir() if p.is_file() and p != increment)
    link_files(files, run_dir / "raw")
    log = run_dir / "bench.log"
    commit = git_commit(args.commit)
    source = export_source(commit)
    env = {
        **os.environ,
        "PYTHONPATH": str(source),
        "TKPK_HOME": str(source),
        "TKPK_PSEUDONYM_KEY": BENCH_KEY,
        "TKPK_TEMP": str(run_dir / "tmp"),
        "TKPK_REGION": args.region,
        "TKPK_LOCAL_KEY_FILE": str(run_dir / "local.key"),
    }
    result: dict = {
        "size": label,
        "households": args.households,
        "region": args.region,
        "months": args.months,
        "extracts": extracts,
        "full_run_files": len(files),
        "full_run_bytes": sum(p.stat().st_size for p in files),
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9, 1),
            "python": platform.python_version(),
            "duckdb_memory_limit": Settings().duckdb_memory_limit,
            "duckdb_threads": os.environ.get("TKPK_DUCKDB_THREADS", str(os.cpu_count())),
        },
        "commit": commit,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if args.floor:
        print("I/O floor ...", flush=True)
        result["floor"] = run_child(
            ["--child-floor", str(run_dir / "raw"), str(run_dir / "floor")], env,
            run_dir / "floor.json", log,
        )
        print(f"  {result['floor']['wall_s']} s", flush=True)
    run_args = [str(run_dir / "curated"), str(run_dir / "warehouse.duckdb")]
    print("full run ...", flush=True)
    result["full"] = run_child(
        ["--child-run", str(run_dir / "raw"), *run_args], env, run_dir / "full.json", log
    )
    result["warehouse_bytes"] = (run_dir / "warehouse.duckdb").stat().st_size
    print(f"  {result['full']['wall_s']} s", flush=True)
    if increment is not None:
        link_files([increment], run_dir / "raw")
        print(f"incremental run (+ {increment.name}) ...", flush=True)
        result["incremental"] = run_child(
            ["--child-run", str(run_dir / "raw"), *run_args], env,
            run_dir / "incremental.json", log,
        )
        result["incremental"]["added_file"] = increment.name
        result["incremental"]["added_bytes"] = increment.stat().st_size
        print(f"  {result['incremental']['wall_s']} s", flush=True)
    result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    result["headline"] = headline(result)
    if not args.keep:
        shutil.rmtree(run_dir / "tmp", ignore_errors=True)
    return result


def merge_floor(args: argparse.Namespace) -> None:
    """Measure the floor on the full run's files (every file but the increment) and store it in
    the existing results JSON of the size."""
    path = RESULTS / f"pipeline_{size_label(args.households, args.region)}.json"
    result = json.loads(path.read_text())
    raw, _ = ensure_extracts(args.households, args.region, args.months, args.seed,
                             args.messiness, per_kabkota=args.per_kabkota)
    added = result.get("incremental", {}).get("added_file")
    floor_dir = WORK / size_label(args.households, args.region) / "floor"
    shutil.rmtree(floor_dir, ignore_errors=True)
    link_files(sorted(p for p in raw.iterdir() if p.is_file() and p.name != added),
               floor_dir / "raw")
    source = export_source(git_commit(args.commit))
    env = {**os.environ, "PYTHONPATH": str(source), "TKPK_HOME": str(source),
           "TKPK_TEMP": str(floor_dir / "tmp")}
    print("I/O floor ...", flush=True)
    result["floor"] = run_child(["--child-floor", str(floor_dir / "raw"), str(floor_dir / "out")],
                                env, floor_dir / "floor.json", floor_dir / "floor.log")
    result["headline"] = headline(result)
    shutil.rmtree(floor_dir, ignore_errors=True)
    path.write_text(json.dumps(result, indent=2, default=str))
    print(json.dumps(result["headline"], indent=2))


def headline(result: dict) -> dict:
    """Ratios: full run / floor, incremental / full run; peak memory."""
    full = result["full"]
    out = {"full_wall_s": full["wall_s"], "peak_rss_mb": full["peak_rss_mb"]}
    if "floor" in result:
        out["floor_wall_s"] = result["floor"]["wall_s"]
        out["ratio_full_to_floor"] = round(full["wall_s"] / result["floor"]["wall_s"], 2)
    if "incremental" in result:
        inc = result["incremental"]
        out["incremental_wall_s"] = inc["wall_s"]
        out["ratio_incremental_to_full"] = round(inc["wall_s"] / full["wall_s"], 3)
        out["incremental_peak_rss_mb"] = inc["peak_rss_mb"]
    return out


# -------------------------------------------------------------------------------- README


DEFAULT_MONTHS = "2025-11:2026-10"
STAGES = (
    "open", "load", "normalise", "validate", "transform", "commit", "checkpoint", "publish",
    "data_docs",
)
#: Stages measured inside another one by a sub-phase timer: (stage, containing stage, phase).
SPLIT_STAGES = (("normalise", "validate", "validate.normalise"),)


def _fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _scope_text(transform: dict) -> str:
    """``incremental, 3 period(s) 2026-08..2026-10`` or ``full (reason)``."""
    if not transform:
        return "not built"
    if transform.get("mode") != "incremental":
        return f"{transform.get('mode')} ({transform.get('reason')})"
    periods = transform.get("periods", [])
    span = f" {periods[0][:7]}..{periods[-1][:7]}" if periods else ""
    return f"incremental, {len(periods)} period(s){span}"


def render_readme_section() -> str:
    """The markdown of every ``results/pipeline_*.json``, smallest size first."""
    results = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("pipeline_*.json"))]
    results.sort(key=lambda r: (r["households"], r["region"]))
    lines = [
        README_START,
        "## Pipeline vs I/O floor (`pipeline_bench.py`)",
        "",
        "Generated by `benchmarks/pipeline_bench.py` from `benchmarks/results/pipeline_*.json`"
        " (do not edit by hand). Full run: fresh warehouse, every generated file but one"
        " disbursement file; incremental: the same warehouse after adding that file. Floor:"
        " DuckDB reads every file of the full run once and writes it to Parquet. Wall and CPU"
        " in seconds, peak = resident memory of the run's process (DuckDB included), MB."
        " Two shared cores: the load average (1 min) before/after each run is shown.",
        "",
        "| size | files / MB | floor s (CPU) | full run s (CPU) | full / floor wall (CPU)"
        " | peak MB | incremental s (CPU) | incr. / full wall (CPU) | load avg |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        h = r["headline"]
        full = r["full"]
        floor = r.get("floor", {})
        inc = r.get("incremental", {})
        load = f"{full['load_before'][0]:.1f}→{full['load_after'][0]:.1f}"
        cpu_ratio = full["cpu_s"] / floor["cpu_s"] if floor else None
        inc_cpu_ratio = inc["cpu_s"] / full["cpu_s"] if inc else None
        lines.append(
            f"| {r['households']:,} hh, region {r['region']}"
            f"{', ' + r['months'] if r['months'] != DEFAULT_MONTHS else ''}, `{r['commit'][:7]}` "
            f"| {r['full_run_files']} / {r['full_run_bytes'] / 1e6:,.0f} "
            f"| {_fmt(h.get('floor_wall_s'))} ({_fmt(floor.get('cpu_s'))}) "
            f"| {_fmt(h['full_wall_s'])} ({_fmt(full['cpu_s'])}) "
            f"| {_fmt(h.get('ratio_full_to_floor'), 1)} ({_fmt(cpu_ratio, 1)}) "
            f"| {_fmt(h['peak_rss_mb'], 0)} "
            f"| {_fmt(h.get('incremental_wall_s'))} ({_fmt(inc.get('cpu_s'))}) "
            f"| {_fmt(h.get('ratio_incremental_to_full'), 3)} ({_fmt(inc_cpu_ratio, 3)}) "
            f"| {load} |"
        )
    lines += ["", "Per stage (wall s / CPU s / peak MB; normalise is timed inside validate, which"
              " interleaves it kind by kind, so its peak is the validate stage's):", ""]
    header = "| size | run | " + " | ".join(STAGES) + " |"
    lines += [header, "| --- | --- | " + " | ".join("---" for _ in STAGES) + " |"]
    for r in results:
        for run_name in ("full", "incremental"):
            if run_name not in r:
                continue
            stages = stage_table(r[run_name])
            cells = []
            for name in STAGES:
                s = stages.get(name)
                cells.append(
                    "–" if s is None
                    else f"{s['wall_s']:,.1f} / {s['cpu_s']:,.1f} / {_fmt(s['peak_rss_mb'], 0)}"
                )
            lines.append(f"| {r['households']:,} | {run_name} | " + " | ".join(cells) + " |")
    lines += ["", "Largest sub-phases of the full run (wall s):", ""]
    for r in results:
        phases = sorted(r["full"].get("phases", {}).items(), key=lambda kv: -kv[1]["wall_s"])
        top = ", ".join(f"{name} {v['wall_s']:,.1f}" for name, v in phases[:8])
        models = sorted(r["full"].get("models", []), key=lambda m: -m["wall_s"])[:5]
        model_text = ", ".join(f"{m['name']} {m['wall_s']:,.1f}" for m in models)
        lines.append(f"- {r['households']:,} households: {top}"
                     + (f"; transforms: {model_text}" if model_text else ""))
        if "incremental" in r:
            inc = r["incremental"]
            lines.append(f"  - incremental added `{inc['added_file']}`"
                         f" ({inc['added_bytes'] / 1e6:,.1f} MB); scope: "
                         f"{_scope_text(inc.get('transform', {}))}")
    lines.append(README_END)
    return "\n".join(lines)


def update_readme() -> None:
    """Replace (or append) the pipeline section of ``benchmarks/README.md``."""
    section = render_readme_section()
    text = README.read_text() if README.exists() else "# Benchmarks\n"
    if README_START in text and README_END in text:
        before = text[: text.index(README_START)]
        after = text[text.index(README_END) + len(README_END):]
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    README.write_text(text)


# ---------------------------------------------------------------------------------- main


def main() -> None:
    """Parse arguments: a child role, or the driver."""
    if len(sys.argv) > 1 and sys.argv[1] == "--child-run":
        child_run(*sys.argv[2:6])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--child-floor":
        child_floor(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--region", default="33.75")
    parser.add_argument("--months", default=DEFAULT_MONTHS)
    parser.add_argument("--seed", type=int, default=20260626)
    parser.add_argument("--messiness", type=float, default=0.02)
    parser.add_argument("--no-floor", dest="floor", action="store_false")
    parser.add_argument("--no-incremental", dest="incremental", action="store_false")
    parser.add_argument("--keep", action="store_true", help="keep the spill folder")
    parser.add_argument(
        "--per-kabkota", action="store_true",
        help="generate a province's extracts kab/kota by kab/kota (bounded synth memory)",
    )
    parser.add_argument("--readme-only", action="store_true")
    parser.add_argument("--floor-only", action="store_true",
                        help="measure only the I/O floor and add it to the size's results JSON")
    parser.add_argument("--commit", default="HEAD",
                        help="the committed code to measure (exported with git archive)")
    parser.add_argument("--extracts-only", action="store_true",
                        help="only generate (or check) the cached extracts")
    args = parser.parse_args()
    if args.extracts_only:
        raw, meta = ensure_extracts(args.households, args.region, args.months, args.seed,
                                    args.messiness, per_kabkota=args.per_kabkota)
        print(json.dumps(meta, indent=2))
        return
    if args.floor_only:
        merge_floor(args)
    elif not args.readme_only:
        result = bench(args)
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"pipeline_{size_label(args.households, args.region)}.json"
        path.write_text(json.dumps(result, indent=2, default=str))
        print(json.dumps(result["headline"], indent=2))
        print(f"wrote {path}")
    update_readme()


if __name__ == "__main__":
    main()
