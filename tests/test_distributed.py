"""Distributed mode (flows/distributed.py) against a real local Dask cluster.

A province-like sample (region 33: 35 kab/kota) is generated and ingested once; one copy of the
warehouse is built in a single process (``build_marts``), the other by the distributed flow
through Prefect's Dask task runner on a ``distributed.LocalCluster`` of two worker processes.
Every model table, curated and intermediate, must be equal row for row.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from test_incremental import key_runs

from flows.distributed import (
    central_models,
    distributed_transforms,
    finish_models,
    global_inputs,
    partition_models,
    partitioned_inputs,
    sum_keys,
)
from tkpk import reference
from tkpk.config import Settings
from tkpk.db import connect
from transforms.models import graph
from transforms.runner import build_marts

MODEL_ORDER = graph().order
CLUSTER_KEYS = {m: graph()[m].cluster_key for m in MODEL_ORDER if graph()[m].cluster_key}

HOUSEHOLDS = 800
MONTHS = "2026-04:2026-06"


def test_model_split_covers_every_model_once():
    central, partition, finish = central_models(), partition_models(), finish_models()
    assert sorted(central + partition + finish) == sorted(MODEL_ORDER)
    sums = {m for m in MODEL_ORDER if m.startswith("int_") and m.endswith("_sums")}
    assert set(sum_keys()) == sums
    assert set(sum_keys()) <= set(partition)
    assert sum_keys()["int_poverty_sums"] == ("period", "area_code", "line_area_code")
    assert "households" in partition and "int_program_monthly" in central


def test_partition_inputs_come_from_the_headers():
    """What the partitions read: the small central tables whole, the household- and
    record-level ones split by kab/kota (the central models' partition_rows)."""
    assert set(global_inputs()) == {"int_periods", "int_area_hierarchy", "int_period_lines",
                                    "int_excluded_months", "ref_area", "ref_program"}
    assert partitioned_inputs() == {"int_household_snapshot": "true",
                                    "int_program_monthly": "household_key is not null"}


@pytest.mark.parametrize("name", partition_models())
def test_partition_models_read_only_partition_inputs(name):
    """A partition has the central inputs and the partition models built before it."""
    available = set(global_inputs()) | set(partitioned_inputs())
    available |= set(partition_models()[: partition_models().index(name)])
    assert graph()[name].depends_on <= available


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A generated province sample, ingested once (no transforms)."""
    from tkpk.ingest.accept import process_loads
    from tkpk.ingest.raw import load_new_files
    from tkpk.synth import generate

    root = tmp_path_factory.mktemp("distributed")
    settings = Settings(
        raw_dir=root / "raw", curated_dir=root / "curated", warehouse=root / "ingested.duckdb",
        synth_dir=root / "synth", temp_dir=root / "tmp", region="33",
        duckdb_memory_limit="1GB", duckdb_threads=1, local_key_file=root / "local.key",
    )
    generate(out_dir=settings.raw_dir, side_dir=settings.synth_dir, households=HOUSEHOLDS,
             months=MONTHS, seed=11, region="33", messiness=0.02)
    con = connect(settings)
    con.begin()
    reference.install(con, "33")
    outcomes = load_new_files(con, settings, "test-run")
    process_loads(con, settings, "test-run", outcomes)
    con.commit()
    con.close()
    return {"root": root, "settings": settings}


def differences(first: Path, second: Path) -> dict[str, tuple[int, int, int, int]]:
    """Per model table: (rows in first, rows in second, rows only in first, only in second),
    compared in DuckDB with multiset semantics (EXCEPT ALL), doubles bit for bit."""
    con = duckdb.connect()
    con.execute(f"attach '{first}' as a (read_only)")
    con.execute(f"attach '{second}' as b (read_only)")
    out = {}
    for name in MODEL_ORDER:
        out[name] = con.execute(
            f"""
            select (select count(*) from a.{name}), (select count(*) from b.{name}),
                (select count(*) from (select * from a.{name} except all select * from b.{name})),
                (select count(*) from (select * from b.{name} except all select * from a.{name}))
            """
        ).fetchone()
    con.close()
    return out


def test_distributed_equals_single_process(ingested, monkeypatch):
    from distributed import LocalCluster
    from prefect.testing.utilities import prefect_test_harness
    from prefect_dask import DaskTaskRunner

    root, settings = ingested["root"], ingested["settings"]
    single, spread = root / "single.duckdb", root / "distributed.duckdb"
    shutil.copy(settings.warehouse, single)
    shutil.copy(settings.warehouse, spread)
    con = connect(settings, single)
    build_marts(con)
    con.close()

    monkeypatch.setenv("TKPK_TEMP", str(root / "tmp"))
    monkeypatch.setenv("TKPK_DUCKDB_THREADS", "1")
    monkeypatch.setenv("TKPK_DUCKDB_MEMORY", "1GB")
    with (
        LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                     dashboard_address=None) as cluster,
        prefect_test_harness(server_startup_timeout=120),
    ):
        runner = DaskTaskRunner(address=cluster.scheduler_address)
        report = distributed_transforms.with_options(task_runner=runner)(
            db_path=str(spread), shared_dir=str(root / "shared")
        )
    partitions = report["partitions"]
    assert len(partitions) >= 10, "the sample spreads over many kab/kota"
    assert len({p["worker"] for p in partitions.values()}) == 2, "both worker processes worked"
    for name, (rows, rows_distributed, only_single, only_distributed) in differences(
        single, spread
    ).items():
        assert rows == rows_distributed, f"{name}: {rows} rows vs {rows_distributed}"
        assert (only_single, only_distributed) == (0, 0), f"{name} differs"
        # poverty_transitions needs two usable snapshots (the sample has one); nothing was
        # pulled from a source in this test: source_pulls is empty too
        assert rows > 0 or name in (
            "data_quality_reason", "poverty_transitions", "source_pulls"
        ), f"{name} is empty"
    # the province rows are sums over partitions: they equal the sums of the kab/kota rows
    con = connect(settings, spread, read_only=True)
    province, kabkota = con.execute(
        """
        select
            sum(population) filter (where area_level = 'provinsi'),
            sum(population) filter (where area_level in ('kabupaten', 'kota'))
        from kelurahan_poverty
        """
    ).fetchone()
    # combined household tables are clustered by period like a single-process build
    for table, key in CLUSTER_KEYS.items():
        runs, values = key_runs(con, table, key)
        assert values > 1 and runs == values, f"{table} not clustered by {key}"
    con.close()
    assert province == kabkota > 0
    assert not any((root / "shared").glob("*/*")), "the shared run folder is cleaned up"
