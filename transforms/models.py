"""The models: every ``transforms/marts/*.sql`` file declares itself in a header block.

A model is one SQL file named after the table it creates. The file starts with a SQLMesh-style
block comment, the model's declaration, followed by the prose comment stating its grain and the
SELECT (a chain of CTEs ending in ``select * from final``)::

    /* MODEL (
        kind period,
        grain (period, id_keluarga, program),
        cluster_key period,
        partition_role partition,
        settings (disabled_optimizers = 'build_side_probe_side')
    ) */
    -- int_household_program: ...

Header keys (a key the model does not need is left out):

``kind`` (required)
    what the incremental build (``transforms.incremental``) does with the model:
    ``full`` rebuilt outright by every build (after the models it reads); ``snapshot`` depends on
    the registry snapshots only, kept by an incremental build; ``record_month`` rows replaced for
    the new records' (month, program) pairs (its ``scope`` columns; ``scoped_inputs`` are the
    inputs shadowed by those pairs' rows, ``transforms/scoped/<input>.sql``); ``period`` rows
    replaced for the affected reported periods (``scope``, default ``(period)``).
    ``acceptance`` marks the acceptance SQL under ``transforms/accept/`` (run by the ingest, not
    part of the mart DAG).
``grain`` (columns)
    the columns one row is unique by; the sum models' key in the distributed flow.
``cluster_key`` (a grain column)
    the rows of the model's table are written in that order (``transforms.runner``).
``cluster_sort`` (``runner`` or ``model``; default ``runner``)
    who sorts the rows by ``cluster_key`` in a build: the runner (an ``order by`` around the
    model's SELECT) or the model's own SQL (its rows come out in that order, e.g. narrow integer
    rows sorted before their texts are looked up by order-keeping expressions, not joins; the
    runner adds no second sort; tests/test_models.py checks every clustered table's order).
``partition_role``
    the distributed flow (``flows.distributed``): ``central`` built before the fan-out,
    ``partition`` built per kab/kota partition (rows copied back), ``sum`` built per partition
    and added by its grain; absent: built centrally after the combine (``finish``).
``partition_rows`` (a quoted SQL condition, ``central`` models only)
    the model's rows are split by the kab/kota of their ``kelurahan_code`` for the partitions,
    those matching the condition; a central model the partitions read without it goes whole.
``household_scope`` (columns)
    the unit a row belongs to (``(snapshot, household_key)``, or with ``program``). A ``period``
    model with it computes a unit's rows from its inputs' rows of that unit only (and from tables
    without the key, e.g. ``int_periods``): an incremental build then replaces only the units
    whose ``int_program_monthly`` rows changed. Its inputs that change or have the key must have
    (at least) its columns.
``difference_of`` (input, counted column, summing column)
    a ``household_scope`` ``period`` model each of whose value columns is an exact sum over the
    rows of that one input, the counted column at least 1 on each input row and the summing
    column its sum in the model (a row exists while it is positive): an incremental build
    updates its rows by the difference of the input's deleted and appended rows
    (``transforms.incremental._difference_rows``).
``row_sums_of`` (input)
    a ``sum`` model each of whose rows sums rows of that one household-scoped input, each joined
    with its household's rows of the other inputs (a household's share is the sum of its rows'
    shares): the images of an incremental build's difference keep only that input's rows of its
    changed units (``transforms.incremental._row_images``).
``settings`` (``name = 'value'`` pairs)
    DuckDB settings the model's statement runs with (a list setting is added to the
    connection's; ``transforms.runner.LIST_SETTINGS``).
``scoped_settings`` (``name = 'value'`` pairs)
    instead of ``settings``, those of the model's statements in an incremental build's scoped run
    (``transforms.incremental``: few rows of its inputs, so other join sides may pay).

The build order is a topological sort over the tables each model reads, found with DuckDB's own
parser (``json_serialize_sql``: the BASE_TABLE references of the statement's tree minus its CTE
names). A table must be a model or a declared source (``SOURCES``); an unknown header key or
kind, a table nobody provides or a cycle fails at load time, naming the model's file.

Which models are curated (published as ``<name>.parquet``) is the data dictionary's to say
(``tkpk.publish.dictionary.TABLES``, the one registry per published table); every other model
is an intermediate one (named ``int_*``).
"""

from __future__ import annotations

import functools
import graphlib
import heapq
import json
import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from tkpk.config import TRANSFORMS_DIR
from tkpk.pull.log import DDL as PULL_LOG_DDL

MARTS_DIR = TRANSFORMS_DIR / "marts"
ACCEPT_DIR = TRANSFORMS_DIR / "accept"
MACROS_PATH = TRANSFORMS_DIR / "macros.sql"
#: ``<table>.sql``: the rows of a record_month model's scoped input that shadow it while the
#: model is recomputed for the changed record months (``transforms.incremental``).
SCOPED_DIR = TRANSFORMS_DIR / "scoped"

#: Kinds of the marts (what the incremental build does with each) and of the acceptance SQL.
MART_KINDS = ("full", "snapshot", "record_month", "period")
KINDS = (*MART_KINDS, "acceptance")
#: Roles in the distributed flow; ``finish`` (built centrally after the combine) is the default.
PARTITION_ROLES = ("central", "partition", "sum", "finish")
#: Who sorts a model's rows by its ``cluster_key``: the runner (default) or the model's SQL.
CLUSTER_SORTS = ("runner", "model")
#: Header keys and the shape of their value: a word, a quoted string, a list of words, pairs.
HEADER_KEYS = {
    "kind": "word",
    "grain": "words",
    "cluster_key": "word",
    "cluster_sort": "word",
    "partition_role": "word",
    "partition_rows": "string",
    "scope": "words",
    "scoped_inputs": "words",
    "household_scope": "words",
    "difference_of": "words",
    "row_sums_of": "word",
    "settings": "pairs",
    "scoped_settings": "pairs",
}


@dataclass(frozen=True)
class Source:
    """A table the models read that no model creates: the step that creates it, and the DDL
    it is created empty with when missing (inputs that exist only once their step has run)."""

    name: str
    step: str
    ddl: str | None = None


INGEST = "ingest (tkpk.ingest.accept.process_loads)"
REFERENCE = "tkpk.reference.install"

#: Every table the models read besides the models themselves, with the step that creates it.
SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source("registry_households", INGEST),
        Source("registry_members", INGEST),
        Source("program_records", INGEST),
        Source("snapshot_status", INGEST),
        Source("ingest_data_quality", INGEST),
        Source("ingest_data_quality_reason", INGEST),
        Source("flagged_field", INGEST),
        Source("quarantine", INGEST),
        Source("ingest_file", "ingest (tkpk.ingest.raw.load_new_files)"),
        Source("ref_area", REFERENCE),
        Source("ref_area_alias", REFERENCE),
        Source("ref_program", REFERENCE),
        Source("ref_poverty_line", REFERENCE),
        Source("ref_official_poverty", REFERENCE),
        Source(
            "source_pull_log",
            "tkpk pull (tkpk.pull.log; created empty when nothing was ever pulled)",
            PULL_LOG_DDL,
        ),
    )
}


class ModelError(ValueError):
    """A model file's header or SQL cannot be loaded (the message names the file)."""


@dataclass(frozen=True)
class Model:
    """One model: its file, its declaration (the header) and the tables its SQL reads."""

    name: str
    path: Path
    kind: str
    body: str
    grain: tuple[str, ...] = ()
    cluster_key: str | None = None
    cluster_sort: str = "runner"
    partition_role: str = "finish"
    partition_rows: str | None = None
    scope: tuple[str, ...] = ()
    scoped_inputs: tuple[str, ...] = ()
    household_scope: tuple[str, ...] = ()
    difference_of: tuple[str, ...] = ()
    row_sums_of: str | None = None
    settings: dict[str, str] = field(default_factory=dict)
    scoped_settings: dict[str, str] | None = None
    depends_on: frozenset[str] = frozenset()

    @property
    def sum_keys(self) -> tuple[str, ...]:
        """The key a ``sum`` model's partition rows are added by (its grain); else ()."""
        return self.grain if self.partition_role == "sum" else ()


# ----------------------------------------------------------------------------------- header

_HEADER = re.compile(r"\A\s*/\*\s*MODEL\s*\((?P<props>.*?)\)\s*\*/[ \t]*\n?", re.DOTALL)
_TOKEN = re.compile(r"\s*(?:(?P<word>[A-Za-z_][A-Za-z0-9_.]*)|'(?P<string>(?:[^']|'')*)'"
                    r"|(?P<punct>[(),=]))")


def _tokens(text: str, where: str) -> list[tuple[str, str]]:
    """(type, value) tokens of a header's properties: word, string or punctuation."""
    out, position = [], 0
    while text[position:].strip():
        match = _TOKEN.match(text, position)
        if match is None:
            raise ModelError(f"{where}: cannot read the MODEL header at {text[position:][:30]!r}")
        kind = match.lastgroup
        value = match.group(kind)
        out.append((kind, value.replace("''", "'") if kind == "string" else value))
        position = match.end()
    return out


def _value(tokens: list[tuple[str, str]], i: int, shape: str, key: str, where: str):
    """Read the value of header key ``key`` at token ``i``; (value, next index)."""
    def expect(kinds: tuple[str, ...], at: int) -> str:
        """The token at ``at`` if its type (or, for punctuation, itself) is one of ``kinds``."""
        ok = at < len(tokens) and (
            tokens[at][0] in kinds or tokens[at][0] == "punct" and tokens[at][1] in kinds
        )
        if not ok:
            found = tokens[at][1] if at < len(tokens) else "the end"
            raise ModelError(f"{where}: header key {key!r} expects {shape}, found {found!r}")
        return tokens[at][1]

    if shape in ("word", "string"):
        return expect((shape,), i), i + 1
    expect(("(",), i)
    items: list = []
    i += 1
    while tokens[i:] and tokens[i] != ("punct", ")"):
        if shape == "words":
            items.append(expect(("word",), i))
            i += 1
        else:
            name = expect(("word",), i)
            expect(("=",), i + 1)
            items.append((name, expect(("string", "word"), i + 2)))
            i += 3
        if tokens[i:] and tokens[i] == ("punct", ","):
            i += 1
    expect((")",), i)
    return (dict(items) if shape == "pairs" else tuple(items)), i + 1


def parse_header(text: str, where: str) -> tuple[dict, str]:
    """The properties of the MODEL block that starts ``text``, and the text after it.
    ``where`` (the file name) prefixes every error."""
    match = _HEADER.match(text)
    if match is None:
        raise ModelError(f"{where}: the file does not start with a /* MODEL (...) */ header")
    tokens = _tokens(match.group("props"), where)
    props: dict = {}
    i = 0
    while i < len(tokens):
        kind, key = tokens[i]
        if kind != "word" or key not in HEADER_KEYS:
            raise ModelError(
                f"{where}: unknown header key {key!r} (known: {', '.join(HEADER_KEYS)})"
            )
        if key in props:
            raise ModelError(f"{where}: header key {key!r} given twice")
        props[key], i = _value(tokens, i + 1, HEADER_KEYS[key], key, where)
        if i < len(tokens):
            if tokens[i] != ("punct", ","):
                raise ModelError(f"{where}: expected ',' after header key {key!r}")
            i += 1
    return props, text[match.end():]


def _check_props(props: dict, where: str) -> None:
    """The header's values make sense on their own (kind, role, keys in the grain)."""
    kind = props.get("kind")
    if kind not in KINDS:
        raise ModelError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    role = props.get("partition_role", "finish")
    if role not in PARTITION_ROLES:
        raise ModelError(f"{where}: partition_role {role!r} is not one of "
                         f"{', '.join(PARTITION_ROLES)}")
    grain = props.get("grain", ())
    columns = [("cluster_key", props["cluster_key"])] if "cluster_key" in props else []
    columns += [("scope", c) for c in props.get("scope", ("period",) if kind == "period" else ())]
    for key, column in columns:
        if grain and column not in grain:
            raise ModelError(f"{where}: {key} {column!r} is not a grain column")
    if props.get("cluster_sort", "runner") not in CLUSTER_SORTS:
        raise ModelError(f"{where}: cluster_sort {props['cluster_sort']!r} is not one of "
                         f"{', '.join(CLUSTER_SORTS)}")
    if "cluster_sort" in props and "cluster_key" not in props:
        raise ModelError(f"{where}: cluster_sort without a cluster_key")
    if role == "sum" and not grain:
        raise ModelError(f"{where}: a sum model needs its grain (the key it is added by)")
    if "partition_rows" in props and role != "central":
        raise ModelError(f"{where}: partition_rows is for central models only")
    if kind == "record_month" and "scope" not in props:
        raise ModelError(f"{where}: a record_month model needs its scope columns")
    if ("scope" in props or "scoped_inputs" in props) and kind not in ("record_month", "period"):
        raise ModelError(f"{where}: scope and scoped_inputs are for record_month/period models")
    if "household_scope" in props and kind not in ("snapshot", "record_month", "period"):
        raise ModelError(f"{where}: household_scope is for snapshot/record_month/period models")
    if "difference_of" in props and (
        len(props["difference_of"]) != 3 or kind != "period" or "household_scope" not in props
    ):
        raise ModelError(f"{where}: difference_of (input, counted column, summing column) is for "
                         "household_scope period models")
    if "row_sums_of" in props and role != "sum":
        raise ModelError(f"{where}: row_sums_of (input) is for sum models")


# ----------------------------------------------------------------------------- dependencies


@functools.cache
def _parser() -> duckdb.DuckDBPyConnection:
    """An in-memory connection for ``json_serialize_sql``, with the project's macros."""
    con = duckdb.connect(":memory:")
    con.execute(MACROS_PATH.read_text(encoding="utf-8"))
    return con


@functools.cache
def _table_macros() -> frozenset[str]:
    """Names of table macros (``create macro ... as table``): a model may not call one, since
    the tables its body reads would not show in the model's tree."""
    rows = _parser().execute(
        "select function_name from duckdb_functions() where function_type = 'table_macro'"
    ).fetchall()
    return frozenset(r[0] for r in rows)


def walk_tree(node: object) -> Iterator[dict]:
    """Every JSON object in a serialized statement tree (:func:`statement_tree`)."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk_tree(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk_tree(value)


def statement_tree(sql: str) -> dict:
    """DuckDB's parse tree of one statement (``json_serialize_sql``, not bound: the tables need
    not exist), as JSON objects; a statement DuckDB cannot parse has ``error`` set."""
    (raw,) = _parser().execute("select json_serialize_sql(?)", [sql]).fetchone()
    return json.loads(raw)


def read_tables(sql: str, where: str) -> frozenset[str]:
    """The tables a SELECT statement reads: its BASE_TABLE references minus its CTE names,
    found with DuckDB's parser (``json_serialize_sql``; the statement is not bound, so the
    tables need not exist). A table macro call fails (its reads would be hidden)."""
    tree = statement_tree(sql)
    if tree.get("error"):
        raise ModelError(f"{where}: DuckDB cannot parse the SELECT: {tree.get('error_message')}")
    tables, ctes, functions = set(), set(), set()
    for node in walk_tree(tree):
        if node.get("type") == "BASE_TABLE":
            tables.add(node["table_name"].lower())
        elif node.get("type") == "TABLE_FUNCTION":
            functions.add(str(node.get("function", {}).get("function_name", "")).lower())
        cte_map = node.get("cte_map")
        if isinstance(cte_map, dict):
            ctes |= {entry["key"].lower() for entry in cte_map.get("map", [])}
    hidden = functions & _table_macros()
    if hidden:
        raise ModelError(f"{where}: calls table macro(s) {sorted(hidden)}; read the tables "
                         "in the model (a CTE) so that its dependencies show")
    return frozenset(tables - ctes)


# ---------------------------------------------------------------------------------- loading


def load_model(path: Path) -> Model:
    """The model of one SQL file: its header, and (for a mart) the tables its SQL reads."""
    where = path.name
    props, body = parse_header(path.read_text(encoding="utf-8"), where)
    _check_props(props, where)
    body = body.strip().rstrip(";").rstrip()
    depends = frozenset() if props["kind"] == "acceptance" else read_tables(body, where)
    return Model(
        name=path.stem,
        path=path,
        kind=props["kind"],
        body=body,
        grain=props.get("grain", ()),
        cluster_key=props.get("cluster_key"),
        cluster_sort=props.get("cluster_sort", "runner"),
        partition_role=props.get("partition_role", "finish"),
        partition_rows=props.get("partition_rows"),
        scope=props.get("scope", ("period",) if props["kind"] == "period" else ()),
        scoped_inputs=props.get("scoped_inputs", ()),
        household_scope=props.get("household_scope", ()),
        difference_of=props.get("difference_of", ()),
        row_sums_of=props.get("row_sums_of"),
        settings=props.get("settings", {}),
        scoped_settings=props.get("scoped_settings"),
        depends_on=depends,
    )


@dataclass(frozen=True)
class ModelGraph:
    """The models of a folder in build order, with the sources they read."""

    models: dict[str, Model]
    sources: dict[str, Source]
    published: tuple[str, ...]

    def __getitem__(self, name: str) -> Model:
        return self.models[name]

    def __contains__(self, name: object) -> bool:
        return name in self.models

    @property
    def order(self) -> tuple[str, ...]:
        """Every model, in build order (each after every model it reads)."""
        return tuple(self.models)

    @property
    def curated(self) -> tuple[str, ...]:
        """The curated (published) models, in build order."""
        return tuple(m for m in self.models if m in self.published)

    def select(self, names: Iterable[str]) -> tuple[str, ...]:
        """``names`` that are models, in build order."""
        wanted = set(names)
        return tuple(m for m in self.models if m in wanted)

    def of_kind(self, *kinds: str) -> tuple[str, ...]:
        """The models of the given kinds, in build order."""
        return tuple(m for m, model in self.models.items() if model.kind in kinds)

    def with_role(self, *roles: str) -> tuple[str, ...]:
        """The models of the given partition roles, in build order."""
        return tuple(m for m, model in self.models.items() if model.partition_role in roles)

    def upstream(self, name: str) -> set[str]:
        """Every model and source ``name`` reads, directly or through other models."""
        return _upstream(self.models, name)

    def sources_read(self) -> tuple[str, ...]:
        """The sources some model reads, in declaration order."""
        read = set().union(*(m.depends_on for m in self.models.values()))
        return tuple(s for s in self.sources if s in read)


def _sort(models: dict[str, Model], published: tuple[str, ...]) -> list[str]:
    """Topological order (graphlib). Among the models ready at a step: intermediate ones first
    (by kind, in ``MART_KINDS`` order: the order an incremental build takes them in), then the
    published ones; then by the export position of the first published table that needs them,
    then by name."""
    sorter = graphlib.TopologicalSorter(
        {name: m.depends_on & models.keys() for name, m in models.items()}
    )
    try:
        sorter.prepare()
    except graphlib.CycleError as error:
        cycle = " -> ".join(models[name].path.name for name in error.args[1])
        raise ModelError(f"models read each other in a cycle: {cycle}") from error
    rank = {name: len(published) for name in models}
    for position, table in reversed(list(enumerate(published))):
        if table in models:
            for upstream in _upstream(models, table) & models.keys() | {table}:
                rank[upstream] = min(rank[upstream], position)

    def key(name: str) -> tuple:
        kind = 0 if name in published else MART_KINDS.index(models[name].kind)
        return (name in published, kind, rank[name], name)

    ready: list[tuple] = []
    order: list[str] = []
    while sorter.is_active():
        for name in sorter.get_ready():
            heapq.heappush(ready, (key(name), name))
        _, name = heapq.heappop(ready)
        order.append(name)
        sorter.done(name)
    return order


def _upstream(models: dict[str, Model], name: str) -> set[str]:
    """Every table (model or source) model ``name`` reads, directly or through other models."""
    seen: set[str] = set()
    todo = list(models[name].depends_on)
    while todo:
        table = todo.pop()
        if table not in seen:
            seen.add(table)
            if table in models:
                todo.extend(models[table].depends_on)
    return seen


def _check_graph(graph: ModelGraph) -> None:
    """Rules between models: the incremental kinds and the distributed roles."""
    changing = set(graph.of_kind("record_month", "period"))
    for name, model in graph.models.items():
        where = model.path.name
        reads = graph.upstream(name)
        if model.kind == "snapshot" and reads & changing:
            raise ModelError(f"{where}: a snapshot model reads record_month/period model(s) "
                             f"{sorted(reads & changing)}")
        if model.kind == "record_month" and reads & set(graph.of_kind("period")):
            raise ModelError(f"{where}: a record_month model reads period model(s)")
        if model.kind == "period" and model.household_scope:
            other = sorted(
                m for m in model.depends_on & graph.models.keys()
                if (graph[m].kind in ("period", "record_month") or graph[m].household_scope)
                and not set(model.household_scope) <= set(graph[m].household_scope)
            )
            if other:
                raise ModelError(f"{where}: a household_scope model reads changing or "
                                 f"household model(s) without its household_scope {other}")
        direct = model.depends_on & graph.models.keys()
        if model.partition_role == "central":
            later = direct - set(graph.with_role("central"))
            if later:
                raise ModelError(f"{where}: a central model reads non-central model(s) "
                                 f"{sorted(later)}")
        if model.partition_role in ("partition", "sum"):
            finish = direct & set(graph.with_role("finish"))
            if finish:
                raise ModelError(f"{where}: a partition model reads model(s) built after the "
                                 f"combine {sorted(finish)}")


def published_tables() -> tuple[str, ...]:
    """Names of the published tables (the data dictionary's registry), in export order."""
    from tkpk.publish.dictionary import TABLES

    return tuple(t.name for t in TABLES)


def load_graph(
    folder: Path = MARTS_DIR,
    sources: dict[str, Source] | None = None,
    published: tuple[str, ...] | None = None,
) -> ModelGraph:
    """Load and check every model of ``folder``: headers, the tables each reads (each a model
    or a source), no cycle; the models in build order. Raises ModelError naming the file."""
    sources = SOURCES if sources is None else sources
    published = published_tables() if published is None else published
    loaded = {path.stem: load_model(path) for path in sorted(folder.glob("*.sql"))}
    for model in loaded.values():
        if model.kind == "acceptance":
            raise ModelError(f"{model.path.name}: acceptance SQL belongs in {ACCEPT_DIR.name}/, "
                             "not among the marts")
        unknown = model.depends_on - loaded.keys() - sources.keys()
        if unknown:
            raise ModelError(f"{model.path.name}: reads table(s) {', '.join(sorted(unknown))} "
                             "that no model or source provides")
        for table in model.scoped_inputs:
            if table not in model.depends_on:
                raise ModelError(f"{model.path.name}: scoped input {table!r} is not read")
            if not (SCOPED_DIR / f"{table}.sql").is_file():
                raise ModelError(f"{model.path.name}: scoped input {table!r} has no "
                                 f"{SCOPED_DIR.name}/{table}.sql (its rows for the new months)")
    order = _sort(loaded, published)
    graph = ModelGraph({name: loaded[name] for name in order}, dict(sources), published)
    _check_graph(graph)
    return graph


_LOADED: dict[str, object] = {}
_LOCK = threading.Lock()
#: Seconds a check of the model files' state is trusted: ``graph()`` is called thousands of
#: times per run (~1,700 in a one-file night), and each check stats every file (~0.35 ms: 0.6 s
#: CPU per night when checked at every call).
RECHECK_S = 2.0


def _files_state(folder: Path) -> tuple:
    """(name, mtime, size) of the folder's SQL files and of the macros: a changed file (a
    service running for weeks) reloads the graph."""
    paths = [*sorted(folder.glob("*.sql")), MACROS_PATH]
    return tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in paths)


def graph() -> ModelGraph:
    """The marts' model graph, loaded once per process (again when a file changed: the files
    are checked at most every ``RECHECK_S`` seconds)."""
    with _LOCK:  # one load at a time: the parser connection is not shared between threads
        now = time.monotonic()
        if "graph" not in _LOADED or now - _LOADED["checked"] >= RECHECK_S:  # type: ignore[operator]
            state = _files_state(MARTS_DIR)
            if _LOADED.get("state") != state:
                _LOADED["graph"] = load_graph()
                _LOADED["state"] = state
            _LOADED["checked"] = time.monotonic()
        return _LOADED["graph"]  # type: ignore[return-value]


def acceptance_models(folder: Path = ACCEPT_DIR) -> dict[str, Model]:
    """The acceptance SQL files (``kind acceptance``; executed by the ingest), by name."""
    out = {}
    for path in sorted(folder.glob("*.sql")):
        model = load_model(path)
        if model.kind != "acceptance":
            raise ModelError(f"{path.name}: the files of {folder.name}/ are kind acceptance")
        out[model.name] = model
    return out
