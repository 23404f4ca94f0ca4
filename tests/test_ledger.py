"""The run ledger (``tkpk.ledger``): bounded commits of the nightly run and the undo of a run
that did not finish.

A small generated drop is ingested in two nights. The second night (a disbursement file and two
PBI-JK lists) is SIGKILLed in its second kind (``ingest:pbi``), after the disbursements step
committed: the killed run's committed rows are in the warehouse, the next opening for writing
undoes them and every table equals the state after the first night; the rerun then equals an
uninterrupted second night. A completed run is never undone, a run in progress is not undone by a
second connection of its own process, and a failing run undoes its committed steps at once.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tkpk import ledger, reference
from tkpk.config import Settings
from tkpk.db import connect
from tkpk.ledger import FINAL, RunLedger

#: The second night's files: the disbursements kind first, then the pbi kind (KIND_ORDER).
LATER_FILES = ("salur_blt_pos_202609.xlsx", "pbi_jk_202609.csv", "pbi_jk_202610.csv")
#: Columns that differ between two runs over the same files (ids and clock times).
RUN_COLUMNS = {"run_id", "load_id", "loaded_at", "built_at", "started_at", "finished_at"}


def make_settings(base: Path) -> Settings:
    """Settings of an installation under ``base``."""
    return Settings(
        raw_dir=base / "raw", curated_dir=base / "curated", warehouse=base / "warehouse.duckdb",
        synth_dir=base / "synth", temp_dir=base / "tmp", duckdb_memory_limit="1GB",
        duckdb_threads=2, local_key_file=base / "local.key", region="33.75",
    )


def warehouse_run(settings: Settings, run_id: str, fail_in_final: bool = False) -> None:
    """The nightly flow's warehouse part (``flows.nightly``: ledger, load with the first kind,
    one commit per kind, the final step with the transforms), without Prefect; checks that
    ``ingest_file`` lists the run's files only in the open transaction (parked between steps)."""
    from tkpk.ingest.accept import process_loads
    from tkpk.ingest.raw import load_new_files
    from transforms.incremental import build_changed

    con = connect(settings)
    run = RunLedger(con, run_id)
    try:
        run.start()
        con.begin()
        reference.install(con, settings.region)
        run.begin_step("load")
        outcomes = load_new_files(con, settings, run_id)
        run.step_done("load", sum(o.rows_read for o in outcomes))
        def files_of_run(connection: duckdb.DuckDBPyConnection) -> int:
            return connection.execute(
                "select count(*) from ingest_file where run_id = ?", [run_id]).fetchone()[0]

        def commit_kind(kind: str, rows: int) -> None:
            listed = files_of_run(con)
            run.commit(f"ingest:{kind}", rows)
            with con.cursor() as other:  # another connection sees the committed state
                assert files_of_run(other) == 0
            assert files_of_run(con) == listed > 0

        process_loads(con, settings, run_id, outcomes, on_kind=commit_kind)
        run.begin_step(FINAL)
        if fail_in_final:
            raise RuntimeError("a failing transform")
        build_changed(con, outcomes)
        run.complete()
        con.commit()
        run.close()
    except BaseException:
        run.abort()
        raise
    finally:
        con.close()


def tables(db: Path, drop_run_columns: bool = False) -> dict[str, list[tuple]]:
    """Every base table's rows (sorted, as text), the ledger aside; without the per-run columns
    when ``drop_run_columns``. Opened read-only: no recovery."""
    with duckdb.connect(str(db), read_only=True) as con:
        names = [n for (n,) in con.execute(
            "select table_name from duckdb_tables() where not temporary order by 1").fetchall()]
        result = {}
        for name in names:
            if name == ledger.TABLE:
                continue
            columns = [c for (c,) in con.execute(
                "select column_name from duckdb_columns() where table_name = ? "
                "order by column_index", [name]).fetchall()]
            if drop_run_columns:
                columns = [c for c in columns if c not in RUN_COLUMNS]
            listed = ", ".join(f'cast("{c}" as varchar)' for c in columns)
            rows = con.execute(f'select {listed} from "{name}"').fetchall()
            result[name] = sorted(rows, key=repr)
    return result


def ledger_rows(db: Path) -> list[tuple[str, str, str]]:
    """(run_id, step, status) of every ledger row, in time order."""
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "select run_id, step, status from run_ledger order by started_at, step, status"
        ).fetchall()


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The warehouse after the first night (``start``) and after an uninterrupted second night
    (``reference``)."""
    from tkpk.synth import generate

    root = tmp_path_factory.mktemp("ledger")
    drop = root / "drop"
    generate(out_dir=drop, side_dir=root / "side", households=60, months="2026-08:2026-10",
             seed=3, region="33.75", messiness=0.05)
    assert all((drop / name).exists() for name in LATER_FILES)
    start = make_settings(root / "start")
    start.raw_dir.mkdir(parents=True)
    for path in drop.iterdir():
        if path.name not in LATER_FILES:
            os.link(path, start.raw_dir / path.name)
    warehouse_run(start, "run-1")
    reference_place = copy_place(start, root / "reference", drop)
    warehouse_run(reference_place, "run-2")
    return {"root": root, "drop": drop, "start": start,
            "reference": tables(reference_place.warehouse, drop_run_columns=True)}


def copy_place(source: Settings, base: Path, drop: Path) -> Settings:
    """A copy of an installation with the second night's files added to its raw folder."""
    shutil.copytree(source.warehouse.parent, base, ignore=shutil.ignore_patterns("tmp"))
    target = make_settings(base)
    for name in LATER_FILES:
        os.link(drop / name, target.raw_dir / name)
    return target


def killed_run(settings: Settings, run_id: str, point: str) -> int:
    """Run ``warehouse_run`` in a child process SIGKILLed at ``point``; its exit code."""
    tests = Path(__file__).resolve().parent
    script = (
        "import sys; from pathlib import Path; "
        f"sys.path.insert(0, {str(tests)!r}); import test_ledger as t; "
        f"t.warehouse_run(t.make_settings(Path({str(settings.warehouse.parent)!r})), {run_id!r})"
    )
    env = {**os.environ, "TKPK_CRASH_AT": point,
           "PYTHONPATH": os.pathsep.join([str(tests.parent), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == -signal.SIGKILL, done.stderr[-3000:]
    return done.returncode


def test_a_kill_after_a_committed_kind_is_undone_and_the_rerun_equals_an_uninterrupted_one(
    nights,
) -> None:
    start = nights["start"]
    before = tables(start.warehouse)
    place = copy_place(start, nights["root"] / "killed", nights["drop"])
    killed_run(place, "run-2-killed", "ingest:pbi")

    # the disbursements step committed (with the load): its rows are in the warehouse, its
    # files parked in run_ledger_file, not yet in ingest_file (listed when the run completes)
    assert ("run-2-killed", "ingest:disbursements", "committed") in ledger_rows(place.warehouse)
    assert ("run-2-killed", "load", "committed") in ledger_rows(place.warehouse)
    assert ("run-2-killed", "ingest:pbi", "committed") not in ledger_rows(place.warehouse)
    killed = tables(place.warehouse)
    assert killed["ingest_file"] == before["ingest_file"]
    assert len(killed[ledger.FILES_TABLE]) == len(LATER_FILES)
    assert len(killed["program_records"]) > len(before["program_records"])

    # opening the warehouse for writing undoes the unfinished run: the last good state
    connect(place).close()
    assert tables(place.warehouse) == before
    assert ledger_rows(place.warehouse)[-1] == ("run-2-killed", "run", "rolled_back")
    assert not (place.scratch_dir / "run-2-killed").exists()

    # the rerun equals an uninterrupted second night
    warehouse_run(place, "run-2-rerun")
    assert tables(place.warehouse, drop_run_columns=True) == nights["reference"]


def test_a_completed_run_is_never_undone(nights) -> None:
    start = nights["start"]
    before = tables(start.warehouse)
    assert ledger_rows(start.warehouse)[-1] == ("run-1", "run", "completed")
    with connect(start) as con:
        assert ledger.unfinished_runs(con) == []
        assert ledger.recover(con) == []
    assert tables(start.warehouse) == before
    assert ("run-1", "run", "rolled_back") not in ledger_rows(start.warehouse)


def test_a_second_connection_never_undoes_the_run_in_progress(nights, tmp_path) -> None:
    place = copy_place(nights["start"], tmp_path / "place", nights["drop"])
    con = connect(place)
    run = RunLedger(con, "run-live")
    run.start()
    con.begin()
    con.execute("insert into ingest_data_quality (run_id, file_name) values ('run-live', 'x')")
    run.commit("ingest:households", 1)
    with connect(place) as other:  # the same process (e.g. a pull): the live run stays
        assert ledger.unfinished_runs(other) == ["run-live"]
        assert ledger.recover(other) == []
    run.complete()
    con.commit()
    run.close()
    con.close()
    rows = tables(place.warehouse)["ingest_data_quality"]
    assert sum(1 for row in rows if row[0] == "run-live") == 1


def test_a_failing_run_undoes_its_committed_steps_at_once(nights, tmp_path) -> None:
    start = nights["start"]
    before = tables(start.warehouse)
    place = copy_place(start, tmp_path / "place", nights["drop"])
    with pytest.raises(RuntimeError, match="a failing transform"):
        warehouse_run(place, "run-2-failed", fail_in_final=True)
    assert tables(place.warehouse) == before
    steps = [(s, st) for r, s, st in ledger_rows(place.warehouse) if r == "run-2-failed"]
    assert ("ingest:pbi", "committed") in steps and steps[-1] == ("run", "rolled_back")
