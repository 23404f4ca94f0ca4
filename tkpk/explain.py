"""``tkpk explain``: what a published figure is made of, back to the lines of the raw files.

For one row of a curated table (a period and an area, and for the program tables a program,
funding source or profile group) it lists the units the row is computed from: the households of
the registry snapshot (by pseudonym only) or the groups of unmatched program records, what each
contributes to each column, and the raw rows that make each unit (file name and row number, with
the row's flagged fields: column and reason, never the value).

The SQL lives in ``transforms/explain/``: ``<table>.sql`` lists the units and their
contributions (parameters: ``getvariable('explain_period' | 'explain_area' |
'explain_program')``), starting from the area's kelurahan and households
(``area_kelurahan.sql``, ``area_households.sql``) and its unmatched records
(``area_unmatched.sql``); ``macros.sql`` says how a unit names its
program records; ``lineage.sql`` finds the units' raw rows (the one place that reads the lineage
columns); ``pseudonyms.sql`` computes the packs' HMAC pseudonyms (key blocks as query
parameters); ``units.sql`` / ``rows.sql`` are the two outputs. This module orchestrates: it runs
them on the warehouse (read-only), compares the sum over the units with the published value of
every column (they must agree; a difference is reported loudly) and prints or writes the result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd

from tkpk.config import TRANSFORMS_DIR, Settings
from tkpk.publish.dictionary import TABLES_BY_NAME
from tkpk.publish.pseudonym import PseudonymKey, key_parameters
from transforms.sql import read_sql, render_sql

EXPLAIN_DIR = TRANSFORMS_DIR / "explain"

#: The curated tables ``tkpk explain`` takes apart (``transforms/explain/<table>.sql`` each),
#: with the key column ``--program`` selects (None: the table has none).
EXPLAINABLE: dict[str, str | None] = {
    "kelurahan_poverty": None,
    "program_reach": "program",
    "program_overlap": None,
    "funding_sources": "funding_source",
    "program_incidence": "program",
    "data_coverage": None,
}

#: The curated tables that are not explained, and why.
NOT_EXPLAINED: dict[str, str] = {
    "poverty_profile": (
        "its group rules (head of household, ages, disability) live inside "
        "transforms/marts/poverty_profile.sql; explaining it needs them as an intermediate model "
        "first, not a second copy"
    ),
    "poverty_transitions": "its grain is a pair of snapshots, not a period",
    "households": "it is already one row per household (household_pseudonym)",
    "data_quality": "it is already one row per raw file",
    "data_quality_reason": "it is already one row per raw file and reason",
    "data_quality_field": "it is already one row per flagged field, with its file and row",
    "data_quality_field_summary": "its rows are counted from data_quality_field (file and row)",
    "source_pulls": "it is already one row per pulled file",
}

#: Figures made of the listed units that are not sums over them (not checked).
NOT_SUMS: dict[str, str] = {
    "gini": "the Gini coefficient of y over the listed households' persons",
    "median_expenditure_idr": "the median y over the listed households' persons",
    "window_months_with_records": "months with any record of the program, region-wide",
    "beneficiary_incidence": "recipient_households / the sum over the ten DESIL rows",
    "benefit_incidence": "amount_idr / the sum over the ten DESIL rows",
    "household_rows_quarantined": "quarantined rows are not accepted: see data_quality_reason",
    "member_rows_quarantined": "quarantined rows are not accepted: see data_quality_reason",
}

#: Region-wide tables: --area must be the region's root area.
REGION_WIDE = ("program_incidence",)

#: The temp tables an explanation builds, in order, and the SQL file of each (None: the
#: table's own ``transforms/explain/<table>.sql``).
STEPS: tuple[tuple[str, str | None], ...] = (
    ("explain_kelurahan", "area_kelurahan"),
    ("explain_households", "area_households"),
    ("explain_unmatched", "area_unmatched"),
    ("explain_units", None),
    ("explain_rows", "lineage"),
)

NUMERATOR = "__numerator"
DENOMINATOR = "__denominator"
#: Relative tolerance of a ratio recomputed from the units (a sum of doubles, in another order).
RATIO_TOLERANCE = 1e-9
#: Column names that would be personal data (or the warehouse's internal household key): never
#: in an output.
PERSONAL_COLUMNS = frozenset(
    {"id_keluarga", "nik", "no_kk", "nama", "alamat", "tanggal_lahir", "household_key"}
)


class ExplainError(ValueError):
    """The figure cannot be explained (unknown table, area, period, program or column)."""


@dataclass(frozen=True)
class Check:
    """One published value against the sum over the listed units."""

    key: dict[str, object]
    column: str
    published: object
    explained: object
    agrees: bool | None  # None: not a sum over the units (not checked)
    note: str = ""


@dataclass
class Explanation:
    """The units behind one published row (or rows: one per program without --program)."""

    table: str
    period: date
    area: str
    area_name: str
    program: str | None
    column: str | None
    units: pd.DataFrame
    rows: pd.DataFrame
    published: pd.DataFrame
    checks: list[Check] = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        """Whether every checked value agrees with its sum over the units."""
        return all(c.agrees is not False for c in self.checks)


# --------------------------------------------------------------------------------- running


def explain_sql(name: str) -> str:
    """The SELECT of ``transforms/explain/<name>.sql``."""
    return read_sql(f"{EXPLAIN_DIR.name}/{name}").strip().rstrip(";")


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None
           ) -> pd.DataFrame:
    """A query's result as pandas holding the exact values (ints, Decimals, None: dtype object)."""
    cursor = con.execute(sql, params or {})
    names = [c[0] for c in cursor.description]
    return pd.DataFrame(cursor.fetchall(), columns=names, dtype=object)


def check_request(con: duckdb.DuckDBPyConnection, table: str, period: date, area: str,
                  program: str | None, column: str | None) -> str:
    """Validate the request against the warehouse; return the area's name."""
    if table in NOT_EXPLAINED:
        raise ExplainError(f"{table} is not explained: {NOT_EXPLAINED[table]}")
    if table not in EXPLAINABLE:
        raise ExplainError(
            f"unknown table {table!r}; explainable: {', '.join(EXPLAINABLE)}")
    if program is not None and EXPLAINABLE[table] is None:
        raise ExplainError(f"{table} has no program (or funding source): drop --program")
    if column is not None:
        names = TABLES_BY_NAME[table].names
        if column not in names:
            raise ExplainError(f"{table} has no column {column!r}")
        if TABLES_BY_NAME[table].column(column).kind not in ("count", "amount", "ratio"):
            raise ExplainError(f"{table}.{column} is not a figure (a count, amount or ratio)")
    found = con.execute(explain_sql("area_name"), {"area": area}).fetchall()
    if not found:
        raise ExplainError(f"--area {area} is not an area of the region (ref_area)")
    if table in REGION_WIDE:
        root = con.execute(explain_sql("region_root")).fetchone()
        if root is None or root[0] != area:
            raise ExplainError(f"{table} is region-wide: --area must be the region "
                               f"{root[0] if root else ''}")
    periods = {row[0] for row in con.execute(explain_sql("reported_periods")).fetchall()}
    if period not in periods:
        shown = ", ".join(f"{p:%Y-%m}" for p in sorted(periods)) or "none"
        raise ExplainError(f"--period {period:%Y-%m} is not a reported period (reported: {shown})")
    return found[0][0]


def published_rows(con: duckdb.DuckDBPyConnection, table: str, period: date, area: str,
                   program: str | None) -> pd.DataFrame:
    """The published row(s) the explanation takes apart (from the warehouse's curated table)."""
    region_wide = table in REGION_WIDE
    sql = render_sql(
        "explain/published_rows",
        table=table,
        area_column="null" if region_wide else "area_code",
        program_column=EXPLAINABLE[table] or "null",
    )
    params = {"period": period, "area": None if region_wide else area, "program": program}
    return _frame(con, sql, params)


def run_units(con: duckdb.DuckDBPyConnection, key: PseudonymKey, table: str, period: date,
              area: str, program: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the table's explain SQL and the lineage: (units, raw rows)."""
    for name, value in (("explain_period", period), ("explain_area", area),
                        ("explain_program", program)):
        con.execute(f"set variable {name} = ?", [value])
    con.execute((EXPLAIN_DIR / "macros.sql").read_text(encoding="utf-8"))
    for temp, name in STEPS:
        con.execute(f"create or replace temp table {temp} as\n{explain_sql(name or table)}")
    con.execute("create or replace temp table explain_pseudonyms as\n"
                + explain_sql("pseudonyms"), key_parameters(key))
    units = _frame(con, explain_sql("units"))
    rows = _frame(con, explain_sql("rows"))
    for temp in [*(t for t, _ in STEPS), "explain_pseudonyms"]:
        con.execute(f"drop table if exists {temp}")
    return units, rows


# --------------------------------------------------------------------------------- checking


def _missing(value: object) -> bool:
    """Whether a value is SQL NULL as pandas shows it (None, NaN, NA)."""
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def _total(values: pd.Series) -> object:
    """The exact sum of the non-null values (None when every value is null or none exists)."""
    present = [v for v in values if not _missing(v)]
    if not present:
        return None
    if any(isinstance(v, Decimal) for v in present):
        return sum((v if isinstance(v, Decimal) else Decimal(v) for v in present), Decimal(0))
    return _as_number(sum(present))


def _as_number(value: object) -> object:
    """An integral float as int (counts read through pandas), else the value."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _equal(published: object, explained: object) -> bool:
    """Exact equality of a published count or amount with its sum (NULL equals NULL)."""
    if _missing(published) or _missing(explained):
        return _missing(published) and (_missing(explained) or explained == 0)
    if isinstance(published, Decimal) or isinstance(explained, Decimal):
        return Decimal(str(published)) == Decimal(str(explained))
    return _as_number(published) == _as_number(explained)


def _close(published: object, explained: object) -> bool:
    """A published ratio against the ratio of the summed numerator and denominator."""
    if _missing(published) or _missing(explained):
        return _missing(published) and _missing(explained)
    return math.isclose(float(published), float(explained), rel_tol=RATIO_TOLERANCE,
                        abs_tol=1e-15)


def explained_columns(table: str, units: pd.DataFrame, column: str | None) -> list[str]:
    """The published columns the explanation checks (all, or ``column``)."""
    names = [c.name for c in TABLES_BY_NAME[table].columns
             if c.kind in ("count", "amount", "ratio")]
    if column is not None:
        names = [column]
    return [n for n in names if n in units.columns or f"{n}{NUMERATOR}" in units.columns
            or n in NOT_SUMS]


def check_row(row: pd.Series, units: pd.DataFrame, columns: list[str],
              key: dict[str, object]) -> list[Check]:
    """Each of ``columns`` of one published row against the sum over its units."""
    checks = []
    for name in columns:
        published = row[name]
        if name in NOT_SUMS and name not in units.columns:
            checks.append(Check(key, name, published, None, None, NOT_SUMS[name]))
        elif name in units.columns:
            total = _total(units[name])
            if total is None and not _missing(published):
                total = 0  # no unit: an empty sum
            checks.append(Check(key, name, published, total, _equal(published, total)))
        else:
            numerator = _total(units[f"{name}{NUMERATOR}"])
            denominator = _total(units[f"{name}{DENOMINATOR}"])
            ratio = (None if _missing(numerator) or _missing(denominator) or denominator == 0
                     else float(numerator) / float(denominator))
            checks.append(Check(key, name, published, ratio, _close(published, ratio),
                                f"{numerator} / {denominator}"))
    return checks


def check_all(table: str, published: pd.DataFrame, units: pd.DataFrame,
              column: str | None) -> list[Check]:
    """Every published row of the explanation against its units (by the table's sub-keys)."""
    columns = explained_columns(table, units, column)
    sub_keys = [k for k in TABLES_BY_NAME[table].key
                if k not in ("period", "area_level", "area_code") and k in units.columns]
    checks = []
    for _, row in published.iterrows():  # a handful of published rows (one per program at most)
        mask = pd.Series(True, index=units.index)
        for k in sub_keys:
            mask &= units[k] == row[k]
        checks.extend(check_row(row, units[mask], columns, {k: row[k] for k in sub_keys}))
    return checks


# --------------------------------------------------------------------------------- the figure


def select_column(units: pd.DataFrame, rows: pd.DataFrame, column: str | None, table: str
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """With ``--column C``: only the units that count in C, with C's contribution columns only."""
    if column is None:
        return units, rows
    own = [c for c in (column, f"{column}{NUMERATOR}", f"{column}{DENOMINATOR}")
           if c in units.columns]
    figures = {c.name for c in TABLES_BY_NAME[table].columns
               if c.kind in ("count", "amount", "ratio")}
    contribution = [c for c in units.columns
                    if c in figures or c.endswith((NUMERATOR, DENOMINATOR))]
    keep = [c for c in units.columns if c not in contribution or c in own]
    if own:
        counts = pd.Series(False, index=units.index)
        for name in own:
            counts |= ~units[name].map(_missing) & (units[name] != 0)
        units = units[counts]
    units = units[keep].reset_index(drop=True)
    return units, rows[rows["unit"].isin(units["unit"])].reset_index(drop=True)


def explain(con: duckdb.DuckDBPyConnection, key: PseudonymKey, table: str, period: date,
            area: str, program: str | None = None, column: str | None = None) -> Explanation:
    """The units behind ``table``'s row for ``period`` and ``area`` (and ``program``)."""
    area_name = check_request(con, table, period, area, program, column)
    published = published_rows(con, table, period, area, program)
    if published.empty:
        raise ExplainError(f"{table} has no row for {period:%Y-%m}, {area}"
                           + (f", {program}" if program else ""))
    units, rows = run_units(con, key, table, period, area, program)
    checks = check_all(table, published, units, column)
    units, rows = select_column(units, rows, column, table)
    leaked = PERSONAL_COLUMNS & (set(units.columns) | set(rows.columns))
    if leaked:  # a programming error: never print or write personal data
        raise RuntimeError(f"explain output would hold personal data columns {sorted(leaked)}")
    return Explanation(table, period, area, area_name, program, column, units, rows, published,
                       checks)


# --------------------------------------------------------------------------------- output


def _shown(value: object) -> str:
    """A value as the summary prints it."""
    if _missing(value):
        return "NULL"
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def _base(explanation: Explanation) -> list[str]:
    """The figure's base: period, snapshot, poverty line (from the published row)."""
    row = explanation.published.iloc[0]
    parts = [f"period {explanation.period:%Y-%m}"]
    if "snapshot" in row and not _missing(row["snapshot"]):
        parts.append(f"registry snapshot {row['snapshot']:%Y-%m}")
    if "poverty_line_idr" in row:
        if _missing(row["poverty_line_idr"]):
            parts.append("no single poverty line")
        else:
            line = f"poverty line Rp {row['poverty_line_idr']} per person per month"
            details = [str(row[c]) for c in ("poverty_line_scope", "poverty_line_status")
                       if c in row and not _missing(row[c])]
            if "poverty_line_effective_from" in row and not _missing(
                    row["poverty_line_effective_from"]):
                details.append(f"from {row['poverty_line_effective_from']:%Y-%m}")
            parts.append(line + (f" ({', '.join(details)})" if details else ""))
    return parts


def summary_text(explanation: Explanation) -> str:
    """The printed summary: the figure as published, the sum over the units, the base."""
    ex = explanation
    units = ex.units
    households = int(units["household_pseudonym"].notna().sum()) if len(units) else 0
    lines = [
        f"{ex.table}: {ex.area} {ex.area_name}"
        + (f", {EXPLAINABLE[ex.table]} {ex.program}" if ex.program else "")
        + (f", column {ex.column}" if ex.column else ""),
        "base: " + "; ".join(_base(ex)),
        f"listed: {len(units)} units ({households} households by pseudonym, "
        f"{len(units) - households} groups of unmatched records), {len(ex.rows)} raw rows, "
        f"{int(ex.rows['flagged_field_count'].sum()) if len(ex.rows) else 0} flagged fields",
        "",
        f"{'key':<14} {'column':<34} {'published':>22} {'sum over units':>22}  check",
    ]
    for check in ex.checks:
        key = ",".join(str(v) for v in check.key.values()) or "-"
        verdict = ("ok" if check.agrees else "DIFFERS" if check.agrees is False
                   else "not checked")
        note = f"  {check.note}" if check.note else ""
        lines.append(f"{key:<14} {check.column:<34} {_shown(check.published):>22} "
                     f"{_shown(check.explained):>22}  {verdict}{note}")
    differing = [c for c in ex.checks if c.agrees is False]
    lines.append("")
    if differing:
        lines.append(
            f"!!! {len(differing)} published value(s) DIFFER from the sum over the listed units: "
            + ", ".join(sorted({c.column for c in differing}))
            + ". The figure is not explained by these rows; report this."
        )
    else:
        lines.append("every checked figure equals the sum over the listed units")
    return "\n".join(lines)


def output_stem(explanation: Explanation) -> str:
    """The file name stem of the written units and rows."""
    parts = [explanation.table, f"{explanation.period:%Y-%m}", explanation.area]
    parts += [p for p in (explanation.program, explanation.column) if p]
    return "_".join(parts).replace("/", "-")


def write_outputs(explanation: Explanation, folder: Path) -> list[Path]:
    """``<stem>_units`` and ``<stem>_rows`` as CSV and Parquet in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = output_stem(explanation)
    written = []
    for name, frame in (("units", explanation.units), ("rows", explanation.rows)):
        for suffix in ("csv", "parquet"):
            path = folder / f"{stem}_{name}.{suffix}"
            temporary = path.with_name(f".{path.name}.tmp")
            if suffix == "csv":
                frame.to_csv(temporary, index=False)
            else:
                frame.to_parquet(temporary, index=False)
            temporary.replace(path)
            written.append(path)
    return written


# --------------------------------------------------------------------------------- the command


def parse_period(text: str) -> date:
    """``YYYY-MM`` as the first day of the month (ExplainError when malformed)."""
    try:
        return date.fromisoformat(f"{text.strip()}-01")
    except ValueError as error:
        raise ExplainError(f"--period must be YYYY-MM, got {text!r}") from error


def warehouse_note(con: duckdb.DuckDBPyConnection, settings: Settings) -> str:
    """Whether the warehouse holds the published figures (a loud line when it does not)."""
    from tkpk.simulate import published_state_problem

    problem = published_state_problem(con, settings.restricted_dir)
    if problem is None:
        return "figures: the warehouse as of the last published run"
    return f"!!! the warehouse may not match the published packs: {problem}"


def explain_command(settings: Settings, table: str, period: str, area: str,
                    program: str | None = None, column: str | None = None,
                    out: Path | None = None) -> tuple[str, bool]:
    """``tkpk explain``: the printed summary (with the files written to ``out``) and whether
    every published value agrees with its sum over the units."""
    from tkpk.db import connect
    from tkpk.field_list import FieldListError, check_outside_packs
    from tkpk.publish.pseudonym import load_key

    month = parse_period(period)
    if out is not None:
        try:
            check_outside_packs(settings, out)
        except FieldListError as error:  # the packs hold what the nightly run published only
            raise ExplainError(str(error).replace("field lists are", "explanations are")) from error
    key = load_key(settings)
    if not settings.warehouse.exists():
        raise ExplainError(f"warehouse {settings.warehouse} does not exist (run `tkpk run`)")
    try:
        con = connect(settings, settings.warehouse, read_only=True)
    except duckdb.IOException as error:
        raise ExplainError(f"cannot open the warehouse {settings.warehouse} read-only (a run "
                           f"is writing it?): {type(error).__name__}") from error
    try:
        note = warehouse_note(con, settings)
        explanation = explain(con, key, table, month, area, program, column)
    finally:
        con.close()
    written = write_outputs(explanation, out) if out is not None else []
    text = summary_text(explanation) + "\n" + note
    if written:
        text += "\nwritten: " + ", ".join(str(p) for p in written)
    return text, explanation.agrees
