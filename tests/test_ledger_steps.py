"""Bounded commits within a kind (``Settings.commit_rows``, ``tkpk.ingest.accept.plan_steps``).

A kind of more staged rows than the bound is written in row-id ranges of at most that many rows,
each committed as a step of the run ledger (``ingest:<kind>:1``, ``:2`` ... and the kind's last
one ``ingest:<kind>``). On the small drop of ``test_ledger`` (second night: a disbursement file,
two PBI-JK lists of 86 and 87 rows) with a bound of 40 rows: the PBI-JK lists are split and the
warehouse equals an uninterrupted run in one step per kind; a run SIGKILLed between two steps of
one kind is undone by the next opening (every table back at the first night's state) and its
rerun equals the uninterrupted night.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import signal
from pathlib import Path
from unittest import mock

import duckdb
import test_ledger
from test_ledger import copy_place, ledger_rows, tables

from tkpk.config import Settings
from tkpk.db import connect
from tkpk.ingest.accept import ROW_ID_FACTOR, plan_steps
from tkpk.ledger import FINAL
from tkpk.publish import atomic

#: The first night and an uninterrupted second night (``test_ledger``'s module fixture).
nights = test_ledger.nights
#: Rows per step in these tests: the second night's PBI-JK lists are split, each in three.
BOUND = 40


def stepped(settings: Settings) -> Settings:
    """``settings`` with the small step bound."""
    return dataclasses.replace(settings, commit_rows=BOUND)


def stepped_run(settings: Settings, run_id: str) -> None:
    """``test_ledger.warehouse_run`` (the nightly flow's warehouse part, without Prefect) with the
    flow's commits within a kind: ``on_step`` commits ``ingest:<kind>:<n>`` through the run's
    ``on_kind`` (which checks that the step's files are parked)."""
    from tkpk.ingest import accept

    real = accept.process_loads

    def in_steps(*args, on_kind, **kwargs):
        def on_step(kind: str, step: int, rows: int) -> None:
            on_kind(f"{kind}:{step}", rows)

        return real(*args, on_kind=on_kind, on_step=on_step, **kwargs)

    with mock.patch.object(accept, "process_loads", in_steps):
        test_ledger.warehouse_run(settings, run_id)


def steps_of(db: Path, run_id: str) -> list[str]:
    """The committed steps of ``run_id``, in order."""
    return [step for run, step, status in ledger_rows(db) if run == run_id
            and status == "committed"]


def test_plan_steps_packs_files_and_cuts_a_large_one() -> None:
    f = ROW_ID_FACTOR
    # three small files share steps while they fit; a file of 25 rows (row numbers 1-25) over a
    # bound of 10 is cut into 3 ranges of 9 row numbers (25 / 3 rounded up), the last 7
    files = [(1 * f + 1, 1 * f + 4, 4), (2 * f + 1, 2 * f + 5, 5), (3 * f + 2, 3 * f + 3, 2),
             (4 * f + 1, 4 * f + 25, 25), (5 * f + 1, 5 * f + 3, 3)]
    assert plan_steps(files, 10) == [
        (1 * f + 1, 2 * f + 5),  # 4 + 5 rows
        (3 * f + 2, 3 * f + 3),  # 2 rows: the next range may hold 9
        (4 * f + 1, 4 * f + 9),
        (4 * f + 10, 4 * f + 18),
        (4 * f + 19, 5 * f + 3),  # 7 + 3 rows
    ]
    # a gap in the row numbers (skipped lines) is cut by width: no range holds more than 10
    assert plan_steps([(f + 1, f + 30, 12)], 10) == [(f + 1, f + 10), (f + 11, f + 20),
                                                      (f + 21, f + 30)]
    assert plan_steps(files, 0) == [(1 * f + 1, 5 * f + 3)]
    assert plan_steps(files, 100) == [(1 * f + 1, 5 * f + 3)]
    assert plan_steps([], 10) == []


def test_a_kind_over_the_bound_is_committed_in_steps_with_the_same_result(nights) -> None:
    place = stepped(copy_place(nights["start"], nights["root"] / "stepped", nights["drop"]))
    stepped_run(place, "run-2-stepped")
    steps = steps_of(place.warehouse, "run-2-stepped")
    # the disbursement file fits in one step; each PBI-JK list (86, 87 rows) is cut in three
    assert steps == ["load", "ingest:disbursements", *(f"ingest:pbi:{n}" for n in range(1, 6)),
                     "ingest:pbi", FINAL]
    with duckdb.connect(str(place.warehouse), read_only=True) as con:
        rows = con.execute(
            "select max(rows) from run_ledger where run_id = 'run-2-stepped' "
            "and step like 'ingest:%:%' and status = 'committed'"
        ).fetchone()[0]
    assert 0 < rows <= BOUND  # (the kind's own last step records all its rows)
    assert tables(place.warehouse, drop_run_columns=True) == nights["reference"]


def _killed_child(settings: Settings, run_id: str, point: str) -> None:
    """The child of :func:`killed_stepped_run`."""
    os.environ[atomic.CRASH_ENV] = point
    stepped_run(settings, run_id)


def killed_stepped_run(settings: Settings, run_id: str, point: str) -> None:
    """``stepped_run`` in a spawned process SIGKILLed at ``point``."""
    child = multiprocessing.get_context("spawn").Process(
        target=_killed_child, args=(settings, run_id, point)
    )
    child.start()
    child.join(600)
    assert child.exitcode == -signal.SIGKILL, child.exitcode


def test_a_kill_between_two_steps_of_a_kind_is_undone_and_the_rerun_equals(nights) -> None:
    start = nights["start"]
    before = tables(start.warehouse)
    place = stepped(copy_place(start, nights["root"] / "killed-step", nights["drop"]))
    killed_stepped_run(place, "run-2-killed", "ingest:pbi:1")

    # the disbursements kind and the first step of the pbi kind committed, not the second
    steps = steps_of(place.warehouse, "run-2-killed")
    assert steps == ["load", "ingest:disbursements", "ingest:pbi:1"]
    killed = tables(place.warehouse)
    assert len(killed["program_records"]) > len(before["program_records"])
    assert killed["ingest_file"] == before["ingest_file"]

    # the next opening for writing undoes it: the last good state
    connect(place).close()
    assert tables(place.warehouse) == before
    assert ledger_rows(place.warehouse)[-1] == ("run-2-killed", "run", "rolled_back")

    # the rerun, in steps too, equals an uninterrupted second night
    stepped_run(place, "run-2-rerun")
    assert tables(place.warehouse, drop_run_columns=True) == nights["reference"]


def test_a_tiny_bound_writes_every_row_once(nights, tmp_path) -> None:
    """A bound far below a file's rows (odd cuts, 25 steps) loses and repeats nothing."""
    place = dataclasses.replace(
        copy_place(nights["start"], tmp_path / "place", nights["drop"]), commit_rows=7
    )
    stepped_run(place, "run-2-tiny")
    assert tables(place.warehouse, drop_run_columns=True) == nights["reference"]
