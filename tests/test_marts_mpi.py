"""Multidimensional poverty (Alkire-Foster, k = 1/3): deprivations, score in eighteenths, H/A/M0.

Snapshot 2031-06: ages are completed years on 2031-06-30.
"""

from __future__ import annotations

from datetime import date

import pytest
from marts_support import (
    ADULT,
    KEL_BANYURIP,
    KEL_KRAPYAK,
    KEL_MEDONO,
    KEL_PODOSUGIH,
    World,
)

EXACT = {"rel": 1e-12, "abs": 0.0}
SNAP = "2031-06"


def person(birth: date, pendidikan: int = 4, sekolah: int = 2, jkn: int = 2) -> dict:
    """A member with the given birth date and codes."""
    return {"birth": birth, "pendidikan": pendidikan, "sekolah": sekolah, "jkn": jkn}


def flags(w: World, hid: str) -> dict:
    """The deprivation flags and the score of one household."""
    cursor = w.con.execute(
        "select * exclude (snapshot, id_keluarga, no_kk, kelurahan_code, rt, rw, desil, "
        "pengeluaran_per_kapita) from int_household_snapshot where id_keluarga = ?",
        [hid],
    )
    row = cursor.fetchall()[0]
    return dict(zip([c[0] for c in cursor.description], row, strict=True))


def deprived(result: dict) -> set[str]:
    """Names of the indicators a household is deprived in."""
    return {
        name.removeprefix("deprived_")
        for name, value in result.items()
        if name.startswith("deprived_") and value
    }


AGE_15 = date(2016, 6, 30)  # 15th birthday on the reference day 2031-06-30
AGE_14 = date(2016, 7, 1)  # turns 15 the day after
AGE_7 = date(2024, 6, 30)
AGE_6 = date(2024, 7, 1)
AGE_16 = date(2015, 6, 30)


def test_each_indicator_and_its_weight_in_eighteenths(con):
    w = World(con)
    w.snapshot(SNAP)
    cases = {
        # schooling: both members 15+ have PENDIDIKAN < 2 (a schooled 14-year-old does not count)
        "schooling": w.household(
            SNAP,
            9e5,
            members=[person(ADULT["birth"], 1), person(AGE_15, 1, 1), person(AGE_14, 3, 1)],
        )[0],
        # attendance: a 15-year-old no longer in school (15 is inside the 7-15 band)
        "attendance": w.household(
            SNAP, 9e5, members=[person(ADULT["birth"]), person(AGE_15, 3, 2)]
        )[0],
        "attendance_age_7": w.household(
            SNAP, 9e5, members=[person(ADULT["birth"]), person(AGE_7, 0, 0)]
        )[0],
        "insurance": w.household(
            SNAP, 9e5, members=[person(ADULT["birth"]), person(ADULT["birth"], jkn=0)]
        )[0],
        "electricity": w.household(SNAP, 9e5, sumber_penerangan=4)[0],
        "water": w.household(SNAP, 9e5, sumber_air_minum=6)[0],
        "water_11": w.household(SNAP, 9e5, sumber_air_minum=11)[0],
        "sanitation": w.household(SNAP, 9e5, fasilitas_bab=3)[0],
        "housing_floor": w.household(SNAP, 9e5, jenis_lantai=5)[0],
        "housing_wall": w.household(SNAP, 9e5, jenis_dinding=4)[0],
        "cooking_fuel": w.household(SNAP, 9e5, bahan_bakar_masak=6)[0],
        # crowding: 15.99 m2 for 2 persons is 7.995 m2 each (< 8)
        "crowding": w.household(SNAP, 9e5, members=2, luas_lantai=15.99)[0],
        # not deprived: 16 m2 for 2 persons is exactly 8 m2 each
        "crowding_boundary": w.household(SNAP, 9e5, members=2, luas_lantai=16)[0],
        # not deprived: out of the bands (6 and 16 years old, not in school)
        "out_of_band": w.household(
            SNAP, 9e5, members=[person(ADULT["birth"]), person(AGE_6, 0, 0), person(AGE_16, 3, 2)]
        )[0],
        # not deprived in schooling: nobody aged 15+ (the band is empty)
        "no_member_15_plus": w.household(SNAP, 9e5, members=[person(AGE_14, 0, 1)])[0],
        # cooking fuel 7 (does not cook) and water 7 (protected spring) are not deprivations
        "not_listed_codes": w.household(SNAP, 9e5, bahan_bakar_masak=7, sumber_air_minum=7)[0],
    }
    w.build()
    expected = {
        "schooling": ({"schooling"}, 3),
        "attendance": ({"attendance"}, 3),
        "attendance_age_7": ({"attendance"}, 3),
        "insurance": ({"insurance"}, 6),
        "electricity": ({"electricity"}, 1),
        "water": ({"water"}, 1),
        "water_11": ({"water"}, 1),
        "sanitation": ({"sanitation"}, 1),
        "housing_floor": ({"housing"}, 1),
        "housing_wall": ({"housing"}, 1),
        "cooking_fuel": ({"cooking_fuel"}, 1),
        "crowding": ({"crowding"}, 1),
        "crowding_boundary": (set(), 0),
        "out_of_band": (set(), 0),
        "no_member_15_plus": (set(), 0),
        "not_listed_codes": (set(), 0),
    }
    for name, hid in cases.items():
        result = flags(w, hid)
        assert (deprived(result), result["mpi_score_18"]) == expected[name], name


def test_poverty_cutoff_is_exactly_six_eighteenths(con):
    w = World(con)
    w.snapshot(SNAP)
    # insurance alone: 6/18 = 1/3 -> poor (c >= 1/3 holds with equality)
    six = w.household(SNAP, 9e5, members=[person(ADULT["birth"], jkn=0)])[0]
    # five living-standard indicators: 5/18 < 1/3 -> not poor
    five = w.household(
        SNAP,
        9e5,
        sumber_penerangan=4,
        sumber_air_minum=9,
        fasilitas_bab=4,
        jenis_lantai=6,
        bahan_bakar_masak=5,
    )[0]
    # schooling (3) + three living-standard indicators (3) = 6/18 -> poor
    mixed = w.household(
        SNAP,
        9e5,
        members=[person(ADULT["birth"], 0)],
        sumber_penerangan=4,
        sumber_air_minum=8,
        fasilitas_bab=3,
    )[0]
    w.build()
    status = dict(con.execute("select id_keluarga, mpi_poor from int_household_status").fetchall())
    assert (status[six], status[five], status[mixed]) == (True, False, True)
    scores = dict(con.execute("select id_keluarga, mpi_score from households").fetchall())
    assert str(scores[six]) == "0.3333"
    assert str(scores[five]) == "0.2778"


def test_headcount_intensity_and_m0_by_hand(con):
    """Medono, N = 10.

    H1 n=2 insurance (one member uninsured)               c = 6/18  poor
    H2 n=3 electricity, water, sanitation, housing, fuel  c = 5/18  not poor
    H3 n=1 insurance + electricity + water + fuel         c = 9/18  poor
    H4 n=4 nothing                                        c = 0
    H = (2 + 1) / 10 = 0.3
    A = (2 * 6 + 1 * 9) / (18 * 3) = 21 / 54
    M0 = 21 / (18 * 10) = 21 / 180 = H * A
    """
    w = World(con)
    w.snapshot(SNAP)
    w.household(
        SNAP, 9e5, KEL_MEDONO, members=[person(ADULT["birth"], jkn=0), person(ADULT["birth"])]
    )
    w.household(
        SNAP,
        9e5,
        KEL_MEDONO,
        members=3,
        sumber_penerangan=4,
        sumber_air_minum=10,
        fasilitas_bab=3,
        jenis_dinding=6,
        bahan_bakar_masak=5,
    )
    w.household(
        SNAP,
        9e5,
        KEL_MEDONO,
        members=[person(ADULT["birth"], jkn=0)],
        sumber_penerangan=4,
        sumber_air_minum=6,
        bahan_bakar_masak=6,
    )
    w.household(SNAP, 9e5, KEL_MEDONO, members=4)
    w.household(SNAP, 9e5, KEL_KRAPYAK, members=2)  # elsewhere: does not change Medono
    w.build()
    row = w.row("kelurahan_poverty", SNAP, KEL_MEDONO)
    assert row["population"] == 10
    assert row["mpi_poor_population"] == 3
    assert row["mpi_h"] == pytest.approx(0.3, **EXACT)
    assert row["mpi_a"] == pytest.approx(21 / 54, **EXACT)
    assert row["mpi_m0"] == pytest.approx(21 / 180, **EXACT)
    assert row["mpi_m0"] == pytest.approx(row["mpi_h"] * row["mpi_a"], **EXACT)
    # uncensored deprivation rates: persons in deprived households / N
    assert row["deprived_insurance"] == pytest.approx(3 / 10, **EXACT)  # H1 + H3
    assert row["deprived_electricity"] == pytest.approx(4 / 10, **EXACT)  # H2 + H3
    assert row["deprived_water"] == pytest.approx(4 / 10, **EXACT)
    assert row["deprived_sanitation"] == pytest.approx(3 / 10, **EXACT)  # H2
    assert row["deprived_housing"] == pytest.approx(3 / 10, **EXACT)
    assert row["deprived_cooking_fuel"] == pytest.approx(4 / 10, **EXACT)
    assert row["deprived_crowding"] == 0.0
    assert row["deprived_schooling"] == 0.0
    assert row["deprived_attendance"] == 0.0
    # an area where nobody is multidimensionally poor: A is null, H and M0 are 0
    krapyak = w.row("kelurahan_poverty", SNAP, KEL_KRAPYAK)
    assert (krapyak["mpi_h"], krapyak["mpi_a"], krapyak["mpi_m0"]) == (0.0, None, 0.0)
    empty = w.row("kelurahan_poverty", SNAP, KEL_BANYURIP)
    assert (empty["mpi_h"], empty["mpi_a"], empty["mpi_m0"]) == (None, None, None)
    assert w.row("kelurahan_poverty", SNAP, KEL_PODOSUGIH)["population"] == 0


def test_age_on_the_last_day_of_a_leap_february(con):
    # snapshot 2032-02: reference day 2032-02-29; born 2017-02-29 does not exist, so born
    # 2016-02-29 turns 16 on the reference day and 2017-03-01 is still 14
    w = World(con)
    w.snapshot("2032-02")
    sixteen = w.household(
        "2032-02", 9e5, members=[person(ADULT["birth"]), person(date(2016, 2, 29), 3, 2)]
    )[0]
    fourteen = w.household(
        "2032-02", 9e5, members=[person(ADULT["birth"]), person(date(2017, 3, 1), 3, 2)]
    )[0]
    w.build()
    assert flags(w, sixteen)["deprived_attendance"] is False  # 16: out of the 7-15 band
    assert flags(w, fourteen)["deprived_attendance"] is True


def test_born_on_29_february_is_a_year_older_on_1_march_of_common_years(con):
    # snapshot 2031-02: reference day 2031-02-28. Born 2016-02-29: still 14 (the band "15+" is
    # empty, so the household is not deprived in schooling); born 2016-02-28: 15 (deprived)
    w = World(con)
    w.snapshot("2031-02")
    still_14 = w.household("2031-02", 9e5, members=[person(date(2016, 2, 29), 1, 1)])[0]
    now_15 = w.household("2031-02", 9e5, members=[person(date(2016, 2, 28), 1, 1)])[0]
    w.build()
    assert flags(w, still_14)["deprived_schooling"] is False
    assert flags(w, now_15)["deprived_schooling"] is True


def test_missing_indicator_leaves_the_mpi_sample_not_the_population(con):
    """Medono, snapshot 2031-06 (each household's members are healthy adults unless noted):
      H1 n=3 complete, uninsured member: insurance (6/18): MPI poor, c = 1/3
      H2 n=2 complete, deprived in nothing
      H3 n=4 SUMBER_PENERANGAN NULL (flagged) and uninsured: electricity missing -> out
      H4 n=1 a member without a birth date: schooling and attendance missing -> out
      H5 n=2 a 16-year-old with STATUS_SEKOLAH NULL: outside the attendance band (7-15), and
         PENDIDIKAN present: complete, deprived in nothing
      H6 n=1 JENIS_DINDING NULL, JENIS_LANTAI 5 (earth-like): housing reads both: missing -> out
    N = 13, N_mpi = 3 + 2 + 2 = 7, incomplete = 6.
    mpi_h = 3/7, mpi_a = 6/18 = 1/3, mpi_m0 = 3 * 6 / (18 * 7) = 1/7,
    deprived_insurance = 3/7 (H3 is uninsured too, but outside the sample), others 0.
    Podosugih: one household (n=2) with FASILITAS_BAB NULL: N_mpi = 0, every MPI ratio NULL.
    """
    w = World(con)
    w.snapshot(SNAP)
    adult = ADULT["birth"]
    h1, _ = w.household(SNAP, 9e5, members=[person(adult), person(adult), person(adult, jkn=0)])
    w.household(SNAP, 9e5, members=2)
    h3, _ = w.household(
        SNAP, 9e5, members=[person(adult, jkn=0)] + [person(adult)] * 3, sumber_penerangan=None
    )
    h4, _ = w.household(SNAP, 9e5, members=[person(None)])
    h5, _ = w.household(SNAP, 9e5, members=[person(adult), person(AGE_16, 3, None)])
    h6, _ = w.household(SNAP, 9e5, members=1, jenis_lantai=5, jenis_dinding=None)
    w.household(SNAP, 9e5, KEL_PODOSUGIH, members=2, fasilitas_bab=None)
    w.build()
    complete = dict(
        con.execute("select id_keluarga, mpi_complete from int_household_snapshot").fetchall()
    )
    assert [complete[h] for h in (h1, h3, h4, h5, h6)] == [True, False, False, True, False]
    row = w.row("kelurahan_poverty", SNAP, KEL_MEDONO)
    assert (row["population"], row["mpi_population"], row["mpi_incomplete_population"]) == (
        13, 7, 6
    )
    assert row["mpi_poor_population"] == 3
    assert row["mpi_h"] == pytest.approx(3 / 7, **EXACT)
    assert row["mpi_a"] == pytest.approx(1 / 3, **EXACT)
    assert row["mpi_m0"] == pytest.approx(1 / 7, **EXACT)
    assert row["deprived_insurance"] == pytest.approx(3 / 7, **EXACT)
    assert (row["deprived_electricity"], row["deprived_housing"]) == (0.0, 0.0)
    # the monetary figures keep every household
    assert row["households"] == 6
    empty = w.row("kelurahan_poverty", SNAP, KEL_PODOSUGIH)
    assert (empty["population"], empty["mpi_population"], empty["mpi_incomplete_population"]) == (
        2, 0, 2
    )
    assert [empty[c] for c in ("mpi_h", "mpi_a", "mpi_m0", "deprived_water")] == [None] * 4
    # the household list: no score outside the sample
    scores = dict(con.execute("select id_keluarga, mpi_poor from households").fetchall())
    assert (scores[h1], scores[h3]) == (True, None)
