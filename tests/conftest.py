"""Shared fixtures: settings pointing at temporary folders, in-memory DuckDB with reference data."""

from __future__ import annotations

from pathlib import Path

import pytest

from tkpk import reference
from tkpk.config import Settings
from tkpk.db import connect


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings whose every path lies under a temporary folder."""
    monkeypatch.setenv("TKPK_PSEUDONYM_KEY", "test-key-not-secret")
    return Settings(
        raw_dir=tmp_path / "raw",
        curated_dir=tmp_path / "curated",
        warehouse=tmp_path / "warehouse.duckdb",
        synth_dir=tmp_path / "synth",
        temp_dir=tmp_path / "tmp",
        duckdb_memory_limit="2GB",
        duckdb_threads=2,
        local_key_file=tmp_path / "local.key",
    )


@pytest.fixture
def con(settings: Settings):
    """An in-memory DuckDB with the macros and the reference tables of Kota Pekalongan."""
    connection = connect(settings, ":memory:")
    reference.install(connection)
    yield connection
    connection.close()


# --------------------------------------------------------------------------- real packs

#: The small generated drop behind ``real_packs`` (one nightly run's worth).
REAL_HOUSEHOLDS = 400
REAL_MONTHS = "2026-03:2026-06"  # two snapshots (2026-03, 2026-06): the dynamics page has a pair
REAL_SEED = 16


def run_pipeline_once(settings: Settings, run_id: str) -> None:
    """The nightly flow's steps without Prefect: load, validate and accept, transforms, commit,
    publish the packs (with their output suites in DuckDB) and the Data Docs."""
    from tkpk.ingest.accept import process_loads
    from tkpk.ingest.raw import load_new_files
    from tkpk.publish import publish_packs
    from tkpk.publish.privacy import set_pack_modes
    from tkpk.validation import publish_data_docs
    from transforms.incremental import build_changed

    con = connect(settings)
    try:
        con.begin()
        reference.install(con, settings.region)
        outcomes = load_new_files(con, settings, run_id)
        ingest = process_loads(con, settings, run_id, outcomes)
        build_changed(con, outcomes)
        con.commit()
        published = publish_packs(con, settings, run_id, use_gx=False)
        set_pack_modes(settings.curated_dir, published.version_dir)
        if ingest.validations:
            publish_data_docs(ingest.validations, settings, run_id)
    finally:
        con.close()


@pytest.fixture(scope="session")
def real_packs(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Packs produced by ``publish_packs`` from a small generated drop (one nightly run), shared
    by the session: settings of a published installation (restricted and Bappeda packs, Data
    Docs, warehouse). Read only: copy ``curated_dir`` before writing into it."""
    from tkpk.synth import generate

    root = tmp_path_factory.mktemp("real-packs")
    patch = pytest.MonkeyPatch()
    patch.setenv("TKPK_PSEUDONYM_KEY", "real-packs-test-key-0123456789")
    settings = Settings(
        raw_dir=root / "raw", curated_dir=root / "curated", warehouse=root / "warehouse.duckdb",
        synth_dir=root / "synth", temp_dir=root / "tmp", duckdb_memory_limit="1GB",
        duckdb_threads=2, local_key_file=root / "local.key", region="33.75",
    )
    generate(out_dir=settings.raw_dir, side_dir=settings.synth_dir, households=REAL_HOUSEHOLDS,
             months=REAL_MONTHS, seed=REAL_SEED, region="33.75", messiness=0.02)
    try:
        run_pipeline_once(settings, "real-packs-run")
    finally:
        patch.undo()
    return settings
