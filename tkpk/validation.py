"""Great Expectations glue: run a suite from ``expectations/`` on a DuckDB table, build Data Docs.

The suites are JSON files named after the table they check (``expectations/<table>.json``). They run
on GX's pandas backend (GX 1.24's SQL datasource does not work on DuckDB), in Arrow record batches
of at most ``batch_rows`` rows fetched straight from DuckDB with only the columns the suite reads
plus a row id, so memory stays bounded whatever the table's size. ``result_format`` COMPLETE with
the row id as ``unexpected_index_column_names`` returns every failing row; values are excluded
from the results, so no personal data ends up in them or in the Data Docs.

Importing GX costs seconds: it happens lazily inside the functions, once per process.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from tkpk.config import EXPECTATIONS_DIR

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
    )

#: Rows per validated batch: bounds memory (one pandas frame of this many rows at a time).
DEFAULT_BATCH_ROWS = 1_000_000
#: Name of the generated row id when the table has none.
GENERATED_ROW_ID = "_row_id"

#: Expectation types evaluated row by row: the suite can run on batches of a table.
_ROW_WISE_PREFIXES = ("expect_column_values_to_", "expect_column_pair_values_")
_ROW_WISE_EXCEPTIONS = (
    "expect_column_values_to_be_unique",
    "expect_column_values_to_be_increasing",
    "expect_column_values_to_be_decreasing",
    "expect_column_pair_cramers_phi_value_to_be_less_than",
)
_ROW_WISE_OTHERS = (
    "expect_multicolumn_sum_to_equal",
    "expect_select_column_values_to_be_unique_within_record",
)
#: Expectation types that need every column of the table.
_ALL_COLUMN_TYPES = (
    "expect_table_columns_to_match_set",
    "expect_table_columns_to_match_ordered_list",
    "expect_table_column_count_to_equal",
    "expect_table_column_count_to_be_between",
    "expect_column_to_exist",
)
#: Result keys that may carry data values: removed before results are rendered or stored.
_VALUE_KEYS = (
    "unexpected_list",
    "partial_unexpected_list",
    "partial_unexpected_counts",
    "partial_unexpected_index_list",
    "unexpected_index_list",
    "unexpected_index_query",
    "unexpected_rows",
    "details",
)


class ValidationError(RuntimeError):
    """A suite could not be evaluated (an expectation raised): the data was not validated."""


@dataclass(frozen=True)
class ExpectationFailure:
    """One expectation of a suite that failed on the table, with the failing rows."""

    index: int
    expectation_type: str
    column: str | None
    reason: str | None
    unexpected_count: int
    row_ids: tuple[Any, ...]


@dataclass
class ValidationOutcome:
    """The result of a suite on one table: success, failing rows per expectation, GX results."""

    table: str
    suite_name: str
    success: bool
    rows: int
    failures: list[ExpectationFailure] = field(default_factory=list)
    results: list[ExpectationSuiteValidationResult] = field(default_factory=list)

    def failing_row_ids(self) -> dict[int, list[Any]]:
        """Expectation index (position in the suite) -> ids of its failing rows."""
        return {failure.index: list(failure.row_ids) for failure in self.failures}

    def row_ids_by_reason(self) -> dict[str, set[Any]]:
        """``meta.reason`` of the failing expectations -> ids of the rows failing any of them."""
        by_reason: dict[str, set[Any]] = {}
        for failure in self.failures:
            if failure.reason:
                by_reason.setdefault(failure.reason, set()).update(failure.row_ids)
        return by_reason

    def describe(self) -> str:
        """A one-paragraph summary for logs (no data values)."""
        if self.success:
            return f"{self.suite_name} on {self.table}: {self.rows} rows, all expectations met"
        parts = [
            f"{f.expectation_type}({f.column or ''}) {f.unexpected_count} rows"
            for f in self.failures
        ]
        return f"{self.suite_name} on {self.table}: {self.rows} rows; failed: " + "; ".join(parts)


# --------------------------------------------------------------------------------------- suites


def suite_path(name: str) -> Path:
    """The file of suite ``name`` in ``expectations/``."""
    return EXPECTATIONS_DIR / f"{name}.json"


def load_suite(suite: str | Path | Mapping[str, Any] | None, table: str) -> dict[str, Any]:
    """A suite as a dict: ``None`` -> ``expectations/<table>.json``; a name; a path; a dict."""
    if suite is None:
        suite = table
    if isinstance(suite, Mapping):
        return dict(suite)
    path = Path(suite)
    if not (path.suffix == ".json" and path.exists()):
        path = suite_path(str(suite))
    if not path.exists():
        raise FileNotFoundError(f"expectation suite not found: {path}")
    return json.loads(path.read_text(encoding="utf-8"))


def _columns_of(expectation: Mapping[str, Any]) -> set[str]:
    """Columns an expectation reads (kwargs columns; row_condition identifiers resolved later)."""
    kwargs = expectation.get("kwargs", {})
    columns = {kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs}
    columns.update(kwargs.get("column_list", []) or [])
    return columns


def _row_condition_names(expectation: Mapping[str, Any]) -> set[str]:
    """Columns a ``row_condition`` reads: names in a Condition dict, identifiers in a string."""
    condition = expectation.get("kwargs", {}).get("row_condition")
    if isinstance(condition, str):
        return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", condition))
    names: set[str] = set()
    pending = [condition]
    while pending:
        item = pending.pop()
        if isinstance(item, Mapping):
            column = item.get("column")
            if isinstance(column, Mapping) and "name" in column:
                names.add(str(column["name"]))
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return names


def _is_row_wise(expectation_type: str) -> bool:
    """True when the expectation judges each row on its own (safe to run per batch)."""
    if expectation_type in _ROW_WISE_EXCEPTIONS:
        return False
    return expectation_type.startswith(_ROW_WISE_PREFIXES) or expectation_type in _ROW_WISE_OTHERS


# ------------------------------------------------------------------------------------------ GX

_CONTEXT: Any = None


def _context() -> Any:
    """The process-wide ephemeral GX context (created on first use, progress bars off)."""
    global _CONTEXT
    if _CONTEXT is None:
        import logging

        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        logging.getLogger("great_expectations").setLevel(logging.WARNING)
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        context.data_sources.add_pandas("tkpk")
        _CONTEXT = context
    return _CONTEXT


def _batch_definition(context: Any, asset_name: str) -> Any:
    """The whole-dataframe batch definition of asset ``asset_name`` (created once)."""
    datasource = context.data_sources.get("tkpk")
    try:
        asset = datasource.get_asset(asset_name)
    except LookupError:
        asset = datasource.add_dataframe_asset(asset_name)
    try:
        return asset.get_batch_definition("whole")
    except (KeyError, LookupError):
        return asset.add_batch_definition_whole_dataframe("whole")


def _result_format(row_id: str) -> dict[str, Any]:
    """COMPLETE results keyed by the row id, without the failing values themselves."""
    return {
        "result_format": "COMPLETE",
        "unexpected_index_column_names": [row_id],
        "return_unexpected_index_query": False,
        "exclude_unexpected_values": True,
        "partial_unexpected_count": 0,
    }


def _ids_of(result: Any, row_id: str) -> list[Any]:
    """Failing row ids of one expectation result."""
    ids: list[Any] = []
    for entry in (result.result or {}).get("unexpected_index_list") or []:
        value = entry.get(row_id) if isinstance(entry, Mapping) else None
        if isinstance(value, list):
            ids.extend(_plain(v) for v in value)
        elif value is not None:
            ids.append(_plain(value))
    return ids


def _plain(value: Any) -> Any:
    """numpy scalars -> Python scalars (hashable, comparable with DuckDB values)."""
    return value.item() if hasattr(value, "item") else value


def _raise_on_exception(result: Any, table: str, suite_name: str) -> None:
    """An expectation that raised means rows were not checked: fail loudly."""
    info = result.exception_info or {}
    infos = info.values() if info and "raised_exception" not in info else [info]
    for item in infos:
        if isinstance(item, Mapping) and item.get("raised_exception"):
            config = result.expectation_config
            raise ValidationError(
                f"suite {suite_name} on {table}: {config.type} "
                f"({config.kwargs.get('column', '')}) could not be evaluated: "
                f"{item.get('exception_message')}"
            )


# ---------------------------------------------------------------------------------- fetching


def _table_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Column name -> DuckDB type of ``table`` (a table, view or temp table)."""
    rows = con.execute(f"describe select * from {table}").fetchall()
    return {name: str(dtype) for name, dtype, *_ in rows}


def _select_list(columns: Iterable[str], types: Mapping[str, str]) -> str:
    """Projection for validation: decimals as DOUBLE (vectorised in pandas), others as is."""
    parts = []
    for name in columns:
        quoted = '"' + name.replace('"', '""') + '"'
        if types[name].upper().startswith("DECIMAL"):
            parts.append(f"cast({quoted} as double) as {quoted}")
        else:
            parts.append(quoted)
    return ", ".join(parts)


def _to_pandas(batch: Any) -> pd.DataFrame:
    """An Arrow record batch as a pandas frame GX evaluates vectorised (dates as datetime64[ns])."""
    import pandas as pd

    frame = batch.to_pandas(date_as_object=False)
    for name in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[name]) and frame[name].dtype != "M8[ns]":
            # out of the ns range: left as is, GX then compares element-wise
            with contextlib.suppress(OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
                frame[name] = frame[name].astype("datetime64[ns]")
    return frame


def validate_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    suite: str | Path | Mapping[str, Any] | None = None,
    *,
    row_id: str | None = "row_id",
    where: str | None = None,
    batch_rows: int | None = DEFAULT_BATCH_ROWS,
    batch_name: str | None = None,
) -> ValidationOutcome:
    """Run ``suite`` (default ``expectations/<table>.json``) on ``table`` in ``con``.

    ``row_id`` names the table's row-id column (a generated row number when absent or None);
    ``where`` restricts the rows (a SQL predicate, e.g. one file's load id). Rows are validated in
    Arrow batches of ``batch_rows`` when every expectation is row-wise; a suite with table-level
    expectations (row counts, uniqueness, ...) runs on the whole selection at once.
    Raises ``ValidationError`` when an expectation cannot be evaluated.
    """
    from great_expectations.core.expectation_suite import ExpectationSuite

    definition = load_suite(suite, table)
    expectations = definition.get("expectations", [])
    suite_name = definition.get("name", table)
    types = _table_columns(con, table)
    wanted: set[str] = set()
    all_columns = False
    row_wise = True
    for expectation in expectations:
        kind = expectation["type"]
        wanted |= _columns_of(expectation) | (_row_condition_names(expectation) & types.keys())
        all_columns = all_columns or kind in _ALL_COLUMN_TYPES
        row_wise = row_wise and _is_row_wise(kind)
    id_column = row_id if row_id and row_id in types else GENERATED_ROW_ID
    columns = list(types) if all_columns else [c for c in types if c in wanted]
    projection = _select_list(columns, types) if columns else ""
    if id_column == GENERATED_ROW_ID:
        id_expr = f"row_number() over () as {GENERATED_ROW_ID}"
    else:
        id_expr = f'"{id_column}"'
        columns = [c for c in columns if c != id_column]
        projection = _select_list(columns, types) if columns else ""
    select = f"select {id_expr}{', ' + projection if projection else ''} from {table}"
    if where:
        select += f" where {where}"
    chunk = batch_rows if (row_wise and batch_rows) else 1_000_000_000

    gx_suite = ExpectationSuite(**copy.deepcopy(definition))
    batch_definition = _batch_definition(_context(), table)
    outcome = ValidationOutcome(table=table, suite_name=suite_name, success=True, rows=0)
    failing: dict[int, list[Any]] = {}
    counts: dict[int, int] = {}
    reader = con.sql(select).to_arrow_reader(min(chunk, 1_000_000))
    batches = 0
    for record_batch in _record_batches(reader, chunk):
        frame = _to_pandas(record_batch)
        frame.index = range(outcome.rows, outcome.rows + len(frame))
        result = _validate_frame(batch_definition, gx_suite, frame, id_column)
        label = batch_name or table
        result.meta["tkpk_table"] = table
        result.meta["tkpk_batch"] = label if batches == 0 else f"{label} #{batches + 1}"
        _collect(result, table, suite_name, id_column, failing, counts)
        outcome.results.append(result)
        outcome.rows += len(frame)
        outcome.success = outcome.success and bool(result.success)
        batches += 1
    if batches == 0:  # an empty selection still gets judged (row-count expectations)
        frame = _to_pandas(con.sql(select).to_arrow_table())
        result = _validate_frame(batch_definition, gx_suite, frame, id_column)
        result.meta["tkpk_table"] = table
        result.meta["tkpk_batch"] = batch_name or table
        _collect(result, table, suite_name, id_column, failing, counts)
        outcome.results.append(result)
        outcome.success = bool(result.success)
    outcome.failures = [
        ExpectationFailure(
            index=index,
            expectation_type=expectations[index]["type"],
            column=expectations[index].get("kwargs", {}).get("column"),
            reason=(expectations[index].get("meta") or {}).get("reason"),
            unexpected_count=counts[index],
            row_ids=tuple(failing.get(index, ())),
        )
        for index in sorted(counts)
    ]
    return outcome


def _record_batches(reader: Any, chunk: int) -> Iterable[Any]:
    """Record batches of about ``chunk`` rows (DuckDB yields vectors; regroup them)."""
    import pyarrow as pa

    pending: list[Any] = []
    size = 0
    for batch in reader:
        pending.append(batch)
        size += batch.num_rows
        if size >= chunk:
            yield pa.Table.from_batches(pending)
            pending, size = [], 0
    if pending:
        yield pa.Table.from_batches(pending)


def _validate_frame(batch_definition: Any, suite: Any, frame: pd.DataFrame, row_id: str) -> Any:
    """One GX validation of a pandas frame."""
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    return batch.validate(suite, result_format=_result_format(row_id))


def _collect(
    result: Any,
    table: str,
    suite_name: str,
    row_id: str,
    failing: dict[int, list[Any]],
    counts: dict[int, int],
) -> None:
    """Merge one batch's failing ids (by expectation position in the suite) into ``failing``."""
    for index, expectation_result in enumerate(result.results):
        _raise_on_exception(expectation_result, table, suite_name)
        if expectation_result.success:
            continue
        ids = _ids_of(expectation_result, row_id)
        unexpected = (expectation_result.result or {}).get("unexpected_count")
        counts[index] = counts.get(index, 0) + int(unexpected if unexpected is not None else 1)
        failing.setdefault(index, []).extend(ids)


# -------------------------------------------------------------------------------- Data Docs


def scrub(result: Any) -> Any:
    """A copy of a GX suite result without any data value (personal data never reaches docs)."""
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
    )

    cleaned = copy.deepcopy(result)
    if not isinstance(cleaned, ExpectationSuiteValidationResult):
        return cleaned
    for expectation_result in cleaned.results:
        payload = expectation_result.result or {}
        for key in _VALUE_KEYS:
            payload.pop(key, None)
        if isinstance(payload.get("observed_value"), (list, dict)):
            payload.pop("observed_value")
    return cleaned


def build_data_docs(
    results: Iterable[Any],
    target_dir: Path,
    run_name: str | None = None,
) -> Path:
    """Write GX Data Docs (HTML site: suites and one page per validated batch) into ``target_dir``.

    ``results`` are ``ValidationOutcome`` objects or GX suite results. Values are scrubbed first.
    Returns the site's ``index.html``.
    """
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    context = _context()
    target_dir = Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    site_name = "tkpk_" + re.sub(r"[^A-Za-z0-9]", "_", str(target_dir.resolve()))
    run_time = datetime.now(UTC)
    run = RunIdentifier(run_name=run_name or run_time.strftime("%Y%m%dT%H%M%SZ"), run_time=run_time)
    store = context.validation_results_store
    for old_key in store.list_keys():  # the context is process-wide: render this call's results
        store.remove_key(old_key)
    suites_seen: set[str] = set()
    for position, result in enumerate(_flatten(results)):
        suite_name = result.suite_name
        if suite_name not in suites_seen:
            suites_seen.add(suite_name)
            _register_suite(context, ExpectationSuite, suite_name)
        batch = str(result.meta.get("tkpk_batch") or f"batch {position + 1}")
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite_name),
            run_id=run,
            batch_identifier=f"{position + 1:04d} {batch}",
        )
        store.set(key, scrub(result))
    if site_name not in context.list_data_docs_sites():
        context.add_data_docs_site(
            site_name,
            {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(target_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
    context.build_data_docs(site_names=[site_name])
    return target_dir / "index.html"


def _flatten(results: Iterable[Any]) -> Iterable[Any]:
    """GX suite results from a mix of ``ValidationOutcome`` and GX results."""
    for item in results:
        if isinstance(item, ValidationOutcome):
            yield from item.results
        else:
            yield item


def _register_suite(context: Any, suite_class: Any, name: str) -> None:
    """Put suite ``name`` (from expectations/) into the context's store for its Data Docs page."""
    try:
        definition = load_suite(name, name)
    except FileNotFoundError:
        definition = {"name": name, "expectations": []}
    with contextlib.suppress(Exception):  # absent suite: nothing to replace
        context.suites.delete(name)
    context.suites.add(suite_class(**copy.deepcopy(definition)))


def publish_data_docs(results: Iterable[Any], settings: Any, run_id: str) -> Path:
    """Build this run's Data Docs into ``<data_docs_dir>/<run_id>/`` (written to a temporary
    folder first, then renamed) and refresh ``<data_docs_dir>/index.html``, a list of the runs
    (newest first) linking to each run's site. Returns the run's ``index.html``."""
    import html
    import os
    import shutil

    root = Path(settings.data_docs_dir)
    root.mkdir(parents=True, exist_ok=True)
    safe_run = re.sub(r"[^A-Za-z0-9_.\-]", "_", run_id)
    staging = root / f".tmp-{safe_run}"
    if staging.exists():
        shutil.rmtree(staging)
    build_data_docs(results, staging, run_name=run_id)
    target = root / safe_run
    if target.exists():
        shutil.rmtree(target)
    os.replace(staging, target)
    runs = sorted(
        (p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
        reverse=True,
    )
    items = "\n".join(
        f'<li><a href="{html.escape(name)}/index.html">{html.escape(name)}</a></li>'
        for name in runs
    )
    page = (
        '<!doctype html>\n<html lang="id"><head><meta charset="utf-8">'
        "<title>tkpk: hasil validasi data</title></head><body>\n"
        "<h1>Hasil validasi data (Great Expectations Data Docs)</h1>\n"
        "<p>Satu halaman per proses malam; yang terbaru di atas. Nilai data pribadi tidak "
        "ditampilkan.</p>\n"
        f"<ul>\n{items}\n</ul>\n</body></html>\n"
    )
    temp_index = root / ".index.html.tmp"
    temp_index.write_text(page, encoding="utf-8")
    os.replace(temp_index, root / "index.html")
    return target / "index.html"
