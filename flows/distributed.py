"""Distributed mode: the nightly flow with its household-level work fanned out by kab/kota.

When one machine is not enough (the national registry), the same flow runs its transforms in
three steps, with Prefect's Dask task runner (``prefect-dask``) sending the middle one to a Dask
cluster:

Each model's step is its header's ``partition_role`` (``transforms.models``):

1. **central** (the flow's process, in the warehouse transaction): ingest as in the nightly
   flow, then the models every partition shares (``partition_role central``: ``int_periods``,
   ``int_area_hierarchy``, ``int_household_snapshot``, ``int_program_monthly`` (record matching
   needs the NIK index of the whole registry) ...). The tables the partitions read are written
   to shared storage as Parquet: whole, or (a central model with ``partition_rows``) its rows
   matching that condition partitioned by the kab/kota of the row's kelurahan (``_root`` for
   households and records without a known kelurahan);
2. **partitions** (one Prefect task per kab/kota on the Dask workers, each with an in-memory
   DuckDB): the same SQL files build the ``partition`` models (the household-level models
   ``int_household_program``, ``int_household_funding``, ``int_household_status`` and the
   partition's ``households`` rows) and the ``sum`` models (the additive sums behind the curated
   tables, ``int_*_sums``), written back as Parquet;
3. **combine** (the flow's process): the partitions' sums are added by their key (their
   header's grain: period, area, program, DESIL, funding source): a kelurahan, kecamatan or
   kab/kota row comes from one partition, a province (or national) row and the region-wide
   incidence by DESIL are the exact sums of every partition's numerators and denominators
   (integers, decimals and hugeint cents, never averages of rates); the curated tables' SQL
   then turns the totals into ratios exactly as in a single process (every model without a
   ``partition_role``). The household-level tables are copied into the warehouse, so it holds
   the same tables as after a single-process build; publish and summary follow as usual.

The flow ``nightly_distributed`` is the nightly flow (``flows.nightly.nightly``, every step the
same) with the ``distributed`` executor for its transform step
(``build_indicators_distributed``): the incremental build when it is exact, else the three steps
above.

Entry points: the flow ``nightly_distributed`` and ``run_distributed(settings, address=...)``
(a Dask scheduler address, or a local cluster of worker processes when None). Shared storage:
``shared_dir`` must be one path every worker and the flow's process can read and write (NFS,
a cluster file system; docs/distributed.md). See tests/test_distributed.py.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE as NO_CACHE

from flows.failures import scrubbed
from tkpk.config import Settings, get_settings
from tkpk.db import connect, sql_literal
from tkpk.publish.atomic import crashpoint
from transforms.incremental import record_build
from transforms.models import graph
from transforms.runner import (
    build_model,
    check_inputs,
    model_path,
    model_sql,
)

log = logging.getLogger(__name__)

ROOT_PARTITION = "_root"


def central_models() -> tuple[str, ...]:
    """Built once, centrally, before the fan-out (``partition_role central``), in build order."""
    return graph().with_role("central")


def partition_models() -> tuple[str, ...]:
    """Built per kab/kota partition on the workers (``partition`` and ``sum``), in build order."""
    return graph().with_role("partition", "sum")


def finish_models() -> tuple[str, ...]:
    """Built centrally after the combine, from the added sums (ratios) or the ingest tables."""
    return graph().with_role("finish")


def sum_keys() -> dict[str, tuple[str, ...]]:
    """The additive sums, with the key they are added by across partitions (their grain)."""
    return {m: graph()[m].sum_keys for m in graph().with_role("sum")}


def partition_inputs() -> tuple[str, ...]:
    """The tables (central models and sources) the partition models read, in build order then
    source order."""
    inside = set(partition_models())
    read = set().union(*(graph()[m].depends_on for m in inside)) - inside
    return (*graph().select(read), *(s for s in graph().sources if s in read))


def global_inputs() -> tuple[str, ...]:
    """Partition inputs every partition reads whole (small): those without ``partition_rows``."""
    return tuple(t for t in partition_inputs()
                 if t not in graph() or graph()[t].partition_rows is None)


def partitioned_inputs() -> dict[str, str]:
    """Partition inputs split by partition: table -> filter of the rows partitions need."""
    return {t: graph()[t].partition_rows for t in partition_inputs()
            if t in graph() and graph()[t].partition_rows is not None}


@dataclass(frozen=True)
class PartitionSpec:
    """One kab/kota partition's work: where its inputs are and where its outputs go."""

    key: str
    run_dir: str
    settings: Settings


@dataclass
class PartitionResult:
    """What a partition built: rows and column types per model, timings."""

    key: str
    rows: dict[str, int] = field(default_factory=dict)
    types: dict[str, dict[str, str]] = field(default_factory=dict)
    wall_s: float = 0.0
    worker: str = ""


# ------------------------------------------------------------------------- shared storage


def partitioned_select(table: str, condition: str) -> str:
    """SELECT of ``table``'s rows with their partition ``part``: the kab/kota code of the row's
    kelurahan, ``_root`` when it is not a known kelurahan."""
    return f"""
        select {table}.*, coalesce(kelurahan.kabkota_code, '{ROOT_PARTITION}') as part
        from {table}
        left join (select code, kabkota_code from ref_area where level = 'kelurahan')
            as kelurahan on kelurahan.code = {table}.kelurahan_code
        where {condition}
    """


def export_inputs(con: duckdb.DuckDBPyConnection, run_dir: Path) -> list[str]:
    """Write the partitions' inputs as Parquet under ``run_dir/in``; return the partition keys."""
    inputs = run_dir / "in"
    inputs.mkdir(parents=True, exist_ok=True)
    for table in global_inputs():
        con.execute(f"copy {table} to {sql_literal(inputs / f'{table}.parquet')} (format parquet)")
    keys: set[str] = set()
    for table, condition in partitioned_inputs().items():
        target = inputs / table
        con.execute(
            f"copy (select * from {table} limit 0) to "
            f"{sql_literal(inputs / f'{table}.schema.parquet')} (format parquet)"
        )
        con.execute(
            f"""
            copy ({partitioned_select(table, condition)})
            to {sql_literal(target)} (format parquet, partition_by (part), overwrite_or_ignore)
            """
        )
        if target.exists():
            keys |= {
                p.name.split("=", 1)[1] for p in target.iterdir() if p.name.startswith("part=")
            }
    return sorted(keys)


def _load_inputs(con: duckdb.DuckDBPyConnection, run_dir: Path, key: str) -> None:
    """Create a partition's input tables in its own DuckDB."""
    inputs = run_dir / "in"
    for table in global_inputs():
        con.execute(
            f"create table {table} as select * from read_parquet("
            f"{sql_literal(inputs / f'{table}.parquet')})"
        )
    for table in partitioned_inputs():
        schema = inputs / f"{table}.schema.parquet"
        con.execute(f"create table {table} as select * from read_parquet({sql_literal(schema)})")
        folder = inputs / table / f"part={key}"
        if folder.is_dir():
            con.execute(
                f"insert into {table} select * from read_parquet("
                f"{sql_literal(folder / '*.parquet')}, hive_partitioning = false)"
            )


def _column_types(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Column -> DuckDB type of ``table``, in order."""
    return dict(con.execute(f"select column_name, column_type from (describe {table})").fetchall())


def _parquet_select(table: str, types: dict[str, str]) -> str:
    """SELECT of ``table`` storable in Parquet exactly (HUGEINT as DECIMAL(38, 0))."""
    items = [
        f'cast("{c}" as decimal(38, 0)) as "{c}"' if t == "HUGEINT" else f'"{c}"'
        for c, t in types.items()
    ]
    return f"select {', '.join(items)} from {table}"


# ------------------------------------------------------------------------------ partitions


def _worker_name() -> str:
    """The Dask worker's address (host name outside a worker)."""
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        import socket

        return socket.gethostname()


def build_partition_models(spec: PartitionSpec) -> PartitionResult:
    """Build the partition models of one kab/kota from shared storage, write them back."""
    start = time.perf_counter()
    run_dir = Path(spec.run_dir)
    result = PartitionResult(key=spec.key, worker=_worker_name())
    con = connect(spec.settings, ":memory:")
    try:
        _load_inputs(con, run_dir, spec.key)
        for name in partition_models():
            try:
                con.execute(f"create table {name} as\n{model_sql(name)}")
            except duckdb.Error as error:
                raise RuntimeError(
                    f"partition {spec.key}: transform {model_path(name).name} failed: {error}"
                ) from error
            types = _column_types(con, name)
            target = run_dir / "out" / name
            target.mkdir(parents=True, exist_ok=True)
            con.execute(
                f"copy ({_parquet_select(name, types)}) to "
                f"{sql_literal(target / f'{spec.key}.parquet')} (format parquet)"
            )
            result.types[name] = types
            result.rows[name] = con.execute(f"select count(*) from {name}").fetchone()[0]
    finally:
        con.close()
    result.wall_s = round(time.perf_counter() - start, 3)
    return result


@task(cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def build_partition(spec: PartitionSpec) -> PartitionResult:
    """One kab/kota partition on a Dask worker (retried once: a lost worker)."""
    return build_partition_models(spec)


# --------------------------------------------------------------------------------- combine


def _combine_sums(
    con: duckdb.DuckDBPyConnection, files: str, name: str, types: dict[str, str]
) -> None:
    """Add a sums model's partition rows by its key; every other column is an exact sum."""
    keys = graph()[name].sum_keys
    items = [f'"{k}"' for k in keys]
    items += [
        f'cast(sum("{c}") as {t}) as "{c}"' for c, t in types.items() if c not in keys
    ]
    group = ", ".join(f'"{k}"' for k in keys)
    con.execute(
        f"create or replace table {name} as select {', '.join(items)} "
        f"from read_parquet({files}) group by {group}"
    )


def _copy_rows(
    con: duckdb.DuckDBPyConnection, files: str, name: str, types: dict[str, str]
) -> None:
    """A household-level model: the union of the partitions' rows, typed as built, clustered
    by the model's ``cluster_key`` column like a single-process build (so a later incremental
    build replaces whole row groups)."""
    items = [f'cast("{c}" as {t}) as "{c}"' for c, t in types.items()]
    key = graph()[name].cluster_key
    order = "" if key is None else f' order by "{key}"'
    con.execute(
        f"create or replace table {name} as select {', '.join(items)} "
        f"from read_parquet({files}){order}"
    )


def combine(
    con: duckdb.DuckDBPyConnection, run_dir: Path, results: list[PartitionResult]
) -> None:
    """Partition outputs into the warehouse: sums added by key, household rows copied."""
    for name in partition_models():
        types = next((r.types[name] for r in results if name in r.types), None)
        if types is None:
            raise RuntimeError(f"no partition built {name}")
        files = sql_literal(run_dir / "out" / name / "*.parquet")
        if graph()[name].sum_keys:
            _combine_sums(con, files, name, types)
        else:
            _copy_rows(con, files, name, types)


def _build(con: duckdb.DuckDBPyConnection, names: tuple[str, ...]) -> list[dict]:
    """Create or replace the given models in order; their wall times."""
    timings = []
    for name in names:
        start = time.perf_counter()
        build_model(con, name)  # with the model's engine settings (transforms.runner)
        timings.append({"name": name, "wall_s": round(time.perf_counter() - start, 3)})
        crashpoint(f"transform:{name}")  # as the single-process build (crash tests)
    return timings


def build_distributed(
    con: duckdb.DuckDBPyConnection, settings: Settings, shared_dir: Path, run_id: str
) -> dict:
    """Every model: central ones here, partition ones fanned out with ``build_partition.submit``
    (the flow's task runner: Dask), then the combine and the curated tables. Runs in the
    caller's transaction; must be called inside a flow run. Returns a report dict."""
    check_inputs(con)
    run_dir = shared_dir / run_id
    shutil.rmtree(run_dir, ignore_errors=True)
    started = time.perf_counter()
    report: dict = {"mode": "distributed", "reason": "partitioned by kab/kota", "models": []}
    try:
        report["models"] += _build(con, central_models())
        step = time.perf_counter()
        keys = export_inputs(con, run_dir)
        report["export_s"] = round(time.perf_counter() - step, 3)
        step = time.perf_counter()
        futures = [
            build_partition.submit(PartitionSpec(key=key, run_dir=str(run_dir), settings=settings))
            for key in keys
        ]
        results = [future.result() for future in futures]
        report["partitions_s"] = round(time.perf_counter() - step, 3)
        report["partitions"] = {r.key: {"wall_s": r.wall_s, "worker": r.worker} for r in results}
        step = time.perf_counter()
        combine(con, run_dir, results)
        report["combine_s"] = round(time.perf_counter() - step, 3)
        report["models"] += _build(con, finish_models())
        record_build(con, "distributed")
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    report["wall_s"] = round(time.perf_counter() - started, 3)
    return report


# ------------------------------------------------------------------------------------ flows


def task_runner(address: str | None = None, n_workers: int = 2, threads_per_worker: int = 1):
    """Prefect's Dask task runner: an existing cluster (scheduler ``address``) or a local cluster
    of ``n_workers`` worker processes."""
    from prefect_dask import DaskTaskRunner

    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={
            "n_workers": n_workers,
            "processes": True,
            "threads_per_worker": threads_per_worker,
            "dashboard_address": None,
        },
    )


def shared_folder(settings: Settings, shared_dir: str | None) -> Path:
    """The shared storage folder (default: ``<temp_dir>/distributed``, fine on one machine)."""
    return Path(shared_dir) if shared_dir else settings.temp_dir / "distributed"


@flow(name="tkpk-transforms-distributed")
def distributed_transforms(db_path: str, shared_dir: str | None = None) -> dict:
    """Only the transforms of the distributed mode, on an already ingested warehouse."""
    from flows.nightly import new_run_id

    settings = get_settings().with_paths(db=Path(db_path))
    con = connect(settings)
    con.begin()
    try:
        report = build_distributed(con, settings, shared_folder(settings, shared_dir),
                                   new_run_id())
        con.commit()
    except BaseException:
        con.rollback()
        raise
    finally:
        con.close()
    return report


@scrubbed
def build_indicators_distributed(ctx: object, shared_dir: str | None) -> dict:
    """The distributed executor of the nightly flow's transform step (``flows.nightly``):
    the incremental build when it is exact (the single-process rule of
    ``transforms.incremental``: few periods, no fan-out needed), else every model with the
    household-level work fanned out by kab/kota (``build_distributed``). Runs in the flow's body
    (the fan-out submits tasks to the flow's task runner) inside the run's transaction."""
    from transforms.incremental import _full_reason, build_changed

    ctx.con.execute("set preserve_insertion_order = false")
    check_inputs(ctx.con)
    reason = _full_reason(ctx.con, ctx.outcomes)
    if reason is None:
        report = build_changed(ctx.con, ctx.outcomes).as_dict()
    else:
        report = build_distributed(
            ctx.con, ctx.settings, shared_folder(ctx.settings, shared_dir), ctx.run_id
        )
        report["reason"] = f"partitioned by kab/kota: {reason}"
        get_run_logger().info("distributed transforms: %d partitions", len(report["partitions"]))
    ctx.con.execute("reset preserve_insertion_order")
    return report


@flow(name="tkpk-nightly-distributed", log_prints=True)
@scrubbed
def nightly_distributed(
    raw_dir: str, out_dir: str, db_path: str, shared_dir: str | None = None,
    force_publish: bool = False,
) -> dict:
    """The nightly flow (``flows.nightly.nightly``: the same steps, checks, crash points,
    checkpoint, summary artifact) with the ``distributed`` executor for its transforms."""
    from flows.nightly import nightly

    return nightly.fn(
        raw_dir=raw_dir, out_dir=out_dir, db_path=db_path, force_publish=force_publish,
        executor="distributed", shared_dir=shared_dir,
    )


def run_distributed(
    settings: Settings,
    address: str | None = None,
    n_workers: int = 2,
    shared_dir: str | None = None,
) -> dict:
    """Run the distributed nightly flow once on the settings' folders."""
    runner = task_runner(address, n_workers)
    return nightly_distributed.with_options(task_runner=runner)(
        raw_dir=str(settings.raw_dir),
        out_dir=str(settings.curated_dir),
        db_path=str(settings.warehouse),
        shared_dir=shared_dir,
    )
