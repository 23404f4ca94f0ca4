"""Two severities end to end: from raw rows through the ingest to the curated tables.

One snapshot (June 2026) of four Medono households, worked by hand:

- H1: expenditure Rp300,000 (poor), 2 valid members (NIK 1 and 2).
- H2: DESIL 11 and floor code 9 (flagged, the household is accepted), Rp300,000 (poor); NO_KK
  kk(2); 2 members: one with a broken NIK ("123"), one born on 31/02/1990 (both flagged, both
  count in the population).
- H3: expenditure 0: quarantined (``expenditure_invalid``) with its member.
- H4: Rp1,000,000 (not poor), 1 valid member (NIK 5).

Medono in June 2026: population 2 + 2 + 1 = 5 persons in 3 households; poor 4 persons (H1, H2)
in 2 households; P0 = 4 / 5 = 0.8. (Before the two severities H2 and its members were quarantined:
population 3, poor 2, P0 = 2 / 3.) DESIL 1-4: H1 and H4 (DESIL 1); H2's DESIL is null.
The poverty line in force (Rp570,870 at the time of writing) lies between 300,000 and 1,000,000.

PKH, June 2026 (stage 2, Rp600,000 each): one record with a broken NIK and H2's NO_KK (matched by
NO_KK: H2 is a recipient), one with a broken NIK and no NO_KK (unmatched: counted on the city row
only), one with NIK 1 (H1). Recipients in Medono: H1 and H2.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import raw_support
from raw_support import RawWorld, disbursement, household, kk, local, member, nik

from tkpk import reference
from tkpk.config import Settings
from tkpk.db import connect
from tkpk.ingest.accept import process_loads
from transforms.runner import build_marts

MEDONO = "33.75.01.1002"
CITY = "33.75"
JUNE = date(2026, 6, 1)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The warehouse after one run over the files above and the marts."""
    folder = tmp_path_factory.mktemp("severities")
    settings = Settings(
        raw_dir=folder / "raw", curated_dir=folder / "curated",
        warehouse=folder / "warehouse.duckdb", temp_dir=folder / "tmp",
        duckdb_memory_limit="1GB", duckdb_threads=2,
    )
    con = connect(settings, ":memory:")
    reference.install(con)
    world = RawWorld(con)
    poor, rich = "300.000", "1.000.000"
    outcomes = [
        world.add_file(
            "households", "dtsen_keluarga_3375_202606.csv",
            [
                household(id_keluarga="H1", no_kk=kk(1), pengeluaran_per_kapita=poor),
                household(id_keluarga="H2", no_kk=kk(2), pengeluaran_per_kapita=poor,
                          desil="11", jenis_lantai="9"),
                household(id_keluarga="H3", no_kk=kk(3), pengeluaran_per_kapita="0"),
                household(id_keluarga="H4", no_kk=kk(4), pengeluaran_per_kapita=rich),
            ],
        ),
        world.add_file(
            "members", "dtsen_anggota_3375_202606.csv",
            [
                member(id_keluarga="H1", nik=nik(1)),
                member(id_keluarga="H1", nik=nik(2), nama="Warga Dua"),
                member(id_keluarga="H2", nik="123", nama="Warga Tiga"),
                member(id_keluarga="H2", nik=nik(4), nama="Warga Empat",
                       tanggal_lahir="31/02/1990"),
                member(id_keluarga="H3", nik=nik(6), nama="Warga Enam"),
                member(id_keluarga="H4", nik=nik(5), nama="Warga Lima"),
            ],
        ),
        world.add_file(
            "disbursements", "salur_pkh_bri_202606_tahap2.csv",
            [
                disbursement(nik="123", no_kk=kk(2), nama="Warga Tiga"),
                disbursement(nik="999", no_kk=None, nama="Orang Luar"),
                disbursement(nik=nik(1), no_kk=kk(1)),
            ],
            program="PKH", channel="bri", stage=2,
        ),
        world.add_file(
            "local", "bantuan_modal_usaha_2026.xlsx",
            [local(nik=nik(1), sumber_dana="ASING", tanggal="15/06/2026")],
            period="2026", program="MODAL_USAHA",
        ),
    ]
    process_loads(con, settings, "run-1", outcomes)
    build_marts(con)
    yield con
    con.close()


def test_flagged_households_and_members_count_in_p0(built):
    row = built.execute(
        "select population, households, poor_population, poor_households, p0, "
        "households_desil_1_4 from kelurahan_poverty where period = ? and area_code = ?",
        [JUNE, MEDONO],
    ).fetchone()
    assert row == (5, 3, 4, 2, pytest.approx(0.8), 2)


def test_expenditure_zero_is_quarantined_with_its_members(built):
    assert built.execute(
        f"select file_name, row_number, reasons from {raw_support.with_file('quarantine')} "
        "order by file_name"
    ).fetchall() == [
        ("dtsen_anggota_3375_202606.csv", 5, ["household_quarantined"]),
        ("dtsen_keluarga_3375_202606.csv", 3, ["expenditure_invalid"]),
    ]


def test_the_defects_are_in_data_quality_field(built):
    assert built.execute(
        "select file, row_number, column_name, reason, raw_value, kelurahan_code, id_keluarga "
        "from data_quality_field order by file, row_number, column_name"
    ).fetchall() == [
        ("bantuan_modal_usaha_2026.xlsx", 1, "SUMBER_DANA", "code_invalid", "ASING", MEDONO,
         None),
        ("dtsen_anggota_3375_202606.csv", 3, "NIK", "nik_invalid", None, MEDONO, "H2"),
        ("dtsen_anggota_3375_202606.csv", 4, "TANGGAL_LAHIR", "date_invalid", None, MEDONO,
         "H2"),
        ("dtsen_keluarga_3375_202606.csv", 2, "DESIL", "code_invalid", "11", MEDONO, "H2"),
        ("dtsen_keluarga_3375_202606.csv", 2, "JENIS_LANTAI", "code_invalid", "9", MEDONO, "H2"),
        ("salur_pkh_bri_202606_tahap2.csv", 1, "NIK", "nik_invalid", None, None, None),
        ("salur_pkh_bri_202606_tahap2.csv", 2, "NIK", "nik_invalid", None, None, None),
    ]
    assert built.execute(
        "select area_code, kind, column_name, rows from data_quality_field_summary "
        "where period = ? order by all",
        [JUNE],
    ).fetchall() == [
        (CITY, "disbursements", "NIK", 2),
        (MEDONO, "households", "DESIL", 1),
        (MEDONO, "households", "JENIS_LANTAI", 1),
        (MEDONO, "local", "SUMBER_DANA", 1),
        (MEDONO, "members", "NIK", 1),
        (MEDONO, "members", "TANGGAL_LAHIR", 1),
    ]


def test_program_record_with_flagged_nik_is_matched_by_no_kk(built):
    medono = built.execute(
        "select recipient_households from program_reach "
        "where period = ? and area_code = ? and program = 'PKH'",
        [JUNE, MEDONO],
    ).fetchone()
    assert medono == (2,)  # H1 by NIK, H2 by NO_KK
    city = built.execute(
        "select recipient_households, unmatched_records from program_reach "
        "where period = ? and area_code = ? and program = 'PKH'",
        [JUNE, CITY],
    ).fetchone()
    assert city == (2, 1)  # the record with a broken NIK and no NO_KK matches nobody


def test_unreadable_funding_source_uses_the_catalog(built):
    assert built.execute(
        "select funding_source, amount_idr from program_records where program = 'MODAL_USAHA'"
    ).fetchall() == [("APBD", Decimal("1000000"))]


def test_run_summary_counts_the_flagged_fields(built):
    from flows.summary import summarise

    summary = summarise(built, "run-1", [], None)
    # members: NIK, TANGGAL_LAHIR; households: DESIL, JENIS_LANTAI; 2 PKH NIKs; 1 SUMBER_DANA
    assert summary.flagged_reasons == [("code_invalid", 3), ("nik_invalid", 3),
                                       ("date_invalid", 1)]
