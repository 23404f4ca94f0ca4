"""Poverty lines by area (int_period_lines) and the reference-override folder, by hand.

The packaged lines are replaced by a hand-made table so every choice is visible:

| area_code | effective_from | line | extreme | status |
| --- | --- | --- | --- | --- |
| 00 | 2031-01 | 300,000 | 200,000 | official |
| 33 | 2031-01 | 400,000 | | provisional |
| 33.75 | 2031-03 | 500,000 | | official |
| 33 | 2031-03 | 450,000 | 250,000 | provisional |
| 33 | 2031-05 | 520,000 | | official |
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest
from marts_support import CITY, KEL_MEDONO, World, d

from tkpk import reference

HAND_LINES = [
    ("00", "2031-01", 300_000, 200_000, "official"),
    ("33", "2031-01", 400_000, None, "provisional"),
    ("33.75", "2031-03", 500_000, None, "official"),
    ("33", "2031-03", 450_000, 250_000, "provisional"),
    ("33", "2031-05", 520_000, None, "official"),
]


def hand_lines(con) -> None:
    """Replace ref_poverty_line by HAND_LINES."""
    con.execute("delete from ref_poverty_line")
    for area, month, line, extreme, status in HAND_LINES:
        con.execute(
            "insert into ref_poverty_line values (?, ?, ?, ?, ?, 'hand-made')",
            [area, d(month), line, extreme, status],
        )


def test_line_choice_latest_date_then_most_specific_area(con):
    """2030-12: no line yet (all NULL, no poverty counts).
    2031-01/02: 00 and 33 from the same date: the province (more specific) wins: 400,000,
      provisional, scope province; extreme only on the national row: 200,000.
    2031-03/04: 33.75 and 33 from the same date: the kab/kota wins: 500,000 official kabkota;
      the extreme line comes from the rows that have one: 33 of 2031-03 (250,000).
    2031-05/06: 33 of 2031-05 is later than 33.75 of 2031-03: 520,000 official, scope province;
      extreme still 250,000.
    A household of Medono with y = 450,000 (n = 2) is poor exactly when z > 450,000.
    """
    w = World(con)
    hand_lines(con)
    w.snapshot("2030-12")
    w.household("2030-12", 450_000, KEL_MEDONO, members=2)
    for month in range(1, 7):
        w.record("PKH", f"2031-{month:02d}-10")
    w.build()
    lines = con.execute(
        "select period, poverty_line_idr, poverty_line_effective_from, poverty_line_status, "
        "poverty_line_scope, extreme_poverty_line_idr from int_period_lines "
        "where line_area_code = ? order by period",
        [CITY],
    ).fetchall()
    province_01 = (Decimal("400000"), d("2031-01"), "provisional", "province", Decimal("200000"))
    city_03 = (Decimal("500000"), d("2031-03"), "official", "kabkota", Decimal("250000"))
    province_05 = (Decimal("520000"), d("2031-05"), "official", "province", Decimal("250000"))
    assert lines == [
        (d("2030-12"), None, None, None, None, None),
        (d("2031-01"), *province_01),
        (d("2031-02"), *province_01),
        (d("2031-03"), *city_03),
        (d("2031-04"), *city_03),
        (d("2031-05"), *province_05),
        (d("2031-06"), *province_05),
    ]
    rows = {
        r[0]: r[1:]
        for r in con.execute(
            "select period, poverty_line_idr, poverty_line_scope, poor_population, p0 "
            "from kelurahan_poverty where area_code = ? order by period",
            [KEL_MEDONO],
        ).fetchall()
    }
    assert rows[d("2030-12")] == (None, None, None, None)
    assert rows[d("2031-01")] == (Decimal("400000"), "province", 0, 0.0)
    assert rows[d("2031-03")] == (Decimal("500000"), "kabkota", 2, 1.0)
    assert rows[d("2031-05")] == (Decimal("520000"), "province", 2, 1.0)
    reach = w.row("program_reach", "2031-03", KEL_MEDONO, program="PKH")
    assert (reach["poverty_line_idr"], reach["poverty_line_scope"]) == (
        Decimal("500000"), "kabkota"
    )
    assert reach["poverty_line_effective_from"] == d("2031-03")


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    """A province run (--region 33): Kota Pekalongan (33.75) has its own line from 2031-01 (the
    tests' line, 500,000); another kab/kota (33.26) has none and falls back to the province's
    2025-09 line (570,870, extreme 391,000)."""
    from marts_support import module_connection

    con = module_connection(tmp_path_factory.mktemp("province"))
    reference.install(con, "33")
    w = World(con)
    other = con.execute(
        "select min(code) from ref_area where level = 'kelurahan' and kabkota_code = '33.26'"
    ).fetchone()[0]
    w.snapshot("2031-01")
    w.household("2031-01", 480_000, KEL_MEDONO, members=1)
    w.household("2031-01", 560_000, other, members=1)
    w.build()
    return w, other


def test_province_run_uses_each_kabkota_line(province):
    """Kota Pekalongan: y = 480,000 < 500,000: poor, gap 20,000 / 500,000 = 0.04.
    33.26: y = 560,000 < 570,870: poor, gap 10,870 / 570,870; scope province (borrowed).
    Province row: both poor, p0 = 1, p1 = (0.04 + 10,870 / 570,870) / 2; two lines in use, so
    the row shows none."""
    w, _ = province
    city = w.row("kelurahan_poverty", "2031-01", CITY)
    assert (city["poverty_line_idr"], city["poverty_line_scope"]) == (Decimal("500000"), "kabkota")
    assert (city["poor_population"], city["p1"]) == (1, pytest.approx(0.04, rel=1e-12))
    other = w.row("kelurahan_poverty", "2031-01", "33.26")
    assert (other["poverty_line_idr"], other["poverty_line_scope"]) == (
        Decimal("570870"), "province"
    )
    assert other["poverty_line_status"] == "provisional"
    assert other["poverty_line_effective_from"] == d("2025-09")
    assert other["extreme_poverty_line_idr"] == Decimal("391000")
    assert other["p1"] == pytest.approx(10_870 / 570_870, rel=1e-12)
    whole = w.row("kelurahan_poverty", "2031-01", "33")
    assert (whole["population"], whole["poor_population"], whole["p0"]) == (2, 2, 1.0)
    assert whole["p1"] == pytest.approx((0.04 + 10_870 / 570_870) / 2, rel=1e-12)
    assert whole["poverty_line_idr"] is None and whole["poverty_line_scope"] is None
    # extreme: 33.75's line has z_e = 300,000, 33.26's 391,000: neither household is extreme
    assert whole["extreme_poor_population"] == 0


# ------------------------------------------------------------------ reference override folder


def write(path, text: str) -> None:
    """Write a small CSV."""
    path.write_text(text, encoding="utf-8")


HEADER = "area_code,effective_from,line_idr_per_capita_month,extreme_line_idr_per_capita_month,"
HEADER += "status,source\n"


def test_override_replaces_same_key_and_adds_new_keys(tmp_path, con):
    """Same key (33, 2025-09): the override's row replaces the packaged one; a new key
    (33.75, 2026-03) is added; the other packaged rows stay."""
    write(
        tmp_path / "poverty_lines.csv",
        HEADER + '33,2025-09,571000,392000,official,"BPS Jawa Tengah"\n'
        "33.75,2026-03,612345,,official,BPS Kota Pekalongan\n",
    )
    reference.install(con, override_dir=tmp_path)
    rows = con.execute(
        "select area_code, strftime(effective_from, '%Y-%m'), line_idr, extreme_line_idr, status "
        "from ref_poverty_line order by effective_from, area_code"
    ).fetchall()
    assert rows == [
        ("33.75", "2019-03", Decimal("425026"), None, "official"),
        ("33.75", "2020-03", Decimal("502031"), None, "official"),
        ("33", "2025-09", Decimal("571000"), Decimal("392000"), "official"),
        ("33.75", "2026-03", Decimal("612345"), None, "official"),
    ]


def test_override_of_the_program_catalog(tmp_path, con):
    """BLT's row replaced (target DESIL 3), a new program BLT_DD added."""
    catalog = reference.read_reference("programs")
    row = catalog[catalog["code"] == "BLT"].copy()
    row["target_desil_max"] = "3"
    new = row.copy()
    new["code"], new["name"], new["aliases"] = "BLT_DD", "BLT Dana Desa", "BLT DANA DESA"
    (tmp_path / "programs.csv").write_text(
        pd.concat([row, new]).to_csv(index=False), encoding="utf-8"
    )
    reference.install(con, override_dir=tmp_path)
    assert con.execute(
        "select code, target_desil_max, adequacy from ref_program where code like 'BLT%' "
        "order by code"
    ).fetchall() == [("BLT", 3, True), ("BLT_DD", 3, True)]
    assert con.execute(
        "select count(*) from ref_program"
    ).fetchone()[0] == len(catalog) + 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HEADER + "33,2025-9,571000,,official,x\n", "row 1 (line 2 of the file): effective_from"),
        (HEADER + "33.75,2026-03,600000,,official,x\n33,2026-03,0,,official,x\n",
         "row 2 (line 3 of the file): line_idr_per_capita_month '0'"),
        (HEADER + "3375,2026-03,600000,,official,x\n", "area_code '3375'"),
        (HEADER + "33,2026-03,600000,,final,x\n", "status 'final'"),
        (HEADER + "33,2026-03,600000,,official,x\n33,2026-03,1,,official,y\n",
         "same area_code/effective_from as row 1"),
        ("area_code,effective_from,status\n33,2026-03,official\n", "columns missing"),
    ],
)
def test_invalid_override_names_file_row_and_what_to_do(tmp_path, con, text, message):
    write(tmp_path / "poverty_lines.csv", text)
    with pytest.raises(reference.ReferenceOverrideError) as error:
        reference.install(con, override_dir=tmp_path)
    text = str(error.value)
    assert str(tmp_path / "poverty_lines.csv") in text
    assert message in text
    assert "remove poverty_lines.csv" in text


def test_settings_read_the_override_folder_from_the_environment(tmp_path, monkeypatch):
    from tkpk.config import REFERENCE_DIR_ENV, Settings

    monkeypatch.setenv(REFERENCE_DIR_ENV, str(tmp_path))
    assert Settings().reference_dir == tmp_path.resolve()
    monkeypatch.delenv(REFERENCE_DIR_ENV)
    assert Settings().reference_dir is None


def test_packaged_lines_for_the_city(con):
    """The packaged table for Kota Pekalongan (33.75), a household with y = 510,000 (n = 2):
    2019-05: 33.75's 2019-03 line 425,026 (kabkota, official): not poor, but near-poor
      (425,026 <= 510,000 < 1.2 * 425,026 = 510,031.2).
    2024-06: 33.75's 2020-03 line 502,031 (kabkota, official, no extreme line): not poor,
      near-poor (502,031 <= 510,000 < 602,437.2), extreme figures NULL.
    2025-09: the province's 2025-09 line 570,870 (scope province, provisional, extreme
      391,000): poor, gap 2 * 60,870 = 121,740, not extremely poor."""
    w = World(con)
    con.execute("delete from ref_poverty_line where status = 'test'")
    for month in ("2019-05", "2024-06", "2025-09"):
        w.snapshot(month)
        w.household(month, 510_000, KEL_MEDONO, members=2)
    w.build()
    rows = {
        r[0]: r[1:]
        for r in con.execute(
            "select period, poverty_line_idr, poverty_line_effective_from, poverty_line_status, "
            "poverty_line_scope, extreme_poverty_line_idr, poor_population, "
            "near_poor_population, extreme_poor_population, poverty_gap_idr_month "
            "from kelurahan_poverty where area_code = ? order by period",
            [CITY],
        ).fetchall()
    }
    assert rows[d("2019-05")] == (
        Decimal("425026"), d("2019-03"), "official", "kabkota", None, 0, 2, None, Decimal("0")
    )
    assert rows[d("2024-06")] == (
        Decimal("502031"), d("2020-03"), "official", "kabkota", None, 0, 2, None, Decimal("0")
    )
    assert rows[d("2025-09")] == (
        Decimal("570870"), d("2025-09"), "provisional", "province", Decimal("391000"), 2, 0, 0,
        Decimal("121740"),
    )


def test_override_extends_the_official_series(tmp_path, con):
    """official_poverty.csv through the same folder: a 2025 release (new key) is added, the
    packaged 2024 row is kept."""
    write(
        tmp_path / "official_poverty.csv",
        "area_code,year,month,p0_percent,poor_population,p1,p2,poverty_line_idr,population,"
        'source\n33.75,2025,03,6.50,20800,,,590000,320000,"BPS (test)"\n',
    )
    reference.install(con, override_dir=tmp_path)
    rows = con.execute(
        "select year, p0, population from ref_official_poverty where year >= 2024 order by year"
    ).fetchall()
    assert rows == [(2024, Decimal("0.067100"), 318182), (2025, Decimal("0.065000"), 320000)]
