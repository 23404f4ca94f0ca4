"""Output expectation suites of the curated tables: generated from the dictionary, run in DuckDB.

The suites are Great Expectations 1.x suite files, ``expectations/<table>.json``, one per exported
table. They are generated from ``tkpk.publish.dictionary`` plus the invariants of
docs/contract/indicators.md
(``python -m tkpk.publish.suites`` rewrites them; a test keeps them in sync) and checked into the
repository like every other suite.

``run_suite``/``validate_output`` evaluate a suite set-based in DuckDB against any relation (the
staged Parquet file of a pack) with the executor the staging tables use too (``tkpk.suite_run``):
the row-wise expectations in one scan, every other expectation one query. Cross-row and
cross-table checks are ``unexpected_rows_expectation`` queries over ``{batch}`` and the reference
tables (``ref_area``, ``ref_program``) of the same connection, so the expected numbers of areas
come from ``ref_area``, never from constants.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from tkpk import suite_run
from tkpk.config import EXPECTATIONS_DIR
from tkpk.publish.dictionary import (
    PERSONAL_COLUMN_PATTERN,
    TABLES,
    TABLES_BY_NAME,
    Table,
)
from tkpk.pull.log import OUTCOMES as PULL_OUTCOMES
from tkpk.suite_sql import suite_path as suite_path

GX_VERSION = "1.24.1"
RATIO_TOLERANCE = 1e-9
#: ``area_level`` is ``ref_area.level``: kelurahan, kecamatan, kota for the city; the top rows of
#: another region carry its own levels.
AREA_LEVELS = ["kelurahan", "kecamatan", "kota", "kabupaten", "provinsi"]
FUNDING_SOURCES = ["APBN", "APBD", "DBHCHT", "DAK", "BAZNAS", "CSR"]
FILE_OUTCOMES = ["loaded", "already_loaded", "quarantined", "ignored"]
#: Tables whose rows cover every area for every period (others may omit all-zero rows).
FULL_COVERAGE = {"kelurahan_poverty", "program_overlap"}
#: Ratios that may exceed 1 (benefit relative to consumption).
UNBOUNDED_RATIOS = {"adequacy", "median_expenditure_idr"}


class OutputValidationError(RuntimeError):
    """A curated table failed its output suite; nothing was published."""


@dataclass(frozen=True)
class CheckFailure:
    """One failing expectation."""

    table: str
    check: str
    expectation_type: str
    unexpected: int
    sample: str

    def __str__(self) -> str:
        return (
            f"table {self.table}: check '{self.check}' ({self.expectation_type}) failed on "
            f"{self.unexpected} row(s); e.g. {self.sample}"
        )


# --------------------------------------------------------------------------- generation


def _expectation(type_: str, check: str, **kwargs) -> dict:
    return {"type": type_, "kwargs": kwargs, "meta": {"check": check}, "severity": "critical"}


def _rows(check: str, query: str) -> dict:
    expectation = _expectation("unexpected_rows_expectation", check, unexpected_rows_query=query)
    expectation["description"] = check
    return expectation


def _q(name: str) -> str:
    return '"' + name + '"'


def _column_checks(table: Table) -> list[dict]:
    out = []
    for column in table.columns:
        name = column.name
        if column.kind == "key":
            out.append(
                _expectation(
                    "expect_column_values_to_not_be_null", f"{name} is never null", column=name
                )
            )
        if column.kind in ("count", "amount"):
            out.append(
                _expectation(
                    "expect_column_values_to_be_between",
                    f"{name} is not negative",
                    column=name,
                    min_value=0,
                )
            )
        if column.kind == "ratio":
            bounds = {"min_value": 0}
            if name not in UNBOUNDED_RATIOS:
                bounds["max_value"] = 1
            check = f"{name} in [0, 1]" if "max_value" in bounds else f"{name} >= 0"
            out.append(
                _expectation("expect_column_values_to_be_between", check, column=name, **bounds)
            )
    return out


def _additivity(table: Table) -> list[dict]:
    """Kelurahan values add up to every area containing them (kecamatan, city, ...).

    Additive columns must equal the sum over the area's kelurahan; the other counts and amounts
    (records attributed to the root row when they name no kelurahan) must be at least that sum.
    Containment comes from ``ref_area`` (kecamatan, kab/kota and province codes).
    """
    first = table.key[0]  # period (poverty_transitions: snapshot_from)
    # the table's other key columns besides the area (program, funding source, profile group)
    extra = [k for k in table.key[1:] if k not in ("area_level", "area_code")]
    keys = ", ".join([first, *extra])
    on_keys = " and ".join(f"s.{k} = t.{k}" for k in [first, *extra])
    additive = [c.name for c in table.columns if c.additive]
    at_least = [c.name for c in table.columns if c.kind in ("count", "amount") and not c.additive]
    checks = []
    for columns, label, compare in (
        (additive, "kelurahan values add up to every kecamatan and the city", "<>"),
        (at_least, "kecamatan and city rows are at least the sum of their kelurahan", "<"),
    ):
        if not columns:
            continue
        sums = ", ".join(f"sum({_q(c)}) as {_q(c)}" for c in columns)
        if compare == "<>":
            differs = " or ".join(
                f"coalesce(s.{_q(c)}, 0) <> coalesce(t.{_q(c)}, 0)" for c in columns
            )
        else:
            differs = " or ".join(
                f"coalesce(t.{_q(c)}, 0) < coalesce(s.{_q(c)}, 0)" for c in columns
            )
        query = (
            "with leaf as (select b.*, unnest([r.kecamatan_code, r.kabkota_code, "
            "r.province_code]) as parent from {batch} b join ref_area r on r.code = b.area_code "
            "where b.area_level = 'kelurahan'), "
            f"s as (select {keys}, parent, {sums} from leaf "
            "where parent in (select code from ref_area) group by all), "
            "t as (select * from {batch} where area_level <> 'kelurahan') "
            f"select coalesce(s.{first}, t.{first}) as {first}, coalesce(s.parent, t.area_code) "
            f"as area_code from s full join t on {on_keys} and s.parent = t.area_code "
            f"where {differs}"
        )
        checks.append(_rows(f"{label} ({', '.join(columns)})", query))
    return checks


def _area_checks(table: Table) -> list[dict]:
    checks = [
        _expectation(
            "expect_column_values_to_be_in_set",
            "area_level is a ref_area level",
            column="area_level",
            value_set=AREA_LEVELS,
        ),
        _rows(
            "every area is in ref_area with its level, name and kecamatan",
            "select b.* from {batch} b left join ref_area r on r.code = b.area_code "
            "where r.code is null or r.level <> b.area_level or r.name <> b.area_name "
            "or b.kecamatan_code is distinct from r.kecamatan_code",
        ),
    ]
    if table.name in FULL_COVERAGE:
        checks.append(
            _rows(
                "every period has one row per kelurahan, kecamatan and the city of ref_area",
                "with expected as (select level as area_level, count(*) as n from ref_area "
                "group by all), "
                "actual as (select period, area_level, count(*) as n "
                "from {batch} group by all), "
                "periods as (select distinct period from {batch}) "
                "select p.period, e.area_level, e.n as expected, coalesce(a.n, 0) as actual "
                "from periods p cross join expected e left join actual a "
                "on a.period = p.period and a.area_level = e.area_level "
                "where coalesce(a.n, 0) <> e.n",
            )
        )
    checks += _additivity(table)
    return checks


def _table_specific(table: Table) -> list[dict]:
    name = table.name
    pair = "expect_column_pair_values_a_to_be_greater_than_b"
    checks: list[dict] = []

    def ge(a: str, b: str) -> None:
        checks.append(
            _expectation(
                pair, f"{a} >= {b}", column_A=a, column_B=b, or_equal=True,
                ignore_row_if="either_value_is_missing",
            )
        )

    tol = RATIO_TOLERANCE
    if name == "kelurahan_poverty":
        ge("p0", "p1")
        ge("p1", "p2")
        for a, b in (
            ("population", "poor_population"),
            ("households", "poor_households"),
            ("poor_population", "extreme_poor_population"),
            ("poor_households", "poor_households_unreached"),
            ("population", "mpi_poor_population"),
            ("mpi_population", "mpi_poor_population"),
            ("households", "households_desil_1_4"),
        ):
            ge(a, b)
        checks += [
            _rows(
                "mpi_m0 = mpi_h × mpi_a",
                "select * from {batch} where abs(coalesce(mpi_m0, 0) - coalesce(mpi_h, 0) * "
                f"coalesce(mpi_a, 0)) > {tol} or (mpi_a is null and coalesce(mpi_h, 0) > 0)",
            ),
            _rows(
                "p0 = poor_population / population, mpi_h = mpi_poor_population / mpi_population",
                "select * from {batch} where population > 0 and ("
                f"abs(p0 - poor_population / population) > {tol} or (mpi_population > 0 and "
                f"abs(mpi_h - mpi_poor_population / mpi_population) > {tol}))",
            ),
            _rows(
                "mpi_a in [1/3, 1] when anyone is multidimensionally poor",
                f"select * from {{batch}} where mpi_a < 1.0 / 3 - {tol} or mpi_a > 1 + {tol}",
            ),
            _expectation(
                "expect_column_values_to_be_between", "poverty_line_idr is positive",
                column="poverty_line_idr", min_value=0, strict_min=True,
            ),
        ]
    elif name == "program_reach":
        for a, b in (
            ("target_households", "recipient_target_households"),
            ("recipient_households", "recipient_target_households"),
            ("poor_households", "recipient_poor_households"),
            ("recipient_households", "recipient_poor_households"),
        ):
            ge(a, b)
        checks += [
            _rows(
                "coverage_target + exclusion_error = 1",
                f"select * from {{batch}} where abs(coverage_target + exclusion_error - 1) > {tol}",
            ),
            _rows(
                "program is in ref_program",
                "select * from {batch} where program not in (select code from ref_program)",
            ),
        ]
    elif name == "program_incidence":
        checks += [
            _expectation(
                "expect_column_values_to_be_between", "desil in 1..10", column="desil",
                min_value=1, max_value=10,
            ),
            _rows(
                "incidence sums to 1 per period × program with recipients",
                "select period, program, sum(beneficiary_incidence) as b, "
                "sum(benefit_incidence) as a, sum(amount_idr) as amount from {batch} "
                "group by all having sum(recipient_households) > 0 and ("
                "abs(sum(beneficiary_incidence) - 1) > 1e-6 or "
                "(sum(amount_idr) > 0 and abs(sum(benefit_incidence) - 1) > 1e-6))",
            ),
            _rows(
                "program is in ref_program",
                "select * from {batch} where program not in (select code from ref_program)",
            ),
        ]
    elif name == "program_overlap":
        checks.append(
            _rows(
                "households by number of programs add up (poor and target)",
                "select * from {batch} where poor_programs_0 + poor_programs_1 + "
                "poor_programs_2 + poor_programs_3plus <> poor_households or "
                "target_programs_0 + target_programs_1 + target_programs_2 + "
                "target_programs_3plus <> target_households",
            )
        )
    elif name == "funding_sources":
        checks.append(
            _expectation(
                "expect_column_values_to_be_in_set", "funding_source is a known source",
                column="funding_source", value_set=FUNDING_SOURCES,
            )
        )
    elif name == "data_quality":
        checks += [
            _expectation(
                "expect_column_values_to_be_in_set", "file_outcome is known",
                column="file_outcome", value_set=FILE_OUTCOMES,
            ),
            _rows(
                "rows of a loaded file reconcile: read = accepted + quarantined + duplicate",
                "select * from {batch} where file_outcome = 'loaded' and "
                "rows_read <> accepted + quarantined + duplicate",
            ),
        ]
    elif name == "data_quality_field":
        checks += [
            _rows(
                "no raw value of a personal column (NIK, NO_KK, NAMA, ALAMAT, TANGGAL_LAHIR)",
                "select * from {batch} where raw_value is not null and column_name in "
                "('NIK', 'NO_KK', 'NAMA', 'ALAMAT', 'TANGGAL_LAHIR')",
            ),
            _expectation(
                "expect_column_values_to_match_regex", "household_pseudonym is a hex HMAC",
                column="household_pseudonym", regex="^[0-9a-f]{64}$",
            ),
        ]
    elif name == "source_pulls":
        checks += [
            _expectation(
                "expect_column_values_to_be_in_set", "outcome is known",
                column="outcome", value_set=list(PULL_OUTCOMES),
            ),
            _rows(
                "a pull that holds the file has its SHA-256 and local name; no URL has a user",
                "select * from {batch} where (outcome in ('pulled', 'renamed', 'unchanged', "
                "'already_present') and (sha256 is null or local_name is null)) "
                "or regexp_matches(remote_path, '^[a-z0-9]+://[^/]*@')",
            ),
        ]
    elif name == "households":
        checks += [
            _expectation(
                "expect_column_values_to_match_regex", "household_pseudonym is a hex HMAC",
                column="household_pseudonym", regex="^[0-9a-f]{64}$",
            ),
            _expectation(
                "expect_column_values_to_be_between", "desil in 1..10", column="desil",
                min_value=1, max_value=10,
            ),
            _expectation(
                "expect_column_values_to_be_between", "mpi_score in [0, 1]",
                column="mpi_score", min_value=0, max_value=1,
            ),
            _rows(
                "program_count, unreached_poor and mpi_poor agree with their inputs",
                "select * from {batch} where program_count <> coalesce(len(programs_received), 0)"
                " or unreached_poor <> (poor and program_count = 0)"
                " or mpi_poor <> (round(mpi_score * 18) >= 6)",
            ),
            _rows(
                "one snapshot, every kelurahan in ref_area",
                "select * from {batch} b where b.kelurahan_code not in (select code from ref_area "
                "where level = 'kelurahan') or b.snapshot <> (select max(snapshot) from {batch})",
            ),
        ]
    return checks


def _key_unique(table: Table) -> dict:
    if len(table.key) == 1:
        return _expectation(
            "expect_column_values_to_be_unique", "the key is unique", column=table.key[0]
        )
    return _expectation(
        "expect_compound_columns_to_be_unique", "the key is unique", column_list=list(table.key)
    )


def build_suite(table: Table) -> dict:
    """The GX 1.x suite (as a JSON document) of one exported table."""
    expectations = [
        _expectation(
            "expect_table_columns_to_match_ordered_list",
            "columns are exactly the data dictionary's",
            column_list=table.names,
        ),
        _rows(
            "no personal-data column (NIK, family card, name, address, birth date, registry id)",
            "select column_name from (describe select * from {batch}) "
            f"where regexp_matches(lower(column_name), '{PERSONAL_COLUMN_PATTERN}')",
        ),
        _key_unique(table),
    ]
    expectations += _column_checks(table)
    if table.area:
        expectations += _area_checks(table)
    expectations += _table_specific(table)
    return {
        "name": table.name,
        "id": None,
        "expectations": expectations,
        "meta": {
            "great_expectations_version": GX_VERSION,
            "generated_by": "python -m tkpk.publish.suites (from tkpk/publish/dictionary.py)",
            "grain": table.grain_en,
        },
        "notes": "Output suite of the curated table; a failing expectation stops the publish.",
    }


def render_suite(table: Table) -> str:
    """The suite file's text."""
    return json.dumps(build_suite(table), indent=2, ensure_ascii=False) + "\n"


def write_suites(directory: Path = EXPECTATIONS_DIR) -> list[Path]:
    """(Re)write the output suite of every exported table."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for table in TABLES:
        path = suite_path(table.name, directory)
        path.write_text(render_suite(table), encoding="utf-8")
        paths.append(path)
    return paths


# --------------------------------------------------------------------------- evaluation


def run_suite(
    con: duckdb.DuckDBPyConnection, table: str, relation: str, suite: dict
) -> list[CheckFailure]:
    """Evaluate ``suite`` on ``relation`` (a table, view or ``read_parquet(...)``) with the shared
    executor (``tkpk.suite_run``): row-wise expectations counted together in one scan, the others
    one query each; a wrong column list stops the rest."""
    with suite_run.execute(con, relation, suite, table=table) as run:
        return _failures(run, table)


def _failures(run: suite_run.SuiteRun, table: str) -> list[CheckFailure]:
    """A ``CheckFailure`` per failing expectation of a suite run, in suite order, each with up to
    three failing rows shown by the table's key and the checked columns only (an error message
    never carries a whole row), or what is wrong with the table."""
    known = TABLES_BY_NAME.get(table)
    failures = []
    for index, count in run.counts.items():
        expectation = run.expectations[index]
        if index in run.problems:
            sample = run.problems[index]
        else:
            columns, rows = run.sample(index, prefer=list(known.key) if known else [])
            sample = f"({', '.join(columns)}) = " + _short(rows)
        failures.append(
            CheckFailure(table, _check(expectation), expectation["type"], count, sample)
        )
    return failures


def _check(expectation: dict) -> str:
    return expectation.get("meta", {}).get("check") or expectation["type"]


def _short(rows: list[tuple]) -> str:
    text = "; ".join(str(r) for r in rows)
    return text if len(text) <= 400 else text[:400] + "..."


def load_suite(table: str, directory: Path = EXPECTATIONS_DIR) -> dict:
    """The stored suite of ``table``."""
    path = suite_path(table, directory)
    if not path.exists():
        raise OutputValidationError(
            f"table {table}: the output suite {path} is missing; run "
            "`python -m tkpk.publish.suites` to generate it"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def validate_output(
    con: duckdb.DuckDBPyConnection,
    table: str,
    relation: str,
    directory: Path = EXPECTATIONS_DIR,
    use_gx: bool = True,
) -> tuple[list[CheckFailure], object | None]:
    """Run the stored suite of ``table`` on ``relation``: (failures, GX outcome or None).

    One run of the shared executor over the whole suite gives the verdict. With ``use_gx`` it
    keeps the failing row ids and Great Expectations validates the same rows (every row up to
    ``Settings.gx_sample_rows``, else a sample), cross-checked against the SQL verdict; the GX
    outcome feeds the Data Docs (``tkpk.validation.gx_sample``). A wrong column list stops the
    rest (outcome None).
    """
    from tkpk import validation

    suite = load_suite(table, directory)
    with suite_run.execute(
        con, relation, suite, table=table, source=str(suite_path(table, directory)), ids=use_gx
    ) as run:
        failures = _failures(run, table)
        if not use_gx or run.stopped:
            return failures, None
        outcome = validation.outcome_of(run)
        outcome.results = validation.gx_sample(run, batch_name=f"{table} (export)")
    return failures, outcome


def personal_columns(columns: list[str]) -> list[str]:
    """Column names that look like personal data."""
    return [c for c in columns if re.match(PERSONAL_COLUMN_PATTERN, c.lower())]


if __name__ == "__main__":  # pragma: no cover
    for written in write_suites():
        print(written)
