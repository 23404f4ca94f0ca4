"""Disclosure control of the Bappeda pack, exact on hand-written rows."""

from __future__ import annotations

import duckdb
import pytest
from test_publish_fixtures import build_curated, publish

from tkpk.publish.dictionary import BAPPEDA, Column, Table, exported_columns
from tkpk.publish.suppression import install_rules, suppressed_select

TOY = Table(
    name="toy",
    grain_en="test",
    grain_id="uji",
    key=("k",),
    columns=(
        Column("k", "INTEGER", "number", "key", "key", "kunci"),
        Column("households", "BIGINT", "households", "count", "count", "hitungan"),
        Column("amount_idr", "DECIMAL(18,2)", "idr_window", "amount", "amount", "nilai",
               basis="households"),
        Column("target", "BIGINT", "households", "count", "denominator", "penyebut"),
        Column("reached", "BIGINT", "households", "count", "numerator", "pembilang"),
        Column("coverage", "DOUBLE", "fraction", "ratio", "ratio", "rasio",
               denominator="target", numerator="reached"),
        Column("share", "DOUBLE", "fraction", "ratio", "ratio", "rasio",
               denominator="target"),
    ),
)

# k, households, amount, target, reached, coverage, share
ROWS = [
    (1, 4, 400.0, 20, 10, 0.5, 0.5),     # count 4 -> null + flag; amount on 4 -> null
    (2, 5, 500.0, 20, 10, 0.5, 0.5),     # count 5 -> kept
    (3, 0, 0.0, 20, 10, 0.5, 0.5),       # count 0 -> kept
    (4, 10, 1.0, 9, 5, 5 / 9, 0.25),     # denominator 9 -> ratios null
    (5, 10, 1.0, 10, 5, 0.5, 0.25),      # denominator 10 -> kept
    (6, 10, 1.0, 10, 3, 0.3, 0.25),      # numerator 3 -> coverage null (reveals 3), share kept
    (7, 10, 1.0, 0, 0, None, None),      # empty denominator: undefined, not flagged
    (8, 1, 7.0, 1, 1, 1.0, 1.0),         # everything small
    (9, None, None, 12, 0, 0.0, 0.0),    # null count stays null, not flagged; numerator 0 kept
]


@pytest.fixture
def toy(con: duckdb.DuckDBPyConnection) -> dict[int, dict]:
    con.execute(
        "create table toy (k integer, households bigint, amount_idr decimal(18,2), target bigint,"
        " reached bigint, coverage double, share double)"
    )
    con.executemany("insert into toy values (?, ?, ?, ?, ?, ?, ?)", ROWS)
    install_rules(con)
    cursor = con.execute(suppressed_select(TOY, "toy"))
    names = [c[0] for c in cursor.description]
    assert names == [c.name for c in exported_columns(TOY, BAPPEDA)]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


def test_small_counts_are_null_and_flagged(toy: dict[int, dict]) -> None:
    assert (toy[1]["households"], toy[1]["households_suppressed"]) == (None, True)
    assert (toy[2]["households"], toy[2]["households_suppressed"]) == (5, False)
    assert (toy[3]["households"], toy[3]["households_suppressed"]) == (0, False)
    assert (toy[8]["households"], toy[8]["households_suppressed"]) == (None, True)
    assert (toy[9]["households"], toy[9]["households_suppressed"]) == (None, False)


def test_amounts_follow_the_count_they_sum_over(toy: dict[int, dict]) -> None:
    assert (toy[1]["amount_idr"], toy[1]["amount_idr_suppressed"]) == (None, True)
    assert float(toy[2]["amount_idr"]) == 500.0 and not toy[2]["amount_idr_suppressed"]
    assert float(toy[3]["amount_idr"]) == 0.0 and not toy[3]["amount_idr_suppressed"]


def test_ratios_on_small_denominators_are_null(toy: dict[int, dict]) -> None:
    assert (toy[4]["coverage"], toy[4]["coverage_suppressed"]) == (None, True)
    assert (toy[4]["share"], toy[4]["share_suppressed"]) == (None, True)
    assert (toy[5]["coverage"], toy[5]["coverage_suppressed"]) == (0.5, False)
    assert (toy[5]["share"], toy[5]["share_suppressed"]) == (0.25, False)
    # a small numerator would be revealed by ratio x denominator
    assert (toy[6]["coverage"], toy[6]["coverage_suppressed"]) == (None, True)
    assert (toy[6]["share"], toy[6]["share_suppressed"]) == (0.25, False)
    # undefined (no denominator) is null but not flagged as suppressed
    assert (toy[7]["coverage"], toy[7]["coverage_suppressed"]) == (None, False)
    assert (toy[9]["coverage"], toy[9]["coverage_suppressed"]) == (0.0, False)


def test_denominator_count_itself_is_suppressed_too(toy: dict[int, dict]) -> None:
    assert (toy[8]["target"], toy[8]["target_suppressed"]) == (None, True)
    assert (toy[8]["coverage"], toy[8]["coverage_suppressed"]) == (None, True)
    assert toy[4]["target"] == 9 and not toy[4]["target_suppressed"]


def test_bappeda_pack_follows_the_rule(con, settings) -> None:
    """On the published pack: no count 1–4, no ratio on a denominator under 10, flags agree."""
    build_curated(con)
    code, kecamatan = con.execute(
        "select code, kecamatan_code from ref_area where level = 'kelurahan' order by code limit 1"
    ).fetchone()
    # shrink the first kelurahan's population to 9 and keep its kecamatan and the city consistent
    con.execute(
        """
        with diff as (select population - 9 as d from kelurahan_poverty
                      where area_code = $code and period = date '2026-09-01')
        update kelurahan_poverty k set population = population - (select d from diff),
            mpi_population = mpi_population - (select d from diff)
        where period = date '2026-09-01' and (area_code = $code or area_code = $kecamatan
              or area_level = 'kota')
        """,
        {"code": code, "kecamatan": kecamatan},
    )
    con.execute(
        "update kelurahan_poverty set p0 = poor_population / population, "
        "mpi_h = mpi_poor_population / mpi_population, mpi_m0 = mpi_poor_population / "
        "mpi_population * mpi_a where period = date '2026-09-01'"
    )
    result = publish(con, settings)
    b = f"read_parquet('{result.bappeda_dir}/kelurahan_poverty.parquet')"
    r = f"read_parquet('{result.restricted_dir}/kelurahan_poverty.parquet')"
    row = con.execute(
        f"select population, population_suppressed, p0, p0_suppressed, households from {b} "
        "where area_code = $code and period = date '2026-09-01'", {"code": code}
    ).fetchone()
    assert row[:4] == (9, False, None, True)
    assert con.execute(f"select count(*) from {b} where poor_households between 1 and 4")\
        .fetchone()[0] == 0
    small = con.execute(f"select count(*) from {r} where poor_households between 1 and 4")\
        .fetchone()[0]
    flagged = con.execute(f"select count(*) from {b} where poor_households_suppressed")\
        .fetchone()[0]
    assert small == flagged > 0
    # zero counts are published as zero
    zeros = con.execute(f"select count(*) from {r} where poor_households = 0").fetchone()[0]
    assert con.execute(f"select count(*) from {b} where poor_households = 0").fetchone()[0] == zeros
    # the city row is large: nothing suppressed there
    city = con.execute(
        f"select p0, p0_suppressed, poor_households from {b} where area_level = 'kota'"
    ).fetchall()
    assert all(p0 is not None and not flag and n >= 5 for p0, flag, n in city)
    # no household-level table, and data_quality is there
    names = {p.name for p in result.bappeda_dir.glob("*.parquet")}
    assert "households.parquet" not in names and "data_quality.parquet" in names


def test_incidence_uses_the_true_program_total(con, settings) -> None:
    """beneficiary_incidence's denominator is all recipients of the program (a window sum)."""
    build_curated(con)
    result = publish(con, settings)
    b = f"read_parquet('{result.bappeda_dir}/program_incidence.parquet')"
    rows = con.execute(
        f"select desil, recipient_households, beneficiary_incidence, "
        f"beneficiary_incidence_suppressed from {b} "
        "where program = 'PKH' and period = date '2026-09-01' order by desil"
    ).fetchall()
    # PKH recipients by desil: d % 7 = 1..6, 0, 1..3 (total 27): only small numerators go
    by_desil = {d: (n, inc, flag) for d, n, inc, flag in rows}
    assert by_desil[5] == (5, pytest.approx(5 / 27), False)
    assert by_desil[7] == (0, 0.0, False)
    assert by_desil[1][0] is None and by_desil[1][1] is None and by_desil[1][2] is True
