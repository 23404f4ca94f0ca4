"""``tkpk synth``: a deterministic, seeded generator of raw extracts that follow the contract.

The run: draw the population (:mod:`population`) and the program records (:mod:`programs`),
turn every file into a :class:`~tkpk.synth.files.Job` with a style chosen by rotation (so every
header alias and value format of the contract appears somewhere), plan the injected defects
(:mod:`defects`), render the files, add the file-level junk, and write the side files
``defects.csv`` and ``files.csv`` into ``side_dir`` (never into the raw folder).
"""

from __future__ import annotations

import csv
import hashlib
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from tkpk import reference
from tkpk.db import MACROS_SQL
from tkpk.ingest.schema import COLUMNS
from tkpk.synth import defects as dfx
from tkpk.synth.files import Job, RenderContext, Style, render
from tkpk.synth.names import name_pools, official_names, street_pool
from tkpk.synth.population import (
    Outsiders,
    Population,
    build_areas,
    build_outsiders,
    build_population,
    month_end,
    person_attributes,
    present_households,
    present_persons,
)
from tkpk.synth.programs import Batch, ProgramContext, Programs
from tkpk.synth.render import (
    DATE_STYLES,
    NIK_STYLES,
    NUMBER_STYLES,
    XLSX_DATE_STYLES,
    CsvFormat,
    SheetLayout,
    number_sql,
)
from transforms.sql import create_table_sql, read_sql

#: Registry headcount the expenditure level is calibrated to (first snapshot, person-weighted).
TARGET_P0 = {"33.75": 0.067, "33": 0.105}
DEFAULT_TARGET_P0 = 0.09
#: Spreadsheets are written cell by cell: only files up to this many cells become XLSX.
XLSX_CELL_BUDGET = 150_000
DEFECT_COLUMNS = (
    "file_name",
    "row_number",
    "kind",
    "column",
    "defect",
    "expected_outcome",
    "expected_reasons",
    "value",
)
FILE_COLUMNS = (
    "file_name",
    "kind",
    "data_rows",
    "skipped_lines",
    "format",
    "encoding",
    "delimiter",
    "line_ending",
    "program",
    "period",
    "ignored_sheets",
)
SPELLINGS = ("as_is", "space", "lower_space", "title_dot", "dash_lower")
OFFICES = {
    "MODAL_USAHA": "DINAS PERDAGANGAN, KOPERASI DAN UKM",
    "PELATIHAN": "DINAS TENAGA KERJA",
    "RTLH": "DINAS PERUMAHAN RAKYAT DAN KAWASAN PERMUKIMAN",
    "ZAKAT": "BADAN AMIL ZAKAT NASIONAL (BAZNAS)",
    "CSR": "FORUM TANGGUNG JAWAB SOSIAL PERUSAHAAN (CSR)",
}
TITLES = {
    "MODAL_USAHA": "DAFTAR PENERIMA BANTUAN MODAL USAHA",
    "PELATIHAN": "DAFTAR PESERTA PELATIHAN KEWIRAUSAHAAN DAN KETERAMPILAN",
    "RTLH": "DAFTAR PENERIMA BANTUAN REHABILITASI RUMAH TIDAK LAYAK HUNI",
    "ZAKAT": "DAFTAR MUSTAHIK PENERIMA ZAKAT",
}


# --------------------------------------------------------------------------------------------
# Small helpers


def parse_months(months: str) -> list[np.datetime64]:
    """``YYYY-MM:YYYY-MM`` (inclusive) -> list of month starts (``datetime64[M]``)."""
    try:
        first, last = (np.datetime64(part.strip(), "M") for part in months.split(":"))
    except ValueError as error:
        raise ValueError(f"months must look like 2025-11:2026-10, got {months!r}") from error
    if last < first:
        raise ValueError(f"months range ends before it starts: {months!r}")
    return list(np.arange(first, last + 1))


def snapshot_months(months: list[np.datetime64]) -> list[np.datetime64]:
    """About quarterly: months 1, 4, 7, 10 ... of the range."""
    return months[::3]


def yyyymm(month: np.datetime64) -> str:
    """``202606`` from a month."""
    return str(month.astype("datetime64[M]")).replace("-", "")


def header_spelling(name: str, spelling: str) -> str:
    """One spelling of a header that normalises to the same key (``No. KK``, ``no kk``...)."""
    tokens = name.split("_")
    if spelling == "space":
        return " ".join(tokens)
    if spelling == "lower_space":
        return " ".join(tokens).lower()
    if spelling == "dash_lower":
        return "-".join(tokens).lower()
    if spelling == "title_dot":
        out = []
        for i, token in enumerate(tokens):
            word = token.upper() if len(token) <= 3 and i > 0 else token.capitalize()
            if i == 0 and len(tokens) > 1 and token in ("NO", "TGL", "JML", "KD", "ID", "NIK"):
                word += "."
            out.append(word)
        return " ".join(out)
    return name


class Rotator:
    """Cycles through option lists per key, from a seeded random starting point."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.counters: dict = defaultdict(int)
        self.offsets: dict = {}

    def pick(self, key, options):
        """The next option for ``key``."""
        options = list(options)
        if key not in self.offsets:
            self.offsets[key] = int(self.rng.integers(0, 1 << 16))
        value = options[(self.counters[key] + self.offsets[key]) % len(options)]
        self.counters[key] += 1
        return value


@dataclass
class World:
    """Everything drawn for the run, shared by the file builders."""

    region: str
    digits: str
    months: list[np.datetime64]
    pop: Population
    outsiders: Outsiders
    programs: Programs
    areas: pd.DataFrame
    rng: np.random.Generator
    rot: Rotator
    catalog: pd.DataFrame
    region_name: str


# --------------------------------------------------------------------------------------------
# Reference data in DuckDB


def _connect() -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB with the project's macros (no extensions)."""
    con = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    con.execute("set enable_progress_bar = false")
    con.execute(MACROS_SQL.read_text())
    return con


def _areas(con: duckdb.DuckDBPyConnection, region: str) -> pd.DataFrame:
    """Leaf areas with the generator's attributes; ``name_ok``: every name form resolves alone."""
    reference.install(con, region)
    return con.sql(read_sql("synth/synth_areas")).df()


def _poverty_line(con: duckdb.DuckDBPyConnection, first: np.datetime64) -> float:
    """The line in force at the first month (the earliest line if none is yet in force)."""
    day = str(first.astype("datetime64[D]"))
    return float(con.execute(read_sql("synth/synth_line"), {"day": day}).fetchall()[0][0])


def _people_table(con: duckdb.DuckDBPyConnection, world: World) -> None:
    """``people(pid, nik, sex, birth, name)``: registry persons then outsiders."""
    rng = world.rng
    pools = name_pools(rng)
    p, o = world.pop.persons, world.outsiders
    n_p = len(p["hid"])
    hh_rel = p["rel"]
    frames = {
        "pid": np.r_[np.arange(n_p), o.first_pid + np.arange(len(o.nik))],
        "nik": np.r_[p["nik"], o.nik],
        "sex": np.r_[p["sex"], o.sex],
        "birth": np.r_[p["birth"], o.birth],
        "first": np.r_[p["first"], o.first],
        "second": np.r_[p["second"], o.second],
        "titled": np.r_[(p["u_title"] < 0.012) & (hh_rel <= 2), np.zeros(len(o.nik), bool)],
    }
    con.register("people_src", pa.table(frames))
    for key in ("male", "female", "second"):
        con.register(f"pool_{key}", pa.table({"i": np.arange(len(pools[key])), "w": pools[key]}))
    titles = [", S.Pd.", ", S.E.", ", S.H.", ", A.Md."]
    con.execute(
        create_table_sql("people", "synth/synth_people"),
        {
            "titles": titles,
            "male_count": len(pools["male"]),
            "female_count": len(pools["female"]),
            "second_count": len(pools["second"]),
        },
    )
    for name in ("people_src", "pool_male", "pool_female", "pool_second"):
        con.unregister(name)


def _streets_table(con: duckdb.DuckDBPyConnection, rng: np.random.Generator) -> int:
    streets = street_pool(rng)
    con.register("streets_src", pa.table({"i": np.arange(len(streets)), "street": streets}))
    con.execute("create or replace table streets as select * from streets_src")
    con.unregister("streets_src")
    return len(streets)


def _areas_table(con: duckdb.DuckDBPyConnection, areas: pd.DataFrame) -> None:
    frame = areas[["code", "code_plain", "name", "alias", "name_ok", "is_desa"]].copy()
    frame.insert(0, "idx", np.arange(len(frame)))
    con.register("areas_src", pa.Table.from_pandas(frame, preserve_index=False))
    con.execute("create or replace table areas as select * from areas_src")
    con.unregister("areas_src")


# --------------------------------------------------------------------------------------------
# Styles


def _headers(world: World, kind: str, columns: list[str]) -> dict[str, str]:
    """Header text per column: the next alias of its list, in the file's spelling."""
    spelling = world.rot.pick("spelling", SPELLINGS)
    headers = {}
    for column in columns:
        names = (column, *COLUMNS[kind][column]) if column in COLUMNS[kind] else (column,)
        alias = world.rot.pick(("alias", names), names)
        headers[column] = header_spelling(alias, spelling)
    return headers


def _csv_format(world: World) -> CsvFormat:
    rot = world.rot
    return CsvFormat(
        delimiter=rot.pick("delimiter", (";", ",", "\t")),
        encoding=rot.pick("encoding", ("utf-8", "utf-8-sig", "cp1252")),
        newline=rot.pick("newline", ("\n", "\r\n")),
        quote_all=rot.pick("quote", (False, True, False)),
    )


def _style(world: World, kind: str, columns: list[str], fmt: str, **extra) -> Style:
    rot = world.rot
    number_options = (
        ("plain", "dot", "dot_dec", "comma_dec")
        if kind == "households"
        else (("cell", "rp_space", "cell", "dot") if fmt == "xlsx" else NUMBER_STYLES)
    )
    # Spreadsheets mostly hold date cells or serial numbers, sometimes typed-in text.
    date_options = (*XLSX_DATE_STYLES, "dmy_slash", "long_id") if fmt == "xlsx" else DATE_STYLES
    group = "registry" if kind in ("households", "members") else kind
    style = Style(
        columns=columns,
        headers=_headers(world, kind, columns),
        csv=_csv_format(world),
        number=rot.pick(("number", kind, fmt), number_options),
        date=rot.pick(("date", group, fmt), date_options),
        nik=rot.pick(("nik", group), NIK_STYLES),
        code=rot.pick(("code", kind), ("plain", "pad", "mixed")),
        sex=rot.pick(("sex", kind), ("digits", "letters", "words", "mixed")),
        case=rot.pick(("case", group), ("upper", "title", "lower", "upper")),
        success=rot.pick(("success", kind), ("SUKSES", "BERHASIL", "TERSALUR", "mixed")),
        in_kind_zero=rot.pick(("in_kind", kind), (False, True)),
    )
    for key, value in extra.items():
        setattr(style, key, value)
    return style


def _variants(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Per-row random variant numbers used by the formatters (mixed styles)."""
    return {f"v{k}": rng.integers(0, 10_000, n).astype(np.int16) for k in (1, 2, 3)}


# --------------------------------------------------------------------------------------------
# Registry snapshots


def _jkn(world: World, pids: np.ndarray) -> np.ndarray:
    """Health-insurance code per person: PBI-JK members mostly 1, uninsured households 0."""
    p = world.pop.persons
    hid = p["hid"][pids]
    u = p["u_jkn"][pids]
    pbi = world.programs.pbi_hh[hid]
    uninsured = world.pop.hh["uninsured"][hid] & ~pbi
    code = np.where(u < 0.94, 2, np.where(u < 0.99, 3, 0))
    code = np.where(uninsured, np.where(u < 0.85, 0, 2), code)
    code = np.where(pbi, np.where(u < 0.95, 1, np.where(u < 0.98, 2, 0)), code)
    return code.astype(np.int8)


def snapshot_jobs(world: World, s: int, n_streets: int) -> tuple[Job, Job]:
    """The household and member files of snapshot ``s``."""
    pop, rng = world.pop, world.rng
    hh = pop.hh
    month = pop.snapshots[s]
    end = month_end(month)
    hids = present_households(pop, s)
    pids = present_persons(pop, s)
    size = np.bincount(pop.persons["hid"][pids], minlength=len(hh["appear"]))
    kel = np.where(hh["move"][hids] <= s, hh["kel1"][hids], hh["kel0"][hids])
    order = np.lexsort((hids, kel))
    hids, kel = hids[order], kel[order]

    columns = list(COLUMNS["households"])
    if world.rot.pick("extra_households", (False, True)):
        columns.append("SUMBER_DATA")
    style_h = _style(world, "households", columns, "csv")
    exp = np.round(hh["expenditure"][hids, s])
    luas = hh["luas"][hids].copy()
    if style_h.number in ("dot_dec", "comma_dec"):
        exp = exp + np.where(rng.random(len(hids)) < 0.25, 0.5, 0.0)
    else:
        luas = np.round(luas)
    moved = hh["move"][hids] <= s
    enum_date = np.where(
        moved, np.maximum(hh["enum_date"][hids], hh["move_date"][hids]), hh["enum_date"][hids]
    )
    frame_h = {
        "hid": hids.astype(np.int32),
        "kk": hh["kk"][hids],
        "kel": kel.astype(np.int32),
        "street_i": ((hh["street"][hids] + moved * 7919) % n_streets).astype(np.int32),
        "house_no": hh["house_no"][hids].astype(np.int16),
        "addr_kind": hh["addr_kind"][hids].astype(np.int16),
        "rt": hh["rt"][hids].astype(np.int16),
        "rw": hh["rw"][hids].astype(np.int16),
        # The declared size is sometimes stale by one (indicators count the member rows).
        "size": np.maximum(
            size[hids] + np.where(rng.random(len(hids)) < 0.02, rng.choice([-1, 1], len(hids)), 0),
            1,
        ).astype(np.int16),
        "exp": exp,
        "desil": hh["desil"][hids, s].astype(np.int8),
        "luas": luas,
        **{
            k: hh[f"house_{k}"][hids].astype(np.int8)
            for k in ("lantai", "dinding", "air", "penerangan", "bbm", "bab")
        },
        "enum_date": enum_date.astype("datetime64[D]"),
        **_variants(rng, len(hids)),
    }
    households = Job(
        name=f"dtsen_keluarga_{world.digits}_{yyyymm(month)}.csv",
        kind="households",
        fmt="csv",
        frame=frame_h,
        style=style_h,
        period_end=end,
        snapshot=s,
    )

    attrs = person_attributes(pop, s, pids)
    style_m = _style(world, "members", list(COLUMNS["members"]), "csv")
    frame_m = {
        "pid": pids.astype(np.int32),
        "hid": pop.persons["hid"][pids].astype(np.int32),
        "rel": pop.persons["rel"][pids].astype(np.int8),
        "birth": pop.persons["birth"][pids].astype("datetime64[D]"),
        "edu": attrs["edu"].astype(np.int8),
        "school": attrs["school"].astype(np.int8),
        "jkn": _jkn(world, pids).astype(np.int8),
        "disab": attrs["disab"].astype(np.int8),
        "work": attrs["work"].astype(np.int8),
        **_variants(rng, len(pids)),
    }
    members = Job(
        name=f"dtsen_anggota_{world.digits}_{yyyymm(month)}.csv",
        kind="members",
        fmt="csv",
        frame=frame_m,
        style=style_m,
        period_end=end,
        snapshot=s,
    )
    return households, members


# --------------------------------------------------------------------------------------------
# Program files


def _disbursement_columns(world: World, batch: Batch) -> tuple[list[str], str]:
    rot = world.rot
    cols = ["NIK"]
    if rot.pick("with_kk", (True, True, True, False)):
        cols.append("NO_KK")
    cols.append("NAMA")
    if rot.pick("with_program", (True, False)):
        cols.append("PROGRAM")
    if batch.stage and rot.pick("with_stage", (True, False)):
        cols.append("TAHAP")
    cols += ["TANGGAL_SALUR", "NOMINAL", "STATUS"]
    kel_options = ("both", "none", "name", "code")
    kelurahan = rot.pick("kelurahan", kel_options)
    if kelurahan == "name" and not world.areas["name_ok"].all():
        kelurahan = "both"  # names alone are ambiguous in a province
    if kelurahan in ("both", "code"):
        cols.append("KODE_KELURAHAN")
    if kelurahan in ("both", "name"):
        cols.append("NAMA_KELURAHAN")
    if rot.pick("with_account", (False, True, False)):
        cols.append("NO_REKENING")
    if rot.pick("with_bank", (False, False, True)):
        cols.append("BANK")
    if rot.pick("shuffle", (False, False, True)):
        cols = [cols[i] for i in world.rng.permutation(len(cols))]
    return cols, kelurahan


def disbursement_job(world: World, batch: Batch) -> Job:
    """A ``salur_`` file from a payment batch."""
    n = len(batch.frame["pid"])
    cols, kelurahan = _disbursement_columns(world, batch)
    wants_xlsx = not batch.retry and (
        (batch.channel == "pos" and batch.program in ("PKH", "BLT"))
        or (batch.program == "PIP" and batch.channel == "bni" and batch.stage == 2)
    )
    fmt = "xlsx" if wants_xlsx and n * len(cols) <= XLSX_CELL_BUDGET else "csv"
    style = _style(world, "disbursements", cols, fmt, kelurahan=kelurahan)
    stage = f"_tahap{batch.stage}" if batch.stage and batch.label != "bpnt" else ""
    name = f"salur_{batch.label}_{batch.channel}_{yyyymm(batch.month)}{stage}.{fmt}"
    frame = {
        "pid": batch.frame["pid"].astype(np.int32),
        "kk": batch.frame["kk"],
        "kel": batch.frame["kel"].astype(np.int32),
        "amount": batch.frame["amount"].astype(np.float64),
        "status": batch.frame["status"].astype(np.int8),
        "date": batch.frame["date"].astype("datetime64[D]"),
        "stage": np.full(n, batch.stage or 0, dtype=np.int64),
        "label": np.full(n, int(world.rng.integers(0, 3)), dtype=np.int64),
        **_variants(world.rng, n),
    }
    return Job(
        name=name,
        kind="disbursements",
        fmt=fmt,
        frame=frame,
        style=style,
        period_end=month_end(batch.month),
        program=batch.program,
    )


def pbi_job(world: World, batch: Batch, first: bool) -> Job:
    """A ``pbi_jk_`` membership file."""
    n = len(batch.frame["pid"])
    cols = ["NIK", "NO_KARTU", "NAMA", "SEGMEN", "STATUS"]
    if world.rot.pick("with_class", (False, True)):
        cols.append("KELAS")
    fmt = "xlsx" if first and n * len(cols) <= XLSX_CELL_BUDGET else "csv"
    style = _style(world, "pbi", cols, fmt)
    frame = {
        "pid": batch.frame["pid"].astype(np.int32),
        "apbd": batch.frame["apbd"].astype(np.int8),
        "active": batch.frame["active"].astype(np.int8),
        **_variants(world.rng, n),
    }
    return Job(
        name=f"pbi_jk_{yyyymm(batch.month)}.{fmt}",
        kind="pbi",
        fmt=fmt,
        frame=frame,
        style=style,
        period_end=month_end(batch.month),
        program="PBI_JK",
    )


def local_job(world: World, batch: Batch, plain: bool, n_streets: int) -> Job:
    """A ``bantuan_`` list: a decorated government spreadsheet (or CSV)."""
    n = len(batch.frame["pid"])
    year = int(batch.month.astype("datetime64[Y]").astype(np.int64)) + 1970
    cash = bool(world.catalog.set_index("code").loc[batch.program, "cash"])
    cols = [] if plain else ["NO"]
    cols += ["NIK", "NAMA", "ALAMAT", "KELURAHAN"]
    if world.rot.pick("with_jenis", (True, True, False)):
        cols.append("JENIS_BANTUAN")
    cols += ["NILAI", "TANGGAL", "SUMBER_DANA"]
    if world.rot.pick("with_note", (False, True)):
        cols.append("KETERANGAN")
    fmt = "csv" if plain or batch.suffix == "csr" else "xlsx"
    style = _style(world, "local", cols, fmt)
    amount = batch.frame["amount"].astype(np.float64)
    label = (
        np.where(amount >= 3_000_000, 1, 0)
        if batch.program == "ZAKAT"
        else world.rng.integers(0, 3, n)
    )
    frame = {
        "pid": batch.frame["pid"],
        "hid": batch.frame["hid"],
        "kel": batch.frame["kel"],
        "street_i": batch.frame["street"] % n_streets,
        "house_no": batch.frame["house_no"],
        "addr_kind": batch.frame["addr_kind"],
        "rt": batch.frame["rt"],
        "rw": batch.frame["rw"],
        "amount": amount,
        "date": batch.frame["date"].astype("datetime64[D]"),
        "label": label.astype(np.int64),
        **_variants(world.rng, n),
    }
    suffix = f"_{batch.suffix}" if batch.suffix else ""
    job = Job(
        name=f"bantuan_{batch.label}_{year}{suffix}.{fmt}",
        kind="local",
        fmt=fmt,
        frame=frame,
        style=style,
        period_end=np.datetime64(f"{year}-12-31"),
        program=batch.program,
        funding=batch.funding,
        cash=cash,
    )
    if not plain:
        office = OFFICES["CSR" if batch.funding == "CSR" else batch.program]
        title = TITLES[batch.program] + (" (CSR)" if batch.funding == "CSR" else "")
        if batch.funding == "DAK":
            title += " (DAK)"
        officials = official_names()
        job.layout = SheetLayout(
            title_lines=[title, f"TAHUN ANGGARAN {year}", f"{office} {world.region_name}"],
            blank_after_title=True,
            total_label=world.rot.pick("total_label", ("JUMLAH", "TOTAL")),
            total_column=cols.index("NILAI"),
            signature_lines=[
                f"{world.region_name.title().replace('Kota ', '').replace('Provinsi ', '')}, "
                f"30 Desember {year}",
                "KEPALA" if batch.program != "ZAKAT" else "KETUA",
                "",
                "",
                officials[int(world.rng.integers(0, len(officials)))],
                "NIP. 19700101 199503 1 002" if batch.program != "ZAKAT" else "BAZNAS",
            ],
            # right-hand side, never under a required column (a line holding a value there
            # after the total line is a data row)
            signature_column=max(i for i, c in enumerate(cols) if c not in ("NIK", "TANGGAL")),
            second_sheet=[["REKAPITULASI"], ["Jumlah penerima", str(n)]],
        )
    return job


def _set_totals(job: Job, con: duckdb.DuckDBPyConnection) -> None:
    """Total line of a decorated list: the sum of NILAI over the (final) rows."""
    if job.layout is None:
        return
    total = float(np.nansum(job.frame["amount"]))
    job.layout.total_value = total
    style = job.style.number if job.style.number != "cell" else "plain"
    job.layout.total_text = con.sql(f"select {number_sql(str(total), style)}").fetchall()[0][0]
    job.skipped_lines = job.layout.skipped_lines()


# --------------------------------------------------------------------------------------------
# Defects


def plan_defects(jobs: list[Job], rate: float, ctx: dfx.DefectContext) -> None:
    """Every form at least once (where a file can hold it), then ``rate`` of each file's rows."""
    if rate <= 0:
        return
    rng = ctx.rng
    planned: dict[int, list[dfx.Form]] = defaultdict(list)
    by_kind: dict[str, list[int]] = defaultdict(list)
    for i, job in enumerate(jobs):
        by_kind[job.kind].append(i)
    for kind, forms in dfx.FORMS.items():
        candidates = by_kind.get(kind, [])
        for k, form in enumerate(forms):
            fitting = [i for i in candidates if dfx.applicable(jobs[i], form)]
            if fitting:
                planned[fitting[k % len(fitting)]].append(form)
    for i, job in enumerate(jobs):
        forms = [f for f in dfx.FORMS[job.kind] if dfx.applicable(job, f)]
        extra = int(round(rate * job.n_rows)) - len(planned[i])
        if extra > 0 and forms:
            picks = rng.integers(0, len(forms), extra)
            planned[i] += [forms[p] for p in picks]
    for i, job in enumerate(jobs):
        counts: dict[dfx.Form, int] = defaultdict(int)
        for form in planned[i]:
            counts[form] += 1
        if job.kind == "members":
            dfx.log_member_consequences(job, ctx.quarantined_hids.get(job.snapshot, np.zeros(0)))
        for form, count in counts.items():
            dfx.inject(job, form, count, ctx)
        if job.kind == "households":
            ctx.quarantined_hids[job.snapshot] = dfx.quarantined_households(job)


# --------------------------------------------------------------------------------------------
# File-level junk


def junk_files(world: World, out_dir: Path, rendered: list[Job]) -> list[dict]:
    """Files the pipeline must quarantine whole; returns their log rows and file rows."""
    last = yyyymm(world.months[-1])
    entries = []
    xlsx = next((j for j in rendered if j.fmt == "xlsx" and j.kind == "local"), None)
    if xlsx is not None:
        data = (out_dir / xlsx.name).read_bytes()
        name = xlsx.name.replace(".xlsx", "_revisi.xlsx")
        (out_dir / name).write_bytes(data[: len(data) * 11 // 20])
        entries.append((name, "local", "file_unreadable", "truncated_xlsx", xlsx.rows_written))
    unknown = f"rekap_penerima_bansos_{last}.csv"
    (out_dir / unknown).write_text(
        "KODE;URAIAN;JUMLAH_KPM\r\n1;PKH;0\r\n2;BPNT;0\r\n3;PBI-JK;0\r\n", encoding="utf-8"
    )
    entries.append((unknown, "", "file_kind_unknown", "unknown_prefix", 3))
    no_header = f"pbi_jk_{last}_keterangan.csv"
    (out_dir / no_header).write_text(
        "LAPORAN KEPESERTAAN PBI-JK\nData bulan ini belum tersedia.\n"
        "Mohon hubungi kantor cabang untuk data susulan.\n",
        encoding="utf-8",
    )
    entries.append((no_header, "pbi", "header_missing", "no_header", 0))
    missing = f"salur_blt_pos_{last}_tambahan.csv"
    lines = ["NIK;NAMA;PROGRAM;STATUS"]
    niks = world.outsiders.nik[world.outsiders.take(3) - world.outsiders.first_pid]
    lines += [f"{nik};PENERIMA {k + 1};BLT;SUKSES" for k, nik in enumerate(niks)]
    (out_dir / missing).write_text("\n".join(lines) + "\n", encoding="utf-8")
    entries.append((missing, "disbursements", "column_missing", "no_amount_no_date", 3))
    small = min(
        (j for j in rendered if j.fmt == "csv" and j.kind == "disbursements"),
        key=lambda j: j.rows_written,
        default=None,
    )
    if small is not None:
        stem, ext = small.name.rsplit(".", 1)
        copy = f"{stem}_kirim_ulang.{ext}"
        (out_dir / copy).write_bytes((out_dir / small.name).read_bytes())
        entries.append(
            (
                copy,
                "disbursements",
                "file_duplicate",
                "byte_identical_copy",
                small.rows_written,
            )
        )
    return [
        {
            "file_name": name,
            "row_number": "",
            "kind": kind,
            "column": "",
            "defect": defect,
            "expected_outcome": "file_quarantined",
            "expected_reasons": reason,
            "value": "",
            "data_rows": rows,
        }
        for name, kind, reason, defect, rows in entries
    ]


# --------------------------------------------------------------------------------------------
# The run


def generate(
    out_dir: Path,
    side_dir: Path,
    households: int,
    months: str,
    seed: int,
    region: str,
    messiness: float,
) -> str:
    """Generate the raw extracts into ``out_dir`` and the defect log into ``side_dir``."""
    started = time.perf_counter()
    if households < 10:
        raise ValueError("households must be at least 10")
    if not 0 <= messiness < 0.5:
        raise ValueError("messiness is a share of rows between 0 and 0.5")
    out_dir, side_dir = Path(out_dir), Path(side_dir)
    if out_dir.resolve() == side_dir.resolve():
        raise ValueError("the side folder must not be the raw folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    side_dir.mkdir(parents=True, exist_ok=True)
    month_list = parse_months(months)
    rng = np.random.default_rng(seed)
    con = _connect()
    area_frame = _areas(con, region)
    if area_frame.empty:
        raise ValueError(f"region {region!r} has no kelurahan/desa")
    line = _poverty_line(con, month_list[0])
    region_name = con.execute(
        "select upper(name) from ref_area where code = ?", [region]
    ).fetchall()[0][0]
    if region_name.startswith("JAWA") or "." not in region:
        region_name = f"PROVINSI {region_name}"

    area_frame["kab"] = area_frame["kab"].astype(str)
    areas = build_areas(rng, area_frame)
    snaps = snapshot_months(month_list)
    pop = build_population(
        rng, areas, households, snaps, line, TARGET_P0.get(region, DEFAULT_TARGET_P0)
    )
    n_persons = len(pop.persons["hid"])
    outsiders = build_outsiders(
        rng, areas, max(500, int((0.1 + 2 * messiness) * len(pop.hh["appear"]))), n_persons,
        snaps[0],
    )
    programs = Programs(ProgramContext(pop, outsiders, rng), month_list)
    world = World(
        region=region,
        digits=region.replace(".", ""),
        months=month_list,
        pop=pop,
        outsiders=outsiders,
        programs=programs,
        areas=areas.frame,
        rng=rng,
        rot=Rotator(rng),
        catalog=reference.load_programs(),
        region_name=region_name,
    )

    _areas_table(con, areas.frame)
    n_streets = _streets_table(con, rng)
    _people_table(con, world)

    jobs: list[Job] = []
    for s in range(len(snaps)):
        jobs += snapshot_jobs(world, s, n_streets)
    batches = programs.pkh() + programs.bpnt() + [*programs.blt()] + programs.pip()
    batches.sort(key=lambda b: (str(b.month), b.label, b.channel or "", b.retry))
    jobs += [disbursement_job(world, b) for b in batches]
    jobs += [pbi_job(world, b, k == 0) for k, b in enumerate(programs.pbi())]
    ok_area = areas.frame["name_ok"].to_numpy()
    local = programs.local(ok_area)
    years = sorted({b.month for b in local})
    jobs += [
        local_job(
            world,
            b,
            plain=(b.program == "ZAKAT" and len(years) > 1 and b.month == years[0]),
            n_streets=n_streets,
        )
        for b in local
    ]

    nik_all = np.r_[pop.persons["nik"], outsiders.nik]
    unknown_names = ("Kel. Antahberantah", "ZZ Tidak Dikenal", "Desa Xyzwv")
    unknown_programs = ("BANSOS LAINNYA", "Bantuan Kota Sejahtera")
    area_matches, program_matches = con.execute(
        read_sql("synth/synth_resolving_names"),
        {"area_names": list(unknown_names), "program_names": list(unknown_programs)},
    ).fetchall()[0]
    if area_matches:
        raise RuntimeError("an 'unknown' kelurahan name resolves")
    if program_matches:
        raise RuntimeError("an 'unknown' program name resolves")
    ctx = dfx.DefectContext(
        rng=rng,
        nik_of=lambda pids: nik_all[pids],
        outsiders=outsiders,
        fake_hid_base=len(pop.hh["appear"]) + 1000,
        unknown_code=f"{areas.frame['code'].iloc[0][:5]}.99.9999",
        unknown_names=unknown_names,
        unknown_programs=unknown_programs,
    )
    plan_defects(jobs, messiness, ctx)

    render_ctx = _render_context(con, out_dir, world, nik_all)
    log: dict[str, list] = {c: [] for c in DEFECT_COLUMNS}
    file_rows = []
    for job in jobs:
        _set_totals(job, con)  # decorated lists never get inserted rows
        values = render(job, render_ctx)
        for entry in job.log:
            row_number = int(job.row_numbers[entry["index"]])
            value = values.get((row_number, entry["column"]), "")
            if "source" in entry and entry["defect"] != "household_unknown":
                value = f"row {int(job.row_numbers[entry['source']])} repeated"
            for column, item in zip(
                DEFECT_COLUMNS,
                (
                    job.name,
                    row_number,
                    job.kind,
                    entry["column"],
                    entry["defect"],
                    entry["outcome"],
                    entry["reasons"],
                    value,
                ),
                strict=True,
            ):
                log[column].append(item)
        file_rows.append(_file_row(job))
        job.frame = {}  # free the rows: only the bookkeeping is needed from here on
    if messiness > 0:
        for entry in junk_files(world, out_dir, jobs):
            rows = entry.pop("data_rows")
            for column in DEFECT_COLUMNS:
                log[column].append(entry[column])
            file_rows.append(
                {
                    "file_name": entry["file_name"],
                    "kind": entry["kind"],
                    "data_rows": rows,
                    "skipped_lines": 0,
                    "format": entry["file_name"].rsplit(".", 1)[1],
                    "encoding": "",
                    "delimiter": "",
                    "line_ending": "",
                    "program": "",
                    "period": "",
                    "ignored_sheets": "",
                }
            )
    _write_defects(side_dir / "defects.csv", log)
    file_rows.sort(key=lambda r: r["file_name"])
    _write_side(side_dir / "files.csv", FILE_COLUMNS, file_rows)
    con.close()

    total_bytes = sum((out_dir / r["file_name"]).stat().st_size for r in file_rows)
    written = {r["file_name"] for r in file_rows}
    others = [p.name for p in out_dir.iterdir() if p.name not in written and p.name != ".gitkeep"]
    note = f" {len(others)} other files already in {out_dir} were left alone." if others else ""
    present0 = present_persons(pop, 0)
    return (
        f"Wrote {len(file_rows)} files ({total_bytes / 1e6:,.1f} MB) to {out_dir}: "
        f"{len(snaps)} registry snapshot{'s' if len(snaps) > 1 else ''} of ~{households:,} "
        "households "
        f"({len(present0):,} persons at {str(snaps[0])}), region {region}, months {months}, "
        f"seed {seed}; {len(log['file_name']):,} injected defects logged in "
        f"{side_dir / 'defects.csv'} "
        f"({time.perf_counter() - started:,.1f} s).{note}"
    )


def _render_context(
    con: duckdb.DuckDBPyConnection, out_dir: Path, world: World, nik_all: np.ndarray
) -> RenderContext:
    """Lookup arrays (by person id, area index, street index) gathered per file in Arrow."""
    people = con.sql("select sex, name from people order by pid").to_arrow_table()
    areas = con.sql(
        "select code, code_plain, name, alias, name_ok, is_desa from areas order by idx"
    ).to_arrow_table()
    streets = con.sql("select street from streets order by i").to_arrow_table()
    return RenderContext(
        con=con,
        out_dir=out_dir,
        id_prefix=world.digits,
        office_region=world.region_name,
        city=world.region_name,
        people_nik=nik_all,
        people_sex=people.column("sex").to_numpy(),
        people_name=people.column("name").combine_chunks(),
        areas={name: areas.column(name).combine_chunks() for name in areas.column_names},
        streets=streets.column("street").combine_chunks(),
    )


def _file_row(job: Job) -> dict:
    fmt = job.style.csv
    n = job.rows_written
    return {
        "file_name": job.name,
        "kind": job.kind,
        "data_rows": n,
        "skipped_lines": job.skipped_lines,
        "format": job.fmt,
        "encoding": fmt.encoding if job.fmt == "csv" else "",
        "delimiter": {";": "semicolon", ",": "comma", "\t": "tab"}[fmt.delimiter]
        if job.fmt == "csv"
        else "",
        "line_ending": ("crlf" if fmt.newline == "\r\n" else "lf") if job.fmt == "csv" else "",
        "program": job.program or "",
        "period": str(job.period_end),
        "ignored_sheets": _ignored_sheets(job),
    }


def _ignored_sheets(job: Job) -> str:
    """``<sheet>:<non-empty rows>`` of the sheets after the first that the reader notes as
    ``sheet_ignored`` (the decorated lists' ``Rekap`` sheet), ``|``-joined; empty for a CSV."""
    layout = job.layout
    if job.fmt != "xlsx" or layout is None or not layout.second_sheet:
        return ""
    filled = sum(1 for row in layout.second_sheet if any(value for value in row))
    return f"Rekap:{filled}" if filled else ""


def _write_defects(path: Path, log: dict[str, list]) -> None:
    """``defects.csv`` sorted by file, row and column (written by Arrow: it can be large)."""
    rows = [r if r != "" else None for r in log["row_number"]]
    table = pa.table(
        {
            **{c: pa.array([str(v) for v in log[c]], pa.string()) for c in DEFECT_COLUMNS},
            "row_number": pa.array(rows, pa.int64()),
        }
    ).select(list(DEFECT_COLUMNS))
    table = table.sort_by(
        [("file_name", "ascending"), ("row_number", "ascending"), ("column", "ascending")]
    )
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))


def _write_side(path: Path, columns: tuple[str, ...], rows: list[dict]) -> None:
    """A side CSV (UTF-8, comma)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file (used by tests and the benchmark)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
