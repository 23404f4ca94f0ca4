"""The distributed entry point end to end (issue 16, item 11): ``run_distributed`` on a local
Dask cluster of two worker processes runs the nightly flow's own steps (one orchestration, two
executors) and publishes packs equal to the single-process flow's, night after night: a first
night (full build, fanned out) and a second night with new disbursement files (the incremental
build, as the single-process flow does), each with its checkpoint and summary artifact.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest
from ops_support import pack_tables

from tkpk.config import Settings

pytestmark = pytest.mark.slow

HOUSEHOLDS = 300
MONTHS = "2026-07:2026-08"


@pytest.fixture(scope="module")
def drop(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A generated drop split into two nights (the last disbursement files come later)."""
    from tkpk.synth import generate

    root = tmp_path_factory.mktemp("distributed-flow")
    generate(out_dir=root / "sample", side_dir=root / "synth", households=HOUSEHOLDS,
             months=MONTHS, seed=23, region="33.75", messiness=0.02)
    later = sorted(p.name for p in (root / "sample").iterdir()
                   if p.name.startswith("salur_") and "202608" in p.name)
    assert later, "the sample has disbursement files of the last month"
    return {"root": root, "later": later}


def _night(folder: Path, drop: dict, night: int) -> Settings:
    """The installation in ``folder`` with the raw files of ``night`` (1 or 2)."""
    raw = folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for path in sorted((drop["root"] / "sample").iterdir()):
        if (night == 2 or path.name not in drop["later"]) and not (raw / path.name).exists():
            os.link(path, raw / path.name)
    return Settings().with_paths(raw=raw, out=folder / "curated", db=folder / "warehouse.duckdb")


async def _summary_artifacts() -> list[str]:
    """Descriptions of the run summary artifacts (``tkpk nightly run <run id>``)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async with get_client() as client:
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["tkpk-nightly-run"]))
        )
    return [a.description or "" for a in artifacts]


def test_distributed_nights_equal_single_process_nights(drop, monkeypatch) -> None:
    from prefect.testing.utilities import prefect_test_harness

    from flows.distributed import run_distributed
    from flows.nightly import nightly

    root = drop["root"]
    monkeypatch.setenv("TKPK_PSEUDONYM_KEY", "distributed-flow-test-key-0123456789")
    monkeypatch.setenv("TKPK_TEMP", str(root / "tmp"))
    monkeypatch.setenv("TKPK_LOCAL_KEY_FILE", str(root / "local.key"))
    monkeypatch.setenv("TKPK_DUCKDB_THREADS", "1")
    monkeypatch.setenv("TKPK_DUCKDB_MEMORY", "1GB")
    summaries = []
    with prefect_test_harness(server_startup_timeout=120):
        for night in (1, 2):
            single = _night(root / "single", drop, night)
            spread = _night(root / "spread", drop, night)
            local = nightly(raw_dir=str(single.raw_dir), out_dir=str(single.curated_dir),
                            db_path=str(single.warehouse))
            summary = run_distributed(spread, n_workers=2, shared_dir=str(root / "shared"))
            summaries.append(summary)
            assert summary["published"] and local["published"]
            assert pack_tables(spread.curated_dir) == pack_tables(single.curated_dir), night
            stages = [s["name"] for s in summary["stages"]]
            assert stages == [s["name"] for s in local["stages"]]
            assert "checkpoint" in stages
            assert f"tkpk nightly run {summary['run_id']}" in asyncio.run(_summary_artifacts())
    first, second = summaries
    assert first["transform"]["mode"] == "distributed"
    assert first["transform"]["partitions"], "the household work was fanned out"
    assert second["transform"]["mode"] == "incremental"
    assert not any((root / "shared").glob("*/*")), "the shared run folder is cleaned up"
    shutil.rmtree(root / "shared", ignore_errors=True)
