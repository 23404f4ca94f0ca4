"""Budget what-if: what a monthly budget would do to poverty (indicators.md, "Budget what-if").

A scenario file (TOML) holds one or more ``[[scenario]]`` tables::

    [[scenario]]
    name = "BLT kelurahan termiskin"
    period = "2026-10"              # YYYY-MM: its snapshot s(m) and poverty lines
    budget_idr_month = 1500000000   # B, rupiah per month
    eligible = "desil_max"          # desil_max | poor | extreme | mpi_poor | unreached_poor
    desil_max = 2                   # required with eligible = "desil_max" (ignored otherwise)
    rule = "fill_bottom"            # flat | per_capita | lift_closest | fill_bottom
    kelurahan = ["33.75.01.1002"]   # optional: the eligible group limited to these kelurahan
                                    # (missing or empty: the whole region)

``run_scenarios`` computes every scenario set-based in DuckDB (``transforms/decisions/``:
``scenario_outcome.sql`` per household, ``scenario_results.sql`` per area) from
``int_household_status`` of the scenario's period (the same households, y, z and z_e as the
published figures) and returns one row per scenario x area (kelurahan, kecamatan, city; a
province region also its kab/kota and province rows), columns ``RESULT_COLUMNS`` (documented in
``tkpk.publish.dictionary``, ``SIMULATION_RESULTS``). Choices where the spec is silent:

- a flagged (NULL) DESIL, poverty or MPI status makes a household not eligible (the MPI
  sample: a household outside it is not ``mpi_poor``); a household without accepted members
  (n_h = 0) is in E like any other (``flat`` pays it B / |E|; it has no persons, so no figure
  per person changes);
- ``lift_closest``: the poor eligible households sorted by g_h = n_h (z - y_h), then
  ID_KELUARGA; a household receives its whole gap when the running sum of gaps (itself
  included) is at most B; the first household that does not fit ends the process (the
  running sum only grows), the rest of the budget is unspent;
- ``fill_bottom``: each eligible person below the line is raised to min(L, z_h), L the highest
  level with sum n_h max(0, min(L, z_h) - y_h) <= B. The cost is piecewise linear in L with
  breakpoints at the y_h (slope +n_h) and z_h (slope -n_h): one sorted cumulative sum gives the
  cost at every breakpoint exactly (decimals); L lies after the last breakpoint whose cost fits
  and is solved there in closed form, L = (B + S) / W. A household whose own line z_h costs at
  most B ends exactly at its line (not poor); with one line for the region, L <= z;
- ``spent_idr_month`` of an area is what its households receive; ``cost_per_person_lifted`` is
  that divided by the area's persons lifted (poor before, not poor after).

``tkpk simulate`` reads the warehouse read-only and only when it is the state of the last
published run (the restricted pack's manifest lists the same source files): a warehouse that a
run committed but did not publish is refused.
"""

from __future__ import annotations

import json
import logging
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from tkpk.config import Settings
from tkpk.publish.dictionary import SIMULATION_RESULTS
from transforms.sql import create_table_sql, read_sql

log = logging.getLogger(__name__)

ELIGIBLE = ("desil_max", "poor", "extreme", "mpi_poor", "unreached_poor")
RULES = ("flat", "per_capita", "lift_closest", "fill_bottom")
REQUIRED_KEYS = ("name", "period", "budget_idr_month", "eligible", "rule")
OPTIONAL_KEYS = ("desil_max", "kelurahan")
RESULTS_NAME = "simulation_results.parquet"
CHART_NAME = "simulation_perbandingan.png"
PDF_NAME = "simulation_ringkasan.pdf"

#: The result columns, in order: the registry's (``SIMULATION_RESULTS``).
RESULT_COLUMNS: tuple[str, ...] = tuple(SIMULATION_RESULTS.names)

class ScenarioError(ValueError):
    """A scenario file (or one scenario of it) is invalid; the message names scenario and key."""


class SimulationError(RuntimeError):
    """The simulation cannot run on this warehouse (not published, busy, ...)."""


@dataclass(frozen=True)
class Scenario:
    """One validated scenario."""

    name: str
    period: date
    budget_idr_month: Decimal
    eligible: str
    rule: str
    desil_max: int | None = None
    kelurahan: tuple[str, ...] | None = None
    index: int = field(default=1, compare=False)

    @property
    def label(self) -> str:
        """How errors name the scenario."""
        return f"scenario '{self.name}' (#{self.index})"


# --------------------------------------------------------------------------- scenario files


def _fail(label: str, key: str, message: str) -> ScenarioError:
    return ScenarioError(f"{label}: key '{key}' {message}")


def parse_scenario(raw: dict[str, Any], index: int = 1) -> Scenario:
    """Validate one scenario table (keys as in the scenario file) into a ``Scenario``."""
    if not isinstance(raw, dict):
        raise ScenarioError(f"scenario #{index}: must be a table of keys ([[scenario]])")
    name = raw.get("name")
    label = f"scenario '{name}' (#{index})" if isinstance(name, str) else f"scenario #{index}"
    for key in REQUIRED_KEYS:
        if key not in raw:
            raise _fail(label, key, "is missing")
    unknown = sorted(set(raw) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
    if unknown:
        raise _fail(label, unknown[0], f"is not a scenario key (known: "
                    f"{', '.join(REQUIRED_KEYS + OPTIONAL_KEYS)})")
    if not isinstance(name, str) or not name.strip():
        raise _fail(label, "name", "must be a non-empty text")
    period = raw["period"]
    if not isinstance(period, str) or not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period):
        raise _fail(label, "period", f"must be a month YYYY-MM, got {period!r}")
    budget = raw["budget_idr_month"]
    if isinstance(budget, bool) or not isinstance(budget, int | float):
        raise _fail(label, "budget_idr_month", f"must be a number of rupiah, got {budget!r}")
    try:
        amount = Decimal(format(Decimal(str(budget)), "f"))  # fixed point: 1e9 -> 1000000000
    except InvalidOperation as error:  # pragma: no cover - int/float always convert
        raise _fail(label, "budget_idr_month", f"is not a number: {budget!r}") from error
    if not amount.is_finite() or amount < 0:
        raise _fail(label, "budget_idr_month", f"must be a finite number >= 0, got {budget!r}")
    eligible = raw["eligible"]
    if eligible not in ELIGIBLE:
        raise _fail(label, "eligible", f"must be one of {', '.join(ELIGIBLE)}; got {eligible!r}")
    rule = raw["rule"]
    if rule not in RULES:
        raise _fail(label, "rule", f"must be one of {', '.join(RULES)}; got {rule!r}")
    desil_max = raw.get("desil_max")
    if eligible == "desil_max":
        if desil_max is None:
            raise _fail(label, "desil_max", "is required when eligible = 'desil_max'")
        if isinstance(desil_max, bool) or not isinstance(desil_max, int) or not (
            1 <= desil_max <= 10
        ):
            raise _fail(label, "desil_max", f"must be a whole number 1-10, got {desil_max!r}")
    elif desil_max is not None:
        log.warning("%s: desil_max is ignored (eligible is %r)", label, eligible)
        desil_max = None
    kelurahan = raw.get("kelurahan")
    if kelurahan is not None:
        if not isinstance(kelurahan, list) or not all(
            isinstance(k, str) and k.strip() for k in kelurahan
        ):
            raise _fail(label, "kelurahan", "must be a list of kelurahan codes (text)")
        # an empty list limits nothing (the whole region), like a missing key
        kelurahan = tuple(k.strip() for k in kelurahan) or None
    return Scenario(
        name=name.strip(),
        period=date.fromisoformat(f"{period}-01"),
        budget_idr_month=amount,
        eligible=eligible,
        rule=rule,
        desil_max=desil_max,
        kelurahan=kelurahan,
        index=index,
    )


def parse_scenarios(document: dict[str, Any], source: str = "scenario file") -> list[Scenario]:
    """Every ``[[scenario]]`` of a parsed TOML document, validated; names must be unique."""
    extra = sorted(set(document) - {"scenario"})
    if extra:
        raise ScenarioError(f"{source}: unknown top-level key '{extra[0]}' (only [[scenario]])")
    tables = document.get("scenario")
    if not isinstance(tables, list) or not tables:
        raise ScenarioError(f"{source}: no [[scenario]] table")
    scenarios = [parse_scenario(raw, i) for i, raw in enumerate(tables, start=1)]
    seen: dict[str, int] = {}
    for scenario in scenarios:
        if scenario.name in seen:
            raise _fail(scenario.label, "name", f"repeats scenario #{seen[scenario.name]}'s name")
        seen[scenario.name] = scenario.index
    return scenarios


def load_scenarios(path: Path) -> list[Scenario]:
    """Read and validate a scenario file (TOML)."""
    try:
        document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ScenarioError(f"scenario file {path} does not exist") from error
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"scenario file {path} is not valid TOML: {error}") from error
    return parse_scenarios(document, source=f"scenario file {Path(path).name}")


def check_against_warehouse(con: duckdb.DuckDBPyConnection, scenarios: list[Scenario]) -> None:
    """Each scenario's period is a reported period with a poverty line, its kelurahan are
    kelurahan of the region."""
    periods = dict(con.execute(read_sql("decisions/scenario_periods")).fetchall())
    known = {row[0] for row in con.execute(read_sql("reference/kelurahan_names")).fetchall()}
    for s in scenarios:
        month = s.period.strftime("%Y-%m")
        if s.period not in periods:
            reported = ", ".join(sorted(p.strftime("%Y-%m") for p in periods)) or "none"
            raise _fail(s.label, "period", f"{month} is not a reported period of the warehouse "
                        f"(reported: {reported})")
        if not periods[s.period]:
            raise _fail(s.label, "period", f"{month} has no poverty line in force")
        unknown = [k for k in s.kelurahan or () if k not in known]
        if unknown:
            raise _fail(s.label, "kelurahan", f"names codes that are not kelurahan of the "
                        f"region: {', '.join(unknown)}")


# --------------------------------------------------------------------------- the computation

def scenario_parameters(scenario: Scenario) -> dict[str, Any]:
    """Named parameters of ``transforms/decisions/scenario_outcome.sql``."""
    return {
        "period": scenario.period,
        "eligible": scenario.eligible,
        "desil_max": scenario.desil_max,
        "all_kelurahan": scenario.kelurahan is None,
        "kelurahan": list(scenario.kelurahan or ()),
        "budget": scenario.budget_idr_month,
        "rule": scenario.rule,
    }


def make_outcome(con: duckdb.DuckDBPyConnection, scenario: Scenario) -> None:
    """(Re)create the temp table ``scenario_outcome``: each household of the scenario's period
    with its transfer (``transforms/decisions/scenario_outcome.sql``)."""
    con.execute(
        create_table_sql("scenario_outcome", "decisions/scenario_outcome", temporary=True),
        scenario_parameters(scenario),
    )


def run_scenarios(con: duckdb.DuckDBPyConnection, scenarios: list[Scenario]) -> pd.DataFrame:
    """Every scenario's result rows (``RESULT_COLUMNS``), scenarios in file order, areas by code."""
    check_against_warehouse(con, scenarios)
    frames = []
    try:
        for scenario in scenarios:
            make_outcome(con, scenario)
            frame = con.execute(
                read_sql("decisions/scenario_results"),
                {"scenario": scenario.name, "period": scenario.period},
            ).df()
            frames.append(frame.sort_values("area_code", kind="stable"))
    finally:
        con.execute("drop table if exists scenario_outcome")
    result = pd.concat(frames, ignore_index=True)[list(RESULT_COLUMNS)]
    for column in ("persons_lifted", "poor_population_before", "poor_population_after"):
        result[column] = result[column].astype("int64")
    result["period"] = pd.to_datetime(result["period"]).dt.date  # DATE in Parquet, like the packs
    return result


# --------------------------------------------------------------------------- the command


def published_state_problem(con: duckdb.DuckDBPyConnection, restricted_dir: Path) -> str | None:
    """Why the warehouse is not the state of the last published run (None when it is).

    The nightly run commits the warehouse before it publishes; the restricted pack's manifest
    lists the raw files the pack was published from. The warehouse is the last published state
    when it has seen exactly those files."""
    from tkpk.publish.manifest import MANIFEST, source_files

    manifest = restricted_dir / MANIFEST
    if not manifest.exists():
        return f"no published pack at {restricted_dir} (run `tkpk run` first)"
    published = json.loads(manifest.read_text(encoding="utf-8")).get("source_files")
    if published != source_files(con):
        return (
            "the warehouse holds files that were never published (a run committed and then "
            "failed to publish); run `tkpk run` again to publish them first"
        )
    return None


def open_warehouse(settings: Settings) -> duckdb.DuckDBPyConnection:
    """The settings' warehouse, read-only (SimulationError when missing or locked by a run)."""
    from tkpk.db import connect

    if not settings.warehouse.exists():
        raise SimulationError(f"warehouse {settings.warehouse} does not exist (run `tkpk run`)")
    try:
        return connect(settings, settings.warehouse, read_only=True)
    except duckdb.IOException as error:
        raise SimulationError(
            f"cannot open the warehouse {settings.warehouse} read-only (a run is writing it?): "
            f"{error}"
        ) from error


def household_transfers(con: duckdb.DuckDBPyConnection, scenario: Scenario) -> pd.DataFrame:
    """The households a scenario pays: id_keluarga and t (rupiah per month), t > 0."""
    check_against_warehouse(con, [scenario])
    make_outcome(con, scenario)
    try:
        return con.execute(read_sql("decisions/scenario_transfers")).df()
    finally:
        con.execute("drop table if exists scenario_outcome")


def simulate_file(scenarios_path: Path, settings: Settings) -> Path:
    """``tkpk simulate``: run the file's scenarios on ``settings.warehouse``, write
    ``<settings.simulations_dir>/<file stem>/``: the results Parquet, the comparison PNG and the
    one-page PDF. Returns the folder."""
    scenarios = load_scenarios(scenarios_path)
    con = open_warehouse(settings)
    try:
        problem = published_state_problem(con, settings.restricted_dir)
        if problem is not None:
            raise SimulationError(f"not simulating: {problem}")
        results = run_scenarios(con, scenarios)
    finally:
        con.close()
    folder = settings.simulations_dir / Path(scenarios_path).stem
    write_outputs(results, scenarios, folder)
    return folder


def write_outputs(results: pd.DataFrame, scenarios: list[Scenario], folder: Path) -> None:
    """The results Parquet (exact columns), the comparison chart (PNG) and the one-page PDF."""
    from tkpk.report.simulation import write_simulation_pages

    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{RESULTS_NAME}.tmp"
    results.to_parquet(temporary, index=False)
    temporary.replace(folder / RESULTS_NAME)
    write_simulation_pages(results, scenarios, folder / CHART_NAME, folder / PDF_NAME)
