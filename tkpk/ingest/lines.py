"""Header matching and line classification, shared by the CSV and spreadsheet readers.

- header: a file's header row is the first of its first records whose cells match enough of the
  kind's column aliases (:func:`find_header`, :func:`match_header`); the required columns must
  be present (:func:`require_columns`);
- suspects: a row that lacks a required value (:func:`suspect_sql`) is flagged ``_suspect`` as it
  is read, so classification only looks again at those rows;
- classification: :func:`classify_records` tells the data rows of ``_records`` (see
  :mod:`tkpk.ingest.reading`) from blank, total, signature and column-numbering lines and numbers
  them in file order.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence

import duckdb

from tkpk.db import sql_literal
from tkpk.ingest.reading import FILE_TOO_LARGE, Column, FileProblem, Header
from tkpk.ingest.schema import REQUIRED, alias_map, header_key

#: The header must be among the first records.
HEADER_SEARCH_RECORDS = 60
#: A header row matches at least this many distinct canonical columns of the kind.
HEADER_MIN_MATCHES = 2
_TOTAL_LINE = r"^(JUMLAH|TOTAL)(\b|$)"


@functools.cache
def _aliases(kind: str) -> dict[str, str]:
    """The kind's alias map, built once per process (header search tries up to 60 records
    under three delimiters: rebuilding it per record was most of a file's header search)."""
    return alias_map(kind)


def match_header(cells: Sequence[str | None], kind: str) -> tuple[Column, ...]:
    """Map header cells onto the kind's canonical columns (first occurrence wins).

    Unmatched and repeated cells keep their own name (kept in ``extra``); an empty header cell
    is named ``column_<n>`` (1-based).
    """
    aliases = _aliases(kind)
    used: set[str] = set()
    names: set[str] = set()
    columns = []
    for index, cell in enumerate(cells):
        text = _clean_name(cell or "")
        canonical = aliases.get(header_key(text)) if text else None
        if canonical in used:
            canonical = None
        if canonical:
            used.add(canonical)
        name = text or f"column_{index + 1}"
        while name in names:
            name = f"{name}_{index + 1}"
        names.add(name)
        columns.append(Column(index, canonical, name))
    return tuple(columns)


def _clean_name(text: str) -> str:
    """A header cell as a safe name: no BOM, control characters or outer spaces."""
    cleaned = re.sub(r"[\x00-\x1f\x7f\ufeff]", " ", str(text))
    return re.sub(r"\s+", " ", cleaned).strip()[:200]


def matched_count(columns: Iterable[Column]) -> int:
    """Number of header cells that map onto a canonical column."""
    return sum(1 for c in columns if c.canonical)


def find_header(records: Sequence[Sequence[str | None]], kind: str) -> int | None:
    """Index of the first record that matches enough of the kind's header aliases, or None."""
    for index, record in enumerate(records[:HEADER_SEARCH_RECORDS]):
        if matched_count(match_header(record, kind)) >= HEADER_MIN_MATCHES:
            return index
    return None


#: More header cells than this is not an export of the contract (and would bloat every query).
MAX_COLUMNS = 2000


def require_columns(header: Header, kind: str, name: str) -> None:
    """Raise ``file_too_large`` for an absurdly wide header and ``column_missing`` naming the
    required columns the header lacks."""
    if header.width > MAX_COLUMNS:
        raise FileProblem(
            FILE_TOO_LARGE,
            f"{name}: the header has {header.width} columns, more than {MAX_COLUMNS}; check the "
            "export (wrong delimiter or a corrupt file) and drop a corrected file.",
        )
    missing = missing_required(header, kind)
    if missing:
        found = ", ".join(c.name for c in header.columns)
        raise FileProblem(
            "column_missing",
            f"{name}: required column(s) {', '.join(missing)} missing (header found: {found}); "
            "any alias of docs/contract/raw-extracts.md is accepted; add the column to the export "
            "and drop "
            "the file again.",
        )


def missing_required(header: Header, kind: str) -> list[str]:
    """Required columns (any alias; ``A/B`` means either) the header lacks."""
    present = {c.canonical for c in header.columns if c.canonical}
    missing = []
    for required in REQUIRED[kind]:
        options = required if isinstance(required, tuple) else (required,)
        if not present.intersection(options):
            missing.append("/".join(options))
    return missing


def suspect_sql(header: Header, kind: str) -> str:
    """SQL over ``c<i>``: the row lacks a required value (every option of one required column
    is null). Blank, total and signature lines are such rows; data rows with every required
    column filled are never examined further. Stored as ``_suspect`` when the records are read,
    so classification filters on one boolean column instead of scanning every cell."""
    return " or ".join(
        "("
        + " and ".join(
            f"c{p} is null"
            for o in (item if isinstance(item, tuple) else (item,))
            if (p := header.position_of(o)) is not None
        )
        + ")"
        for item in REQUIRED[kind]
    )


#: Up to this many non-data records, data rows are numbered with a list lookup (no join).
SMALL_NON_DATA = 1000


def classify_records(cur: duckdb.DuckDBPyConnection, header: Header, kind: str) -> tuple[int, int]:
    """Tell data rows of ``_records`` from blank, total, signature and column-numbering lines;
    number the data rows (1-based, file order) in the view ``_data``. Returns (data rows,
    non-data records).

    - blank: every cell empty or spaces (a rejected line of only spaces too);
    - numbering: the first record after the header when it only numbers the columns
      (``1 2 3 ...`` or ``(1) (2) ...``), as government spreadsheets often do;
    - total: the first non-empty cell starts with ``JUMLAH`` or ``TOTAL`` and the row has no
      NIK digits;
    - signature: after a total line, a line whose required columns (every alias of each) are all
      empty; a line after a total line that holds a value in any required column is a data row
      (subtotals sit mid-sheet; a short NIK or a bad value does not make a signature line). A
      rejected CSV line's fields are found by splitting it at the delimiter.

    One pass of null checks over the records keeps only the candidates (usually few); the data
    rows are never sorted or copied. A row of spaces only (not empty) counts as data.
    """
    width = header.width
    filled = [f"nullif(trim(c{i}), '') is not null" for i in range(width)]
    # A data row's first cell is usually filled: the CASE stops there (one trim per row).
    is_blank = "case " + " ".join(f"when {f} then false" for f in filled) + " else true end"
    first_cell = (
        f"coalesce({', '.join(f'nullif(trim(c{i}), {chr(39) * 2})' for i in range(width))})"
    )
    nik = header.position_of("NIK")
    nik_digits = (
        f"coalesce(length(c{nik}) - length(translate(c{nik}, '0123456789', '')), 0)"
        if nik is not None
        else "0"
    )
    required_empty = _required_empty_sql(header, kind)
    # Blank, total and signature lines lack a required value (``_suspect``, stored by the
    # reader; rejected lines are suspects too): the filter on that one boolean column is pushed
    # into the scan, so the other cells are only read for the (usually few) suspects.
    suspect_columns = ", ".join(["pos", "malformed", "raw_line", *(f"c{i}" for i in range(width))])
    numbering_pos = _numbering_pos(cur, width)
    numbering_row = (
        f"union all select {suspect_columns} from _records where pos = 1 and not _suspect"
        if numbering_pos
        else ""
    )
    cur.execute(
        f"""
        create or replace temp table _candidates as
        with suspects as (
            select {suspect_columns} from _records where _suspect
            {numbering_row}
        ),
        flagged as (
            select pos, malformed,
                   case when malformed then nullif(trim(raw_line), '') is null
                        else {is_blank} end as is_blank,
                   case when malformed then false
                        when upper(left({first_cell}, 1)) not in ('J', 'T') then false
                        else regexp_matches(upper({first_cell}), '{_TOTAL_LINE}')
                             and {nik_digits} < 10 end as is_total,
                   {required_empty} as required_empty
            from suspects
        ),
        final as (
            select * from flagged
            where malformed or is_blank or is_total or required_empty or pos = {numbering_pos}
        )
        select * from final
        """
    )
    first_total = cur.execute(
        "select min(pos) from _candidates where is_total and not is_blank"
    ).fetchall()[0][0]
    # After a total line, lines without a value in any required column are signature lines
    # (they lack a required value, so they are among the candidates).
    signatures = (
        f"select pos from _candidates where pos > {first_total} and required_empty"
        if first_total is not None
        else "select null::bigint as pos where false"
    )
    cur.execute(
        f"""
        create or replace temp table _non_data as
        with signature as ({signatures}),
        positions as (
            select pos from _candidates union select pos from signature
        ),
        kinds as (
            select p.pos,
                   case when c.is_blank then 'blank'
                        when p.pos = {numbering_pos} then 'numbering'
                        when c.is_total then 'total'
                        when s.pos is not null then 'signature'
                        else 'data' end as line_kind
            from positions as p
            left join _candidates as c on c.pos = p.pos
            left join signature as s on s.pos = p.pos
        ),
        final as (
            select pos, line_kind, row_number() over (order by pos) as before_and_self
            from kinds where line_kind <> 'data'
        )
        select * from final
        """
    )
    non_data, records = cur.execute(
        "select (select count(*) from _non_data), (select count(*) from _records)"
    ).fetchall()[0]
    if non_data == 0:
        cur.execute(
            "create or replace temp view _data as select *, pos as row_number from _records"
        )
    elif non_data <= SMALL_NON_DATA:
        positions = [r[0] for r in cur.execute("select pos from _non_data order by pos").fetchall()]
        listed = "[" + ", ".join(str(p) for p in positions) + "]::bigint[]"
        cur.execute(
            f"""
            create or replace temp view _data as
            select *, pos - len(list_filter({listed}, lambda x: x < pos)) as row_number
            from _records
            where not list_contains({listed}, pos)
            """
        )
    else:
        cur.execute(
            """
            create or replace temp view _data as
            select r.*, r.pos - coalesce(n.before_and_self, 0) as row_number
            from _records as r
            asof left join _non_data as n on r.pos > n.pos
            where r.pos not in (select pos from _non_data)
            """
        )
    return records - non_data, non_data


def _required_empty_sql(header: Header, kind: str) -> str:
    """SQL over a record: every required column (each of its aliases present in the header) is
    empty. A rejected CSV line has no cells: its fields are its text split at the delimiter
    (quotes ignored), so a rejected line that holds a value where a required column sits counts
    as holding it."""
    positions = sorted(
        p
        for item in REQUIRED[kind]
        for o in (item if isinstance(item, tuple) else (item,))
        if (p := header.position_of(o)) is not None
    )
    if not positions:
        return "true"
    cells = " and ".join(f"nullif(trim(c{p}), '') is null" for p in positions)
    if header.delimiter is None:
        return f"({cells})"
    fields = f"string_split(coalesce(raw_line, ''), {sql_literal(header.delimiter)})"
    split = " and ".join(
        f"nullif(trim(trim({fields}[{p + 1}]), '\"'), '') is null" for p in positions
    )
    return f"(case when malformed then {split} else {cells} end)"


def _numbering_pos(cur: duckdb.DuckDBPyConnection, width: int) -> int:
    """1 when the first record only numbers the columns (1, 2, 3 ... in order), else 0."""
    rows = cur.execute(
        "select " + ", ".join(f"c{i}" for i in range(width)) + " from _records "
        "where pos = 1 and not malformed"
    ).fetchall()
    if not rows:
        return 0
    row = rows[0]
    numbers = [re.sub(r"[()\s.]", "", v) for v in row if v is not None and v.strip()]
    if len(numbers) < 3 or not all(n.isdigit() for n in numbers):
        return 0
    values = [int(n) for n in numbers]
    return 1 if values == list(range(values[0], values[0] + len(values))) and values[0] <= 1 else 0
