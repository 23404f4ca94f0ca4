"""A real published pack from a small synthetic run, built in-process (no Prefect), for tests
that read what the pipeline publishes (the attacker test, the dictionary tests).

``real_pack(root)`` generates raw extracts (``tkpk synth``: synthetic people only), runs the
warehouse steps of the nightly flow (reference tables, raw load, acceptance, marts) and
publishes both packs; it returns the settings (``settings.restricted_dir``,
``settings.bappeda_dir``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tkpk import reference
from tkpk.config import Settings
from tkpk.db import connect

HOUSEHOLDS = 150
MONTHS = "2026-01:2026-06"


def real_pack(root: Path, households: int = HOUSEHOLDS, months: str = MONTHS) -> Settings:
    """Generate a small sample under ``root``, run the pipeline once and publish both packs."""
    from tkpk.ingest.accept import process_loads
    from tkpk.ingest.raw import load_new_files
    from tkpk.publish import publish_packs
    from tkpk.synth import generate
    from transforms.runner import build_marts

    os.environ.setdefault("TKPK_PSEUDONYM_KEY", "pack-support-key")
    settings = Settings(
        raw_dir=root / "raw",
        curated_dir=root / "curated",
        warehouse=root / "warehouse.duckdb",
        synth_dir=root / "synth",
        temp_dir=root / "tmp",
        duckdb_memory_limit="2GB",
        duckdb_threads=2,
        local_key_file=root / "local.key",
    )
    generate(out_dir=settings.raw_dir, side_dir=root / "synth", households=households,
             months=months, seed=12, region="33.75", messiness=0.02)
    con = connect(settings)
    try:
        con.begin()
        reference.install(con, settings.region)
        outcomes = load_new_files(con, settings, "run-pack")
        process_loads(con, settings, "run-pack", outcomes)
        build_marts(con)
        con.commit()
        publish_packs(con, settings, "run-pack", use_gx=False)
    finally:
        con.close()
    return settings


@pytest.fixture(scope="session")
def published_pack(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """One real published pack for the session (import this fixture into a test module)."""
    return real_pack(tmp_path_factory.mktemp("real_pack"))
