"""The attacker: load the published Bappeda pack and try to recover every withheld value.

The attacker writes down every equation the published values obey, then solves: it substitutes
every equation with exactly one unknown (repeatedly, also ratios and products), then checks with
linear algebra whether the equations together fix any unknown (least squares: an unknown is fixed
when its unit vector is a combination of the equations' rows). It must recover nothing.

The equations are derived here, independently of ``tkpk.publish.suppression``:

- the area hierarchy from the published area columns (a kelurahan's parent is its
  ``kecamatan_code``, any other area's the longest published code that prefixes it), for every
  count and amount column (the pack's own ``data_dictionary.json`` gives the kinds), per value of
  the other key columns;
- every ratio column against every count/amount column or difference of two (numerator) over
  every count/amount column (denominator) of its table, that its published definition names: a
  triple is used when it holds on every row of the unsuppressed (restricted) table;
- pairs of ratio columns that add up to 1 on every row;
- a column published in several area tables (``poor_households``) at the same period and area;
- the cross-table sums, identities and products documented in ``dictionary.RELATIONS``.

Only equations that hold on the restricted pack are used (an attacker's equation must be true).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from pack_support import published_pack  # noqa: F401  (the session's real pack)

from tkpk.publish.dictionary import BAPPEDA, RELATIONS, pack_tables
from tkpk.publish.suppression import install_rules, suppressed_select

TOL = 1e-6


@dataclass
class Pack:
    """Published values (NaN when withheld), truth, and which cells are withheld."""

    published: dict[str, pd.DataFrame]
    truth: dict[str, pd.DataFrame]
    withheld: dict[str, pd.DataFrame]
    kinds: dict[str, dict[str, str]]
    #: (table, column) -> the column's published definition and suppression text
    texts: dict[tuple[str, str], str]
    keys: dict[str, list[str]]
    #: (table, column) -> numpy arrays, for fast lookups
    truth_values: dict = field(default_factory=dict)
    published_values: dict = field(default_factory=dict)
    withheld_values: dict = field(default_factory=dict)

    def true(self, cell: tuple) -> float:
        table, row, column = cell
        return self.truth_values[(table, column)][row]


@dataclass
class System:
    """Equations over cells ``(table, row, column)``."""

    #: (name, [(cell, coef)], const)
    linear: list = field(default_factory=list)
    #: (name, ratio cell, [(cell, coef)] numerator, denominator cell)
    ratios: list = field(default_factory=list)
    #: (name, product cell, factor cell, factor cell)
    products: list = field(default_factory=list)


def load_pack(bappeda: Path, restricted: Path) -> Pack:
    """Read every Bappeda table (and its restricted twin) in key order."""
    meta = json.loads((bappeda / "data_dictionary.json").read_text(encoding="utf-8"))
    con = duckdb.connect()
    pack = Pack({}, {}, {}, {}, {}, {})
    for table in meta["tables"]:
        name, key = table["table"], table["key"]
        order = ", ".join(key)
        b = con.execute(
            f"select * from read_parquet('{bappeda / table['file']}') order by {order}"
        ).df()
        r = con.execute(
            f"select * from read_parquet('{restricted / table['file']}') order by {order}"
        ).df()
        flagged = [c["column"] for c in table["columns"]
                   if f"{c['column']}_suppressed" in b.columns]
        pack.kinds[name] = {c["column"]: c["kind"] for c in table["columns"]}
        pack.texts.update({(name, c["column"]): c["definition_en"] + " " + c["suppression_en"]
                           for c in table["columns"]})
        pack.keys[name] = key
        pack.published[name] = b
        pack.truth[name] = r
        pack.withheld[name] = b[[f"{c}_suppressed" for c in flagged]].set_axis(flagged, axis=1)
        for column, kind in pack.kinds[name].items():
            if kind in ("count", "amount", "ratio"):
                pack.truth_values[(name, column)] = _numbers(r, column)
                pack.published_values[(name, column)] = _numbers(b, column)
                if column in flagged:
                    pack.withheld_values[(name, column)] = b[f"{column}_suppressed"].to_numpy(
                        dtype=bool)
    con.close()
    return pack


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _parents(frame: pd.DataFrame) -> list[str | None]:
    codes = set(frame["area_code"])
    out = []
    for level, code, kecamatan in zip(frame["area_level"], frame["area_code"],
                                      frame["kecamatan_code"], strict=True):
        if level == "kelurahan":
            out.append(kecamatan)
            continue
        prefixes = [c for c in codes if code.startswith(c + ".")]
        out.append(max(prefixes, key=len) if prefixes else None)
    return out


def _holds(pack: Pack, terms: list, const: float) -> bool:
    values = [(coef, pack.true(cell)) for cell, coef in terms]
    if any(np.isnan(v) for _, v in values):
        return False
    total = sum(coef * v for coef, v in values)
    return abs(total - const) <= TOL * (1 + sum(abs(v) for _, v in values))


def hierarchy_equations(pack: Pack, system: System) -> None:
    """Parent = Σ children for every count/amount column of every area table."""
    for name, frame in pack.truth.items():
        if "area_code" not in frame:
            continue
        groups = [k for k in pack.keys[name] if k not in ("area_level", "area_code")]
        frame = frame.assign(_parent=_parents(frame), _row=range(len(frame)))
        index = {tuple(r): i for i, r in enumerate(frame[[*groups, "area_code"]].itertuples(
            index=False, name=None))}
        columns = [c for c, k in pack.kinds[name].items() if k in ("count", "amount")]
        children = frame[frame["_parent"].notna()].groupby([*groups, "_parent"])["_row"]
        for (*group, parent), rows in children:
            top = index.get((*group, parent))
            if top is None:
                continue
            for column in columns:
                terms = [((name, top, column), 1.0)]
                terms += [((name, int(i), column), -1.0) for i in rows]
                if _holds(pack, terms, 0.0):
                    system.linear.append((f"{name}.{column} hierarchy", terms, 0.0))


def _all_rows_hold(r: np.ndarray, num: np.ndarray, den: np.ndarray) -> bool:
    defined = ~np.isnan(r) & ~np.isnan(den) & ~np.isnan(num) & (den > 0)
    if defined.sum() < 3:
        return False
    # doubles: the product is exact to ~1e-15 of the numerator (a looser tolerance would take
    # amount − count for amount on large rupiah numbers)
    return bool(np.all(np.abs(r[defined] * den[defined] - num[defined])
                       <= 1e-9 * (1 + np.abs(num[defined]))))


def row_equations(pack: Pack, system: System) -> None:
    """Ratio triples and complementary ratios discovered column-wise on each table."""
    for name, frame in pack.truth.items():
        kinds = pack.kinds[name]
        ratios = [c for c, k in kinds.items() if k == "ratio"]
        counts = [c for c, k in kinds.items() if k in ("count", "amount")]
        values = {c: _numbers(frame, c) for c in ratios + counts}
        numerators = [((a,), values[a]) for a in counts]
        numerators += [((a, b), values[a] - values[b]) for a in counts for b in counts if a != b]
        for ratio in ratios:
            for den in counts:
                for num, num_values in numerators:
                    text = pack.texts[(name, ratio)]
                    if not all(c in text for c in (*num, den)):
                        continue  # a pattern of this sample, not a documented ratio
                    if not _all_rows_hold(values[ratio], num_values, values[den]):
                        continue
                    for i in range(len(frame)):
                        cells = [values[ratio][i], values[den][i]] + [values[c][i] for c in num]
                        if any(np.isnan(cells)):
                            continue
                        terms = [((name, i, c), 1.0 if j == 0 else -1.0) for j, c in enumerate(num)]
                        system.ratios.append(
                            (f"{name}.{ratio} = {'-'.join(num)}/{den}", (name, i, ratio), terms,
                             (name, i, den))
                        )
        for a in ratios:
            for b in ratios:
                both = ~np.isnan(values[a]) & ~np.isnan(values[b])
                if a < b and both.sum() >= 3 and np.all(
                    np.abs(values[a][both] + values[b][both] - 1) <= TOL
                ):
                    for i in np.flatnonzero(both):
                        system.linear.append((f"{name}.{a} + {b} = 1",
                                              [((name, i, a), 1.0), ((name, i, b), 1.0)], 1.0))


def _per_area(frame: pd.DataFrame, column: str) -> bool:
    """The column holds one value per period and area (whatever the table's other keys)."""
    spread = frame.groupby(["period", "area_code"])[column].nunique(dropna=False)
    return bool((spread <= 1).all())


def repeated_columns(pack: Pack, system: System) -> None:
    """A per-area quantity (one value per period and area) published under the same name by
    several area tables, or on several rows of one: one quantity."""
    seen: dict[tuple, list] = {}
    for name, frame in pack.truth.items():
        if "area_code" not in frame or "period" not in frame:  # poverty_transitions: by pair
            continue
        for column, kind in pack.kinds[name].items():
            if kind not in ("count", "amount") or not _per_area(frame, column):
                continue
            for i, (period, area, value) in enumerate(zip(frame["period"], frame["area_code"],
                                                          _numbers(frame, column), strict=True)):
                if not np.isnan(value):
                    seen.setdefault((column, period, area, value), []).append((name, i, column))
    for cells in seen.values():
        for a, b in zip(cells, cells[1:], strict=False):
            system.linear.append(("same column", [(a, 1.0), (b, -1.0)], 0.0))


def _rows_by(pack: Pack, table: str, by: tuple, root_only: bool) -> dict:
    frame = pack.truth[table]
    if root_only:
        root = min(set(frame["area_code"]), key=lambda c: (len(c), c))
        frame = frame[frame["area_code"] == root]
    out: dict = {}
    for i, key in zip(frame.index, frame[list(by)].itertuples(index=False, name=None),
                      strict=True):
        out.setdefault(key, []).append(int(i))
    return out


def documented_relations(pack: Pack, system: System) -> None:
    """The cross-table relations the dictionary documents."""
    for relation in RELATIONS:
        names = {t.table for t in (*relation.parts, *relation.total)}
        if not names <= set(pack.truth):
            continue
        if relation.kind == "sum":
            (total,) = relation.total
            totals = _rows_by(pack, total.table, relation.by, total.root_only)
            parts = [(t, _rows_by(pack, t.table, relation.by, t.root_only)) for t in relation.parts]
            for key, rows in totals.items():
                terms = [((total.table, i, total.column), 1.0) for i in rows]
                for term, found in parts:
                    terms += [((term.table, i, term.column), -term.coef)
                              for i in found.get(key, [])]
                if _holds(pack, terms, 0.0):
                    system.linear.append((relation.name, terms, 0.0))
        elif relation.kind == "equal":
            for a in relation.parts:
                for b in relation.parts:
                    if a == b:
                        continue
                    left = _rows_by(pack, a.table, relation.by, False)
                    right = _rows_by(pack, b.table, relation.by, False)
                    for key, rows in left.items():
                        for i in rows:
                            for j in right.get(key, []):
                                terms = [((a.table, i, a.column), 1.0),
                                         ((b.table, j, b.column), -1.0)]
                                if _holds(pack, terms, 0.0):
                                    system.linear.append((relation.name, terms, 0.0))
        elif relation.kind == "ratio" and relation.other.table != relation.total[0].table:
            ratio = relation.total[0]
            dens = _rows_by(pack, relation.other.table, relation.by, relation.other.root_only)
            for key, rows in _rows_by(pack, ratio.table, relation.by, False).items():
                for i in rows:
                    for d in dens.get(key, []):
                        system.ratios.append(
                            (relation.name, (ratio.table, i, ratio.column),
                             [((t.table, i, t.column), t.coef) for t in relation.parts],
                             (relation.other.table, d, relation.other.column))
                        )
        elif relation.kind == "complement":
            for rows in _rows_by(pack, relation.parts[0].table, relation.by, False).values():
                terms = [((t.table, i, t.column), 1.0) for t in relation.parts for i in rows]
                if _holds(pack, terms, 1.0):
                    system.linear.append((relation.name, terms, 1.0))
        elif relation.kind == "product":
            (product,) = relation.total
            for i in range(len(pack.truth[product.table])):
                system.products.append(
                    (relation.name, (product.table, i, product.column),
                     (relation.parts[0].table, i, relation.parts[0].column),
                     (relation.parts[1].table, i, relation.parts[1].column))
                )


def build_system(pack: Pack) -> System:
    """Every equation the attacker can write."""
    system = System()
    hierarchy_equations(pack, system)
    row_equations(pack, system)
    repeated_columns(pack, system)
    documented_relations(pack, system)
    return system


class Attacker:
    """Knowledge: published values, plus whatever the equations give."""

    def __init__(self, pack: Pack) -> None:
        self.pack = pack
        self.recovered: dict[tuple, tuple[float, str]] = {}
        self._magnitudes: dict[tuple[str, str], float] = {}

    def unknown(self, cell: tuple) -> bool:
        table, row, column = cell
        withheld = self.pack.withheld_values.get((table, column))
        return withheld is not None and bool(withheld[row]) and cell not in self.recovered

    def value(self, cell: tuple) -> float:
        if cell in self.recovered:
            return self.recovered[cell][0]
        table, row, column = cell
        return float(self.pack.published_values[(table, column)][row])

    def magnitude(self, cell: tuple) -> float:
        """The typical size of the cell's column (published non-zero values): unknowns are
        solved as multiples of it, so that ratios and rupiah amounts weigh alike numerically."""
        table, _, column = cell
        key = (table, column)
        if key not in self._magnitudes:
            values = np.abs(self.pack.published_values[key])
            values = values[~np.isnan(values) & (values > 0)]
            self._magnitudes[key] = float(np.median(values)) if len(values) else 1.0
        return self._magnitudes[key]

    def defined(self, cell: tuple) -> bool:
        return self.unknown(cell) or not np.isnan(self.value(cell))

    def learn(self, cell: tuple, value: float, how: str) -> None:
        self.recovered[cell] = (value, how)

    def substitute(self, system: System) -> None:
        """Solve equations with exactly one unknown until nothing changes."""
        system.linear = [e for e in system.linear if any(self.unknown(c) for c, _ in e[1])]
        system.ratios = [
            e for e in system.ratios
            if any(self.unknown(c) for c in [e[1], e[3]] + [c for c, _ in e[2]])
        ]
        system.products = [e for e in system.products if any(self.unknown(c) for c in e[1:])]
        changed = True
        while changed:
            changed = False
            for name, terms, const in system.linear:
                if not all(self.defined(c) for c, _ in terms):
                    continue
                unknown = [(c, k) for c, k in terms if self.unknown(c)]
                if len(unknown) == 1:
                    rest = sum(k * self.value(c) for c, k in terms if not self.unknown(c))
                    cell, coef = unknown[0]
                    self.learn(cell, (const - rest) / coef, name)
                    changed = True
            for name, ratio, num, den in system.ratios:
                cells = [ratio, den] + [c for c, _ in num]
                if not all(self.defined(c) for c in cells):
                    continue
                unknown = {c for c in cells if self.unknown(c)}
                if len(unknown) != 1:
                    continue
                (cell,) = unknown
                if cell == ratio and self.value(den) > 0:
                    value = sum(k * self.value(c) for c, k in num) / self.value(den)
                elif cell == den and self.value(ratio) != 0 and den not in {c for c, _ in num}:
                    value = sum(k * self.value(c) for c, k in num) / self.value(ratio)
                elif cell in {c for c, _ in num} and cell != den:
                    rest = sum(k * self.value(c) for c, k in num if c != cell)
                    coef = sum(k for c, k in num if c == cell)
                    value = (self.value(ratio) * self.value(den) - rest) / coef
                else:
                    continue
                self.learn(cell, value, name)
                changed = True
            for name, product, a, b in system.products:
                cells = [product, a, b]
                if not all(self.defined(c) for c in cells):
                    continue
                unknown = [c for c in cells if self.unknown(c)]
                if len(unknown) != 1:
                    continue
                (cell,) = unknown
                if cell == product:
                    self.learn(cell, self.value(a) * self.value(b), name)
                    changed = True
                else:
                    other = b if cell == a else a
                    if self.value(other) != 0:
                        self.learn(cell, self.value(product) / self.value(other), name)
                        changed = True

    def linear_algebra(self, system: System) -> None:
        """Unknowns fixed by the linear equations together (ratios linearised when their
        denominator or the ratio is known): least squares of each unit vector on the rows."""
        rows: list[dict] = []
        for _, terms, _ in system.linear:
            if all(self.defined(c) for c, _ in terms):
                rows.append({c: k for c, k in terms if self.unknown(c)})
        for _, ratio, num, den in system.ratios:
            if not all(self.defined(c) for c in [ratio, den] + [c for c, _ in num]):
                continue
            row: dict = {}
            for c, k in num:
                row[c] = row.get(c, 0.0) + k
            if not self.unknown(den):
                row[ratio] = row.get(ratio, 0.0) - self.value(den)
            elif not self.unknown(ratio):
                row[den] = row.get(den, 0.0) - self.value(ratio)
            else:
                continue
            rows.append({c: k for c, k in row.items() if self.unknown(c) and abs(k) > 1e-12})
        rows = [r for r in rows if r]
        # connected sets of unknowns (union-find)
        parent: dict = {}

        def find(x):
            while parent.setdefault(x, x) != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for row in rows:
            cells = list(row)
            for c in cells[1:]:
                parent[find(c)] = find(cells[0])
        groups: dict = {}
        for row in rows:
            groups.setdefault(find(next(iter(row))), []).append(row)
        for group in groups.values():
            cells = sorted({c for row in group for c in row})
            index = {c: j for j, c in enumerate(cells)}
            matrix = np.zeros((len(group), len(cells)))
            for i, row in enumerate(group):
                for c, k in row.items():
                    matrix[i, index[c]] = k * self.magnitude(c)
            matrix /= np.abs(matrix).max(axis=1, keepdims=True)
            solution, *_ = np.linalg.lstsq(matrix.T, np.eye(len(cells)), rcond=None)
            residual = np.abs(matrix.T @ solution - np.eye(len(cells))).max(axis=0)
            for c, r in zip(cells, residual, strict=True):
                if r < 1e-6:
                    self.learn(c, float("nan"), "linear combination")


def attack(bappeda: Path, restricted: Path) -> dict[tuple, tuple[float, str]]:
    """Every withheld cell the attacker recovers, with the value and the equation used."""
    pack = load_pack(bappeda, restricted)
    system = build_system(pack)
    attacker = Attacker(pack)
    attacker.substitute(system)
    attacker.linear_algebra(system)
    return attacker.recovered


def primary_only(restricted: Path, target: Path) -> Path:
    """The Bappeda tables with primary suppression only (the pack before this change)."""
    target.mkdir()
    con = duckdb.connect()
    install_rules(con)
    for table in pack_tables(BAPPEDA):
        source = f"read_parquet('{restricted / (table.name + '.parquet')}')"
        con.execute(f"copy ({suppressed_select(table, source)}) to "
                    f"'{target / (table.name + '.parquet')}' (format parquet)")
    (target / "data_dictionary.json").write_text(
        (restricted.parent / BAPPEDA / "data_dictionary.json").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    con.close()
    return target


@pytest.fixture
def pack(published_pack):  # noqa: F811
    """A real published pack from a small synthetic run."""
    return published_pack


def test_attacker_recovers_nothing_from_the_bappeda_pack(pack) -> None:
    recovered = attack(pack.bappeda_dir, pack.restricted_dir)
    shown = {cell: how for cell, (_, how) in list(recovered.items())[:10]}
    assert not recovered, f"{len(recovered)} withheld values recovered, e.g. {shown}"


def test_attacker_breaks_primary_suppression_alone(pack, tmp_path) -> None:
    """The attacker is strong enough to catch the old pack: kecamatan minus kelurahan, 1 −
    coverage, ratio × denominator."""
    weak = primary_only(pack.restricted_dir, tmp_path / "weak")
    recovered = attack(weak, pack.restricted_dir)
    how = [h for _, h in recovered.values()]
    assert len(recovered) > 10
    assert any("hierarchy" in h for h in how)
    assert any("/" in h or "= 1" in h for h in how)
    truth = load_pack(weak, pack.restricted_dir).truth
    exact = [
        (cell, value) for cell, (value, _) in recovered.items() if not np.isnan(value)
    ]
    assert exact and all(
        abs(value - float(truth[t][c].iloc[i])) <= 1e-6 * (1 + abs(value))
        for (t, i, c), value in exact
    )


def test_manifest_counts_the_withheld_values(pack) -> None:
    manifest = json.loads((pack.bappeda_dir / "manifest.json").read_text(encoding="utf-8"))
    counts = manifest["disclosure_control"]["suppressed"]
    con = duckdb.connect()
    for table, columns in counts.items():
        for column, steps in columns.items():
            flagged = con.execute(
                f"select count(*) filter (where {column}_suppressed) from "
                f"read_parquet('{pack.bappeda_dir / (table + '.parquet')}')"
            ).fetchall()[0][0]
            assert steps["primary"] + steps["secondary"] == flagged, (table, column)
    assert sum(s["secondary"] for c in counts.values() for s in c.values()) > 0
