"""program_incidence, program_overlap, funding_sources and the households working list, by hand.

Test line from 2031-01: z = 500,000. Snapshot 2031-01, period 2031-03 (window 2030-04..2031-03).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from marts_support import CITY, KEL_KRAPYAK, KEL_MEDONO, World, module_connection

from tkpk.ingest.schema import FUNDING_SOURCES

EXACT = {"rel": 1e-12, "abs": 0.0}
SNAP = "2031-01"
PERIOD = "2031-03"


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    """Five households.

    Medono
      A desil 1 poor     n=2: PKH 750,000 (APBN), BPNT 600,000 (APBN), PBI-JK one member-month
                              42,000 (segment PBI APBD -> APBD)               3 programs
      B desil 1 poor     n=1: BPNT 600,000 (APBN), MODAL_USAHA 2,000,000 (SUMBER_DANA CSR)  2
      C desil 3 poor     n=1: nothing                                                    0
      D desil 4 not poor n=1: PKH 750,000, BPNT 600,000 (APBN)                           2
    Krapyak
      E desil 9 not poor n=1: BPNT 600,000 (APBN), ZAKAT 1,000,000 (BAZNAS)              2
    """
    w = World(module_connection(tmp_path_factory.mktemp("marts")))
    w.snapshot(SNAP)
    _, a = w.household(SNAP, 300_000, KEL_MEDONO, members=2, desil=1, id_keluarga="A")
    _, b = w.household(SNAP, 350_000, KEL_MEDONO, members=1, desil=1, id_keluarga="B")
    w.household(SNAP, 400_000, KEL_MEDONO, members=1, desil=3, id_keluarga="C")
    _, dd = w.household(SNAP, 520_000, KEL_MEDONO, members=1, desil=4, id_keluarga="D")
    _, e = w.household(SNAP, 900_000, KEL_KRAPYAK, members=1, desil=9, id_keluarga="E")
    w.record("PKH", "2031-02-10", nik=a[0], amount=750_000)
    w.record("BPNT", "2031-02-10", nik=a[0], amount=600_000)
    w.record("PBI_JK", "2031-03", nik=a[1], amount=42_000, funding="APBD", source_kind="pbi")
    w.record("BPNT", "2031-02-10", nik=b[0], amount=600_000)
    w.record("MODAL_USAHA", "2031-01-15", nik=b[0], amount=2_000_000, funding="CSR",
             source_kind="local")  # fmt: skip
    w.record("PKH", "2031-02-10", nik=dd[0], amount=750_000)
    w.record("BPNT", "2031-02-10", nik=dd[0], amount=600_000)
    w.record("BPNT", "2031-02-10", nik=e[0], amount=600_000)
    w.record("ZAKAT", "2031-03-01", nik=e[0], amount=1_000_000, source_kind="local")
    w.build()
    yield w
    w.con.close()


def incidence(w: World, program: str) -> dict[int, tuple]:
    """desil -> (recipients, amount, beneficiary incidence, benefit incidence) in PERIOD."""
    rows = w.con.execute(
        "select desil, recipient_households, amount_idr, beneficiary_incidence, "
        "benefit_incidence from program_incidence where period = date '2031-03-01' "
        "and program = ? order by desil",
        [program],
    ).fetchall()
    return {row[0]: row[1:] for row in rows}


def test_incidence_by_desil(world):
    bpnt = incidence(world, "BPNT")
    assert sorted(bpnt) == list(range(1, 11))
    # recipients: desil 1 = {A, B}, desil 4 = {D}, desil 9 = {E}: 4 households, 2,400,000
    assert bpnt[1] == (2, Decimal("1200000.00"), 0.5, 0.5)
    assert bpnt[4] == (1, Decimal("600000.00"), 0.25, 0.25)
    assert bpnt[9] == (1, Decimal("600000.00"), 0.25, 0.25)
    assert bpnt[2] == (0, Decimal("0"), 0.0, 0.0)
    pkh = incidence(world, "PKH")
    assert (pkh[1][2], pkh[4][2], pkh[1][3], pkh[4][3]) == (0.5, 0.5, 0.5, 0.5)
    # a program with no recipients: shares are null
    assert incidence(world, "BLT")[1] == (0, Decimal("0"), None, None)


def test_incidence_shares_add_up_to_one(world):
    rows = world.con.execute(
        "select program, sum(beneficiary_incidence), sum(benefit_incidence) "
        "from program_incidence where period = date '2031-03-01' "
        "group by program having sum(recipient_households) > 0"
    ).fetchall()
    assert len(rows) == 5
    for program, beneficiary, benefit in rows:
        assert beneficiary == pytest.approx(1.0) and benefit == pytest.approx(1.0), program


def test_overlap_by_hand(world):
    medono = world.row("program_overlap", PERIOD, KEL_MEDONO)
    # poor: C (0 programs), B (2), A (3)
    assert medono["poor_households"] == 3
    assert [medono[f"poor_programs_{k}"] for k in ("0", "1", "2", "3plus")] == [1, 0, 1, 1]
    # target (DESIL <= 4): C (0), B (2), D (2), A (3)
    assert medono["target_households"] == 4
    assert [medono[f"target_programs_{k}"] for k in ("0", "1", "2", "3plus")] == [1, 0, 2, 1]
    krapyak = world.row("program_overlap", PERIOD, KEL_KRAPYAK)
    assert (krapyak["poor_households"], krapyak["target_households"]) == (0, 0)
    city = world.row("program_overlap", PERIOD, CITY)
    assert city["target_households"] == 4 and city["poor_programs_3plus"] == 1


def test_funding_sources_by_hand(world):
    def funding(area: str, source: str) -> tuple:
        row = world.row("funding_sources", PERIOD, area, funding_source=source)
        return row["recipient_households"], row["amount_idr"]

    # APBN in Medono: A (750,000 + 600,000), B (600,000), D (750,000 + 600,000)
    assert funding(KEL_MEDONO, "APBN") == (3, Decimal("3300000.00"))
    assert funding(KEL_MEDONO, "APBD") == (1, Decimal("42000.00"))
    assert funding(KEL_MEDONO, "CSR") == (1, Decimal("2000000.00"))
    assert funding(KEL_KRAPYAK, "APBN") == (1, Decimal("600000.00"))
    assert funding(KEL_KRAPYAK, "BAZNAS") == (1, Decimal("1000000.00"))
    assert funding(CITY, "APBN") == (4, Decimal("3900000.00"))
    assert funding(CITY, "DAK") == (0, Decimal("0"))
    sources = {
        row[0]
        for row in world.con.execute(
            "select distinct funding_source from funding_sources"
        ).fetchall()
    }
    assert sources == set(FUNDING_SOURCES)


def test_funding_amounts_add_up_to_program_amounts(world):
    funding_total, reach_total = world.con.execute(
        """
        select
            (select sum(amount_idr) from funding_sources
             where period = date '2031-03-01' and area_code = ?),
            (select sum(amount_idr) from program_reach
             where period = date '2031-03-01' and area_code = ?)
        """,
        [CITY, CITY],
    ).fetchall()[0]
    # 3,900,000 + 42,000 + 2,000,000 + 1,000,000
    assert funding_total == reach_total == Decimal("6942000.00")


def test_households_working_list(world):
    cursor = world.con.execute("select * from households order by id_keluarga")
    names = [c[0] for c in cursor.description]
    rows = {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
    assert sorted(rows) == ["A", "B", "C", "D", "E"]
    a, c = rows["A"], rows["C"]
    assert a["programs_received"] == ["BPNT", "PBI_JK", "PKH"]
    assert (a["program_count"], a["poor"], a["unreached_poor"]) == (3, True, False)
    assert (c["program_count"], c["programs_received"], c["unreached_poor"]) == (0, [], True)
    assert rows["E"]["unreached_poor"] is False  # not poor
    assert (a["kelurahan_name"], a["kecamatan_code"]) == ("Medono", "33.75.01")
    assert a["household_size"] == 2
    assert a["snapshot"].isoformat() == "2031-01-01"


def test_households_use_the_latest_usable_snapshot(con):
    w = World(con)
    w.snapshot("2031-01")
    w.snapshot("2031-04")
    w.snapshot("2031-07", usable=False)
    w.household("2031-01", 300_000, KEL_MEDONO, id_keluarga="OLD")
    w.household("2031-04", 300_000, KEL_MEDONO, id_keluarga="NEW")
    w.household("2031-07", 300_000, KEL_MEDONO, id_keluarga="UNUSABLE")
    w.build()
    rows = con.execute("select id_keluarga, snapshot from households").fetchall()
    assert [(r[0], r[1].isoformat()) for r in rows] == [("NEW", "2031-04-01")]
