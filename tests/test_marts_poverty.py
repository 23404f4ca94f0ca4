"""kelurahan_poverty: monetary poverty figures on hand-written households, worked out by hand.

Test line from 2031-01: z = 500,000 and z_e = 300,000 rupiah per person per month.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from marts_support import (
    CITY,
    KEC_BARAT,
    KEC_SELATAN,
    KEL_BANYURIP,
    KEL_KRAPYAK,
    KEL_MEDONO,
    KEL_PODOSUGIH,
    World,
    module_connection,
)

from tkpk.publish.dictionary import KELURAHAN_POVERTY

EXACT = {"rel": 1e-12, "abs": 0.0}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    """Seven households in three kelurahan of snapshot 2031-03; no program records.

    Medono:     A y=499,999.99 n=2 desil 1  poor (just under the line)
                B y=500,000.00 n=3 desil 4  not poor (at the line: y < z is strict); near-poor
                C y=200,000    n=4 desil 2  poor and extreme (200,000 < 300,000)
                D y=599,999.99 n=1 desil 5  near-poor (5y = 2,999,999.95 < 6z = 3,000,000)
                E y=600,000    n=1 desil 7  not near-poor (5y = 3,000,000 = 6z)
    Podosugih:  F y=800,000    n=2 desil 9  (a kelurahan with no poor)
    Krapyak:    G y=250,000    n=5 desil 3  poor and extreme
    Banyurip and the other 23 kelurahan: empty.
    """
    w = World(module_connection(tmp_path_factory.mktemp("marts")))
    w.snapshot("2031-03")
    w.household("2031-03", "499999.99", KEL_MEDONO, members=2, desil=1)
    w.household("2031-03", "500000.00", KEL_MEDONO, members=3, desil=4)
    w.household("2031-03", 200_000, KEL_MEDONO, members=4, desil=2)
    w.household("2031-03", "599999.99", KEL_MEDONO, members=1, desil=5)
    w.household("2031-03", 600_000, KEL_MEDONO, members=1, desil=7)
    w.household("2031-03", 800_000, KEL_PODOSUGIH, members=2, desil=9)
    w.household("2031-03", 250_000, KEL_KRAPYAK, members=5, desil=3)
    w.build()
    yield w
    w.con.close()


def test_medono_by_hand(world):
    row = world.row("kelurahan_poverty", "2031-03", KEL_MEDONO)
    assert row["area_level"] == "kelurahan"
    assert row["area_name"] == "Medono"
    assert row["kecamatan_code"] == KEC_BARAT
    assert row["poverty_line_idr"] == Decimal("500000.00")
    assert row["extreme_poverty_line_idr"] == Decimal("300000.00")
    # N = 2 + 3 + 4 + 1 + 1 = 11 persons in 5 households; poor: A (2) and C (4)
    assert (row["population"], row["households"]) == (11, 5)
    assert (row["poor_population"], row["poor_households"]) == (6, 2)
    assert row["p0"] == pytest.approx(6 / 11, **EXACT)
    # gap: 2 * 0.01 + 4 * 300,000 = 1,200,000.02 rupiah per month
    assert row["poverty_gap_idr_month"] == Decimal("1200000.02")
    # p1 = 1,200,000.02 / (500,000 * 11)
    assert row["p1"] == pytest.approx(1_200_000.02 / 5_500_000, **EXACT)
    # p2 = (2 * 0.01^2 + 4 * 300,000^2) / (500,000^2 * 11) = 360,000,000,000.0002 / 2.75e12
    assert row["p2"] == pytest.approx(360_000_000_000.0002 / 2.75e12, **EXACT)
    # extreme: C only (4 persons); near-poor: B (3) and D (1), not E
    assert row["extreme_poor_population"] == 4
    assert row["extreme_p0"] == pytest.approx(4 / 11, **EXACT)
    assert row["near_poor_population"] == 4
    # DESIL 1-4: A, B, C
    assert row["households_desil_1_4"] == 3
    # no program at all: both poor households are unreached
    assert row["poor_households_unreached"] == 2


def test_strict_inequality_at_the_line(world):
    status = dict(
        world.con.execute(
            "select pengeluaran_per_kapita, poor from int_household_status "
            "where kelurahan_code = ?",
            [KEL_MEDONO],
        ).fetchall()
    )
    assert status[Decimal("499999.99")] is True
    assert status[Decimal("500000.00")] is False


def test_near_poor_boundary(world):
    near = dict(
        world.con.execute(
            "select pengeluaran_per_kapita, near_poor from int_household_status "
            "where kelurahan_code = ?",
            [KEL_MEDONO],
        ).fetchall()
    )
    # z <= y < 1.2 z = 600,000
    assert near[Decimal("500000.00")] is True
    assert near[Decimal("599999.99")] is True
    assert near[Decimal("600000.00")] is False
    assert near[Decimal("499999.99")] is False


def test_kelurahan_with_no_poor(world):
    row = world.row("kelurahan_poverty", "2031-03", KEL_PODOSUGIH)
    assert (row["population"], row["households"]) == (2, 1)
    assert (row["poor_population"], row["poor_households"]) == (0, 0)
    assert (row["p0"], row["p1"], row["p2"]) == (0.0, 0.0, 0.0)
    assert row["poverty_gap_idr_month"] == Decimal("0")
    assert row["extreme_p0"] == 0.0
    assert row["poor_households_unreached"] == 0


def test_empty_kelurahan_and_kecamatan_have_rows_with_zero_counts_and_null_ratios(world):
    for area in (KEL_BANYURIP, KEC_SELATAN):
        row = world.row("kelurahan_poverty", "2031-03", area)
        assert (row["population"], row["households"], row["poor_population"]) == (0, 0, 0)
        assert (row["poor_households"], row["near_poor_population"]) == (0, 0)
        assert row["poverty_gap_idr_month"] == Decimal("0")
        for ratio in ("p0", "p1", "p2", "extreme_p0", "mpi_h", "mpi_a", "mpi_m0"):
            assert row[ratio] is None, ratio
        assert row["deprived_crowding"] is None
        assert row["snapshot"].isoformat() == "2031-03-01"


def test_every_area_has_a_row(world):
    count = world.con.execute(
        "select count(*) from kelurahan_poverty where period = date '2031-03-01'"
    ).fetchall()[0][0]
    areas = world.con.execute("select count(*) from ref_area").fetchall()[0][0]
    assert count == areas == 27 + 4 + 1


def test_kecamatan_and_city_by_hand(world):
    barat = world.row("kelurahan_poverty", "2031-03", KEC_BARAT)
    # Medono + Podosugih: N = 11 + 2 = 13, poor 6, gap 1,200,000.02
    assert barat["area_level"] == "kecamatan"
    assert (barat["population"], barat["households"], barat["poor_population"]) == (13, 6, 6)
    assert barat["p0"] == pytest.approx(6 / 13, **EXACT)
    assert barat["p1"] == pytest.approx(1_200_000.02 / (500_000 * 13), **EXACT)
    city = world.row("kelurahan_poverty", "2031-03", CITY)
    # + Krapyak: N = 18, 7 households, poor 6 + 5 = 11 in 3 households
    assert city["area_level"] == "kota"
    assert city["kecamatan_code"] is None
    assert (city["population"], city["households"]) == (18, 7)
    assert (city["poor_population"], city["poor_households"]) == (11, 3)
    # gap: 1,200,000.02 + 5 * 250,000 = 2,450,000.02
    assert city["poverty_gap_idr_month"] == Decimal("2450000.02")
    assert city["p1"] == pytest.approx(2_450_000.02 / (500_000 * 18), **EXACT)
    # p2 = (360,000,000,000.0002 + 5 * 250,000^2) / (500,000^2 * 18)
    assert city["p2"] == pytest.approx(672_500_000_000.0002 / 4.5e12, **EXACT)
    # extreme: C (4) + G (5) = 9; not an average of the kelurahan rates
    assert city["extreme_p0"] == pytest.approx(9 / 18, **EXACT)


#: The counts the registry declares additive: kelurahan values add up to kecamatan and city.
COUNT_COLUMNS = tuple(c.name for c in KELURAHAN_POVERTY.columns if c.additive)


def test_kecamatan_and_city_counts_are_sums_of_kelurahan_counts(world):
    sums = ", ".join(f"sum(k.{c}) = p.{c}" for c in COUNT_COLUMNS)
    rows = world.con.execute(
        f"""
        select p.area_code, {sums}
        from kelurahan_poverty p
        join kelurahan_poverty k
            on k.period = p.period and k.area_level = 'kelurahan'
            and (p.area_level = 'kota' or k.kecamatan_code = p.area_code)
        where p.area_level in ('kecamatan', 'kota')
        group by p.area_code, {", ".join(f"p.{c}" for c in COUNT_COLUMNS)}
        """
    ).fetchall()
    assert len(rows) == 5
    for row in rows:
        assert all(row[1:]), row


def test_fgt_ordering_everywhere(world):
    bad = world.con.execute(
        "select count(*) from kelurahan_poverty where not (p2 <= p1 and p1 <= p0)"
    ).fetchall()[0][0]
    assert bad == 0


def test_everyone_at_zero_expenditure_gives_p0_p1_p2_all_one(con):
    # y = 0: (z - y) / z = 1 for every person, so p0 = p1 = p2 = 1 exactly
    w = World(con)
    w.snapshot("2031-03")
    w.household("2031-03", 0, KEL_MEDONO, members=3)
    w.household("2031-03", 0, KEL_MEDONO, members=4)
    w.build()
    row = w.row("kelurahan_poverty", "2031-03", KEL_MEDONO)
    assert (row["p0"], row["p1"], row["p2"]) == (1.0, 1.0, 1.0)
    assert row["poverty_gap_idr_month"] == Decimal("3500000.00")  # 7 * 500,000


def test_household_size_is_the_accepted_member_count(con):
    # declared JUMLAH_ANGGOTA 7, but 3 accepted member rows: n_h = 3
    w = World(con)
    w.snapshot("2031-03")
    hid, _ = w.household("2031-03", 100_000, KEL_MEDONO, members=3)
    w.flush()
    con.execute("update registry_households set jumlah_anggota = 7 where id_keluarga = ?", [hid])
    w.build()
    row = w.row("kelurahan_poverty", "2031-03", KEL_MEDONO)
    assert row["population"] == 3


def test_gini_and_median_by_hand(con):
    """Snapshot 2031-01, persons weighted by n_h (y in thousands of rupiah):
    Medono: 100 (n=1), 200 (n=2), 400 (n=1): N = 4, mu = 900/4 = 225.
      sum over unordered pairs n_h n_g |y_h - y_g| = 1*2*100 + 1*1*300 + 2*1*200 = 900,
      ordered 1,800; gini = 1,800 / (2 * 16 * 225) = 0.25.
      cumulative weights 1, 3, 4; N/2 = 2: median = 200 (first y reaching 2).
    Podosugih: 300 (n=1), 300 (n=1) (a tie): gini 0, median 300.
    Kecamatan Barat (Medono + Podosugih, from the households, not the kelurahan ginis):
      100 (1), 200 (2), 300 (2), 400 (1): N = 6, mu = 1,500/6 = 250; unordered pairs:
      200 + 400 + 300 + 400 + 400 + 200 = 1,900, ordered 3,800;
      gini = 3,800 / (2 * 36 * 250) = 19/90; cumulative 1, 3, 5, 6, N/2 = 3: median 200.
    Krapyak (empty): both NULL.
    """
    w = World(con)
    w.snapshot("2031-01")
    w.household("2031-01", 100_000, KEL_MEDONO, members=1)
    w.household("2031-01", 200_000, KEL_MEDONO, members=2)
    w.household("2031-01", 400_000, KEL_MEDONO, members=1)
    w.household("2031-01", 300_000, KEL_PODOSUGIH, members=1)
    w.household("2031-01", 300_000, KEL_PODOSUGIH, members=1)
    w.build()
    medono = w.row("kelurahan_poverty", "2031-01", KEL_MEDONO)
    assert medono["gini"] == pytest.approx(0.25, rel=1e-12)
    assert medono["median_expenditure_idr"] == Decimal("200000")
    podosugih = w.row("kelurahan_poverty", "2031-01", KEL_PODOSUGIH)
    assert (podosugih["gini"], podosugih["median_expenditure_idr"]) == (0.0, Decimal("300000"))
    barat = w.row("kelurahan_poverty", "2031-01", KEC_BARAT)
    assert barat["gini"] == pytest.approx(19 / 90, rel=1e-12)
    assert barat["median_expenditure_idr"] == Decimal("200000")
    empty = w.row("kelurahan_poverty", "2031-01", KEL_KRAPYAK)
    assert (empty["gini"], empty["median_expenditure_idr"]) == (None, None)
