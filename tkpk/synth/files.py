"""One output file: its logical rows, its style (headers, formats, encoding) and its rendering.

A :class:`Job` holds the logical rows of a file as numpy arrays (``frame``), the style chosen for
it, and the defects planned on it (cell overrides and inserted rows). :func:`render` registers the
rows in DuckDB, builds one SQL text expression per output column and writes the CSV or XLSX file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tkpk.db import sql_literal
from tkpk.synth.render import (
    NUMERIC_CELL,
    CsvFormat,
    SheetLayout,
    case_sql,
    code_sql,
    csv_line,
    csv_line_sql,
    date_sql,
    nik_sql,
    number_sql,
    sql_list,
    title_case,
    write_csv_stream,
    write_xlsx,
)
from transforms.sql import render_sql

#: Canonical columns whose SQL value is an integer code.
CODE_COLUMNS = (
    "DESIL",
    "JENIS_LANTAI",
    "JENIS_DINDING",
    "SUMBER_AIR_MINUM",
    "SUMBER_PENERANGAN",
    "BAHAN_BAKAR_MASAK",
    "FASILITAS_BAB",
    "HUBUNGAN_KELUARGA",
    "PENDIDIKAN_TERTINGGI",
    "STATUS_SEKOLAH",
    "JAMINAN_KESEHATAN",
    "DISABILITAS",
    "STATUS_BEKERJA",
)
#: Frame column holding each coded canonical column.
CODE_FIELDS = {
    "DESIL": "desil",
    "JENIS_LANTAI": "lantai",
    "JENIS_DINDING": "dinding",
    "SUMBER_AIR_MINUM": "air",
    "SUMBER_PENERANGAN": "penerangan",
    "BAHAN_BAKAR_MASAK": "bbm",
    "FASILITAS_BAB": "bab",
    "HUBUNGAN_KELUARGA": "rel",
    "PENDIDIKAN_TERTINGGI": "edu",
    "STATUS_SEKOLAH": "school",
    "JAMINAN_KESEHATAN": "jkn",
    "DISABILITAS": "disab",
    "STATUS_BEKERJA": "work",
}
#: Program labels written in PROGRAM / JENIS_BANTUAN columns (all resolve through the catalog).
PROGRAM_LABELS = {
    "PKH": ("PKH", "Program Keluarga Harapan", "PROGRAM KELUARGA HARAPAN"),
    "BPNT": ("BPNT", "SEMBAKO", "Program Sembako", "BANTUAN PANGAN NON TUNAI"),
    "BLT": ("BLT", "BLT EL NINO", "Bantuan Langsung Tunai"),
    "PIP": ("PIP", "KIP", "Program Indonesia Pintar"),
    "MODAL_USAHA": ("MODAL USAHA", "Bantuan Modal Usaha", "MODAL USAHA MIKRO"),
    "PELATIHAN": ("PELATIHAN KEWIRAUSAHAAN", "Pelatihan Keterampilan", "PELATIHAN"),
    "RTLH": ("RTLH", "BEDAH RUMAH", "Rehabilitasi Rumah Tidak Layak Huni"),
    "ZAKAT": ("ZAKAT KONSUMTIF", "ZAKAT PRODUKTIF", "BAZNAS"),
}


@dataclass
class Style:
    """Every presentation choice of one file."""

    columns: list[str]  # canonical (or extra) column names in output order
    headers: dict[str, str]  # column -> header text as written
    csv: CsvFormat = field(default_factory=CsvFormat)
    number: str = "plain"
    date: str = "iso"
    nik: str = "plain"
    code: str = "plain"
    sex: str = "digits"
    case: str = "upper"
    success: str = "SUKSES"
    kelurahan: str = "both"  # both | name | code | none
    in_kind_zero: bool = False


@dataclass
class Job:
    """One output file with its logical rows and planned defects."""

    name: str
    kind: str
    fmt: str  # csv | xlsx
    frame: dict[str, np.ndarray]
    style: Style
    period_end: np.datetime64
    program: str | None = None
    funding: str | None = None
    cash: bool = True
    snapshot: int | None = None
    layout: SheetLayout | None = None  # decorated local lists (xlsx or csv)
    overrides: list[tuple[int, str, str]] = field(default_factory=list)
    inserts: list[tuple[int, int, dict]] = field(default_factory=list)  # after, source, changes
    log: list[dict] = field(default_factory=list)
    used: np.ndarray | None = None
    perm: np.ndarray | None = None  # random row order used to pick defect rows
    row_numbers: np.ndarray | None = None  # frame index -> 1-based row number (after inserts)
    rows_written: int = 0
    skipped_lines: int = 0

    @property
    def n_rows(self) -> int:
        """Logical rows before inserts."""
        return len(next(iter(self.frame.values())))

    def is_used(self, rows: np.ndarray) -> np.ndarray:
        """Whether each row already carries a defect (or was copied)."""
        if self.used is None:
            self.used = np.zeros(self.n_rows, dtype=bool)
        return self.used[rows]

    def mark(self, rows: np.ndarray) -> None:
        """Mark rows as touched by a defect."""
        self.is_used(rows)
        self.used[rows] = True


@dataclass
class RenderContext:
    """Shared DuckDB connection and naming of the run."""

    con: duckdb.DuckDBPyConnection
    out_dir: Path
    id_prefix: str  # digits of the region, prefix of ID_KELUARGA
    people_nik: np.ndarray  # pid -> NIK
    people_sex: np.ndarray  # pid -> 1/2
    people_name: pa.Array  # pid -> name
    areas: dict[str, pa.Array]  # code, code_plain, name, alias, name_ok, is_desa by area index
    streets: pa.Array
    office_region: str  # e.g. "KOTA PEKALONGAN"
    city: str  # place name for signature lines


def finalize(job: Job) -> None:
    """Apply the planned inserts: extend the frame and compute every row's 1-based number."""
    n = job.n_rows
    if job.inserts:
        sources = np.array([src for _, src, _ in job.inserts], dtype=np.int64)
        extra = {k: v[sources].copy() for k, v in job.frame.items()}
        for k, (_, _, changes) in enumerate(job.inserts):
            for col, value in changes.items():
                extra[col][k] = value
        job.frame = {k: np.concatenate([v, extra[k]]) for k, v in job.frame.items()}
        after = np.array([a for a, _, _ in job.inserts], dtype=np.float64)
        order_key = np.r_[
            np.arange(n, dtype=np.float64), after + 0.5 + np.arange(len(after)) * 1e-7
        ]
    else:
        order_key = np.arange(n, dtype=np.float64)
    order = np.argsort(order_key, kind="stable")
    job.frame = {k: v[order] for k, v in job.frame.items()}
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    job.row_numbers = position + 1  # indexed by the pre-sort frame index
    job.overrides = [(int(position[i]), c, v) for i, c, v in job.overrides]


# --------------------------------------------------------------------------------------------
# SQL expressions per canonical column


def _kelurahan_code(allow_empty: bool) -> str:
    empty = "when t.a_name_ok and t.v2 % 10 = 0 then ''" if allow_empty else ""
    return (
        f"(case when t.kel < 0 then '' {empty} when t.v2 % 2 = 0 then t.a_code "
        "else t.a_code_plain end)"
    )


KELURAHAN_NAME = (
    "(case when t.kel < 0 then '' when t.v3 % 6 = 0 then t.a_name when t.v3 % 6 = 1 "
    "then upper(t.a_name) when t.v3 % 6 = 2 then lower(t.a_name) when t.v3 % 6 = 3 "
    "then (case when t.a_is_desa then 'DS. ' else 'KEL. ' end) || upper(t.a_name) "
    "when t.v3 % 6 = 4 then (case when t.a_is_desa then 'Desa ' else 'Kelurahan ' end) || t.a_name "
    "else coalesce(nullif(t.a_alias, ''), t.a_name) end)"
)

ADDRESS = (
    "(case when t.addr_kind < 600 then 'Jl. ' || t.st_street || ' No. ' || t.house_no::varchar "
    "when t.addr_kind < 850 then 'Gg. ' || t.st_street || ' No. ' || t.house_no::varchar "
    "when t.addr_kind < 940 then 'Jl. ' || t.st_street || ' Gg. ' || (t.house_no % 9 + 1)::varchar "
    "|| ' No. ' || t.house_no::varchar "
    "when t.addr_kind < 992 then 'Jl. ' || t.st_street || ' No. ' || t.house_no::varchar "
    "|| ', Gg. ' || (t.house_no % 7 + 1)::varchar "
    "else 'Jl. ' || t.st_street || ' No. ' || t.house_no::varchar || chr(10) "
    "|| 'Belakang Masjid' end)"
)


SEX_FORMS = {
    "digits": ("1", "2"),
    "letters": ("L", "P"),
    "letters_lower": ("l", "p"),
    "words": ("LAKI-LAKI", "PEREMPUAN"),
    "words_title": ("Laki-laki", "Perempuan"),
}


def _sex(style: Style) -> str:
    """JENIS_KELAMIN: one form per file, or (``mixed``) a form per row."""
    if style.sex != "mixed":
        male, female = SEX_FORMS[style.sex]
        return (
            f"(case t.p_sex when 1 then {sql_literal(male)} "
            f"when 2 then {sql_literal(female)} else '' end)"
        )
    forms = list(SEX_FORMS.values())
    males = sql_list(m for m, _ in forms)
    females = sql_list(f for _, f in forms)
    pick = f"(t.v2 % {len(forms)})::bigint + 1"
    return (
        f"(case t.p_sex when 1 then list_extract({males}, {pick}) "
        f"when 2 then list_extract({females}, {pick}) else '' end)"
    )


def _cased(word: str, case: str) -> str:
    """A SQL literal of a status/segment word in the file's letter case."""
    text = {"upper": word.upper(), "lower": word.lower()}.get(case, title_case(word))
    return sql_literal(text)


def _status(style: Style) -> str:
    c = style.case
    if style.success == "mixed":
        success = (
            f"(case t.v2 % 3 when 0 then {_cased('SUKSES', c)} when 1 then {_cased('BERHASIL', c)}"
            f" else {_cased('TERSALUR', c)} end)"
        )
    else:
        success = _cased(style.success, c)
    return (
        f"(case t.status when 0 then {success} when 1 then {_cased('GAGAL', c)} "
        f"when 2 then {_cased('RETUR', c)} else {_cased('DIBATALKAN', c)} end)"
    )


def column_sql(job: Job, ctx: RenderContext, column: str) -> tuple[str, str | None, str]:
    """(text expression, typed expression or None, cell kind) of one output column."""
    st = job.style
    kind = job.kind
    idx = f"'{ctx.id_prefix}' || lpad(t.hid::varchar, 9, '0')"
    text: str
    typed: str | None = None
    cell = "text"
    if column == "ID_KELUARGA":
        text = idx
    elif column == "NIK":
        text = nik_sql("t.p_nik", st.nik, "t.v1")
    elif column == "NO_KK":
        text = nik_sql("t.kk", st.nik, "t.v1")
    elif column in ("NAMA",):
        text = case_sql("t.p_name", st.case)
    elif column == "KODE_KELURAHAN":
        text = _kelurahan_code(allow_empty=st.kelurahan == "both")
    elif column in ("NAMA_KELURAHAN", "KELURAHAN"):
        text = KELURAHAN_NAME
    elif column == "ALAMAT":
        text = case_sql(ADDRESS, st.case)
    elif column in ("RT", "RW"):
        text = f"lpad(t.{column.lower()}::varchar, (1 + (t.v3 // 7) % 3)::integer, '0')"
    elif column == "JUMLAH_ANGGOTA":
        text = "t.size::varchar"
    elif column == "PENGELUARAN_PER_KAPITA":
        text = number_sql("t.exp", st.number)
    elif column == "LUAS_LANTAI":
        text = number_sql(
            "t.luas", "comma_dec" if st.number in ("comma_dec", "dot_dec") else "plain"
        )
    elif column in CODE_COLUMNS:
        text = code_sql(f"t.{CODE_FIELDS[column]}", st.code, "t.v1")
    elif column == "TANGGAL_PENDATAAN":
        text = date_sql("t.enum_date", st.date)
    elif column == "JENIS_KELAMIN":
        text = _sex(st)
    elif column == "TANGGAL_LAHIR":
        text = date_sql("t.birth", st.date)
    elif column in ("PROGRAM", "JENIS_BANTUAN"):
        labels = PROGRAM_LABELS[job.program]
        text = f"list_extract({sql_list(labels)}, (t.label % {len(labels)})::bigint + 1)"
    elif column == "TAHAP":
        text = "t.stage::varchar"
    elif column in ("TANGGAL_SALUR", "TANGGAL"):
        text = date_sql("t.date", st.date)
        if job.fmt == "xlsx" and st.date in ("xlsx_date", "xlsx_serial"):
            typed, cell = "t.date", ("date" if st.date == "xlsx_date" else "serial")
    elif column in ("NOMINAL", "NILAI"):
        amount = "t.amount"
        if kind == "local" and not job.cash and st.in_kind_zero:
            amount = "coalesce(t.amount, 0)"
        text = number_sql(amount, "plain" if st.number == "cell" else st.number)
        if job.fmt == "xlsx" and st.number == "cell":
            typed, cell = amount, "number"
    elif column == "STATUS" and kind == "disbursements":
        text = _status(st)
    elif column == "STATUS":
        text = (
            f"(case t.active when 1 then {_cased('AKTIF', st.case)} "
            f"else {_cased('NONAKTIF', st.case)} end)"
        )
    elif column == "SEGMEN":
        text = (
            f"(case t.apbd when 1 then {_cased('PBI APBD', st.case)} "
            f"else {_cased('PBI APBN', st.case)} end)"
        )
    elif column == "NO_KARTU":
        text = "'0001' || lpad(t.pid::varchar, 9, '0')"
    elif column == "SUMBER_DANA":
        text = sql_literal(job.funding or "")
    elif column == "NO":
        text = "(t.uid + 1)::varchar"
        if job.fmt == "xlsx":
            typed, cell = "t.uid + 1", "number"
    elif column == "SUMBER_DATA":
        text = "'DTSEN'"
    elif column == "NO_REKENING":
        text = "lpad((hash(t.p_nik) % 10000000000)::varchar, 10, '0')"
    elif column == "BANK":
        text = sql_literal((job.name.split("_")[2]).upper())
    elif column == "KELAS":
        text = "'3'"
    elif column == "KETERANGAN":
        text = "(case t.v1 % 3 when 0 then 'Usaha warung' when 1 then 'Usaha jahit' else '-' end)"
    else:
        raise KeyError(column)
    return text, typed, cell


def _cells(exprs: list[str]) -> str:
    """Select items of cell expressions, named ``c0``, ``c1``, ... in order."""
    return ", ".join(f"{e} as c{i}" for i, e in enumerate(exprs))


def _override_column(n: int, rows: list[int], values: list[str]) -> pa.Array:
    """A string column that is null except at the overridden rows."""
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    order = np.argsort(rows, kind="stable")
    ordered = pa.array([values[i] for i in order], pa.string())
    return pc.replace_with_mask(pa.nulls(n, pa.string()), pa.array(mask), ordered)


def _register(job: Job, ctx: RenderContext) -> list[str]:
    """Register the rows as ``t``: frame, gathered lookups and override columns."""
    frame = job.frame
    n = len(next(iter(frame.values())))
    columns = {k: pa.array(v, from_pandas=True) for k, v in frame.items()}
    columns["uid"] = pa.array(np.arange(n, dtype=np.int64))
    if "pid" in frame:
        pid = frame["pid"]
        columns["p_nik"] = pa.array(ctx.people_nik[pid])
        columns["p_sex"] = pa.array(ctx.people_sex[pid])
        columns["p_name"] = ctx.people_name.take(pa.array(pid))
    if "kel" in frame:
        kel = pa.array(frame["kel"], mask=frame["kel"] < 0)
        for name, values in ctx.areas.items():
            columns[f"a_{name}"] = values.take(kel)
    if "street_i" in frame:
        columns["st_street"] = ctx.streets.take(pa.array(frame["street_i"]))
    by_column: dict[str, dict[int, str]] = {}
    for row, column, value in job.overrides:  # the last override of a cell wins
        by_column.setdefault(column, {})[row] = value
    for column, cells in by_column.items():
        columns[f"o_{column}"] = _override_column(n, list(cells), list(cells.values()))
    ctx.con.register("t", pa.table(columns))
    return sorted(by_column)


def _text_exprs(
    job: Job, ctx: RenderContext, overridden: list[str]
) -> list[tuple[str, str | None, str]]:
    out = []
    for column in job.style.columns:
        text, typed, cell = column_sql(job, ctx, column)
        if column in overridden:
            text = f'coalesce(t."o_{column}", {text})'
        out.append((text, typed, cell))
    return out


def render(job: Job, ctx: RenderContext) -> dict[tuple[int, str], str]:
    """Write the file; returns the written text of every logged defect cell."""
    finalize(job)
    overridden = _register(job, ctx)
    exprs = _text_exprs(job, ctx, overridden)
    headers = [job.style.headers[c] for c in job.style.columns]
    path = ctx.out_dir / job.name
    if job.fmt == "csv":
        _render_csv(job, ctx, path, headers, exprs)
    else:
        _render_xlsx(job, ctx, path, headers, exprs, overridden)
    job.rows_written = len(next(iter(job.frame.values())))
    return _logged_values(job, ctx, exprs)


def _decoration_lines(job: Job, width: int) -> tuple[list[list[str]], list[list[str]]]:
    """Title and tail records of a decorated CSV local list (padded to the column count)."""
    layout = job.layout
    if layout is None:
        return [], []

    def pad(cells: dict[int, str]) -> list[str]:
        return [cells.get(i, "") for i in range(width)]

    head = [pad({0: line}) for line in layout.title_lines]
    if layout.blank_after_title:
        head.append(pad({}))
    tail = []
    if layout.total_label:
        tail.append(pad({0: layout.total_label, layout.total_column: layout.total_text}))
    if layout.signature_lines:
        tail.append(pad({}))
        tail += [pad({layout.signature_column: line}) for line in layout.signature_lines]
    return head, tail


RISKY_COLUMNS = ("NAMA", "ALAMAT", "KETERANGAN")
DECIMAL_STYLES = ("dot_dec", "comma_dec", "rp_dash")


def _risky(job: Job, column: str, overridden: list[str]) -> bool:
    """Whether a column's text may hold the delimiter, a quote or a line break."""
    if column in RISKY_COLUMNS or column in overridden:
        return True
    if column in ("NOMINAL", "NILAI", "PENGELUARAN_PER_KAPITA", "LUAS_LANTAI"):
        return job.style.number in DECIMAL_STYLES
    return False


def _render_csv(job: Job, ctx: RenderContext, path: Path, headers: list[str], exprs) -> None:
    fmt = job.style.csv
    head_records, tail_records = _decoration_lines(job, len(headers))
    head = [csv_line(r, fmt.delimiter, fmt.quote_all, fmt.newline) for r in head_records]
    head.append(csv_line(headers, fmt.delimiter, fmt.quote_all, fmt.newline))
    tail = [csv_line(r, fmt.delimiter, fmt.quote_all, fmt.newline) for r in tail_records]
    overridden = {c for _, c, _ in job.overrides}
    pairs = [
        (e, _risky(job, c, overridden))
        for c, (e, _, _) in zip(job.style.columns, exprs, strict=True)
    ]
    line = csv_line_sql(pairs, fmt.delimiter, fmt.quote_all, fmt.newline)
    sql = render_sql("synth/synth_csv_lines", line=line)
    write_csv_stream(ctx.con, path, fmt, head, sql, tail)


def _render_xlsx(job: Job, ctx: RenderContext, path: Path, headers, exprs, overridden) -> None:
    selects, kinds = [], []
    for column, (text, typed, cell) in zip(job.style.columns, exprs, strict=True):
        if typed is None:
            selects.append(text)
            kinds.append("text")
        else:
            over = f't."o_{column}"' if column in overridden else "null::varchar"
            selects.append(f"coalesce({over}, '') ")
            selects.append(typed)
            kinds.append(cell)
    sql = render_sql("synth/synth_sheet_rows", cells=_cells(selects))
    raw = ctx.con.sql(sql).fetchall()
    typed_cols = [k != "text" for k in kinds]

    def rows():
        for record in raw:
            out, i = [], 0
            for is_typed in typed_cols:
                if is_typed:
                    over, value = record[i], record[i + 1]
                    i += 2
                    out.append(over if over else value)
                else:
                    out.append(record[i])
                    i += 1
            yield out

    write_xlsx(path, headers, kinds, rows(), job.layout or SheetLayout())


def _logged_values(job: Job, ctx: RenderContext, exprs) -> dict[tuple[int, str], str]:
    """Text of each (row number, column) named in the defect log, as the file holds it.

    Overridden cells and household ids are known without reading the file back; the cells a
    defect changed through a logical value (a date, a code, an amount) are formatted by DuckDB.
    """
    if not job.log:
        return {}
    overrides = {(row, column): value for row, column, value in job.overrides}
    hids = job.frame.get("hid")
    out: dict[tuple[int, str], str] = {}
    wanted: set[tuple[int, str]] = set()
    for entry in job.log:
        row = int(job.row_numbers[entry["index"]]) - 1
        column = entry["column"]
        if (row, column) in overrides:
            value = overrides[(row, column)]
            out[(row + 1, column)] = value.removeprefix(NUMERIC_CELL)
        elif column == "ID_KELUARGA" and hids is not None:
            out[(row + 1, column)] = f"{ctx.id_prefix}{int(hids[row]):09d}"
        else:
            wanted.add((row + 1, column))
    index = {c: i for i, c in enumerate(job.style.columns)}
    cols = sorted({c for _, c in wanted if c in index})
    if not cols:
        return out
    rows = sorted({r for r, _ in wanted})
    ctx.con.register("wanted_src", pa.table({"uid": pa.array([r - 1 for r in rows], pa.int64())}))
    cells = _cells([exprs[index[c]][0] for c in cols])
    records = ctx.con.sql(render_sql("synth/synth_logged_cells", cells=cells)).fetchall()
    ctx.con.unregister("wanted_src")
    for record in records:
        for j, c in enumerate(cols):
            if (record[0] + 1, c) in wanted:
                out[(record[0] + 1, c)] = record[j + 1]
    return out


def excel_serial(day: dt.date) -> int:
    """Spreadsheet serial number of a date."""
    return (day - dt.date(1899, 12, 30)).days
