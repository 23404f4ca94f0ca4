"""Injected bad input: every row-level reason code of the contract, in each of its forms.

Each form changes exactly one thing in a clean row (a cell override, a changed logical value or an
inserted row), so the row gets exactly the reasons logged for it. A form whose reason only flags
the field (the contract's "Two severities": a warning) is logged ``accepted``: the row is
accepted with that field null and the defect recorded as a flagged field; an error is logged
``quarantined``. Rows get at most one defect, and
duplicates are copied from untouched rows. The plan is drawn with the run's generator, so it is
part of the seed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from tkpk.synth.files import Job
from tkpk.synth.population import Outsiders
from tkpk.synth.render import NUMERIC_CELL, impossible_date_text

QUARANTINED = "quarantined"
DUPLICATE = "duplicate"
ACCEPTED = "accepted"  # with a flagged field

NIK_FORMS = (
    "nik_too_short",
    "nik_too_long",
    "nik_letter",
    "nik_bad_province",
    "nik_bad_month",
    "nik_day_zero",
    "nik_day_35",
    "nik_day_72",
    "nik_empty",
)


@dataclass(frozen=True)
class Form:
    """One way of breaking a row: its name, the reason it must get and the column it touches."""

    name: str
    reason: str | None  # None: exact duplicate (outcome duplicate)
    column: str
    #: a warning of the contract: the row is accepted with this field flagged (null)
    flagged: bool = False


def _nik_forms(empty: bool = True) -> list[Form]:
    return [Form(f, "nik_invalid", "NIK", True) for f in NIK_FORMS if empty or f != "nik_empty"]


def _flag(form: Form) -> Form:
    """``form`` as a warning (the field is flagged, the row accepted)."""
    return Form(form.name, form.reason, form.column, True)


FORMS: dict[str, list[Form]] = {
    "households": [
        _flag(Form("kk_too_short", "kk_invalid", "NO_KK")),
        _flag(Form("kk_letters", "kk_invalid", "NO_KK")),
        Form("kelurahan_both_unknown", "kelurahan_unknown", "KODE_KELURAHAN"),
        Form("kelurahan_name_unknown_code_empty", "kelurahan_unknown", "NAMA_KELURAHAN"),
        _flag(Form("date_31_feb", "date_invalid", "TANGGAL_PENDATAAN")),
        _flag(Form("date_after_period", "date_invalid", "TANGGAL_PENDATAAN")),
        _flag(Form("desil_11", "code_invalid", "DESIL")),
        _flag(Form("desil_0", "code_invalid", "DESIL")),
        _flag(Form("code_out_of_list", "code_invalid", "JENIS_LANTAI")),
        _flag(Form("code_out_of_list", "code_invalid", "SUMBER_AIR_MINUM")),
        _flag(Form("code_out_of_list", "code_invalid", "FASILITAS_BAB")),
        Form("expenditure_empty", "expenditure_invalid", "PENGELUARAN_PER_KAPITA"),
        Form("expenditure_negative", "expenditure_invalid", "PENGELUARAN_PER_KAPITA"),
        Form("expenditure_zero", "expenditure_invalid", "PENGELUARAN_PER_KAPITA"),
        Form("household_duplicate_key", "household_duplicate_key", "ID_KELUARGA"),
        Form("exact_duplicate", None, "ID_KELUARGA"),
    ],
    "members": [
        *_nik_forms(),
        _flag(Form("nik_scientific", "nik_precision_lost", "NIK")),
        _flag(Form("date_31_feb", "date_invalid", "TANGGAL_LAHIR")),
        _flag(Form("birth_before_1900", "date_invalid", "TANGGAL_LAHIR")),
        _flag(Form("date_unparseable", "date_invalid", "TANGGAL_LAHIR")),
        _flag(Form("code_out_of_list", "code_invalid", "PENDIDIKAN_TERTINGGI")),
        _flag(Form("code_out_of_list", "code_invalid", "STATUS_SEKOLAH")),
        _flag(Form("code_out_of_list", "code_invalid", "JAMINAN_KESEHATAN")),
        _flag(Form("code_out_of_list", "code_invalid", "HUBUNGAN_KELUARGA")),
        Form("household_unknown", "household_unknown", "ID_KELUARGA"),
        Form("exact_duplicate", None, "NIK"),
    ],
    "disbursements": [
        *_nik_forms(),
        _flag(Form("nik_scientific", "nik_precision_lost", "NIK")),
        _flag(Form("nik_numeric_cell", "nik_precision_lost", "NIK")),
        _flag(Form("kk_too_short", "kk_invalid", "NO_KK")),
        _flag(Form("kk_letters", "kk_invalid", "NO_KK")),
        _flag(Form("kelurahan_both_unknown", "kelurahan_unknown", "KODE_KELURAHAN")),
        _flag(Form("kelurahan_name_unknown_code_empty", "kelurahan_unknown", "NAMA_KELURAHAN")),
        _flag(Form("kelurahan_name_unknown", "kelurahan_unknown", "NAMA_KELURAHAN")),
        _flag(Form("kelurahan_code_unknown", "kelurahan_unknown", "KODE_KELURAHAN")),
        Form("date_31_feb", "date_invalid", "TANGGAL_SALUR"),
        Form("date_after_period", "date_invalid", "TANGGAL_SALUR"),
        Form("date_unparseable", "date_invalid", "TANGGAL_SALUR"),
        Form("amount_negative", "amount_invalid", "NOMINAL"),
        Form("amount_zero", "amount_invalid", "NOMINAL"),
        Form("amount_unparseable", "amount_invalid", "NOMINAL"),
        Form("program_unknown", "program_unknown", "PROGRAM"),
        Form("exact_duplicate", None, "NIK"),
    ],
    "pbi": [
        *_nik_forms(),
        _flag(Form("nik_scientific", "nik_precision_lost", "NIK")),
        _flag(Form("nik_numeric_cell", "nik_precision_lost", "NIK")),
        Form("exact_duplicate", None, "NIK"),
    ],
    "local": [
        *_nik_forms(empty=False),
        _flag(Form("nik_scientific", "nik_precision_lost", "NIK")),
        _flag(Form("nik_numeric_cell", "nik_precision_lost", "NIK")),
        _flag(Form("kelurahan_name_unknown", "kelurahan_unknown", "KELURAHAN")),
        Form("date_31_feb", "date_invalid", "TANGGAL"),
        Form("date_after_period", "date_invalid", "TANGGAL"),
        Form("amount_negative", "amount_invalid", "NILAI"),
        Form("amount_zero", "amount_invalid", "NILAI"),
        Form("amount_unparseable", "amount_invalid", "NILAI"),
        Form("program_unknown", "program_unknown", "JENIS_BANTUAN"),
        Form("exact_duplicate", None, "NIK"),
    ],
}


@dataclass
class DefectContext:
    """What the defect forms need from the run."""

    rng: np.random.Generator
    nik_of: Callable[[np.ndarray], np.ndarray]
    outsiders: Outsiders
    fake_hid_base: int
    unknown_code: str
    unknown_names: tuple[str, ...]
    unknown_programs: tuple[str, ...]
    quarantined_hids: dict[int, np.ndarray] = field(default_factory=dict)
    fake_hids_used: int = 0


def applicable(job: Job, form: Form) -> bool:
    """Whether ``form`` can be injected into ``job`` (column present, right file format)."""
    cols = job.style.columns
    name = form.name
    if name == "nik_scientific":
        return job.fmt == "csv" and "NIK" in cols
    if name == "nik_numeric_cell":
        return job.fmt == "xlsx" and "NIK" in cols
    if name.startswith("kelurahan_"):
        style = job.style.kelurahan
        if job.kind == "local":
            return "KELURAHAN" in cols
        if job.kind == "households":
            return True
        return {
            "kelurahan_both_unknown": style == "both",
            "kelurahan_name_unknown_code_empty": style == "both",
            "kelurahan_name_unknown": style == "name",
            "kelurahan_code_unknown": style == "code",
        }[name]
    if name == "amount_zero":
        return job.cash
    if name == "exact_duplicate" and "NO" in cols:
        return False  # a numbering column makes a repeated row differ
    return form.column in cols


def _choose_rows(job: Job, n: int, rng: np.random.Generator, mask: np.ndarray | None) -> np.ndarray:
    """Up to ``n`` untouched rows (satisfying ``mask``), taken along the job's random order."""
    if job.perm is None:
        job.perm = rng.permutation(job.n_rows)
    free = ~job.is_used(job.perm)
    if mask is not None:
        free &= mask[job.perm]
    return np.sort(job.perm[free][:n])


def _bad_nik(form: str, nik: int, rng: np.random.Generator) -> str:
    """A NIK text broken in the way ``form`` says (from a valid 16-digit NIK)."""
    s = f"{nik:016d}"
    if form == "nik_too_short":
        return s[:-1]
    if form == "nik_too_long":
        return s + str(rng.integers(0, 10))
    if form == "nik_letter":
        return s[:4] + "O" + s[5:]
    if form == "nik_bad_province":
        return ("00" if rng.random() < 0.5 else "99") + s[2:]
    if form == "nik_bad_month":
        return s[:8] + "13" + s[10:]
    if form == "nik_day_zero":
        return s[:6] + "00" + s[8:]
    if form == "nik_day_35":
        return s[:6] + "35" + s[8:]
    if form == "nik_day_72":
        return s[:6] + "72" + s[8:]
    if form == "nik_empty":
        return ""
    raise KeyError(form)


def _date_column(job: Job, column: str) -> str:
    return {"TANGGAL_PENDATAAN": "enum_date", "TANGGAL_LAHIR": "birth"}.get(column, "date")


def inject(job: Job, form: Form, count: int, ctx: DefectContext) -> int:
    """Inject ``count`` instances of ``form`` into ``job``; returns how many were placed."""
    rng = ctx.rng
    frame = job.frame
    mask = None
    if job.kind == "members" and job.snapshot in ctx.quarantined_hids:
        mask = ~np.isin(frame["hid"], ctx.quarantined_hids[job.snapshot])
    if form.name.startswith("kk_") and "kk" in frame:
        mask = frame["kk"] > 0 if mask is None else mask & (frame["kk"] > 0)
    rows = _choose_rows(job, count, rng, mask)
    if len(rows) == 0:
        return 0
    job.mark(rows)
    name, col = form.name, form.column
    if form.reason is None:
        outcome, reasons = DUPLICATE, ""
    else:
        outcome, reasons = (ACCEPTED if form.flagged else QUARANTINED), form.reason

    def entry(index: int, note: str = "") -> dict:
        """The defect log entry of row ``index``."""
        return {
            "index": int(index),
            "column": col,
            "defect": name,
            "outcome": outcome,
            "reasons": reasons,
            "note": note,
        }

    def override(column: str, texts: Sequence[str]) -> None:
        """Write ``texts`` (one per chosen row) into ``column`` of the chosen rows."""
        job.overrides.extend((int(r), column, t) for r, t in zip(rows, texts, strict=True))

    if name in NIK_FORMS:
        apos = "'" if job.style.nik == "apos" else ""
        bad = [_bad_nik(name, int(nik), rng) for nik in ctx.nik_of(frame["pid"][rows])]
        override("NIK", [(apos + b) if b else "" for b in bad])
    elif name == "nik_scientific":
        niks = ctx.nik_of(frame["pid"][rows])
        override("NIK", [f"{int(nik) / 1e15:.5f}E+15" for nik in niks])
    elif name == "nik_numeric_cell":
        niks = ctx.nik_of(frame["pid"][rows])
        override("NIK", [f"{NUMERIC_CELL}{int(nik) // 10 * 10}" for nik in niks])
    elif name == "kk_too_short":
        override("NO_KK", [f"{int(kk):016d}"[:-1] for kk in frame["kk"][rows]])
    elif name == "kk_letters":
        kks = [f"{int(kk):016d}" for kk in frame["kk"][rows]]
        override("NO_KK", [kk[:6] + "KK" + kk[8:] for kk in kks])
    elif name == "kelurahan_both_unknown":
        override("KODE_KELURAHAN", [ctx.unknown_code] * len(rows))
        override("NAMA_KELURAHAN", [rng.choice(ctx.unknown_names) for _ in rows])
    elif name == "kelurahan_name_unknown_code_empty":
        override("KODE_KELURAHAN", [""] * len(rows))
        override("NAMA_KELURAHAN", [rng.choice(ctx.unknown_names) for _ in rows])
    elif name == "kelurahan_name_unknown":
        override(col, [str(rng.choice(ctx.unknown_names)) for _ in rows])
    elif name == "kelurahan_code_unknown":
        override("KODE_KELURAHAN", [ctx.unknown_code] * len(rows))
    elif name == "date_31_feb":
        year = int(job.period_end.astype("datetime64[Y]").astype(np.int64)) + 1970
        override(col, [impossible_date_text(job.style.date, year)] * len(rows))
    elif name == "date_after_period":
        field_name = _date_column(job, col)
        late = job.period_end + rng.integers(1, 45, len(rows)).astype("timedelta64[D]")
        frame[field_name][rows] = late
    elif name == "date_unparseable":
        override(col, ["TIDAK DIKETAHUI"] * len(rows))
    elif name == "birth_before_1900":
        frame["birth"][rows] = np.datetime64("1899-01-01") + rng.integers(0, 364, len(rows)).astype(
            "timedelta64[D]"
        )
    elif name in ("desil_11", "desil_0"):
        frame["desil"][rows] = 11 if name == "desil_11" else 0
    elif name == "code_out_of_list":
        from tkpk.synth.files import CODE_FIELDS

        bad = {
            "JENIS_LANTAI": 9,
            "SUMBER_AIR_MINUM": 12,
            "FASILITAS_BAB": 5,
            "PENDIDIKAN_TERTINGGI": 7,
            "STATUS_SEKOLAH": 3,
            "JAMINAN_KESEHATAN": 4,
            "HUBUNGAN_KELUARGA": 9,
        }[col]
        frame[CODE_FIELDS[col]][rows] = bad
    elif name == "expenditure_empty":
        override(col, [""] * len(rows))
    elif name == "expenditure_negative":
        frame["exp"][rows] = -np.abs(np.round(frame["exp"][rows]))
    elif name == "expenditure_zero":
        frame["exp"][rows] = 0.0
    elif name == "amount_negative":
        frame["amount"][rows] = -np.abs(np.nan_to_num(frame["amount"][rows], nan=500_000.0))
    elif name == "amount_zero":
        frame["amount"][rows] = 0.0
    elif name == "amount_unparseable":
        override(col, [str(rng.choice(("enam ratus ribu", "#N/A", "?"))) for _ in rows])
    elif name == "program_unknown":
        override(col, [str(rng.choice(ctx.unknown_programs)) for _ in rows])
    elif name in ("exact_duplicate", "household_duplicate_key", "household_unknown"):
        base = job.n_rows + len(job.inserts)
        for k, r in enumerate(rows):
            later = int(
                min(job.n_rows - 1, r + rng.integers(0 if name == "exact_duplicate" else 1, 40))
            )
            changes: dict = {}
            note = ""
            if name == "household_duplicate_key":
                changes = {
                    "exp": float(np.round(frame["exp"][r] * 1.1 + 1000)),
                    "v1": int(frame["v1"][r]) + 1,
                }
                note = "first"
            elif name == "household_unknown":
                pid = int(ctx.outsiders.take(1)[0])
                ctx.fake_hids_used += 1
                changes = {
                    "hid": ctx.fake_hid_base + ctx.fake_hids_used,
                    "pid": pid,
                    "birth": ctx.outsiders.birth[pid - ctx.outsiders.first_pid],
                }
            else:
                note = "first"
            job.inserts.append((later, int(r), changes))
            job.log.append({**entry(base + k, note), "source": int(r)})
        return len(rows)
    else:
        raise KeyError(name)
    job.log.extend(entry(r) for r in rows)
    return len(rows)


def quarantined_households(job: Job) -> np.ndarray:
    """Household ids (``hid``) whose household row is quarantined by a logged defect."""
    bad = [e["index"] for e in job.log if e["outcome"] == QUARANTINED and e["index"] < job.n_rows]
    return np.unique(job.frame["hid"][np.array(bad, dtype=np.int64)]) if bad else np.zeros(0, int)


def log_member_consequences(job: Job, hids: np.ndarray) -> None:
    """Members of quarantined households: quarantined as ``household_quarantined``."""
    if len(hids) == 0:
        return
    rows = np.flatnonzero(np.isin(job.frame["hid"], hids))
    job.mark(rows)
    job.log.extend(
        {
            "index": int(r),
            "column": "ID_KELUARGA",
            "defect": "member_of_quarantined_household",
            "outcome": QUARANTINED,
            "reasons": "household_quarantined",
            "note": "",
        }
        for r in rows
    )
