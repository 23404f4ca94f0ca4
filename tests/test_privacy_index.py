"""The personal-value index of the audit (``privacy.refresh_index``, ``index_candidates``): the
whole-table probes run only for the personal columns the index cannot rule out, and a leak is
still found, in an incremental publish as in a Data Docs page (synthetic people only).

The warehouse is the hand-written one of ``test_privacy_incremental`` (quarantined raw values
and ``registry_members``, lineage by ``file_id``), on a writable in-memory connection.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_privacy_incremental import BASE, _audit, _export, _load, _published, _warehouse

from tkpk.publish import privacy


@pytest.fixture
def wh(con):
    _warehouse(con)
    return con


@pytest.fixture
def scans(monkeypatch) -> list[str]:
    """The sources whose values were scanned by the substring probe (whole tables)."""
    seen: list[str] = []
    original = privacy._probe_substrings

    def spy(con, values, *rest):
        seen.append(values.split("'")[1])
        return original(con, values, *rest)

    monkeypatch.setattr(privacy, "_probe_substrings", spy)
    return seen


def _cells(con, texts: list[str]) -> str:
    """A cells table holding ``texts`` (trimmed and upper-cased, as collected)."""
    con.execute(f"create or replace temp table {privacy.EXPORT_CELLS} (v varchar)")
    con.executemany(f"insert into {privacy.EXPORT_CELLS} values (upper(trim(?)))",
                    [[t] for t in texts])
    return privacy.EXPORT_CELLS


def test_candidates_are_whole_cells_and_runs_of_whole_words(wh) -> None:
    assert privacy.refresh_index(wh, rebuild=True)
    found = privacy.index_candidates
    # the name whole, in other case, inside a file name and a note: candidates
    assert found(wh, _cells(wh, ["sumiyati testdata"])) == {
        "registry_members.nama", "quarantine_raw_values.nama"}
    assert found(wh, _cells(wh, ["rekap_sumiyati-testdata.csv"])) == {
        "registry_members.nama", "quarantine_raw_values.nama"}
    # the NIK whole; the birth date as a whole cell only (never inside a text)
    assert found(wh, _cells(wh, ["3375015507800011"])) == {
        "registry_members.nik", "quarantine_raw_values.nik"}
    assert found(wh, _cells(wh, ["1980-07-15"])) == {
        "registry_members.tanggal_lahir", "quarantine_raw_values.tanggal_lahir"}
    assert found(wh, _cells(wh, ["lahir 1980-07-15"])) == set()
    # one word of the name, the name inside a longer word, other words: no candidate
    assert found(wh, _cells(wh, ["sumiyati", "sumiyatitestdata", "testdata sumiyati"])) == set()


def test_clean_new_cells_skip_the_whole_table_scans(wh, tmp_path, scans) -> None:
    v1 = _published(wh, tmp_path, BASE)
    scans.clear()
    result = _audit(wh, _export(wh, tmp_path / "v2", [*BASE, ("rekap_202610.csv", "baru")]), v1)
    assert result.plan.mode == "incremental" and result.plan.new_cells == 2
    assert "registry_members.nama: all rows x new cells" in result.plan.probes  # on the index
    assert scans == [] and result.problems == []


def test_an_old_name_newly_inside_an_unchanged_looking_file_is_found(wh, tmp_path, scans) -> None:
    """The exports look as before (same files, same columns), one cell of a file name now
    holds the name of a person loaded long ago: the index does not rule it out, the scan of
    that column finds it."""
    v1 = _published(wh, tmp_path, BASE)
    scans.clear()
    leaked = [("dtsen_anggota_L1.csv", "ringkasan bulanan"),
              ("salur_pkh_sumiyati_testdata.csv", "catatan")]
    result = _audit(wh, _export(wh, tmp_path / "v2", leaked), v1)
    assert result.plan.mode == "incremental" and result.plan.new_loads == []
    assert sorted(scans) == ["quarantine_raw_values.nama", "registry_members.nama"]
    assert result.problems == [
        "restricted/data_quality.parquet: column file_name holds text containing 1 value(s) of "
        "registry_members.nama (personal data)",
        "restricted/data_quality.parquet: column file_name holds text containing 1 value(s) of "
        "quarantine_raw_values.nama (personal data)",
    ]


def test_rows_added_to_an_old_load_are_indexed(wh, tmp_path) -> None:
    """A row appearing under a load the index already covers changes that load's row count:
    the load is indexed again, and a cell naming the new person is found."""
    v1 = _published(wh, tmp_path, BASE)
    wh.execute("insert into registry_members values ('3375026610650033', 'Wagiyem Fiktifiana', "
               "date '1965-10-26', 1, 2)")
    result = _audit(wh, _export(wh, tmp_path / "v2", [*BASE, ("x", "wagiyem fiktifiana")]), v1)
    assert result.problems == [
        "restricted/data_quality.parquet: column note holds 1 value(s) equal to "
        "registry_members.nama (personal data)"
    ]


def test_a_data_docs_page_leak_is_found_with_the_index(wh, tmp_path: Path, scans) -> None:
    """The Data Docs audit probes every line on the index: a clean page scans no table, a page
    with a newly loaded person's name inside a line is found."""
    assert privacy.refresh_index(wh, rebuild=True)
    page = tmp_path / "site" / "index.html"
    page.parent.mkdir()
    page.write_text("<html><body><p>Validasi 12 baris, 0 gagal</p></body></html>")
    assert privacy.audit_documents(wh, [page], tmp_path) == [] and scans == []
    _load(wh, "L2", "3375011203900022", "Bambang Contohnama", "1990-03-12")
    page.write_text("<html><body><td>Bambang Contohnama (contoh)</td></body></html>")
    assert privacy.audit_documents(wh, [page], tmp_path) == [
        "site/index.html: holds text containing 1 value(s) of registry_members.nama "
        "(personal data)",
        "site/index.html: holds text containing 1 value(s) of quarantine_raw_values.nama "
        "(personal data)",
    ]



def test_the_data_docs_audit_after_a_publish_does_not_refresh_the_index(
    wh, tmp_path: Path, monkeypatch
) -> None:
    """``index_current`` (the same run's publish brought the index up to date): the Data Docs
    audit does not look at the index's loads again, and finds the same leak."""
    _load(wh, "L2", "3375011203900022", "Bambang Contohnama", "1990-03-12")
    assert privacy.refresh_index(wh)
    page = tmp_path / "site" / "index.html"
    page.parent.mkdir()
    page.write_text("<html><body><td>Bambang Contohnama (contoh)</td></body></html>")
    expected = privacy.audit_documents(wh, [page], tmp_path)
    assert expected and any("registry_members.nama" in p for p in expected)

    def refreshed(*args, **kwargs):
        raise AssertionError("the index was refreshed again")

    monkeypatch.setattr(privacy, "refresh_index", refreshed)
    assert privacy.audit_documents(wh, [page], tmp_path, index_current=True) == expected

def test_a_read_only_warehouse_uses_an_index_only_when_it_is_up_to_date(tmp_path) -> None:
    """On a read-only warehouse the index cannot be written: an up-to-date one is used, a stale
    or missing one is not (``refresh_index`` says False: the probes then scan)."""
    import duckdb

    path = str(tmp_path / "w.duckdb")
    with duckdb.connect(path) as con:
        _warehouse(con)
    with duckdb.connect(path, read_only=True) as con:
        assert privacy.refresh_index(con) is False  # none yet
    with duckdb.connect(path) as con:
        assert privacy.refresh_index(con) is True
    with duckdb.connect(path, read_only=True) as con:
        assert privacy.refresh_index(con) is True  # up to date: nothing to write
        assert privacy.refresh_index(con, rebuild=True) is False
    with duckdb.connect(path) as con:
        _load(con, "L2", "3375011203900022", "Bambang Contohnama", "1990-03-12")
    with duckdb.connect(path, read_only=True) as con:
        assert privacy.refresh_index(con) is False  # L2 is not indexed


def test_a_one_word_value_is_a_candidate_in_a_one_word_cell(wh) -> None:
    """A cell of one word is its only run (no split): a one-word name is a candidate there,
    whether the cell's text is its own words or not, and not inside a longer word."""
    _load(wh, "L2", "3375011203900022", "Wiryosukarto", "1990-03-12")
    assert privacy.refresh_index(wh, rebuild=True)
    found = privacy.index_candidates
    for cell in ("wiryosukarto", "WIRYOSUKARTO.", "catatan wiryosukarto"):
        assert found(wh, _cells(wh, [cell])) == {
            "registry_members.nama", "quarantine_raw_values.nama"}, cell
    assert found(wh, _cells(wh, ["wiryosukartono", "A1B2C3D4E5F6"])) == set()


@pytest.mark.parametrize("text", [
    "SITI AMINAH", "SITI  AMINAH", " SITI", "SITI ", "REKAP_SITI-AMINAH.CSV", "JL. JAMBU NO. 66",
    "siti aminah", "ÄBDUL KARIM", "3375015507800011", "A1B2C3", "", "-",
])
def test_quick_words_are_the_words(wh, text) -> None:
    """``_words_quick`` (no regexp replace for a text that is its own words) gives ``_words``."""
    quick, slow = wh.execute(
        f"select {privacy._words_quick('t')}, {privacy._words('t')} from (select ? as t)", [text]
    ).fetchone()
    assert quick == slow
