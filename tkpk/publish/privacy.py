"""Personal-data audit of the exports: no NIK, family card, name, address or birth date leaves.

Before a pack is published, every text cell of every exported Parquet file (list elements
included) is compared, set-based in DuckDB, with the personal values held in the warehouse
(registry, program records and raw tables): an exact match (case- and space-insensitive) stops the
publish. Free-text columns (file names) are also scanned for NIK-like 16-digit numbers.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from tkpk.publish.dictionary import Table

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
PERSONAL_VALUES = "_publish_personal_values"
MIN_VALUE_LENGTH = 3
NIK_LIKE = r"[0-9]{16}"


class PersonalDataError(RuntimeError):
    """An export would contain personal data; nothing was published."""


def _existing_columns(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    rows = con.execute(
        "select table_name, column_name from information_schema.columns "
        "where table_schema = current_schema()"
    ).fetchall()
    columns: dict[str, set[str]] = {}
    for table, column in rows:
        columns.setdefault(table, set()).add(column)
    return columns


def collect_personal_values(con: duckdb.DuckDBPyConnection) -> int:
    """(Re)create the temp table of normalised personal values; returns how many."""
    existing = _existing_columns(con)
    parts = []
    for table, columns in PERSONAL_SOURCES.items():
        for column in columns:
            if column in existing.get(table, set()):
                parts.append(f'select cast("{column}" as varchar) as v from "{table}"')
    body = " union all ".join(parts) if parts else "select null::varchar as v where false"
    reference_names = []
    if "ref_area" in existing:
        reference_names.append("select upper(trim(name)) from ref_area")
    if "ref_program" in existing:
        reference_names.append("select upper(trim(name)) from ref_program")
        reference_names.append("select upper(trim(code)) from ref_program")
    exclude = (
        f"and v not in ({' union '.join(reference_names)})" if reference_names else ""
    )
    con.execute(
        f"""
        create or replace temp table {PERSONAL_VALUES} as
        with source as ({body}),
        normalised as (select distinct upper(trim(v)) as v from source),
        final as (
            select v from normalised
            where v is not null and length(v) >= {MIN_VALUE_LENGTH} {exclude}
        )
        select * from final
        """
    )
    return con.execute(f"select count(*) from {PERSONAL_VALUES}").fetchone()[0]


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


def audit_file(
    con: duckdb.DuckDBPyConnection, path: Path, table: Table | None = None
) -> list[str]:
    """Problems in one exported Parquet file (needs ``collect_personal_values`` first).

    One scan collects every distinct text value of the file (list elements included); only when
    something matches are the columns examined one by one to name them.
    """
    relation = f"read_parquet('{path}')"
    columns = _text_columns(con, relation)
    if not columns:
        return []
    free_text = {c.name for c in table.columns if c.free_text} if table else set()
    cells = " union ".join(
        f'select upper(trim({"unnest(" if is_list else ""}"{name}"{")" if is_list else ""}))'
        f" as v from {relation}"
        for name, is_list in columns
    )
    hits = con.execute(
        f"select count(*) from ({cells}) c join {PERSONAL_VALUES} p using (v)"
    ).fetchone()[0]
    problems = []
    if hits:
        for name, is_list in columns:
            values = f'unnest("{name}")' if is_list else f'"{name}"'
            found = con.execute(
                f"select count(*) from (select distinct upper(trim({values})) as v "
                f"from {relation}) join {PERSONAL_VALUES} p using (v)"
            ).fetchone()[0]
            if found:
                problems.append(
                    f"{path.name}: column {name} holds {found} value(s) found in the warehouse's "
                    "personal data (NIK, family card, name, address, birth date or registry id)"
                )
    for name in sorted(free_text & {n for n, _ in columns}):
        numeric = con.execute(
            f"select count(*) from {relation} where regexp_matches(\"{name}\", '{NIK_LIKE}')"
        ).fetchone()[0]
        if numeric:
            problems.append(
                f"{path.name}: column {name} holds {numeric} value(s) with a NIK-like "
                "16-digit number"
            )
    return problems
