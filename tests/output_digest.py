"""Content digests of the published packs, for the byte-identity test of issue 14.

A pack table's digest is the SHA-256 of its rows in file order, each value in DuckDB's text form,
over the columns of the baseline (a later build may add columns; it may not drop, retype or
reorder the baseline's, nor change a value or the order of the rows). Columns that differ by run
(``RUN_COLUMNS``: the run id, the pull time) are left out.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb

#: Columns whose values name the run that produced them, not the data.
RUN_COLUMNS = frozenset({"run_id", "pulled_at"})


def table_columns(con: duckdb.DuckDBPyConnection, path: Path) -> list[list[str]]:
    """[name, DuckDB type] of every column of the Parquet file at ``path``, in file order."""
    query = "select column_name, column_type from (describe select * from read_parquet(?))"
    rows = con.execute(query, [str(path)]).fetchall()
    return [[name, type_] for name, type_ in rows]


def rows_digest(con: duckdb.DuckDBPyConnection, path: Path, columns: list[str]) -> str:
    """SHA-256 over the rows of ``path`` in file order, restricted to ``columns``."""
    digest = hashlib.sha256()
    if not columns:
        return digest.hexdigest()
    cells = ", ".join(f"coalesce(cast(\"{c}\" as varchar), '\\N')" for c in columns)
    query = (f"select concat_ws('\\t', {cells}) from read_parquet(?, file_row_number = true) "
             "order by file_row_number")
    result = con.execute(query, [str(path)])
    while batch := result.fetchmany(50_000):
        for (line,) in batch:
            digest.update(line.encode("utf-8"))
            digest.update(b"\n")
    return digest.hexdigest()


def pack_digests(current: Path, baseline: dict | None = None) -> dict:
    """{"<pack>/<table>": {"columns", "rows", "digest"}} of every Parquet file under
    ``current`` (the published version folder); with ``baseline``, each table is digested over
    the baseline's columns only."""
    con = duckdb.connect()
    out: dict = {}
    for path in sorted(current.glob("*/*.parquet")):
        key = f"{path.parent.name}/{path.stem}"
        columns = table_columns(con, path)
        names = [name for name, _ in columns if name not in RUN_COLUMNS]
        if baseline is not None and key in baseline:
            names = [name for name, _ in baseline[key]["columns"] if name not in RUN_COLUMNS]
            present = {name for name, _ in columns}
            names = [name for name in names if name in present]
        rows = con.execute("select count(*) from read_parquet(?)", [str(path)]).fetchone()[0]
        out[key] = {"columns": columns, "rows": rows, "digest": rows_digest(con, path, names)}
    con.close()
    return out


if __name__ == "__main__":
    import sys

    print(json.dumps(pack_digests(Path(sys.argv[1])), indent=1))
