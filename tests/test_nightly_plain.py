"""The nightly flow without Prefect (``flows.nightly.uses_prefect``, ``run_task``, ``run_once``).

``tkpk run`` without ``PREFECT_API_URL`` runs the flow's steps in its own process: no temporary
Prefect API server (5-20 s before the first step), the same steps, ledger, retries and atomic
publish.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest
from prefect import task
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows import nightly as flow
from flows.failures import RunFailure
from tkpk.config import Settings

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_orchestration_setting(settings: Settings) -> None:
    """``plain`` never, ``prefect`` always, ``auto`` only with a Prefect API configured."""
    assert not flow.uses_prefect(replace(settings, orchestration="plain"))
    assert flow.uses_prefect(replace(settings, orchestration="prefect"))
    auto = replace(settings, orchestration="auto")
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:4200/api"}):
        assert flow.uses_prefect(auto)
        assert not flow.uses_prefect(replace(settings, orchestration="plain"))
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        assert not flow.uses_prefect(auto)
    with pytest.raises(ValueError, match="TKPK_ORCHESTRATION"):
        flow.uses_prefect(replace(settings, orchestration="dask"))


def test_plain_task_keeps_its_retry_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside a flow run a task runs in the process, retried as its options say: the retry
    condition is asked with the error (``warehouse_busy``: a lock conflict is retried, any other
    error fails at once), after the task's delays."""
    calls: list[str] = []
    slept: list[float] = []
    monkeypatch.setattr(flow.time, "sleep", slept.append)

    @task(retries=3, retry_delay_seconds=[1, 2, 4], retry_condition_fn=flow.warehouse_busy)
    def opens(errors: list[BaseException]) -> str:
        calls.append("try")
        if errors:
            raise errors.pop(0)
        return "open"

    busy = [duckdb.IOException("Could not set lock on file"), RunFailure("x", lock_conflict=True)]
    assert flow.run_task(opens, busy) == "open"
    assert (len(calls), slept) == (3, [1.0, 2.0])

    calls.clear()
    slept.clear()
    with pytest.raises(duckdb.IOException, match="damaged"):
        flow.run_task(opens, [duckdb.IOException("damaged file")])
    assert (len(calls), slept) == (1, [])

    calls.clear()
    lock = duckdb.IOException("lock")
    state = flow.run_task(opens, [lock] * 5, return_state=True)
    assert len(calls) == 4 and slept == [1.0, 2.0, 4.0]
    assert not state.is_completed()
    assert state.result(raise_on_failure=False) is lock and state.data is lock


def test_plain_task_without_condition_retries_every_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """No condition: every error is retried (Prefect's rule), a single delay for each retry."""
    monkeypatch.setattr(flow.time, "sleep", lambda seconds: None)
    attempts: list[int] = []

    @task(retries=2, retry_delay_seconds=10)
    def flaky() -> int:
        attempts.append(1)
        if len(attempts) < 3:
            raise OSError("disk busy")
        return len(attempts)

    assert flow.run_task(flaky) == 3
    assert flow._retry_delay(10, 1) == 10.0 and flow._retry_delay([], 0) == 0.0


def _small_drop(root: Path) -> Settings:
    from tkpk.synth import generate

    settings = Settings(
        raw_dir=root / "raw", curated_dir=root / "curated", warehouse=root / "warehouse.duckdb",
        synth_dir=root / "synth", temp_dir=root / "tmp", duckdb_memory_limit="2GB",
        duckdb_threads=2, local_key_file=root / "local.key", orchestration="plain",
    )
    generate(out_dir=settings.raw_dir, side_dir=settings.synth_dir, households=80,
             months="2026-09:2026-10", seed=5, region="33.75", messiness=0.02)
    return settings


def test_plain_run_publishes_without_a_prefect_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """A plain run completes and publishes (ledger completed, packs current with the warehouse's
    raw files) without starting Prefect's temporary server; a failing step rolls the run back,
    leaves the packs untouched and reports the scrubbed cause."""
    from prefect.server.api.server import SubprocessASGIServer

    def no_server(*args: object, **kwargs: object) -> None:
        raise AssertionError("a plain run started Prefect's temporary API server")

    monkeypatch.setattr(SubprocessASGIServer, "start", no_server)
    monkeypatch.setenv("TKPK_PSEUDONYM_KEY", "plain-test-key")
    settings = _small_drop(tmp_path)

    assert flow.run_nightly(settings)
    manifest = json.loads((settings.restricted_dir / "manifest.json").read_text())
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        files = con.execute(
            "select count(*) from ingest_file where file_outcome = 'loaded'"
        ).fetchone()[0]
        runs = con.execute(
            "select count(*) from run_ledger where step = 'run' and status = 'completed'"
        ).fetchone()[0]
        current = flow.packs_up_to_date(con, settings)
    finally:
        con.close()
    assert files > 0 and manifest["source_files"] and runs == 1 and current

    # a night with one more file whose transforms fail: rolled back, packs untouched
    published = (settings.curated_dir / "current").resolve()
    extra = sorted(settings.raw_dir.glob("salur_*.csv"))[0]
    (settings.raw_dir / f"{extra.stem}_tahap9.csv").write_bytes(extra.read_bytes() + b"\n")

    def broken(con: object, outcomes: object) -> None:
        raise ZeroDivisionError("model failed")

    monkeypatch.setattr("transforms.incremental.build_changed", broken)
    capsys.readouterr()
    assert flow.run_nightly(settings) is False
    assert "the nightly run failed" in capsys.readouterr().err
    assert (settings.curated_dir / "current").resolve() == published
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        assert con.execute(
            "select count(*) from ingest_file where file_outcome = 'loaded'"
        ).fetchone()[0] == files
        assert con.execute(
            "select count(*) from run_ledger where step = 'run' and status = 'rolled_back'"
        ).fetchone()[0] == 1
    finally:
        con.close()
