"""Nothing lost (issue 16, items 1-4): rows after a total line, later sheets, entries of the raw
folder that are not read, and mixed encodings.

Small hand-written files with synthetic people; every expectation is exact.
"""

from __future__ import annotations

import json

import pytest
from raw_files_support import NIK1, NIK2, NIK3, load, raw_rows, xlsx
from raw_support import with_file

from tkpk.config import Limits
from tkpk.ingest.accept import process_loads
from tkpk.ingest.raw import load_new_files

NIK4 = "3375016607880004"

# ------------------------------------------------------------------------------------------
# 1. A line after a total line
# ------------------------------------------------------------------------------------------


def test_rows_after_a_subtotal_are_data_rows_and_only_empty_required_columns_sign(
    con, settings
) -> None:
    rows = [
        ["NO", "NIK", "NAMA", "TANGGAL", "NILAI"],
        [1, NIK1, "Budi", "01/03/2026", 1500000],
        ["JUMLAH KEL. PODOSUGIH", None, None, None, 1500000],
        [2, "33750155", "Siti (NIK pendek)", "01/03/2026", 1500000],  # short NIK: data
        [3, NIK3, "Ani", "bukan tanggal", 1500000],  # bad date: data
        [4, None, "Dewi", "02/03/2026", 1500000],  # NIK empty, date given: data
        ["TOTAL", None, None, None, 4500000],
        [None, None, "Mengetahui,", None, "Kepala Dinas"],  # required all empty: signature
        [None, None, "NIP. 197001011990031001", None, None],
    ]
    name = "bantuan_modal_usaha_2026.xlsx"
    outcome = load(con, settings, {name: xlsx(rows)})[name]
    assert (outcome.rows_read, outcome.skipped_lines) == (4, 4)
    assert raw_rows(con, "local", "row_number, nik, nama") == [
        (1, NIK1, "Budi"),
        (2, "33750155", "Siti (NIK pendek)"),
        (3, NIK3, "Ani"),
        (4, None, "Dewi"),
    ]


def test_a_rejected_csv_line_after_the_total_line_with_a_nik_is_a_data_row(con, settings) -> None:
    body = (
        "NO;NIK;NAMA;TANGGAL;NILAI\n"
        f"1;{NIK1};Budi;01/03/2026;1.500.000\n"
        "JUMLAH;;;;1.500.000\n"
        f"2;{NIK2};Siti; S.Pd;01/03/2026;1.500.000\n"  # a delimiter too many: rejected, data
        "Pekalongan, 30 Juni 2026\n"  # rejected, nothing where NIK or TANGGAL sit: signature
    )
    name = "bantuan_modal_usaha_2026.csv"
    outcome = load(con, settings, {name: body.encode()})[name]
    assert (outcome.rows_read, outcome.skipped_lines) == (2, 2)
    got = raw_rows(con, "local", "row_number, nik, malformed, extra")
    assert [(r[0], r[1], r[2]) for r in got] == [(1, NIK1, False), (2, None, True)]
    assert json.loads(got[1][3])["_line"] == f"2;{NIK2};Siti; S.Pd;01/03/2026;1.500.000"


# ------------------------------------------------------------------------------------------
# 2. Sheets after the first
# ------------------------------------------------------------------------------------------


def test_later_sheets_with_cells_are_noted_with_name_and_non_empty_rows(con, settings) -> None:
    first = [["NIK", "NAMA", "STATUS"], [NIK1, "Budi", "AKTIF"]]
    other = [["REKAPITULASI"], [None], ["Jumlah peserta", 1], [None, None, "catatan"]]
    name = "pbi_jk_202606.xlsx"
    outcome = load(con, settings, {name: xlsx(first, second_sheet=other)})[name]
    assert (outcome.outcome, outcome.rows_read) == ("loaded", 1)
    assert [(n.reason, n.note, n.rows) for n in outcome.notes] == [("sheet_ignored", "Sheet2", 3)]
    plain = "pbi_jk_202607.xlsx"
    assert load(con, settings, {plain: xlsx(first, second_sheet=[[None]])})[plain].notes == ()


def test_sheet_notes_survive_a_quarantined_first_sheet(con, settings) -> None:
    first = [["bukan header"], ["apa pun"]]
    other = [["NIK", "NAMA", "STATUS"], [NIK1, "Budi", "AKTIF"]]
    name = "pbi_jk_202606.xlsx"
    outcome = load(con, settings, {name: xlsx(first, second_sheet=other)})[name]
    assert (outcome.outcome, outcome.reason) == ("quarantined", "header_missing")
    assert [(n.reason, n.note, n.rows) for n in outcome.notes] == [("sheet_ignored", "Sheet2", 2)]


# ------------------------------------------------------------------------------------------
# 4. Entries of the raw folder that are not read
# ------------------------------------------------------------------------------------------


def _hostile_folder(settings) -> None:
    raw = settings.raw_dir
    raw.mkdir(parents=True)
    (raw / "pbi_jk_202606.csv").write_text(f"NIK;NAMA;STATUS\n{NIK1};Budi;AKTIF\n")
    (raw / ".gitkeep").write_text("")
    (raw / "~$pbi_jk_202607.xlsx").write_bytes(b"lock")
    (raw / "arsip").mkdir()
    (raw / "arsip" / "pbi_jk_202608.csv").write_text("NIK;STATUS\n")
    (raw / "pbi_jk_202609.csv").symlink_to(raw / "arsip")
    (raw / "pbi_jk_202610.csv").symlink_to(raw / "hilang.csv")
    (raw / "pbi_jk_202612.csv").symlink_to(raw / "arsip" / "pbi_jk_202608.csv")  # read


def test_a_file_that_cannot_be_opened_is_ignored_with_why(con, settings, monkeypatch) -> None:
    settings.raw_dir.mkdir(parents=True)
    (settings.raw_dir / "pbi_jk_202611.csv").write_text(f"NIK;NAMA;STATUS\n{NIK2};Siti;AKTIF\n")

    def refuse(path, *args):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tkpk.ingest.hash_cache.sha256_of", refuse)
    (outcome,) = load_new_files(con, settings, "run-1")
    assert (outcome.outcome, outcome.reason, outcome.sha256) == ("ignored", "file_ignored", None)
    assert outcome.notes[0].note.startswith("it cannot be opened (PermissionError)")


def test_every_entry_of_the_raw_folder_has_a_record(con, settings) -> None:
    _hostile_folder(settings)
    outcomes = load_new_files(con, settings, "run-1")
    process_loads(con, settings, "run-1", outcomes)
    names = sorted(p.name for p in settings.raw_dir.iterdir())
    quality = con.execute(
        "select file_name, file_outcome, file_reason, rows_read from ingest_data_quality "
        "order by file_name"
    ).fetchall()
    assert [q[0] for q in quality] == names
    by_name = {q[0]: q[1:] for q in quality}
    assert by_name["pbi_jk_202606.csv"] == ("loaded", None, 1)
    for ignored in [".gitkeep", "~$pbi_jk_202607.xlsx", "arsip", "pbi_jk_202609.csv",
                    "pbi_jk_202610.csv"]:
        assert by_name[ignored] == ("ignored", "file_ignored", 0)
    notes = dict(
        con.execute(
            "select file_name, note from ingest_file_note where reason = 'file_ignored'"
        ).fetchall()
    )
    assert notes[".gitkeep"].startswith("a hidden file")
    assert notes["~$pbi_jk_202607.xlsx"].startswith("an office lock file")
    assert notes["arsip"].startswith("a folder")
    assert notes["pbi_jk_202609.csv"].startswith("a symbolic link to a folder")
    assert by_name["pbi_jk_202612.csv"] == ("loaded", None, 0)
    assert notes["pbi_jk_202610.csv"].startswith("a broken symbolic link")


# ------------------------------------------------------------------------------------------
# 3. Encodings
# ------------------------------------------------------------------------------------------

PBI_HEADER = "NIK;NAMA;STATUS\n"


#: The PBI names as read by the last ``_load_and_accept`` (the staged rows are gone after it).
READ: dict[str, list[tuple]] = {}


def _load_and_accept(con, settings, files: dict[str, bytes]) -> dict:
    """Load ``files`` and process them; {file: outcome}. The staged PBI names, as read, are
    kept in ``READ["pbi"]`` (row_number, nama) before the scratch is removed."""
    outcomes = load(con, settings, files)
    READ["pbi"] = raw_rows(con, "pbi", "row_number, nama")
    process_loads(con, settings, "run-test", list(outcomes.values()))
    return outcomes


def _fates(con, name: str) -> dict[int, tuple]:
    """row_number -> ('accepted', nama) or ('quarantined', reasons, raw line) of one file."""
    fates = {
        row: ("accepted",)
        for (row,) in con.execute(
            f"select row_number from {with_file('program_records')} where file_name = ?",
            [name],
        ).fetchall()
    }
    for row, reasons, raw in con.execute(
        f"select row_number, reasons, raw_values from {with_file('quarantine')} "
        "where file_name = ?",
        [name],
    ).fetchall():
        fates[row] = ("quarantined", reasons, json.loads(raw)["extra"]["_line"])
    return fates


def _no_replacement_character(con) -> None:
    """No U+FFFD in any text of the accepted, flagged-field and quarantine tables."""
    for table in ("program_records", "flagged_field", "quarantine"):
        columns = [
            name
            for name, kind in con.execute(
                f"select column_name, column_type from (describe {table})"
            ).fetchall()
            if kind in ("VARCHAR", "JSON", "VARCHAR[]")
        ]
        text = " || ".join(f"coalesce(cast({c} as varchar), '')" for c in columns)
        hits = con.execute(f"select count(*) from {table} where contains({text}, '\ufffd')")
        assert hits.fetchone()[0] == 0, table


def test_utf8_file_with_one_windows_1252_row_keeps_utf8_and_quarantines_the_row(
    con, settings
) -> None:
    body = (
        PBI_HEADER.encode()
        + f"{NIK1};José Ñoño;AKTIF\n".encode()
        + f"{NIK2};René;AKTIF\n".encode("cp1252")
        + f"{NIK3};Ani;AKTIF\n".encode()
    )
    name = "pbi_jk_202606.csv"
    outcome = _load_and_accept(con, settings, {name: body})[name]
    assert (outcome.outcome, outcome.rows_read) == ("loaded", 3)
    assert con.execute("select file_encoding from ingest_file").fetchall() == [("utf-8",)]
    assert READ["pbi"] == [(1, "José Ñoño"), (2, None), (3, "Ani")]
    assert _fates(con, name) == {
        1: ("accepted",),
        2: ("quarantined", ["encoding_invalid"], f"{NIK2};Ren\\xe9;AKTIF"),
        3: ("accepted",),
    }
    assert con.execute(
        "select rows_read, accepted, quarantined, duplicate from ingest_data_quality"
    ).fetchall() == [(3, 2, 1, 0)]
    assert con.execute("select reason, rows from ingest_data_quality_reason").fetchall() == [
        ("encoding_invalid", 1)
    ]
    _no_replacement_character(con)


def test_pure_windows_1252_file_is_decoded_and_an_undefined_byte_quarantines_its_row(
    con, settings
) -> None:
    body = (
        PBI_HEADER.encode()
        + f"{NIK1};José “Ñoño” €;AKTIF\n".encode("cp1252")
        + f"{NIK2};Siti;AKTIF\n".encode()[:-7]
        + b"\x81;AKTIF\n"  # 0x81 is undefined in Windows-1252
        + f"{NIK3};Ani;AKTIF\n".encode()
    )
    name = "pbi_jk_202606.csv"
    _load_and_accept(con, settings, {name: body})
    assert con.execute("select file_encoding from ingest_file").fetchall() == [("cp1252",)]
    assert [n for _, n in READ["pbi"]] == ["José “Ñoño” €", None, "Ani"]
    assert _fates(con, name) == {
        1: ("accepted",),
        2: ("quarantined", ["encoding_invalid"], f"{NIK2};Siti\\x81;AKTIF"),
        3: ("accepted",),
    }
    _no_replacement_character(con)
    assert list(settings.temp_dir.glob("transcoded-*")) == []


def test_utf16_row_with_a_broken_surrogate_is_quarantined(con, settings) -> None:
    good = f"{NIK1};Siti Ñ;AKTIF\r\n".encode("utf-16-le")
    broken = f"{NIK2};Bu".encode("utf-16-le") + b"\x00\xd8" + "di;AKTIF\r\n".encode("utf-16-le")
    last = f"{NIK3};Ani;AKTIF\r\n".encode("utf-16-le")
    body = b"\xff\xfe" + "NIK;NAMA;STATUS\r\n".encode("utf-16-le") + good + broken + last
    name = "pbi_jk_202606.csv"
    _load_and_accept(con, settings, {name: body})
    assert con.execute("select file_encoding from ingest_file").fetchall() == [("utf-16",)]
    assert [n for _, n in READ["pbi"]] == ["Siti Ñ", None, "Ani"]
    assert _fates(con, name) == {
        1: ("accepted",),
        2: ("quarantined", ["encoding_invalid"], f"{NIK2};Bu\\xffdi;AKTIF"),
        3: ("accepted",),
    }
    _no_replacement_character(con)


def test_rows_already_holding_a_replacement_character_are_quarantined(con, settings) -> None:
    csv_body = f"{PBI_HEADER}{NIK1};Budi;AKTIF\n{NIK2};Ren\ufffd;AKTIF\n".encode()
    sheet = xlsx(
        [["NIK", "NAMA", "STATUS"], [NIK3, "Ani \ufffd", "AKTIF"], [NIK1, "Budi", "AKTIF"]]
    )
    csv_name, xlsx_name = "pbi_jk_202606.csv", "pbi_jk_202607.xlsx"
    _load_and_accept(con, settings, {csv_name: csv_body, xlsx_name: sheet})
    assert _fates(con, csv_name) == {
        1: ("accepted",),
        2: ("quarantined", ["encoding_invalid"], f"{NIK2};Ren\\ufffd;AKTIF"),
    }
    assert _fates(con, xlsx_name) == {
        1: ("quarantined", ["encoding_invalid"], f"{NIK3};Ani \\ufffd;AKTIF"),
        2: ("accepted",),
    }
    _no_replacement_character(con)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"abc\xc3\xa9xyz", True),  # across the first chunk boundary
        (b"abcd\xc3\xa9", True),
        (b"ab\xe2\x82\xacq", True),  # a 3-byte sequence across a boundary
        (b"abcdefg\xf0\x9f\x98\x80", True),  # a 4-byte one
        (b"abc\xe9xyz\xc3", False),  # Windows-1252 bytes, a lone lead byte at the end
        (b"\xc0\x80\xed\xa0\x80", False),  # an overlong form and a surrogate are not valid
    ],
)
def test_valid_utf8_multibyte_sequences_are_found_across_chunks(
    tmp_path, monkeypatch, data, expected
) -> None:
    from tkpk.ingest import csv_bytes

    monkeypatch.setattr(csv_bytes, "CHUNK_BYTES", 4)
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    assert csv_bytes.has_utf8_multibyte(path) is expected
    # the raw scan (made while hashing the file) answers the same, fed in any chunks
    for size in (1, 3, 4, len(data)):
        scan = csv_bytes.raw_scan(Limits())
        for at in range(0, len(data), size):
            scan.feed(data[at : at + size])
        assert scan.utf8_multibyte is expected
        assert scan.non_ascii is True
