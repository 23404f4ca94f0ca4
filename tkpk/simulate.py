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

``run_scenarios`` computes every scenario set-based in DuckDB from ``int_household_status`` of
the scenario's period (the same households, y, z and z_e as the published figures) and returns
one row per scenario x area (kelurahan, kecamatan, city; a province region also its kab/kota and
province rows), columns ``RESULT_COLUMNS`` (documented in ``tkpk.publish.dictionary``,
``SIMULATION_RESULTS``). Choices where the spec is silent:

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

#: Eligibility predicates over the household columns of ``int_household_status``.
ELIGIBLE_SQL = {
    "desil_max": "desil <= $desil_max",
    "poor": "poor",
    "extreme": "extreme_poor",
    "mpi_poor": "mpi_poor",
    "unreached_poor": "poor and program_count = 0",
}


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
    periods = {
        row[0]: row[1]
        for row in con.execute(
            "select period, count(poverty_line_idr) > 0 from int_household_status group by period"
        ).fetchall()
    }
    known = {
        row[0]
        for row in con.execute("select code from ref_area where level = 'kelurahan'").fetchall()
    }
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

#: Household rows of the scenario's period, with its eligibility.
_BASE_SQL = """
base as (
    select
        id_keluarga,
        kelurahan_code,
        household_size as n,
        pengeluaran_per_kapita as y,
        poverty_line_idr as z,
        extreme_poverty_line_idr as ze,
        coalesce(poor, false) as poor,
        coalesce(extreme_poor, false) as extreme_poor,
        coalesce(({eligible}), false)
            and ($all_kelurahan or kelurahan_code in (select unnest($kelurahan::varchar[])))
            as eligible
    from int_household_status
    where period = $period
),
totals as (
    select
        count(*) filter (where eligible) as e_households,
        sum(n) filter (where eligible) as e_persons
    from base
)"""

#: Per rule: ``outcome`` = base + transfer t (rupiah per month, double), reached (ends exactly at
#: its line, exact) and y_after (double, meaningful when t > 0 and not reached).
_RULE_SQL = {
    "flat": """,
outcome as (
    select
        base.*,
        case when eligible then cast($budget as double) / totals.e_households else 0 end as t,
        false as reached
    from base cross join totals
)""",
    "per_capita": """,
outcome as (
    select
        base.*,
        case when eligible then cast($budget as double) * n / totals.e_persons else 0 end as t,
        false as reached
    from base cross join totals
)""",
    "lift_closest": """,
candidates as (
    select id_keluarga, n * (z - y) as g from base where eligible and y < z
),
ranked as (
    select
        id_keluarga,
        g,
        sum(g) over (order by g, id_keluarga rows between unbounded preceding and current row)
            as running
    from candidates
),
chosen as (
    -- the running sum grows: the first household that does not fit ends the process
    select id_keluarga, g from ranked where running <= $budget
),
outcome as (
    select
        base.*,
        coalesce(cast(chosen.g as double), 0) as t,
        chosen.id_keluarga is not null as reached
    from base left join chosen on chosen.id_keluarga = base.id_keluarga
)""",
    "fill_bottom": """,
candidates as (
    select id_keluarga, n, y, z from base where eligible and y < z
),
events as (
    -- the cost sum n_h max(0, min(L, z_h) - y_h) gains slope n_h at y_h and loses it at z_h
    select y as v, n as dn, n * y as dnv from candidates
    union all
    select z as v, -n as dn, -(n * z) as dnv from candidates
),
by_value as (
    select v, sum(dn) as dn, sum(dnv) as dnv from events group by v
),
costs as (
    -- W (persons still rising), S (their sum of y and of reached lines) and the exact cost at v
    select
        v,
        sum(dn) over w as persons,
        sum(dnv) over w as level_sum,
        sum(dn) over w * v - sum(dnv) over w as cost
    from by_value
    window w as (order by v rows between unbounded preceding and current row)
),
level as (
    -- the last breakpoint that fits; L = (B + S) / W after it (W = 0: everyone at the line)
    -- (y_h < L is tested exactly as W y_h < B + S)
    select
        case when persons > 0
            then (cast($budget as double) + cast(level_sum as double)) / persons
            else cast(v as double)
        end as l,
        persons,
        $budget + level_sum as paid_level
    from costs where cost <= $budget order by v desc limit 1
),
outcome as (
    select
        base.*,
        case
            when base.eligible and base.y < base.z and line_cost.cost <= $budget
                then cast(base.n * (base.z - base.y) as double)
            when base.eligible and base.y < base.z and base.y * level.persons < level.paid_level
                then base.n * (level.l - cast(base.y as double))
            else 0
        end as t,
        coalesce(base.eligible and base.y < base.z and line_cost.cost <= $budget, false)
            as reached
    from base
    cross join (
        select coalesce(max(l), 0) as l, coalesce(max(persons), 0) as persons,
            coalesce(max(paid_level), 0) as paid_level
        from level
    ) as level
    left join costs as line_cost on line_cost.v = base.z and base.eligible and base.y < base.z
)""",
}

_AGGREGATE_SQL = """,
judged as (
    select
        kelurahan_code,
        n,
        t,
        poor,
        extreme_poor,
        -- after the transfer: y' = y + t / n (exactly z when the whole gap was paid)
        case
            when reached then false
            when t > 0 and n > 0 then cast(y as double) + t / n < cast(z as double)
            else poor
        end as poor_after,
        case
            when ze is null then null
            when reached then z < ze
            when t > 0 and n > 0 then cast(y as double) + t / n < cast(ze as double)
            else extreme_poor
        end as extreme_after,
        case when poor then cast(z - y as double) / cast(z as double) end as rel_gap,
        case when poor then n * (z - y) end as gap_idr,
        case
            when reached then 0
            when t > 0 and n > 0
                then greatest(cast(z as double) - cast(y as double) - t / n, 0)
            when poor then cast(z - y as double)
            else 0
        end as gap_after_capita,
        z,
        case when extreme_poor then n * (ze - y) end as extreme_gap_idr
    from outcome
),
by_kelurahan as (
    select
        kelurahan_code,
        sum(n) as population,
        sum(n) filter (where poor) as poor_before,
        sum(n) filter (where poor_after) as poor_after,
        sum(n) filter (where extreme_poor) as extreme_before,
        sum(n) filter (where extreme_after) as extreme_after,
        sum(n * rel_gap) as p1_sum_before,
        sum(n * rel_gap * rel_gap) as p2_sum_before,
        sum(n * gap_after_capita / cast(z as double)) as p1_sum_after,
        sum(n * (gap_after_capita / cast(z as double)) * (gap_after_capita / cast(z as double)))
            as p2_sum_after,
        sum(gap_idr) as gap_before_idr,
        sum(n * gap_after_capita) as gap_after_idr,
        sum(n) filter (where poor and not poor_after) as lifted,
        sum(t) as spent,
        sum(t) filter (where poor) as spent_on_poor,
        sum(extreme_gap_idr) as extreme_gap_idr
    from judged
    group by kelurahan_code
),
by_area as (
    select
        int_area_hierarchy.area_code,
        sum(population) as population,
        sum(poor_before) as poor_before,
        sum(poor_after) as poor_after,
        sum(extreme_before) as extreme_before,
        sum(extreme_after) as extreme_after,
        sum(p1_sum_before) as p1_sum_before,
        sum(p2_sum_before) as p2_sum_before,
        sum(p1_sum_after) as p1_sum_after,
        sum(p2_sum_after) as p2_sum_after,
        sum(gap_before_idr) as gap_before_idr,
        sum(gap_after_idr) as gap_after_idr,
        sum(lifted) as lifted,
        sum(spent) as spent,
        sum(spent_on_poor) as spent_on_poor,
        sum(extreme_gap_idr) as extreme_gap_idr
    from by_kelurahan
    join int_area_hierarchy
        on int_area_hierarchy.kelurahan_code is not distinct from by_kelurahan.kelurahan_code
    group by int_area_hierarchy.area_code
),
region_line as (
    select count(ze) > 0 as has_extreme_line from base
),
final as (
    select
        $scenario as scenario,
        cast($period as date) as period,
        ref_area.level as area_level,
        ref_area.code as area_code,
        ref_area.name as area_name,
        ref_area.kecamatan_code,
{ratios}
        cast(coalesce(a.poor_before, 0) as bigint) as poor_population_before,
        cast(coalesce(a.poor_after, 0) as bigint) as poor_population_after,
        cast(coalesce(a.lifted, 0) as bigint) as persons_lifted,
        coalesce(a.spent, 0) as spent_idr_month,
        coalesce(a.spent_on_poor, 0) as spent_on_poor_idr_month,
        case when a.spent > 0 then greatest(1 - coalesce(a.spent_on_poor, 0) / a.spent, 0) end
            as leakage,
        case when a.gap_before_idr > 0
            then least(greatest(1 - a.gap_after_idr / cast(a.gap_before_idr as double), 0), 1)
        end as gap_closed,
        case when a.lifted > 0 then a.spent / a.lifted end as cost_per_person_lifted_idr_month,
        case when region_line.has_extreme_line
            then cast(coalesce(a.extreme_gap_idr, 0) as double) end
            as budget_to_end_extreme_poverty_idr_month
    from ref_area
    cross join region_line
    left join by_area as a on a.area_code = ref_area.code
)
select * from final"""


#: Ratio columns: (name, numerator sum, capping sum or None, needs the extreme line). P1 and P2
#: are capped at P0 and P1 (removes a last-bit rounding difference when they are equal).
_RATIOS = (
    ("p0_before", "poor_before", None, False),
    ("p0_after", "poor_after", None, False),
    ("p1_before", "p1_sum_before", "poor_before", False),
    ("p1_after", "p1_sum_after", "poor_after", False),
    ("p2_before", "p2_sum_before", "p1_sum_before", False),
    ("p2_after", "p2_sum_after", "p1_sum_after", False),
    ("extreme_p0_before", "extreme_before", None, True),
    ("extreme_p0_after", "extreme_after", None, True),
)


def _ratio_items() -> str:
    """The per-person ratio columns of the result (NULL for an area without persons)."""
    items = []
    for name, numerator, cap, extreme in _RATIOS:
        value = f"coalesce(a.{numerator}, 0) / a.population"
        if cap:
            value = f"least({value}, coalesce(a.{cap}, 0) / a.population)"
        condition = "a.population > 0" + (" and region_line.has_extreme_line" if extreme else "")
        items.append(f"        case when {condition} then {value} end as {name},")
    return "\n".join(items)


def scenario_sql(scenario: Scenario) -> str:
    """The DuckDB statement computing one scenario's result rows (parameters:
    ``scenario_parameters``)."""
    base = _BASE_SQL.format(eligible=ELIGIBLE_SQL[scenario.eligible])
    return ("with " + base + _RULE_SQL[scenario.rule]
            + _AGGREGATE_SQL.replace("{ratios}\n", _ratio_items() + "\n"))


def scenario_parameters(scenario: Scenario) -> dict[str, Any]:
    """Named parameters of ``scenario_sql``."""
    parameters: dict[str, Any] = {
        "scenario": scenario.name,
        "period": scenario.period,
        "budget": scenario.budget_idr_month,
        "all_kelurahan": scenario.kelurahan is None,
        "kelurahan": list(scenario.kelurahan or ()),
    }
    if scenario.eligible == "desil_max":
        parameters["desil_max"] = scenario.desil_max
    return parameters


def run_scenarios(con: duckdb.DuckDBPyConnection, scenarios: list[Scenario]) -> pd.DataFrame:
    """Every scenario's result rows (``RESULT_COLUMNS``), scenarios in file order, areas by code."""
    check_against_warehouse(con, scenarios)
    frames = []
    for scenario in scenarios:
        frame = con.execute(scenario_sql(scenario), scenario_parameters(scenario)).df()
        frames.append(frame.sort_values("area_code", kind="stable"))
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
    base = _BASE_SQL.format(eligible=ELIGIBLE_SQL[scenario.eligible])
    sql = ("with " + base + _RULE_SQL[scenario.rule]
           + "\nselect id_keluarga, t from outcome where t > 0 order by id_keluarga")
    parameters = scenario_parameters(scenario)
    parameters.pop("scenario")
    return con.execute(sql, parameters).df()


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
