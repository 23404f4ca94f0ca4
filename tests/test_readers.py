"""CSV and XLSX readers: header aliases, dialects, encodings, row numbering, spreadsheet layouts.

Small hand-written files with synthetic people; every expectation is exact.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest
from raw_files_support import NIK1, NIK2, NIK3, Formula, load, raw_rows, xlsx

from tkpk.ingest.schema import COLUMNS

# ------------------------------------------------------------------------------------------
# Header aliases
# ------------------------------------------------------------------------------------------

FILE_NAMES = {
    "households": "dtsen_keluarga_3375_20260{j}.csv",
    "members": "dtsen_anggota_3375_20260{j}.csv",
    "disbursements": "salur_pkh_bri_20260{j}.csv",
    "pbi": "pbi_jk_20260{j}.csv",
    "local": "bantuan_modal_usaha_2026_{j}.csv",
}
SPELLINGS = [
    lambda name: name,
    lambda name: name.lower().replace("_", " "),
    lambda name: name.title().replace("_", ". "),
    lambda name: f" {name.replace('_', '-')} ",
]


@pytest.mark.parametrize("kind", list(COLUMNS))
def test_every_header_alias_of_every_kind(con, settings, kind) -> None:
    columns = COLUMNS[kind]
    variants = max(len(aliases) + 1 for aliases in columns.values())
    files = {}
    for j in range(variants):
        header = []
        for k, (canonical, aliases) in enumerate(columns.items()):
            names = (canonical, *aliases)
            header.append(SPELLINGS[(j + k) % len(SPELLINGS)](names[j % len(names)]))
        values = [f"v{j}_{k}" for k in range(len(columns))]
        body = ";".join(header) + "\n" + ";".join(values) + "\n"
        files[FILE_NAMES[kind].format(j=j + 1)] = body.encode()
    outcomes = load(con, settings, files)
    assert {o.outcome for o in outcomes.values()} == {"loaded"}
    names = ", ".join(c.lower() for c in columns)
    got = raw_rows(con, kind, names)
    assert got == [tuple(f"v{j}_{k}" for k in range(len(columns))) for j in range(variants)]
    assert raw_rows(con, kind, "extra") == [(None,)] * variants


def test_unlisted_columns_are_kept_in_extra(con, settings) -> None:
    body = f"NO;NIK;KETERANGAN LAIN;STATUS;;NO\n1;{NIK1};catatan 'x';AKTIF;;a\n"
    load(con, settings, {"pbi_jk_202606.csv": body.encode()})
    ((extra,),) = raw_rows(con, "pbi", "extra")
    assert json.loads(extra) == {
        "NO": "1",
        "KETERANGAN LAIN": "catatan 'x'",
        "column_5": None,
        "NO_6": "a",
    }


# ------------------------------------------------------------------------------------------
# CSV dialects and encodings
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
def test_each_delimiter_with_quoted_delimiter(con, settings, delimiter) -> None:
    d = delimiter
    body = (
        f"NIK{d}NAMA{d}STATUS\n"
        f'{NIK1}{d}"Budi{d} S.H."{d}AKTIF\n'
        f'{NIK2}{d}"Siti ""Ani"" Aminah"{d}NONAKTIF\n'
    )
    outcome = load(con, settings, {"pbi_jk_202606.csv": body.encode()})["pbi_jk_202606.csv"]
    assert (outcome.outcome, outcome.rows_read, outcome.skipped_lines) == ("loaded", 2, 0)
    assert raw_rows(con, "pbi", "row_number, nik, nama, status") == [
        (1, NIK1, f"Budi{d} S.H.", "AKTIF"),
        (2, NIK2, 'Siti "Ani" Aminah', "NONAKTIF"),
    ]


def test_utf8_bom_crlf_and_line_break_inside_a_quoted_field(con, settings) -> None:
    body = f'\ufeffNIK;NAMA;STATUS\r\n{NIK1};"Budi\r\nSantoso";AKTIF\r\n{NIK2};Siti;AKTIF\r\n'
    outcome = load(con, settings, {"pbi_jk_202606.csv": body.encode("utf-8")})
    assert outcome["pbi_jk_202606.csv"].rows_read == 2
    assert raw_rows(con, "pbi", "row_number, nik, nama") == [
        (1, NIK1, "Budi\r\nSantoso"),
        (2, NIK2, "Siti"),
    ]
    assert con.execute("select file_encoding from ingest_file").fetchall() == [("utf-8-sig",)]


def test_windows_1252_is_transcoded_including_0x80_to_0x9f(con, settings) -> None:
    body = f"NIK;NAMA;STATUS\n{NIK1};José “Ñoño” €;AKTIF\n".encode("cp1252")
    load(con, settings, {"pbi_jk_202606.csv": body})
    assert raw_rows(con, "pbi", "nama") == [("José “Ñoño” €",)]
    assert con.execute("select file_encoding from ingest_file").fetchall() == [("cp1252",)]
    assert list(settings.temp_dir.glob("transcoded-*")) == []


def test_utf16_with_bom_is_transcoded(con, settings) -> None:
    body = f"NIK\tNAMA\tSTATUS\r\n{NIK1}\tSiti\tAKTIF\r\n".encode("utf-16")
    load(con, settings, {"pbi_jk_202606.csv": body})
    assert raw_rows(con, "pbi", "nik, nama, status") == [(NIK1, "Siti", "AKTIF")]


def test_values_are_raw_text_and_empty_is_null(con, settings) -> None:
    body = f"NIK;NAMA;STATUS\n'{NIK1} ; budi ;\n3.37501E+15;;AKTIF\n"
    load(con, settings, {"pbi_jk_202606.csv": body.encode()})
    assert raw_rows(con, "pbi", "nik, nama, status, nik_numeric") == [
        (f"'{NIK1} ", " budi ", None, False),
        ("3.37501E+15", None, "AKTIF", False),
    ]


def test_malformed_lines_are_kept_and_numbered_among_data_rows(con, settings) -> None:
    body = (
        "NIK;NAMA;TGL_SALUR;NOMINAL;STATUS\n"
        f"{NIK1};Budi;26/06/2026;600.000;SUKSES\n"
        "\n"
        f"{NIK2};Siti;26/06/2026;600.000;SUKSES;extra\n"
        f'{NIK3};"Ani\nRahma";26/06/2026;600.000;SUKSES\n'
        ";;;;\n"
        f"{NIK1};kurang\n"
        f"{NIK2};Siti;27/06/2026;Rp 600.000,-;GAGAL\n"
    )
    name = "salur_pkh_bri_202606_tahap2.csv"
    outcome = load(con, settings, {name: body.encode()})[name]
    assert (outcome.rows_read, outcome.skipped_lines) == (5, 2)
    got = raw_rows(con, "disbursements", "row_number, nik, nama, nominal, malformed, extra")
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in got] == [
        (1, NIK1, "Budi", "600.000", False),
        (2, None, None, None, True),
        (3, NIK3, "Ani\nRahma", "600.000", False),
        (4, None, None, None, True),
        (5, NIK2, "Siti", "Rp 600.000,-", False),
    ]
    bad = json.loads(got[1][5])
    assert bad["_line"] == f"{NIK2};Siti;26/06/2026;600.000;SUKSES;extra"
    assert bad["_error"].startswith("TOO MANY COLUMNS")
    assert json.loads(got[3][5])["_line"] == f"{NIK1};kurang"


def test_csv_title_total_and_signature_lines(con, settings) -> None:
    body = (
        "DAFTAR PENERIMA BANTUAN MODAL USAHA TAHUN 2026;;;;\n"
        "DINAS KOPERASI DAN UKM;;;;\n"
        ";;;;\n"
        "NO;NIK;NAMA;TANGGAL;NILAI\n"
        f"1;{NIK1};Budi;01/03/2026;1.500.000\n"
        f"2;{NIK2};Siti;01/03/2026;1.500.000\n"
        "JUMLAH;;;;3.000.000\n"
        "\n"
        "Pekalongan, 30 Juni 2026\n"
        ";;;;Kepala Dinas\n"
    )
    name = "bantuan_modal_usaha_2026.csv"
    outcome = load(con, settings, {name: body.encode()})[name]
    assert (outcome.rows_read, outcome.skipped_lines) == (2, 7)
    assert raw_rows(con, "local", "row_number, nik, nilai, extra") == [
        (1, NIK1, "1.500.000", '{"NO":"1"}'),
        (2, NIK2, "1.500.000", '{"NO":"2"}'),
    ]


def test_header_only_file_loads_zero_rows(con, settings) -> None:
    outcome = load(con, settings, {"pbi_jk_202606.csv": b"NIK;NAMA;STATUS\n"})
    assert outcome["pbi_jk_202606.csv"].outcome == "loaded"
    assert outcome["pbi_jk_202606.csv"].rows_read == 0


def test_formula_text_in_csv_is_kept_as_text(con, settings) -> None:
    body = f'NIK;NAMA;STATUS\n{NIK1};"=HYPERLINK(""http://x"",""Budi"")";AKTIF\n'
    load(con, settings, {"pbi_jk_202606.csv": body.encode()})
    assert raw_rows(con, "pbi", "nama") == [('=HYPERLINK("http://x","Budi")',)]


# ------------------------------------------------------------------------------------------
# Spreadsheets
# ------------------------------------------------------------------------------------------

LOCAL_HEADER = ["NO", "NIK", "NAMA", "ALAMAT", "KELURAHAN", "NILAI", "TANGGAL", "SUMBER_DANA"]


def test_government_spreadsheet_layout(con, settings) -> None:
    rows = [
        ["DAFTAR PENERIMA BANTUAN MODAL USAHA TAHUN 2026"],
        ["DINAS KOPERASI DAN UKM KOTA PEKALONGAN"],
        [],
        LOCAL_HEADER,
        [1, 2, 3, 4, 5, 6, 7, 8],
        [1, NIK1, "Budi", "Jl. Merdeka 1", "Kel. Podosugih", 1500000, dt.date(2026, 3, 1), "APBD"],
        [2, float(NIK2), "Siti", "Jl. Hos Cokro", "PODOSUGIH", 1500000.5, 46082, "APBD"],
        [],
        [3, NIK3, "Ani", None, "Sapuro", "1.500.000", "01/03/2026", "CSR"],
        ["JUMLAH", None, None, None, None, 4500000.5],
        [],
        [None, None, None, None, "Pekalongan, 30 Juni 2026"],
        [None, None, None, None, "Kepala Dinas"],
        [None, None, None, None, "NIP. 197001011990031001"],
    ]
    name = "bantuan_modal_usaha_2026.xlsx"
    outcome = load(con, settings, {name: xlsx(rows)})[name]
    assert (outcome.outcome, outcome.rows_read, outcome.skipped_lines) == ("loaded", 3, 10)
    assert raw_rows(
        con, "local", "row_number, nik, nama, alamat, kelurahan, nilai, tanggal, nik_numeric, extra"
    ) == [
        (
            1,
            NIK1,
            "Budi",
            "Jl. Merdeka 1",
            "Kel. Podosugih",
            "1500000",
            "2026-03-01",
            False,
            '{"NO":"1"}',
        ),
        (2, NIK2, "Siti", "Jl. Hos Cokro", "PODOSUGIH", "1500000,5", "46082", True, '{"NO":"2"}'),
        (3, NIK3, "Ani", None, "Sapuro", "1.500.000", "01/03/2026", False, '{"NO":"3"}'),
    ]
    assert con.execute("select file_format from ingest_file").fetchall() == [("xlsx",)]


def test_data_like_row_after_the_total_line_is_kept(con, settings) -> None:
    rows = [
        ["NIK", "NAMA", "TANGGAL"],
        [NIK1, "Budi", "01/03/2026"],
        ["TOTAL", None, None],
        [NIK2, "Siti", "02/03/2026"],
        [None, "Mengetahui, Bendahara", None],
    ]
    name = "bantuan_pelatihan_2026.xlsx"
    outcome = load(con, settings, {name: xlsx(rows)})[name]
    assert (outcome.rows_read, outcome.skipped_lines) == (2, 2)
    assert raw_rows(con, "local", "row_number, nik") == [(1, NIK1), (2, NIK2)]


def test_numeric_cells_of_nik_and_no_kk_are_flagged(con, settings) -> None:
    rows = [
        ["NIK_KPM", "NOKK", "TGL_SALUR", "NOMINAL", "STATUS"],
        [3375014101900000, 3375010101900001, dt.date(2026, 6, 26), 600000, "SUKSES"],
        [NIK2, "3375010101900002", "26/06/2026", "600.000", "SUKSES"],
        ["3.37501E+15", None, "26/06/2026", "600.000", "SUKSES"],
    ]
    name = "salur_pkh_bri_202606.xlsx"
    load(con, settings, {name: xlsx(rows)})
    assert raw_rows(
        con, "disbursements", "nik, no_kk, tanggal_salur, nominal, nik_numeric, kk_numeric"
    ) == [
        ("3375014101900000", "3375010101900001", "2026-06-26", "600000", True, True),
        (NIK2, "3375010101900002", "26/06/2026", "600.000", False, False),
        ("3.37501E+15", None, "26/06/2026", "600.000", False, False),
    ]


def test_only_the_first_sheet_is_read_and_formulas_give_their_value(con, settings) -> None:
    rows = [
        ["NIK_PESERTA", "NAMA_PESERTA", "STATUS_PESERTA"],
        [NIK1, Formula('=HYPERLINK("http://x","Budi")', "Budi"), "AKTIF"],
        [NIK2, '=HYPERLINK("http://evil","Siti")', "AKTIF"],
    ]
    other = [["NIK", "NAMA", "STATUS"], [NIK3, "Other", "AKTIF"]]
    load(con, settings, {"pbi_jk_202606.xlsx": xlsx(rows, second_sheet=other)})
    assert raw_rows(con, "pbi", "nik, nama") == [
        (NIK1, "Budi"),
        (NIK2, '=HYPERLINK("http://evil","Siti")'),
    ]


def test_spreadsheet_named_csv_is_read_by_content(con, settings) -> None:
    rows = [["NIK", "NAMA", "STATUS"], [NIK1, "Budi", "AKTIF"]]
    load(con, settings, {"pbi_jk_202606.csv": xlsx(rows)})
    assert raw_rows(con, "pbi", "nik, nama") == [(NIK1, "Budi")]


def test_reader_works_inside_the_callers_transaction(settings) -> None:
    from tkpk import reference
    from tkpk.db import connect

    con = connect(settings, settings.warehouse)
    reference.install(con)
    con.execute("begin")
    load(
        con,
        settings,
        {
            "pbi_jk_202606.csv": b"NIK;NAMA;STATUS\n1;a;AKTIF\n",
            "pbi_jk_202607.csv": b'NIK;NAMA;STATUS\n1;"a;AKTIF\n2;b;AKTIF\n',
            "pbi_jk_202608.csv": b"\x00\x01\x02garbage",
        },
    )
    con.execute("commit")
    assert con.execute("select file_name, file_outcome from ingest_file order by 1").fetchall() == [
        ("pbi_jk_202606.csv", "loaded"),
        ("pbi_jk_202607.csv", "quarantined"),
        ("pbi_jk_202608.csv", "quarantined"),
    ]
    con.close()
    reopened = duckdb.connect(str(Path(settings.warehouse)), read_only=True)
    assert reopened.execute(
        "select rows_read from ingest_file where file_outcome = 'loaded'"
    ).fetchall() == [(1,)]
    reopened.close()


def test_spreadsheet_cell_text_rules() -> None:
    from tkpk.ingest.spreadsheet import _column_arrays

    column = [
        "",
        "a",
        1.0,
        3375010101900001.0,
        1500000.5,
        dt.date(2026, 1, 2),
        dt.datetime(2026, 1, 2),
        dt.datetime(2026, 1, 2, 13, 30),
    ]
    odd = [True, dt.time(1, 2), "", "x", 2.0, None, None, None]
    texts, flags = _column_arrays([list(r) for r in zip(column, odd, strict=True)], 2, {0})
    assert texts[0].to_pylist() == [
        None,
        "a",
        "1",
        "3375010101900001",
        "1500000,5",
        "2026-01-02",
        "2026-01-02",
        "2026-01-02 13:30:00",
    ]
    assert texts[1].to_pylist() == ["TRUE", "01:02:00", None, "x", "2", None, None, None]
    assert flags[0].to_pylist() == [False, False, True, True, True, False, False, False]
    assert flags[1].to_pylist() == [False] * 8


def test_windows_1252_byte_deep_in_a_file_rereads_the_whole_file(con, settings) -> None:
    lines = ["NIK;NAMA;STATUS"] + [f"{NIK1};Orang {i};AKTIF" for i in range(3000)]
    lines.append(f"{NIK2};Ñoño;AKTIF")
    body = ("\r\n".join(lines) + "\r\n").encode("cp1252")
    outcome = load(con, settings, {"pbi_jk_202606.csv": body})["pbi_jk_202606.csv"]
    assert (outcome.outcome, outcome.rows_read) == ("loaded", 3001)
    assert raw_rows(con, "pbi", "row_number, nama")[-2:] == [(3000, "Orang 2999"), (3001, "Ñoño")]
    assert con.execute("select file_encoding from ingest_file").fetchall() == [("cp1252",)]


def test_windows_1252_bytes_only_above_the_header_keep_utf8(con, settings) -> None:
    # No row DuckDB reads holds an invalid byte: the file stays UTF-8 (the title line's byte is
    # not a row), even though it holds no valid UTF-8 multi-byte sequence.
    title = "Daftar Penerima – 2026\n".encode("cp1252")
    body = title + f"NIK;NAMA;STATUS\n{NIK1};Siti;AKTIF\n".encode()
    outcome = load(con, settings, {"pbi_jk_202606.csv": body})["pbi_jk_202606.csv"]
    assert (outcome.outcome, outcome.rows_read) == ("loaded", 1)
    assert raw_rows(con, "pbi", "nik, nama") == [(NIK1, "Siti")]
    assert con.execute("select file_encoding from ingest_file").fetchall() == [("utf-8",)]
    assert list(settings.temp_dir.glob("transcoded-*")) == []


def test_windows_1252_file_whose_only_high_byte_is_undefined(con, settings) -> None:
    # The Windows-1252 read has no row with a character above U+007F (the undefined byte's row
    # is rejected there too): the file is read as UTF-8 first, as always, then as Windows-1252.
    body = f"NIK;NAMA;STATUS\n{NIK1};Siti;AKTIF\n{NIK2};Bu".encode() + b"\x81di;AKTIF\n"
    outcome = load(con, settings, {"pbi_jk_202606.csv": body})["pbi_jk_202606.csv"]
    assert (outcome.outcome, outcome.rows_read) == ("loaded", 2)
    assert raw_rows(con, "pbi", "nik, nama, malformed") == [
        (NIK1, "Siti", False),
        (None, None, True),
    ]
    assert con.execute("select file_encoding from ingest_file").fetchall() == [("cp1252",)]
    assert list(settings.temp_dir.glob("transcoded-*")) == []


def test_messages_name_the_dropped_file_not_a_temporary_copy(con, settings) -> None:
    body = "Daftar Penerima Bantuan Tahun 2026 – Dinas Sosial\nbukan header\n".encode("cp1252")
    outcome = load(con, settings, {"pbi_jk_202606.csv": body})["pbi_jk_202606.csv"]
    assert outcome.reason == "header_missing"
    assert outcome.message.startswith("pbi_jk_202606.csv: ")


# ------------------------------------------------------------------------------------------
# Line accounting: blank lines are located only when needed
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_blank_lines_without_rejected_lines_are_counted_not_numbered(con, settings, eol) -> None:
    lines = [
        "NIK;NAMA;STATUS",
        f"{NIK1};Budi;AKTIF",
        "",
        f'{NIK2};"Siti{eol}{eol}Aminah";AKTIF',
        "",
        f"{NIK3};Ani;NONAKTIF",
        "",
    ]
    body = eol.join(lines) + eol
    outcome = load(con, settings, {"pbi_jk_202606.csv": body.encode()})["pbi_jk_202606.csv"]
    assert (outcome.outcome, outcome.rows_read, outcome.skipped_lines) == ("loaded", 3, 3)
    assert raw_rows(con, "pbi", "row_number, nik, nama") == [
        (1, NIK1, "Budi"),
        (2, NIK2, f"Siti{eol}{eol}Aminah"),
        (3, NIK3, "Ani"),
    ]


def test_a_clean_file_is_not_scanned_for_blank_lines(con, settings, monkeypatch) -> None:
    from tkpk.ingest import csv_reader

    def fail(*args, **kwargs):
        raise AssertionError("blank lines looked for in a file whose rows add up")

    monkeypatch.setattr(csv_reader, "blank_line_offsets", fail)
    body = f'NIK;NAMA;STATUS\n{NIK1};"Budi; Santoso";AKTIF\n{NIK2};Siti;AKTIF'.encode()
    outcome = load(con, settings, {"pbi_jk_202606.csv": body})["pbi_jk_202606.csv"]
    assert (outcome.outcome, outcome.rows_read, outcome.skipped_lines) == ("loaded", 2, 0)


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 4096])
def test_blank_line_offsets_across_chunk_boundaries(tmp_path, monkeypatch, chunk) -> None:
    from tkpk.ingest import csv_bytes

    data = b'H\n\na;"b\n\nc"\r\n\r\n\n"x""\n\ny"\n\n\r\nz\n\n'
    # Blank lines outside quotes start at bytes 2, 13, 15, 25, 26, 30 (quoted ones do not count).
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    monkeypatch.setattr(csv_bytes, "CHUNK_BYTES", chunk)
    assert csv_bytes.blank_line_offsets(path) == [2, 13, 15, 25, 26, 30]
    assert csv_bytes.blank_line_offsets(path, start=16) == [25, 26, 30]


def test_line_scan_counts_lines_nul_bytes_and_long_lines() -> None:
    from tkpk.ingest.csv_bytes import LineScan

    scan = LineScan(max_line_bytes=8)
    for chunk in (b"ab\x00c\n", b"12345678\n1234", b"\x00\x0056789\n", b"end"):
        scan.feed(chunk)
    scan.finish()
    assert (scan.newlines, scan.physical_lines, scan.nul_bytes, scan.first_nul_at) == (3, 4, 3, 2)
    assert scan.long_line_at == 14


def test_csv_numbering_rejected_blank_total_and_signature_lines_together(con, settings) -> None:
    body = (
        "NO;NIK;NAMA;TANGGAL;NILAI\n"
        "(1);(2);(3);(4);(5)\n"
        f"1;{NIK1};Budi;01/03/2026;1.500.000\n"
        f"2;{NIK2};Siti;01/03/2026;1.500.000;lebih\n"
        "\n"
        f"3;;Tanpa NIK;01/03/2026;1.500.000\n"
        f"4;{NIK3};Ani;01/03/2026;1.500.000\n"
        "JUMLAH;;;;4.500.000\n"
        "Pekalongan, 30 Juni 2026\n"
        ";;;;Kepala Dinas\n"
    )
    name = "bantuan_modal_usaha_2026.csv"
    outcome = load(con, settings, {name: body.encode()})[name]
    # numbering, blank, total, signature (rejected: too few columns) and signature lines
    assert (outcome.outcome, outcome.rows_read, outcome.skipped_lines) == ("loaded", 4, 5)
    got = raw_rows(con, "local", "row_number, nik, nama, malformed")
    assert got == [
        (1, NIK1, "Budi", False),
        (2, None, None, True),
        (3, None, "Tanpa NIK", False),
        (4, NIK3, "Ani", False),
    ]
