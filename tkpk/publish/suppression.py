"""Disclosure control of the Bappeda pack (docs/contract/indicators.md, "Disclosure control").

Rules (driven by the column kinds of ``tkpk.publish.dictionary``):

- a count from 1 to 4 is published as null;
- an amount is null when the count of units it sums over (its ``basis``) is 1–4;
- a ratio is null when the number of units in its denominator is under 10, or when the count in
  its numerator is 1–4 (ratio × denominator would otherwise reveal the suppressed count).

Every suppressible column is followed by a BOOLEAN ``<column>_suppressed`` flag: true when a value
was withheld, false when it is shown or was undefined (null) to begin with. Zero counts are kept.
Conditions are evaluated on the unsuppressed values, so a ratio's window denominator (incidence)
uses the true totals.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

from tkpk.publish.dictionary import (
    BAPPEDA,
    MAX_SMALL_COUNT,
    MIN_COUNT,
    MIN_DENOMINATOR,
    RELATIONS,
    TABLES_BY_NAME,
    Column,
    Table,
    Term,
    exported_columns,
    flag_column,
)
from transforms.sql import render_sql


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def install_rules(con) -> None:
    """Install the disclosure-control rules and export forms (``transforms/publish/macros.sql``:
    ``small_count``, ``small_denominator``, ``withheld_value``, ``withheld_flag``,
    ``spreadsheet_safe``) on ``con``, with the limits of the data dictionary. The publish queries
    of ``transforms/publish/`` call them."""
    con.execute(
        render_sql(
            "publish/macros",
            min_count=str(MIN_COUNT),
            max_small_count=str(MAX_SMALL_COUNT),
            min_denominator=str(MIN_DENOMINATOR),
        )
    )


def suppression_condition(column: Column) -> str | None:
    """SQL: the value of ``column`` must be withheld, by the rules of
    ``transforms/publish/macros.sql`` (None: never suppressed)."""
    if not column.suppressible:
        return None
    if column.kind == "count":
        return f"small_count({_quote(column.name)})"
    if column.kind == "amount":
        return f"small_count({_quote(column.basis or column.name)})"
    if column.kind == "ratio":
        condition = f"small_denominator({column.denominator})"
        if column.numerator:
            condition += f" or small_count({column.numerator})"
        return f"({condition})"
    return None


def bappeda_items(table: Table, withheld, prefix: str = "") -> list[str]:
    """SELECT items of the Bappeda version of ``table``: every suppressible column as
    ``withheld_value`` (null where the SQL condition ``withheld(column)`` holds) followed by its
    ``<column>_suppressed`` flag (``withheld_flag``: true only where a value was withheld).
    ``prefix`` qualifies the source columns."""
    items: list[str] = []
    for column in table.columns:
        name = _quote(column.name)
        value = prefix + name
        if not column.suppressible:
            items.append(f"{value} as {name}")
            continue
        condition = withheld(column)
        items.append(f"withheld_value({value}, {condition}) as {name}")
        items.append(
            f"withheld_flag({value}, {condition}) as {_quote(flag_column(column.name))}"
        )
    expected = [c.name for c in exported_columns(table, BAPPEDA)]
    assert len(items) == len(expected), "flag columns out of step with the dictionary"
    return items


def suppressed_select(table: Table, source_sql: str) -> str:
    """A SELECT giving ``table`` from ``source_sql`` (unsuppressed) with primary suppression only
    (``transforms/publish/bappeda_primary.sql``; needs :func:`install_rules` on the connection;
    the Bappeda pack adds secondary suppression: ``suppress_tables``)."""
    return render_sql(
        "publish/bappeda_primary",
        columns=", ".join(bappeda_items(table, suppression_condition)),
        source=source_sql,
        key=_order(table),
    )


# --------------------------------------------------------------------------- secondary suppression
#
# After primary suppression, a withheld value may still be recoverable from what is published: a
# kelurahan count is its kecamatan total minus the other kelurahan, a bucket is its total minus
# the other buckets, an exclusion error is 1 − the coverage, a count is its ratio × the published
# denominator. The published values form a system of equations (the area hierarchy of every
# count and amount of an area table, and ``dictionary.RELATIONS``); every withheld value is an
# unknown. Secondary suppression withholds more values until no withheld value is determined:
#
# 1. while an equation has exactly one unknown, withhold its smallest published value
#    (preferring a ratio to a count, a part to a total, and a non-zero value to a zero);
# 2. then an exact check: a withheld value is determined when it is fixed by the linear
#    equations together (its unit vector lies in the row space of the unknowns' coefficients;
#    ratios count as linear once their denominator or the ratio itself is known). For each such
#    value one more value of one of its equations is withheld, and step 1 runs again.
#
# The work is set-based over a long table of cells (pandas/numpy): the packs' aggregate tables are
# small (Kota Pekalongan: tens of thousands of cells).

#: Connected sets of unknowns larger than this are not checked exactly (step 1 still applies).
MAX_EXACT_UNKNOWNS = 4000
#: Rows of the Bappeda tables solved together (whole periods; see ``secondary_suppression``).
BATCH_ROWS = 200_000
_AREA_KEYS = ("area_level", "area_code")


@dataclass
class Cells:
    """Every non-null suppressible value of the Bappeda tables, one variable each."""

    values: np.ndarray
    primary: np.ndarray
    cost: np.ndarray
    #: (table, column) -> variable id per row of the table's frame (-1: null, not a cell)
    ids: dict[tuple[str, str], np.ndarray]
    labels: list[tuple[str, str]]
    label_of: np.ndarray

    @property
    def scale(self) -> np.ndarray:
        """Each variable's magnitude (its value; for a zero, the median non-zero magnitude of
        its column, else 1): the exact check works on variables of size about 1, so that a ratio
        and a rupiah amount weigh alike."""
        magnitude = np.abs(self.values)
        frame = pd.DataFrame({"label": self.label_of, "m": magnitude})
        typical = frame[frame["m"] > 0].groupby("label")["m"].median()
        fallback = typical.reindex(range(len(self.labels))).fillna(1.0).to_numpy()
        return np.where(magnitude > 0, magnitude, fallback[self.label_of])


@dataclass
class Equations:
    """Equations as a long table: ``eq``, ``var``, ``coef``, ``prio``, ``role``; ``kind`` per eq.

    ``role`` is ``lin`` (linear: Σ coef × var = const), or for a ratio equation ``ratio``, ``num``
    or ``den``, or for a product ``product`` / ``factor``.
    """

    members: pd.DataFrame
    kind: np.ndarray
    names: list[str]

    @cached_property
    def distinct(self) -> pd.DataFrame:
        """``members`` with one row per (equation, variable)."""
        return self.members.drop_duplicates(["eq", "var"])


@dataclass
class SuppressionResult:
    """Final withheld flags per table and column, and how many values each step withheld."""

    flags: dict[str, dict[str, np.ndarray]]
    counts: dict[str, dict[str, dict[str, int]]]
    rounds: int


def build_cells(
    frames: dict[str, pd.DataFrame], primary: dict[str, dict[str, np.ndarray]]
) -> Cells:
    """One variable per non-null suppressible value of ``frames`` (table name -> rows)."""
    values, flags, labels, label_of = [], [], [], []
    ids: dict[tuple[str, str], np.ndarray] = {}
    offset = 0
    for name, frame in frames.items():
        for column in TABLES_BY_NAME[name].columns:
            if not column.suppressible:
                continue
            raw = pd.to_numeric(frame[column.name], errors="coerce").to_numpy(
                dtype=float, na_value=np.nan
            )
            present = ~np.isnan(raw)
            var = np.full(len(raw), -1, dtype=np.int64)
            var[present] = np.arange(offset, offset + int(present.sum()))
            offset += int(present.sum())
            ids[(name, column.name)] = var
            values.append(raw[present])
            flags.append(np.asarray(primary[name][column.name], dtype=bool)[present])
            label_of.append(np.full(int(present.sum()), len(labels)))
            labels.append((name, column.name))
    value_array = np.concatenate(values) if values else np.zeros(0)
    return Cells(
        values=value_array,
        primary=np.concatenate(flags) if flags else np.zeros(0, dtype=bool),
        # the smallest non-zero value first: a withheld zero protects little
        cost=np.where(value_array != 0, np.abs(value_array), np.inf),
        ids=ids,
        labels=labels,
        label_of=np.concatenate(label_of) if label_of else np.zeros(0, dtype=np.int64),
    )


def _term_rows(frames: dict[str, pd.DataFrame], cells: Cells, term: Term, by: tuple[str, ...],
               root: str | None, keys: _Keys) -> pd.DataFrame:
    """The cells of ``term`` with the code of their ``by`` values (``key``; ``var`` -1 where the
    value is null)."""
    frame = frames.get(term.table)
    if frame is None:
        return pd.DataFrame(columns=["var", "value", "key"])
    var = cells.ids[(term.table, term.column)]
    rows = pd.DataFrame({
        "var": var,
        "value": np.where(var >= 0, cells.values[np.maximum(var, 0)], np.nan),
        "key": keys.of_table(term.table, frame, by),
    })
    if term.root_only:
        rows = rows[frame["area_code"].to_numpy() == root]
    return rows


def _first_appearance(keys: np.ndarray) -> tuple[np.ndarray, int]:
    """Each key's group number, groups numbered in order of first appearance (pandas'
    ``groupby(sort=False).ngroup()``), and the number of groups."""
    unique, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    rank = np.empty(len(unique), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(unique))
    return rank[inverse.reshape(-1)], len(unique)


class _Builder:
    """Collects equations; each candidate is kept only when it holds on the unsuppressed values."""

    def __init__(self, cells: Cells) -> None:
        self.cells = cells
        self.parts: list[pd.DataFrame] = []
        self.kinds: list[str] = []
        self.names: list[str] = []

    def add(self, members: pd.DataFrame, kind: str, name: str, const: float = 0.0) -> None:
        """Add equations from ``members`` (``key``, ``var``, ``coef``, ``prio``, ``role``).

        Linear: Σ coef × value = const per key; ratio: value(ratio) × value(den) = Σ coef ×
        value(num); product: value(product) = Π value(factor). A key with a null cell is dropped.
        """
        if members.empty:
            return
        key = members["key"].to_numpy()
        members = members[~np.isin(key, key[members["var"].to_numpy() < 0])]
        if members.empty:
            return
        value = self.cells.values[members["var"].to_numpy()]
        members = members.assign(value=value)
        holds = self._holds(members, kind, const)
        members = members[np.isin(members["key"].to_numpy(), holds.index[holds.to_numpy()])]
        if members.empty:
            return
        base = len(self.kinds)
        eq, count = _first_appearance(members["key"].to_numpy())
        self.parts.append(pd.DataFrame({
            "eq": eq + base,
            "var": members["var"].to_numpy(),
            "coef": members["coef"].to_numpy(),
            "prio": members["prio"].to_numpy(),
            "role": members["role"].to_numpy(),
        }))
        self.kinds += [kind] * count
        self.names += [name] * count

    @staticmethod
    def _holds(members: pd.DataFrame, kind: str, const: float) -> pd.Series:
        keyed = members.groupby("key")
        if kind == "lin":
            total = (members["coef"] * members["value"]).groupby(members["key"]).sum()
            scale = members["value"].abs().groupby(members["key"]).sum()
            return (total - const).abs() <= 1e-6 * (1.0 + scale)
        if kind == "ratio":
            role = members["role"]
            num = (members["coef"] * members["value"]).where(role == "num", 0.0)
            num = num.groupby(members["key"]).sum()
            ratio = members["value"].where(role == "ratio").groupby(members["key"]).max()
            den = members["value"].where(role == "den").groupby(members["key"]).max()
            return (ratio * den - num).abs() <= 1e-6 * (1.0 + den.abs())
        product = members["value"].where(members["role"] == "product").groupby(members["key"]).max()
        factors = members["value"].where(members["role"] == "factor", 1.0)
        factors = factors.groupby(members["key"]).prod()
        del keyed
        return (product - factors).abs() <= 1e-9 + 1e-6 * product.abs()

    def equations(self) -> Equations:
        """The collected equations."""
        if self.parts:
            members = pd.concat(self.parts, ignore_index=True)
        else:
            members = pd.DataFrame({"eq": [], "var": [], "coef": [], "prio": [], "role": []})
        members = members.astype({"eq": np.int64, "var": np.int64, "coef": float, "prio": np.int64})
        return Equations(members, np.array(self.kinds, dtype=object), self.names)


def area_parents(codes: pd.Series) -> pd.Series:
    """Each dotted area code's parent: its nearest proper dotted prefix among ``codes``."""
    known = set(codes.dropna().unique())
    parents = {}
    for code in known:
        parent = code
        while "." in parent:
            parent = parent.rsplit(".", 1)[0]
            if parent in known:
                break
        parents[code] = parent if parent in known and parent != code else None
    return codes.map(parents)


def region_root(frames: dict[str, pd.DataFrame]) -> str | None:
    """The region's root area: the shortest area code of the area tables."""
    codes = {c for f in frames.values() if "area_code" in f for c in f["area_code"].dropna()}
    return min(codes, key=lambda c: (len(c), c)) if codes else None


class _Keys:
    """Integer codes of the key tuples an equation groups its cells by (``by`` values, an area
    and its parent), shared by every table of one solve: equal tuples get equal codes and
    different ones different codes, so the equations group and match exactly as on the tuples
    (in the same order: groups are numbered by first appearance), without building a Python
    tuple per row and column."""

    def __init__(self) -> None:
        self._values: dict = {}
        self._tuples: dict[tuple[int, ...], int] = {}
        self._cache: dict[tuple[str, tuple[str, ...]], np.ndarray] = {}

    def _codes(self, values: pd.Series) -> np.ndarray:
        labels, uniques = pd.factorize(values, use_na_sentinel=False)
        lookup = np.array(
            [self._values.setdefault(u, len(self._values)) for u in uniques], dtype=np.int64
        )
        return lookup[labels] if len(labels) else np.zeros(0, dtype=np.int64)

    def key(self, columns: list[pd.Series], rows: int) -> np.ndarray:
        """The code of each row's tuple of ``columns`` (``rows`` rows)."""
        if not columns:
            return np.full(rows, self._tuples.setdefault((), len(self._tuples)), dtype=np.int64)
        stacked = np.column_stack([self._codes(c) for c in columns])
        unique, inverse = np.unique(stacked, axis=0, return_inverse=True)
        lookup = np.array(
            [self._tuples.setdefault(tuple(r), len(self._tuples)) for r in unique.tolist()],
            dtype=np.int64,
        )
        return lookup[inverse.reshape(-1)] if len(lookup) else np.zeros(0, dtype=np.int64)

    def of_table(self, name: str, frame: pd.DataFrame, by: tuple[str, ...]) -> np.ndarray:
        """The codes of ``frame``'s ``by`` tuples (``name``: the table, kept per ``by``)."""
        if (name, by) not in self._cache:
            self._cache[(name, by)] = self.key([frame[k] for k in by], len(frame))
        return self._cache[(name, by)]


def _hierarchy(builder: _Builder, frames: dict[str, pd.DataFrame], keys: _Keys) -> None:
    """Every count and amount of an area table: parent = Σ children, per the other key values."""
    for name, frame in frames.items():
        table = TABLES_BY_NAME[name]
        if not table.area or frame.empty:
            continue
        groups = [k for k in table.key if k not in _AREA_KEYS]
        parent = area_parents(frame["area_code"])
        child = parent.notna().to_numpy()
        children_key = keys.key([*(frame[g][child] for g in groups), parent[child]],
                                int(child.sum()))
        is_parent = frame["area_code"].isin(set(parent[child])).to_numpy()
        parents_key = keys.key([*(frame[g][is_parent] for g in groups),
                                frame["area_code"][is_parent]], int(is_parent.sum()))
        key = np.concatenate([parents_key, children_key])
        coef = np.concatenate([np.full(len(parents_key), 1.0), np.full(len(children_key), -1.0)])
        prio = np.concatenate([np.full(len(parents_key), 2, dtype=np.int64),
                               np.full(len(children_key), 1, dtype=np.int64)])
        for column in table.columns:
            if column.kind not in ("count", "amount"):
                continue
            var = builder.cells.ids[(name, column.name)]
            members = pd.DataFrame({
                "key": key, "var": np.concatenate([var[is_parent], var[child]]), "coef": coef,
                "prio": prio, "role": "lin",
            })
            builder.add(members, "lin", f"{name}.{column.name} area hierarchy")


def _keyed(rows: pd.DataFrame, **extra) -> pd.DataFrame:
    return rows.assign(**extra)


def _relations(builder: _Builder, frames: dict[str, pd.DataFrame], root: str | None,
               keys: _Keys) -> None:
    """The equations declared in ``dictionary.RELATIONS``."""
    for relation in RELATIONS:
        tables = {t.table for t in (*relation.parts, *relation.total)}
        if relation.other is not None:
            tables.add(relation.other.table)
        if not tables <= set(frames):
            continue
        by = relation.by

        def rows(term: Term, by: tuple[str, ...] = by) -> pd.DataFrame:
            return _term_rows(frames, builder.cells, term, by, root, keys)

        if relation.kind == "sum":
            totals = [_keyed(rows(t), coef=t.coef, prio=2) for t in relation.total]
            parts = [_keyed(rows(t), coef=-t.coef, prio=1) for t in relation.parts]
            total = pd.concat(totals, ignore_index=True)
            members = pd.concat([total, *parts], ignore_index=True)
            members = members[members["key"].isin(set(total["key"]))].assign(role="lin")
            builder.add(members, "lin", relation.name)
        elif relation.kind == "equal":
            cells = pd.concat([_keyed(rows(t)) for t in relation.parts], ignore_index=True)
            cells = cells[cells["var"] >= 0].sort_values(["value", "var"], kind="stable")
            cells["key"] = keys.key([cells["key"], cells["value"]], len(cells))
            following = cells.groupby("key", sort=False)["var"].shift(-1)
            pairs = cells[following.notna()].assign(other=following.dropna().astype(np.int64))
            pairs["key"] = range(len(pairs))
            first = pairs[["key", "var"]].assign(coef=1.0)
            second = pairs[["key", "other"]].rename(columns={"other": "var"}).assign(coef=-1.0)
            members = pd.concat([first, second], ignore_index=True).assign(prio=1, role="lin")
            builder.add(members, "lin", relation.name)
        elif relation.kind == "ratio":
            # the ratio and its numerator share a row; the denominator is matched on ``by``
            ratio_term = relation.total[0]
            ratio = rows(ratio_term)
            ratio = ratio.assign(row=np.arange(len(ratio)))
            ratio = ratio[ratio["var"] >= 0]
            den = _keyed(rows(relation.other))[["key", "var"]].rename(columns={"var": "den"})
            ratio = _keyed(ratio).merge(den, on="key", how="left")
            ratio = ratio[ratio["den"].notna()]
            members = [ratio.assign(coef=0.0, prio=0, role="ratio")[["row", "var", "coef", "prio",
                                                                       "role"]],
                       ratio.assign(var=ratio["den"].astype(np.int64), coef=0.0, prio=2,
                                    role="den")[["row", "var", "coef", "prio", "role"]]]
            for term in relation.parts:
                assert term.table == ratio_term.table, "a numerator lies in the ratio's row"
                num = rows(term).assign(row=np.arange(len(frames[term.table])))
                num = num[num["row"].isin(ratio["row"])]
                members.append(num.assign(coef=term.coef, prio=1, role="num")[
                    ["row", "var", "coef", "prio", "role"]])
            members = pd.concat(members, ignore_index=True).rename(columns={"row": "key"})
            builder.add(members, "ratio", relation.name)
        elif relation.kind == "complement":
            members = pd.concat([_keyed(rows(t), coef=1.0, prio=1) for t in relation.parts],
                                ignore_index=True).assign(role="lin")
            builder.add(members, "lin", relation.name, const=1.0)
        elif relation.kind == "product":
            product = _keyed(rows(relation.total[0]), coef=0.0, prio=0, role="product")
            factors = [_keyed(rows(t), coef=0.0, prio=1, role="factor")
                       for t in relation.parts]
            builder.add(pd.concat([product, *factors], ignore_index=True), "product",
                        relation.name)
        else:  # pragma: no cover - a declaration error
            raise ValueError(f"unknown relation kind {relation.kind!r}")


def build_equations(frames: dict[str, pd.DataFrame], cells: Cells) -> Equations:
    """The published equations: the area hierarchy and the declared relations."""
    builder = _Builder(cells)
    keys = _Keys()
    _hierarchy(builder, frames, keys)
    _relations(builder, frames, region_root(frames), keys)
    return builder.equations()


def _close_single_unknowns(eqs: Equations, cells: Cells, suppressed: np.ndarray) -> None:
    """Step 1: until no equation has exactly one unknown, withhold one more value in each."""
    members = eqs.distinct
    eq = members["eq"].to_numpy()
    var = members["var"].to_numpy()
    n = len(eqs.kind)
    while True:
        unknown = suppressed[var]
        n_unknown = np.bincount(eq, weights=unknown, minlength=n)
        hot = n_unknown == 1
        candidates = members[hot[eq] & ~unknown]
        if candidates.empty:
            return
        candidates = candidates.assign(cost=cells.cost[candidates["var"].to_numpy()])
        picked = candidates.sort_values(["eq", "prio", "cost", "var"]).drop_duplicates("eq")
        suppressed[picked["var"].to_numpy()] = True


def _linear_rows(eqs: Equations, cells: Cells, suppressed: np.ndarray) -> pd.DataFrame:
    """Coefficients of the unknowns in every equation that is linear given the known values."""
    members = eqs.members
    kind = eqs.kind[members["eq"].to_numpy()]
    linear = members[kind == "lin"][["eq", "var", "coef"]]
    ratio = members[kind == "ratio"]
    rows = [linear]
    if not ratio.empty:
        ends = ratio[ratio["role"].isin(["ratio", "den"])].pivot_table(
            index="eq", columns="role", values="var", aggfunc="first"
        )
        r_var = ends["ratio"].to_numpy(dtype=np.int64)
        d_var = ends["den"].to_numpy(dtype=np.int64)
        r_known, d_known = ~suppressed[r_var], ~suppressed[d_var]
        eq_ids = ends.index.to_numpy()
        nums = ratio[ratio["role"] == "num"][["eq", "var", "coef"]]
        # den known: Σ coef num − den × ratio = 0
        by_den = pd.DataFrame({"eq": eq_ids[d_known], "var": r_var[d_known],
                               "coef": -cells.values[d_var[d_known]]})
        # ratio known (den unknown): Σ coef num − ratio × den = 0
        by_ratio = pd.DataFrame({"eq": eq_ids[r_known & ~d_known], "var": d_var[r_known & ~d_known],
                                 "coef": -cells.values[r_var[r_known & ~d_known]]})
        usable = set(eq_ids[d_known | r_known])
        rows += [nums[nums["eq"].isin(usable)], by_den, by_ratio]
    table = pd.concat(rows, ignore_index=True)
    table = table[suppressed[table["var"].to_numpy()]]
    table = table.groupby(["eq", "var"], as_index=False)["coef"].sum()
    return table[table["coef"].abs() > 1e-12]


def _fixed_columns(matrix: np.ndarray) -> np.ndarray:
    """Which columns (unknowns) of ``matrix`` the equations fix: those on which every vector of
    its null space is zero. Rows and columns are scaled to unit length first (a column scaling
    does not change which unknowns are fixed)."""
    matrix = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix = matrix / np.linalg.norm(matrix, axis=0, keepdims=True)
    gram = matrix.T @ matrix
    eigenvalues, vectors = np.linalg.eigh(gram)
    null = vectors[:, eigenvalues < 1e-9 * max(1.0, float(eigenvalues.max(initial=0.0)))]
    if null.shape[1] == 0:
        return np.ones(matrix.shape[1], dtype=bool)
    return np.linalg.norm(null, axis=1) < 1e-6


def determined_unknowns(
    eqs: Equations, cells: Cells, suppressed: np.ndarray, cache: dict | None = None
) -> np.ndarray:
    """Step 2: the withheld values the linear equations fix exactly (variable ids).

    ``cache`` keeps the answer of each connected set of unknowns between rounds (a set whose
    unknowns and equations did not change has the same answer)."""
    cache = {} if cache is None else cache
    table = _linear_rows(eqs, cells, suppressed)
    if table.empty:
        return np.zeros(0, dtype=np.int64)
    eq_codes, eq_index = np.unique(table["eq"].to_numpy(), return_inverse=True)
    var_codes, var_index = np.unique(table["var"].to_numpy(), return_inverse=True)
    n_eq, n_var = len(eq_codes), len(var_codes)
    graph = sparse.coo_matrix(
        (np.ones(len(table)), (eq_index, n_eq + var_index)), shape=(n_eq + n_var,) * 2
    )
    _, labels = csgraph.connected_components(graph, directed=False)
    entry_label = labels[n_eq + var_index]
    table = table.assign(coef=table["coef"].to_numpy() * cells.scale[table["var"].to_numpy()])
    order = np.argsort(entry_label, kind="stable")
    bounds = np.flatnonzero(np.diff(entry_label[order])) + 1
    coef = table["coef"].to_numpy()
    found = []
    for part in np.split(order, bounds):
        columns, col_of = np.unique(var_index[part], return_inverse=True)
        rows_of, row_of = np.unique(eq_index[part], return_inverse=True)
        if len(columns) > MAX_EXACT_UNKNOWNS:
            continue
        key = (var_codes[columns].tobytes(), eq_codes[rows_of].tobytes(), coef[part].tobytes())
        if key not in cache and len(rows_of) == 1 and len(columns) > 1:
            cache[key] = np.zeros(0, dtype=np.int64)  # one equation, several unknowns
        if key not in cache:
            matrix = np.zeros((len(rows_of), len(columns)))
            matrix[row_of, col_of] = coef[part]
            cache[key] = var_codes[columns[_fixed_columns(matrix)]]
        found.append(cache[key])
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def _withhold_partner(eqs: Equations, cells: Cells, suppressed: np.ndarray,
                      leaked: np.ndarray) -> None:
    """One more withheld value for each leaked unknown: the smallest published value of one of
    its equations (else of any equation touching its equations' unknowns)."""
    members = eqs.distinct
    published = members[~suppressed[members["var"].to_numpy()]]
    published = published.assign(cost=cells.cost[published["var"].to_numpy()])
    touching = members[members["var"].isin(leaked)][["eq", "var"]].rename(columns={"var": "leak"})
    options = touching.merge(published, on="eq")
    picked = options.sort_values(["leak", "prio", "cost", "var"]).drop_duplicates("leak")
    chosen = picked["var"].to_numpy()
    missing = np.setdiff1d(leaked, picked["leak"].to_numpy())
    if len(missing):
        wider = members[members["eq"].isin(touching["eq"])]
        near = members[members["var"].isin(wider["var"])]
        options = published[published["eq"].isin(near["eq"])]
        if options.empty:
            raise RuntimeError("secondary suppression cannot protect a withheld value")
        chosen = np.append(chosen, options.sort_values(["prio", "cost", "var"])["var"].iloc[0])
    suppressed[chosen] = True


def _solve(frames: dict[str, pd.DataFrame],
           primary: dict[str, dict[str, np.ndarray]]) -> SuppressionResult:
    """Primary + secondary suppression of one self-contained set of rows (see below)."""
    cells = build_cells(frames, primary)
    eqs = build_equations(frames, cells)
    suppressed = cells.primary.copy()
    rounds = 0
    cache: dict = {}
    while True:
        rounds += 1
        _close_single_unknowns(eqs, cells, suppressed)
        leaked = determined_unknowns(eqs, cells, suppressed, cache)
        if not len(leaked):
            break
        _withhold_partner(eqs, cells, suppressed, leaked)
    flags: dict[str, dict[str, np.ndarray]] = {}
    counts: dict[str, dict[str, dict[str, int]]] = {}
    for (name, column), var in cells.ids.items():
        present = var >= 0
        row_flags = np.zeros(len(var), dtype=bool)
        row_flags[present] = suppressed[var[present]]
        flags.setdefault(name, {})[column] = row_flags
        primary_n = int(cells.primary[var[present]].sum())
        counts.setdefault(name, {})[column] = {
            "primary": primary_n,
            "secondary": int(row_flags.sum()) - primary_n,
        }
    return SuppressionResult(flags, counts, rounds)


def secondary_suppression(frames: dict[str, pd.DataFrame],
                          primary: dict[str, dict[str, np.ndarray]]) -> SuppressionResult:
    """Withheld flags after primary and secondary suppression of the Bappeda ``frames``.

    ``frames``: table name -> its rows (unsuppressed, in a fixed order); ``primary``: table ->
    column -> primary flag per row. Returns the final flags per row (true only on non-null values)
    and the number of values withheld per table, column and step. Every equation lies within one
    period (the hierarchy and every relation are keyed by it), so batches of periods of up to
    ``BATCH_ROWS`` rows are solved on their own, and the tables without a period as one more
    part: a province run's memory stays that of a few periods.
    """
    periods = sorted({p for f in frames.values() if "period" in f for p in f["period"].unique()})
    rows_of = pd.concat([f["period"] for f in frames.values() if "period" in f]).value_counts()
    batches: list[list] = [[]]
    for period in periods:  # consecutive periods together, up to BATCH_ROWS rows
        if batches[-1] and rows_of[batches[-1]].sum() + rows_of[period] > BATCH_ROWS:
            batches.append([])
        batches[-1].append(period)
    flags = {
        name: {column: np.zeros(len(frames[name]), dtype=bool) for column in columns}
        for name, columns in primary.items()
    }
    counts: dict[str, dict[str, dict[str, int]]] = {}
    rounds = 0
    for batch in [*batches, None]:
        part_frames, part_primary, positions = {}, {}, {}
        for name, frame in frames.items():
            if "period" not in frame:
                rows = np.arange(len(frame)) if batch is None else np.zeros(0, dtype=np.int64)
            elif batch is None:
                rows = np.zeros(0, dtype=np.int64)
            else:
                rows = np.flatnonzero(frame["period"].isin(batch).to_numpy())
            if not len(rows):
                continue
            part_frames[name] = frame.iloc[rows].reset_index(drop=True)
            part_primary[name] = {c: np.asarray(v)[rows] for c, v in primary[name].items()}
            positions[name] = rows
        if not part_frames:
            continue
        part = _solve(part_frames, part_primary)
        rounds = max(rounds, part.rounds)
        for name, columns in part.flags.items():
            for column, values in columns.items():
                flags[name][column][positions[name]] = values
                total = counts.setdefault(name, {}).setdefault(
                    column, {"primary": 0, "secondary": 0}
                )
                for step, n in part.counts[name][column].items():
                    total[step] += n
    for name, columns in primary.items():
        for column in columns:
            counts.setdefault(name, {}).setdefault(column, {"primary": 0, "secondary": 0})
    return SuppressionResult(flags, counts, rounds)


# --------------------------------------------------------------------------- the Bappeda files


def _order(table: Table) -> str:
    return ", ".join(_quote(k) for k in table.key)


def read_for_suppression(
    con, tables: list[Table], source: dict[str, str]
) -> tuple[dict[str, pd.DataFrame], dict[str, dict[str, np.ndarray]]]:
    """Each table's key columns and suppressible values (DOUBLE), ordered by key, with the
    primary suppression flags evaluated in SQL on the unsuppressed values
    (``transforms/publish/suppression_input.sql``)."""
    install_rules(con)
    frames, primary = {}, {}
    for table in tables:
        items = [_quote(k) for k in table.key]
        if table.area and "area_code" not in table.key:  # pragma: no cover - every area key has it
            items.append('"area_code"')
        conditions = []
        for column in table.columns:
            condition = suppression_condition(column)
            if condition is None:
                continue
            items.append(f"cast({_quote(column.name)} as double) as {_quote(column.name)}")
            items.append(f"({condition}) as {_quote('__p__' + column.name)}")
            conditions.append(column.name)
        sql = render_sql(
            "publish/suppression_input",
            columns=", ".join(items),
            source=source[table.name],
            key=_order(table),
        )
        frame = con.execute(sql).df()
        primary[table.name] = {
            name: frame.pop("__p__" + name).fillna(False).to_numpy(dtype=bool)
            for name in conditions
        }
        frames[table.name] = frame.reset_index(drop=True)
    return frames, primary


def final_select(table: Table, source_sql: str, flags_relation: str) -> str:
    """The Bappeda SELECT of ``table`` (``transforms/publish/bappeda_table.sql``): values
    withheld where ``flags_relation`` (``__row`` and one BOOLEAN per suppressible column, rows
    numbered in key order from 0) says so."""
    items = bappeda_items(table, lambda column: f"f.{_quote(column.name)}", prefix="r.")
    return render_sql(
        "publish/bappeda_table",
        columns=", ".join(items),
        source=source_sql,
        flags=flags_relation,
        key=_order(table),
    )


def suppress_tables(con, tables: list[Table], source: dict[str, str]) -> SuppressionResult:
    """Primary and secondary suppression of ``tables`` (``source``: table -> SQL relation)."""
    frames, primary = read_for_suppression(con, tables, source)
    return secondary_suppression(frames, primary)


def flags_frame(result: SuppressionResult, table: Table, rows: int) -> pd.DataFrame:
    """The withheld flags of ``table`` as a frame: ``__row`` and one column per suppressible
    column."""
    data = {"__row": np.arange(rows, dtype=np.int64)}
    for column in table.columns:
        if column.suppressible:
            data[column.name] = result.flags.get(table.name, {}).get(
                column.name, np.zeros(rows, dtype=bool)
            )
    return pd.DataFrame(data)
