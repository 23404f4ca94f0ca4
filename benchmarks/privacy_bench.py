"""Benchmark: the personal-data audit (whole cells and substrings) on a published installation.

Times, on the warehouse and packs of a nightly run (``--db``, ``--out``): the full audit of every
exported Parquet file (``privacy.audit_files``), the same with the substring probe switched off
(whole cells only, the rule before issue 16), the incremental audit against the published version
with nothing new, and the audit of the Data Docs pages; prints sizes (personal values, exported
cells, words) and timings as JSON.

    tkpk synth --households 20000 --out W/raw --side W/synth
    TKPK_PSEUDONYM_KEY=... tkpk run --raw W/raw --out W/curated --db W/warehouse.duckdb
    python benchmarks/privacy_bench.py --db W/warehouse.duckdb --out W/curated
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

from tkpk.config import get_settings
from tkpk.db import connect
from tkpk.publish import dictionary, privacy


def _timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, round(time.perf_counter() - start, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    settings = replace(get_settings().with_paths(db=args.db, out=args.out),
                       duckdb_threads=args.threads)
    version = (settings.curated_dir / "current").resolve()
    files = sorted(
        p for pack in ("restricted", "bappeda") for p in (version / pack).glob("*.parquet")
    )
    free_text = {c.name for t in dictionary.TABLES for c in t.columns if c.free_text}
    con = connect(settings, read_only=True)
    out: dict = {"files": len(files)}
    columns = privacy._personal_columns(privacy._existing_columns(con))
    out["personal_values"] = sum(
        con.execute(f'select count(*) from "{t}" where "{c}" is not null').fetchone()[0]
        for t, c, _ in columns
    )
    out["exported_cells"] = privacy.collect_export_cells(con, files)
    privacy._cell_tokens(con, privacy.EXPORT_CELLS)
    out["cell_words"] = con.execute(f"select count(*) from {privacy.CELL_GRAMS}").fetchone()[0]
    problems, out["full_audit_s"] = _timed(privacy.audit_files, con, files, free_text)
    out["full_audit_problems"] = len(problems)
    saved = privacy.MIN_SUBSTRING_LENGTH
    privacy.MIN_SUBSTRING_LENGTH = 10**9  # whole cells only
    _, out["whole_cells_only_s"] = _timed(privacy.audit_files, con, files, free_text)
    privacy.MIN_SUBSTRING_LENGTH = saved
    result, out["incremental_nothing_new_s"] = _timed(
        privacy.audit_version, con, files, free_text, version
    )
    out["incremental_mode"] = result.plan.mode
    pages = sorted(settings.data_docs_dir.rglob("*.html"))
    problems, out["data_docs_audit_s"] = _timed(
        privacy.audit_documents, con, pages, settings.data_docs_dir
    )
    out["data_docs_pages"], out["data_docs_problems"] = len(pages), len(problems)
    con.close()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
