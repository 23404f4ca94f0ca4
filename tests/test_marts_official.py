"""The official BPS series beside the registry figures (kelurahan_poverty), worked out by hand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from marts_support import CITY, KEC_BARAT, KEL_MEDONO, World, module_connection

from tkpk import reference


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    """Snapshots 2031-03 and 2031-06 (2 + 3 persons in Medono each) and two official releases:
    March 2030 (5.00 %, no population) and June 2031 (4.25 %, population 20)."""
    w = World(module_connection(tmp_path_factory.mktemp("official")))
    w.con.execute(
        "insert into ref_official_poverty values "
        "(?, 2030, date '2030-03-01', 0.05, 1, null, null, null, null, 'test 2030'), "
        "(?, 2031, date '2031-06-01', 0.0425, 1, null, null, null, 20, 'test 2031')",
        [CITY, CITY],
    )
    for month in ("2031-03", "2031-06"):
        w.snapshot(month)
        w.household(month, 200_000, KEL_MEDONO, members=2)
        w.household(month, 900_000, KEL_MEDONO, members=3)
    w.build()
    yield w
    w.con.close()


def test_latest_release_at_or_before_the_period(world) -> None:
    march = world.row("kelurahan_poverty", "2031-03", CITY)
    # the June 2031 release is after March 2031: March 2030 applies, without a population
    assert (march["official_p0"], march["official_year"], march["registry_coverage"]) == (
        0.05, 2030, None
    )
    june = world.row("kelurahan_poverty", "2031-06", CITY)
    # the survey month equals the period: it applies; N = 5 persons of 20 -> 0.25
    assert (june["official_p0"], june["official_year"], june["registry_coverage"]) == (
        0.0425, 2031, 0.25
    )
    assert june["p0"] == 2 / 5  # registry-based P0 stays what it is


def test_only_the_kabkota_row_carries_it(world) -> None:
    for area in (KEC_BARAT, KEL_MEDONO):
        row = world.row("kelurahan_poverty", "2031-06", area)
        assert (row["official_p0"], row["official_year"], row["registry_coverage"]) == (
            None, None, None
        )


def test_the_shipped_series_is_kota_pekalongan_bps(con) -> None:
    rows = con.execute(
        "select year, survey_month, p0, population from ref_official_poverty "
        "where area_code = '33.75' order by survey_month"
    ).fetchall()
    assert [r[0] for r in rows] == [2018, 2019, 2020, 2023, 2024]
    assert rows[-1][1] == date(2024, 3, 1)
    assert float(rows[-1][2]) == 0.0671  # 6.71 % as a fraction
    assert rows[-1][3] == 318182
    assert reference.OFFICIAL_POVERTY_CSV.name == "official_poverty.csv"
