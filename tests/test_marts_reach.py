"""program_reach: recipients, targeting, adequacy, unmatched and failed records, by hand.

Test line from 2031-01: z = 500,000. Reach window of 2031-12: 2031-01-01 .. 2031-12-31.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from marts_support import (
    CITY,
    KEC_BARAT,
    KEL_BANYURIP,
    KEL_KRAPYAK,
    KEL_MEDONO,
    KEL_PODOSUGIH,
    World,
    module_connection,
)

from tkpk.publish.dictionary import PROGRAM_REACH

EXACT = {"rel": 1e-12, "abs": 0.0}
SNAP = "2031-01"


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    """PKH (target DESIL <= 4) in snapshot 2031-01.

    Medono
      P1 poor y=400,000 n=3 desil 1: success 2031-03 750,000; failed 2031-06 750,000 then
         success 2031-07 750,000 (all by a member's NIK)          -> recipient, 1,500,000
      P2 poor y=300,000 n=2 desil 2: success 2031-05 750,000, NIK unknown, NO_KK = P2's card
                                                                   -> recipient by family card
      P3 poor y=450,000 n=4 desil 3: failed 2031-08 750,000; success 2030-12-31 (one day before
         the window)                                               -> not a recipient in 2031-12
      NP      y=1,000,000 n=1 desil 8: success 2031-09 1,000,000  -> recipient outside T
      T5      y=550,000 n=2 desil 4: nothing                       -> excluded target
    Podosugih
      P4 poor y=480,000 n=1 desil 4: success 2031-01-01 (first day of the window of 2031-12,
         outside the window of 2032-01)
    Krapyak
      K1 poor y=350,000 n=1 desil 1: success 2031-10 750,000 on a record naming Medono
         -> counted in Krapyak, where the household lives
    Unmatched (NIK and NO_KK match nobody)
      success 2031-11 600,000 naming Banyurip; success 2031-11 200,000 naming no kelurahan;
      failed 2031-11 300,000 naming no kelurahan
    2032-01: a BPNT record makes the period reported.
    """
    w = World(module_connection(tmp_path_factory.mktemp("marts")))
    w.snapshot(SNAP)
    _, p1 = w.household(SNAP, 400_000, KEL_MEDONO, members=3, desil=1)
    w.record("PKH", "2031-03-20", nik=p1[0], amount=750_000)
    w.record("PKH", "2031-06-20", nik=p1[0], amount=750_000, status="failed")
    w.record("PKH", "2031-07-02", nik=p1[0], amount=750_000)
    w.household(SNAP, 300_000, KEL_MEDONO, members=2, desil=2, no_kk="3375010101999902")
    w.record("PKH", "2031-05-20", amount=750_000, no_kk="3375010101999902")
    _, p3 = w.household(SNAP, 450_000, KEL_MEDONO, members=4, desil=3)
    w.record("PKH", "2031-08-20", nik=p3[1], amount=750_000, status="failed")
    w.record("PKH", "2030-12-31", nik=p3[2], amount=750_000)
    _, np_ = w.household(SNAP, 1_000_000, KEL_MEDONO, members=1, desil=8)
    w.record("PKH", "2031-09-20", nik=np_[0], amount=1_000_000)
    w.household(SNAP, 550_000, KEL_MEDONO, members=2, desil=4)
    _, p4 = w.household(SNAP, 480_000, KEL_PODOSUGIH, members=1, desil=4)
    w.record("PKH", "2031-01-01", nik=p4[0], amount=750_000)
    _, k1 = w.household(SNAP, 350_000, KEL_KRAPYAK, members=1, desil=1)
    w.record("PKH", "2031-10-20", nik=k1[0], amount=750_000, kelurahan=KEL_MEDONO)
    w.record("PKH", "2031-11-20", amount=600_000, kelurahan=KEL_BANYURIP)
    w.record("PKH", "2031-11-20", amount=200_000)
    w.record("PKH", "2031-11-21", amount=300_000, status="failed")
    w.record("BPNT", "2031-12-05", nik=k1[0], amount=600_000)
    w.record("BPNT", "2032-01-05", nik=k1[0], amount=600_000)
    w.build()
    yield w
    w.con.close()


def reach(w: World, period: str, area: str, program: str = "PKH") -> dict:
    """One program_reach row."""
    return w.row("program_reach", period, area, program=program)


def test_medono_by_hand(world):
    row = reach(world, "2031-12", KEL_MEDONO)
    assert row["program_name"] == "Program Keluarga Harapan"
    # R = {P1, P2, NP}; amount 1,500,000 + 750,000 + 1,000,000
    assert row["recipient_households"] == 3
    assert row["amount_idr"] == Decimal("3250000.00")
    # T = {P1, P2, P3, T5}; R & T = {P1, P2}; P = {P1, P2, P3}; R & P = {P1, P2}
    assert (row["target_households"], row["recipient_target_households"]) == (4, 2)
    assert (row["poor_households"], row["recipient_poor_households"]) == (3, 2)
    assert row["coverage_target"] == pytest.approx(2 / 4, **EXACT)
    assert row["exclusion_error"] == pytest.approx(2 / 4, **EXACT)
    assert row["inclusion_error"] == pytest.approx(1 / 3, **EXACT)
    assert row["coverage_poor"] == pytest.approx(2 / 3, **EXACT)
    # 12 * (3 * 400,000 + 2 * 300,000 + 1 * 1,000,000) = 33,600,000
    assert row["recipient_consumption_idr_year"] == Decimal("33600000.00")
    assert row["adequacy"] == pytest.approx(3_250_000 / 33_600_000, **EXACT)
    # failed: P1's 2031-06 and P3's 2031-08 attempts, attributed to their kelurahan
    assert (row["failed_records"], row["failed_amount_idr"]) == (2, Decimal("1500000.00"))
    assert (row["unmatched_records"], row["unmatched_amount_idr"]) == (0, Decimal("0"))


def test_household_counted_where_it_lives(world):
    row = reach(world, "2031-12", KEL_KRAPYAK)
    # K1 only, although the record names Medono; 750,000 / (12 * 1 * 350,000)
    assert (row["recipient_households"], row["amount_idr"]) == (1, Decimal("750000.00"))
    assert (row["coverage_target"], row["exclusion_error"], row["inclusion_error"]) == (1, 0, 0)
    assert row["adequacy"] == pytest.approx(750_000 / 4_200_000, **EXACT)


def test_unmatched_payment_goes_to_the_kelurahan_on_the_record(world):
    row = reach(world, "2031-12", KEL_BANYURIP)
    assert (row["unmatched_records"], row["unmatched_amount_idr"]) == (1, Decimal("600000.00"))
    assert row["recipient_households"] == 0
    # empty area: every ratio null
    for ratio in ("coverage_target", "exclusion_error", "inclusion_error", "coverage_poor"):
        assert row[ratio] is None, ratio
    assert row["adequacy"] is None


def test_city_row_by_hand(world):
    row = reach(world, "2031-12", CITY)
    # R = {P1, P2, NP, P4, K1}: 3,250,000 + 750,000 + 750,000
    assert (row["recipient_households"], row["amount_idr"]) == (5, Decimal("4750000.00"))
    # T = {P1, P2, P3, T5, P4, K1} = 6, R & T = 4; P = {P1, P2, P3, P4, K1} = 5, R & P = 4
    assert (row["target_households"], row["recipient_target_households"]) == (6, 4)
    assert (row["poor_households"], row["recipient_poor_households"]) == (5, 4)
    assert row["coverage_target"] == pytest.approx(4 / 6, **EXACT)
    assert row["inclusion_error"] == pytest.approx(1 / 5, **EXACT)
    assert row["coverage_poor"] == pytest.approx(4 / 5, **EXACT)
    # unmatched: Banyurip's 600,000 and the 200,000 naming no kelurahan (city row only)
    assert (row["unmatched_records"], row["unmatched_amount_idr"]) == (2, Decimal("800000.00"))
    # failed: 2 in Medono + 1 naming no kelurahan
    assert (row["failed_records"], row["failed_amount_idr"]) == (3, Decimal("1800000.00"))
    # consumption: 33,600,000 + 12 * 480,000 + 12 * 350,000 = 43,560,000
    assert row["adequacy"] == pytest.approx(4_750_000 / 43_560_000, **EXACT)


def test_record_without_kelurahan_counts_in_the_city_row_only(world):
    unmatched = world.con.execute(
        "select sum(unmatched_records) from program_reach "
        "where period = date '2031-12-01' and program = 'PKH' and area_level = ?",
        ["kelurahan"],
    ).fetchall()[0][0]
    assert unmatched == 1  # Banyurip's; the city row has 2


def test_reach_window_boundaries(world):
    # P4's payment of 2031-01-01 is inside the window of 2031-12, outside that of 2032-01
    assert reach(world, "2031-12", KEL_PODOSUGIH)["recipient_households"] == 1
    assert reach(world, "2032-01", KEL_PODOSUGIH)["recipient_households"] == 0
    # P3's payment of 2030-12-31 is outside the window of 2031-12: P3 is no recipient
    recipients = world.con.execute(
        "select count(*) from int_household_program where period = date '2031-12-01' "
        "and program = 'PKH' and recipient"
    ).fetchall()[0][0]
    assert recipients == 5


def test_failed_then_success_is_a_recipient_and_failed_only_is_not(world):
    rows = world.con.execute(
        """
        select s.pengeluaran_per_kapita, p.recipient, p.success_records, p.failed_records
        from int_household_program p
        join int_household_status s using (period, household_key)
        where p.period = date '2031-12-01' and p.program = 'PKH'
          and s.kelurahan_code = ?
        order by 1
        """,
        [KEL_MEDONO],
    ).fetchall()
    assert rows == [
        (Decimal("300000.00"), True, 1, 0),  # P2, by family card
        (Decimal("400000.00"), True, 2, 1),  # P1: success, failed, success
        (Decimal("450000.00"), False, 0, 1),  # P3: failed only (its success is out of window)
        (Decimal("1000000.00"), True, 1, 0),  # NP
    ]


def test_family_card_match(world):
    method = world.con.execute(
        "select match_method, records from int_program_monthly "
        "where record_period = date '2031-05-01'"
    ).fetchall()
    assert method == [("no_kk", 1)]


def test_program_with_no_recipients(world):
    row = reach(world, "2031-12", KEL_MEDONO, program="ZAKAT")
    assert (row["recipient_households"], row["amount_idr"]) == (0, Decimal("0"))
    # T (DESIL <= 4) = 4 households, none reached
    assert (row["target_households"], row["coverage_target"], row["exclusion_error"]) == (4, 0, 1)
    assert row["coverage_poor"] == 0.0
    assert (row["inclusion_error"], row["adequacy"]) == (None, None)


def test_every_area_and_program_has_a_row(world):
    counts = world.con.execute(
        "select period, count(*) from program_reach group by period order by period"
    ).fetchall()
    # 32 areas x 9 catalog programs, for each of the reported periods
    assert {c for _, c in counts} == {32 * 9}


def test_kecamatan_counts_are_sums_of_kelurahan(world):
    barat = reach(world, "2031-12", KEC_BARAT)
    medono = reach(world, "2031-12", KEL_MEDONO)
    podosugih = reach(world, "2031-12", KEL_PODOSUGIH)
    # the registry's additive columns; the failed and unmatched records too (not additive up to
    # the city: a record naming no kelurahan counts in the city row only)
    additive = [c.name for c in PROGRAM_REACH.columns if c.additive]
    for column in (*additive, "failed_records", "unmatched_records"):
        assert barat[column] == medono[column] + podosugih[column], column


def test_pbi_premium_member_months(con):
    """PBI-JK: each active member-month is one successful record of the catalog premium.

    Q (Medono, y=400,000, n=3, desil 3): members a, b active 2031-01..2031-06 (12 member-months);
    c active 2031-01..2031-03 and NONAKTIF 2031-04..2031-06 (3 active, 3 inactive).
    Window of 2031-06: 15 active member-months x 42,000 = 630,000; inactive rows are neither
    successful nor failed. adequacy is NULL: the premium is paid to the insurer (catalog
    adequacy = false), it adds nothing to the household's consumption.
    R2 (Medono, poor y=450,000, n=1, desil 2): only NONAKTIF rows: not a recipient, unreached.
    """
    w = World(con)
    w.snapshot(SNAP)
    _, (a, b, c) = w.household(SNAP, 400_000, KEL_MEDONO, members=3, desil=3)
    _, (r2,) = w.household(SNAP, 450_000, KEL_MEDONO, members=1, desil=2)
    for month in range(1, 7):
        when = f"2031-{month:02d}"
        for nik in (a, b):
            w.record("PBI_JK", when, nik=nik, amount=42_000, source_kind="pbi")
        status = "success" if month <= 3 else "inactive"
        w.record("PBI_JK", when, nik=c, amount=42_000, status=status, source_kind="pbi")
        w.record("PBI_JK", when, nik=r2, amount=42_000, status="inactive", source_kind="pbi")
    w.build()
    row = reach(w, "2031-06", KEL_MEDONO, program="PBI_JK")
    assert (row["recipient_households"], row["amount_idr"]) == (1, Decimal("630000.00"))
    assert (row["failed_records"], row["failed_amount_idr"]) == (0, Decimal("0"))
    assert row["adequacy"] is None
    # T for PBI-JK is DESIL <= 5: both households; R & T = {Q}
    assert (row["target_households"], row["coverage_target"]) == (2, 0.5)
    # 2031-03: a, b, c active for 3 months = 9 member-months = 378,000
    assert reach(w, "2031-03", KEL_MEDONO, program="PBI_JK")["amount_idr"] == Decimal("378000")
    poverty = w.row("kelurahan_poverty", "2031-06", KEL_MEDONO)
    assert (poverty["poor_households"], poverty["poor_households_unreached"]) == (2, 1)


def test_adequacy_only_for_programs_adding_to_consumption(con):
    """Catalog adequacy = false (PBI-JK premiums, RTLH house repair, PELATIHAN training): NULL
    even with recipients and an amount; a cash program (BLT) keeps its ratio.

    Medono: a (y=400,000, n=1) gets PELATIHAN (no value), RTLH 15,000,000 and BLT 400,000;
    b (y=450,000, n=1) gets PELATIHAN (0) and PBI-JK 42,000.
    BLT adequacy = 400,000 / (12 * 1 * 400,000) = 1/12.
    """
    w = World(con)
    w.snapshot(SNAP)
    _, (a,) = w.household(SNAP, 400_000, KEL_MEDONO, members=1, desil=2)
    _, (b,) = w.household(SNAP, 450_000, KEL_MEDONO, members=1, desil=3)
    w.record("PELATIHAN", "2031-02-10", nik=a, amount=None, source_kind="local")
    w.record("PELATIHAN", "2031-02-10", nik=b, amount=0, source_kind="local")
    w.record("RTLH", "2031-02-11", nik=a, amount=15_000_000, source_kind="local")
    w.record("BLT", "2031-02-12", nik=a, amount=400_000)
    w.record("PBI_JK", "2031-02", nik=b, amount=42_000, source_kind="pbi")
    w.build()
    row = reach(w, "2031-02", KEL_MEDONO, program="PELATIHAN")
    assert (row["recipient_households"], row["amount_idr"]) == (2, Decimal("0"))
    assert row["adequacy"] is None
    rtlh = reach(w, "2031-02", KEL_MEDONO, program="RTLH")
    assert (rtlh["recipient_households"], rtlh["amount_idr"]) == (1, Decimal("15000000"))
    assert rtlh["adequacy"] is None
    pbi = reach(w, "2031-02", KEL_MEDONO, program="PBI_JK")
    assert (pbi["recipient_households"], pbi["adequacy"]) == (1, None)
    assert reach(w, "2031-02", KEL_MEDONO, program="BLT")["adequacy"] == pytest.approx(
        1 / 12, **EXACT
    )
    # no recipient at all: NULL (empty denominator)
    assert reach(w, "2031-02", KEL_KRAPYAK, program="BLT")["adequacy"] is None


def test_person_programs_count_households_and_sum_members(con):
    # PIP paid per student: two children of one household are one recipient household
    w = World(con)
    w.snapshot(SNAP)
    _, niks = w.household(SNAP, 400_000, KEL_MEDONO, members=3, desil=2)
    w.record("PIP", "2031-04-10", nik=niks[1], amount=450_000)
    w.record("PIP", "2031-04-10", nik=niks[2], amount=750_000)
    w.build()
    row = reach(w, "2031-04", KEL_MEDONO, program="PIP")
    assert (row["recipient_households"], row["amount_idr"]) == (1, Decimal("1200000.00"))


def test_identifier_in_two_households_matches_the_smallest_id_once(con):
    """A NIK (or NO_KK) registered in two households of one snapshot (a registry error): the
    record goes to the smallest id_keluarga, once. A NIK with a leading zero is its own key."""
    w = World(con)
    w.snapshot(SNAP)
    shared = "0375010101000007"
    w.household(SNAP, 400_000, KEL_PODOSUGIH, members=[{"nik": shared}], desil=2,
                id_keluarga="HB", no_kk="3375010101999999")
    w.household(SNAP, 450_000, KEL_MEDONO, members=[{"nik": shared}], desil=2,
                id_keluarga="HA", no_kk="3375010101999999")
    _, (other,) = w.household(SNAP, 300_000, KEL_KRAPYAK, members=[{"nik": "375010101000007"}])
    w.record("PKH", "2031-03-10", nik=shared, amount=750_000)
    w.record("PKH", "2031-04-10", nik="3375999999999998", no_kk="3375010101999999",
             amount=250_000)
    w.build()
    rows = con.execute(
        "select h.id_keluarga, m.kelurahan_code, m.match_method, m.records, m.amount_idr "
        "from int_program_monthly m join int_household_snapshot h using (snapshot, household_key) "
        "order by m.record_period"
    ).fetchall()
    assert rows == [
        ("HA", KEL_MEDONO, "nik", 1, Decimal("750000.00")),
        ("HA", KEL_MEDONO, "no_kk", 1, Decimal("250000.00")),
    ]
    row = reach(w, "2031-04", KEL_MEDONO)
    assert (row["recipient_households"], row["amount_idr"]) == (1, Decimal("1000000.00"))
    assert reach(w, "2031-04", KEL_PODOSUGIH)["recipient_households"] == 0
    assert reach(w, "2031-04", KEL_KRAPYAK)["recipient_households"] == 0


def test_records_match_each_snapshot_that_sees_them(con):
    """A record month seen by two snapshots is matched in each against that snapshot's
    households: the family moved from Medono (2031-01) to Krapyak (2031-04)."""
    w = World(con)
    w.snapshot("2031-01")
    w.snapshot("2031-04")
    members = [{"nik": "3375010101000042"}]
    w.household("2031-01", 400_000, KEL_MEDONO, members=members, desil=2, id_keluarga="HM")
    w.household("2031-04", 400_000, KEL_KRAPYAK, members=members, desil=2, id_keluarga="HM")
    w.record("PKH", "2031-02-10", nik="3375010101000042", amount=750_000)
    w.build()
    rows = con.execute(
        "select snapshot, kelurahan_code, match_method from int_program_monthly order by 1"
    ).fetchall()
    assert [(s.isoformat(), k, m) for s, k, m in rows] == [
        ("2031-01-01", KEL_MEDONO, "nik"),
        ("2031-04-01", KEL_KRAPYAK, "nik"),
    ]
    assert reach(w, "2031-02", KEL_MEDONO)["recipient_households"] == 1
    assert reach(w, "2031-04", KEL_KRAPYAK)["recipient_households"] == 1
    assert reach(w, "2031-04", KEL_MEDONO)["recipient_households"] == 0
