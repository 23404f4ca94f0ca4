"""The input contract's file kinds, canonical columns, header aliases and required columns.

Single source for readers (header matching), staging (column lists) and the synthetic generator
(which must use every alias). Mirrors ``docs/contract/raw-extracts.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = ("households", "members", "disbursements", "pbi", "local")

#: File-name prefix (case-insensitive) -> kind.
PREFIXES = {
    "dtsen_keluarga_": "households",
    "dtsen_anggota_": "members",
    "salur_": "disbursements",
    "pbi_": "pbi",
    "bantuan_": "local",
}

_KELURAHAN_CODE = ("KODE_KELURAHAN", ("KODE_DESA", "KODE_WILAYAH", "KD_KEL"))
_KELURAHAN_NAME = ("NAMA_KELURAHAN", ("KELURAHAN", "DESA", "NAMA_DESA"))
_ID_KELUARGA = ("ID_KELUARGA", ("IDKELUARGA", "ID_KEL", "ID_RUTA", "IDBDT"))

#: kind -> ordered canonical columns with their aliases (canonical name first).
COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "households": dict(
        [
            _ID_KELUARGA,
            ("NO_KK", ("NOKK", "NOMOR_KK")),
            _KELURAHAN_CODE,
            _KELURAHAN_NAME,
            ("ALAMAT", ()),
            ("RT", ()),
            ("RW", ()),
            ("JUMLAH_ANGGOTA", ("JML_ART", "JUMLAH_ART")),
            ("PENGELUARAN_PER_KAPITA", ("PENGELUARAN_KAPITA", "PENGELUARAN")),
            ("DESIL", ("DESIL_NASIONAL", "PERINGKAT_DESIL")),
            ("LUAS_LANTAI", ()),
            ("JENIS_LANTAI", ()),
            ("JENIS_DINDING", ()),
            ("SUMBER_AIR_MINUM", ()),
            ("SUMBER_PENERANGAN", ()),
            ("BAHAN_BAKAR_MASAK", ()),
            ("FASILITAS_BAB", ()),
            ("TANGGAL_PENDATAAN", ("TGL_PENDATAAN",)),
        ]
    ),
    "members": dict(
        [
            _ID_KELUARGA,
            ("NIK", ("NIK_ART", "NO_NIK")),
            ("NAMA", ("NAMA_ART",)),
            ("JENIS_KELAMIN", ("JK", "SEX")),
            ("TANGGAL_LAHIR", ("TGL_LAHIR",)),
            ("HUBUNGAN_KELUARGA", ("HUB_KRT", "HUBUNGAN")),
            ("PENDIDIKAN_TERTINGGI", ("PENDIDIKAN",)),
            ("STATUS_SEKOLAH", ("PARTISIPASI_SEKOLAH",)),
            ("JAMINAN_KESEHATAN", ("JKN",)),
            ("DISABILITAS", ()),
            ("STATUS_BEKERJA", ("BEKERJA",)),
        ]
    ),
    "disbursements": dict(
        [
            ("NIK", ("NIK_PENERIMA", "NIK_KTP", "NIK_KPM")),
            ("NO_KK", ("NOKK",)),
            ("NAMA", ("NAMA_PENERIMA", "NAMA_KPM")),
            ("PROGRAM", ("JENIS_BANTUAN", "NAMA_PROGRAM")),
            ("TAHAP", ()),
            ("TANGGAL_SALUR", ("TGL_SALUR", "TANGGAL_TRANSAKSI", "TGL_TRANSAKSI")),
            ("NOMINAL", ("JUMLAH", "NILAI", "NOMINAL_BANTUAN")),
            ("STATUS", ("STATUS_SALUR", "KETERANGAN")),
            _KELURAHAN_CODE,
            _KELURAHAN_NAME,
        ]
    ),
    "pbi": dict(
        [
            ("NIK", ("NIK_PESERTA",)),
            ("NO_KARTU", ("NOKA", "NO_KARTU_JKN")),
            ("NAMA", ("NAMA_PESERTA",)),
            ("SEGMEN", ()),
            ("STATUS", ("STATUS_PESERTA",)),
        ]
    ),
    "local": dict(
        [
            ("NIK", ()),
            ("NAMA", ()),
            ("ALAMAT", ()),
            ("KELURAHAN", ("NAMA_KELURAHAN",)),
            ("JENIS_BANTUAN", ("PROGRAM",)),
            ("NILAI", ("NOMINAL", "JUMLAH_BANTUAN")),
            ("TANGGAL", ("TANGGAL_TERIMA", "TGL")),
            ("SUMBER_DANA", ()),
        ]
    ),
}

#: kind -> required canonical columns; a tuple inside means "any one of these".
REQUIRED: dict[str, tuple[str | tuple[str, ...], ...]] = {
    "households": (
        "ID_KELUARGA",
        ("KODE_KELURAHAN", "NAMA_KELURAHAN"),
        "PENGELUARAN_PER_KAPITA",
        "DESIL",
        "LUAS_LANTAI",
        "JENIS_LANTAI",
        "JENIS_DINDING",
        "SUMBER_AIR_MINUM",
        "SUMBER_PENERANGAN",
        "BAHAN_BAKAR_MASAK",
        "FASILITAS_BAB",
    ),
    "members": (
        "ID_KELUARGA",
        "NIK",
        "TANGGAL_LAHIR",
        "PENDIDIKAN_TERTINGGI",
        "STATUS_SEKOLAH",
        "JAMINAN_KESEHATAN",
    ),
    "disbursements": ("NIK", "TANGGAL_SALUR", "NOMINAL", "STATUS"),
    "pbi": ("NIK", "STATUS"),
    "local": ("NIK", "TANGGAL"),
}

#: Personal data columns: never leave the warehouse.
PERSONAL_COLUMNS = ("NIK", "NO_KK", "NAMA", "ALAMAT", "TANGGAL_LAHIR", "NO_KARTU")

#: Coded columns -> allowed codes (households and members).
CODE_LISTS: dict[str, tuple[int, ...]] = {
    "JENIS_LANTAI": tuple(range(1, 8)),
    "JENIS_DINDING": tuple(range(1, 8)),
    "SUMBER_AIR_MINUM": tuple(range(1, 12)),
    "SUMBER_PENERANGAN": tuple(range(1, 5)),
    "BAHAN_BAKAR_MASAK": tuple(range(1, 8)),
    "FASILITAS_BAB": tuple(range(1, 5)),
    "DESIL": tuple(range(1, 11)),
    "HUBUNGAN_KELUARGA": tuple(range(1, 9)),
    "PENDIDIKAN_TERTINGGI": tuple(range(0, 6)),
    "STATUS_SEKOLAH": (0, 1, 2),
    "JAMINAN_KESEHATAN": (0, 1, 2, 3),
    "DISABILITAS": (0, 1),
    "STATUS_BEKERJA": (0, 1),
}

SUCCESS_STATUSES = ("SUKSES", "BERHASIL", "TERSALUR")
FAILED_STATUSES = ("GAGAL", "RETUR", "DIBATALKAN")
FUNDING_SOURCES = ("APBN", "APBD", "DBHCHT", "DAK", "BAZNAS", "CSR")

#: Fixed row-level reason codes of the contract.
ROW_REASONS = (
    "nik_invalid",
    "nik_precision_lost",
    "kk_invalid",
    "kelurahan_unknown",
    "date_invalid",
    "amount_invalid",
    "code_invalid",
    "expenditure_invalid",
    "household_unknown",
    "household_quarantined",
    "program_unknown",
    "household_duplicate_key",
)
#: Fixed file-level reason codes of the contract.
FILE_REASONS = (
    "file_unreadable",
    "file_kind_unknown",
    "header_missing",
    "column_missing",
    "file_duplicate",
)
#: File-level reasons the pipeline adds: a resource limit of ``tkpk.config.Limits`` (file size,
#: decompressed spreadsheet size, cell count, line length) was exceeded.
EXTRA_FILE_REASONS = ("file_too_large",)


def header_key(text: str) -> str:
    """Normalise a header: strip BOM and spaces, upper-case, treat space . - _ alike."""
    cleaned = text.replace("\ufeff", "").strip().upper()
    return re.sub(r"[\s.\-_]+", "_", cleaned).strip("_")


def alias_map(kind: str) -> dict[str, str]:
    """Normalised header -> canonical column, for every alias of ``kind``."""
    mapping: dict[str, str] = {}
    for canonical, aliases in COLUMNS[kind].items():
        for name in (canonical, *aliases):
            mapping[header_key(name)] = canonical
    return mapping


def kind_of(file_name: str) -> str | None:
    """The file kind from its name's prefix (case-insensitive), or None."""
    lowered = file_name.lower()
    for prefix, kind in PREFIXES.items():
        if lowered.startswith(prefix):
            return kind
    return None


@dataclass(frozen=True)
class Acceptance:
    """How the cross-row acceptance rules (``transforms/accept/``) apply to one kind: the values
    that fill the placeholders of its decision file. The rules themselves are SQL; this is only
    what differs between kinds (see ``tkpk.ingest.accept.render``).

    ``values``: the columns compared besides the natural key (typed as in ``table``);
    ``key_reason``: why a key repeated with other values is quarantined; ``row_key``: the
    natural key's last part beside (snapshot, id_keluarga), an expression over the row's columns
    and ``vals``/``ids_as_read``; ``candidate_key``: a function of ``row_key`` read without the
    values (over the row's columns and ``ids_as_read``: rows of equal keys have equal candidate
    keys), which picks the few rows whose key can repeat; ``ids_as_read``: what was read in a key
    field a warning nulled (over the staged row ``s`` and its reasons ``rr``); ``compared``: the
    accepted rows as the decision compares them (a table, or a file under
    ``transforms/accept/``); ``period``,
    ``kelurahan_code``, ``id_keluarga``: a flagged field's context, over the decision ``d`` and a
    member's household ``h``; ``also_writes``: further tables the kind's decision feeds, each by
    the file of its name; ``context``: the staged columns the (narrow) decision passes on besides
    the row's lineage and outcome, for the files that read it (``period``, ``kelurahan_code``,
    ``id_keluarga`` of flagged_field; ``also_writes``); ``judged_also``: a file under
    ``transforms/accept/`` whose rows (row ids) the decision judges besides the rows in doubt
    (``in_doubt_rows.sql``: every decision judges only those, ``_flagged_in_doubt``, as the raw
    load keeps the record as read of every row that can be quarantined or flagged, and, with
    ``tkpk.ingest.raw.KEY_WITHIN_PERIOD``, of a repeated registry key): the program kinds'
    ``record_candidates`` (the records whose ``candidate_key``, there a function of the values
    over the staged row ``s`` or an accepted record, repeats).
    """

    decision: str
    table: str
    values: tuple[str, ...]
    period: str
    kelurahan_code: str
    id_keluarga: str = "cast(null as varchar)"
    key_reason: str = ""
    row_key: str = "''"
    ids_as_read: str = "null::varchar"
    compared: str = ""
    candidate_key: str = "''"
    also_writes: tuple[str, ...] = ()
    context: tuple[str, ...] = ()
    judged_also: str = ""


_PROGRAM_ACCEPTANCE = Acceptance(
    decision="program_decision",
    table="program_records",
    values=(
        "program", "source_kind", "record_date", "period", "nik", "no_kk", "kelurahan_code",
        "amount_idr", "status", "funding_source", "channel", "stage",
    ),
    ids_as_read=(
        "case when len(rr.nulls) > 0 then cast([s.nama, {{nulled_as_read}}] as varchar) end"
    ),
    period="d.period",
    kelurahan_code="d.kelurahan_code",
    context=("period", "kelurahan_code"),
    # the month and the NIK (as a number: DuckDB's text hash collides on 16-digit NIKs), the
    # program and the date, over the staged row or accepted record `s`: records of equal values
    # (a nulled NIK compared as read, in ids_as_read) have equal keys; only the rows of a repeated
    # key are compared. The program and the date are compared values no warning nulls, staged
    # with the accepted table's types; without them every recipient paid by two programs or
    # tranches of a month was compared (45 % of the disbursement rows, 0.3 % with them)
    candidate_key=(
        "hash(s.period, coalesce(try_cast(s.nik as ubigint), hash(s.nik)), s.program, "
        "s.record_date)"
    ),
    judged_also="record_candidates",
)  # fmt: skip

#: kind -> its acceptance declaration (processing order: households before members).
ACCEPTANCE: dict[str, Acceptance] = {
    "households": Acceptance(
        decision="registry_decision",
        table="registry_households",
        values=(
            "no_kk", "kelurahan_code", "alamat", "rt", "rw", "jumlah_anggota",
            "pengeluaran_per_kapita", "desil", "luas_lantai", "jenis_lantai", "jenis_dinding",
            "sumber_air_minum", "sumber_penerangan", "bahan_bakar_masak", "fasilitas_bab",
            "tanggal_pendataan",
        ),
        key_reason="household_duplicate_key",
        period="d.snapshot",
        kelurahan_code="d.kelurahan_code",
        id_keluarga="d.id_keluarga",
        context=("snapshot", "kelurahan_code", "id_keluarga"),
    ),
    "members": Acceptance(
        decision="registry_decision",
        table="registry_members",
        values=(
            "nama", "jenis_kelamin", "tanggal_lahir", "hubungan_keluarga",
            "pendidikan_tertinggi", "status_sekolah", "jaminan_kesehatan", "disabilitas",
            "status_bekerja",
        ),
        key_reason="member_duplicate_key",
        row_key="member_key(nik, ids_as_read, vals)",
        candidate_key="member_candidate_key(nik, ids_as_read)",
        ids_as_read="case when list_contains(rr.nulls, 'nik') then coalesce(s.nik, '') end",
        compared="accepted_members_compared",
        also_writes=("member_nik_as_read",),
        period="d.snapshot",
        kelurahan_code="h.kelurahan_code",
        id_keluarga="d.id_keluarga",
        context=("snapshot", "id_keluarga", "sha256", "nik", "ids_as_read"),
    ),
    "disbursements": _PROGRAM_ACCEPTANCE,
    "pbi": _PROGRAM_ACCEPTANCE,
    "local": _PROGRAM_ACCEPTANCE,
}  # fmt: skip
