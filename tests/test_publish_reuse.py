"""Reuse of the published version's files for unchanged tables (``tkpk.publish.reuse``): the same
bytes and manifests as a publish that writes every file, and no reuse of a changed table or of a
published file changed on disk."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import duckdb
import pytest
from test_publish_fixtures import build_curated, publish

from tkpk.publish import manifest, packs, reuse, verivali
from tkpk.publish.dictionary import BAPPEDA, RESTRICTED


@pytest.fixture
def curated(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    build_curated(con)
    return con


@pytest.fixture
def validated(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tables whose output suite runs (in order), as the publishes go."""
    tables: list[str] = []
    original = packs.suites.validate_output

    def counting(con, table, *args, **kwargs):
        tables.append(table)
        return original(con, table, *args, **kwargs)

    monkeypatch.setattr(packs.suites, "validate_output", counting)
    return tables


def _files(version: Path) -> dict[str, bytes]:
    """pack/relative path -> bytes of every file of both packs but the manifests."""
    return {
        f"{pack}/{p.relative_to(version / pack).as_posix()}": p.read_bytes()
        for pack in (RESTRICTED, BAPPEDA)
        for p in sorted((version / pack).rglob("*"))
        if p.is_file() and p.name != manifest.MANIFEST
    }


def _manifest_body(folder: Path) -> dict:
    """A manifest without what differs between any two publishes (version, run, time)."""
    document = json.loads((folder / manifest.MANIFEST).read_text(encoding="utf-8"))
    for name in ("version", "run_id", "generated_at"):
        document.pop(name)
    return document


def _linked(first: Path, second: Path) -> bool:
    return os.stat(first).st_ino == os.stat(second).st_ino


def _full_publish(con, settings, tmp_path: Path):
    """A publish into a fresh folder, every file written (the reference)."""
    fresh = dataclasses.replace(settings, curated_dir=tmp_path / "fresh")
    return publish(con, fresh, "fresh", reuse_files=False)


def _assert_same_as_full(result, reference) -> None:
    assert _files(result.version_dir) == _files(reference.version_dir)
    for pack in (RESTRICTED, BAPPEDA):
        assert _manifest_body(result.version_dir / pack) == _manifest_body(
            reference.version_dir / pack
        )
        assert manifest.verify_manifest(result.version_dir / pack) == []


def test_unchanged_tables_are_linked_not_written_or_validated(
    curated, settings, tmp_path, validated
) -> None:
    first = publish(curated, settings, "one")
    assert (first.version_dir / reuse.REUSE_STATE).exists()
    assert len(validated) > 10  # the first publish validates every table
    validated.clear()
    second = publish(curated, settings, "two")
    restricted = [p.name for p in (second.restricted_dir).glob("*.parquet")]
    assert len(restricted) > 10
    for name in restricted:  # every table unchanged: the published files, linked
        assert _linked(first.restricted_dir / name, second.restricted_dir / name), name
    workbooks = sorted((second.restricted_dir / verivali.FOLDER).iterdir())
    assert workbooks
    for path in workbooks:
        assert _linked(first.restricted_dir / verivali.FOLDER / path.name, path)
    assert validated == []  # the same files, validated by the same suites before
    _assert_same_as_full(second, _full_publish(curated, settings, tmp_path))


def test_a_changed_table_is_written_and_validated_again(
    curated, settings, tmp_path, validated
) -> None:
    first = publish(curated, settings, "one")
    curated.execute("update kelurahan_poverty set poverty_line_status = 'official'")
    curated.execute(  # a flagged field: the correction lists are written again
        "update data_quality_field set row_number = row_number + 1000 "
        "where row_number = (select min(row_number) from data_quality_field)"
    )
    validated.clear()
    second = publish(curated, settings, "two")
    name = "kelurahan_poverty.parquet"
    assert not _linked(first.restricted_dir / name, second.restricted_dir / name)
    assert (first.restricted_dir / name).read_bytes() != (second.restricted_dir / name).read_bytes()
    assert _linked(first.restricted_dir / "households.parquet",
                   second.restricted_dir / "households.parquet")
    assert sorted(validated) == ["data_quality_field", "kelurahan_poverty"]
    for path in (second.restricted_dir / verivali.FOLDER).iterdir():
        assert not _linked(first.restricted_dir / verivali.FOLDER / path.name, path)
    _assert_same_as_full(second, _full_publish(curated, settings, tmp_path))


def test_a_published_file_changed_on_disk_is_not_reused(curated, settings, tmp_path) -> None:
    first = publish(curated, settings, "one")
    tampered = first.restricted_dir / "data_coverage.parquet"
    tampered.chmod(0o600)
    tampered.write_bytes(tampered.read_bytes()[:-1] + b"\0")
    workbook = next((first.restricted_dir / verivali.FOLDER).iterdir())
    workbook.chmod(0o600)
    workbook.write_bytes(workbook.read_bytes() + b"\0")
    second = publish(curated, settings, "two")
    assert not _linked(tampered, second.restricted_dir / "data_coverage.parquet")
    assert not _linked(workbook, second.restricted_dir / verivali.FOLDER / workbook.name)
    _assert_same_as_full(second, _full_publish(curated, settings, tmp_path))


def test_another_pseudonym_key_writes_the_pseudonymised_tables_again(
    curated, settings, monkeypatch
) -> None:
    first = publish(curated, settings, "one")
    monkeypatch.setenv("TKPK_PSEUDONYM_KEY", "another-test-key-not-secret")
    second = publish(curated, settings, "two")
    for name in ("households.parquet", "data_quality_field.parquet"):
        assert not _linked(first.restricted_dir / name, second.restricted_dir / name), name
    assert _linked(first.restricted_dir / "kelurahan_poverty.parquet",
                   second.restricted_dir / "kelurahan_poverty.parquet")


def test_fingerprint_follows_the_table_and_the_suite(curated, settings, tmp_path) -> None:
    from tkpk.config import EXPECTATIONS_DIR
    from tkpk.publish import pseudonym

    key = pseudonym.load_key(settings)
    before = packs.export_fingerprints(curated, key)
    assert packs.export_fingerprints(curated, key) == before
    suites_dir = tmp_path / "suites"
    suites_dir.mkdir()
    for path in EXPECTATIONS_DIR.glob("*.json"):
        (suites_dir / path.name).write_bytes(path.read_bytes())
    suite = suites_dir / "data_coverage.json"
    suite.write_text(suite.read_text() + "\n")
    changed = packs.export_fingerprints(curated, key, suites_dir)
    assert {t for t in before if before[t] != changed[t]} == {"data_coverage"}
    curated.execute("update ref_area set name = name || ' ' where level = 'kota'")
    # the suites reading ref_area see another reference table
    moved = packs.export_fingerprints(curated, key)
    assert moved["kelurahan_poverty"] != before["kelurahan_poverty"]
    assert moved["data_quality_field"] == before["data_quality_field"]


def test_texts_whose_hashes_collide_still_change_the_digest() -> None:
    """DuckDB's text hash collides on texts that differ only in the high bytes of consecutive
    eight-byte words; the digest's second hash reads texts backwards, so such a change shows."""
    con = duckdb.connect()
    pair = con.execute(
        "with s as (select 'kode-00' || chr(a::int) || 'abcdefg' || chr(b::int) as v "
        "from range(48, 58) t(a), range(48, 58) u(b)) "
        "select min(v), max(v) from s group by hash(v) having count(*) > 1 limit 1"
    ).fetchone()
    if pair is None:
        pytest.skip("this DuckDB's text hash has no such collision")
    before, after = pair
    con.execute("create table t (code varchar, codes varchar[], n integer)")
    con.execute("insert into t values (?, [?], 1)", [before, before])
    first = reuse.table_digest(con, "t")
    con.execute("update t set code = ?", [after])
    assert reuse.table_digest(con, "t") != first
    con.execute("update t set code = ?, codes = [?]", [before, after])
    assert reuse.table_digest(con, "t") != first
    con.execute("update t set codes = [?]", [before])
    assert reuse.table_digest(con, "t") == first
