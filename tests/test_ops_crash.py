"""Crash safety and concurrent readers of real nightly runs (``tkpk run`` in a child process).

A run is SIGKILLed at several points (``TKPK_CRASH_AT``, see ``tkpk.publish.atomic.crashpoint``):
after loading, in the ingest (a kind's scratch files written), during the transforms, while writing
the packs and just before the publish swap.
Each time the previous packs are still published and whole, the warehouse opens and is usable,
and the next run publishes outputs equal, table by table, to those of an uninterrupted run.

Readers of the packs (DuckDB on the Parquet files, a notebook-like reader, a reader holding files
open) see either the old or the new version while a run publishes, never a mix, and never
block the run.

The starting state (the sample without a few program files, published) is built once; every
scenario copies it and drops the remaining files, as the next night's extracts.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path

import duckdb
import pytest
from ops_support import (
    PACKS,
    Place,
    manifest,
    pack_tables,
    published_version,
    root,
    shared_forker,
    shared_sample,
)

from tkpk.publish import atomic
from tkpk.publish.manifest import verify_manifest
from transforms.models import graph

pytestmark = [pytest.mark.ops, pytest.mark.slow]

#: The next night's new files: a disbursement month and the last PBI-JK list.
LATER_FILES = ("salur_pkh_bri_202608_tahap3.csv", "pbi_jk_202610.csv")
#: A model in the middle of the transforms.
MID_TRANSFORM = f"transform:{graph().order[len(graph().order) // 2]}"
#: Crash points before the warehouse commit (the run's transaction is rolled back) and after it.
BEFORE_COMMIT = ["after_load", "ingest:disbursements", MID_TRANSFORM]
AFTER_COMMIT = ["pack_writing", "before_swap"]


@pytest.fixture(scope="module")
def world() -> dict:
    """The published starting state and the outputs of an uninterrupted next run."""
    forker = shared_forker()
    sample = shared_sample()
    missing = [name for name in LATER_FILES if not (sample / name).exists()]
    assert not missing, f"the sample lacks {missing}: update LATER_FILES"
    module_root = root() / "crash"
    start = Place(module_root / "start")
    start.raw.mkdir(parents=True)
    for path in sample.iterdir():
        if path.name not in LATER_FILES:
            os.link(path, start.raw / path.name)
    first = forker.run(start.run_argv(), env=start.env())
    assert first.code == 0, first.output[-4000:]

    reference = start.copy_to(module_root / "reference")
    add_later_files(reference)
    second = forker.run(reference.run_argv(), env=reference.env())
    assert second.code == 0, second.output[-4000:]
    assert published_version(reference.out) != published_version(start.out)
    with duckdb.connect(str(start.db), read_only=True) as con:
        start_files = con.execute("select count(*) from ingest_file").fetchone()[0]
    return {
        "root": module_root,
        "start": start,
        "start_version": published_version(start.out),
        "start_run": manifest(start.out)["run_id"],
        "start_files": start_files,
        "reference_tables": pack_tables(reference.out),
    }


def add_later_files(place: Place) -> None:
    """Drop the next night's files into the raw folder."""
    sample = shared_sample()
    for name in LATER_FILES:
        os.link(sample / name, place.raw / name)


def assert_previous_packs_published(place: Place, world: dict) -> None:
    """The starting packs are published, whole (every checksum matches its manifest)."""
    assert published_version(place.out) == world["start_version"]
    for pack in PACKS:
        assert verify_manifest(place.out / pack) == [], pack
        assert manifest(place.out, pack)["run_id"] == world["start_run"]


def assert_warehouse_usable(place: Place, expected_files: int) -> None:
    """The warehouse opens read-write, holds the expected files and accepts a write."""
    with duckdb.connect(str(place.db)) as con:
        assert con.execute("select count(*) from ingest_file").fetchone()[0] == expected_files
        con.execute("create or replace table ops_probe as select 1 as x")
        assert con.execute("select count(*) from kelurahan_poverty").fetchone()[0] > 0
        con.execute("drop table ops_probe")


@pytest.mark.parametrize("point", BEFORE_COMMIT + AFTER_COMMIT)
def test_sigkill_leaves_previous_packs_and_next_run_recovers(world, point) -> None:
    forker = shared_forker()
    place = world["start"].copy_to(world["root"] / point.replace(":", "_"))
    add_later_files(place)

    crashed = forker.run(place.run_argv(), env=place.env(**{atomic.CRASH_ENV: point}))
    assert crashed.code == -9, f"the run was not killed at {point}:\n{crashed.output[-4000:]}"

    assert_previous_packs_published(place, world)
    scratch = place.base / "tmp" / "scratch"  # Settings.scratch_dir under the run's TKPK_TEMP
    if point.startswith("ingest:"):
        assert any(scratch.iterdir()), "the killed ingest left no scratch folder to clean up"
    committed = point in AFTER_COMMIT
    assert_warehouse_usable(place, world["start_files"] + (len(LATER_FILES) if committed else 0))

    recovered = forker.run(place.run_argv(), env=place.env())
    assert recovered.code == 0, recovered.output[-4000:]
    assert "packs published" in recovered.output
    assert published_version(place.out) != world["start_version"]
    for pack in PACKS:
        assert verify_manifest(place.out / pack) == [], pack
    assert not list((place.out / atomic.STAGING_DIR).iterdir())
    assert not scratch.exists() or not any(scratch.iterdir())  # stale scratch removed
    tables = pack_tables(place.out)
    assert tables.keys() == world["reference_tables"].keys()
    for name, rows in world["reference_tables"].items():
        assert tables[name] == rows, f"{name} differs from the uninterrupted run"


# --------------------------------------------------------------------------- readers


def _rows_by_version(out: Path) -> dict[str, dict[str, int]]:
    """version -> table -> rows, from the manifests of every complete version on disk."""
    versions = {}
    for folder in (out / atomic.VERSIONS_DIR).iterdir():
        document = json.loads((folder / "restricted" / "manifest.json").read_text())
        versions[folder.name] = {t: e["rows"] for t, e in document["tables"].items()}
    return versions


def _wait_for(condition, seconds: float) -> bool:
    """Poll ``condition`` every 50 ms for up to ``seconds``; its last value."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_readers_see_one_version_and_never_block_the_run(world) -> None:
    """While a run publishes: DuckDB readers of the restricted path, a pinned multi-table
    DuckDB reader and a notebook-like reader (tkpk.analysis) each see the old or the new pack,
    never a mix; a reader holding the old files open keeps reading them whole after the swap and
    after the old version is removed; the run completes meanwhile."""
    from tkpk.analysis import open_pack
    from tkpk.config import Settings

    forker = shared_forker()
    place = world["start"].copy_to(world["root"] / "readers")
    add_later_files(place)
    settings = Settings().with_paths(out=place.out)
    old = manifest(place.out)
    old_folder = (place.out / "restricted").resolve()
    # a reader holding every file of the old pack open (opened through the restricted path)
    held = {
        entry["path"]: os.open(place.out / "restricted" / entry["path"], os.O_RDONLY)
        for entry in old["files"]
    }
    direct: list[tuple[int, str]] = []  # (rows, max run id) of data_quality via restricted/
    pinned: list[tuple[str, dict[str, int]]] = []  # (version, table rows) from one folder
    notebook: list[tuple[str, dict[str, int]]] = []
    errors: list[BaseException] = []
    done = threading.Event()
    tables = ("data_quality", "kelurahan_poverty", "households", "program_reach")

    def read_loop() -> None:
        try:
            with duckdb.connect() as con:
                while not done.is_set():
                    path = place.out / "restricted" / "data_quality.parquet"
                    direct.append(
                        con.execute(
                            f"select count(*), max(run_id) from read_parquet('{path}')"
                        ).fetchone()
                    )
                    folder = (place.out / "restricted").resolve()
                    counts = {
                        t: con.execute(
                            f"select count(*) from read_parquet('{folder / t}.parquet')"
                        ).fetchone()[0]
                        for t in tables
                    }
                    pinned.append((folder.parent.name, counts))
                    with open_pack(settings, "restricted") as pack:
                        counts = {
                            t: int(pack.sql(f"select count(*) as n from {t}")["n"][0])
                            for t in tables
                        }
                        notebook.append((pack.folder.parent.name, counts))
        except BaseException as error:  # surfaced below
            errors.append(error)

    readers = [threading.Thread(target=read_loop) for _ in range(2)]
    for reader in readers:
        reader.start()
    # the run is held just before its swap until the readers have read the old pack there and
    # a file of the old pack has been opened: reads provably happen around the swap
    hold = place.out.parent / "hold"
    hold.mkdir(exist_ok=True)
    env = {**place.env(), atomic.HOLD_ENV: f"before_swap:{hold}"}
    try:
        _, log = forker.start(place.run_argv(), env=env)
        try:
            assert _wait_for(lambda: (hold / "before_swap.held").exists(), 600), "never held"
            seen = len(direct)
            assert _wait_for(lambda: len(direct) >= seen + 2, 60), errors
            during = os.open(place.out / "restricted" / "data_quality.parquet", os.O_RDONLY)
            held_during = {"data_quality.parquet": during}
        finally:
            (hold / "before_swap.release").touch()
            result = forker.finish(log)
        new = manifest(place.out)
        # the readers go on until they have read the new pack
        assert _wait_for(lambda: any(run == new["run_id"] for _, run in list(direct)), 60)
    finally:
        done.set()
        for reader in readers:
            reader.join(60)
    assert not errors, errors
    assert result.code == 0, result.output[-4000:]
    assert new["run_id"] != old["run_id"]
    held.update({f"during:{k}": v for k, v in held_during.items()})

    # every observation is one complete version
    versions = _rows_by_version(place.out)
    assert set(versions) >= {old_folder.parent.name, published_version(place.out)}
    for version, counts in pinned + notebook:
        assert counts == {t: versions[version][t] for t in tables}, version
    states = {
        (old["tables"]["data_quality"]["rows"], old["run_id"]),
        (new["tables"]["data_quality"]["rows"], new["run_id"]),
    }
    assert direct and set(direct) == states  # the old pack (held run) and then the new one
    assert {v for v, _ in pinned} <= set(versions)

    # the old files, still held open, read whole after the swap and after the old version is
    # removed by a later clean-up
    with atomic.publish_lock(place.out):
        removed = atomic.collect_garbage(place.out, keep_previous=0, grace_seconds=0)
    assert old_folder.parent.name in removed and not old_folder.exists()
    for name, fd in held.items():
        path = name.removeprefix("during:")
        entry = next(e for e in old["files"] if e["path"] == path)
        data = b""
        offset = 0
        while chunk := os.pread(fd, 1 << 20, offset):
            data += chunk
            offset += len(chunk)
        os.close(fd)
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], name
    # and the published pack is the new one, whole
    for pack in PACKS:
        assert verify_manifest(place.out / pack) == [], pack
