"""The run summary: printed to the terminal and recorded as a Prefect markdown artifact.

It says which files were loaded, skipped or quarantined, how many rows were accepted,
quarantined or recorded as duplicates, the most frequent reasons, which snapshots could not be
used, and the city's headline figures. No personal data appears in it (only file names, counts
and reason codes).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import duckdb

from tkpk.formatting import format_number, format_percent
from tkpk.lines import MAX_LINE_AGE_MONTHS, line_age_months, line_is_borrowed, line_is_old
from transforms.sql import read_sql


@dataclass
class RunSummary:
    """Counts and headline figures of one nightly run."""

    run_id: str
    #: the packs on disk are a complete, validated set of the warehouse's current raw files
    completed: bool = False
    published: bool = False
    files: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    top_reasons: list[tuple[str, int]] = field(default_factory=list)
    quarantined_files: list[tuple[str, str]] = field(default_factory=list)
    snapshot_notes: list[str] = field(default_factory=list)
    headline: dict[str, object] = field(default_factory=dict)
    #: poverty lines of the latest period that are old or borrowed from a wider area
    line_warnings: list[str] = field(default_factory=list)
    #: wall / CPU time and peak memory of each step (flows.timing.StageClock)
    stages: list[dict] = field(default_factory=list)
    #: how the curated tables were built (transforms.incremental.BuildReport.as_dict)
    transform: dict = field(default_factory=dict)
    #: fields flagged by a warning in this run's accepted rows, per reason (most frequent first)
    flagged_reasons: list[tuple[str, int]] = field(default_factory=list)
    #: what the operator should do (e.g. nothing published: no raw extract loaded yet)
    messages: list[str] = field(default_factory=list)
    #: sheets not read (``sheet_ignored`` notes of this run's files)
    sheet_notes: list[str] = field(default_factory=list)
    #: what the pull step did per source (tkpk.pull.SourceResult as dicts; empty: no source)
    pulls: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        """A plain dict (the flow's return value)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RunSummary:
        """Inverse of ``as_dict``."""
        return cls(**data)


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """True when ``name`` is a table or view of the warehouse."""
    query = "select count(*) from duckdb_tables() where table_name = ? and not temporary"
    return con.execute(query, [name]).fetchone()[0] > 0


def _file_counts(outcomes: list) -> dict[str, int]:
    """Files by outcome (loaded, already_loaded, quarantined)."""
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.outcome] = counts.get(outcome.outcome, 0) + 1
    return counts


def _row_counts(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, int]:
    """Rows read, accepted, quarantined, duplicate and skipped in this run's new files."""
    if not _table_exists(con, "ingest_data_quality"):
        return {}
    row = con.execute(read_sql("analysis/run_row_counts"), {"run_id": run_id}).fetchone()
    keys = ["read", "accepted", "quarantined", "duplicate", "skipped_lines"]
    return dict(zip(keys, row, strict=True))


def _top_reasons(con: duckdb.DuckDBPyConnection, run_id: str, limit: int = 8) -> list:
    """The most frequent quarantine reasons of this run."""
    if not _table_exists(con, "ingest_data_quality_reason"):
        return []
    return con.execute(
        read_sql("analysis/run_quarantine_reasons"), {"run_id": run_id, "limit": limit}
    ).fetchall()


def _flagged_reasons(con: duckdb.DuckDBPyConnection, run_id: str, limit: int = 8) -> list:
    """The most frequent reasons of the fields flagged in the files this run loaded."""
    if not (_table_exists(con, "flagged_field") and _table_exists(con, "ingest_data_quality")):
        return []
    return con.execute(
        read_sql("analysis/run_flagged_reasons"), {"run_id": run_id, "limit": limit}
    ).fetchall()


def _snapshot_notes(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Snapshots that cannot be used, with the reason."""
    if not _table_exists(con, "snapshot_status"):
        return []
    rows = con.execute(read_sql("analysis/unusable_snapshots")).fetchall()
    return [f"snapshot {month} not used: {note}" for month, note in rows]


def _headline(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    """The city's figures for the latest period (registry-based)."""
    if not _table_exists(con, "kelurahan_poverty"):
        return {}
    row = con.execute(read_sql("analysis/headline_figures")).fetchone()
    if row is None:
        return {}
    keys = ["period", "population", "poor_population", "p0", "p1", "p2",
            "poverty_gap_idr_month", "poor_households_unreached", "mpi_h"]
    values = [v if isinstance(v, str | int | None) else float(v) for v in row]
    return dict(zip(keys, values, strict=True))


def _line_warnings(con: duckdb.DuckDBPyConnection, limit: int = 10) -> list[str]:
    """Warnings on the poverty lines in force for the latest period, per kab/kota
    (``int_period_lines``): none configured, older than MAX_LINE_AGE_MONTHS, or borrowed from
    the province or the nation."""
    if not _table_exists(con, "int_period_lines"):
        return []
    rows = con.execute(read_sql("analysis/latest_period_lines")).fetchall()
    missing, old, borrowed = [], [], []
    for period, area, line, since, scope in rows:
        if line is None:
            missing.append(area)
            continue
        if line_is_old(period, since):
            old.append(f"{area} (since {since:%Y-%m}, {line_age_months(period, since)} months)")
        if line_is_borrowed(scope):
            borrowed.append(f"{area} ({scope} line of {since:%Y-%m})")

    def listed(items: list[str]) -> str:
        more = f" and {len(items) - limit} more" if len(items) > limit else ""
        return ", ".join(items[:limit]) + more

    period = rows[0][0].strftime("%Y-%m") if rows else ""
    warnings = []
    if missing:
        warnings.append(f"poverty line {period}: none configured for {listed(missing)}")
    if old:
        warnings.append(
            f"poverty line {period} older than {MAX_LINE_AGE_MONTHS} months for {listed(old)}: "
            "drop a newer BPS line into the reference-override folder (TKPK_REFERENCE_DIR)"
        )
    if borrowed:
        warnings.append(
            f"poverty line {period} borrowed from a wider area for {listed(borrowed)}"
        )
    return warnings


def _sheet_notes(outcomes: list) -> list[str]:
    """One line per sheet that was not read (only the first sheet of a workbook holds data)."""
    return [
        f"sheet not read: {o.file_name} sheet {n.note!r} "
        f"({'?' if n.rows is None else n.rows} non-empty rows; only the first sheet is read)"
        for o in outcomes
        for n in getattr(o, "notes", ())
        if n.reason == "sheet_ignored"
    ]


def summarise(
    con: duckdb.DuckDBPyConnection, run_id: str, outcomes: list, published: object | None
) -> RunSummary:
    """Collect the summary of run ``run_id`` from the warehouse."""
    return RunSummary(
        run_id=run_id,
        completed=published is not None,  # the nightly flow refines it (packs up to date)
        published=published is not None,
        files=_file_counts(outcomes),
        rows=_row_counts(con, run_id),
        top_reasons=[(r, int(n)) for r, n in _top_reasons(con, run_id)],
        quarantined_files=[
            (o.file_name, o.reason or "") for o in outcomes if o.outcome == "quarantined"
        ],
        snapshot_notes=_snapshot_notes(con),
        sheet_notes=_sheet_notes(outcomes),
        headline=_headline(con),
        line_warnings=_line_warnings(con),
        flagged_reasons=[(r, int(n)) for r, n in _flagged_reasons(con, run_id)],
    )


def pull_lines(pulls: list[dict]) -> list[str]:
    """One line per source of the pull step: new files, or the failure and its cause (never a
    secret or a user name: the cause is a category and an exception class)."""
    lines = []
    for pull in pulls:
        if not pull["ok"]:
            lines.append(f"pull {pull['source']} FAILED: {pull['cause']}")
            continue
        outcomes = pull.get("outcomes") or {}
        details = ", ".join(
            f"{n} {outcome}" for outcome, n in sorted(outcomes.items())
            if outcome not in ("pulled", "renamed")
        )
        renamed = outcomes.get("renamed", 0)
        lines.append(
            f"pull {pull['source']}: {len(pull['landed'])} new file(s)"
            + (f" ({renamed} under a revision name)" if renamed else "")
            + (f", {details}" if details else "")
        )
    return lines


def summary_lines(summary: RunSummary) -> list[str]:
    """The summary as short plain-text lines (shared by console and markdown)."""
    files = summary.files
    rows = summary.rows
    lines = [
        f"run {summary.run_id}",
        "files: "
        f"{files.get('loaded', 0)} loaded, {files.get('already_loaded', 0)} already loaded, "
        f"{files.get('quarantined', 0)} quarantined"
        + (f", {files['ignored']} ignored (not read)" if files.get("ignored") else ""),
    ]
    lines[1:1] = pull_lines(summary.pulls)
    if rows:
        lines.append(
            "rows: "
            f"{format_number(rows['read'])} read, {format_number(rows['accepted'])} accepted, "
            f"{format_number(rows['quarantined'])} quarantined, "
            f"{format_number(rows['duplicate'])} duplicate, "
            f"{format_number(rows['skipped_lines'])} non-data lines skipped"
        )
    if summary.top_reasons:
        reasons = ", ".join(f"{r} {format_number(n)}" for r, n in summary.top_reasons)
        lines.append(f"top reasons: {reasons}")
    if summary.flagged_reasons:
        flagged = ", ".join(f"{r} {format_number(n)}" for r, n in summary.flagged_reasons)
        lines.append(f"flagged fields (rows accepted, field empty): {flagged}")
    lines += [f"quarantined file {name}: {reason}" for name, reason in summary.quarantined_files]
    lines += summary.snapshot_notes
    lines += summary.sheet_notes
    lines += summary.line_warnings
    head = summary.headline
    if head:
        lines.append(
            f"city {head['period']} (registry-based): "
            f"{format_number(head['poor_population'])} poor of "
            f"{format_number(head['population'])} people, P0 {format_percent(head['p0'])}, "
            f"gap Rp{format_number(head['poverty_gap_idr_month'])}/month, "
            f"{format_number(head['poor_households_unreached'])} poor households unreached"
        )
    lines += summary.messages
    if summary.published:
        lines.append("packs published")
    elif summary.messages:
        lines.append("nothing published")
    else:
        lines.append("nothing new: packs unchanged")
    return lines


def render_console(summary: RunSummary) -> None:
    """Print the summary to the terminal."""
    from rich.console import Console

    console = Console(stderr=False, highlight=False)
    for line in summary_lines(summary):
        console.print(line, markup=False)


def escape_markdown(text: str) -> str:
    """Plain text made inert in markdown (a file name like ``[x](http://…)`` stays text)."""
    return re.sub(r"([\\`*_{}\[\]()<>#+!|~-])", r"\\\1", text)


def render_markdown(summary: RunSummary) -> str:
    """The summary as the Prefect markdown artifact."""
    body = "\n".join(f"- {escape_markdown(line)}" for line in summary_lines(summary)[1:])
    return f"# tkpk nightly run `{summary.run_id}`\n\n{body}\n"
