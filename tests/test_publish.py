"""Publishing the packs: contents, manifest, output validation, atomic swap, readers, clean-up."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from test_publish_fixtures import build_curated, publish

from tkpk.publish import atomic, dictionary, manifest, packs, suites
from tkpk.publish.dictionary import BAPPEDA, RESTRICTED
from tkpk.publish.packs import PublishError, resolve_pack
from tkpk.publish.suites import OutputValidationError

TESTS_DIR = Path(__file__).resolve().parent


@pytest.fixture
def curated(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    build_curated(con)
    return con


def _tables(folder: Path) -> set[str]:
    return {p.stem for p in folder.glob("*.parquet")}


# --------------------------------------------------------------------------- contents


def test_both_packs_are_published_whole(curated, settings) -> None:
    result = publish(curated, settings)
    assert settings.restricted_dir.resolve() == result.restricted_dir
    assert resolve_pack(settings, BAPPEDA) == result.bappeda_dir
    assert _tables(result.restricted_dir) == {t.name for t in dictionary.TABLES}
    assert _tables(result.bappeda_dir) == {
        "kelurahan_poverty", "program_reach", "program_incidence", "program_overlap",
        "funding_sources", "data_quality", "source_pulls", "data_coverage", "poverty_profile",
        "poverty_transitions",
    }
    # the correction lists are restricted only: one workbook per kelurahan with flagged fields
    # (kelurahan 1 in the fixture) and one for the records naming no kelurahan
    assert sorted(p.name for p in (result.restricted_dir / "verivali").iterdir()) == [
        "33.75.01.1002_medono.xlsx", "tanpa_kelurahan.xlsx",
    ]
    assert not (result.bappeda_dir / "verivali").exists()
    for pack in (RESTRICTED, BAPPEDA):
        folder = settings.curated_dir / pack
        for name in ("manifest.json", "data_dictionary.md", "data_dictionary.csv",
                     "data_dictionary.json", "README.md"):
            assert (folder / name).is_file(), f"{pack}/{name}"
    # restricted tables equal the warehouse tables (typed, ordered by key)
    for table in ("kelurahan_poverty", "program_reach", "data_quality", "source_pulls"):
        diff = curated.execute(
            f"select count(*) from (select * from {table} except all select * from "
            f"read_parquet('{result.restricted_dir}/{table}.parquet'))"
        ).fetchone()[0]
        assert diff == 0, table
    households = pq.read_table(result.restricted_dir / "households.parquet")
    assert households.column_names == dictionary.HOUSEHOLDS.names
    assert "id_keluarga" not in households.column_names


def test_manifest_describes_every_file(curated, settings) -> None:
    result = publish(curated, settings, "run-42")
    for pack in (RESTRICTED, BAPPEDA):
        folder = settings.curated_dir / pack
        assert manifest.verify_manifest(folder) == []
        document = json.loads((folder / "manifest.json").read_text())
        assert document["pack"] == pack and document["run_id"] == "run-42"
        assert document["schema_version"] == dictionary.SCHEMA_VERSION
        assert document["code_version"]["tkpk"]
        assert document["period_range"] == {"first": "2026-09-01", "last": "2026-10-01"}
        assert [s["file_name"] for s in document["source_files"]] == [
            "dtsen_keluarga_3375_202609.csv", "salur_bpnt_pos_202610.xlsx",
            "salur_pkh_bri_202609.csv",
        ]
        assert all(len(s["sha256"]) == 64 for s in document["source_files"])
        for name, entry in document["tables"].items():
            assert entry["rows"] == result.rows[pack][name]
            assert pq.read_metadata(folder / entry["file"]).num_rows == entry["rows"]
        listed = {f["path"] for f in document["files"]}
        assert listed == {
            p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()
        } - {"manifest.json"}
    restricted = json.loads((settings.restricted_dir / "manifest.json").read_text())
    assert restricted["pseudonym"]["key_source"] == "environment"
    assert restricted["tables"]["households"]["rows"] == 4


def test_manifest_verification_detects_tampering(curated, settings) -> None:
    result = publish(curated, settings)
    target = result.bappeda_dir / "README.md"
    target.write_text(target.read_text() + "x")
    assert manifest.verify_manifest(result.bappeda_dir) == ["README.md does not match its checksum"]


def test_bappeda_readme_is_indonesian_and_says_registry_based(curated, settings) -> None:
    publish(curated, settings)
    text = (settings.bappeda_dir / "README.md").read_text()
    assert "bukan angka kemiskinan resmi BPS" in text
    assert "dikosongkan" in text and "kurang dari 10" in text


# --------------------------------------------------------------------------- dictionary


def test_every_exported_column_is_documented_in_both_languages(curated, settings) -> None:
    publish(curated, settings)
    for pack in (RESTRICTED, BAPPEDA):
        folder = settings.curated_dir / pack
        rows = list(csv.DictReader(io.StringIO((folder / "data_dictionary.csv").read_text())))
        documented = {(r["table"], r["column"]): r for r in rows}
        markdown = (folder / "data_dictionary.md").read_text()
        for path in folder.glob("*.parquet"):
            schema = pq.read_schema(path)
            for name in schema.names:
                row = documented.get((path.stem, name))
                assert row is not None, f"{pack}/{path.name}: {name} undocumented"
                for field in ("type", "unit_en", "unit_id", "definition_en", "definition_id"):
                    assert row[field].strip(), f"{pack} {path.stem}.{name}: empty {field}"
                assert row["definition_en"] != row["definition_id"] or name.endswith("_idr")
                assert f"`{name}`" in markdown
        assert len(documented) == len(rows)


def test_dictionary_metadata_is_consistent() -> None:
    for table in dictionary.TABLES:
        names = table.names
        assert len(names) == len(set(names)), table.name
        assert set(table.key) <= set(names)
        for column in table.columns:
            assert column.unit in dictionary.UNITS
            if column.kind == "ratio":
                assert column.denominator, f"{table.name}.{column.name} needs a denominator"
            if column.kind == "amount":
                assert table.column(column.basis).kind == "count"
            assert not suites.personal_columns([column.name]), column.name


def test_exported_file_names_neutralise_formulas(curated, settings) -> None:
    name = '=HYPERLINK("http://x")_202609.csv'
    curated.execute("update data_quality set file_name = ? where kind = 'households'", [name])
    curated.execute("update data_quality_reason set file_name = ?", [name])
    result = publish(curated, settings)
    for pack in (result.restricted_dir, result.bappeda_dir):
        names = pq.read_table(pack / "data_quality.parquet").column("file_name").to_pylist()
        assert "'" + name in names
        assert not any(n.startswith("=") for n in names)


def test_csv_dictionary_neutralises_formulas() -> None:
    assert dictionary.spreadsheet_safe("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    for text in ("+1", "-1", "@SUM(A1)", "\tx"):
        assert dictionary.spreadsheet_safe(text).startswith("'")
    assert dictionary.spreadsheet_safe("Kelurahan") == "Kelurahan"
    for pack in (RESTRICTED, BAPPEDA):
        for row in csv.reader(io.StringIO(dictionary.render_csv(pack))):
            assert not any(cell[:1] in ("=", "+", "-", "@") for cell in row), row


# --------------------------------------------------------------------------- suites


def test_suites_on_disk_match_the_dictionary() -> None:
    for table in dictionary.TABLES:
        stored = suites.suite_path(table.name).read_text(encoding="utf-8")
        assert stored == suites.render_suite(table), (
            f"expectations/{table.name}.json is stale: run "
            "`python -c 'from tkpk.publish.suites import write_suites; write_suites()'`"
        )


def test_suites_load_in_great_expectations() -> None:
    from great_expectations.core.expectation_suite import ExpectationSuite

    for table in dictionary.TABLES:
        suite = ExpectationSuite(**suites.load_suite(table.name))
        assert suite.name == table.name and len(suite.expectations) > 3


@pytest.mark.parametrize(
    ("change", "check"),
    [
        (
            "update kelurahan_poverty set p2 = p1 + 0.01 where area_level = 'kelurahan' "
            "and poor_households > 0 and area_code = (select min(area_code) "
            "from kelurahan_poverty where poor_households > 0 and area_level = 'kelurahan')",
            "p1 >= p2",
        ),
        (
            "delete from kelurahan_poverty where area_level = 'kelurahan' and area_code = "
            "(select min(area_code) from kelurahan_poverty where area_level = 'kelurahan')",
            "every period has one row per kelurahan, kecamatan and the city of ref_area",
        ),
        (
            "update kelurahan_poverty set households = households + 1 "
            "where area_level = 'kota'",
            "kelurahan values add up to every kecamatan and the city",
        ),
        (
            "update kelurahan_poverty set mpi_m0 = mpi_m0 + 0.001 where area_level = 'kota'",
            "mpi_m0 = mpi_h × mpi_a",
        ),
        (
            "update program_reach set coverage_poor = 1.5 where recipient_poor_households > 0",
            "coverage_poor in [0, 1]",
        ),
        (
            "update program_overlap set poor_programs_0 = poor_programs_0 + 1 "
            "where area_level = 'kota'",
            "households by number of programs add up",
        ),
        (
            "update program_reach set failed_records = 0 where area_level = 'kota'",
            "kecamatan and city rows are at least the sum of their kelurahan",
        ),
        (
            "update funding_sources set area_name = 'Kota Lain' where area_level = 'kota'",
            "every area is in ref_area with its level, name and kecamatan",
        ),
    ],
)
def test_a_failing_suite_stops_the_publish(curated, settings, change: str, check: str) -> None:
    curated.execute(change)
    table = change.split()[1] if change.startswith("update") else change.split()[2]
    with pytest.raises(OutputValidationError) as failure:
        publish(curated, settings, "bad")
    message = str(failure.value)
    assert f"table {table}: check '{check}" in message
    assert not settings.restricted_dir.exists() and not settings.bappeda_dir.exists()
    assert not list((settings.curated_dir / atomic.STAGING_DIR).iterdir())


def test_gx_failure_is_reported_with_its_check(curated, settings) -> None:
    """The GX-native part of a suite runs in Great Expectations (tkpk.validation)."""
    curated.execute("update program_reach set coverage_target = -0.5 where coverage_target > 0")
    with pytest.raises(OutputValidationError, match=r"table program_reach: check 'coverage_target"):
        publish(curated, settings, use_gx=True)


def test_undocumented_or_personal_column_is_refused(curated, settings) -> None:
    curated.execute("alter table households add column nik varchar")
    with pytest.raises(PublishError, match=r"households has column\(s\) \['nik'\]"):
        publish(curated, settings)
    assert not settings.restricted_dir.exists()


def test_personal_column_check_of_the_suites(con) -> None:
    con.execute("create table t as select 1 as period, 'x' as nama, 'y' as no_kk")
    suite = {"expectations": [suites.build_suite(dictionary.DATA_QUALITY)["expectations"][1]]}
    failures = suites.run_suite(con, "t", "t", suite)
    assert len(failures) == 1 and failures[0].unexpected == 2


# --------------------------------------------------------------------------- atomicity


def _poverty_line_status(settings) -> set[str]:
    table = pq.read_table(settings.restricted_dir / "kelurahan_poverty.parquet")
    return set(table.column("poverty_line_status").to_pylist())


def test_failure_between_writing_and_swap_leaves_old_pack(curated, settings, monkeypatch) -> None:
    first = publish(curated, settings, "old")
    curated.execute("update kelurahan_poverty set poverty_line_status = 'official'")

    def broken_swap(*args, **kwargs):
        raise OSError("disk unplugged")

    original = atomic.swap_current
    monkeypatch.setattr(atomic, "swap_current", broken_swap)
    with pytest.raises(OSError, match="disk unplugged"):
        publish(curated, settings, "new")
    assert resolve_pack(settings, RESTRICTED) == first.restricted_dir
    assert _poverty_line_status(settings) == {"provisional"}
    for pack in (RESTRICTED, BAPPEDA):
        assert manifest.verify_manifest(settings.curated_dir / pack) == []
        document = json.loads((settings.curated_dir / pack / "manifest.json").read_text())
        assert document["run_id"] == "old"
    monkeypatch.setattr(atomic, "swap_current", original)
    publish(curated, settings, "next")
    assert _poverty_line_status(settings) == {"official"}


def test_failure_while_writing_leaves_old_pack(curated, settings, monkeypatch) -> None:
    first = publish(curated, settings, "old")

    def broken(*args, **kwargs):
        raise OSError("no space left on device")

    monkeypatch.setattr(packs, "write_bappeda", broken)
    with pytest.raises(OSError):
        publish(curated, settings, "new")
    assert resolve_pack(settings, BAPPEDA) == first.bappeda_dir
    assert manifest.verify_manifest(settings.bappeda_dir) == []
    assert not list((settings.curated_dir / atomic.STAGING_DIR).iterdir())


@pytest.mark.parametrize("lanes", [4, 0])
def test_lanes_report_failures_in_step_order(curated, settings, monkeypatch, lanes) -> None:
    """The validation, the correction lists and the Bappeda pack run at once (or one after the
    other with ``publish_lanes`` 0): when the validation and the Bappeda pack both fail, the
    validation's failure is the one raised (as step by step), and nothing is left in staging or
    published."""
    settings = dataclasses.replace(settings, publish_lanes=lanes)
    curated.execute(
        "update program_reach set coverage_poor = 1.5 where recipient_poor_households > 0"
    )
    started = threading.Event()

    def broken(*args, **kwargs):
        started.set()
        raise OSError("no space left on device")

    monkeypatch.setattr(packs, "write_bappeda", broken)
    with pytest.raises(OutputValidationError, match="coverage_poor"):
        publish(curated, settings, "bad")
    assert started.is_set()  # the Bappeda lane ran too
    assert not settings.restricted_dir.exists() and not settings.bappeda_dir.exists()
    assert not list((settings.curated_dir / atomic.STAGING_DIR).iterdir())



def test_steps_in_order_publish_the_same_packs(curated, settings) -> None:
    """``publish_lanes`` 0 (the steps one after the other) publishes the same files, byte for
    byte, as the steps run at once."""
    at_once = _data_files(publish(curated, settings, "lanes"))
    in_order = _data_files(publish(curated, dataclasses.replace(settings, publish_lanes=0), "seq"))
    assert in_order == at_once and len(at_once) > 10


def _data_files(result) -> dict[str, bytes]:
    """pack/file name -> bytes of the Parquet files of both published packs."""
    folders = (result.restricted_dir, result.bappeda_dir)
    return {f"{d.name}/{p.name}": p.read_bytes() for d in folders for p in d.glob("*.parquet")}


CRASH_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from pathlib import Path
from tkpk.config import Settings
from tkpk.db import connect
from test_publish_fixtures import publish
settings = Settings(curated_dir=Path({curated!r}), temp_dir=Path({temp!r}),
                    local_key_file=Path({key!r}), duckdb_threads=1)
con = connect(settings, {db!r}, read_only=True)
publish(con, settings, "crashing")
"""


@pytest.mark.parametrize("point", ["pack_writing", "before_publish", "before_swap"])
def test_sigkill_during_publish_leaves_old_pack(curated, settings, tmp_path, point) -> None:
    first = publish(curated, settings, "old")
    database = tmp_path / "crash.duckdb"
    curated.execute(f"attach '{database}' as crash")
    for table in ["ingest_file", *(t.name for t in dictionary.TABLES),
                  "registry_households", "registry_members", "program_records"]:
        curated.execute(f"create table crash.{table} as select * from {table}")
    curated.execute("create table crash.ref_area as select * from ref_area")
    curated.execute("create table crash.ref_program as select * from ref_program")
    curated.execute("detach crash")
    script = CRASH_SCRIPT.format(
        tests=str(TESTS_DIR), curated=str(settings.curated_dir), temp=str(settings.temp_dir),
        key=str(settings.local_key_file), db=str(database),
    )
    env = {**os.environ, atomic.CRASH_ENV: point}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=120)
    assert done.returncode == -9, done.stderr.decode()[-2000:]
    assert resolve_pack(settings, RESTRICTED) == first.restricted_dir
    for pack in (RESTRICTED, BAPPEDA):
        assert manifest.verify_manifest(settings.curated_dir / pack) == []
    # the next run cleans up and publishes
    second = publish(curated, settings, "after-crash")
    assert resolve_pack(settings, RESTRICTED) == second.restricted_dir
    assert not list((settings.curated_dir / atomic.STAGING_DIR).iterdir())


# --------------------------------------------------------------------------- readers


def test_readers_see_one_version_never_a_mix(curated, settings) -> None:
    """While runs publish, a pinned reader always reads files of one version (checksums match
    its manifest), and a reader of ``restricted/<table>.parquet`` always gets a whole file."""
    curated.execute("update data_quality set run_id = 'run-0'")
    publish(curated, settings, "run-0")
    published = {"run-0"}
    stop = threading.Event()
    errors: list[BaseException] = []

    def publisher() -> None:
        cursor = curated.cursor()
        try:
            for n in range(1, 4):
                run_id = f"run-{n}"
                cursor.execute("update data_quality set run_id = ?", [run_id])
                published.add(run_id)
                publish(cursor, settings, run_id)
        except BaseException as error:  # surfaced in the main thread
            errors.append(error)
        finally:
            stop.set()

    thread = threading.Thread(target=publisher)
    thread.start()
    reads = 0
    while not stop.is_set() or reads < 3:
        pinned = resolve_pack(settings, RESTRICTED)
        document = json.loads((pinned / "manifest.json").read_text())
        assert manifest.verify_manifest(pinned) == []
        runs = set(pq.read_table(pinned / "data_quality.parquet").column("run_id").to_pylist())
        assert runs == {document["run_id"]}
        direct = pq.read_table(settings.restricted_dir / "data_quality.parquet")
        assert set(direct.column("run_id").to_pylist()) <= published
        reads += 1
    thread.join()
    assert not errors, errors
    assert reads >= 3
    final = json.loads((settings.restricted_dir / "manifest.json").read_text())
    assert final["run_id"] == "run-3"


def test_a_reader_holding_the_old_version_reads_it_whole_across_each_swap(
    curated, settings, monkeypatch
) -> None:
    """Provably during the swap: each swap is held until the reader has opened the old
    version's files through ``restricted/``; the reader then reads them after the swap (the old
    version, whole, checksums of its manifest) and the path then gives the new version."""
    curated.execute("update data_quality set run_id = 'run-0'")
    publish(curated, settings, "run-0")
    swapping, opened, swapped = threading.Event(), threading.Event(), threading.Event()
    original = atomic.swap_current
    swaps: list[str] = []

    def held_swap(*args, **kwargs):
        opened.clear()
        swapping.set()
        assert opened.wait(60), "the reader never opened the old version"
        swapping.clear()
        original(*args, **kwargs)
        swaps.append("done")
        swapped.set()

    monkeypatch.setattr(atomic, "swap_current", held_swap)
    errors: list[BaseException] = []

    def publisher() -> None:
        cursor = curated.cursor()
        try:
            for n in range(1, 4):
                cursor.execute("update data_quality set run_id = ?", [f"run-{n}"])
                publish(cursor, settings, f"run-{n}")
        except BaseException as error:  # surfaced in the main thread
            errors.append(error)
            opened.set()

    thread = threading.Thread(target=publisher)
    thread.start()
    across = []
    for n in range(1, 4):
        assert swapping.wait(60), errors
        restricted = settings.restricted_dir
        old = json.loads((restricted / "manifest.json").read_text())
        entry = next(e for e in old["files"] if e["path"] == "data_quality.parquet")
        fd = os.open(restricted / "data_quality.parquet", os.O_RDONLY)
        swapped.clear()
        opened.set()  # the swap goes ahead while the file is open
        assert swapped.wait(60), errors
        try:
            data = b""
            while chunk := os.pread(fd, 1 << 20, len(data)):
                data += chunk
        finally:
            os.close(fd)
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert old["run_id"] == f"run-{n - 1}"
        held = pq.read_table(io.BytesIO(data)).column("run_id").to_pylist()
        now = pq.read_table(restricted / "data_quality.parquet").column("run_id").to_pylist()
        across.append((set(held), set(now)))
    thread.join()
    assert not errors, errors
    assert swaps == ["done"] * 3
    assert across == [({f"run-{n - 1}"}, {f"run-{n}"}) for n in range(1, 4)]


def test_old_versions_are_collected_safely(curated, settings) -> None:
    versions = [
        publish(curated, settings, f"run-{n}", keep_previous=1, grace_seconds=0).version
        for n in range(3)
    ]
    remaining = sorted(p.name for p in (settings.curated_dir / atomic.VERSIONS_DIR).iterdir())
    assert remaining == versions[-2:]
    # a leftover staging folder of a killed run is removed by the next publish
    leftover = settings.curated_dir / atomic.STAGING_DIR / "20000101T000000000000Z_dead_0000"
    (leftover / RESTRICTED).mkdir(parents=True)
    # young versions are kept whatever keep_previous says (pinned readers)
    publish(curated, settings, "run-3", keep_previous=0)
    assert not leftover.exists()
    assert len(list((settings.curated_dir / atomic.VERSIONS_DIR).iterdir())) == 3


def test_legacy_pack_folder_is_migrated(curated, settings) -> None:
    legacy = settings.restricted_dir
    legacy.mkdir(parents=True)
    (legacy / "kelurahan_poverty.parquet").write_bytes(b"old layout")
    result = publish(curated, settings)
    assert settings.restricted_dir.is_symlink()
    assert resolve_pack(settings, RESTRICTED) == result.restricted_dir


def test_end_to_end_with_the_marts(con, settings) -> None:
    """Real marts from hand-written registry rows, published with GX validation."""
    from marts_support import KEL_KRAPYAK, KEL_MEDONO, World

    world = World(con)
    world.snapshot("2031-01")
    _, niks = world.household("2031-01", 400_000, KEL_MEDONO, members=3, desil=1)
    world.record("PKH", "2031-03-20", nik=niks[0], amount=750_000)
    for n in range(12):
        world.household("2031-01", 450_000 + n * 50_000, KEL_KRAPYAK, members=2, desil=2 + n % 5)
    world.build()
    con.execute(  # World created ingest_file (data_coverage reads it)
        "insert into ingest_file (file_name, sha256, kind, period, file_outcome, rows_read, "
        "skipped_lines, loaded_at) select 'dtsen_keluarga_3375_203101.csv', repeat('d', 64), "
        "'households', date '2031-01-01', 'loaded', 0, 0, now()"
    )
    result = publish(con, settings, "e2e", use_gx=True)
    assert result.rows[RESTRICTED]["households"] == 13
    assert len(result.validations) == len(dictionary.pack_tables(RESTRICTED))
    assert all(outcome.success for outcome in result.validations)
    city = con.execute(
        f"select poor_households, poor_households_suppressed, p0 from read_parquet("
        f"'{result.bappeda_dir}/kelurahan_poverty.parquet') where area_level = 'kota'"
    ).fetchall()
    # poor (y < z = 500,000 strictly): Medono's 3 persons and Krapyak's 2 at 450,000:
    # 2 households (suppressed), 5 of 27 persons (shown: numerator 5, denominator 27);
    # periods 2031-01 (snapshot) and 2031-03 (PKH payment)
    assert city == [(None, True, pytest.approx(5 / 27))] * len(city) and len(city) == 2
