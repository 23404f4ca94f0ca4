"""int_periods and the runner: reported periods, s(m), the poverty line in force, empty inputs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from marts_support import KEL_MEDONO, World, d

from transforms.models import graph

CURATED_TABLES = graph().curated


def test_reported_periods_snapshot_and_line(con):
    w = World(con)
    w.snapshot("2030-12")
    w.snapshot("2031-03", usable=False)  # its member file was quarantined
    w.snapshot("2031-06")
    w.household("2030-12", 400_000, KEL_MEDONO, members=2)
    # the unusable snapshot's households were accepted but must not be used
    w.household("2031-03", 100_000, KEL_MEDONO, members=9)
    w.household("2031-06", 450_000, KEL_MEDONO, members=3)
    w.record("PKH", "2030-10-15")  # before any usable snapshot: not reported
    w.record("PKH", "2031-01-15")
    w.record("BPNT", "2031-02-03")
    w.record("BPNT", "2031-02-20")
    w.record("PKH", "2031-04-30", status="failed")  # any record makes a period reported
    w.build()
    periods = con.execute(
        "select p.period, p.snapshot, p.window_start, l.poverty_line_idr, "
        "l.extreme_poverty_line_idr, l.poverty_line_status, l.poverty_line_effective_from, "
        "l.poverty_line_scope from int_periods as p join int_period_lines as l "
        "on l.period = p.period and l.line_area_code = '33.75' order by p.period"
    ).fetchall()
    # the packaged 2025-09 line was set for the province (Jawa Tengah, 33): borrowed
    provisional = (
        Decimal("570870.00"), Decimal("391000.00"), "provisional", d("2025-09"), "province"
    )
    test_line = (Decimal("500000.00"), Decimal("300000.00"), "test", d("2031-01"), "kabkota")
    assert periods == [
        # 2030-12: own snapshot, line in force = 2025-09's provisional line
        (d("2030-12"), d("2030-12"), d("2030-01"), *provisional),
        (d("2031-01"), d("2030-12"), d("2030-02"), *test_line),
        (d("2031-02"), d("2030-12"), d("2030-03"), *test_line),
        # 2031-03 has a snapshot, but it is unusable: keeps s = 2030-12
        (d("2031-03"), d("2030-12"), d("2030-04"), *test_line),
        (d("2031-04"), d("2030-12"), d("2030-05"), *test_line),
        # 2031-05: no snapshot, no record: not reported
        (d("2031-06"), d("2031-06"), d("2030-07"), *test_line),
    ]
    population = dict(
        con.execute(
            "select period, population from kelurahan_poverty where area_code = ?", [KEL_MEDONO]
        ).fetchall()
    )
    assert population[date(2031, 3, 1)] == 2  # from 2030-12, not the unusable 2031-03
    assert population[date(2031, 4, 1)] == 2
    assert population[date(2031, 6, 1)] == 3


def test_no_usable_snapshot_builds_empty_tables(con):
    w = World(con)
    w.snapshot("2031-03", usable=False)
    w.record("PKH", "2031-04-01")
    assert w.build() == list(CURATED_TABLES)
    for table in CURATED_TABLES:
        assert con.execute(f"select count(*) from {table}").fetchall() == [(0,)], table


def test_empty_inputs_build_every_table(con):
    w = World(con)
    assert w.build() == list(CURATED_TABLES)
    types = dict(
        con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_name = 'kelurahan_poverty'"
        ).fetchall()
    )
    assert types["p0"] == "DOUBLE"
    assert types["population"] == "BIGINT"
    assert types["poverty_gap_idr_month"] == "DECIMAL(38,2)"
    assert types["period"] == "DATE"
