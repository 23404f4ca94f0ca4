"""Personal-data audit of the exports: no NIK, family card, name, address or birth date leaves.

Before a pack is published, the distinct text cells of every exported Parquet file (list elements
included) are compared, set-based in DuckDB, with the personal values held in the warehouse
(registry, program records, and the raw text kept for quarantined rows and flagged fields): an
exact match, ignoring letter case and surrounding
spaces (both sides trimmed and upper-cased), stops the publish. Free-text columns (file names) are
also scanned for NIK-like 16-digit numbers. Each personal column is probed against the small set
of exported cells (a semi-join), so the cost is one scan of those columns, whatever the size of the
registry.

Inside longer texts (``MIN_SUBSTRING_LENGTH``): a personal value of at least 5 characters is also
found when its words occur, whole and in order, among a cell's words. Both sides are upper-cased
and every run of characters other than letters and digits is one word separator, so the name
"Siti Aminah" is found in ``rekap_siti_aminah.csv`` and in "Catatan: SITI AMINAH pindah", the
address "jl. jambu no. 66" in "Jl. Jambu No. 66, RT 03". Whole words, so a word of a name alone
("SITI"), a name inside a longer word ("RAHMA" in "RAHMAWATI") or a kelurahan name shared by an
address are not matches; values the exports' own vocabulary holds (area and program names and
codes) are never hits; birth dates (``WHOLE_CELL_ONLY``) and shorter values match whole cells only
(a date's text is also a period's). Set-based: the cells' words are an index (word, cell), each
personal value joins it on its first word (an equi-join: one scan of the personal columns), and
only those candidate pairs are tested for containment. ``audit_documents`` applies the same probes
to the lines of the report's PDF (text extracted with pypdf) and of the Data Docs pages.

Incremental audit (``audit_version``). The published version was audited against the warehouse as
it then was, and it records what that audit covered (``personal_data_audit.json`` in the version
folder: the rules, the warehouse loads present, each personal table's rows, and a digest of the
cells of every exported column). The warehouse's personal tables are append-only (raw rows carry
their ``load_id``, accepted rows their file's ``file_id``), so a match not already ruled out needs a
new cell (one the published version did not hold) or a new value (a row of a load the previous
audit did not cover). The audit therefore probes only (new cells x every row) and (every cell x
new rows); with no new cell, the whole-table scans are skipped. It falls back to the full audit
when there is no previous version or state, the rules changed, or a table's rows do not add up
(rows added to an old load, or removed: that table is probed whole).

Personal-value index (``refresh_index``). A whole-table probe normalises every personal value of
the warehouse (tens of millions at a city's scale). The warehouse therefore keeps the distinct
64-bit hashes of each personal column's compared forms (the value trimmed and upper-cased; its
words), maintained per load like the state above; ``index_candidates`` hashes the cells and
every run of a cell's words and joins them with it: a whole-table probe runs only for the
columns it cannot rule out (a true match, or a hash collision), with the exact probes above, so
the problems reported are unchanged. The full audit rebuilds the index from every row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from tkpk.db import sql_literal

#: The personal text the warehouse keeps as read (the raw files are the record of every other
#: row): temporary views (:func:`personal_views`) over the quarantined rows' ``raw_values`` and
#: the flagged fields' ``raw_value`` of a personal column (null by design: the probe guards it).
PERSONAL_VIEWS: dict[str, tuple[str, str]] = {
    "quarantine_raw_values": (
        "quarantine",
        "select file_id, "
        + ", ".join(
            f"raw_values ->> '{c}' as {c}"
            for c in ("id_keluarga", "no_kk", "alamat", "nik", "nama", "tanggal_lahir", "no_kartu")
        )
        + " from quarantine",
    ),
    "flagged_field_raw_value": (
        "flagged_field",
        "select file_id, raw_value from flagged_field "
        "where column_name in ('NIK', 'NO_KK', 'NAMA', 'ALAMAT', 'TANGGAL_LAHIR', 'NO_KARTU')",
    ),
}
#: warehouse table -> columns holding personal data (or the registry id), where present.
PERSONAL_SOURCES: dict[str, tuple[str, ...]] = {
    "registry_households": ("id_keluarga", "no_kk", "alamat"),
    "registry_members": ("nik", "nama", "tanggal_lahir"),
    "program_records": ("nik", "no_kk"),
    "member_nik_as_read": ("nik_as_read",),
    "quarantine_raw_values": (
        "id_keluarga", "no_kk", "alamat", "nik", "nama", "tanggal_lahir", "no_kartu"
    ),
    "flagged_field_raw_value": ("raw_value",),
}
#: warehouse table -> lineage column naming the load its rows came from: the file's ``file_id``
#: (``member_nik_as_read``: its SHA-256), one load per file content in ``ingest_file``.
LINEAGE: dict[str, str] = {
    table: "sha256" if table == "member_nik_as_read" else "file_id" for table in PERSONAL_SOURCES
}
EXPORT_CELLS = "_publish_export_cells"
NEW_CELLS = "_publish_new_cells"
PREVIOUS_CELLS = "_publish_previous_cells"
NEW_LOADS = "_publish_new_loads"
HITS = "_publish_audit_hits"
MIN_VALUE_LENGTH = 3
#: A personal value this long or longer is also found inside a longer exported text (a name in a
#: file name or a note); shorter ones only as a whole cell (they occur inside ordinary words).
MIN_SUBSTRING_LENGTH = 5
#: Personal columns matched as whole cells only: a birth date's text is also a period's or a
#: snapshot's, which exported texts hold.
WHOLE_CELL_ONLY = frozenset({"tanggal_lahir"})
CELL_GRAMS = "_publish_cell_words"
VOCABULARY = "_publish_vocabulary"
NIK_LIKE = r"[0-9]{16}"
#: The audit state written into each published version folder (no personal data in it).
AUDIT_STATE = "personal_data_audit.json"
STATE_FORMAT = 1


class PersonalDataError(RuntimeError):
    """An export would contain personal data; nothing was published."""


@dataclass
class AuditPlan:
    """What an audit probed: ``full`` or ``incremental``, why, and each probe it ran."""

    mode: str
    reason: str
    new_cells: int | None = None
    new_loads: list[str] = field(default_factory=list)
    #: "<table>.<column>: <rows> x <cells>" for every probe run (rows: all / new; cells: all / new)
    probes: list[str] = field(default_factory=list)


@dataclass
class AuditResult:
    """The problems found (empty: no personal data), the plan, and the state to record."""

    problems: list[str]
    plan: AuditPlan
    state: dict


def personal_views(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)define the temporary views of ``PERSONAL_VIEWS`` whose table exists."""
    tables = {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = current_schema() and table_type = 'BASE TABLE'"
        ).fetchall()
    }
    for view, (table, select) in PERSONAL_VIEWS.items():
        if table in tables:
            con.execute(f"create or replace temp view {view} as {select}")


def _existing_columns(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    """table -> column -> data type, for the tables of the current schema (and the personal
    views over the quarantine and flagged fields, defined here)."""
    personal_views(con)
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


def _reference_sql(existing: dict[str, dict[str, str]]) -> str:
    """SELECT of the exports' own vocabulary (reference names and codes, upper-cased)."""
    reference = []
    if "ref_area" in existing:
        reference.append("select upper(trim(name)) from ref_area")
    if "ref_program" in existing:
        reference.append("select upper(trim(name)) from ref_program")
        reference.append("select upper(trim(code)) from ref_program")
    return " union ".join(reference) or "select null::varchar where false"


def _cell_label(path: Path) -> str:
    """``restricted/households.parquet``: a file's label in the cells table and the state."""
    return path.parent.name + "/" + path.name


def collect_export_cells(
    con: duckdb.DuckDBPyConnection,
    files: list[Path],
    table: str = EXPORT_CELLS,
    columns: dict[str, set[str]] | None = None,
    append: bool = False,
) -> int:
    """(Re)create the temp table of the distinct normalised text cells of ``files``.

    ``append``: add the cells of ``files`` to the table instead (files other than those already
    collected: each file's cells are distinct, so the table stays a set).

    Each value is kept trimmed and upper-cased, the form the warehouse's values are compared in
    (``_probe_value``), so a name exported in other letter case is still found. Values equal to a
    reference name (areas, programs) and very short values are left out: they are the exports'
    own vocabulary. ``columns``: file label (``_cell_label``) -> the only text columns of that
    file to read (None: every text column of every file).
    """
    parts = []
    for path in files:
        relation = f"read_parquet({sql_literal(str(path))})"
        wanted = None if columns is None else columns.get(_cell_label(path), set())
        for name, is_list in _text_columns(con, relation):
            if wanted is not None and name not in wanted:
                continue
            quoted = '"' + name.replace('"', '""') + '"'
            # a list column's distinct lists first (few: program combinations), then their elements
            source = (
                f"select unnest(l) as v from (select distinct {quoted} as l from {relation})"
                if is_list else f"select {quoted} as v from {relation}"
            )
            # each column's distinct forms first (a file's (file, column) pairs are distinct, so
            # the union stays a set), then the vocabulary filter on those few
            parts.append(
                f"select {sql_literal(_cell_label(path))} as file, "
                f"{sql_literal(name)} as column_name, v from ("
                f"select distinct upper(v) as v from (select {_trim_quick('v')} as v "
                f"from ({source})) "
                f"where v is not null and length(v) >= {MIN_VALUE_LENGTH})"
            )
    body = " union all ".join(parts) if parts else (
        "select null::varchar as file, null::varchar as column_name, null::varchar as v where false"
    )
    con.execute(
        f"""
        {f"insert into {table}" if append else f"create or replace temp table {table} as"}
        with cells as ({body}),
        final as (
            select file, column_name, v from cells
            where v not in ({_reference_sql(_existing_columns(con))})
        )
        select * from final
        """
    )
    return con.execute(f"select count(*) from {table}").fetchone()[0]


def _trim_quick(expression: str) -> str:
    """SQL: ``trim`` of the text without scanning it when it cannot change it: ``trim`` removes
    the space separators (Unicode Zs) at either end, so a text whose first and last characters
    are printable ASCII other than the space (pseudonyms, codes, most names) is its own trimmed
    form; the same text either way (a right trim reads the whole text: a million 64-character
    pseudonyms cost a third of a second)."""
    return (
        f"case when ascii({expression}) between 33 and 126 "
        f"and ascii({expression}[-1]) between 33 and 126 then {expression} "
        f"else trim({expression}) end"
    )


def _probe_value(column: str, data_type: str) -> str:
    """The column as the text the cells are compared with: trimmed and upper-cased, like them."""
    text = f'"{column}"' if data_type == "VARCHAR" else f'cast("{column}" as varchar)'
    return f"upper(trim({text}))"


def _probe_condition(column: str, data_type: str, cells: str) -> str:
    """WHERE condition: the column's text equals a cell of the table ``cells``.

    A DATE column is compared as dates with the cells that are exactly a date's text (a date's
    text parses back to that date), so its millions of values are never turned into text.
    """
    if data_type == "DATE":
        return (
            f'"{column}" in (select try_cast(v as date) from {cells} '
            "where cast(try_cast(v as date) as varchar) = v)"
        )
    return f"{_probe_value(column, data_type)} in (select v from {cells})"


def _personal_columns(
    existing: dict[str, dict[str, str]],
) -> list[tuple[str, str, str]]:
    """(table, column, data type) of every personal column present in the warehouse."""
    return [
        (table, column, existing[table][column])
        for table, columns in PERSONAL_SOURCES.items()
        for column in columns
        if column in existing.get(table, {})
    ]


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


def _problems(
    matches: list[tuple[str, str, str, int, int]], nik_like: list[tuple[str, str, int]]
) -> list[str]:
    problems = []
    for file, column, source, equal, inside in matches:
        if equal:
            problems.append(
                f"{file}: column {column} holds {equal} value(s) equal to {source} (personal data)"
            )
        if inside:
            problems.append(
                f"{file}: column {column} holds text containing {inside} value(s) of {source} "
                "(personal data)"
            )
    problems += [
        f"{file}: column {column} holds {n} value(s) with a NIK-like 16-digit number"
        for file, column, n in nik_like
    ]
    return problems


def audit_files(
    con: duckdb.DuckDBPyConnection, files: list[Path], free_text: set[str]
) -> list[str]:
    """Problems found in the exported Parquet ``files`` (empty: no personal data).

    The full audit: every cell against every personal value of the warehouse.
    """
    collect_export_cells(con, files)
    try:
        indexed_values = refresh_index(con, rebuild=True)
        matches = _probe_matches(
            con, {}, 0, _full_plan("no published version given"), indexed_values
        )
        return _problems(matches, nik_like_values(con, free_text))
    finally:
        for table in (EXPORT_CELLS, HITS, CELL_GRAMS, VOCABULARY):
            con.execute(f"drop table if exists {table}")


# ------------------------------------------------------------------------ incremental audit


def rules_fingerprint(con: duckdb.DuckDBPyConnection, free_text: set[str]) -> str:
    """A digest of everything that decides what the audit checks: the personal columns, the
    cell normalisation, the reference vocabulary left out, the free-text columns."""
    count, digest = con.execute(
        f"select count(*), cast(bit_xor(md5_number(v)) as varchar) "
        f"from ({_reference_sql(_existing_columns(con))}) r(v)"
    ).fetchone()
    rules = {
        "format": STATE_FORMAT,
        "sources": PERSONAL_SOURCES,
        "min_value_length": MIN_VALUE_LENGTH,
        "substrings": [MIN_SUBSTRING_LENGTH, sorted(WHOLE_CELL_ONLY), "whole words in order",
                       "vocabulary words"],
        "variants": ["trim", "upper", "warehouse values upper(trim())"],
        "nik_like": NIK_LIKE,
        "free_text": sorted(free_text),
        "reference": [count, digest],
    }
    return hashlib.sha256(json.dumps(rules, sort_keys=True).encode()).hexdigest()


def _cell_digests(con: duckdb.DuckDBPyConnection) -> dict[str, list]:
    """``file/column`` -> [distinct cells, XOR of their MD5s]: the set of each column's cells."""
    rows = con.execute(  # grouped by the pair, then the few groups' keys joined
        f"select file || '/' || column_name, n, digest from ("
        f"select file, column_name, count(*) as n, cast(bit_xor(md5_number(v)) as varchar) "
        f"as digest from {EXPORT_CELLS} group by file, column_name)"
    ).fetchall()
    return {key: [n, digest] for key, n, digest in rows}


def _warehouse_loads(con: duckdb.DuckDBPyConnection) -> list[str] | None:
    """Every load of the warehouse (``ingest_file.load_id``), or None without that table."""
    if "load_id" not in _existing_columns(con).get("ingest_file", {}):
        return None
    rows = con.execute(
        "select distinct load_id from ingest_file where load_id is not null order by 1"
    ).fetchall()
    return [r[0] for r in rows]


def _table_rows(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    existing = _existing_columns(con)
    return {
        table: con.execute(f'select count(*) from "{table}"').fetchone()[0]
        for table in PERSONAL_SOURCES
        if table in existing
    }


def audit_state(
    con: duckdb.DuckDBPyConnection,
    free_text: set[str],
    loads: list[str] | None,
    cells: dict[str, list],
) -> dict:
    """What an audit that just passed covered (written into the published version)."""
    return {
        "format": STATE_FORMAT,
        "rules": rules_fingerprint(con, free_text),
        "loads": loads,
        "rows": _table_rows(con),
        "cells": cells,
    }


def read_json_state(path: Path | None, state_format: int) -> dict | None:
    """The JSON object in ``path`` when its ``format`` is ``state_format``; None when absent,
    unreadable or of another format."""
    if path is None:
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or state.get("format") != state_format:
        return None
    return state


def read_state(version: Path | None) -> dict | None:
    """The audit state of a published version folder, or None when absent or unreadable."""
    return read_json_state(version / AUDIT_STATE if version else None, STATE_FORMAT)


def write_state(version: Path, state: dict) -> Path:
    """Write the audit state into a (staged) version folder."""
    path = version / AUDIT_STATE
    path.write_text(json.dumps(state, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def _mark_new_cells(
    con: duckdb.DuckDBPyConnection, previous: Path, state: dict, cells: dict[str, list]
) -> int:
    """(Re)create the temp table of new cells: cells of a column whose cell set differs from the
    previous version's and that no previous cell of the changed columns, and no cell of an
    unchanged column, equals. Returns their number. Raises OSError / duckdb.Error when the
    previous files cannot be read.

    Only the changed columns of the previous files are read: an unchanged column's previous cells
    are its current ones (equal digests), which the unchanged cells already rule out; a column
    the previous file had and the current one lacks is not read (its cells may count as new:
    more probes, never fewer)."""
    before = state.get("cells") or {}
    changed = [
        key for key, value in cells.items() if before.get(key) != value
    ]
    pairs = [key.rsplit("/", 1) for key in changed]
    read: dict[str, set[str]] = {}
    for label, column in pairs:
        read.setdefault(label, set()).add(column)
    previous_files = [previous / label for label in sorted(read) if (previous / label).is_file()]
    collect_export_cells(con, previous_files, PREVIOUS_CELLS, columns=read)
    # the changed columns' cells (few) first; the cells of the other columns are only looked up
    # for those (no set of every unchanged cell built)
    con.execute(
        f"""
        create or replace temp table {NEW_CELLS} as
        with changed as (
            select unnest($files::varchar[]) as file, unnest($columns::varchar[]) as column_name
        ),
        candidates as (
            select distinct e.v from {EXPORT_CELLS} e
            join changed k on e.file = k.file and e.column_name = k.column_name
        ),
        unchanged as (
            select e.v from {EXPORT_CELLS} e
            where e.v in (select v from candidates)
              and not exists (
                select 1 from changed k where k.file = e.file and k.column_name = e.column_name
              )
        ),
        final as (
            select v from candidates
            where v not in (select v from {PREVIOUS_CELLS})
              and v not in (select v from unchanged)
        )
        select * from final
        """,
        {"files": [label for label, _ in pairs], "columns": [column for _, column in pairs]},
    )
    con.execute(f"drop table if exists {PREVIOUS_CELLS}")
    return con.execute(f"select count(*) from {NEW_CELLS}").fetchone()[0]


def _new_rows(
    con: duckdb.DuckDBPyConnection, state: dict, loads: list[str]
) -> tuple[list[str], dict[str, str | None]]:
    """This audit's new loads, and per personal table the filter of its new rows (None: every
    row is new: no lineage column, or its rows do not add up with the previous audit's)."""
    covered = set(state.get("loads") or [])
    new_loads = [load for load in loads if load not in covered]
    con.execute(
        f"create or replace temp table {NEW_LOADS} as select i.* "
        f"from ingest_file i where list_contains(?::varchar[], i.load_id)",
        [new_loads],
    )
    existing = _existing_columns(con)
    previous_rows = state.get("rows") or {}
    filters: dict[str, str | None] = {}
    for table in PERSONAL_SOURCES:
        if table not in existing:
            continue
        lineage = LINEAGE[table]
        if lineage not in existing[table]:
            filters[table] = None
            continue
        condition = _new_loads_condition(con, lineage, existing[table][lineage])
        total, new = con.execute(
            f'select count(*), count(*) filter (where {condition}) from "{table}"'
        ).fetchone()
        filters[table] = condition if total - new == previous_rows.get(table, 0) else None
    return new_loads, filters


def _new_loads_condition(con: duckdb.DuckDBPyConnection, lineage: str, data_type: str) -> str:
    """WHERE condition: the lineage column ``lineage`` (``data_type``) holds a value of the new
    loads' files (``NEW_LOADS``), as a constant list of those values when they are integers or
    texts (the scans of the probes skip the row groups of older files by their min/max)."""
    subquery = f'"{lineage}" in (select {lineage} from {NEW_LOADS})'
    values = [
        value for (value,) in con.execute(
            f"select distinct {lineage} from {NEW_LOADS} where {lineage} is not null order by 1"
        ).fetchall()
    ]
    if data_type == "VARCHAR" and all(isinstance(v, str) for v in values):
        listed = [sql_literal(v) for v in values]
    elif data_type in INTEGER_TYPES and all(type(v) is int for v in values):
        listed = [str(v) for v in values]
    else:
        return subquery
    return f'"{lineage}" in ({", ".join(listed)})' if listed else "false"


def _probe_matches(
    con: duckdb.DuckDBPyConnection,
    filters: dict[str, str | None],
    new_cells: int,
    plan: AuditPlan,
    indexed_values: bool = False,
) -> list[tuple[str, str, str, int, int]]:
    """(file, column, personal source, values equal to a cell, values inside a longer cell) of
    the exported cells that are or contain a personal value (``MIN_SUBSTRING_LENGTH``).

    A table without a filter (``filters`` empty: the full audit) is probed whole against every
    cell; a table with one (the condition selecting its new rows) as (new cells x every row) and
    (every cell x new rows).

    The hits (source column, value) are gathered first, then joined once to the cells, so a value
    found by both probes is counted once. The new rows of every column are probed together: one
    join with the cells.

    ``indexed_values``: the personal-value index is up to date (``refresh_index``): a whole-table
    probe of a column runs only when the index cannot rule out every match for it
    (``index_candidates``); the probe is still listed in the plan (it was made, on the index).
    """
    columns = _personal_columns(_existing_columns(con))
    order = {f"{t}.{c}": i for i, (t, c, _) in enumerate(columns)}
    con.execute(f"create or replace temp table {HITS} (source varchar, v varchar)")
    new_rows: list[str] = []
    new_substring_rows: list[str] = []
    indexed: dict[str, str] = {}  # cells table -> its word index (built once)
    candidates: dict[str, set[str]] = {}  # cells table -> sources the index cannot rule out
    for table, column, data_type in columns:
        value = _probe_value(column, data_type)
        condition = filters.get(table)
        name = f"{table}.{column}"
        if condition is None:
            cells, plan_line = EXPORT_CELLS, f"{name}: all rows x all cells"
        elif new_cells:
            cells, plan_line = NEW_CELLS, f"{name}: all rows x new cells"
        else:
            cells = plan_line = None
        substrings = data_type != "DATE" and column not in WHOLE_CELL_ONLY
        if cells and indexed_values:
            if cells not in candidates:
                candidates[cells] = index_candidates(con, cells)
            if name not in candidates[cells]:
                plan.probes.append(plan_line)
                cells = None
        if cells:
            con.execute(
                f'insert into {HITS} select distinct {sql_literal(name)}, {value} from "{table}" '
                f"where {_probe_condition(column, data_type, cells)}"
            )
            if substrings:
                if cells not in indexed:
                    indexed[cells] = _cell_tokens(con, cells, f"{CELL_GRAMS}_{len(indexed)}")
                _probe_substrings(
                    con, f'select {sql_literal(name)} as source, {value} as v from "{table}"',
                    indexed[cells], cells,
                )
            plan.probes.append(plan_line)
        if condition is not None and plan.new_loads:
            select = f'select {sql_literal(name)} as source, {value} as v from "{table}"'
            new_rows.append(f"{select} where {condition}")
            if substrings:
                new_substring_rows.append(f"{select} where {condition}")
            plan.probes.append(f"{name}: new rows x all cells")
    if new_rows:
        con.execute(
            f"insert into {HITS} select distinct source, v from ({' union all '.join(new_rows)}) "
            f"where v in (select v from {EXPORT_CELLS})"
        )
    if new_substring_rows:
        if EXPORT_CELLS not in indexed:
            indexed[EXPORT_CELLS] = _cell_tokens(con, EXPORT_CELLS, f"{CELL_GRAMS}_{len(indexed)}")
        _probe_substrings(
            con, " union all ".join(new_substring_rows), indexed[EXPORT_CELLS], EXPORT_CELLS
        )
    found = con.execute(f"select count(*) from {HITS}").fetchone()[0]
    rows = [] if not found else con.execute(  # (no hit: no scan of the cells' words)
        f"""
        with hits as (select distinct source, v from {HITS})
        select file, column_name, source,
            count(distinct hits.v) filter (where cells.v = hits.v),
            count(distinct hits.v) filter (where cells.v <> hits.v)
        from (select *, {_words_quick("v")} as words from {EXPORT_CELLS}) cells
        join (select *, {_words_quick("v")} as words from hits) hits on cells.v = hits.v
            or (length(hits.words) >= {MIN_SUBSTRING_LENGTH}
                and {_contains_words("cells.words", "hits.words")})
        group by all
        """
    ).fetchall()
    for table in (*indexed.values(), VOCABULARY):
        con.execute(f"drop table if exists {table}")
    return sorted(rows, key=lambda r: (order[r[2]], r[0], r[1]))


def _words(expression: str) -> str:
    """SQL: the text as upper-case words separated by single spaces (every run of characters
    other than letters and digits is one separator: ``rekap_siti-aminah.csv`` holds the words
    ``REKAP SITI AMINAH CSV``)."""
    return f"trim(regexp_replace(upper({expression}), '[^\\p{{L}}\\p{{N}}]+', ' ', 'g'))"


def _words_quick(expression: str) -> str:
    """SQL: ``_words`` of the expression without a regular-expression replace when the text
    already is its own words (letters A-Z, digits, single inner spaces: pseudonyms, codes,
    most names as exported); the same text either way."""
    return (
        f"case when regexp_matches({expression}, '[^A-Z0-9 ]|  |^ | $') "
        f"then {_words(expression)} else {expression} end"
    )


def _contains_words(text: str, words: str) -> str:
    """SQL: the words ``words`` occur, whole and in order, in the words ``text``."""
    return f"contains(' ' || {text} || ' ', ' ' || {words} || ' ')"


def _cell_tokens(
    con: duckdb.DuckDBPyConnection, cells: str, table: str = CELL_GRAMS
) -> str:
    """(Re)create the temp table of the words of the cells of table ``cells``, each with the
    cell's words: the index the substring probe joins on (a personal value inside a cell starts
    with one of the cell's words). Also the exports' vocabulary (reference names and codes, as
    words), for ``_probe_substrings``.

    A cell of one word of letters A-Z and digits only (most: pseudonyms, codes) is left out:
    its only word is itself, so it holds a value's words only when it equals them, which
    ``_probe_substrings`` finds by equality with the cells themselves."""
    con.execute(
        f"""
        create or replace temp table {table} as
        with cell_words as (
            select distinct {_words_quick("v")} as cell from {cells}
            where length(v) >= {MIN_SUBSTRING_LENGTH} and regexp_matches(v, '[^A-Z0-9]')
        ),
        one_word as (  -- its own only word (most cells: pseudonyms, codes): no unnest
            select cell as token, cell from cell_words where not contains(cell, ' ')
        ),
        more_words as (
            select distinct unnest(string_split(cell, ' ')) as token, cell from cell_words
            where contains(cell, ' ')
        ),
        final as (select * from one_word union all select * from more_words)
        select * from final
        """
    )
    con.execute(
        f"create or replace temp table {VOCABULARY} as select distinct {_words('v')} as v from "
        f"({_reference_sql(_existing_columns(con))}) r(v) where v is not null"
    )
    return table


def _probe_substrings(
    con: duckdb.DuckDBPyConnection, values: str, tokens: str, cells: str
) -> None:
    """Add to the hits the personal values (SELECT ``values``: source, v) whose words (at least
    ``MIN_SUBSTRING_LENGTH`` characters) occur whole and in order inside a cell's words: an
    equi-join of each value's first word with the cells' words (``tokens``, ``_cell_tokens`` of
    the table ``cells``), then the containment test on the few candidate pairs; and an
    equi-join of each value's words with the cells themselves (the cells of one word of A-Z and
    digits, which ``tokens`` leaves out: such a cell holds the value's words only when it is
    them; a longer cell equal to a value's words holds them too). A value that the exports' own
    vocabulary holds (a kelurahan or program name) is not a hit."""
    con.execute(
        f"""
        insert into {HITS}
        with long_values as (
            select distinct source, v from ({values}) where length(v) >= {MIN_SUBSTRING_LENGTH}
        ),
        personal as materialized (
            select source, v, {_words_quick("v")} as words from long_values
        ),
        candidates as (
            select distinct personal.source, personal.v, personal.words from personal
            join {tokens} tokens on tokens.token = split_part(personal.words, ' ', 1)
            where length(personal.words) >= {MIN_SUBSTRING_LENGTH}
              and {_contains_words("tokens.cell", "personal.words")}
            union
            select personal.source, personal.v, personal.words from personal
            join {cells} cells on cells.v = personal.words
            where length(cells.v) >= {MIN_SUBSTRING_LENGTH}
        ),
        final as (
            select source, v from candidates
            where not exists (
                select 1 from {VOCABULARY} w where {_contains_words("w.v", "candidates.words")}
            )
        )
        select * from final
        """
    )


def _full_plan(reason: str) -> AuditPlan:
    return AuditPlan(mode="full", reason=reason)


def _plan(
    con: duckdb.DuckDBPyConnection,
    free_text: set[str],
    previous: Path | None,
    state: dict | None,
    loads: list[str] | None,
) -> AuditPlan:
    """Full (and why) or incremental against the published version ``previous`` (its audit
    ``state``), before any cell is read."""
    if previous is None:
        return _full_plan("no published version")
    if state is None:
        return _full_plan("the published version has no readable audit state")
    if state.get("rules") != rules_fingerprint(con, free_text):
        return _full_plan("the audit rules changed since the published version")
    if loads is None or state.get("loads") is None:
        return _full_plan("the warehouse has no load lineage")
    return AuditPlan(mode="incremental", reason="published version audited")


def prepare_index(
    con: duckdb.DuckDBPyConnection, free_text: set[str], previous: Path | None = None
) -> tuple[bool, bool]:
    """Bring the personal-value index up to date for the audit against ``previous`` ahead of
    it: rebuilt when that audit will be full (``_plan``), else the new loads added. It reads
    only the warehouse, so it may run while the packs are written (``tkpk.publish.packs``).
    Returns (rebuilt, up to date), for ``audit_version``'s ``index``."""
    plan = _plan(con, free_text, previous, read_state(previous), _warehouse_loads(con))
    rebuild = plan.mode == "full"
    return rebuild, refresh_index(con, rebuild=rebuild)


def _indexed(
    con: duckdb.DuckDBPyConnection,
    rebuild: bool,
    index: tuple[bool, bool] | Callable[[], tuple[bool, bool]] | None,
) -> bool:
    """``refresh_index`` for an audit that needs the index rebuilt (``rebuild``) or not, unless
    ``prepare_index`` already did that in the same publish (``index``, or a callable waiting for
    its answer): the index is then up to date as it is (a publish writes no personal table: it
    reads the warehouse, committed before it), so it is not looked at again."""
    if callable(index):
        index = index()
    if index == (rebuild, True):
        return True
    return refresh_index(con, rebuild=rebuild)


def audit_version(
    con: duckdb.DuckDBPyConnection,
    files: list[Path],
    free_text: set[str],
    previous: Path | None = None,
    index: tuple[bool, bool] | Callable[[], tuple[bool, bool]] | None = None,
    more: Callable[[], list[Path]] | None = None,
) -> AuditResult:
    """Audit the exported ``files``, incrementally against the published version ``previous``
    (its folder, holding its packs and its audit state) when it can, else in full.

    Returns the problems, the plan (which probes ran) and the state to write into the new
    version (``write_state``) once it is published. ``index``: what ``prepare_index`` did on
    this warehouse state (None: not run; the index is brought up to date here), or a callable
    waiting for it.
    ``more``: a callable returning further files to audit with ``files``, called once the
    cells of ``files`` are collected (it may wait for those files to be written: the Bappeda
    pack, derived meanwhile from the restricted files, ``tkpk.publish.packs``).
    """
    try:
        collect_export_cells(con, files)
        if more is not None:
            collect_export_cells(con, more(), append=True)
        cells = _cell_digests(con)
        loads = _warehouse_loads(con)
        state = read_state(previous)
        plan = _plan(con, free_text, previous, state, loads)
        if plan.mode == "incremental":
            try:
                new_cells = _mark_new_cells(con, previous, state, cells)
            except (OSError, duckdb.Error) as error:
                plan = _full_plan(
                    f"the published version's cells cannot be read ({scrub_error(error)})"
                )
        indexed_values = _indexed(con, plan.mode == "full", index)
        if plan.mode == "incremental":
            plan.new_cells = new_cells
            plan.new_loads, filters = _new_rows(con, state, loads)
            matches = _probe_matches(con, filters, new_cells, plan, indexed_values)
        else:
            matches = _probe_matches(con, {}, 0, plan, indexed_values)
        problems = _problems(matches, nik_like_values(con, free_text))
        result_state = audit_state(con, free_text, loads, cells)
        return AuditResult(problems=problems, plan=plan, state=result_state)
    finally:
        for table in (EXPORT_CELLS, NEW_CELLS, PREVIOUS_CELLS, NEW_LOADS, HITS, CELL_GRAMS,
                      VOCABULARY):
            con.execute(f"drop table if exists {table}")


# ------------------------------------------------------------------------ personal-value index

#: The warehouse's index of its personal values: per source column, the distinct 64-bit hashes
#: (DuckDB ``hash``) of the forms the probes compare: ``EXACT`` the value trimmed and
#: upper-cased, ``WORDS`` its words (``_words``) when the substring probe looks for it.
INDEX = "audit_personal_hash"
#: What the index covers: per personal table and load (lineage value, as text), its rows.
INDEX_LOADS = "audit_personal_hash_load"
#: The index's rules (``_index_rules``) and the most words of a ``WORDS`` form.
INDEX_META = "audit_personal_hash_meta"
INDEX_FORMS = "_publish_index_forms"
EXACT, WORDS = 1, 2
#: The lineage key of a table without a lineage column (its rows are one load) or of null lineage.
WHOLE_TABLE, NULL_LOAD = "*", "<null>"


def _index_rules(con: duckdb.DuckDBPyConnection) -> str:
    """A digest of what decides the index's hashes: the sources, the value forms, the engine."""
    rules = {
        "sources": PERSONAL_SOURCES,
        "lineage": LINEAGE,
        "lengths": [MIN_VALUE_LENGTH, MIN_SUBSTRING_LENGTH, sorted(WHOLE_CELL_ONLY)],
        "forms": [_probe_value("c", "VARCHAR"), _probe_value("c", "DATE"), _words("v")],
        "engine": [duckdb.__version__, con.execute("select hash('tkpk')").fetchone()[0]],
    }
    return hashlib.sha256(json.dumps(rules, sort_keys=True).encode()).hexdigest()


def _load_counts(
    con: duckdb.DuckDBPyConnection, table: str, existing: dict[str, dict[str, str]]
) -> dict[str, int]:
    """load (lineage value as text) -> rows of ``table`` (``WHOLE_TABLE`` without lineage)."""
    lineage = LINEAGE[table]
    if lineage not in existing[table]:
        return {WHOLE_TABLE: con.execute(f'select count(*) from "{table}"').fetchone()[0]}
    rows = con.execute(  # grouped by the value, then the few groups cast to text
        f"select coalesce(cast(k as varchar), '{NULL_LOAD}'), n "
        f'from (select "{lineage}" as k, count(*) as n from "{table}" group by 1)'
    ).fetchall()
    return dict(rows)


#: Lineage column types compared with a constant list in their own type (``_lineage_in``).
INTEGER_TYPES = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                           "USMALLINT", "UINTEGER", "UBIGINT"})


def _lineage_in(column: str, data_type: str | None, keys: list[str]) -> str | None:
    """WHERE condition: the text of the lineage column ``column`` (``data_type``) is one of
    ``keys``, written as a constant list in the column's own type (the scan then skips the row
    groups outside it by their min/max, and casts no row to text): an integer's text is its
    plain decimal form, so only such keys can equal one. None for another type."""
    quoted = f'"{column}"'
    if data_type == "VARCHAR":
        values = [sql_literal(k) for k in keys]
    elif data_type in INTEGER_TYPES:
        values = [k for k in keys if k.lstrip("-").isdigit() and str(int(k)) == k]
    else:
        return None
    return f"{quoted} in ({', '.join(values)})" if values else "false"


def _loads_condition(table: str, loads: list[str], data_type: str | None = None) -> str:
    """WHERE condition selecting the rows of ``loads`` of ``table`` (``data_type``: the type
    of its lineage column, for ``_lineage_in``)."""
    if WHOLE_TABLE in loads:
        return "true"
    lineage = f'"{LINEAGE[table]}"'
    condition = _lineage_in(LINEAGE[table], data_type, loads)
    if condition is None:
        listed = "[" + ", ".join(sql_literal(k) for k in loads) + "]::varchar[]"
        condition = f"list_contains({listed}, cast({lineage} as varchar))"
    return f"({condition} or {lineage} is null)" if NULL_LOAD in loads else condition


def _index_column(
    con: duckdb.DuckDBPyConnection, table: str, column: str, data_type: str, condition: str,
    anti_join: bool,
) -> int:
    """Add the forms of the values of ``table.column`` (rows of ``condition``) to the index;
    returns the most words of a ``WORDS`` form (0: none)."""
    source = sql_literal(f"{table}.{column}")
    substrings = data_type != "DATE" and column not in WHOLE_CELL_ONLY
    # each value's words computed once, beside it (a value of letters A-Z, digits and single
    # inner spaces is its own words: no regexp); each kind's forms made distinct on their own
    # (no one grouping of both kinds' rows by kind, form and words)
    words_of = (
        f"case when length(v) >= {MIN_SUBSTRING_LENGTH} then {_words_quick('v')} end"
        if substrings else "null::varchar"
    )
    words = (
        f"""union all
            select distinct {WORDS}::utinyint, hash(w),
                length(w) - length(replace(w, ' ', '')) + 1
            from vals where length(w) >= {MIN_SUBSTRING_LENGTH}"""
        if substrings else ""
    )
    con.execute(
        f"""
        create or replace temp table {INDEX_FORMS} as
        with raw as (
            select distinct "{column}" as c from "{table}"
            where {condition} and "{column}" is not null
        ),
        vals as materialized (
            select v, {words_of} as w
            from (select {_probe_value("c", data_type)} as v from raw)
        ),
        final as (
            select distinct {EXACT}::utinyint as kind, hash(v) as h, 0 as words
            from vals where length(v) >= {MIN_VALUE_LENGTH}
            {words}
        )
        select * from final
        """
    )
    new = (
        f"select distinct {source}, kind, h from {INDEX_FORMS} f where not exists ("
        f"select 1 from {INDEX} i where i.source = {source} and i.kind = f.kind and i.h = f.h)"
        if anti_join else f"select {source}, kind, h from {INDEX_FORMS}"
    )
    con.execute(f"insert into {INDEX} {new}")
    most = con.execute(f"select coalesce(max(words), 0) from {INDEX_FORMS}").fetchone()[0]
    con.execute(f"drop table if exists {INDEX_FORMS}")
    return most


def _create_index(con: duckdb.DuckDBPyConnection, rules: str) -> None:
    """(Re)create the empty index tables."""
    for table in (INDEX_LOADS, INDEX, INDEX_META):
        con.execute(f"drop table if exists {table}")
    con.execute(f"create table {INDEX} (source varchar, kind utinyint, h ubigint)")
    con.execute(f"create table {INDEX_LOADS} (tbl varchar, load varchar, rows bigint)")
    con.execute(f"create table {INDEX_META} (rules varchar, max_words integer)")
    con.execute(f"insert into {INDEX_META} values (?, 0)", [rules])


def refresh_index(con: duckdb.DuckDBPyConnection, rebuild: bool = False) -> bool:
    """Bring the personal-value index up to date with the warehouse; True when it is.

    The index covers, per personal table, each load (lineage value) with its rows: a load that is
    new, or whose rows changed in number, is indexed (its distinct values' forms added); the
    personal tables are append-only (see the module doc), so the loads already covered need no
    scan. ``rebuild`` (the full audit) indexes every row again from scratch; so does a change of
    the rules (``_index_rules``). Values of loads since removed stay in the index: it may hold
    more than the warehouse (a candidate the exact probe then rules out), never less. False when
    the index is stale and cannot be written (a read-only warehouse): the probes then scan.
    """
    rules = _index_rules(con)
    existing = _existing_columns(con)
    try:
        meta = con.execute(f"select rules, max_words from {INDEX_META}").fetchone()
    except duckdb.Error:
        meta = None
    try:
        if rebuild or meta is None or meta[0] != rules:
            _create_index(con, rules)
            covered: dict[tuple[str, str], int] = {}
        else:
            covered = {
                (t, k): n for t, k, n in con.execute(
                    f"select tbl, load, rows from {INDEX_LOADS}"
                ).fetchall()
            }
        for table in PERSONAL_SOURCES:
            if table not in existing:
                continue
            counts = _load_counts(con, table, existing)
            stale = sorted(k for k, n in counts.items() if covered.get((table, k)) != n)
            if not stale:
                continue
            anti_join = any(t == table for t, _ in covered)
            # every load stale (a rebuild, a first index): every row, no filter to evaluate
            condition = "true" if len(stale) == len(counts) else _loads_condition(
                table, stale, existing[table].get(LINEAGE[table])
            )
            most = 0
            for column in PERSONAL_SOURCES[table]:
                if column in existing[table]:
                    most = max(most, _index_column(
                        con, table, column, existing[table][column], condition, anti_join
                    ))
            con.execute(f"update {INDEX_META} set max_words = greatest(max_words, ?)", [most])
            con.execute(
                f"delete from {INDEX_LOADS} where tbl = ? and list_contains(?::varchar[], load)",
                [table, stale],
            )
            con.execute(
                f"insert into {INDEX_LOADS} select ?, unnest(?::varchar[]), unnest(?::bigint[])",
                [table, stale, [counts[k] for k in stale]],
            )
    except duckdb.Error:
        return False
    return True


def index_candidates(con: duckdb.DuckDBPyConnection, cells: str) -> set[str]:
    """The personal sources (``table.column``) the index cannot rule out for the cells of table
    ``cells``: a cell whose text hashes like a value (``EXACT``), or a run of a cell's words that
    hashes like a value's words (``WORDS``) and is not inside the exports' vocabulary. A superset
    of the sources ``_probe_matches`` would find (hashes only: a collision is a candidate too)."""
    most = con.execute(f"select max_words from {INDEX_META}").fetchone()[0]
    rows = con.execute(
        f"""
        with cell_texts as (
            select distinct {_words_quick("v")} as t from {cells}
            where length(v) >= {MIN_SUBSTRING_LENGTH}
        ),
        cell_words as (  -- the cells of several words, split
            select string_split(t, ' ') as w from cell_texts where contains(t, ' ')
        ),
        starts as (select w, unnest(range(1, len(w) + 1)) as i from cell_words),
        spans as (
            select w, i, unnest(range(0, least(len(w) - i + 1, {int(most)}))) as n from starts
        ),
        runs as (  -- a cell of one word (most: pseudonyms, codes) is its only run
            select array_to_string(w[i:i + n], ' ') as g from spans
            union
            select t from cell_texts where not contains(t, ' ') and {int(most)} >= 1
        ),
        vocabulary as (
            select distinct {_words("v")} as v from ({_reference_sql(_existing_columns(con))}) r(v)
            where v is not null
        ),
        word_hits as (
            select distinct i.source, runs.g from runs
            join {INDEX} i on i.kind = {WORDS} and i.h = hash(runs.g)
            where length(runs.g) >= {MIN_SUBSTRING_LENGTH}
        ),
        final as (
            select source from word_hits
            where not exists (
                select 1 from vocabulary w where {_contains_words("w.v", "word_hits.g")}
            )
            union
            select i.source from (select distinct v from {cells}) c
            join {INDEX} i on i.kind = {EXACT} and i.h = hash(c.v)
        )
        select distinct source from final
        """
    ).fetchall()
    return {r[0] for r in rows}


# ------------------------------------------------------------------------------ failure texts

#: tkpk's own exceptions whose messages are built from file names, table and column names,
#: reason codes and counts, never from a cell (class names; checked along the class's MRO).
OWN_MESSAGE_ERRORS = frozenset({
    "FileProblem",
    "MissingInputError",
    "PersonalDataError",
    "ProductionModeError",
    "PseudonymKeyError",
    "PublishError",
    "ReconciliationError",
    "RunFailure",
    "ServeConfigError",
})


def own_message(error: BaseException) -> bool:
    """True when ``error``'s message is tkpk's own text (see ``OWN_MESSAGE_ERRORS``)."""
    return any(cls.__name__ in OWN_MESSAGE_ERRORS for cls in type(error).__mro__)


def scrub_error(error: BaseException) -> str:
    """The text of ``error`` that a log line, a summary or a failure hook may show.

    The ingest's rule (``tkpk.ingest.raw``: "only the error type is logged: messages may quote
    cell values"), applied to every failure: an engine or library error (DuckDB, pandas, Great
    Expectations...) is shown by its type alone, since its message can quote a cell (a NIK, a
    name, an address). tkpk's own errors keep their message (``OWN_MESSAGE_ERRORS``). A plain
    ``RuntimeError`` that wraps an engine error as ``"<context>: <engine message>"`` (the
    transforms' ``transform x.sql failed: ...``) keeps its context, the engine part scrubbed.
    """
    kind = type(error).__name__
    if own_message(error):
        return f"{kind}: {error}" if str(error) else kind
    cause = error.__cause__
    text, cause_text = str(error), str(cause) if cause is not None else ""
    if type(error) is RuntimeError and cause_text and text.endswith(cause_text):
        context = text[: -len(cause_text)].rstrip(": ")
        return f"{context}: {scrub_error(cause)}"
    return kind


# ------------------------------------------------------------------------- documents


def document_text(path: Path) -> str:
    """The text a person sees in ``path``: a PDF's extracted text (``pypdf``), an HTML page's
    text and attribute values (tags removed, entities decoded; scripts and styles kept: data can
    hide there too), any other file as UTF-8 text."""
    import html
    import re

    if path.suffix.lower() == ".pdf":
        from pypdf import PdfReader

        reader = PdfReader(path)
        parts = [page.extract_text() or "" for page in reader.pages]
        parts += [str(v) for v in (reader.metadata or {}).values()]
        return "\n".join(parts)
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix.lower() in (".html", ".htm"):
        text = re.sub(r"<[^>]*?>", "\n", text)
        text = html.unescape(text)
    return text


def collect_document_cells(con: duckdb.DuckDBPyConnection, paths: list[Path], root: Path) -> int:
    """(Re)create the cells table from documents: each non-empty line of each document's text
    (``document_text``), trimmed and upper-cased, labelled with its path under ``root``."""
    rows = []
    for path in paths:
        label = str(path.relative_to(root)) if path.is_relative_to(root) else path.name
        lines = {line.strip().upper() for line in document_text(path).splitlines()}
        rows += [(label, "text", line) for line in lines if len(line) >= MIN_VALUE_LENGTH]
    con.execute(
        f"create or replace temp table {EXPORT_CELLS} "
        "(file varchar, column_name varchar, v varchar)"
    )
    if rows:  # one statement (list parameters), not one per line
        con.execute(
            f"insert into {EXPORT_CELLS} select unnest(?::varchar[]), 'text', unnest(?::varchar[])",
            [[r[0] for r in rows], [r[2] for r in rows]],
        )
    con.execute(
        f"delete from {EXPORT_CELLS} where v in ({_reference_sql(_existing_columns(con))})"
    )
    return con.execute(f"select count(*) from {EXPORT_CELLS}").fetchone()[0]


def audit_documents(
    con: duckdb.DuckDBPyConnection, paths: list[Path], root: Path, index_current: bool = False
) -> list[str]:
    """Problems found in documents shown to people (the report's PDF, Data Docs pages): their
    lines against every personal value of the warehouse, as whole lines and as substrings
    (``MIN_SUBSTRING_LENGTH``). Empty: no personal data.

    ``index_current``: the personal-value index is known to be up to date with this warehouse
    state (the same run's publish brought it up to date and nothing was written since:
    ``PublishResult.index_current``), so it is not looked at again (``refresh_index``)."""
    collect_document_cells(con, paths, root)
    try:
        indexed = True if index_current else refresh_index(con)
        matches = _probe_matches(con, {}, 0, _full_plan("documents"), indexed)
        # no NIK-like pattern here: scripts hold long numbers; the warehouse's NIKs are probed
        return [p.replace(": column text holds", ": holds") for p in _problems(matches, [])]
    finally:
        for table in (EXPORT_CELLS, HITS, CELL_GRAMS, VOCABULARY):
            con.execute(f"drop table if exists {table}")


def audit_report(settings: object, folder: Path) -> list[str] | None:
    """The personal-data audit of a briefing pack (its PDF and HTML pages) against the
    warehouse of ``settings``; None when there is no warehouse here to audit against (an
    analyst's machine: the report is built from the already audited packs)."""
    from tkpk.db import connect

    warehouse = Path(settings.warehouse)
    if not warehouse.is_file():
        return None
    con = connect(settings, warehouse, read_only=True)
    try:
        paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".pdf", ".html"))
        return audit_documents(con, paths, folder.parent)
    finally:
        con.close()


# ------------------------------------------------------------------------------ files at rest

#: Permission bits for the group and others: none may be set on personal data at rest.
GROUP_OTHER = 0o077
#: Modes of the published packs: the restricted pack for the service user only, the Bappeda pack
#: world-readable (the only world-readable output).
RESTRICTED_MODES = (0o700, 0o600)
BAPPEDA_MODES = (0o755, 0o644)


class ProductionModeError(RuntimeError):
    """Production mode refuses to run: personal data at rest is readable by the group or others."""


def _exposed(path: Path) -> bool:
    """True when ``path`` exists and its group or others have any permission on it."""
    try:
        return bool(path.stat().st_mode & GROUP_OTHER)
    except OSError:
        return False


def exposed_files(settings: object) -> list[str]:
    """What production mode refuses to run with, each with the command that fixes it: the
    warehouse file (and its write-ahead log), the local pseudonym key file, the restricted pack
    (folder and files, as published), readable or writable by the group or others."""
    problems = []
    warehouse = Path(settings.warehouse)
    for path in (warehouse, warehouse.with_name(warehouse.name + ".wal"),
                 Path(settings.local_key_file)):
        if _exposed(path):
            problems.append(f"{path} is accessible by group/others: run `chmod 600 {path}`")
    restricted = Path(settings.curated_dir) / "restricted"
    if restricted.exists():
        folder = restricted.resolve()
        if _exposed(folder) or any(_exposed(p) for p in folder.rglob("*")):
            problems.append(
                f"the restricted pack {folder} is accessible by group/others: run "
                f"`chmod -R go-rwx {folder}`"
            )
    return problems


def check_files_at_rest(settings: object) -> None:
    """Production mode: refuse to run (``ProductionModeError``) when personal data at rest is
    accessible by the group or others (``exposed_files``); then make every file this process
    creates private (umask 077: the warehouse, its spill and scratch files, the packs while they
    are written; ``set_pack_modes`` opens the Bappeda pack after the publish)."""
    import os

    problems = exposed_files(settings)
    if problems:
        raise ProductionModeError(
            "production mode refuses to run: " + "; ".join(problems)
            + " (see docs/operations.md, 'Personal data at rest')"
        )
    os.umask(0o077)


def _set_tree(folder: Path, modes: tuple[int, int]) -> None:
    """Mode of ``folder`` and its subfolders (first) and files (second)."""
    folder.chmod(modes[0])
    for path in folder.rglob("*"):
        if not path.is_symlink():
            path.chmod(modes[0] if path.is_dir() else modes[1])


def set_pack_modes(curated_dir: Path, version_dir: Path) -> None:
    """Modes of a published version: the restricted pack (and every other folder of the version)
    for the owner only, the Bappeda pack world-readable; the folders above it traversable (not
    listable) by others, so its fixed path ``<curated>/bappeda`` opens."""
    for child in version_dir.iterdir():
        if child.is_dir() and not child.is_symlink():
            _set_tree(child, BAPPEDA_MODES if child.name == "bappeda" else RESTRICTED_MODES)
    folder = version_dir
    while True:
        folder.chmod((folder.stat().st_mode & 0o700) | 0o711)
        if folder == curated_dir or curated_dir not in folder.parents:
            break
        folder = folder.parent
