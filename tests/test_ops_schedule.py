"""``tkpk serve`` against a real Prefect server on loopback.

The server (``prefect server start``, SQLite in a temporary PREFECT_HOME) is shared by the
operations tests. ``tkpk serve`` registers the nightly deployment with its cron schedule; the
scheduler plans the next 02:00 (Asia/Jakarta) run; a run triggered through the API completes and
publishes the packs; a failing run ends in a clear Failed state that names the cause and the
pack version still published; stopping the service pauses the schedule.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from ops_support import (
    PACKS,
    VENV_BIN,
    Place,
    manifest,
    published_version,
    root,
    shared_sample,
    shared_server,
    stop_process,
)

from flows.serve import ServeConfigError, plan
from tkpk.config import Settings
from tkpk.publish.manifest import verify_manifest

pytestmark = [pytest.mark.ops, pytest.mark.slow]

DEPLOYMENT = "tkpk-nightly/ops-test"
STEP_TIMEOUT = 240.0


def test_plan_defaults_and_validation(monkeypatch) -> None:
    monkeypatch.delenv("TKPK_SCHEDULE_CRON", raising=False)
    monkeypatch.delenv("TKPK_SCHEDULE_TIMEZONE", raising=False)
    settings = Settings().with_paths(raw="/srv/raw", out="/srv/out", db="/srv/wh.duckdb")
    default = plan(settings)
    assert (default.cron, default.timezone, default.full_name) == (
        "0 2 * * *", "Asia/Jakarta", "tkpk-nightly/nightly",
    )
    assert default.parameters == {
        "raw_dir": "/srv/raw", "out_dir": "/srv/out", "db_path": "/srv/wh.duckdb",
        "force_publish": False,
    }
    monkeypatch.setenv("TKPK_SCHEDULE_CRON", "30 1 * * 1-5")
    assert plan(Settings()).cron == "30 1 * * 1-5"
    assert plan(Settings(), cron="0 3 * * *", timezone="Asia/Makassar").timezone == "Asia/Makassar"
    with pytest.raises(ServeConfigError, match="cron"):
        plan(settings, cron="every night")
    with pytest.raises(ServeConfigError, match="time zone"):
        plan(settings, timezone="Mars/Olympus")


async def _wait(check, what: str, process: subprocess.Popen, timeout: float = STEP_TIMEOUT):
    """Poll ``check()`` (async) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"tkpk serve exited ({process.returncode}) while waiting for {what}")
        result = await check()
        if result:
            return result
        await asyncio.sleep(2)
    raise TimeoutError(f"no {what} after {timeout} s")


async def _final_state(client, flow_run_id, process):
    async def check():
        run = await client.read_flow_run(flow_run_id)
        return run if run.state is not None and run.state.is_final() else None

    return await _wait(check, "final state of the flow run", process)


async def _scenario(api_url: str, place: Place, process: subprocess.Popen) -> dict:
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
        LogFilter,
        LogFilterFlowRunId,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.exceptions import ObjectNotFound

    async with PrefectClient(api=api_url) as client:

        async def deployment():
            try:
                return await client.read_deployment_by_name(DEPLOYMENT)
            except ObjectNotFound:
                return None

        found = await _wait(deployment, "deployment", process)
        (schedule,) = found.schedules
        assert schedule.active and not found.paused
        assert (schedule.schedule.cron, schedule.schedule.timezone) == ("0 2 * * *",
                                                                        "Asia/Jakarta")
        assert found.parameters == {
            "raw_dir": str(place.raw), "out_dir": str(place.out), "db_path": str(place.db),
            "force_publish": False,
        }
        assert found.entrypoint == "flows.nightly.nightly"

        async def planned():
            return await client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[found.id])),
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[
                        StateType.SCHEDULED]))
                ),
            )

        upcoming = await _wait(planned, "scheduled run", process, timeout=120)
        local = upcoming[0].expected_start_time.astimezone(ZoneInfo("Asia/Jakarta"))
        assert (local.hour, local.minute) == (2, 0)
        assert local > datetime.now(ZoneInfo("Asia/Jakarta"))

        triggered = await client.create_flow_run_from_deployment(found.id)
        good = await _final_state(client, triggered.id, process)
        version = published_version(place.out) if (place.out / "current").exists() else None

        bad_db = place.base / "not-a-warehouse.duckdb"
        bad_db.write_bytes(b"this is not a DuckDB file\n" * 100)
        bad_db.chmod(0o600)  # production mode refuses a warehouse others can read
        failing = await client.create_flow_run_from_deployment(
            found.id, parameters={**found.parameters, "db_path": str(bad_db)}
        )
        bad = await _final_state(client, failing.id, process)

        async def failure_logs():
            logs = await client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[failing.id]))
            )
            text = "\n".join(log.message for log in logs)
            return text if "Nothing was half-published" in text else None

        logs = await _wait(failure_logs, "failure log line", process, timeout=60)
    return {"good": good, "version": version, "bad": bad, "failure_logs": logs,
            "deployment_id": found.id}


def test_serve_schedules_and_runs_the_nightly_flow() -> None:
    server = shared_server()
    place = Place(root() / "serve")
    place.raw.mkdir(parents=True)
    for path in shared_sample().iterdir():
        os.link(path, place.raw / path.name)
    env = {
        **os.environ,
        "PREFECT_API_URL": server.api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "INFO",
        "TKPK_MODE": "production",
        "TKPK_DUCKDB_THREADS": "2",
        **place.env(),
    }
    log = open(root() / "serve.log", "wb")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [str(VENV_BIN / "tkpk"), "serve", "--raw", str(place.raw), "--out", str(place.out),
         "--db", str(place.db), "--name", "ops-test"],
        env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        outcome = asyncio.run(_scenario(server.api_url, place, process))
    finally:
        stop_process(process, signal.SIGINT, grace=60)
        log.close()
    output = (root() / "serve.log").read_text(errors="replace")

    good = outcome["good"]
    assert good.state.is_completed(), (good.state, output[-4000:])
    assert outcome["version"] is not None
    for pack in PACKS:
        assert verify_manifest(place.out / pack) == [], pack
    assert manifest(place.out)["tables"]["households"]["rows"] > 0

    bad = outcome["bad"]
    assert bad.state.is_failed(), bad.state
    assert "cannot be opened" in (bad.state.message or "")
    assert f"still version {outcome['version']}" in outcome["failure_logs"]
    assert published_version(place.out) == outcome["version"]
    assert "tkpk serve: deployment tkpk-nightly/ops-test, schedule '0 2 * * *'" in output

    async def paused() -> bool:
        from prefect.client.orchestration import PrefectClient

        async with PrefectClient(api=server.api_url) as client:
            return (await client.read_deployment(outcome["deployment_id"])).paused

    # stopping the service pauses the schedule: missed nights do not pile up
    assert asyncio.run(paused())
