"""Personal data in operations: the pseudonym key comes only from the environment in production
mode (the run refuses to start without it), and no log line, Prefect artifact or Data Docs page
of a real run shows a NIK, family-card number, name or address of the warehouse (nor the key).
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import duckdb
import pytest
from ops_support import TEST_KEY, Place, root, shared_forker, shared_sample, shared_server
from typer.testing import CliRunner

from tkpk.cli import app
from tkpk.config import Settings

pytestmark = [pytest.mark.ops, pytest.mark.slow]

NIK_LIKE = re.compile(r"(?<![0-9])[0-9]{16}(?![0-9])")
#: Personal text of the warehouse: accepted rows, and the quarantined rows as read (the raw
#: text the warehouse keeps; the raw files are the record of the others).
PERSONAL = {
    "registry_members": ("nik", "nama"),
    "registry_households": ("no_kk", "alamat"),
    "program_records": ("nik", "no_kk"),
    "(select raw_values ->> 'nik' as nik, raw_values ->> 'nama' as nama, "
    "raw_values ->> 'no_kk' as no_kk, raw_values ->> 'alamat' as alamat from quarantine)": (
        "nik", "nama", "no_kk", "alamat"
    ),
}
#: Shorter names and fragments occur in ordinary words; identifiers are 16 digits.
MIN_NEEDLE = 8


# --------------------------------------------------------------------------- the key


def _production(monkeypatch, tmp_path: Path, key: str | None) -> Place:
    place = Place(tmp_path / "prod")
    place.raw.mkdir(parents=True)
    sample = shared_sample()
    name = sorted(p.name for p in sample.iterdir() if p.name.startswith("pbi_jk_"))[0]
    os.link(sample / name, place.raw / name)
    monkeypatch.setenv("TKPK_MODE", "production")
    monkeypatch.setenv("TKPK_LOCAL_KEY_FILE", str(tmp_path / "local.key"))
    if key is None:
        monkeypatch.delenv("TKPK_PSEUDONYM_KEY", raising=False)
    else:
        monkeypatch.setenv("TKPK_PSEUDONYM_KEY", key)
    return place


@pytest.mark.parametrize(
    ("key", "message"),
    [(None, "TKPK_PSEUDONYM_KEY is not set"), ("short", "shorter than 16 bytes")],
)
def test_production_run_refuses_to_start_without_a_key(monkeypatch, tmp_path, key, message):
    place = _production(monkeypatch, tmp_path, key)
    result = CliRunner().invoke(app, place.run_argv())
    assert result.exit_code == 2, result.output
    assert message in result.output
    # refused before any work: no warehouse, no packs, no local key file
    assert not place.db.exists() and not place.out.exists()
    assert not (tmp_path / "local.key").exists()
    served = CliRunner().invoke(app, ["serve", "--raw", str(place.raw), "--out", str(place.out),
                                      "--db", str(place.db)])
    assert served.exit_code == 2 and message in served.output


def test_the_flow_itself_refuses_in_production(monkeypatch, tmp_path) -> None:
    """Served runs do not pass through ``tkpk run``: the flow's first task checks the key."""
    from flows.nightly import check_pseudonym_key
    from tkpk.publish import PseudonymKeyError

    _production(monkeypatch, tmp_path, None)
    with pytest.raises(PseudonymKeyError, match="refuses to start"):
        check_pseudonym_key.fn(Settings())
    monkeypatch.setenv("TKPK_MODE", "development")
    check_pseudonym_key.fn(Settings())  # development: nothing to check here
    assert not (tmp_path / "local.key").exists()


# --------------------------------------------------------------------------- logs, artifacts


async def _prefect_texts(api_url: str, out_dir: str) -> dict[str, str]:
    """Logs and artifacts of the flow runs that wrote ``out_dir``."""
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        LogFilter,
        LogFilterFlowRunId,
    )

    async with PrefectClient(api=api_url) as client:
        runs = [
            run for run in await client.read_flow_runs(limit=200)
            if (run.parameters or {}).get("out_dir") == out_dir
        ]
        ids = [run.id for run in runs]
        logs = []
        while True:  # the API returns at most 200 logs per call
            page = await client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=ids)),
                limit=200, offset=len(logs),
            )
            logs += page
            if len(page) < 200:
                break
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=ids))
        )
    return {
        "runs": str(len(runs)),
        "logs": "\n".join(log.message for log in logs),
        "artifacts": "\n".join(str(a.data) + "\n" + str(a.description) for a in artifacts),
        "artifact_count": str(len(artifacts)),
        "log_count": str(len(logs)),
    }


@pytest.fixture(scope="module")
def scanned() -> dict:
    """One production-mode run of the sample with everything it shows people."""
    forker = shared_forker()
    place = Place(root() / "privacy")
    place.raw.mkdir(parents=True)
    for path in shared_sample().iterdir():
        os.link(path, place.raw / path.name)
    env = place.env(TKPK_MODE="production")  # logging level INFO (ops_support.Forker)
    result = forker.run(place.run_argv(), env=env)
    assert result.code == 0, result.output[-4000:]
    prefect = asyncio.run(_prefect_texts(shared_server().api_url, str(place.out)))
    docs = {
        str(path.relative_to(place.out)): path.read_text(encoding="utf-8", errors="replace")
        for path in (place.out / "data_docs").rglob("*")
        if path.is_file() and path.suffix in (".html", ".json", ".md", ".txt", ".js")
    }
    with duckdb.connect(str(place.db), read_only=True) as con:
        values: set[str] = set()
        for table, columns in PERSONAL.items():
            for column in columns:
                rows = con.execute(
                    f"select distinct {column} from {table} where {column} is not null"
                ).fetchall()
                values |= {r[0].strip() for r in rows if r[0] and len(r[0].strip()) >= MIN_NEEDLE}
    return {"cli": result.output, **prefect, "docs": docs, "values": values}


def _leaks(text: str, values: set[str]) -> list[str]:
    """Personal values (and the key) found in ``text``."""
    found = [n for n in NIK_LIKE.findall(text) if n in values]
    lowered = text.lower()
    found += [v for v in values if not v.isdigit() and v.lower() in lowered]
    if TEST_KEY in text:
        found.append("the pseudonym key")
    return found


def test_the_scan_has_material(scanned) -> None:
    assert len(scanned["values"]) > 500
    assert sum(v.isdigit() and len(v) == 16 for v in scanned["values"]) > 300
    assert int(scanned["runs"]) == 1 and int(scanned["log_count"]) > 10
    assert int(scanned["artifact_count"]) >= 1
    assert any(name.endswith(".html") for name in scanned["docs"]), "no Data Docs page"
    assert "load " in scanned["logs"]  # the per-file log lines were captured
    name = next(v for v in sorted(scanned["values"]) if not v.isdigit() and " " in v)
    nik = next(v for v in sorted(scanned["values"]) if v.isdigit() and len(v) == 16)
    assert _leaks(f"x {name.upper()} y {nik}.", scanned["values"]) == [nik, name]


def test_no_personal_data_in_the_run_output(scanned) -> None:
    assert _leaks(scanned["cli"], scanned["values"]) == []


def test_no_personal_data_in_prefect_logs_and_artifacts(scanned) -> None:
    assert _leaks(scanned["logs"], scanned["values"]) == []
    assert _leaks(scanned["artifacts"], scanned["values"]) == []


def test_no_personal_data_in_data_docs(scanned) -> None:
    leaks = {name: _leaks(text, scanned["values"]) for name, text in scanned["docs"].items()}
    assert {name: found for name, found in leaks.items() if found} == {}
