"""Failing runs leak nothing: a DuckDB error that quotes cells (a NIK, a name, an address) is
raised inside the ingest and inside a transform of a real nightly flow run; neither the Prefect
logs (tracebacks included), the terminal, the raised exception, the flow run's state message,
the service's failure hook, the run's artifacts nor a summary shows those values or the key.

The failures are planted (monkeypatched steps running a real DuckDB statement that fails on
personal values), so the tests fail on any code that passes the engine's message through.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from pathlib import Path

import pytest

from tkpk.config import Settings

pytestmark = pytest.mark.slow

KEY = "failure-test-pseudonym-key-0123456789"
#: A statement failing on a cell made of a name, a NIK and an address (DuckDB quotes the cell),
#: over ``{members}`` and ``{households}``: the staged rows as read (ingest) or accepted ones.
QUOTING_SQL = """
    select cast(
        (select max(nama) from {members}) || ' ' || (select max(nik) from {members}) || ' '
        || (select max(alamat) from {households}) as integer)
"""
PERSONAL_SQL = """
    select (select max(nama) from {members}), (select max(nik) from {members}),
           (select max(alamat) from {households})
"""
ACCEPTED = {"members": "registry_members", "households": "registry_households"}


def _staged(outcomes, kind: str) -> str:
    """The staged rows of the run's staged files of ``kind`` (a relation: their personal values as
    cleaned; the record as read is kept only for some rows)."""
    paths = ", ".join(f"'{o.staged}'" for o in outcomes if o.kind == kind and o.staged)
    return f"(select * from read_parquet([{paths}]))"


class _Capture(logging.Handler):
    """Every log record of the run, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))


@pytest.fixture(scope="module")
def harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="module")
def raw_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated drop (copied per test)."""
    from tkpk.synth import generate

    root = tmp_path_factory.mktemp("failing-sample")
    generate(out_dir=root / "raw", side_dir=root / "synth", households=120,
             months="2026-08:2026-09", seed=5, region="33.75", messiness=0.0)
    return root / "raw"


def _plant(con, planted: dict, sources: dict[str, str]) -> None:
    """Remember the personal values the failing statement quotes, then run it (raises)."""
    planted["values"] = [v for v in con.execute(PERSONAL_SQL.format(**sources)).fetchone() if v]
    con.execute(QUOTING_SQL.format(**sources))


def _failing_run(monkeypatch, tmp_path: Path, raw: Path, where: str) -> dict:
    """Run the nightly flow with a planted failure ``where`` ("ingest" or "transform"); every
    text the run produced, and the planted values."""
    import shutil

    import flows.nightly as nightly_module
    import transforms.incremental as incremental
    from flows.serve import report_failure
    from tkpk.ingest import accept

    monkeypatch.setenv("TKPK_PSEUDONYM_KEY", KEY)
    monkeypatch.setenv("TKPK_TEMP", str(tmp_path / "tmp"))
    monkeypatch.setenv("TKPK_LOCAL_KEY_FILE", str(tmp_path / "local.key"))
    shutil.copytree(raw, tmp_path / "raw")
    settings = Settings().with_paths(
        raw=tmp_path / "raw", out=tmp_path / "curated", db=tmp_path / "warehouse.duckdb"
    )
    planted: dict = {}
    if where == "ingest":
        original = accept.process_loads

        def failing_process_loads(con, settings, run_id, outcomes, **kwargs):
            sources = {kind: _staged(outcomes, kind) for kind in ("members", "households")}
            _plant(con, planted, sources)
            return original(con, settings, run_id, outcomes, **kwargs)

        monkeypatch.setattr(accept, "process_loads", failing_process_loads)
    else:
        from transforms import runner

        original = runner.execute_model

        def failing_execute_model(con, name, statement, **kwargs):
            planted["values"] = [
                v for v in con.execute(PERSONAL_SQL.format(**ACCEPTED)).fetchone() if v
            ]
            original(con, name, QUOTING_SQL.format(**ACCEPTED))  # the runner wraps the error

        monkeypatch.setattr(incremental, "execute_model", failing_execute_model)
        monkeypatch.setattr(runner, "execute_model", failing_execute_model)

    capture = _Capture()
    loggers = [logging.getLogger(), logging.getLogger("prefect")]
    for logger in loggers:
        logger.addHandler(capture)
    try:
        state = nightly_module.nightly(
            raw_dir=str(settings.raw_dir), out_dir=str(settings.curated_dir),
            db_path=str(settings.warehouse), return_state=True,
        )
        flow_run = asyncio.run(_flow_run(state))
        report_failure(nightly_module.nightly, flow_run, state)
    finally:
        for logger in loggers:
            logger.removeHandler(capture)
    error = state.data if isinstance(state.data, BaseException) else None
    if error is None:
        try:
            state.result()
        except BaseException as raised:  # noqa: BLE001 (the run's exception, inspected)
            error = raised
    texts = {
        "logs": "\n".join(capture.texts),
        "state": state.message or "",
        "exception": "".join(traceback.format_exception(error)) if error else "",
        "artifacts": asyncio.run(_artifacts(flow_run.id)),
    }
    summary = settings.curated_dir / "restricted" / "manifest.json"
    texts["summary"] = summary.read_text() if summary.exists() else ""
    return {"state": state, "texts": texts, "planted": planted.get("values", [])}


async def _flow_run(state):
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        return await client.read_flow_run(state.state_details.flow_run_id)


async def _artifacts(flow_run_id) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async with get_client() as client:
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return "\n".join(f"{a.data}\n{a.description}" for a in artifacts)


def _leaks(texts: dict[str, str], values: list[str]) -> dict[str, list[str]]:
    found = {}
    for where, text in texts.items():
        hits = [v for v in values if v.strip() and v.strip().upper() in text.upper()]
        if KEY in text:
            hits.append("the pseudonym key")
        if hits:
            found[where] = hits
    return found


@pytest.mark.parametrize(("where", "step"), [("ingest", "validate_and_accept"),
                                               ("transform", "build_indicators")])
def test_a_failing_run_shows_no_personal_data(harness, raw_sample, monkeypatch, tmp_path,
                                              where, step):
    run = _failing_run(monkeypatch, tmp_path, raw_sample, where)
    assert run["state"].is_failed()
    assert len(run["planted"]) == 3, "a name, a NIK and an address were quoted"
    texts = run["texts"]
    # the failure is still explained: the step, what failed and the engine's error type
    assert f"{step} failed" in texts["state"]
    assert "ConversionException" in texts["state"]
    if where == "transform":
        assert "transform " in texts["state"] and ".sql failed" in texts["state"]
    assert "Nothing was half-published" in texts["logs"]
    assert _leaks(texts, run["planted"]) == {}


def test_scrub_error_keeps_context_and_drops_engine_text():
    import duckdb

    from flows.failures import RunFailure, as_run_failure
    from tkpk.publish.privacy import PersonalDataError, scrub_error

    con = duckdb.connect()
    with pytest.raises(duckdb.Error) as caught:
        con.execute("select cast('SITI AMINAH 3375012345678901' as integer)")
    engine = caught.value
    assert "SITI AMINAH" in str(engine)  # DuckDB quotes the cell
    assert scrub_error(engine) == "ConversionException"
    try:
        raise RuntimeError(f"transform x.sql failed: {engine}") from engine
    except RuntimeError as wrapped:
        assert scrub_error(wrapped) == "transform x.sql failed: ConversionException"
    own = PersonalDataError("bappeda/x.parquet: column y holds 1 value(s) equal to nama")
    assert as_run_failure(own, "publish") is own  # tkpk's own message and type are kept
    failure = as_run_failure(engine, "publish")
    assert isinstance(failure, RunFailure) and str(failure) == (
        "publish failed: ConversionException"
    )
    assert scrub_error(ValueError("SITI AMINAH")) == "ValueError"


def test_a_locked_warehouse_is_still_retried(tmp_path):
    """The open step's retry condition sees the scrubbed failure's ``lock_conflict`` flag."""
    from types import SimpleNamespace

    import duckdb

    from flows.failures import as_run_failure
    from flows.nightly import warehouse_busy

    path = str(tmp_path / "w.duckdb")
    holder = duckdb.connect(path)
    script = (f"import duckdb\ntry:\n    duckdb.connect({path!r})\nexcept duckdb.Error as e:\n"
              "    print(type(e).__name__, '|', e)\n")
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True).stdout
    holder.close()
    kind, message = out.split(" | ", 1)
    error = getattr(duckdb, kind)(message.strip())
    failure = as_run_failure(error, "open_warehouse")
    assert failure.lock_conflict and str(failure) == "open_warehouse failed: IOException"
    assert warehouse_busy(None, None, SimpleNamespace(data=failure))
    other = as_run_failure(duckdb.IOException("not a valid DuckDB database file"), "open")
    assert not warehouse_busy(None, None, SimpleNamespace(data=other))
