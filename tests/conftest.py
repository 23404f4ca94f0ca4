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
