"""Accepted, quarantine and duplicate sets; data quality; snapshot status; reconciliation.

One hand-written run (module-scoped: GX validates once) covers every reason code of the contract
with the exact outcome of each row; smaller function-scoped runs cover incremental loads, repeats
across runs and files, and a reconciliation failure.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from decimal import Decimal

import pytest
from raw_support import (
    FileOutcome,
    RawWorld,
    disbursement,
    household,
    kk,
    local,
    member,
    nik,
    pbi,
    with_file,
)

from tkpk import reference
from tkpk.config import Settings
from tkpk.db import connect
from tkpk.ingest import accept, schema
from tkpk.ingest.accept import (
    LINEAGE_TABLES,
    ReconciliationError,
    ensure_tables,
    process_loads,
)
from tkpk.ingest.schema import ROW_REASONS

HH = "dtsen_keluarga_3375_202606.csv"
MEM = "dtsen_anggota_3375_202606.csv"
PKH = "salur_pkh_bri_202606_tahap2.csv"
PKH_AGAIN = "salur_pkh_bri_202606_tahap2_revisi.csv"
PBI = "pbi_jk_202606.csv"
MODAL = "bantuan_modal_usaha_2026.xlsx"
LATIH = "bantuan_pelatihan_2026.csv"
HH_SEP = "dtsen_keluarga_3375_202609.csv"

#: Expected outcome of every row: file -> [(outcome, reasons, flagged fields or duplicate
#: pointer)]. A quarantined row lists every defect (errors and warnings); an accepted row the
#: (canonical column, reason) of each field a warning flagged (set to null).
HOUSEHOLD_ROWS = [
    (household(id_keluarga="H1"), "accepted", []),
    (
        household(
            id_keluarga="H2",
            kode_kelurahan="33.75.01.1003",
            nama_kelurahan=None,
            pengeluaran_per_kapita="Rp 450.000,00",
        ),
        "accepted",
        [],
    ),
    (
        household(id_keluarga="H3", kode_kelurahan="", nama_kelurahan="Kel. Sapuro Kebulen"),
        "accepted",
        [],
    ),
    (
        household(id_keluarga="H4", kode_kelurahan="9999999999", nama_kelurahan="Atlantis"),
        "quarantined",
        ["kelurahan_unknown"],
    ),
    (
        household(id_keluarga="H5", desil="11", jenis_lantai="9", pengeluaran_per_kapita="-5"),
        "quarantined",
        ["code_invalid", "expenditure_invalid"],
    ),
    (
        household(id_keluarga="H6", pengeluaran_per_kapita=""),
        "quarantined",
        ["expenditure_invalid"],
    ),
    (household(id_keluarga="H7", no_kk="12345"), "accepted", [("NO_KK", "kk_invalid")]),
    (household(id_keluarga="H1"), "duplicate", (HH, 1)),
    (household(id_keluarga="H1", desil="2"), "quarantined", ["household_duplicate_key"]),
    (
        household(id_keluarga="H8", tanggal_pendataan="31/02/2026"),
        "accepted",
        [("TANGGAL_PENDATAAN", "date_invalid")],
    ),
    (
        household(id_keluarga="H9", tanggal_pendataan="2026-07-01"),
        "accepted",
        [("TANGGAL_PENDATAAN", "date_invalid")],
    ),
    (
        {"malformed": True, "extra": json.dumps({"_line": "H10;;;"})},
        "quarantined",
        ["row_malformed"],
    ),
    (household(id_keluarga=""), "quarantined", ["id_missing"]),
    (
        household(id_keluarga="H11", luas_lantai="luas"),
        "accepted",
        [("LUAS_LANTAI", "number_invalid")],
    ),
    (
        household(id_keluarga="H12", no_kk="3375012026000012", kk_numeric=True),
        "accepted",
        [("NO_KK", "kk_invalid")],
    ),
    (household(id_keluarga="H13", no_kk="3.37501E+15"), "accepted", [("NO_KK", "kk_invalid")]),
    (household(id_keluarga="H14", rt="satu"), "accepted", [("RT", "number_invalid")]),
    (
        household(
            id_keluarga="H15",
            kode_kelurahan="1",
            nama_kelurahan="X",
            desil="0",
            no_kk="1",
            tanggal_pendataan="kemarin",
        ),
        "quarantined",
        ["code_invalid", "date_invalid", "kelurahan_unknown", "kk_invalid"],
    ),
    (
        household(id_keluarga="H1", desil="0"),
        "quarantined",
        ["code_invalid", "household_duplicate_key"],
    ),
    (
        household(
            id_keluarga="H16",
            no_kk=None,
            tanggal_pendataan=None,
            rt=None,
            rw=None,
            jumlah_anggota=None,
        ),
        "accepted",
        [],
    ),
    # expenditure 0 cannot be measured: quarantined (it would add 1/N to P1 and P2)
    (household(id_keluarga="H17", pengeluaran_per_kapita="0"), "quarantined",
     ["expenditure_invalid"]),
    # an invalid DESIL and floor code flag their fields: the household is still measured
    (
        household(id_keluarga="H18", desil="11", jenis_lantai="9"),
        "accepted",
        [("DESIL", "code_invalid"), ("JENIS_LANTAI", "code_invalid")],
    ),
]

MEMBER_ROWS = [
    (member(id_keluarga="H1", nik=nik(1)), "accepted", []),
    (
        member(
            id_keluarga="H1",
            nik="'3375 0101 0180 0002",
            jenis_kelamin="PEREMPUAN",
            tanggal_lahir="26 Juni 1990",
        ),
        "accepted",
        [],
    ),
    (member(id_keluarga="H2", nik="3375.0101.0180.0003", tanggal_lahir="33050"), "accepted", []),
    (member(id_keluarga="H99", nik=nik(4)), "quarantined", ["household_unknown"]),
    (member(id_keluarga="H5", nik=nik(5)), "quarantined", ["household_quarantined"]),
    # three broken NIKs, otherwise equal rows: three persons (the NIKs as read differ)
    (member(id_keluarga="H1", nik="123"), "accepted", [("NIK", "nik_invalid")]),
    (member(id_keluarga="H1", nik="9975010101800007"), "accepted", [("NIK", "nik_invalid")]),
    (member(id_keluarga="H1", nik="3375013201800008"), "accepted", [("NIK", "nik_invalid")]),
    (member(id_keluarga="H1", nik=nik(9, female=True)), "accepted", []),
    (
        member(id_keluarga="H1", nik="3375010101800010", nik_numeric=True),
        "accepted",
        [("NIK", "nik_precision_lost")],
    ),
    (member(id_keluarga="H1", nik="3.37501E+15"), "accepted", [("NIK", "nik_precision_lost")]),
    (
        member(id_keluarga="H1", nik=nik(12), tanggal_lahir="31/12/1899"),
        "accepted",
        [("TANGGAL_LAHIR", "date_invalid")],
    ),
    (
        member(id_keluarga="H1", nik=nik(13), tanggal_lahir="2026-07-01"),
        "accepted",
        [("TANGGAL_LAHIR", "date_invalid")],
    ),
    (
        member(id_keluarga="H1", nik=nik(14), tanggal_lahir="31/02/1990"),
        "accepted",
        [("TANGGAL_LAHIR", "date_invalid")],
    ),
    (
        member(id_keluarga="H1", nik=nik(15), jenis_kelamin="X"),
        "accepted",
        [("JENIS_KELAMIN", "code_invalid")],
    ),
    (
        member(id_keluarga="H1", nik=nik(16), pendidikan_tertinggi="9", status_sekolah=""),
        "accepted",
        [("PENDIDIKAN_TERTINGGI", "code_invalid"), ("STATUS_SEKOLAH", "code_invalid")],
    ),
    (member(id_keluarga="H1", nik=nik(1)), "duplicate", (MEM, 1)),
    (
        member(id_keluarga="H1", nik=nik(1), nama="Warga Lain"),
        "quarantined",
        ["member_duplicate_key"],
    ),
    (member(id_keluarga="H4", nik="1"), "quarantined", ["household_quarantined", "nik_invalid"]),
    (
        member(
            id_keluarga="H16",
            nik=nik(20),
            jenis_kelamin=None,
            hubungan_keluarga=None,
            disabilitas=None,
            status_bekerja=None,
        ),
        "accepted",
        [],
    ),
    ({"malformed": True}, "quarantined", ["row_malformed"]),
    # an exact repeat of a member whose NIK is flagged is still a duplicate; another broken
    # NIK with the same other values is another person
    (member(id_keluarga="H1", nik="123"), "duplicate", (MEM, 6)),
    (member(id_keluarga="H1", nik="124"), "accepted", [("NIK", "nik_invalid")]),
]

UNMATCHED = "3375010101809999"
PKH_ROWS = [
    (disbursement(nominal="Rp600.000,-"), "accepted", []),
    (disbursement(nominal="600.000"), "duplicate", (PKH, 1)),
    (disbursement(nik=UNMATCHED, no_kk=None), "accepted", []),
    (disbursement(nik=nik(2), nominal="0"), "quarantined", ["amount_invalid"]),
    (disbursement(nik=nik(2), nominal="-1"), "quarantined", ["amount_invalid"]),
    (disbursement(nik=nik(2), nominal="banyak"), "quarantined", ["amount_invalid"]),
    (disbursement(nik=nik(2), status="PENDING"), "quarantined", ["code_invalid"]),
    (disbursement(nik=nik(2), tanggal_salur="2026-07-05"), "quarantined", ["date_invalid"]),
    (disbursement(nik=nik(2), program="BANSOS ENTAH"), "quarantined", ["program_unknown"]),
    (disbursement(nik=nik(2), program="Program Sembako"), "accepted", []),
    (disbursement(nik=nik(2), status="RETUR"), "accepted", []),
    (
        disbursement(nik=nik(3), nama_kelurahan="Atlantis"),
        "accepted",
        [("NAMA_KELURAHAN", "kelurahan_unknown")],
    ),
    (disbursement(nik=nik(3), no_kk="123"), "accepted", [("NO_KK", "kk_invalid")]),
    (
        disbursement(nik="123", nominal="banyak", status=""),
        "quarantined",
        ["amount_invalid", "code_invalid", "nik_invalid"],
    ),
    ({"malformed": True}, "quarantined", ["row_malformed"]),
    (disbursement(nik=nik(3), tahap="dua"), "accepted", [("TAHAP", "number_invalid")]),
    (
        disbursement(nik=nik(3), nik_numeric=True),
        "accepted",
        [("NIK", "nik_precision_lost")],
    ),
]

PKH_AGAIN_ROWS = [
    (disbursement(nominal="600000"), "duplicate", (PKH, 1)),
    (disbursement(nik=nik(4)), "accepted", []),
]

PBI_ROWS = [
    (pbi(nik=nik(1), segmen="PBI APBD"), "accepted", []),
    (pbi(nik=nik(2), status="NONAKTIF"), "accepted", []),
    (pbi(nik=nik(3), segmen=""), "accepted", []),
    (pbi(nik=nik(4), status="X"), "quarantined", ["code_invalid"]),
    (pbi(nik=nik(5), segmen="SWASTA"), "quarantined", ["code_invalid"]),
    (pbi(nik="33750101018000", status="AKTIF"), "accepted", [("NIK", "nik_invalid")]),
]

MODAL_ROWS = [
    (local(nik=nik(1)), "accepted", []),
    (local(nik=nik(2), nilai=""), "quarantined", ["amount_invalid"]),
    (local(nik=nik(3), sumber_dana="ASING"), "accepted", [("SUMBER_DANA", "code_invalid")]),
    (local(nik=nik(4), tanggal="2027-01-02"), "quarantined", ["date_invalid"]),
    (
        local(nik=nik(5), jenis_bantuan="Zakat Produktif", sumber_dana=None, nilai="3.000.000"),
        "accepted",
        [],
    ),
    (local(nik=nik(6), kelurahan="Atlantis"), "accepted", [("KELURAHAN", "kelurahan_unknown")]),
    (local(nik=nik(7), jenis_bantuan="Sepeda Gratis"), "quarantined", ["program_unknown"]),
]

LATIH_ROWS = [
    (local(nik=nik(1), nilai="", sumber_dana=None), "accepted", []),
    (local(nik=nik(2), nilai="0"), "accepted", []),
]

FILES = {
    MEM: ("members", MEMBER_ROWS, {}),
    HH: ("households", HOUSEHOLD_ROWS, {}),
    HH_SEP: ("households", [(household(id_keluarga="S1"), "accepted", [])], {"period": "202609"}),
    PKH: ("disbursements", PKH_ROWS, {"program": "PKH", "channel": "bri", "stage": 2}),
    PKH_AGAIN: ("disbursements", PKH_AGAIN_ROWS, {"program": "PKH", "channel": "bri", "stage": 2}),
    PBI: ("pbi", PBI_ROWS, {}),
    MODAL: ("local", MODAL_ROWS, {"period": "2026", "program": "MODAL_USAHA"}),
    LATIH: ("local", LATIH_ROWS, {"period": "2026", "program": "PELATIHAN", "skipped_lines": 4}),
}


def make_settings(tmp_path) -> Settings:
    """Settings under a temporary folder."""
    return Settings(
        raw_dir=tmp_path / "raw",
        curated_dir=tmp_path / "curated",
        warehouse=tmp_path / "warehouse.duckdb",
        temp_dir=tmp_path / "tmp",
        duckdb_memory_limit="1GB",
        duckdb_threads=2,
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One run over every file above (in name order), plus a quarantined and a skipped file."""
    con, summary = run_every_file(tmp_path_factory.mktemp("accept"))
    yield con, summary
    con.close()


def run_every_file(folder):
    """(connection, summary) of one run over every file of ``FILES``, a quarantined and a
    skipped file."""
    settings = make_settings(folder)
    con = connect(settings, ":memory:")
    reference.install(con)
    world = RawWorld(con)
    outcomes = []
    for name in sorted(FILES):
        kind, rows, options = FILES[name]
        outcomes.append(world.add_file(kind, name, [row for row, _, _ in rows], **options))
    outcomes.append(
        world.quarantined_file(
            "dtsen_anggota_3375_202609.csv", "column_missing", kind="members", period="202609"
        )
    )
    outcomes.append(
        FileOutcome(
            "salur_lama.csv", "ab" * 32, "disbursements", "already_loaded", None, 0, 0, None
        )
    )
    return con, process_loads(con, settings, "run-1", outcomes)


def outcome_of(con, file_name: str) -> dict[int, tuple]:
    """row_number -> (outcome, reasons or pointer) from the warehouse tables."""
    found: dict[int, tuple] = {}
    for row, reasons in con.execute(
        f"select row_number, reasons from {with_file('quarantine')} where file_name = ?",
        [file_name],
    ).fetchall():
        found[row] = ("quarantined", reasons)
    for row, of_file, of_row in con.execute(
        "select duplicate.row_number, o.file_name, duplicate.duplicate_of_row "
        f"from {with_file('duplicate')} "
        "left join ingest_file as o on o.file_id = duplicate.duplicate_of_file_id "
        "where duplicate.file_name = ?",
        [file_name],
    ).fetchall():
        assert row not in found
        found[row] = ("duplicate", (of_file, of_row))
    flags: dict[int, list] = {}
    for row, column, reason in con.execute(
        f"select row_number, column_name, reason from {with_file('flagged_field')} "
        "where file_name = ? "
        "order by all",
        [file_name],
    ).fetchall():
        flags.setdefault(row, []).append((column, reason))
    for table in ("registry_households", "registry_members", "program_records"):
        for (row,) in con.execute(
            f"select row_number from {with_file(table)} where file_name = ?", [file_name]
        ).fetchall():
            assert row not in found
            found[row] = ("accepted", flags.pop(row, []))
    assert not flags, f"flagged fields of rows that were not accepted: {flags}"
    return found


@pytest.mark.parametrize("file_name", sorted(FILES))
def test_every_row_lands_where_expected(run, file_name):
    con, _ = run
    _, rows, _ = FILES[file_name]
    expected = {i: (outcome, detail) for i, (_, outcome, detail) in enumerate(rows, start=1)}
    assert outcome_of(con, file_name) == expected


def _assert_every_row_lands_as_expected(tmp_path) -> None:
    """Run every file of ``FILES`` and check each row's outcome against the table."""
    con, _ = run_every_file(tmp_path)
    try:
        for file_name, (_, rows, _) in FILES.items():
            expected = {i: (o, detail) for i, (_, o, detail) in enumerate(rows, start=1)}
            assert outcome_of(con, file_name) == expected, file_name
    finally:
        con.close()


def test_equal_hashes_of_different_values_make_no_duplicate(tmp_path, monkeypatch):
    """Program rows are grouped by a hash of their values before the values are compared: with
    a hash that collides for every other row, every row still lands where expected."""
    monkeypatch.setattr(accept, "VALUES_HASH", "(hash({}) % 2)")
    _assert_every_row_lands_as_expected(tmp_path)


def test_a_candidate_key_every_record_shares_changes_no_outcome(tmp_path, monkeypatch):
    """Program rows are compared only when their candidate key (a function of their values)
    repeats (record_candidates.sql): with one key for every record, so every record compared,
    every row still lands where expected."""
    for kind in ("disbursements", "pbi", "local"):
        monkeypatch.setitem(
            schema.ACCEPTANCE, kind, dataclasses.replace(schema.ACCEPTANCE[kind], candidate_key="0")
        )
    _assert_every_row_lands_as_expected(tmp_path)


def test_every_contract_reason_is_exercised():
    used = {
        reason
        for _, rows, _ in FILES.values()
        for _, outcome, detail in rows
        if outcome != "duplicate"
        for reason in (r if isinstance(r, str) else r[1] for r in detail)
    }
    assert set(ROW_REASONS) <= used


def test_data_quality_rows_add_up(run):
    con, summary = run
    rows = con.execute(
        "select file_name, kind, file_outcome, file_reason, rows_read, accepted, quarantined, "
        "duplicate, skipped_lines from ingest_data_quality where run_id = 'run-1' "
        "order by file_name"
    ).fetchall()
    by_name = {row[0]: row for row in rows}
    for name, (kind, expected_rows, options) in FILES.items():
        outcomes = [outcome for _, outcome, _ in expected_rows]
        assert by_name[name] == (
            name,
            kind,
            "loaded",
            None,
            len(expected_rows),
            outcomes.count("accepted"),
            outcomes.count("quarantined"),
            outcomes.count("duplicate"),
            options.get("skipped_lines", 0),
        )
    assert by_name["dtsen_anggota_3375_202609.csv"][1:] == (
        "members",
        "quarantined",
        "column_missing",
        0,
        0,
        0,
        0,
        0,
    )
    assert by_name["salur_lama.csv"][1:] == ("disbursements", "already_loaded", None, 0, 0, 0, 0, 0)
    assert summary.rows_read == summary.accepted + summary.quarantined + summary.duplicate
    assert len(summary.files) == len(FILES) + 2


def test_reason_counts_per_file(run):
    con, summary = run
    got = dict(
        con.execute(
            "select reason, rows from ingest_data_quality_reason where file_name = ?", [HH]
        ).fetchall()
    )
    expected: dict[str, int] = {}
    for _, outcome, detail in HOUSEHOLD_ROWS:
        if outcome == "quarantined":
            for reason in detail:
                expected[reason] = expected.get(reason, 0) + 1
    assert got == expected
    assert summary.reasons["household_duplicate_key"] == 2
    assert summary.top_reasons(1)[0][1] == max(summary.reasons.values())


def test_accepted_values_are_typed_and_normalised(run):
    con, _ = run
    h2 = con.execute(
        "select snapshot, kelurahan_code, pengeluaran_per_kapita, rt, rw, desil, luas_lantai "
        "from registry_households where id_keluarga = 'H2'"
    ).fetchone()
    assert h2 == (
        date(2026, 6, 1),
        "33.75.01.1003",
        Decimal("450000.00"),
        1,
        2,
        1,
        Decimal("36.00"),
    )
    h3 = con.execute(
        "select kelurahan_code from registry_households where id_keluarga = 'H3'"
    ).fetchone()
    assert h3 == ("33.75.01.1004",)
    members = con.execute(
        "select nik, jenis_kelamin, tanggal_lahir "
        f"from {with_file('registry_members')} where file_name = ? order by row_number",
        [MEM],
    ).fetchall()
    assert members[:3] == [
        (nik(1), "L", date(1980, 1, 1)),
        (nik(2), "P", date(1990, 6, 26)),
        (nik(3), "L", date(1990, 6, 26)),
    ]
    types = dict(
        con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_name = 'registry_households'"
        ).fetchall()
    )
    assert types["desil"] == "TINYINT" and types["luas_lantai"] == "DECIMAL(12,2)"


def test_program_records(run):
    con, _ = run
    rows = con.execute(
        "select file_name, row_number, program, source_kind, record_date, period, nik, no_kk, "
        f"amount_idr, status, funding_source, channel, stage from {with_file('program_records')} "
        "order by file_name, row_number"
    ).fetchall()
    june, june20 = date(2026, 6, 1), date(2026, 6, 20)
    march = date(2026, 3, 15)
    pkh = ("disbursements", june20, june)
    assert rows == [
        (
            MODAL,
            1,
            "MODAL_USAHA",
            "local",
            march,
            date(2026, 3, 1),
            nik(1),
            None,
            Decimal("1000000"),
            "success",
            "APBD",
            None,
            None,
        ),
        # SUMBER_DANA "ASING" is flagged: the catalog's funding of MODAL_USAHA (APBD) is used
        (
            MODAL,
            3,
            "MODAL_USAHA",
            "local",
            march,
            date(2026, 3, 1),
            nik(3),
            None,
            Decimal("1000000"),
            "success",
            "APBD",
            None,
            None,
        ),
        (
            MODAL,
            5,
            "ZAKAT",
            "local",
            march,
            date(2026, 3, 1),
            nik(5),
            None,
            Decimal("3000000"),
            "success",
            "BAZNAS",
            None,
            None,
        ),
        # the unknown kelurahan is flagged (kelurahan_code null, as for a list without one)
        (
            MODAL,
            6,
            "MODAL_USAHA",
            "local",
            march,
            date(2026, 3, 1),
            nik(6),
            None,
            Decimal("1000000"),
            "success",
            "APBD",
            None,
            None,
        ),
        (
            LATIH,
            1,
            "PELATIHAN",
            "local",
            march,
            date(2026, 3, 1),
            nik(1),
            None,
            Decimal("0"),
            "success",
            "DBHCHT",
            None,
            None,
        ),
        (
            LATIH,
            2,
            "PELATIHAN",
            "local",
            march,
            date(2026, 3, 1),
            nik(2),
            None,
            Decimal("0"),
            "success",
            "APBD",
            None,
            None,
        ),
        (
            PBI,
            1,
            "PBI_JK",
            "pbi",
            june,
            june,
            nik(1),
            None,
            Decimal("42000"),
            "success",
            "APBD",
            None,
            None,
        ),
        (
            PBI,
            2,
            "PBI_JK",
            "pbi",
            june,
            june,
            nik(2),
            None,
            Decimal("0"),
            "inactive",
            "APBN",
            None,
            None,
        ),
        (
            PBI,
            3,
            "PBI_JK",
            "pbi",
            june,
            june,
            nik(3),
            None,
            Decimal("42000"),
            "success",
            "APBN",
            None,
            None,
        ),
        # the 14-digit NIK is flagged: an accepted member-month without a NIK (unmatched)
        (PBI, 6, "PBI_JK", "pbi", june, june, None, None, Decimal("42000"), "success", "APBN",
         None, None),
        (PKH, 1, "PKH", *pkh, nik(1), kk(1), Decimal("600000"), "success", "APBN", "bri", 2),
        (PKH, 3, "PKH", *pkh, UNMATCHED, None, Decimal("600000"), "success", "APBN", "bri", 2),
        (PKH, 10, "BPNT", *pkh, nik(2), kk(1), Decimal("600000"), "success", "APBN", "bri", 2),
        (PKH, 11, "PKH", *pkh, nik(2), kk(1), Decimal("600000"), "failed", "APBN", "bri", 2),
        # flagged fields are null: the kelurahan (12), NO_KK (13), NIK (17); TAHAP "dua" (16)
        # is unreadable, so the file name's stage 2 is used, as when TAHAP is empty
        (PKH, 12, "PKH", *pkh, nik(3), kk(1), Decimal("600000"), "success", "APBN", "bri", 2),
        (PKH, 13, "PKH", *pkh, nik(3), None, Decimal("600000"), "success", "APBN", "bri", 2),
        (PKH, 16, "PKH", *pkh, nik(3), kk(1), Decimal("600000"), "success", "APBN", "bri", 2),
        (PKH, 17, "PKH", *pkh, None, kk(1), Decimal("600000"), "success", "APBN", "bri", 2),
        (PKH_AGAIN, 2, "PKH", *pkh, nik(4), kk(1), Decimal("600000"), "success", "APBN", "bri", 2),
    ]


def test_quarantine_keeps_raw_values(run):
    con, _ = run
    raw = con.execute(
        f"select raw_values from {with_file('quarantine')} where file_name = ? and row_number = 4",
        [HH],
    ).fetchone()[0]
    values = json.loads(raw)
    assert values["id_keluarga"] == "H4" and values["kode_kelurahan"] == "9999999999"
    assert "load_id" not in values and "row_number" not in values
    malformed = json.loads(
        con.execute(
            f"select raw_values from {with_file('quarantine')} "
            "where file_name = ? and row_number = 12",
            [HH],
        ).fetchone()[0]
    )
    assert malformed["malformed"] is True and "H10" in json.dumps(malformed["extra"])


def test_snapshot_status(run):
    con, summary = run
    assert con.execute("select * from snapshot_status order by snapshot").fetchall() == [
        (date(2026, 6, 1), True, "lengkap"),
        (
            date(2026, 9, 1),
            False,
            "berkas anggota tidak termuat; dikarantina: "
            "dtsen_anggota_3375_202609.csv (column_missing)",
        ),
    ]
    assert [s.usable for s in summary.snapshots] == [True, False]


def test_validation_results_are_returned_per_kind(run):
    _, summary = run
    assert sorted(v.suite_name for v in summary.validations) == [
        "stg_disbursements",
        "stg_households",
        "stg_local",
        "stg_members",
        "stg_pbi",
    ]
    assert not any(v.success for v in summary.validations)


# ------------------------------------------------------------------------ across runs


@pytest.fixture
def fresh(tmp_path):
    """A new warehouse (in memory) with reference data and ``ingest_file``."""
    settings = make_settings(tmp_path)
    con = connect(settings, ":memory:")
    reference.install(con)
    yield settings, con, RawWorld(con)
    con.close()


def test_incremental_second_run_and_repeats_across_runs(fresh):
    settings, con, world = fresh
    first = [
        world.add_file(
            "households",
            HH,
            [household(id_keluarga="H1"), household(id_keluarga="H2", pengeluaran_per_kapita="0")],
        ),
        world.add_file(
            "disbursements", PKH, [disbursement()], program="PKH", channel="bri", stage=2
        ),
    ]
    process_loads(con, settings, "run-1", first)
    before = con.execute("select count(*) from registry_households").fetchone()[0]

    second = [
        FileOutcome(HH, first[0].sha256, "households", "already_loaded", None, 0, 0, None),
        world.add_file(
            "members",
            MEM,
            [
                member(id_keluarga="H1"),
                member(id_keluarga="H2", nik=nik(2)),
                member(id_keluarga="H3", nik=nik(3)),
            ],
        ),
        world.add_file(
            "households",
            "dtsen_keluarga_3375_202606_revisi.csv",
            [
                household(id_keluarga="H1"),
                household(id_keluarga="H1", alamat="Jl. Lain"),
                household(id_keluarga="H3"),
            ],
        ),
        world.add_file(
            "disbursements",
            PKH_AGAIN,
            [disbursement(nominal="600.000,00")],
            program="PKH",
            channel="bri",
            stage=2,
        ),
    ]
    summary = process_loads(con, settings, "run-2", second)
    assert before == 1
    assert outcome_of(con, MEM) == {
        1: ("accepted", []),
        2: ("quarantined", ["household_quarantined"]),
        3: ("accepted", []),  # H3 arrives in this run's revised household file
    }
    assert outcome_of(con, "dtsen_keluarga_3375_202606_revisi.csv") == {
        1: ("duplicate", (HH, 1)),
        2: ("quarantined", ["household_duplicate_key"]),
        3: ("accepted", []),
    }
    assert outcome_of(con, PKH_AGAIN) == {1: ("duplicate", (PKH, 1))}
    assert outcome_of(con, HH) == {
        1: ("accepted", []),
        2: ("quarantined", ["expenditure_invalid"]),
    }
    run2 = con.execute(
        "select file_name, file_outcome, rows_read, accepted, quarantined, duplicate "
        "from ingest_data_quality where run_id = 'run-2' order by file_name"
    ).fetchall()
    assert run2 == [
        (MEM, "loaded", 3, 2, 1, 0),
        (HH, "already_loaded", 0, 0, 0, 0),
        ("dtsen_keluarga_3375_202606_revisi.csv", "loaded", 3, 1, 1, 1),
        (PKH_AGAIN, "loaded", 1, 0, 0, 1),
    ]
    assert summary.accepted == 3 and summary.duplicate == 2
    assert con.execute("select count(*) from ingest_data_quality").fetchone()[0] == 6


def test_no_new_files_changes_no_data(fresh):
    settings, con, world = fresh
    loaded = world.add_file("households", HH, [household()])
    process_loads(con, settings, "run-1", [loaded])
    snapshot = con.execute("select * from registry_households").fetchall()
    again = FileOutcome(HH, loaded.sha256, "households", "already_loaded", None, 0, 0, None)
    summary = process_loads(con, settings, "run-2", [again])
    assert con.execute("select * from registry_households").fetchall() == snapshot
    assert summary.accepted == summary.quarantined == summary.duplicate == 0
    assert summary.validations == []


def test_reconciliation_failure_raises_and_rolls_back(fresh):
    settings, con, world = fresh
    ensure_tables(con)
    good = world.add_file("households", HH, [household()])
    bad = world.add_file("disbursements", PKH, [disbursement()], program="PKH", rows_read=3)
    con.execute("begin transaction")  # the nightly flow's transaction
    with pytest.raises(ReconciliationError, match=PKH) as error:
        process_loads(con, settings, "run-1", [good, bad])
    con.execute("rollback")
    assert "rows_read 3" in str(error.value) and "accepted 1" in str(error.value)
    for table in ("registry_households", "program_records", "ingest_data_quality"):
        assert con.execute(f"select count(*) from {table}").fetchone()[0] == 0


def test_quarantined_file_with_rows_read_fails_reconciliation(fresh):
    settings, con, world = fresh
    odd = FileOutcome(
        "pbi_jk_202606.csv", "cd" * 32, "pbi", "quarantined", "header_missing", 7, 0, None
    )
    with pytest.raises(ReconciliationError, match="pbi_jk_202606.csv"):
        process_loads(con, settings, "run-1", [odd])


# -------------------------------------------------------- scratch space outside the transaction


def _transaction_bytes(con) -> int:
    """Bytes of in-memory tables plus DuckDB's spill files (what a transaction can hold)."""
    memory = con.execute(
        "select coalesce(sum(memory_usage_bytes + temporary_storage_bytes), 0) "
        "from duckdb_memory() where tag = 'IN_MEMORY_TABLE'"
    ).fetchone()[0]
    spill = con.execute("select coalesce(sum(size), 0) from duckdb_temporary_files()").fetchone()[0]
    return int(memory) + int(spill)


def test_ingest_holds_no_scratch_data_in_the_transaction(tmp_path):
    """On a generated sample in a file warehouse: after process_loads (before the commit) no
    staging table or view is left, the scratch folder is gone, and what the transaction holds
    beyond the committed state is a small fraction of the staged rows (staging every kind into
    temporary tables, as the ingest once did, holds several times more)."""
    from tkpk.ingest.accept import KIND_ORDER, create_batch, stage
    from tkpk.ingest.raw import load_new_files
    from tkpk.synth import generate

    settings = make_settings(tmp_path)
    generate(settings.raw_dir, tmp_path / "synth", 300, "2026-01:2026-02", 11, "33.75", 0.02)
    con = connect(settings)
    con.begin()
    reference.install(con)
    outcomes = load_new_files(con, settings, "run-1")
    con.commit()
    loaded = [o for o in outcomes if o.outcome == "loaded"]
    assert {o.kind for o in loaded} >= {"households", "members", "disbursements", "pbi"}

    committed = _transaction_bytes(con)
    con.begin()  # control: the staged rows as temporary tables, created and dropped
    create_batch(con, loaded)
    for kind in KIND_ORDER:
        con.execute(f"drop table {stage(con, kind)}")
    staged = _transaction_bytes(con) - committed
    con.rollback()

    con.begin()
    summary = process_loads(con, settings, "run-1", outcomes)
    assert summary.accepted > 1000
    leftovers = con.execute(
        "select table_name from duckdb_tables() where temporary "
        "union all select view_name from duckdb_views() where temporary and not internal"
    ).fetchall()
    assert leftovers == []
    assert not any(settings.scratch_dir.iterdir())
    held_in_run = _transaction_bytes(con)
    con.commit()
    committed = _transaction_bytes(con)
    con.close()
    assert staged > 1_000_000
    assert held_in_run - committed < staged / 3, (held_in_run - committed, staged)


def test_scratch_folder_removed_after_an_error_and_stale_ones_at_the_next_run(fresh):
    import fcntl
    import os

    settings, con, world = fresh
    root = settings.scratch_dir
    root.mkdir(parents=True)
    (root / "killed-run").mkdir()
    (root / "killed-run" / "households").mkdir()
    (root / "killed-run" / "households" / "stg_households.parquet").write_bytes(b"x")
    (root / "killed-run.lock").touch()
    (root / "live-run").mkdir()
    live_lock = os.open(root / "live-run.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(live_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        good = world.add_file("households", HH, [household()])
        bad = world.add_file("disbursements", PKH, [disbursement()], program="PKH", rows_read=3)
        with pytest.raises(ReconciliationError):
            process_loads(con, settings, "run-1", [good, bad])
        assert sorted(p.name for p in root.iterdir()) == ["live-run", "live-run.lock"]
        leftovers = con.execute(
            "select view_name from duckdb_views() where temporary and not internal"
        ).fetchall()
        assert leftovers == []
    finally:
        os.close(live_lock)


def test_flagged_fields_are_recorded_without_personal_values(run):
    con, summary = run
    got = con.execute(
        "select file_name, row_number, column_name, reason, raw_value, period, kelurahan_code, "
        f"id_keluarga from {with_file('flagged_field')} where (file_name, row_number) in "
        "((?, 7), (?, 22), (?, 12), (?, 15), (?, 12), (?, 3)) order by file_name, row_number, "
        "column_name",
        [HH, HH, MEM, MEM, PKH, MODAL],
    ).fetchall()
    june, march = date(2026, 6, 1), date(2026, 3, 1)
    medono = "33.75.01.1002"
    assert got == [
        # SUMBER_DANA "ASING": the raw value is kept (not personal data)
        (MODAL, 3, "SUMBER_DANA", "code_invalid", "ASING", march, "33.75.01.1002", None),
        # NO_KK and a birth date are personal data: no raw value
        (MEM, 12, "TANGGAL_LAHIR", "date_invalid", None, june, medono, "H1"),
        (MEM, 15, "JENIS_KELAMIN", "code_invalid", "X", june, medono, "H1"),
        (HH, 7, "NO_KK", "kk_invalid", None, june, medono, "H7"),
        (HH, 22, "DESIL", "code_invalid", "11", june, medono, "H18"),
        (HH, 22, "JENIS_LANTAI", "code_invalid", "9", june, medono, "H18"),
        # only the kelurahan name was given: it is the flagged column
        (PKH, 12, "NAMA_KELURAHAN", "kelurahan_unknown", "Atlantis", june, None, None),
    ]
    # every (file, row, column, reason) once; the summary counts them per reason
    total = con.execute("select count(*) from flagged_field").fetchone()[0]
    distinct = con.execute(
        "select count(*) from (select distinct file_id, row_number, column_name, reason "
        "from flagged_field)"
    ).fetchone()[0]
    assert total == distinct == sum(summary.flagged.values())
    # 4 NIKs of members (rows 6, 7, 8, 23) + 1 PBI row
    assert summary.flagged["nik_invalid"] == 5


def test_flagged_fields_are_null_in_the_accepted_tables(run):
    con, _ = run
    h18 = con.execute(
        "select desil, jenis_lantai, jenis_dinding, pengeluaran_per_kapita, luas_lantai "
        "from registry_households where id_keluarga = 'H18'"
    ).fetchone()
    assert h18 == (None, None, 1, Decimal("600000"), Decimal("36"))
    members = dict(
        con.execute(
            "select row_number, struct_pack(nik, tanggal_lahir, jenis_kelamin) "
            f"from {with_file('registry_members')} "
            "where file_name = ? and row_number in (6, 12, 15)",
            [MEM],
        ).fetchall()
    )
    assert members == {
        6: {"nik": None, "tanggal_lahir": date(1980, 1, 1), "jenis_kelamin": "L"},
        12: {"nik": nik(12), "tanggal_lahir": None, "jenis_kelamin": "L"},
        15: {"nik": nik(15), "tanggal_lahir": date(1980, 1, 1), "jenis_kelamin": None},
    }


def test_member_with_flagged_nik_repeated_in_a_later_run_is_a_duplicate(fresh):
    settings, con, world = fresh
    households = world.add_file("households", HH, [household(id_keluarga="H1")])
    first = world.add_file("members", MEM, [member(nik="123"), member(nik="124")])
    process_loads(con, settings, "run-1", [households, first])
    again = world.add_file(
        "members",
        "dtsen_anggota_3375_202606_revisi.csv",
        [member(nik="124"), member(nik="125"), member(nik="124", nama="Warga Lain")],
    )
    process_loads(con, settings, "run-2", [again])
    assert outcome_of(con, "dtsen_anggota_3375_202606_revisi.csv") == {
        1: ("duplicate", (MEM, 2)),
        # another broken NIK, or the same broken NIK with another name: another person
        2: ("accepted", [("NIK", "nik_invalid")]),
        3: ("accepted", [("NIK", "nik_invalid")]),
    }
    assert con.execute("select count(*) from registry_members").fetchone()[0] == 4


def test_older_warehouse_gets_integer_lineage_on_open(fresh):
    """A warehouse from before integer lineage (sha256 + file_name in the accepted, quarantine,
    duplicate and flagged tables; the duplicate pointer a file name) is rewritten when the ingest
    opens it: the same rows with their file_id, the pointer by the file's id; a repeat in the
    next run is still found."""
    settings, con, world = fresh
    first = [
        world.add_file(
            "households",
            HH,
            [
                household(id_keluarga="H1"),
                household(id_keluarga="H1"),  # a duplicate of row 1
                household(id_keluarga="H2", pengeluaran_per_kapita="0"),  # quarantined
            ],
        ),
        world.add_file("members", MEM, [member(nik="123")]),  # accepted, its NIK flagged
        world.add_file(
            "disbursements", PKH, [disbursement()], program="PKH", channel="bri", stage=2
        ),
    ]
    process_loads(con, settings, "run-1", first)
    before = {t: sorted(con.execute(f"select * from {t}").fetchall()) for t in LINEAGE_TABLES}
    assert all(before.values())
    for table in LINEAGE_TABLES:  # back to the old layout
        pointer = table == "duplicate"
        con.execute(
            f"""
            create or replace table {table} as
            select i.sha256, i.file_name,
                t.* exclude (file_id{", duplicate_of_file_id" if pointer else ""})
                {", o.file_name as duplicate_of_file" if pointer else ""}
            from {table} as t
            join ingest_file as i on i.file_id = t.file_id
            {"left join ingest_file as o on o.file_id = t.duplicate_of_file_id" if pointer else ""}
            """
        )
    assert accept.upgrade_lineage(con) == list(LINEAGE_TABLES)
    assert accept.upgrade_lineage(con) == []  # once only
    after = {t: sorted(con.execute(f"select * from {t}").fetchall()) for t in LINEAGE_TABLES}
    assert after == before
    again = world.add_file(
        "households", "dtsen_keluarga_3375_202606_revisi.csv", [household(id_keluarga="H1")]
    )
    process_loads(con, settings, "run-2", [again])
    assert outcome_of(con, "dtsen_keluarga_3375_202606_revisi.csv") == {
        1: ("duplicate", (HH, 1))
    }


def test_a_rule_file_without_a_value_for_a_placeholder_is_an_error():
    with pytest.raises(KeyError, match="registry_decision.sql: no value for"):
        accept.render("registry_decision", kind="households")
    # every rule file renders with a kind's values, and leaves no placeholder
    for name in sorted(p.stem for p in accept.ACCEPT_DIR.glob("*.sql")):
        text = accept.render(name, **accept._rule_values("members"))
        assert "{{" not in text, name
