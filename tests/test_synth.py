"""Tests of ``tkpk synth``: determinism, contract conformance, realism and the defect log.

The files are read back with a small, strict reader written here from the contract
(``docs/contract/raw-extracts.md``), independent of the generator and of the ingest code: every
clean cell must parse in one of the documented formats, every logged defect must be in its file
at its row, and a defective row must fail exactly the checks its logged reasons name.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pytest
from python_calamine import CalamineWorkbook

from tkpk import reference
from tkpk.ingest.schema import (
    CODE_LISTS,
    COLUMNS,
    FAILED_STATUSES,
    FILE_REASONS,
    FUNDING_SOURCES,
    REQUIRED,
    ROW_REASONS,
    SUCCESS_STATUSES,
    alias_map,
    header_key,
    kind_of,
)
from tkpk.synth import generate

MONTHS = "2025-11:2026-10"
POVERTY_LINE = Decimal("570870")
EXTRA_COLUMNS = {
    "households": {"SUMBER_DATA"},
    "members": set(),
    "disbursements": {"NO_REKENING", "BANK"},
    "pbi": {"KELAS"},
    "local": {"NO", "KETERANGAN"},
}
MONTH_NAMES = {
    **{
        m.lower(): i + 1
        for i, m in enumerate(
            (
                "Januari",
                "Februari",
                "Maret",
                "April",
                "Mei",
                "Juni",
                "Juli",
                "Agustus",
                "September",
                "Oktober",
                "November",
                "Desember",
            )
        )
    },
    **{
        m.lower(): i + 1
        for i, m in enumerate(
            ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")
        )
    },
    "agt": 8,
}
SEX_VALUES = {"1": 1, "L": 1, "LAKI-LAKI": 1, "2": 2, "P": 2, "PEREMPUAN": 2}
EPOCH = dt.date(1899, 12, 30)


# --------------------------------------------------------------------------------------------
# A strict reader written from the contract


@dataclass
class RawFile:
    """One raw file as read back: canonical row dicts plus what the bytes looked like."""

    name: str
    kind: str | None
    headers: list[str] = field(default_factory=list)
    canonical: list[str] = field(default_factory=list)
    rows: list[list] = field(default_factory=list)
    skipped: int = 0
    encoding: str = ""
    delimiter: str = ""
    crlf: bool = False
    raw: bytes = b""

    def record(self, i: int) -> dict:
        """Row ``i`` (0-based) as canonical column -> cell."""
        return dict(zip(self.canonical, self.rows[i], strict=True))


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252"), "cp1252"


def _find_header(rows: list[list], kind: str) -> int | None:
    aliases = alias_map(kind)
    for i, row in enumerate(rows[:20]):
        if sum(1 for c in row if isinstance(c, str) and header_key(c) in aliases) >= 2:
            return i
    return None


def _split(rows: list[list], header: int) -> tuple[list[list], int]:
    """Data rows after the header, up to a JUMLAH/TOTAL line; and the number of skipped lines."""
    data = []
    for row in rows[header + 1 :]:
        first = next((str(c).strip() for c in row if str(c).strip()), "")
        if first.upper() in ("JUMLAH", "TOTAL"):
            break
        data.append(row)
    return data, len(rows) - header - 1 - len(data)


def read_raw(path: Path) -> RawFile:
    """Read a raw file the way the contract describes (CSV or the first XLSX sheet)."""
    kind = kind_of(path.name)
    out = RawFile(name=path.name, kind=kind, raw=path.read_bytes())
    if kind is None:
        return out
    if path.suffix.lower() == ".xlsx":
        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    else:
        text, out.encoding = _decode(out.raw)
        out.crlf = "\r\n" in text
        best = None
        for delimiter in (";", ",", "\t"):
            parsed = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
            header = _find_header(parsed, kind)
            score = -1 if header is None else len(parsed[header])
            if best is None or score > best[0]:
                best = (score, delimiter, parsed)
        _, out.delimiter, rows = best
    header = _find_header(rows, kind)
    if header is None:
        return out
    out.headers = [str(c) for c in rows[header]]
    aliases = alias_map(kind)
    out.canonical = [aliases.get(header_key(h), header_key(h)) for h in out.headers]
    out.rows, out.skipped = _split(rows, header)
    out.skipped += header
    return out


# --------------------------------------------------------------------------------------------
# Strict value parsers (the contract's formats, nothing else)


def parse_number(cell) -> Decimal:
    """Rupiah or area in a documented format; raises ValueError otherwise."""
    if isinstance(cell, bool):
        raise ValueError(cell)
    if isinstance(cell, int | float):
        return Decimal(str(cell))
    s = str(cell).strip()
    negative = s.startswith("-")
    s = s.lstrip("-")
    if s.startswith("Rp"):
        s = s[2:].lstrip(" ")
        s = s[:-2] if s.endswith(",-") else s
    m = re.fullmatch(r"(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d+))?", s)
    if not m:
        raise ValueError(cell)
    try:
        value = Decimal(m.group(1).replace(".", "") + ("." + m.group(2) if m.group(2) else ""))
    except InvalidOperation as error:
        raise ValueError(cell) from error
    return -value if negative else value


def parse_date(cell) -> dt.date:
    """A documented date; raises ValueError otherwise (31/02 included)."""
    if isinstance(cell, dt.datetime):
        return cell.date()
    if isinstance(cell, dt.date):
        return cell
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        return EPOCH + dt.timedelta(days=int(cell))
    s = str(cell).strip()
    if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", s):
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    if m := re.fullmatch(r"(\d{2})[/-](\d{2})[/-](\d{4})", s):
        return dt.date(int(m[3]), int(m[2]), int(m[1]))
    if m := re.fullmatch(r"(\d{1,2}) ([A-Za-z]+) (\d{4})", s):
        return dt.date(int(m[3]), MONTH_NAMES[m[2].lower()], int(m[1]))
    raise ValueError(cell)


def nik_problem(cell) -> str | None:
    """The contract's reason for a NIK cell, or None when it is a valid NIK."""
    if isinstance(cell, int | float):
        return "nik_precision_lost"
    s = str(cell).strip()
    if re.fullmatch(r"\d(\.\d+)?E\+\d+", s, re.IGNORECASE):
        return "nik_precision_lost"
    digits = re.sub(r"[\s.']", "", s)
    if not re.fullmatch(r"\d{16}", digits):
        return "nik_invalid"
    day, month = int(digits[6:8]), int(digits[8:10])
    if not 11 <= int(digits[:2]) <= 96 or not 1 <= month <= 12:
        return "nik_invalid"
    if not (1 <= day <= 31 or 41 <= day <= 71):
        return "nik_invalid"
    return None


def nik_digits(cell) -> str:
    return re.sub(r"[\s.']", "", str(cell))


def area_key(text: str) -> str:
    """Python twin of the ``area_key`` SQL macro."""
    s = re.sub(r"^(KELURAHAN|KEL\.?|DESA|DS\.?)\s*", "", text.strip().upper())
    return re.sub(r"[^A-Z0-9]", "", s)


def program_key(text: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", text.strip().upper())


@dataclass
class Reference:
    """Resolution tables of the reference data (Kota Pekalongan)."""

    codes: set[str]
    names: dict[str, str]
    programs: dict[str, str]
    cash: dict[str, bool]
    target: dict[str, int]

    def kelurahan(self, code, name) -> str | None:
        code = str(code or "").strip()
        dotted = (
            code
            if "." in code
            else (f"{code[:2]}.{code[2:4]}.{code[4:6]}.{code[6:]}" if len(code) == 10 else code)
        )
        if dotted in self.codes:
            return dotted
        return self.names.get(area_key(str(name or ""))) if str(name or "").strip() else None


@pytest.fixture(scope="module")
def ref() -> Reference:
    areas = reference.load_areas("33.75")
    leaves = areas[areas["level"] == "kelurahan"]
    keys: dict[str, set[str]] = defaultdict(set)
    for row in leaves.itertuples():
        for name in [row.name, *[a for a in row.aliases.split("|") if a]]:
            keys[area_key(name)].add(row.code)
    programs = reference.load_programs()
    pkeys: dict[str, set[str]] = defaultdict(set)
    for row in programs.itertuples():
        for name in [row.code, row.name, *[a for a in row.aliases.split("|") if a]]:
            pkeys[program_key(name)].add(row.code)
    return Reference(
        codes=set(leaves["code"]),
        names={k: next(iter(v)) for k, v in keys.items() if len(v) == 1},
        programs={k: next(iter(v)) for k, v in pkeys.items() if len(v) == 1},
        cash=dict(zip(programs["code"], programs["cash"], strict=True)),
        target=dict(zip(programs["code"], programs["target_desil_max"], strict=True)),
    )


def period_end(name: str) -> dt.date:
    """Last day of the file's period (YYYYMM, or YYYY for yearly lists)."""
    if m := re.search(r"_(\d{4})(\d{2})(?:[_.])", name):
        year, month = int(m[1]), int(m[2])
        nxt = dt.date(year + month // 12, month % 12 + 1, 1)
        return nxt - dt.timedelta(days=1)
    year = int(re.search(r"_(\d{4})(?:[_.])", name)[1])
    return dt.date(year, 12, 31)


def file_program(name: str, ref: Reference) -> str | None:
    kind = kind_of(name)
    if kind == "pbi":
        return "PBI_JK"
    if kind == "disbursements":
        return ref.programs.get(program_key(name.split("_")[1]))
    if kind == "local":
        stem = re.match(r"bantuan_(.+?)_\d{4}", name)[1]
        return ref.programs.get(program_key(stem))
    return None


def row_problems(f: RawFile, record: dict, ref: Reference) -> set[str]:
    """Contract reasons a row deserves from its own cells (household links aside)."""
    problems: set[str] = set()
    end = period_end(f.name)
    program = file_program(f.name, ref)

    def check(column, ok, reason):
        if column in record and not ok(record[column]):
            problems.add(reason)

    def safe(fn):
        def wrapped(value):
            try:
                return fn(value)
            except (ValueError, KeyError):
                return False

        return wrapped

    def code_ok(column):
        return safe(lambda v: int(str(v).strip()) in CODE_LISTS[column])

    if "NIK" in record and (reason := nik_problem(record["NIK"])):
        problems.add(reason)
    check(
        "NO_KK",
        lambda v: str(v).strip() == "" or re.fullmatch(r"\d{16}", nik_digits(v)),
        "kk_invalid",
    )
    if f.kind in ("households", "disbursements"):
        code, name = record.get("KODE_KELURAHAN"), record.get("NAMA_KELURAHAN")
        present = str(code or "").strip() or str(name or "").strip()
        if (
            ("KODE_KELURAHAN" in record or "NAMA_KELURAHAN" in record)
            and (f.kind == "households" or present)
            and ref.kelurahan(code, name) is None
        ):
            problems.add("kelurahan_unknown")
    local_kelurahan = str(record.get("KELURAHAN", "")).strip() if f.kind == "local" else ""
    if local_kelurahan and ref.kelurahan("", local_kelurahan) is None:
        problems.add("kelurahan_unknown")
    if f.kind == "households":
        check(
            "TANGGAL_PENDATAAN",
            safe(lambda v: str(v).strip() == "" or parse_date(v) <= end),
            "date_invalid",
        )
        check("PENGELUARAN_PER_KAPITA", safe(lambda v: parse_number(v) > 0), "expenditure_invalid")
        for column in (
            "DESIL",
            "JENIS_LANTAI",
            "JENIS_DINDING",
            "SUMBER_AIR_MINUM",
            "SUMBER_PENERANGAN",
            "BAHAN_BAKAR_MASAK",
            "FASILITAS_BAB",
        ):
            check(column, code_ok(column), "code_invalid")
        check("LUAS_LANTAI", safe(lambda v: parse_number(v) > 0), "area_invalid")
        check("JUMLAH_ANGGOTA", safe(lambda v: int(v) > 0), "size_invalid")
        for column in ("RT", "RW"):
            check(column, lambda v: re.fullmatch(r"\d{1,3}", str(v)), "rt_invalid")
    if f.kind == "members":
        check(
            "TANGGAL_LAHIR",
            safe(lambda v: dt.date(1900, 1, 1) <= parse_date(v) <= end),
            "date_invalid",
        )
        for column in (
            "HUBUNGAN_KELUARGA",
            "PENDIDIKAN_TERTINGGI",
            "STATUS_SEKOLAH",
            "JAMINAN_KESEHATAN",
            "DISABILITAS",
            "STATUS_BEKERJA",
        ):
            check(column, code_ok(column), "code_invalid")
        check("JENIS_KELAMIN", lambda v: str(v).strip().upper() in SEX_VALUES, "sex_invalid")
    if f.kind == "disbursements":
        check("TANGGAL_SALUR", safe(lambda v: parse_date(v) <= end), "date_invalid")
        check("NOMINAL", safe(lambda v: parse_number(v) > 0), "amount_invalid")
        check(
            "STATUS",
            lambda v: str(v).upper() in SUCCESS_STATUSES + FAILED_STATUSES,
            "status_invalid",
        )
        check("PROGRAM", lambda v: program_key(str(v)) in ref.programs, "program_unknown")
        check("TAHAP", lambda v: str(v).isdigit(), "stage_invalid")
    if f.kind == "pbi":
        check("SEGMEN", lambda v: str(v).upper() in ("PBI APBN", "PBI APBD"), "segment_invalid")
        check("STATUS", lambda v: str(v).upper() in ("AKTIF", "NONAKTIF"), "status_invalid")
        check("NO_KARTU", lambda v: re.fullmatch(r"\d{13}", str(v)), "card_invalid")
    if f.kind == "local":
        check("TANGGAL", safe(lambda v: parse_date(v) <= end), "date_invalid")
        cash = ref.cash[program]
        check(
            "NILAI",
            safe(
                lambda v: (
                    (not cash and str(v).strip() == "")
                    or (parse_number(v) > 0 if cash else parse_number(v) >= 0)
                )
            ),
            "amount_invalid",
        )
        check("JENIS_BANTUAN", lambda v: program_key(str(v)) in ref.programs, "program_unknown")
        check("SUMBER_DANA", lambda v: str(v) in FUNDING_SOURCES, "funding_invalid")
    return problems


# --------------------------------------------------------------------------------------------
# Fixtures: one clean run, one messy run (small sizes keep the suite fast)


@dataclass
class Run:
    raw: Path
    side: Path
    files: dict[str, RawFile]
    defects: list[dict]
    inventory: dict[str, dict]


def _run(tmp: Path, households: int, seed: int, messiness: float, months: str = MONTHS) -> Run:
    raw, side = tmp / "raw", tmp / "side"
    generate(
        raw,
        side,
        households=households,
        months=months,
        seed=seed,
        region="33.75",
        messiness=messiness,
    )
    with (side / "defects.csv").open(encoding="utf-8") as handle:
        defects = list(csv.DictReader(handle))
    with (side / "files.csv").open(encoding="utf-8") as handle:
        inventory = {r["file_name"]: r for r in csv.DictReader(handle)}
    files = {}
    bad = {d["file_name"] for d in defects if d["expected_outcome"] == "file_quarantined"}
    for path in sorted(raw.iterdir()):
        if path.name not in bad:
            files[path.name] = read_raw(path)
    return Run(raw, side, files, defects, inventory)


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Run:
    return _run(tmp_path_factory.mktemp("clean"), 3000, 11, 0.0)


@pytest.fixture(scope="module")
def messy(tmp_path_factory) -> Run:
    return _run(tmp_path_factory.mktemp("messy"), 1500, 12, 0.03)


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


# --------------------------------------------------------------------------------------------
# Determinism


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path):
    args = {"households": 300, "months": "2026-01:2026-03", "region": "33.75", "messiness": 0.05}
    generate(tmp_path / "a" / "raw", tmp_path / "a" / "side", seed=5, **args)
    generate(tmp_path / "b" / "raw", tmp_path / "b" / "side", seed=5, **args)
    generate(tmp_path / "c" / "raw", tmp_path / "c" / "side", seed=6, **args)
    a, b = _digest(tmp_path / "a" / "raw"), _digest(tmp_path / "b" / "raw")
    assert a == b
    assert _digest(tmp_path / "a" / "side") == _digest(tmp_path / "b" / "side")
    c = _digest(tmp_path / "c" / "raw")
    fixed = ("_keterangan.csv", "rekap_")  # junk files with fixed text
    same = [n for n in set(a) & set(c) if a[n] == c[n] and not any(x in n for x in fixed)]
    assert not same, f"files identical across seeds: {same}"


def test_province_region_spreads_households_over_its_desa(tmp_path):
    raw = tmp_path / "raw"
    generate(
        raw,
        tmp_path / "side",
        households=600,
        months="2026-02:2026-02",
        seed=3,
        region="33",
        messiness=0.0,
    )
    areas = reference.load_areas("33")
    leaves = areas[areas["level"] == "kelurahan"]
    codes = set(leaves["code"])
    f = read_raw(raw / "dtsen_keluarga_33_202602.csv")
    kab = set()
    for i in range(len(f.rows)):
        r = f.record(i)
        code = str(r["KODE_KELURAHAN"])
        dotted = (
            code if "." in code or not code else (f"{code[:2]}.{code[2:4]}.{code[4:6]}.{code[6:]}")
        )
        if code:
            assert dotted in codes, code
            kab.add(dotted[:5])
        else:  # only names that identify one desa are written without a code
            matches = leaves[leaves["name"].map(area_key) == area_key(r["NAMA_KELURAHAN"])]
            assert len(matches) == 1, r["NAMA_KELURAHAN"]
    assert len(kab) > 10
    members = read_raw(raw / "dtsen_anggota_33_202602.csv")
    niks = [nik_digits(members.record(i)["NIK"]) for i in range(len(members.rows))]
    assert all(n.startswith("33") and nik_problem(n) is None for n in niks)


# --------------------------------------------------------------------------------------------
# Contract conformance


def test_headers_come_from_the_alias_lists_and_required_columns_are_present(clean, messy):
    for run in (clean, messy):
        for f in run.files.values():
            assert f.kind is not None and f.headers, f.name
            aliases = alias_map(f.kind)
            for h, c in zip(f.headers, f.canonical, strict=True):
                assert header_key(h) in aliases or c in EXTRA_COLUMNS[f.kind], (f.name, h)
            assert len(set(f.canonical)) == len(f.canonical), f.name
            for need in REQUIRED[f.kind]:
                options = need if isinstance(need, tuple) else (need,)
                assert any(o in f.canonical for o in options), (f.name, need)


def test_every_alias_and_header_spelling_is_used(clean):
    used: dict[tuple, set[str]] = defaultdict(set)
    for f in clean.files.values():
        for h, c in zip(f.headers, f.canonical, strict=True):
            if c in COLUMNS[f.kind]:
                used[(c, COLUMNS[f.kind][c])].add(header_key(h))
    for kind, columns in COLUMNS.items():
        for canonical, aliases in columns.items():
            wanted = {header_key(n) for n in (canonical, *aliases)}
            assert wanted <= used[(canonical, aliases)], (kind, canonical)
    headers = [h for f in clean.files.values() for h in f.headers]
    assert any(re.fullmatch(r"[A-Z][a-z]+\. .+", h) for h in headers)  # "No. KK"
    assert any(" " in h and h == h.lower() for h in headers)  # "no kk"
    assert any("_" in h for h in headers) and any("-" in h for h in headers)


def test_every_clean_cell_is_in_a_documented_format(clean, ref):
    assert clean.defects == []
    for f in clean.files.values():
        seen = set()
        for i in range(len(f.rows)):
            record = f.record(i)
            assert row_problems(f, record, ref) == set(), (f.name, i + 1, record)
            key = tuple(map(str, f.rows[i]))
            assert key not in seen, (f.name, i + 1, "unexpected exact duplicate")
            seen.add(key)


def test_messiness_zero_writes_no_junk(clean):
    names = sorted(p.name for p in clean.raw.iterdir())
    assert names == sorted(clean.inventory)
    assert all(kind_of(n) for n in names)
    digests = _digest(clean.raw)
    assert len(set(digests.values())) == len(digests)


def test_side_inventory_reconciles_with_the_files(clean, messy):
    for run in (clean, messy):
        for name, f in run.files.items():
            entry = run.inventory[name]
            assert int(entry["data_rows"]) == len(f.rows), name
            assert int(entry["skipped_lines"]) == f.skipped, name
            assert entry["kind"] == f.kind
        assert not any(p.parent == run.side for p in run.raw.iterdir())


def _values(clean: Run, kind: str, column: str):
    for f in clean.files.values():
        if f.kind == kind and column in f.canonical:
            j = f.canonical.index(column)
            for row in f.rows:
                yield f, row[j]


def test_every_documented_value_format_appears(clean):
    numbers = [
        v
        for k, c in (
            ("disbursements", "NOMINAL"),
            ("local", "NILAI"),
            ("households", "PENGELUARAN_PER_KAPITA"),
        )
        for _, v in _values(clean, k, c)
    ]
    texts = [v for v in numbers if isinstance(v, str)]
    patterns = {
        "plain": r"\d+",
        "dots": r"\d{1,3}(\.\d{3})+",
        "dots_decimals": r"\d{1,3}(\.\d{3})*,\d\d",
        "comma_decimal": r"\d+,\d",
        "rp_space": r"Rp \d{1,3}(\.\d{3})*",
        "rp_dash": r"Rp\d{1,3}(\.\d{3})*,-",
    }
    for label, pattern in patterns.items():
        assert any(re.fullmatch(pattern, v) for v in texts), label
    assert any(isinstance(v, float) for v in numbers), "numeric cells"

    dates = [
        v
        for k, c in (
            ("disbursements", "TANGGAL_SALUR"),
            ("local", "TANGGAL"),
            ("members", "TANGGAL_LAHIR"),
            ("households", "TANGGAL_PENDATAAN"),
        )
        for _, v in _values(clean, k, c)
    ]
    dtexts = [v for v in dates if isinstance(v, str)]
    for label, pattern in {
        "iso": r"\d{4}-\d\d-\d\d",
        "slash": r"\d\d/\d\d/\d{4}",
        "dash": r"\d\d-\d\d-\d{4}",
        "long": r"\d{1,2} Juni \d{4}",
        "short": r"\d{1,2} Jun \d{4}",
        "agu": r"\d{1,2} Agu \d{4}",
        "agt": r"\d{1,2} Agt \d{4}",
        "des": r"\d{1,2} Des \d{4}",
    }.items():
        assert any(re.fullmatch(pattern, v) for v in dtexts), label
    assert any(isinstance(v, dt.date) for v in dates), "date cells"
    assert any(isinstance(v, float) for v in dates), "serial numbers"

    niks = [
        str(v)
        for k in ("members", "disbursements", "pbi", "local")
        for _, v in _values(clean, k, "NIK")
    ]
    assert any(v.startswith("'") for v in niks)
    assert any(re.fullmatch(r"\d{6} \d{6} \d{4}", v) for v in niks)
    assert any(re.fullmatch(r"\d{4}\.\d\d\.\d{6}\.\d{4}", v) for v in niks)
    sexes = {str(v) for _, v in _values(clean, "members", "JENIS_KELAMIN")}
    assert {"1", "2", "L", "P", "LAKI-LAKI", "PEREMPUAN", "l", "Perempuan"} <= sexes
    codes = {str(v) for _, v in _values(clean, "members", "PENDIDIKAN_TERTINGGI")}
    assert {"1", "01"} <= codes
    statuses = {str(v) for _, v in _values(clean, "disbursements", "STATUS")}
    assert {s.upper() for s in statuses} >= set(SUCCESS_STATUSES) | set(FAILED_STATUSES)
    assert any(s != s.upper() for s in statuses)

    kel_codes = [str(v) for _, v in _values(clean, "households", "KODE_KELURAHAN")]
    assert any(re.fullmatch(r"33\.75\.\d\d\.\d{4}", v) for v in kel_codes)
    assert any(re.fullmatch(r"3375\d{6}", v) for v in kel_codes)
    assert "" in kel_codes
    kel_names = [str(v) for _, v in _values(clean, "households", "NAMA_KELURAHAN")]
    assert any(v.startswith("KEL. ") for v in kel_names)
    assert any(v.startswith("Kelurahan ") for v in kel_names)
    assert any(v == v.lower() for v in kel_names)
    assert "Podo Sugih" in kel_names or "Sapuro" in kel_names  # an alias
    rts = {str(v) for _, v in _values(clean, "households", "RT")}
    assert any(len(v) == 1 for v in rts) and any(len(v) == 3 for v in rts)


def test_csv_byte_level_variants(clean):
    csvs = [f for f in clean.files.values() if f.name.endswith(".csv")]
    assert {f.delimiter for f in csvs} == {";", ",", "\t"}
    assert {f.encoding for f in csvs} == {"utf-8", "utf-8-sig", "cp1252"}
    assert any(f.crlf for f in csvs) and any(not f.crlf for f in csvs)
    # Windows-1252 where it differs from Latin-1 (a right single quote is byte 0x92).
    assert any(f.encoding == "cp1252" and b"\x92" in f.raw for f in csvs)
    assert any(f.encoding == "cp1252" and "é".encode("cp1252") in f.raw for f in csvs)
    cells = [c for f in csvs for row in f.rows for c in row if isinstance(c, str)]
    assert any("\n" in c for c in cells), "a quoted field with a line break"
    commas = [f for f in csvs if f.delimiter == ","]
    assert any("," in c for f in commas for row in f.rows for c in row), "quoted delimiter"
    assert any(f.raw.count(b'"') > 2 * len(f.rows) for f in csvs), "a file quoting every field"
    xlsx = [f for f in clean.files.values() if f.name.endswith(".xlsx")]
    assert any(f.kind == "local" and f.skipped > 0 for f in xlsx)
    assert any(f.kind == "disbursements" for f in xlsx) and any(f.kind == "pbi" for f in xlsx)
    book = CalamineWorkbook.from_path(
        str(clean.raw / next(f.name for f in xlsx if f.kind == "local"))
    )
    assert len(book.sheet_names) == 2  # a second sheet that must be ignored


# --------------------------------------------------------------------------------------------
# Realism


@dataclass
class Registry:
    households: dict[str, dict]  # id -> {kel, exp, desil, kk}
    members: dict[str, str]  # nik -> household id
    sizes: Counter
    kk: dict[str, str]  # kk -> household id


def _registry(run: Run, month: str, ref: Reference) -> Registry:
    hfile = run.files[f"dtsen_keluarga_3375_{month}.csv"]
    mfile = run.files[f"dtsen_anggota_3375_{month}.csv"]
    households = {}
    for i in range(len(hfile.rows)):
        r = hfile.record(i)
        households[r["ID_KELUARGA"]] = {
            "kel": ref.kelurahan(r["KODE_KELURAHAN"], r["NAMA_KELURAHAN"]),
            "exp": parse_number(r["PENGELUARAN_PER_KAPITA"]),
            "desil": int(r["DESIL"]),
            "kk": nik_digits(r["NO_KK"]),
        }
    members, sizes = {}, Counter()
    for i in range(len(mfile.rows)):
        r = mfile.record(i)
        members[nik_digits(r["NIK"])] = r["ID_KELUARGA"]
        sizes[r["ID_KELUARGA"]] += 1
    return Registry(households, members, sizes, {h["kk"]: k for k, h in households.items()})


def _p0(reg: Registry, ids) -> float:
    ids = list(ids)
    poor = sum(reg.sizes[i] for i in ids if reg.households[i]["exp"] < POVERTY_LINE)
    return poor / sum(reg.sizes[i] for i in ids)


def test_registry_poverty_household_structure_and_desil(clean, ref):
    for month in ("202511", "202602", "202605", "202608"):
        reg = _registry(clean, month, ref)
        assert set(reg.sizes) == set(reg.households)
        p0 = _p0(reg, reg.households)
        assert 0.05 <= p0 <= 0.085, (month, p0)
        mean_size = sum(reg.sizes.values()) / len(reg.households)
        assert 3.2 <= mean_size <= 3.8, mean_size
    reg = _registry(clean, "202511", ref)
    by_kec = defaultdict(list)
    for hid, h in reg.households.items():
        by_kec[h["kel"][:8]].append(hid)
    north = _p0(reg, by_kec.pop("33.75.03"))
    assert all(north > _p0(reg, ids) + 0.02 for ids in by_kec.values()), "coastal north poorer"
    by_kel = defaultdict(list)
    for hid, h in reg.households.items():
        by_kel[h["kel"]].append(hid)
    assert len(by_kel) == 27
    rates = [_p0(reg, ids) for ids in by_kel.values() if len(ids) > 50]
    assert max(rates) - min(rates) > 0.05, "kelurahan differ"
    # DESIL follows expenditure, with noise (a proxy means test, not the truth).
    exp = np.array([float(h["exp"]) for h in reg.households.values()])
    desil = np.array([h["desil"] for h in reg.households.values()])
    rank = lambda a: np.argsort(np.argsort(a))  # noqa: E731
    rho = np.corrcoef(rank(exp), rank(desil))[0, 1]
    assert 0.6 <= rho <= 0.97, rho
    poor = exp < float(POVERTY_LINE)
    assert 0.7 <= (desil[poor] <= 4).mean() < 1.0
    assert sorted(Counter(desil)) == list(range(1, 11))


def test_households_change_between_snapshots(clean, ref):
    first, last = _registry(clean, "202511", ref), _registry(clean, "202608", ref)
    assert set(last.households) - set(first.households), "new households"
    assert set(first.households) - set(last.households), "households leaving"
    both = set(first.households) & set(last.households)
    assert any(first.households[h]["kel"] != last.households[h]["kel"] for h in both), "moves"
    assert any(first.households[h]["exp"] != last.households[h]["exp"] for h in both)
    born = set(last.members) - set(first.members)
    assert any(last.members[n] in first.households for n in born), "births"
    died = set(first.members) - set(last.members)
    assert any(first.members[n] in last.households for n in died), "deaths"


def _program_records(run: Run, ref: Reference) -> list[dict]:
    out = []
    for f in run.files.values():
        if f.kind not in ("disbursements", "pbi"):
            continue
        program = file_program(f.name, ref)
        for i in range(len(f.rows)):
            r = f.record(i)
            if f.kind == "pbi":
                ok = str(r["STATUS"]).upper() == "AKTIF"
                amount, status = Decimal(42000), "success" if ok else "inactive"
            else:
                amount = parse_number(r["NOMINAL"])
                status = "success" if str(r["STATUS"]).upper() in SUCCESS_STATUSES else "failed"
            out.append(
                {
                    "program": program,
                    "nik": nik_digits(r["NIK"]),
                    "status": status,
                    "kk": nik_digits(r.get("NO_KK", "")),
                    "amount": amount,
                    "date": None if f.kind == "pbi" else parse_date(r["TANGGAL_SALUR"]),
                    "file": f.name,
                }
            )
    return out


def test_program_targeting_amounts_and_payment_outcomes(clean, ref):
    reg = _registry(clean, "202608", ref)
    records = _program_records(clean, ref)
    recipients: dict[str, set[str]] = defaultdict(set)
    unmatched = kk_only = 0
    for r in records:
        if r["status"] != "success":
            continue
        hid = reg.members.get(r["nik"])
        if hid is None and r["kk"] in reg.kk:
            hid, kk_only = reg.kk[r["kk"]], kk_only + 1
        if hid is None:
            unmatched += 1
        else:
            recipients[r["program"]].add(hid)
    assert unmatched > 0 and kk_only > 0
    for program in ("PKH", "BPNT", "PBI_JK"):
        target = {h for h, v in reg.households.items() if v["desil"] <= ref.target[program]}
        got = recipients[program]
        exclusion = len(target - got) / len(target)
        inclusion = len(got - target) / len(got)
        assert 0.10 <= exclusion <= 0.60, (program, exclusion)
        assert 0.10 <= inclusion <= 0.60, (program, inclusion)

    amounts = defaultdict(set)
    for r in records:
        amounts[r["program"]].add(r["amount"])
    assert amounts["BPNT"] == {Decimal(600000)}
    assert amounts["BLT"] == {Decimal(400000)}
    assert amounts["PIP"] <= {Decimal(450000), Decimal(750000), Decimal(1800000)}
    quarters = {Decimal(v) / 4 for v in (3_000_000, 900_000, 1_500_000, 2_000_000, 2_400_000)}
    assert min(amounts["PKH"]) in quarters
    assert all(a % 25000 == 0 and a <= 4 * 750000 for a in amounts["PKH"])
    failed = [r for r in records if r["status"] == "failed"]
    assert failed
    retried = {(r["program"], r["nik"]) for r in failed} & {
        (r["program"], r["nik"])
        for r in records
        if r["status"] == "success" and r["date"] and r["date"].day and "tahap" in r["file"]
    }
    assert retried, "some failed payments are retried successfully"
    locals_ = {file_program(f.name, ref) for f in clean.files.values() if f.kind == "local"}
    assert {"MODAL_USAHA", "PELATIHAN", "RTLH", "ZAKAT"} <= locals_
    funding = {str(v) for _, v in _values(clean, "local", "SUMBER_DANA")}
    assert {"APBD", "DBHCHT", "DAK", "BAZNAS", "CSR"} <= funding
    training = [v for f, v in _values(clean, "local", "NILAI") if "pelatihan" in f.name]
    assert all(str(v).strip() in ("", "0") or v == 0 for v in training)


def test_nik_matches_sex_and_birth_date(clean):
    f = clean.files["dtsen_anggota_3375_202511.csv"]
    for i in range(len(f.rows)):
        r = f.record(i)
        nik = nik_digits(r["NIK"])
        born = parse_date(r["TANGGAL_LAHIR"])
        female = SEX_VALUES[str(r["JENIS_KELAMIN"]).upper()] == 2
        assert int(nik[6:8]) == born.day + (40 if female else 0)
        assert nik[8:12] == f"{born.month:02d}{born.year % 100:02d}"
        assert nik.startswith("3375")


# --------------------------------------------------------------------------------------------
# Injected defects


def test_every_reason_of_the_contract_is_injected(messy):
    reasons = {r for d in messy.defects for r in d["expected_reasons"].split("|") if r}
    assert set(ROW_REASONS) <= reasons
    assert set(FILE_REASONS) <= reasons
    forms = {d["defect"] for d in messy.defects}
    assert {
        "nik_too_short",
        "nik_too_long",
        "nik_letter",
        "nik_bad_province",
        "nik_bad_month",
        "nik_day_zero",
        "nik_day_35",
        "nik_day_72",
        "nik_scientific",
        "nik_numeric_cell",
        "date_31_feb",
        "birth_before_1900",
        "date_after_period",
        "amount_negative",
        "amount_zero",
        "desil_11",
        "exact_duplicate",
    } <= forms
    assert "duplicate" in {d["expected_outcome"] for d in messy.defects}


def test_file_level_defects_are_what_the_log_says(messy):
    files = [d for d in messy.defects if d["expected_outcome"] == "file_quarantined"]
    assert {d["expected_reasons"] for d in files} == set(FILE_REASONS)
    for d in files:
        path = messy.raw / d["file_name"]
        reason = d["expected_reasons"]
        if reason == "file_unreadable":
            with pytest.raises(Exception):  # noqa: B017 (any reader error)
                CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
        elif reason == "file_kind_unknown":
            assert kind_of(path.name) is None
        elif reason == "header_missing":
            assert not read_raw(path).headers
        elif reason == "column_missing":
            f = read_raw(path)
            assert f.headers and not {"NOMINAL", "TANGGAL_SALUR"} & set(f.canonical)
        elif reason == "file_duplicate":
            twins = [
                p
                for p in messy.raw.iterdir()
                if p.name < path.name and p.read_bytes() == path.read_bytes()
            ]
            assert twins


def test_row_defects_are_where_the_log_says_and_nothing_else_is_wrong(messy, ref):
    by_file: dict[str, dict[int, dict]] = defaultdict(dict)
    for d in messy.defects:
        if d["row_number"]:
            assert int(d["row_number"]) not in by_file[d["file_name"]], "one defect per row"
            by_file[d["file_name"]][int(d["row_number"])] = d
    quarantined_ids: dict[str, set] = defaultdict(set)
    for name, rows in by_file.items():
        f = messy.files[name]
        if f.kind != "households":
            continue
        for n, d in rows.items():
            if d["expected_outcome"] == "quarantined" and d["defect"] != "household_duplicate_key":
                quarantined_ids[name[-10:-4]].add(f.record(n - 1)["ID_KELUARGA"])
    household_ids = {
        name[-10:-4]: {f.record(i)["ID_KELUARGA"] for i in range(len(f.rows))}
        for name, f in messy.files.items()
        if f.kind == "households"
    }
    checked = Counter()
    for name, f in messy.files.items():
        logged = by_file.get(name, {})
        seen: dict[tuple, int] = {}
        ids: dict[str, tuple] = {}
        for i in range(len(f.rows)):
            n = i + 1
            record = f.record(i)
            key = tuple(map(str, f.rows[i]))
            problems = row_problems(f, record, ref)
            d = logged.get(n)
            if d is None:
                assert problems == set(), (name, n, record)
                assert key not in seen, (name, n, "unlogged duplicate")
                if f.kind == "members":
                    month = name[-10:-4]
                    assert record["ID_KELUARGA"] in household_ids[month], (name, n)
                    assert record["ID_KELUARGA"] not in quarantined_ids[month], (name, n)
            elif d["expected_outcome"] == "duplicate":
                assert problems == set(), (name, n)
                assert key in seen, (name, n, "not a repeat")
            else:
                expected = set(d["expected_reasons"].split("|"))
                if expected == {"household_duplicate_key"}:
                    assert problems == set()
                    assert record["ID_KELUARGA"] in ids and ids[record["ID_KELUARGA"]] != key
                elif expected == {"household_unknown"}:
                    assert problems == set()
                    assert record["ID_KELUARGA"] not in household_ids[name[-10:-4]]
                elif expected == {"household_quarantined"}:
                    assert problems == set()
                    assert record["ID_KELUARGA"] in quarantined_ids[name[-10:-4]]
                else:
                    assert problems == expected, (name, n, d, record)
                cell = record.get(d["column"])
                if isinstance(cell, str) and d["defect"] not in (
                    "household_duplicate_key",
                    "member_of_quarantined_household",
                ):
                    assert d["value"] == cell, (name, n, d["value"], cell)
                checked[d["defect"]] += 1
            seen.setdefault(key, n)
            if f.kind == "households":
                ids.setdefault(record["ID_KELUARGA"], key)
    logged_rows = sum(len(v) for v in by_file.values())
    assert (
        sum(checked.values())
        + sum(1 for d in messy.defects if d["expected_outcome"] == "duplicate")
        == logged_rows
    )
    assert checked["nik_scientific"] and checked["nik_numeric_cell"]


def test_defect_values_match_their_form(messy):
    for d in messy.defects:
        value, form = d["value"], d["defect"]
        if form == "nik_too_short":
            assert len(nik_digits(value)) == 15
        elif form == "nik_too_long":
            assert len(nik_digits(value)) == 17
        elif form == "nik_scientific":
            assert re.fullmatch(r"\d\.\d{5}E\+15", value)
        elif form == "nik_numeric_cell":
            assert value.endswith("0") and len(value) == 16
        elif form == "nik_day_72":
            assert nik_digits(value)[6:8] == "72"
        elif form == "date_31_feb":
            assert "31" in value and ("02" in value or "Feb" in value)
        elif form == "desil_11":
            assert int(value) == 11
        elif form == "amount_negative":
            assert parse_number(value) < 0
        elif form == "birth_before_1900":
            assert parse_date(value).year == 1899


def test_the_highest_messiness_still_generates(tmp_path):
    """Every row-level defect needs people from outside the registry; the pool grows with it."""
    summary = generate(
        out_dir=tmp_path / "raw", side_dir=tmp_path / "side", households=800,
        months="2026-01:2026-03", seed=3, region="33.75", messiness=0.45,
    )
    assert "injected defects" in summary
    with (tmp_path / "side" / "defects.csv").open(encoding="utf-8") as handle:
        assert sum(1 for _ in handle) > 1000


def test_defect_outcomes_follow_the_two_severities(messy):
    """A warning's row is logged accepted (its field flagged), an error's row quarantined."""
    outcome = {(d["kind"], d["defect"], d["column"]): d["expected_outcome"] for d in messy.defects}
    assert outcome[("households", "desil_11", "DESIL")] == "accepted"
    assert outcome[("households", "code_out_of_list", "JENIS_LANTAI")] == "accepted"
    assert outcome[("households", "kk_too_short", "NO_KK")] == "accepted"
    assert outcome[("households", "expenditure_negative", "PENGELUARAN_PER_KAPITA")] == (
        "quarantined"
    )
    assert outcome[("members", "date_31_feb", "TANGGAL_LAHIR")] == "accepted"
    assert outcome[("members", "nik_too_short", "NIK")] == "accepted"
    assert outcome[("disbursements", "date_31_feb", "TANGGAL_SALUR")] == "quarantined"
    assert outcome[("disbursements", "nik_too_short", "NIK")] == "accepted"
    # only households quarantined by an error take their members with them
    consequences = [d for d in messy.defects if d["defect"] == "member_of_quarantined_household"]
    assert all(d["expected_outcome"] == "quarantined" for d in consequences)
