"""Crash safety of the bounded commits within a kind, on real nightly runs (``tkpk run`` in a
child process, as ``test_ops_crash``).

With a step bound of 200 rows (``TKPK_COMMIT_ROWS``) the next night's PBI-JK list (398 rows) is
written in two steps of its kind; the run is SIGKILLed after the first of them committed
(``ingest:pbi:1``; the disbursements kind committed before it). The previous packs are still
published and whole, the warehouse opens at the last good state (the starting files only), and
the next run, in steps again, publishes packs equal, table by table, to those of an
uninterrupted run in one step per kind.
"""

from __future__ import annotations

from unittest import mock

import duckdb
import pytest
import test_ops_crash
from ops_support import PACKS, pack_tables, published_version, root, shared_forker
from test_ops_crash import add_later_files, assert_previous_packs_published, assert_warehouse_usable

from tkpk.publish import atomic
from tkpk.publish.manifest import verify_manifest

pytestmark = [pytest.mark.ops, pytest.mark.slow]

#: Rows per step: the next night's PBI-JK list is split (not its disbursement file, 30 rows).
BOUND = "200"
POINT = "ingest:pbi:1"


@pytest.fixture(scope="module")
def world() -> dict:
    """The published starting state and an uninterrupted next run (``test_ops_crash.world``),
    built in a folder of this module's own: both modules may run in one session."""
    with mock.patch.object(test_ops_crash, "root", lambda: root() / "steps"):
        return test_ops_crash.world.__wrapped__()


def test_sigkill_between_two_steps_of_a_kind_and_the_rerun_publishes_the_same_packs(world):
    forker = shared_forker()
    place = world["start"].copy_to(world["root"] / "between_steps")
    add_later_files(place)

    crashed = forker.run(place.run_argv(),
                         env=place.env(TKPK_COMMIT_ROWS=BOUND, **{atomic.CRASH_ENV: POINT}))
    assert crashed.code == -9, f"the run was not killed at {POINT}:\n{crashed.output[-4000:]}"
    with duckdb.connect(str(place.db), read_only=True) as con:  # read-only: nothing undone yet
        steps = [step for (step,) in con.execute(
            "select step from run_ledger where status = 'committed' and run_id = "
            "(select run_id from run_ledger order by started_at desc limit 1) order by started_at"
        ).fetchall()]
    assert steps == ["load", "ingest:disbursements", POINT]

    assert_previous_packs_published(place, world)
    assert_warehouse_usable(place, world["start_files"])  # opened for writing: the run undone

    recovered = forker.run(place.run_argv(), env=place.env(TKPK_COMMIT_ROWS=BOUND))
    assert recovered.code == 0, recovered.output[-4000:]
    assert published_version(place.out) != world["start_version"]
    for pack in PACKS:
        assert verify_manifest(place.out / pack) == [], pack
    with duckdb.connect(str(place.db), read_only=True) as con:  # the rerun ran in steps too
        assert con.execute(
            "select count(*) from run_ledger where step = 'ingest:pbi:1' and status = 'committed'"
        ).fetchone()[0] == 2
    tables = pack_tables(place.out)
    assert tables.keys() == world["reference_tables"].keys()
    for name, rows in world["reference_tables"].items():
        assert tables[name] == rows, f"{name} differs from the uninterrupted run"
