"""Staging: every value format of the input contract normalised to its type (no GX involved).

Hand-written raw rows are inserted directly; ``stage`` runs ``transforms/staging/stg_<kind>.sql``
and each row's normalised values are compared with the value worked out by hand.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from raw_support import RawWorld, disbursement, household, local, member, nik, pbi

from tkpk.ingest.accept import STAGING_DIR, create_batch, stage
from tkpk.ingest.raw import FILE_COLUMNS, KIND_COLUMN


def staged(con, kind: str, outcomes, columns: str) -> dict[int, tuple]:
    """row_number -> the selected staged columns, for the given file outcomes."""
    create_batch(con, outcomes)
    table = stage(con, kind)
    rows = con.execute(f"select row_number, {columns} from {table} order by row_id").fetchall()
    return {row[0]: row[1:] if len(row) > 2 else row[1] for row in rows}


NUMBERS = [
    ("600000", Decimal("600000")),
    ("600.000", Decimal("600000")),
    ("600.000,00", Decimal("600000")),
    ("600000,5", Decimal("600000.5")),
    ("Rp 600.000", Decimal("600000")),
    ("Rp600.000,-", Decimal("600000")),
    ("rp. 1.250.000,50", Decimal("1250000.5")),
    ("600000.5", Decimal("600000.5")),  # a numeric spreadsheet cell
    ("1.5E+6", Decimal("1500000")),
    ("  12.500 ", Decimal("12500")),
    ("-600.000", Decimal("-600000")),
    ("enam ratus", None),
    ("", None),
]


def test_indonesian_numbers(con):
    world = RawWorld(con)
    rows = [
        household(id_keluarga=f"H{i}", pengeluaran_per_kapita=text)
        for i, (text, _) in enumerate(NUMBERS)
    ]
    out = world.add_file("households", "dtsen_keluarga_3375_202606.csv", rows)
    values = staged(con, "households", [out], "pengeluaran_per_kapita")
    assert [values[i + 1] for i in range(len(NUMBERS))] == [want for _, want in NUMBERS]


DATES = [
    ("1990-06-26", date(1990, 6, 26)),
    ("1990-06-26 00:00:00", date(1990, 6, 26)),  # a spreadsheet date cell
    ("26/06/1990", date(1990, 6, 26)),
    ("26-06-1990", date(1990, 6, 26)),
    ("6/7/1990", date(1990, 7, 6)),  # day first, always
    ("6-7-1990", date(1990, 7, 6)),
    ("26.06.1990", date(1990, 6, 26)),
    ("1990-6-1T00:00:00", date(1990, 6, 1)),
    ("26 Juni 1990", date(1990, 6, 26)),
    ("26 Jun 1990", date(1990, 6, 26)),
    ("1 Agu 1990", date(1990, 8, 1)),
    ("1 Agt 1990", date(1990, 8, 1)),
    ("17 AGUSTUS 1945", date(1945, 8, 17)),
    ("31 Des 1999", date(1999, 12, 31)),
    ("5 Mei 2001", date(2001, 5, 5)),
    ("3 okt 2002", date(2002, 10, 3)),
    ("46199", date(2026, 6, 26)),  # spreadsheet serial number
    ("33050", date(1990, 6, 26)),
    ("31/02/1990", None),  # impossible
    ("1990-13-01", None),
    ("26 Juno 1990", None),
    ("kemarin", None),
    ("0199-01-01", None),  # implausible year
]


def test_dates_in_every_format(con):
    world = RawWorld(con)
    rows = [member(nik=nik(i + 1), tanggal_lahir=text) for i, (text, _) in enumerate(DATES)]
    out = world.add_file("members", "dtsen_anggota_3375_202606.csv", rows)
    values = staged(con, "members", [out], "tanggal_lahir")
    assert [values[i + 1] for i in range(len(DATES))] == [want for _, want in DATES]


def test_repeated_texts_read_once_give_each_row_its_value(con):
    """The columns staging reads once per distinct text (a member's birth date; a household's
    survey date, floor area and kelurahan): every row of a repeated text, an empty one and a
    missing one gets the value of its own text."""
    world = RawWorld(con)
    texts = [*DATES, *reversed(DATES), ("", None), (None, None), ("", None)]
    rows = [member(nik=nik(i + 1), tanggal_lahir=text) for i, (text, _) in enumerate(texts)]
    out = world.add_file("members", "dtsen_anggota_3375_202606.csv", rows)
    values = staged(con, "members", [out], "tanggal_lahir")
    assert [values[i + 1] for i in range(len(texts))] == [want for _, want in texts]
    places = [*KELURAHAN, *reversed(KELURAHAN), *KELURAHAN]
    rows = [
        household(
            id_keluarga=f"H{i}",
            kode_kelurahan=code,
            nama_kelurahan=name,
            tanggal_pendataan=DATES[i % len(DATES)][0],
            luas_lantai=NUMBERS[i % len(NUMBERS)][0],
        )
        for i, (code, name, _) in enumerate(places)
    ]
    out = world.add_file("households", "dtsen_keluarga_3375_202607.csv", rows)
    values = staged(
        con, "households", [out],
        "kelurahan_code, tanggal_pendataan, tanggal_pendataan_unparsed, luas_lantai",
    )
    wanted = {
        i + 1: (
            kelurahan,
            DATES[i % len(DATES)][1],
            None if DATES[i % len(DATES)][1] else DATES[i % len(DATES)][0],
            NUMBERS[i % len(NUMBERS)][1],
        )
        for i, (_, _, kelurahan) in enumerate(places)
    }
    assert values == wanted


IDS = [
    # raw text, numeric cell, digits, precision lost
    ("3375010101800001", False, "3375010101800001", False),
    ("'3375010101800001", False, "3375010101800001", False),
    ("3375 0101 0180 0001", False, "3375010101800001", False),
    ("3375.0101.0180.0001", False, "3375010101800001", False),
    (" 3375010101800001\u00a0", False, "3375010101800001", False),
    ("3375010101800000", True, "3375010101800000", True),  # a numeric spreadsheet cell
    ("3375010101800000.0", True, "3375010101800000", True),
    ("3.37501E+15", False, "3375010000000000", True),  # a CSV written from a numeric cell
    ("337501-0101800001", False, "337501-0101800001", False),  # left for the suite to refuse
    ("", False, None, False),
]


def test_nik_cleaning_and_precision(con):
    world = RawWorld(con)
    rows = [member(nik=text, nik_numeric=numeric) for text, numeric, _, _ in IDS]
    out = world.add_file("members", "dtsen_anggota_3375_202606.csv", rows)
    values = staged(con, "members", [out], "nik, nik_precision_lost")
    assert [values[i + 1] for i in range(len(IDS))] == [(d, lost) for _, _, d, lost in IDS]


def test_no_kk_cleaning(con):
    world = RawWorld(con)
    texts = [
        ("'3375012026000001", False),
        ("3.37501E+15", False),
        ("3375012026000000", True),
        (None, False),
    ]
    rows = [household(id_keluarga=f"H{i}", no_kk=t, kk_numeric=n) for i, (t, n) in enumerate(texts)]
    out = world.add_file("households", "dtsen_keluarga_3375_202606.csv", rows)
    values = staged(con, "households", [out], "no_kk, no_kk_precision_lost")
    assert values == {
        1: ("3375012026000001", False),
        2: ("3375010000000000", True),
        3: ("3375012026000000", True),
        4: (None, False),
    }


KELURAHAN = [
    # kode, nama, resolved code
    ("3375011002", None, "33.75.01.1002"),
    ("33.75.01.1003", None, "33.75.01.1003"),
    ("3375011004.0", None, "33.75.01.1004"),  # numeric spreadsheet cell
    ("", "Medono", "33.75.01.1002"),
    (None, "KEL. SAPURO KEBULEN", "33.75.01.1004"),
    (None, "Kelurahan podo sugih", "33.75.01.1003"),  # alias, any case
    (None, "kebulen", "33.75.01.1004"),  # alias of Sapuro Kebulen
    (None, "landungsari", "33.75.02.1002"),
    ("9999999999", "Medono", "33.75.01.1002"),  # the name resolves
    ("3375011002", "Atlantis", "33.75.01.1002"),  # the code resolves
    ("9999999999", "Atlantis", None),
    (None, None, None),
]


def test_kelurahan_resolution(con):
    world = RawWorld(con)
    rows = [
        household(id_keluarga=f"H{i}", kode_kelurahan=code, nama_kelurahan=name)
        for i, (code, name, _) in enumerate(KELURAHAN)
    ]
    out = world.add_file("households", "dtsen_keluarga_3375_202606.csv", rows)
    values = staged(con, "households", [out], "kelurahan_code, kelurahan_unparsed")
    assert [values[i + 1][0] for i in range(len(KELURAHAN))] == [k for _, _, k in KELURAHAN]
    assert values[11] == (None, "9999999999")
    assert values[12] == (None, None)


def test_codes_and_sex(con):
    world = RawWorld(con)
    rows = [
        member(nik=nik(1), jenis_kelamin="l", hubungan_keluarga="01", pendidikan_tertinggi="004"),
        member(nik=nik(2), jenis_kelamin="PEREMPUAN", hubungan_keluarga="3.0"),
        member(nik=nik(3), jenis_kelamin="Laki-Laki", disabilitas="1"),
        member(nik=nik(4), jenis_kelamin="2", status_bekerja="0"),
        member(nik=nik(5), jenis_kelamin="X", hubungan_keluarga="kepala", disabilitas=None),
    ]
    out = world.add_file("members", "dtsen_anggota_3375_202606.csv", rows)
    values = staged(
        con,
        "members",
        [out],
        "jenis_kelamin, jenis_kelamin_unparsed, hubungan_keluarga, hubungan_keluarga_unparsed, "
        "pendidikan_tertinggi, disabilitas",
    )
    assert values == {
        1: ("L", None, 1, None, 4, 0),
        2: ("P", None, 3, None, 2, 0),
        3: ("L", None, 1, None, 2, 1),
        4: ("P", None, 1, None, 2, 0),
        5: (None, "X", None, "kepala", 2, None),
    }


def test_rt_rw_and_snapshot_bounds(con):
    world = RawWorld(con)
    out = world.add_file(
        "households", "dtsen_keluarga_3375_202606.csv", [household(rt="001", rw="12")]
    )
    values = staged(con, "households", [out], "rt, rw, snapshot, period_end, tanggal_pendataan")
    assert values[1] == (1, 12, date(2026, 6, 1), date(2026, 6, 30), date(2026, 6, 10))


def test_disbursement_program_status_stage(con):
    world = RawWorld(con)
    rows = [
        disbursement(status="SUKSES"),
        disbursement(status="berhasil", program="Program Sembako", tahap="3"),
        disbursement(status=" Tersalur ", program="", tahap="Tahap 4"),
        disbursement(status="GAGAL", program="BANSOS ENTAH"),
        disbursement(status="retur", nama_kelurahan="kel. medono"),
        disbursement(status="DIBATALKAN", kode_kelurahan="33.75.04.1002"),
        disbursement(status="PENDING", tahap="dua"),
    ]
    out = world.add_file(
        "disbursements",
        "salur_pkh_bri_202606_tahap2.csv",
        rows,
        program="PKH",
        channel="bri",
        stage=2,
    )
    values = staged(
        con,
        "disbursements",
        [out],
        "program, status, stage, stage_unparsed, channel, funding_source, kelurahan_code, "
        "amount_idr, record_date, period",
    )
    common = (Decimal("600000"), date(2026, 6, 20), date(2026, 6, 1))
    assert values == {
        1: ("PKH", "success", 2, None, "bri", "APBN", None, *common),
        2: ("BPNT", "success", 3, None, "bri", "APBN", None, *common),
        3: ("PKH", "success", 4, None, "bri", "APBN", None, *common),
        4: (None, "failed", 2, None, "bri", None, None, *common),
        5: ("PKH", "failed", 2, None, "bri", "APBN", "33.75.01.1002", *common),
        6: ("PKH", "failed", 2, None, "bri", "APBN", "33.75.04.1002", *common),
        7: ("PKH", None, 2, "dua", "bri", "APBN", None, *common),
    }


def test_pbi_status_premium_and_segment(con):
    world = RawWorld(con)
    rows = [
        pbi(status="AKTIF", segmen="PBI APBD"),
        pbi(status="nonaktif", segmen="PBI APBN"),
        pbi(status="Non Aktif", segmen=""),
        pbi(status="AKTIF", segmen="apbd"),
        pbi(status="HILANG", segmen="SWASTA"),
        # the usual spellings in title and lower case (read by equality), and near misses
        pbi(status="Aktif", segmen="Pbi Apbn"),
        pbi(status="aktif", segmen="pbi apbd"),
        pbi(status="Nonaktif", segmen="Pbi Apbd"),
        pbi(status="nonaktif", segmen="pbi apbn"),
        pbi(status=" Aktif", segmen="Pbi  Apbn"),
        pbi(status="aktiF", segmen="pbi-apbd"),
    ]
    out = world.add_file("pbi", "pbi_jk_202606.csv", rows)
    values = staged(
        con,
        "pbi",
        [out],
        "program, status, amount_idr, funding_source, segmen_unparsed, record_date, period",
    )
    june = date(2026, 6, 1)
    assert values == {
        1: ("PBI_JK", "success", Decimal("42000"), "APBD", None, june, june),
        2: ("PBI_JK", "inactive", Decimal("0"), "APBN", None, june, june),
        3: ("PBI_JK", "inactive", Decimal("0"), "APBN", None, june, june),
        4: ("PBI_JK", "success", Decimal("42000"), "APBD", None, june, june),
        5: ("PBI_JK", None, Decimal("42000"), None, "SWASTA", june, june),
        6: ("PBI_JK", "success", Decimal("42000"), "APBN", None, june, june),
        7: ("PBI_JK", "success", Decimal("42000"), "APBD", None, june, june),
        8: ("PBI_JK", "inactive", Decimal("0"), "APBD", None, june, june),
        9: ("PBI_JK", "inactive", Decimal("0"), "APBN", None, june, june),
        10: ("PBI_JK", "success", Decimal("42000"), "APBN", None, june, june),
        11: ("PBI_JK", "success", Decimal("42000"), "APBD", None, june, june),
    }


def test_local_lists(con):
    world = RawWorld(con)
    rows = [
        local(),
        local(nilai="", jenis_bantuan="Pelatihan Keterampilan", sumber_dana="dbhcht"),
        local(nilai="3.000.000", jenis_bantuan="zakat produktif", sumber_dana=None),
        local(sumber_dana="ASING", kelurahan="KEL. PODOSUGIH"),
        local(nilai="seratus"),
    ]
    out = world.add_file(
        "local", "bantuan_modal_usaha_2026.xlsx", rows, period="2026", program="MODAL_USAHA"
    )
    values = staged(
        con,
        "local",
        [out],
        "program, program_cash, amount_idr, funding_source, funding_source_unparsed, "
        "kelurahan_code, record_date, period_end",
    )
    end = date(2026, 12, 31)
    march = date(2026, 3, 15)
    assert values == {
        1: ("MODAL_USAHA", True, Decimal("1000000"), "APBD", None, "33.75.01.1002", march, end),
        2: ("PELATIHAN", False, Decimal("0"), "DBHCHT", None, "33.75.01.1002", march, end),
        3: ("ZAKAT", True, Decimal("3000000"), "BAZNAS", None, "33.75.01.1002", march, end),
        # unreadable SUMBER_DANA: the catalog's funding of MODAL_USAHA (APBD); the text is kept
        4: ("MODAL_USAHA", True, Decimal("1000000"), "APBD", "ASING", "33.75.01.1003", march, end),
        5: ("MODAL_USAHA", True, None, "APBD", None, "33.75.01.1002", march, end),
    }


#: The row maker of each kind (``tests.raw_files_support``).
MAKERS = {
    "households": household,
    "members": member,
    "disbursements": disbursement,
    "pbi": pbi,
    "local": local,
}


@pytest.mark.parametrize("kind", ["households", "members", "disbursements", "pbi", "local"])
def test_staging_keeps_every_raw_row_once(con, kind):
    world = RawWorld(con)
    maker = MAKERS[kind]
    first = world.add_file(kind, f"{kind}_a.csv", [maker(), maker(), {"malformed": True}])
    second = world.add_file(kind, f"{kind}_b.csv", [maker()])
    create_batch(con, [first, second])
    table = stage(con, kind)
    rows = con.execute(
        f"select file_name, row_number, malformed from {table} order by row_id"
    ).fetchall()
    assert rows == [
        (f"{kind}_a.csv", 1, False),
        (f"{kind}_a.csv", 2, False),
        (f"{kind}_a.csv", 3, True),
        (f"{kind}_b.csv", 1, False),
    ]


@pytest.mark.parametrize("kind", ["households", "members", "disbursements", "pbi", "local"])
def test_staged_rows_have_the_staging_columns_and_the_file_texts(con, kind):
    """The staged Parquet leaves out the file's texts (``FILE_COLUMNS``): ``stage`` takes them
    from ``ingest_batch``, giving back the staging SQL's columns in its order (between its row
    id and file order)."""
    world = RawWorld(con)
    maker = MAKERS[kind]
    out = world.add_file(kind, f"{kind}_a.csv", [maker(), maker()])
    schema = con.execute(f"describe select * from read_parquet('{out.staged}')").fetchall()
    assert not {row[0] for row in schema} & set(FILE_COLUMNS)
    create_batch(con, [out])
    table = stage(con, kind)
    wanted = _staging_columns(con, kind)
    columns = [row[0] for row in con.execute(f"describe {table}").fetchall()]
    assert columns == ["row_id", *wanted, "file_order"]
    rows = con.execute(f"select distinct load_id, sha256, file_name from {table}").fetchall()
    assert rows == [(out.load_id, out.sha256, out.file_name)]
    column, kinds = KIND_COLUMN
    assert (column in wanted) == (kind in kinds)
    if kind in kinds:  # NULL in the staged Parquet, the file's kind in the staged rows
        (written,) = con.execute(
            f"select count({column}) from read_parquet('{out.staged}')"
        ).fetchone()
        assert written == 0
        assert con.execute(f"select distinct {column} from {table}").fetchall() == [(kind,)]
        # the staging SQL's own text is the kind (what the staged rows would hold)
        sql = (STAGING_DIR / f"stg_{kind}.sql").read_text()
        assert f"'{kind}' as {column}," in sql


def _staging_columns(con, kind: str) -> list[str]:
    """The columns of ``transforms/staging/stg_<kind>.sql``, in its order."""
    import pyarrow as pa

    from tkpk.ingest.accept import staging_sql
    from tkpk.ingest.raw import _file_relations, records_schema

    con.register("_no_records", pa.Table.from_pylist([], records_schema(kind)))
    with _file_relations(con, kind, "select * from _no_records", {}):
        return [row[0] for row in con.execute(f"describe {staging_sql(kind)}").fetchall()]
