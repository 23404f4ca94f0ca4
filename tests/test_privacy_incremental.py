"""The incremental personal-data audit: exact against the published version, cheaper when little
changed (synthetic people only).

The warehouse here is hand-written: two personal tables with their lineage by ``file_id``
(``quarantine``'s raw values, probed as ``quarantine_raw_values``, and ``registry_members``) and
``ingest_file``. Exports are one small Parquet
file per version (``restricted/data_quality.parquet``: a free-text file name and a note).
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from test_publish_fixtures import build_curated, publish

from tkpk.db import sql_literal
from tkpk.publish import privacy
from tkpk.publish.privacy import PersonalDataError

FREE_TEXT = {"file_name"}
SHA = {"L1": "1" * 64, "L2": "2" * 64}
FILE_ID = {"L1": 1, "L2": 2}


def _warehouse(con: duckdb.DuckDBPyConnection) -> None:
    """Load L1: one person, in the quarantine (as read) and the accepted table."""
    con.execute(
        """
        create table ingest_file (sha256 varchar, file_name varchar, load_id varchar,
                                  file_id integer);
        create table quarantine (file_id integer, raw_values json);
        create table registry_members (nik varchar, nama varchar, tanggal_lahir date,
                                       file_id integer, row_number bigint);
        """
    )
    _load(con, "L1", "3375015507800011", "Sumiyati Testdata", "1980-07-15")


def _load(con: duckdb.DuckDBPyConnection, load: str, nik: str, nama: str, born: str) -> None:
    """A new load with one member row (quarantined as read, and accepted)."""
    sha, name = SHA[load], f"dtsen_anggota_{load}.csv"
    con.execute("insert into ingest_file values (?, ?, ?, ?)", [sha, name, load, FILE_ID[load]])
    con.execute(
        "insert into quarantine values (?, json_object('nik', ?, 'nama', ?, "
        "'tanggal_lahir', ?))",
        [FILE_ID[load], nik, nama, born],
    )
    con.execute("insert into registry_members values (?, ?, ?::date, ?, 1)",
                [nik, nama, born, FILE_ID[load]])


def _export(con: duckdb.DuckDBPyConnection, version: Path, cells: list[tuple[str, str]]) -> Path:
    """A version folder whose restricted pack holds one file with (file_name, note) rows."""
    folder = version / "restricted"
    folder.mkdir(parents=True)
    values = ", ".join(f"({sql_literal(a)}, {sql_literal(b)})" for a, b in cells)
    path = folder / "data_quality.parquet"
    con.execute(
        f"copy (select * from (values {values}) v(file_name, note)) to {sql_literal(path)} "
        "(format parquet)"
    )
    return version


def _audit(con, version: Path, previous: Path | None) -> privacy.AuditResult:
    files = sorted(version.glob("*/*.parquet"))
    return privacy.audit_version(con, files, FREE_TEXT, previous)


def _published(con, tmp_path: Path, cells: list[tuple[str, str]]) -> Path:
    """The first version: audited in full, clean, its state written."""
    v1 = _export(con, tmp_path / "v1", cells)
    first = _audit(con, v1, None)
    assert first.plan.mode == "full" and first.problems == []
    privacy.write_state(v1, first.state)
    return v1


BASE = [("dtsen_anggota_L1.csv", "ringkasan bulanan"), ("salur_pkh_202609.csv", "catatan")]


@pytest.fixture
def wh(con):
    _warehouse(con)
    return con


def test_nothing_new_skips_every_scan(wh, tmp_path) -> None:
    v1 = _published(wh, tmp_path, BASE)
    result = _audit(wh, _export(wh, tmp_path / "v2", BASE), v1)
    assert result.plan.mode == "incremental"
    assert result.plan.new_cells == 0 and result.plan.new_loads == []
    assert result.plan.probes == []
    assert result.problems == []


def test_a_new_cell_equal_to_an_old_personal_value_is_found(wh, tmp_path) -> None:
    v1 = _published(wh, tmp_path, BASE)
    # no new load: the name was in the warehouse when v1 was audited; the cell is new
    v2 = _export(wh, tmp_path / "v2", [*BASE, ("catatan", "Sumiyati Testdata")])
    result = _audit(wh, v2, v1)
    assert result.plan.mode == "incremental" and result.plan.new_loads == []
    assert result.plan.new_cells == 1  # the cell, trimmed and upper-cased
    assert "quarantine_raw_values.nama: all rows x new cells" in result.plan.probes
    assert not any("new rows" in p for p in result.plan.probes)
    assert result.problems == [
        "restricted/data_quality.parquet: column note holds 1 value(s) equal to "
        "registry_members.nama (personal data)",
        "restricted/data_quality.parquet: column note holds 1 value(s) equal to "
        "quarantine_raw_values.nama (personal data)",
    ]


def test_an_old_cell_equal_to_a_new_personal_value_is_found(wh, tmp_path) -> None:
    cells = [*BASE, ("laporan.csv", "Bambang Contohnama")]
    v1 = _published(wh, tmp_path, cells)
    # this run loads a person named like a cell v1 already held
    _load(wh, "L2", "3375011203900022", "Bambang Contohnama", "1990-03-12")
    result = _audit(wh, _export(wh, tmp_path / "v2", cells), v1)
    assert result.plan.mode == "incremental"
    assert result.plan.new_cells == 0 and result.plan.new_loads == ["L2"]
    assert "registry_members.nama: new rows x all cells" in result.plan.probes
    assert not any("all rows" in p for p in result.plan.probes)
    assert [p.split(" equal to ")[1] for p in result.problems] == [
        "registry_members.nama (personal data)", "quarantine_raw_values.nama (personal data)"
    ]


def test_new_loads_and_new_cells_together(wh, tmp_path) -> None:
    v1 = _published(wh, tmp_path, BASE)
    _load(wh, "L2", "3375011203900022", "Bambang Contohnama", "1990-03-12")
    v2 = _export(wh, tmp_path / "v2", [*BASE, ("x.csv", "tanpa nama")])
    result = _audit(wh, v2, v1)
    assert result.problems == []
    assert {
        "quarantine_raw_values.nama: all rows x new cells",
        "quarantine_raw_values.nama: new rows x all cells",
    } <= set(result.plan.probes)
    # the next version's state covers L2
    assert result.state["loads"] == ["L1", "L2"]
    assert result.state["rows"] == {"quarantine_raw_values": 2, "registry_members": 2}


def test_rows_added_to_an_old_load_make_the_table_new(wh, tmp_path) -> None:
    """Rows that appear under a load the previous audit covered (no code does this; the guard
    makes it safe): that table is probed whole."""
    cells = [*BASE, ("laporan.csv", "Wagiyem Fiktifiana")]
    v1 = _published(wh, tmp_path, cells)
    wh.execute(
        "insert into registry_members values ('3375026610650033', 'Wagiyem Fiktifiana', "
        f"date '1965-10-26', {FILE_ID['L1']}, 2)"
    )
    result = _audit(wh, _export(wh, tmp_path / "v2", cells), v1)
    assert "registry_members.nama: all rows x all cells" in result.plan.probes
    assert not any(p.startswith("quarantine_raw_values") for p in result.plan.probes)
    assert result.problems == [
        "restricted/data_quality.parquet: column note holds 1 value(s) equal to "
        "registry_members.nama (personal data)"
    ]


def test_nik_like_cells_are_always_checked(wh, tmp_path) -> None:
    v1 = _published(wh, tmp_path, BASE)
    v2 = _export(wh, tmp_path / "v2", [*BASE, ("salur_3375019999999999.csv", "catatan")])
    result = _audit(wh, v2, v1)
    assert result.problems == [
        "restricted/data_quality.parquet: column file_name holds 1 value(s) with a NIK-like "
        "16-digit number"
    ]


@pytest.mark.parametrize("damage", ["no_state", "bad_state", "rules", "no_file"])
def test_falls_back_to_the_full_audit(wh, tmp_path, damage: str) -> None:
    v1 = _published(wh, tmp_path, BASE)
    state_path = v1 / privacy.AUDIT_STATE
    free_text = FREE_TEXT
    if damage == "no_state":
        state_path.unlink()
    elif damage == "bad_state":
        state_path.write_text("{not json")
    elif damage == "rules":
        free_text = {"file_name", "note"}
    else:
        (v1 / "restricted" / "data_quality.parquet").write_bytes(b"not parquet")
    v2 = _export(wh, tmp_path / "v2", [*BASE, ("catatan", "Sumiyati Testdata")])
    files = sorted(v2.glob("*/*.parquet"))
    result = privacy.audit_version(wh, files, free_text, v1)
    assert result.plan.mode == "full"
    assert all(p.endswith("all rows x all cells") for p in result.plan.probes)
    assert len(result.problems) == 2  # raw and accepted name, found by the full audit


def test_state_holds_no_personal_data(wh, tmp_path) -> None:
    v1 = _published(wh, tmp_path, BASE)
    text = (v1 / privacy.AUDIT_STATE).read_text()
    assert json.loads(text)["loads"] == ["L1"]
    for value in ("3375015507800011", "Sumiyati", "SUMIYATI", "1980-07-15", "ringkasan"):
        assert value not in text


def _with_lineage(con: duckdb.DuckDBPyConnection) -> None:
    """Lineage for the publish fixtures' warehouse (one load per table)."""
    con.execute(
        """
        alter table ingest_file add column load_id varchar;
        update ingest_file set load_id = 'run-1-000' || sha256[1];
        alter table ingest_file add column file_id integer;
        update ingest_file set file_id = ascii(sha256[1]);
        alter table registry_households add column file_id integer;
        alter table registry_members add column file_id integer;
        alter table program_records add column file_id integer;
        update registry_households set file_id = ascii('a');
        update registry_members set file_id = ascii('a');
        update program_records set file_id = ascii('b');
        """
    )


def test_publish_audits_incrementally_against_the_current_version(
    con, settings, monkeypatch
) -> None:
    build_curated(con)
    _with_lineage(con)
    plans = []
    original = privacy.audit_version

    def spy(*args, **kwargs):
        result = original(*args, **kwargs)
        plans.append(result.plan)
        return result

    monkeypatch.setattr(privacy, "audit_version", spy)
    first = publish(con, settings, "run-1")
    assert (first.version_dir / privacy.AUDIT_STATE).exists()
    second = publish(con, settings, "run-2")
    assert [p.mode for p in plans] == ["full", "incremental"]
    assert plans[1].probes == []  # same exports, same warehouse
    # a member loaded now, named like a cell the published packs hold: found, nothing published
    con.execute(
        "insert into ingest_file values ('dtsen_anggota_3375_202610.csv', repeat('d', 64), "
        "'members', date '2026-10-01', 'loaded', 'run-3-0001', ascii('d'))"
    )
    con.execute(
        "insert into registry_members values (date '2026-10-01', 'KLG-TEST-000109', "
        "'3375010101010109', 'salur_pkh_bri_202609.csv', date '1999-01-01', ascii('d'))"
    )
    with pytest.raises(PersonalDataError, match="registry_members.nama"):
        publish(con, settings, "run-3")
    assert plans[2].mode == "incremental" and plans[2].new_loads == ["run-3-0001"]
    assert settings.restricted_dir.resolve() == second.restricted_dir


def test_a_birth_date_cell_is_matched_as_text(wh, tmp_path) -> None:
    """A DATE column is compared as dates with the cells that are exactly a date's text: a new
    cell with the ISO birth date is found, a non-ISO spelling of it is not (as when the column
    was cast to text)."""
    v1 = _published(wh, tmp_path, BASE)
    v2 = _export(wh, tmp_path / "v2", [*BASE, ("catatan", "1980-07-15"), ("lain", "1980-7-15")])
    result = _audit(wh, v2, v1)
    assert result.plan.mode == "incremental"
    assert result.problems == [
        "restricted/data_quality.parquet: column note holds 1 value(s) equal to "
        "registry_members.tanggal_lahir (personal data)",
        "restricted/data_quality.parquet: column note holds 1 value(s) equal to "
        "quarantine_raw_values.tanggal_lahir (personal data)",
    ]
    full = privacy.audit_files(wh, sorted(v2.glob("*/*.parquet")), FREE_TEXT)
    assert full == result.problems


@pytest.mark.parametrize("cell", ["SUMIYATI TESTDATA", "  sumiyati testdata ", "SuMiYaTi TeStDaTa"])
def test_a_name_in_other_letter_case_is_found(wh, tmp_path, cell) -> None:
    """Both sides are trimmed and upper-cased: a name the warehouse holds as "Sumiyati Testdata"
    is found however an export spells its letter case (full and incremental audit alike)."""
    v1 = _published(wh, tmp_path, BASE)
    v2 = _export(wh, tmp_path / "v2", [*BASE, ("catatan", cell)])
    result = _audit(wh, v2, v1)
    expected = [
        "restricted/data_quality.parquet: column note holds 1 value(s) equal to "
        "registry_members.nama (personal data)",
        "restricted/data_quality.parquet: column note holds 1 value(s) equal to "
        "quarantine_raw_values.nama (personal data)",
    ]
    assert result.problems == expected
    assert privacy.audit_files(wh, sorted(v2.glob("*/*.parquet")), FREE_TEXT) == expected


def test_index_prepared_ahead_of_the_audit(wh, tmp_path, monkeypatch) -> None:
    """``prepare_index`` (run while the packs are written) rebuilds the index for a full audit
    and adds the new loads for an incremental one; the audit then only looks for what came
    since, and finds the same problems."""
    assert privacy.prepare_index(wh, FREE_TEXT, None) == (True, True)
    v1 = _published(wh, tmp_path, BASE)
    _load(wh, "L2", "3375011111110002", "Sumiyati Testdata", "1980-07-15")
    assert privacy.prepare_index(wh, FREE_TEXT, v1) == (False, True)
    rebuilds = []
    original = privacy.refresh_index

    def spy(con, rebuild=False):
        rebuilds.append(rebuild)
        return original(con, rebuild=rebuild)

    monkeypatch.setattr(privacy, "refresh_index", spy)
    v2 = _export(wh, tmp_path / "v2", [*BASE, ("rekap_sumiyati_testdata.csv", "x")])
    files = sorted(v2.glob("*/*.parquet"))
    result = privacy.audit_version(wh, files, FREE_TEXT, v1, index=(False, True))
    assert rebuilds == []  # prepared for this audit: not looked at again
    assert result.plan.mode == "incremental"
    assert any("registry_members.nama" in p for p in result.problems)
    # prepared for another mode (a full audit expected): the audit brings it up to date itself
    rebuilds.clear()
    assert privacy.audit_version(wh, files, FREE_TEXT, None, index=(False, True)).problems
    assert rebuilds == [True]


def test_only_the_changed_columns_of_the_previous_files_are_read(
    wh, tmp_path, monkeypatch
) -> None:
    """A column whose cells are the published version's (``file_name`` here) is not read again
    from the previous file: its cells are the current ones, which already rule a cell out. A cell
    that moved into the changed column from the unchanged one is not new; a new text is."""
    v1 = _published(wh, tmp_path, [("a.csv", "catatan lama")])
    read: list[dict | None] = []
    original = privacy.collect_export_cells

    def spy(con, files, table=privacy.EXPORT_CELLS, columns=None):
        read.append(columns)
        return original(con, files, table, columns)

    monkeypatch.setattr(privacy, "collect_export_cells", spy)
    v2 = _export(wh, tmp_path / "v2", [("a.csv", "catatan lama"), ("a.csv", "A.CSV"),
                                       ("a.csv", "baru sekali")])
    result = _audit(wh, v2, v1)
    assert result.plan.mode == "incremental"
    assert read == [None, {"restricted/data_quality.parquet": {"note"}}]
    assert result.plan.new_cells == 1  # BARU SEKALI
    assert result.problems == []
