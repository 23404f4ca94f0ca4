"""The personal-data audit finds personal values inside longer texts (issue 16, item 7).

Rule (``tkpk.publish.privacy``): a personal value of at least ``MIN_SUBSTRING_LENGTH`` characters
is found when its words occur whole and in order among an exported cell's words (both sides
upper-cased, every run of characters other than letters and digits a word separator), unless the
exports' own vocabulary (a kelurahan or program name) holds it; birth dates and shorter values
are matched as whole cells only. Checked on packs published from a generated drop
(``real_packs``) with names, NIKs and addresses of its warehouse planted into longer texts.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from tkpk.db import connect, sql_literal
from tkpk.publish import privacy

FREE_TEXT = {"file_name"}


@pytest.fixture(scope="module")
def people(real_packs) -> dict:
    """A few personal values of the warehouse (a two-word name, a NIK, an address)."""
    with duckdb.connect(str(real_packs.warehouse), read_only=True) as con:
        name = con.execute(
            "select nama from registry_members where nama like '% %' and length(nama) >= 10 "
            "order by nama limit 1"
        ).fetchone()[0]
        nik = con.execute("select min(nik) from registry_members").fetchone()[0]
        address = con.execute(
            "select alamat from registry_households where alamat like 'jl.%' order by alamat "
            "limit 1"
        ).fetchone()[0]
        kelurahan = con.execute(
            "select name from ref_area where level = 'kelurahan' order by code limit 1"
        ).fetchone()[0]
    return {"name": name, "nik": nik, "address": address, "kelurahan": kelurahan}


@pytest.fixture
def wh(real_packs):
    """A read-only connection to the real warehouse (temp tables only)."""
    con = connect(real_packs, real_packs.warehouse, read_only=True)
    yield con
    con.close()


def _packs(real_packs) -> list[Path]:
    out = real_packs.curated_dir
    return sorted(p for pack in ("restricted", "bappeda") for p in (out / pack).glob("*.parquet"))


def _with_cells(real_packs, folder: Path, cells: dict[str, list[str]]) -> Path:
    """A copy of the published version whose restricted ``data_quality`` file holds extra rows
    (column -> values; every other column null)."""
    version = folder / "v"
    for pack in ("restricted", "bappeda"):
        shutil.copytree((real_packs.curated_dir / pack).resolve(), version / pack)
    path = version / "restricted" / "data_quality.parquet"
    with duckdb.connect() as con:
        con.execute(f"create table t as select * from read_parquet({sql_literal(path)})")
        for column, values in cells.items():
            for value in values:
                con.execute(f'insert into t ("{column}") values (?)', [value])
        con.execute(f"copy t to {sql_literal(path)} (format parquet)")
    return version


def _files(version: Path) -> list[Path]:
    return sorted(version.glob("*/*.parquet"))


def test_real_packs_pass_the_substring_audit(real_packs, wh) -> None:
    """No false positive on real packs: file names, reason codes, area and program names."""
    files = _packs(real_packs)
    assert any(p.name == "data_quality.parquet" for p in files)
    assert privacy.audit_files(wh, files, FREE_TEXT) == []


def test_a_name_inside_a_file_name_is_found(real_packs, wh, people, tmp_path) -> None:
    name = people["name"]
    planted = f"rekap_{name.lower().replace(' ', '_')}_rt03.csv"
    version = _with_cells(real_packs, tmp_path, {"file_name": [planted]})
    problems = privacy.audit_files(wh, _files(version), FREE_TEXT)
    assert "restricted/data_quality.parquet: column file_name holds text containing 1 value(s) " \
           "of registry_members.nama (personal data)" in problems
    assert not any("bappeda" in p for p in problems)


@pytest.mark.parametrize("template", ["Catatan: {} pindah", "{}, RT 03", "ALAMAT {}."])
def test_an_address_or_nik_inside_a_free_text_is_found(real_packs, wh, people, tmp_path,
                                                        template) -> None:
    text_column = "file_name"
    version = _with_cells(real_packs, tmp_path, {text_column: [
        template.format(people["address"]), f"pemohon {people['nik']} ok"
    ]})
    problems = " ".join(privacy.audit_files(wh, _files(version), FREE_TEXT))
    assert "containing 1 value(s) of registry_households.alamat" in problems
    assert "containing 1 value(s) of registry_members.nik" in problems


def test_words_of_a_name_alone_or_glued_are_not_a_match(real_packs, wh, people, tmp_path):
    """Only the whole value, word for word: one of its words, or its words glued into a longer
    word, is ordinary text (names share words with places and with each other)."""
    first, *rest = people["name"].split(" ")
    glued = people["name"].replace(" ", "") + "X"
    version = _with_cells(real_packs, tmp_path, {"file_name": [
        f"laporan {first} {first}.csv", f"{glued} saja", f"kelurahan {people['kelurahan']}"
    ]})
    assert privacy.audit_files(wh, _files(version), FREE_TEXT) == []


def test_incremental_audit_finds_a_planted_name_in_a_new_cell(real_packs, wh, people,
                                                               tmp_path) -> None:
    """Against a clean published version, the new cell is probed (new cells x every row) and the
    planted name inside it found, as the full audit does."""
    previous = tmp_path / "previous"
    for pack in ("restricted", "bappeda"):
        shutil.copytree((real_packs.curated_dir / pack).resolve(), previous / pack)
    first = privacy.audit_version(wh, _files(previous), FREE_TEXT, None)
    assert first.problems == []
    privacy.write_state(previous, first.state)
    same = privacy.audit_version(wh, _files(previous), FREE_TEXT, previous)
    assert same.plan.mode == "incremental" and same.problems == [] and same.plan.probes == []
    version = _with_cells(real_packs, tmp_path / "next",
                          {"file_name": [f"surat {people['name'].title()}.pdf"]})
    result = privacy.audit_version(wh, _files(version), FREE_TEXT, previous)
    assert result.plan.mode == "incremental" and result.plan.new_cells == 1
    assert any("containing 1 value(s) of registry_members.nama" in p for p in result.problems)
    assert result.problems == privacy.audit_files(wh, _files(version), FREE_TEXT)


def test_an_old_cell_holding_a_new_persons_name_is_found(tmp_path) -> None:
    """A published cell that holds a name only a new load brings (every cell x new rows)."""
    from tkpk.config import Settings

    settings = Settings(temp_dir=tmp_path / "tmp")
    con = connect(settings, ":memory:")
    con.execute(
        """
        create table ingest_file (sha256 varchar, file_name varchar, load_id varchar,
                                  file_id integer);
        create table quarantine (file_id integer, raw_values json);
        insert into ingest_file values ('a', 'f1.csv', 'L1', 1);
        insert into quarantine values
            (1, json_object('nik', '3375010101800001', 'nama', 'Budi Lama'));
        """
    )
    version = tmp_path / "v1" / "restricted"
    version.mkdir(parents=True)
    con.execute(
        f"copy (select 'catatan untuk siti barunama rt 2' as note) to "
        f"{sql_literal(version / 'data_quality.parquet')} (format parquet)"
    )
    first = privacy.audit_version(con, _files(version.parent), set(), None)
    assert first.problems == []
    privacy.write_state(version.parent, first.state)
    con.execute("insert into ingest_file values ('b', 'f2.csv', 'L2', 2)")
    con.execute("insert into quarantine values "
                "(2, json_object('nik', '3375010101800002', 'nama', 'SITI BARUNAMA'))")
    result = privacy.audit_version(con, _files(version.parent), set(), version.parent)
    assert result.plan.mode == "incremental" and result.plan.new_cells == 0
    assert result.plan.new_loads == ["L2"]
    assert result.problems == [
        "restricted/data_quality.parquet: column note holds text containing 1 value(s) of "
        "quarantine_raw_values.nama (personal data)"
    ]
    con.close()


def test_data_docs_and_report_pdf_are_audited(real_packs, wh, people, tmp_path) -> None:
    """The real Data Docs pages and briefing PDF pass; a name planted into a page or drawn into
    the PDF is found (text extracted with pypdf)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    docs = real_packs.data_docs_dir
    pages = sorted(docs.rglob("*.html"))
    assert len(pages) > 3
    assert privacy.audit_documents(wh, pages, docs) == []

    planted_page = tmp_path / "page.html"
    planted_page.write_text(
        f"<html><body><td title='x'>{people['name'].title()} &amp; co</td></body></html>"
    )
    problems = privacy.audit_documents(wh, [planted_page], tmp_path)
    # the person may also be a recipient: then the program lists' name columns hold the name too
    assert {"page.html: holds text containing 1 value(s) of registry_members.nama (personal data)",
            "page.html: holds text containing 1 value(s) of quarantine_raw_values.nama "
            "(personal data)",
            } <= set(problems)
    assert all(p.startswith("page.html: holds text containing 1 value(s) of ") and
               p.endswith(".nama (personal data)") for p in problems)

    pdf = tmp_path / "chart.pdf"
    figure = plt.figure()
    figure.text(0.1, 0.5, f"Penerima: {people['name']} (contoh)")
    figure.savefig(pdf)
    plt.close(figure)
    assert any("registry_members.nama" in p for p in privacy.audit_documents(wh, [pdf], tmp_path))


def test_quick_trim_is_trim() -> None:
    """``_trim_quick`` (trim only when an end may be a space separator) equals ``trim``."""
    texts = ["", " ", "a", " a", "a ", "\u3000a", "a\u3000", "\u00a0x\u00a0", "\tx\t", "x\n",
             "é", " é ", "a b", "\u2000zz", "zz\u202f", "!x!", "~", "x\u200b", "\u1680x", None]
    with duckdb.connect() as con:
        con.execute("create table t as select unnest(?::varchar[]) as v", [texts])
        differ = con.execute(
            f"select count(*) from t where ({privacy._trim_quick('v')}) is distinct from trim(v)"
        ).fetchone()[0]
    assert differ == 0
