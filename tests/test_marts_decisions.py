"""poverty_profile and poverty_transitions on hand-written households, worked out by hand.

Test line from 2031-01: z = 500,000 and z_e = 300,000 rupiah per person per month. Snapshots
2031-03 (ages on 2031-03-31) and 2031-06.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from marts_support import (
    CITY,
    KEL_BANYURIP,
    KEL_KRAPYAK,
    KEL_MEDONO,
    KEL_PODOSUGIH,
    World,
    module_connection,
)

HEAD, SPOUSE, CHILD, PARENT = 1, 2, 3, 6


def person(birth: str | None, sex: str | None = "P", hubungan: int = CHILD, **extra) -> dict:
    """A member row: birth date (ISO or None), sex, relation to the head."""
    return {"birth": None if birth is None else date.fromisoformat(birth), "sex": sex,
            "hubungan": hubungan, "sekolah": 1, **extra}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    """Snapshot 2031-03:

    K1 Medono     y=400,000 (poor)      female head born 1970-03-31 (61 on 2031-03-31), husband
                                        born 1968 (63)
    K2 Medono     y=250,000 (extreme)   male head born 1971-04-01 (59: birthday tomorrow, no
                                        head_60plus), child born 2024-04-01 (6), child born
                                        2024-03-31 (7) with a disability; head uninsured (MPI)
    K3 Medono     y=800,000             female head without birth date (head_female only),
                                        parent born 1955-06-15 (75) with disability flagged
    K4 Podosugih  y=300,000 (poor)      no head row (spouse and child only): no head group
    K6 Banyurip   y=800,000             head of flagged sex born 1950 (80): head_60plus only
    Snapshot 2031-06:
    K1 Medono y=450,000 (stayed poor), K3 Medono y=450,000 (entered poverty), K4 moved to Krapyak
    y=600,000 (exited poverty, counted in Krapyak), K6 unchanged, K5 new in Krapyak, K2 left.
    """
    w = World(module_connection(tmp_path_factory.mktemp("decisions")))
    w.snapshot("2031-03")
    w.snapshot("2031-06")
    k1 = [person("1970-03-31", "P", HEAD), person("1968-01-01", "L", SPOUSE)]
    w.household("2031-03", 400_000, KEL_MEDONO, members=k1, id_keluarga="K1")
    w.household("2031-03", 250_000, KEL_MEDONO, id_keluarga="K2", members=[
        person("1971-04-01", "L", HEAD, jkn=0),
        person("2024-04-01"),
        person("2024-03-31", disabilitas=1),
    ])
    k3 = [person(None, "P", HEAD), person("1955-06-15", "L", PARENT, disabilitas=None)]
    w.household("2031-03", 800_000, KEL_MEDONO, members=k3, id_keluarga="K3")
    k4 = [person("1980-01-01", "P", SPOUSE), person("2000-01-01", "L", CHILD)]
    w.household("2031-03", 300_000, KEL_PODOSUGIH, members=k4, id_keluarga="K4")
    k6 = [person("1950-01-01", None, HEAD)]
    w.household("2031-03", 800_000, KEL_BANYURIP, members=k6, id_keluarga="K6")
    _, k1_niks = w.household("2031-06", 450_000, KEL_MEDONO, members=k1, id_keluarga="K1")
    w.household("2031-06", 450_000, KEL_MEDONO, members=k3, id_keluarga="K3")
    _, k4_niks = w.household("2031-06", 600_000, KEL_KRAPYAK, members=k4, id_keluarga="K4")
    w.record("BPNT", "2031-04", nik=k1_niks[0])
    w.record("PKH", "2031-05", nik=k4_niks[1])
    w.household("2031-06", 800_000, KEL_BANYURIP, members=k6, id_keluarga="K6")
    w.household("2031-06", 700_000, KEL_KRAPYAK, members=[person("1990-01-01", "L", HEAD)],
                id_keluarga="K5")
    w.build()
    yield w
    w.con.close()


def profile(world: World, period: str, area: str, group: str) -> tuple:
    """(population, poor_population, p0, extreme_poor_population, mpi_poor_population,
    households) of one profile row."""
    row = world.row("poverty_profile", period, area, profile_group=group)
    return tuple(row[c] for c in ("population", "poor_population", "p0",
                                  "extreme_poor_population", "mpi_poor_population",
                                  "households"))


@pytest.mark.parametrize(
    ("group", "expected"),
    [
        # K1 (2 persons, poor) and K3 (2, not poor): the female head aged 61 and the one
        # without a birth date
        ("head_female", (4, 2, 0.5, 0, 0, 2)),
        # K1 only: K2's head is 59 (birthday on 1 April), K3's head has no birth date
        ("head_60plus", (2, 2, 1.0, 0, 0, 1)),
        # K2's seven-year-old (K3's parent has a flagged disability)
        ("member_disabled", (3, 3, 1.0, 3, 3, 1)),
        ("member_70plus", (2, 0, 0.0, 0, 0, 1)),
        # K2's two children (born 2024-04-01: 6; born 2024-03-31: 7)
        ("children_0_17", (2, 2, 1.0, 2, 2, 1)),
        ("children_0_6", (1, 1, 1.0, 1, 1, 1)),
        # K1's head (61) and husband (63), K3's parent (75)
        ("elderly_60plus", (3, 2, 2 / 3, 0, 0, 2)),
        ("persons_disabled", (1, 1, 1.0, 1, 1, 1)),
    ],
)
def test_profile_of_medono_by_hand(world, group, expected):
    got = profile(world, "2031-03", KEL_MEDONO, group)
    assert got[:2] == expected[:2] and got[3:] == expected[3:]
    assert got[2] == pytest.approx(expected[2], rel=1e-12)


def test_a_household_without_a_head_is_in_no_head_group(world):
    assert profile(world, "2031-03", KEL_PODOSUGIH, "head_female")[0] == 0
    assert profile(world, "2031-03", KEL_PODOSUGIH, "head_60plus")[0] == 0


def test_a_head_of_flagged_sex_is_only_in_the_age_group(world):
    assert profile(world, "2031-03", KEL_BANYURIP, "head_female")[0] == 0
    assert profile(world, "2031-03", KEL_BANYURIP, "head_60plus")[::5] == (1, 1)


def test_profile_city_rows_and_empty_groups(world):
    # head_60plus: K1 (2) and K6 (1); head_female: K1 and K3 only
    assert profile(world, "2031-03", CITY, "head_60plus")[0] == 3
    assert profile(world, "2031-03", CITY, "head_female")[0] == 4
    row = world.row("poverty_profile", "2031-03", KEL_KRAPYAK, profile_group="children_0_6")
    assert (row["population"], row["households"], row["p0"]) == (0, 0, None)
    groups = world.con.execute(
        "select count(distinct profile_group), count(*) from poverty_profile "
        "where period = '2031-03-01'").fetchone()
    areas = world.con.execute("select count(*) from ref_area").fetchone()[0]
    assert groups == (8, 8 * areas)


def transitions(world: World, area: str) -> dict[str, tuple[int, int]]:
    """state -> (households, population) of the 2031-03 -> 2031-06 pair in ``area``."""
    rows = world.con.execute(
        "select * from poverty_transitions where snapshot_from = '2031-03-01' and area_code = ?",
        [area]).df()
    assert len(rows) == 1
    row = rows.iloc[0]
    assert row["snapshot_to"].date() == date(2031, 6, 1)
    states = ("stayed_poor", "entered_poverty", "exited_poverty", "stayed_non_poor", "new",
              "left")
    return {s: (int(row[f"{s}_households"]), int(row[f"{s}_population"])) for s in states}


def test_transitions_in_medono(world):
    # K1 stayed poor, K3 entered poverty, K2 left (3 persons of 2031-03)
    assert transitions(world, KEL_MEDONO) == {
        "stayed_poor": (1, 2), "entered_poverty": (1, 2), "exited_poverty": (0, 0),
        "stayed_non_poor": (0, 0), "new": (0, 0), "left": (1, 3),
    }


def test_a_household_that_moves_is_counted_where_it_lives_in_the_second_snapshot(world):
    # K4 moved from Podosugih to Krapyak and exited poverty; K5 is new in Krapyak
    assert transitions(world, KEL_KRAPYAK) == {
        "stayed_poor": (0, 0), "entered_poverty": (0, 0), "exited_poverty": (1, 2),
        "stayed_non_poor": (0, 0), "new": (1, 1), "left": (0, 0),
    }
    assert set(transitions(world, KEL_PODOSUGIH).values()) == {(0, 0)}


def test_transitions_of_the_city(world):
    assert transitions(world, CITY) == {
        "stayed_poor": (1, 2), "entered_poverty": (1, 2), "exited_poverty": (1, 2),
        "stayed_non_poor": (1, 1), "new": (1, 1), "left": (1, 3),
    }
    # program receipt in the 12 months ending 2031-06: K4 (exited) and K1 (stayed poor)
    row = world.con.execute(
        "select exited_poverty_recipient_households, stayed_poor_recipient_households "
        "from poverty_transitions where area_code = ?", [CITY]).fetchone()
    assert row == (1, 1)
    krapyak = world.con.execute(
        "select exited_poverty_recipient_households, stayed_poor_recipient_households "
        "from poverty_transitions where area_code = ?", [KEL_KRAPYAK]).fetchone()
    assert krapyak == (1, 0)
    pairs = world.con.execute(
        "select distinct snapshot_from, snapshot_to from poverty_transitions").fetchall()
    assert pairs == [(date(2031, 3, 1), date(2031, 6, 1))]
