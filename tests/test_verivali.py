"""The registry owners' correction lists (verivali): one XLSX per kelurahan, Bahasa Indonesia."""

from __future__ import annotations

import re
import struct
import zipfile
import zlib

import duckdb
import pyarrow as pa
import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from tkpk.publish import verivali

PSEUDONYM = "ab" * 32


def _restricted(tmp_path):
    """A staged restricted folder whose data_quality_field holds four flagged fields: three of
    Medono (a household's DESIL and floor code, a member's birth date), one of a program record
    that names no kelurahan."""
    folder = tmp_path / "restricted"
    folder.mkdir()
    con = duckdb.connect()
    con.execute(
        f"""
        copy (
            select * from (values
                ('{PSEUDONYM}', date '2026-06-01', '33.75.01.1002', 'Medono', 'households',
                 'dtsen_keluarga_3375_202606.csv', 'aa', 22::bigint, 'JENIS_LANTAI',
                 'code_invalid', '9'),
                ('{PSEUDONYM}', date '2026-06-01', '33.75.01.1002', 'Medono', 'households',
                 'dtsen_keluarga_3375_202606.csv', 'aa', 22::bigint, 'DESIL', 'code_invalid',
                 '11'),
                ('{PSEUDONYM}', date '2026-06-01', '33.75.01.1002', 'Medono', 'members',
                 'dtsen_anggota_3375_202606.csv', 'bb', 12::bigint, 'TANGGAL_LAHIR',
                 'date_invalid', null),
                (null, date '2026-06-01', null, null, 'disbursements',
                 'salur_pkh_bri_202606_tahap2.csv', 'cc', 17::bigint, 'NIK',
                 'nik_precision_lost', null)
            ) v(household_pseudonym, period, kelurahan_code, kelurahan_name, kind, file, sha256,
                row_number, column_name, reason, raw_value)
        ) to '{folder / "data_quality_field.parquet"}' (format parquet)
        """
    )
    return con, folder


def _sheet(path) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(
        verivali.SHEET
    ).to_python()


def test_one_workbook_per_kelurahan_with_a_line_per_flagged_field(tmp_path):
    con, folder = _restricted(tmp_path)
    paths = verivali.write_verivali(con, folder)
    assert [p.name for p in paths] == ["33.75.01.1002_medono.xlsx", "tanpa_kelurahan.xlsx"]
    rows = _sheet(folder / "verivali" / "33.75.01.1002_medono.xlsx")
    assert rows[0][0] == "Daftar perbaikan data (verivali): Kelurahan Medono (33.75.01.1002)"
    assert rows[3] == [text for text, _ in verivali.HEADINGS]
    assert rows[3][:9] == [
        "No", "Berkas", "Nomor baris", "Jenis berkas", "Periode", "Kolom", "Alasan",
        "Nilai terbaca", "Pseudonim keluarga",
    ]
    # ordered by file, row, column; the reason in words; no raw value for a birth date
    assert [row[:9] for row in rows[4:]] == [
        [1.0, "dtsen_anggota_3375_202606.csv", 12.0, "anggota keluarga", "2026-06",
         "TANGGAL_LAHIR", verivali.REASON_TEXT["date_invalid"], "", PSEUDONYM],
        [2.0, "dtsen_keluarga_3375_202606.csv", 22.0, "keluarga", "2026-06", "DESIL",
         "Kode di luar daftar kode kolom ini", "11", PSEUDONYM],
        [3.0, "dtsen_keluarga_3375_202606.csv", 22.0, "keluarga", "2026-06", "JENIS_LANTAI",
         "Kode di luar daftar kode kolom ini", "9", PSEUDONYM],
    ]
    other = _sheet(folder / "verivali" / "tanpa_kelurahan.xlsx")
    assert other[0][0] == "Daftar perbaikan data (verivali): Catatan program tanpa kelurahan"
    assert [row[:9] for row in other[4:]] == [
        [1.0, "salur_pkh_bri_202606_tahap2.csv", 17.0, "penyaluran", "2026-06", "NIK",
         verivali.REASON_TEXT["nik_precision_lost"], "", ""],
    ]


def test_nothing_flagged_writes_no_workbook(tmp_path):
    con, folder = _restricted(tmp_path)
    con.execute(
        f"copy (select * from read_parquet('{folder / 'data_quality_field.parquet'}') limit 0) "
        f"to '{folder / 'data_quality_field.parquet'}' (format parquet)"
    )
    assert verivali.write_verivali(con, folder) == []
    assert not (folder / "verivali").exists()


def test_every_contract_warning_reason_has_words():
    for reason in ("nik_invalid", "nik_precision_lost", "kk_invalid", "code_invalid",
                   "number_invalid", "date_invalid", "kelurahan_unknown"):
        assert verivali.reason_text(reason) != reason
    assert verivali.file_stem("33.75.01.1002", "Kel. Podo Sugih") == "33.75.01.1002_kel_podo_sugih"


def test_same_flagged_fields_give_the_same_bytes(tmp_path):
    con, folder = _restricted(tmp_path)
    first = [p.read_bytes() for p in verivali.write_verivali(con, folder)]
    second = [p.read_bytes() for p in verivali.write_verivali(con, folder)]
    assert first == second


def test_the_sheet_is_deflated_at_its_level(tmp_path):
    """The rows' sheet is deflated at SHEET_COMPRESSLEVEL (its stored bytes are zlib's raw
    deflate of the sheet at that level); the other parts as xlsxwriter wrote them."""
    con, folder = _restricted(tmp_path)
    for path in verivali.write_verivali(con, folder):
        with zipfile.ZipFile(path) as book:
            info = book.getinfo(verivali.SHEET_PART)
            sheet = book.read(info)
        with path.open("rb") as raw:
            raw.seek(info.header_offset + 26)
            name_length, extra_length = struct.unpack("<HH", raw.read(4))
            raw.seek(name_length + extra_length, 1)
            stored = raw.read(info.compress_size)
        deflate = zlib.compressobj(verivali.SHEET_COMPRESSLEVEL, zlib.DEFLATED, -15)
        assert stored == deflate.compress(sheet) + deflate.flush()


@pytest.mark.parametrize("batch", [1, 2, 3, 100])
def test_workbook_lines_cut_at_each_first_line_whatever_the_batches(batch):
    """The sheet rows arrive in workbook then line order; a workbook starts where its line is 1,
    also when that row opens an Arrow batch, and a workbook may span several batches."""
    con = duckdb.connect()
    rows = con.sql(
        "select * from (values ('01', 'A', 1, 'a1'), ('01', 'A', 2, 'a2'), ('01', 'A', 3, 'a3'),"
        " ('02', 'B', 1, 'b1'), (null, null, 1, 'n1'), (null, null, 2, 'n2'))"
        " as t(code, name, line, xml)"
    )
    lines = [
        (key, [line for piece in pieces for line in piece.to_pylist()])
        for key, pieces in verivali._workbook_lines(rows, batch=batch)
    ]
    assert lines == [
        (("01", "A"), ["a1", "a2", "a3"]),
        (("02", "B"), ["b1"]),
        ((None, None), ["n1", "n2"]),
    ]
    assert list(verivali._workbook_lines(con.sql("select 1, 2, 3, 4 where false"))) == []


#: Texts xlsxwriter escapes: XML characters, white space at either end, control characters, a
#: literal _xHHHH_, non-ASCII, empty. (Not here: a carriage return or form feed at either end,
#: which the query marks xml:space="preserve" as white space and xlsxwriter, escaping it first,
#: does not; both read back the same.)
TRICKY = ["plain", "a & b <c> d", " lead", "trail\t", "x\x01y\x1fz", "_x0041_ and _xbeef_",
          "Pekalongan — ñ 你好", "", "new\nline", "in\rside", "tab\tinside", "\nboth "]


def _xlsxwriter_cells(tmp_path, texts: list[str]) -> list[str]:
    """The cell XML xlsxwriter itself writes for ``texts`` in column B from row 5 (inline
    strings: constant-memory mode)."""
    path = tmp_path / "native.xlsx"
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet()
    for i, text in enumerate(texts):
        sheet.write_string(4 + i, 1, text)
    book.close()
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode("utf-8")
    return re.findall(r'<c r="B\d+" t="inlineStr">.*?</c>', xml, flags=re.S)


def test_xlsx_inline_string_writes_cells_as_xlsxwriter_does(tmp_path):
    con = duckdb.connect()
    verivali.suppression.install_rules(con)
    rows = con.execute(
        "select xlsx_inline_string('B' || (4 + i), t) from "
        "(select unnest(?::varchar[]) as t, unnest(range(1, ?)) as i) order by i",
        [TRICKY, len(TRICKY) + 1],
    ).fetchall()
    assert [r[0] for r in rows] == _xlsxwriter_cells(tmp_path, TRICKY)


def test_utf8_is_the_lines_bytes_of_an_arrow_slice():
    for type_ in (pa.string(), pa.large_string()):
        lines = pa.array(["a", "ñé", "", "<row/>", "z"], type=type_)
        assert bytes(verivali._utf8(lines.slice(1, 3))) == "ñé<row/>".encode()
        assert bytes(verivali._utf8(lines.slice(0, 0))) == b""


def test_the_words_for_the_codes_need_no_escaping():
    """verivali_sheet_rows puts the words for the codes (and the period) in their cells as they
    are: xlsx_inline_string must write each of them unchanged."""
    con = duckdb.connect()
    verivali.suppression.install_rules(con)
    texts = [*verivali.KIND_TEXT.values(), *verivali.REASON_TEXT.values(), "2026-06", ""]
    rows = con.execute(
        "select t, xlsx_inline_string('D5', t) from unnest(?::varchar[]) as u(t)", [texts]
    ).fetchall()
    assert rows == [(t, f'<c r="D5" t="inlineStr"><is><t>{t}</t></is></c>') for t in texts]
