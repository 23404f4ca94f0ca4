"""Secondary suppression of the Bappeda pack, on hand-written rows with hand-worked answers."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from tkpk.publish.dictionary import (
    BAPPEDA,
    DATA_QUALITY,
    KELURAHAN_POVERTY,
    PROGRAM_OVERLAP,
    PROGRAM_REACH,
    Table,
    exported_columns,
)
from tkpk.publish.suppression import (
    area_parents,
    install_rules,
    suppress_tables,
    suppressed_select,
)

PERIOD = pd.Timestamp("2026-09-01")
#: one kecamatan with three kelurahan, and the city
AREAS = [
    ("kota", "33.75", None),
    ("kecamatan", "33.75.01", "33.75.01"),
    ("kelurahan", "33.75.01.1001", "33.75.01"),
    ("kelurahan", "33.75.01.1002", "33.75.01"),
    ("kelurahan", "33.75.01.1003", "33.75.01"),
]


def _frame(table: Table, rows: list[dict]) -> pd.DataFrame:
    """Rows with every column of ``table`` (unset numbers null)."""
    frame = pd.DataFrame(rows)
    for column in table.columns:
        if column.name not in frame:
            frame[column.name] = None if column.type == "VARCHAR" else np.nan
    return frame[[c.name for c in table.columns]]


def _areas(**values: list) -> list[dict]:
    return [
        {"period": PERIOD, "area_level": level, "area_code": code, "area_name": code,
         "kecamatan_code": kecamatan, "snapshot": PERIOD,
         **{name: column[i] for name, column in values.items()}}
        for i, (level, code, kecamatan) in enumerate(AREAS)
    ]


def _suppress(table: Table, frame: pd.DataFrame) -> dict[str, list[bool]]:
    con = duckdb.connect()
    con.register("rows", frame)
    con.execute("create table t as select * from rows")
    result = suppress_tables(con, [table], {table.name: "t"})
    con.close()
    # the engine reads rows in key order: kota, kecamatan, kelurahan 1001-1003 sort like AREAS?
    order = frame.sort_values(list(table.key)).index.to_numpy()
    flags = result.flags[table.name]
    out = {}
    for column, values in flags.items():
        back = np.zeros(len(values), dtype=bool)
        back[order] = values
        out[column] = back.tolist()
    return out


def test_area_parents_from_dotted_codes() -> None:
    codes = pd.Series(["33.75", "33.75.01", "33.75.01.1001", "33.75.02.2001"])
    parents = [p if isinstance(p, str) else None for p in area_parents(codes)]
    assert parents == [None, "33.75", "33.75.01", "33.75"]


def test_a_kelurahan_count_is_not_its_kecamatan_minus_the_others() -> None:
    """poor_population 3, 7, 12 in a kecamatan of 22: 3 is withheld (1–4); 22 − 7 − 12 would
    give it back, so the smallest other kelurahan (7) is withheld too. p0 = 7/200 with the
    published population 200 would give back the 7: p0 there is withheld as well. The kecamatan
    and the city keep their values (3 + 7 = 10 is all that can be learnt)."""
    frame = _frame(KELURAHAN_POVERTY, _areas(
        population=[600, 600, 100, 200, 300],
        households=[150, 150, 25, 50, 75],
        poor_population=[22, 22, 3, 7, 12],
        p0=[22 / 600, 22 / 600, 0.03, 0.035, 0.04],
    ))
    flags = _suppress(KELURAHAN_POVERTY, frame)
    assert flags["poor_population"] == [False, False, True, True, False]
    assert flags["p0"] == [False, False, True, True, False]
    assert flags["population"] == [False] * 5
    assert flags["households"] == [False] * 5


def test_buckets_and_their_total() -> None:
    """A kelurahan's poor households 20 = 0 programs 2 + 1 program 8 + 2 programs 10 + 3 or more
    0: the 2 is withheld, and within the row the smallest other non-zero bucket (8) too (the
    total minus the other buckets would give it back). In the area hierarchy, the 2 and the 8 of
    kelurahan 1001 are then each the only unknown of their bucket's kecamatan sum: the smallest
    non-zero other kelurahan of each bucket (1002: 5 and 9) is withheld too."""
    rows = _areas(
        poor_households=[50, 50, 20, 15, 15],
        poor_programs_0=[12, 12, 2, 5, 5],
        poor_programs_1=[27, 27, 8, 9, 10],
        poor_programs_2=[11, 11, 10, 1, 0],
        poor_programs_3plus=[0, 0, 0, 0, 0],
    )
    flags = _suppress(PROGRAM_OVERLAP, _frame(PROGRAM_OVERLAP, rows))
    assert flags["poor_programs_0"] == [False, False, True, True, False]
    assert flags["poor_programs_1"][2:4] == [True, True]
    # 1002's 1 program-2 bucket (1) is withheld; 10 − 1 is the smallest partner: 1003's 0 is a
    # zero (protects nothing), so 1001's 10 is withheld
    assert flags["poor_programs_2"] == [False, False, True, True, False]
    assert flags["poor_households"] == [False] * 5


def test_a_complementary_ratio_is_withheld_with_its_partner() -> None:
    """City row of a program: 20 target households, 3 reached: coverage 0.15 is withheld (its
    numerator is 1–4) and so is the exclusion error 0.85 (1 − 0.85 = 0.15; 0.85 × 20 = 17 =
    20 − 3 would also give the 3 back)."""
    row = {"period": PERIOD, "area_level": "kota", "area_code": "33.75", "area_name": "Kota",
           "kecamatan_code": None, "snapshot": PERIOD, "program": "PKH", "program_name": "PKH",
           "recipient_households": 40, "amount_idr": 1e8, "target_households": 20,
           "recipient_target_households": 3, "poor_households": 30,
           "recipient_poor_households": 12, "coverage_target": 0.15, "exclusion_error": 0.85,
           "inclusion_error": 37 / 40, "coverage_poor": 0.4}
    flags = _suppress(PROGRAM_REACH, _frame(PROGRAM_REACH, [row]))
    assert flags["recipient_target_households"] == [True]
    assert flags["coverage_target"] == [True]
    assert flags["exclusion_error"] == [True]
    # inclusion_error × 40 = 40 − 3 would give the 3 back too
    assert flags["inclusion_error"] == [True]
    assert flags["coverage_poor"] == [False]
    assert flags["target_households"] == [False]


def test_data_quality_counts_are_not_suppressed() -> None:
    """Rows per file hold no personal data: the disclosure rule exempts them (no flag columns,
    a file of 3 rows shows 3)."""
    columns = [c.name for c in exported_columns(DATA_QUALITY, BAPPEDA)]
    assert not [c for c in columns if c.endswith("_suppressed")]
    frame = pd.DataFrame({"run_id": ["r"], "file_name": ["f.csv"], "kind": ["members"],
                          "sha256": ["0" * 64], "file_outcome": ["loaded"], "file_reason": [None],
                          "rows_read": [3], "accepted": [2], "quarantined": [1], "duplicate": [0],
                          "skipped_lines": [0]})
    con = duckdb.connect()
    con.register("rows", frame)
    install_rules(con)
    row = con.execute(suppressed_select(DATA_QUALITY, "rows")).fetchall()[0]
    con.close()
    assert row[6:] == (3, 2, 1, 0, 0)


def test_equation_keys_group_as_the_tuples_do() -> None:
    """The integer key codes (``_Keys``) and the equation numbering (``_first_appearance``)
    group rows as the key tuples would, numbered by first appearance like pandas' ngroup."""
    from tkpk.publish.suppression import _first_appearance, _Keys

    frame = pd.DataFrame({
        "period": pd.to_datetime(["2026-08-01", "2026-09-01", "2026-08-01", "2026-09-01"] * 2),
        "area": ["33.75", "33.75.01", "33.75", "33.75.01", "33.75.01", "33.75", "33.75", "x"],
        "value": [0.0, -0.0, 1.5, 2.0, 0.0, 1.5, 1.5, 2.0],
    })
    keys = _Keys()
    codes = keys.key([frame["period"], frame["area"], frame["value"]], len(frame))
    tuples = pd.Series(list(zip(frame["period"], frame["area"], frame["value"], strict=True)))
    expected = tuples.groupby(tuples, sort=False).ngroup().to_numpy()
    numbered, count = _first_appearance(codes)
    assert numbered.tolist() == expected.tolist()
    assert count == len(set(tuples))
    # the same values in another table get the same codes
    again = keys.key([frame["period"][::-1], frame["area"][::-1], frame["value"][::-1]], 8)
    assert again.tolist() == codes[::-1].tolist()
    assert keys.key([], 3).tolist() == [keys.key([], 1)[0]] * 3
