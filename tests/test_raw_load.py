"""The raw load's bookkeeping: file outcomes, file-level reasons, already-loaded and duplicate
content, lineage, and hostile input that must never crash a run."""

from __future__ import annotations

import dataclasses
import io
import random
import zipfile
from datetime import date

import pytest
from raw_files_support import NIK1, NIK2, load, raw_rows, xlsx

from tkpk.config import Limits
from tkpk.ingest.raw import FileOutcome


def noise(size: int, seed: int) -> bytes:
    """Binary garbage, the same in every run (seeded)."""
    return random.Random(seed).randbytes(size)


PBI_OK = f"NIK;NAMA;STATUS\n{NIK1};Budi;AKTIF\n{NIK2};Siti;NONAKTIF\n".encode()


def outcome_tuple(o: FileOutcome) -> tuple:
    return (o.outcome, o.reason, o.rows_read, o.skipped_lines)


def test_loaded_file_outcome_ingest_file_row_and_lineage(con, settings) -> None:
    name = "salur_pkh_bri_202606_tahap2.csv"
    body = f"NIK;TGL_SALUR;NOMINAL;STATUS\n{NIK1};26/06/2026;600000;SUKSES\n".encode()
    (o,) = load(con, settings, {name: body}).values()
    assert (o.file_name, o.kind, o.outcome, o.reason, o.rows_read, o.load_id) == (
        name,
        "disbursements",
        "loaded",
        None,
        1,
        "run-test-0001",
    )
    assert len(o.sha256) == 64
    assert con.execute(
        "select file_name, kind, period, period_end, program, channel, stage, load_id, "
        "file_outcome, file_reason, rows_read, skipped_lines, file_format, run_id "
        "from ingest_file"
    ).fetchall() == [
        (
            name,
            "disbursements",
            date(2026, 6, 1),
            date(2026, 6, 30),
            "PKH",
            "bri",
            2,
            "run-test-0001",
            "loaded",
            None,
            1,
            0,
            "csv",
            "run-test",
        ),
    ]
    assert raw_rows(con, "disbursements", "load_id, sha256, file_name, row_number") == [
        ("run-test-0001", o.sha256, name, 1)
    ]


def test_second_run_loads_nothing_and_recognises_a_renamed_copy(con, settings) -> None:
    first = load(con, settings, {"pbi_jk_202606.csv": PBI_OK})
    assert first["pbi_jk_202606.csv"].outcome == "loaded"
    second = load(con, settings, {"pbi_jk_202606_kirim_ulang.csv": PBI_OK})
    assert [outcome_tuple(o) for o in second.values()] == [
        ("already_loaded", None, 0, 0),
        ("already_loaded", None, 0, 0),
    ]
    assert second["pbi_jk_202606_kirim_ulang.csv"].load_id is None
    assert "pbi_jk_202606.csv" in second["pbi_jk_202606_kirim_ulang.csv"].message
    third = load(con, settings, {"salinan pbi.csv": PBI_OK})
    assert (third["salinan pbi.csv"].outcome, third["salinan pbi.csv"].kind) == (
        "already_loaded",
        "pbi",
    )
    assert len(raw_rows(con, "pbi", "row_number")) == 2
    assert con.execute("select count(*) from ingest_file").fetchall() == [(1,)]


def test_file_ids_one_per_content_stable_across_runs(con, settings) -> None:
    """Every distinct content gets the next integer ``file_id`` (a quarantined file too); a
    renamed copy in a later run keeps the first content's id and adds no row."""
    load(con, settings, {"pbi_jk_202606.csv": PBI_OK, "laporan_202606.csv": b"x\n"})
    load(con, settings, {"pbi_jk_202607.csv": PBI_OK.replace(b"Budi", b"Bud"),
                         "pbi_salinan_202606.csv": PBI_OK})
    assert con.execute(
        "select file_name, file_id, file_outcome from ingest_file order by file_id"
    ).fetchall() == [
        ("laporan_202606.csv", 1, "quarantined"),
        ("pbi_jk_202606.csv", 2, "loaded"),
        ("pbi_jk_202607.csv", 3, "loaded"),
    ]


def test_an_older_ingest_file_gets_file_ids_in_the_order_it_was_recorded(con) -> None:
    from tkpk.ingest.raw import ensure_tables

    con.execute(
        "create table ingest_file (sha256 varchar primary key, file_name varchar not null, "
        "kind varchar, load_id varchar, file_outcome varchar not null, rows_read bigint not null, "
        "skipped_lines bigint not null, loaded_at timestamp not null)"
    )
    con.execute(
        "insert into ingest_file values "
        "('b', 'pbi_jk_202607.csv', 'pbi', 'r2-0001', 'loaded', 2, 0, '2026-08-01 01:00'), "
        "('a', 'pbi_jk_202606.csv', 'pbi', 'r1-0001', 'loaded', 2, 0, '2026-07-01 01:00'), "
        "('c', 'dtsen_anggota_3375_202607.csv', 'members', 'r2-0002', 'loaded', 2, 0, "
        "'2026-08-01 01:00')"
    )
    ensure_tables(con)
    ensure_tables(con)  # a second upgrade changes nothing
    assert con.execute("select sha256, file_id from ingest_file order by file_id").fetchall() == [
        ("a", 1), ("c", 2), ("b", 3)
    ]


def test_same_bytes_twice_in_one_run_the_later_name_is_the_duplicate(con, settings) -> None:
    outcomes = load(con, settings, {"pbi_jk_202606_b.csv": PBI_OK, "pbi_jk_202606_a.csv": PBI_OK})
    assert outcome_tuple(outcomes["pbi_jk_202606_a.csv"]) == ("loaded", None, 2, 0)
    assert outcome_tuple(outcomes["pbi_jk_202606_b.csv"]) == ("quarantined", "file_duplicate", 0, 0)
    assert "pbi_jk_202606_a.csv" in outcomes["pbi_jk_202606_b.csv"].message


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("laporan_202606.csv", PBI_OK, "file_kind_unknown"),
        ("dtsen_keluarga_3375.csv", PBI_OK, "file_kind_unknown"),
        ("pbi_jk_202606.csv", b"", "header_missing"),
        ("pbi_jk_202606.csv", b"just some text\nand more\n", "header_missing"),
        ("pbi_jk_202606.csv", b"NIK;NAMA\n1;a\n", "column_missing"),
        ("salur_pkh_bri_202606.csv", b"NIK;NAMA;NOMINAL;STATUS\n1;a;1;SUKSES\n", "column_missing"),
        ("pbi_jk_202606.csv", noise(4096, 1) + b"\x00", "file_unreadable"),
        ("pbi_jk_202606.xlsx", b"\x00" + noise(4096, 2), "file_unreadable"),
        ("pbi_jk_202606.xlsx", b"PK\x03\x04" + noise(4096, 3), "file_unreadable"),
        ("pbi_jk_202606.csv", b"\x1f\x8b\x08\x00" + noise(100, 4), "file_unreadable"),
        ("pbi_jk_202606.csv", b"NIK;NAMA;STATUS\n1;a\x00b;AKTIF\n", "file_unreadable"),
        ("pbi_jk_202606.csv", b'NIK;NAMA;STATUS\n1;"a;AKTIF\n2;b;AKTIF\n', "file_unreadable"),
    ],
)
def test_file_level_reasons(con, settings, name, data, reason) -> None:
    good = PBI_OK.replace(b"Budi", b"Budi Lain")
    outcomes = load(con, settings, {name: data, "pbi_jk_202612.csv": good})
    bad = outcomes[name]
    assert (bad.outcome, bad.reason, bad.rows_read, bad.skipped_lines) == (
        "quarantined",
        reason,
        0,
        0,
    )
    assert bad.message.startswith(name) and len(bad.message) > len(name) + 20
    assert outcomes["pbi_jk_202612.csv"].outcome == "loaded"
    assert con.execute(
        "select file_outcome, file_reason, rows_read, file_message from ingest_file "
        "where file_name = ?",
        [name],
    ).fetchall() == [("quarantined", reason, 0, bad.message)]
    assert raw_rows(con, "pbi", "row_number", name) == []


def test_missing_columns_are_named_in_the_message(con, settings) -> None:
    name = "dtsen_anggota_3375_202606.csv"
    (o,) = load(con, settings, {name: b"ID_KELUARGA;NIK;NAMA\n1;2;3\n"}).values()
    assert o.reason == "column_missing"
    for column in ("TANGGAL_LAHIR", "PENDIDIKAN_TERTINGGI", "STATUS_SEKOLAH", "JAMINAN_KESEHATAN"):
        assert column in o.message


def test_truncated_spreadsheet_is_unreadable(con, settings) -> None:
    good = xlsx([["NIK", "NAMA", "STATUS"], *[[NIK1, f"n{i}", "AKTIF"] for i in range(200)]])
    (o,) = load(con, settings, {"pbi_jk_202606.xlsx": good[: len(good) // 2]}).values()
    assert (o.outcome, o.reason) == ("quarantined", "file_unreadable")


def _limits(settings, **changes):
    return dataclasses.replace(settings, limits=dataclasses.replace(Limits(), **changes))


def test_zip_bomb_is_refused_before_parsing(con, settings) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * (20 * 1024 * 1024))
    data = buffer.getvalue()
    assert len(data) < 100_000
    small = _limits(settings, max_xlsx_uncompressed_bytes=10 * 1024 * 1024)
    (o,) = load(con, small, {"pbi_jk_202606.xlsx": data}).values()
    assert (o.outcome, o.reason) == ("quarantined", "file_too_large")
    assert "TKPK_MAX_XLSX_UNCOMPRESSED_BYTES" in o.message


def test_cell_and_file_size_limits(con, settings) -> None:
    sheet = xlsx([["NIK", "NAMA", "STATUS"], *[[NIK1, "n", "AKTIF"] for _ in range(100)]])
    few_cells = _limits(settings, max_xlsx_cells=200, max_file_bytes=1000)
    outcomes = load(
        con,
        few_cells,
        {
            "pbi_jk_202606.xlsx": sheet,
            "pbi_jk_202607.csv": PBI_OK,
            "pbi_jk_202608.csv": PBI_OK + b"x" * 1000,
        },
    )
    assert outcome_tuple(outcomes["pbi_jk_202606.xlsx"]) == ("quarantined", "file_too_large", 0, 0)
    assert outcome_tuple(outcomes["pbi_jk_202607.csv"]) == ("loaded", None, 2, 0)
    assert outcome_tuple(outcomes["pbi_jk_202608.csv"]) == ("quarantined", "file_too_large", 0, 0)


def test_50_mb_single_line_is_refused_without_crashing(con, settings) -> None:
    huge = b"NIK;NAMA;STATUS\n" + b"1;" + b"A" * (50 * 1024 * 1024) + b";AKTIF\n"
    one_line = b"x" * (50 * 1024 * 1024)
    outcomes = load(
        con,
        settings,
        {"pbi_jk_202606.csv": huge, "pbi_jk_202607.csv": one_line, "pbi_jk_202608.csv": PBI_OK},
    )
    assert outcome_tuple(outcomes["pbi_jk_202606.csv"]) == ("quarantined", "file_too_large", 0, 0)
    assert outcome_tuple(outcomes["pbi_jk_202607.csv"]) == ("quarantined", "file_too_large", 0, 0)
    assert outcomes["pbi_jk_202608.csv"].outcome == "loaded"


def test_names_that_look_like_paths_or_sql(con, settings) -> None:
    names = [
        "pbi_jk_202606_'; drop table ingest_file; --.csv",
        "pbi_jk_202607_..\\..\\etc\\passwd.csv",
        'pbi_jk_202608_"quoted" $(rm -rf).csv',
        "pbi_jk_202609_%2e%2e%2fetc.csv",
    ]
    files = {name: PBI_OK.replace(b"Budi", name.encode()) for name in names}
    outcomes = load(con, settings, files)
    assert {o.outcome for o in outcomes.values()} == {"loaded"}
    assert len(raw_rows(con, "pbi", "row_number")) == 8
    assert sorted(r[0] for r in con.execute("select file_name from ingest_file").fetchall()) == (
        sorted(names)
    )


def test_unreadable_file_next_to_good_ones_in_one_run(con, settings) -> None:
    outcomes = load(
        con,
        settings,
        {
            "pbi_jk_202605.csv": PBI_OK,
            "pbi_jk_202606.xlsx": noise(10_000, 5),
            "pbi_jk_202607.csv": PBI_OK.replace(b"Budi", b"Budi 2"),
        },
    )
    assert [o.outcome for o in outcomes.values()] == ["loaded", "quarantined", "loaded"]
    assert len(raw_rows(con, "pbi", "row_number")) == 4


def test_unclosed_quote_in_a_file_read_in_parallel_is_not_silently_shortened(con, settings) -> None:
    lines = [b"NIK;NAMA;STATUS"]
    lines += [b'%d;"nama %d";AKTIF' % (3375010101900000 + i, i) for i in range(150_000)]
    lines[11] = lines[11].replace(b'";', b";")
    small_buffers = _limits(settings, max_line_bytes=4096)
    (o,) = load(con, small_buffers, {"pbi_jk_202606.csv": b"\n".join(lines) + b"\n"}).values()
    assert (o.outcome, o.reason, o.rows_read) == ("quarantined", "file_unreadable", 0)
    assert "never closed" in o.message


def test_lines_the_reader_lost_quarantine_the_file(con) -> None:
    from tkpk.ingest.csv_bytes import LineScan
    from tkpk.ingest.csv_reader import account_lines
    from tkpk.ingest.reading import Column, FileProblem, Header, ReadStats

    cur = con.cursor()
    cur.execute(
        "create temp table _records as select * from (values "
        "(1, 'a', false, null::varchar), (2, 'b' || chr(10) || 'c', false, null), "
        "(3, null, true, 'x;y')) t(pos, c0, malformed, raw_line)"
    )
    header = Header(0, (Column(0, None, "c0"),), ";", 1)

    def stats_for(data: bytes) -> ReadStats:
        scan = LineScan(max_line_bytes=1000)
        scan.feed(data)
        return ReadStats("csv", header, blank_lines_dropped=1, scan=scan)

    # header, a, blank, "b<LF>c" (two lines), rejected x;y: the 5 lines after the header add up
    account_lines(cur, "f.csv", stats_for(b'H\na\n\n"b\nc"\nx;y\n'))
    with pytest.raises(FileProblem) as problem:
        account_lines(cur, "f.csv", stats_for(b'H\na\n\n"b\nc"\nx;y\nlost\n'))
    assert problem.value.reason == "file_unreadable"
    assert "5 of the 6 lines" in problem.value.message


def test_absurdly_wide_header_is_refused(con, settings) -> None:
    header = ";".join(["NIK", "STATUS", *[f"X{i}" for i in range(2500)]])
    (o,) = load(con, settings, {"pbi_jk_202606.csv": f"{header}\n1;AKTIF\n".encode()}).values()
    assert (o.outcome, o.reason) == ("quarantined", "file_too_large")


def test_quarantined_content_is_not_read_again(con, settings) -> None:
    load(con, settings, {"pbi_jk_202606.csv": b"NIK;NAMA\n1;a\n"})
    (o,) = load(con, settings, {}).values()
    assert (o.outcome, o.reason, o.rows_read) == ("already_loaded", None, 0)
    assert "quarantined earlier (column_missing)" in o.message


def test_a_file_the_csv_engine_raises_on_is_quarantined_inside_the_callers_transaction(
    con, settings
) -> None:
    # DuckDB's reader raises (not a rejected line) on a lone LF line in a CRLF file: the read
    # runs on its own cursor, so only this file is quarantined and the run goes on.
    bad = b"NIK;NAMA;STATUS\r\n1;a;AKTIF\r\n\n2;b;AKTIF\r\n"
    con.execute("begin")
    outcomes = load(con, settings, {"pbi_jk_202606.csv": bad, "pbi_jk_202607.csv": PBI_OK})
    con.execute("commit")
    assert outcome_tuple(outcomes["pbi_jk_202606.csv"]) == ("quarantined", "file_unreadable", 0, 0)
    assert outcomes["pbi_jk_202607.csv"].outcome == "loaded"
    assert len(raw_rows(con, "pbi", "row_number")) == 2


def test_the_load_writes_no_raw_text_to_the_warehouse_and_an_upgrade_drops_raw_tables(
    con, settings
) -> None:
    """The staged rows are the scratch's; the warehouse gains only ``ingest_file``. An older
    warehouse's ``raw_<kind>`` tables are dropped, the NIK as read of an accepted member whose
    NIK was flagged kept in ``member_nik_as_read``."""
    from tkpk import reference
    from tkpk.ingest.raw import ensure_tables

    reference.install(con)
    (o,) = load(con, settings, {"pbi_jk_202606.csv": PBI_OK}).values()
    assert o.staged and o.staged.endswith("/staged/pbi/1.parquet")
    tables = {t for (t,) in con.execute("select table_name from duckdb_tables()").fetchall()}
    assert not {t for t in tables if t.startswith("raw_")}
    assert raw_rows(con, "pbi", "file_id, row_number, nik, status") == [
        (1, 1, NIK1, "AKTIF"), (1, 2, NIK2, "NONAKTIF")
    ]

    con.execute(
        "create table raw_members (sha256 varchar, row_number bigint, nik varchar, "
        "nik_numeric boolean)"
    )
    con.execute(
        "insert into raw_members values ('a', 1, ' 123 ', false), ('a', 2, 'x', false)"
    )
    con.execute("create table raw_pbi (sha256 varchar)")
    con.execute(
        "create table registry_members (sha256 varchar, row_number bigint, nik varchar)"
    )
    con.execute("insert into registry_members values ('a', 1, null), ('a', 2, '3375')")
    ensure_tables(con)
    tables = {t for (t,) in con.execute("select table_name from duckdb_tables()").fetchall()}
    assert not {t for t in tables if t.startswith("raw_")}
    assert con.execute("select * from member_nik_as_read").fetchall() == [("a", 1, "123")]


def test_staged_files_of_a_run_that_failed_before_its_ingest_are_removed_by_the_next(
    tmp_path,
) -> None:
    """The raw load holds its run's scratch lock until the ingest adopts it; when a run of the
    same process failed in between, the next run's load releases it and removes its folder."""
    from tkpk.ingest.scratch import RunScratch, staged_dir

    root = tmp_path / "scratch"
    (staged_dir(root, "run-a", "pbi") / "1.parquet").write_bytes(b"x")
    (staged_dir(root, "run-b", "pbi") / "1.parquet").write_bytes(b"y")
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == ["run-b"]
    with RunScratch(root, "run-b") as scratch:  # the ingest adopts the lock and keeps the files
        assert (scratch.folder / "staged" / "pbi" / "1.parquet").read_bytes() == b"y"
    assert list(root.iterdir()) == []
