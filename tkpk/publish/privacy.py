"""Personal-data audit of the exports: no NIK, family card, name, address or birth date leaves.

Before a pack is published, the distinct text cells of every exported Parquet file (list elements
included) are compared, set-based in DuckDB, with the personal values held in the warehouse
(registry, program records and raw tables): an exact match (case- and space-insensitive) stops the
publish. Free-text columns (file names) are also scanned for NIK-like 16-digit numbers. Each
personal column is probed against the small set of exported cells (a semi-join), so the cost is
one scan of those columns, whatever the size of the registry.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from tkpk.db import sql_literal

#: warehouse table -> columns holding personal data (or the registry id), where present.
PERSONAL_SOURCES: dict[str, tuple[str, ...]] = {
    "registry_households": ("id_keluarga", "no_kk", "alamat"),
    "registry_members": ("nik", "nama", "tanggal_lahir"),
    "program_records": ("nik", "no_kk"),
    "raw_households": ("id_keluarga", "no_kk", "alamat"),
    "raw_members": ("nik", "nama", "tanggal_lahir"),
    "raw_disbursements": ("nik", "no_kk", "nama"),
    "raw_pbi": ("nik", "nama", "no_kartu"),
    "raw_local": ("nik", "nama", "alamat"),
}
EXPORT_CELLS = "_publish_export_cells"
MIN_VALUE_LENGTH = 3
NIK_LIKE = r"[0-9]{16}"


class PersonalDataError(RuntimeError):
    """An export would contain personal data; nothing was published."""


def _existing_columns(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    """table -> column -> data type, for the tables of the current schema."""
    rows = con.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = current_schema()"
    ).fetchall()
    columns: dict[str, dict[str, str]] = {}
    for table, column, data_type in rows:
        columns.setdefault(table, {})[column] = data_type
    return columns


def _text_columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, bool]]:
    """(name, is_list) of the VARCHAR and VARCHAR[] columns of ``relation``."""
    described = con.execute(f"describe select * from {relation}").fetchall()
    out = []
    for name, type_, *_ in described:
        if type_ == "VARCHAR":
            out.append((name, False))
        elif type_ == "VARCHAR[]":
            out.append((name, True))
    return out


def collect_export_cells(con: duckdb.DuckDBPyConnection, files: list[Path]) -> int:
    """(Re)create the temp table of the distinct normalised text cells of ``files``.

    Each value is kept trimmed as is, upper-cased and lower-cased, so that the warehouse's values
    can be probed without normalising millions of them. Values equal to a reference name (areas,
    programs) and very short values are left out: they are the exports' own vocabulary.
    """
    parts = []
    for path in files:
        relation = f"read_parquet({sql_literal(str(path))})"
        for name, is_list in _text_columns(con, relation):
            quoted = '"' + name.replace('"', '""') + '"'
            value = f"unnest({quoted})" if is_list else quoted
            parts.append(
                f"select {sql_literal(path.parent.name + '/' + path.name)} as file, "
                f"{sql_literal(name)} as column_name, trim({value}) as v from {relation}"
            )
    body = " union ".join(parts) if parts else (
        "select null::varchar as file, null::varchar as column_name, null::varchar as v where false"
    )
    existing = _existing_columns(con)
    reference = []
    if "ref_area" in existing:
        reference.append("select upper(trim(name)) from ref_area")
    if "ref_program" in existing:
        reference.append("select upper(trim(name)) from ref_program")
        reference.append("select upper(trim(code)) from ref_program")
    con.execute(
        f"""
        create or replace temp table {EXPORT_CELLS} as
        with cells as ({body}),
        variants as (
            select file, column_name, unnest([v, upper(v), lower(v)]) as v from cells
            where v is not null and length(v) >= {MIN_VALUE_LENGTH} and upper(v) not in (
                {' union '.join(reference) or 'select null::varchar where false'})
        ),
        final as (select distinct file, column_name, v from variants)
        select * from final
        """
    )
    return con.execute(f"select count(*) from {EXPORT_CELLS}").fetchone()[0]


def personal_matches(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, int]]:
    """(file, column, personal source, values) for exported cells equal to a personal value.

    Each personal column of the warehouse is probed once against the (small) set of exported
    cells: a semi-join, so the warehouse's millions of values are scanned, never collected.
    """
    existing = _existing_columns(con)
    matches = []
    for table, columns in PERSONAL_SOURCES.items():
        for column in columns:
            data_type = existing.get(table, {}).get(column)
            if data_type is None:
                continue
            value = f'"{column}"' if data_type == "VARCHAR" else f'cast("{column}" as varchar)'
            rows = con.execute(
                f"""
                with hits as (
                    select distinct {value} as v from "{table}"
                    where {value} in (select v from {EXPORT_CELLS})
                )
                select file, column_name, count(distinct upper(v)) from {EXPORT_CELLS}
                join hits using (v) group by all order by all
                """
            ).fetchall()
            matches += [(f, c, f"{table}.{column}", n) for f, c, n in rows]
    return matches


def nik_like_values(
    con: duckdb.DuckDBPyConnection, columns: set[str]
) -> list[tuple[str, str, int]]:
    """(file, column, values) of free-text cells holding a NIK-like 16-digit number."""
    if not columns:
        return []
    names = ", ".join(sql_literal(c) for c in sorted(columns))
    return con.execute(
        f"""
        select file, column_name, count(*) from {EXPORT_CELLS}
        where column_name in ({names}) and regexp_matches(v, '{NIK_LIKE}')
        group by all order by all
        """
    ).fetchall()


def audit_files(
    con: duckdb.DuckDBPyConnection, files: list[Path], free_text: set[str]
) -> list[str]:
    """Problems found in the exported Parquet ``files`` (empty: no personal data)."""
    collect_export_cells(con, files)
    try:
        problems = [
            f"{file}: column {column} holds {n} value(s) equal to {source} (personal data)"
            for file, column, source, n in personal_matches(con)
        ]
        problems += [
            f"{file}: column {column} holds {n} value(s) with a NIK-like 16-digit number"
            for file, column, n in nik_like_values(con, free_text)
        ]
    finally:
        con.execute(f"drop table if exists {EXPORT_CELLS}")
    return problems
