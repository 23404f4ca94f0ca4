"""tkpk explain: published figures taken apart into hand-known households, files and rows.

World (snapshot 2031-03, period 2031-03, reach window 2030-04..2031-03; z = 500,000, z_e =
300,000). Rows are numbered in insertion order across the files (marts_support.World):

    A Medono    y=200,000 n=2 desil 1  poor, extreme  dtsen_keluarga row 1, dtsen_anggota 2, 3
    B Medono    y=450,000 n=3 desil 4  poor            keluarga 4, anggota 5, 6, 7
    C Medono    y=700,000 n=1 desil 6  not poor        keluarga 8, anggota 9
    D Podosugih y=100,000 n=1 desil 2  poor, extreme   keluarga 10, anggota 11
    E Krapyak   y=800,000 n=4 desil 7  not poor        keluarga 12, anggota 13-16

    salur_test.csv row 17: PKH success 2031-01, NIK of A's first member, 600,000
                   row 18: PKH failed 2031-02, NIK of B's first member, 600,000
                   row 19: BPNT success 2031-02, unknown NIK, B's NO_KK (matched by NO_KK)
                   row 20: PKH success 2031-03, unknown NIK, kelurahan Medono (unmatched), 300,000
                   row 21: PKH success 2030-01, NIK of A's second member (outside the window)
    F (no known kelurahan) y=150,000 n=1 desil 1  poor  keluarga 22, anggota 23 (city row only)

Flagged fields: B's household row 4 (tanggal_pendataan, date_invalid) and A's member row 3
(status_bekerja, code_invalid), each with a raw value that must never be shown.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pandas as pd
import pytest
from marts_support import (
    CITY,
    KEC_BARAT,
    KEL_KRAPYAK,
    KEL_MEDONO,
    KEL_PODOSUGIH,
    World,
    d,
    module_connection,
)
from typer.testing import CliRunner

from tkpk import reference
from tkpk.cli import app
from tkpk.config import Settings
from tkpk.db import connect
from tkpk.explain import ExplainError, explain, summary_text, write_outputs
from tkpk.publish.pseudonym import PseudonymKey, python_hmac

KEY = PseudonymKey(b"explain-test-key", "test")
PERIOD = d("2031-03")
HOUSEHOLD_FILE = "dtsen_keluarga_3375.csv"
MEMBER_FILE = "dtsen_anggota_3375.csv"
RECORD_FILE = "salur_test.csv"
RAW_SECRET = "RAWSECRET31/02"


def build_world(w: World) -> dict[str, object]:
    """The households and records of the module docstring; returns ids and identifiers."""
    w.snapshot("2031-03")
    a, a_niks = w.household("2031-03", 200_000, KEL_MEDONO, members=2, desil=1)
    b, b_niks = w.household("2031-03", 450_000, KEL_MEDONO, members=3, desil=4,
                            no_kk="3375010101777777")
    c, _ = w.household("2031-03", 700_000, KEL_MEDONO, members=1, desil=6)
    dd, _ = w.household("2031-03", 100_000, KEL_PODOSUGIH, members=1, desil=2)
    e, _ = w.household("2031-03", 800_000, KEL_KRAPYAK, members=4, desil=7)
    w.record("PKH", "2031-01-15", nik=a_niks[0], amount=600_000)
    w.record("PKH", "2031-02-15", nik=b_niks[0], amount=600_000, status="failed")
    w.record("BPNT", "2031-02-10", no_kk="3375010101777777", amount=600_000)
    w.record("PKH", "2031-03-05", kelurahan=KEL_MEDONO, amount=300_000)
    w.record("PKH", "2030-01-15", nik=a_niks[1], amount=600_000)
    f, _ = w.household("2031-03", 150_000, None, members=1, desil=1)
    flag = ("insert into flagged_field (file_id, kind, row_number, column_name, reason, "
            "raw_value, load_id, period, kelurahan_code, id_keluarga) "
            "values (?, ?, ?, ?, ?, ?, 'load', ?, ?, ?)")
    w.con.execute(flag, [w.file_id(HOUSEHOLD_FILE, "households"), "households", 4,
                         "tanggal_pendataan", "date_invalid", RAW_SECRET, d("2031-03"),
                         KEL_MEDONO, b])
    w.con.execute(flag, [w.file_id(MEMBER_FILE, "members"), "members", 3, "status_bekerja",
                         "code_invalid", RAW_SECRET, d("2031-03"), KEL_MEDONO, a])
    w.build()
    return {"A": a, "B": b, "C": c, "D": dd, "E": e, "F": f, "niks": a_niks + b_niks}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    w = World(module_connection(tmp_path_factory.mktemp("explain")))
    w.ids = build_world(w)  # type: ignore[attr-defined]
    yield w
    w.con.close()


def pseudonym(world: World, name: str) -> str:
    """The pack pseudonym of household ``name`` (Python's reference HMAC)."""
    return python_hmac(KEY, world.ids[name])  # type: ignore[attr-defined]


def by_pseudonym(world: World, units: pd.DataFrame) -> dict[str, dict]:
    """Units keyed by the household letter (A..E) or 'unmatched'."""
    names = {pseudonym(world, n): n for n in "ABCDEF"}
    out = {}
    for _, row in units.iterrows():
        letter = names.get(row["household_pseudonym"], "unmatched")
        out[letter] = dict(row)
    return out


def checks_by_column(explanation) -> dict[str, object]:
    return {(tuple(c.key.values()), c.column): c for c in explanation.checks}


# --------------------------------------------------------------------------- kelurahan_poverty


def test_poor_population_of_medono_by_hand(world):
    ex = explain(world.con, KEY, "kelurahan_poverty", PERIOD, KEL_MEDONO, column="poor_population")
    units = by_pseudonym(world, ex.units)
    # only the poor households count: A (2 persons) and B (3 persons); C does not
    assert set(units) == {"A", "B"}
    assert (units["A"]["poor_population"], units["B"]["poor_population"]) == (2, 3)
    assert units["A"]["lineage"] == f"{MEMBER_FILE}:2, 3; {HOUSEHOLD_FILE}:1"
    assert units["B"]["lineage"] == f"{MEMBER_FILE}:5, 6, 7; {HOUSEHOLD_FILE}:4"
    assert units["A"]["flagged_fields"] == f"{MEMBER_FILE}:3 status_bekerja (code_invalid)"
    assert units["B"]["flagged_fields"] == f"{HOUSEHOLD_FILE}:4 tanggal_pendataan (date_invalid)"
    # only poor_population's contribution is shown
    assert "population" not in ex.units.columns and "p0__numerator" not in ex.units.columns
    [check] = ex.checks
    assert (check.published, check.explained, check.agrees) == (5, 5, True)
    rows = ex.rows[ex.rows["household_pseudonym"] == pseudonym(world, "B")]
    assert list(zip(rows["role"], rows["file_name"], rows["row_number"], strict=True)) == [
        ("household", HOUSEHOLD_FILE, 4), ("member", MEMBER_FILE, 5),
        ("member", MEMBER_FILE, 6), ("member", MEMBER_FILE, 7)]
    assert list(rows["flagged_fields"]) == ["tanggal_pendataan (date_invalid)", None, None, None]


def test_every_figure_of_medono_is_the_sum_of_its_households(world):
    ex = explain(world.con, KEY, "kelurahan_poverty", PERIOD, KEL_MEDONO)
    units = by_pseudonym(world, ex.units)
    assert set(units) == {"A", "B", "C"}
    checks = checks_by_column(ex)
    # N = 2 + 3 + 1; poor A, B; gap 2 * 300,000 + 3 * 50,000
    assert checks[((), "population")].published == 6
    assert checks[((), "poor_population")].explained == 5
    assert checks[((), "poverty_gap_idr_month")].explained == Decimal("750000.00")
    assert units["B"]["poverty_gap_idr_month"] == Decimal("150000.00")
    assert checks[((), "p0")].explained == pytest.approx(5 / 6, rel=1e-15)
    assert checks[((), "extreme_poor_population")].explained == 2
    assert checks[((), "poor_households_unreached")].published == 0  # A: PKH, B: BPNT
    assert checks[((), "gini")].agrees is None  # not a sum: shown, not checked
    assert ex.agrees and all(c.agrees is not False for c in ex.checks)
    assert "every checked figure equals the sum" in summary_text(ex)


def test_a_kecamatan_rolls_up_its_kelurahan(world):
    ex = explain(world.con, KEY, "kelurahan_poverty", PERIOD, KEC_BARAT, column="poor_households")
    assert set(by_pseudonym(world, ex.units)) == {"A", "B", "D"}
    assert ex.checks[0].published == 3 and ex.checks[0].agrees


def test_the_city_also_holds_households_of_no_known_kelurahan(world):
    ex = explain(world.con, KEY, "kelurahan_poverty", PERIOD, CITY, column="poor_households")
    units = by_pseudonym(world, ex.units)
    assert set(units) == {"A", "B", "D", "F"}
    assert units["F"]["kelurahan_code"] is None
    assert units["F"]["lineage"] == f"{MEMBER_FILE}:23; {HOUSEHOLD_FILE}:22"
    assert (ex.checks[0].published, ex.checks[0].agrees) == (4, True)


def test_a_difference_is_reported_loudly(world):
    ex = explain(world.con, KEY, "kelurahan_poverty", PERIOD, KEL_MEDONO, column="population")
    ex.published.loc[0, "population"] = 7  # as if the published figure were wrong
    from tkpk.explain import check_all

    ex.checks = check_all("kelurahan_poverty", ex.published, ex.units, "population")
    assert not ex.agrees
    assert "DIFFER" in summary_text(ex)


# --------------------------------------------------------------------------- programs


def test_program_reach_pkh_in_medono_by_hand(world):
    ex = explain(world.con, KEY, "program_reach", PERIOD, KEL_MEDONO, program="PKH")
    units = by_pseudonym(world, ex.units)
    # R = {A}; T = P = {A, B}; B had a failed PKH record; one unmatched PKH record in Medono
    assert set(units) == {"A", "B", "unmatched"}
    assert units["A"]["recipient_households"] == 1
    assert units["A"]["amount_idr"] == Decimal("600000.00")
    assert units["A"]["recipient_consumption_idr_year"] == Decimal("4800000.00")
    assert (units["B"]["recipient_households"], units["B"]["target_households"]) == (0, 1)
    assert (units["B"]["failed_records"], units["B"]["failed_amount_idr"]) == (
        1, Decimal("600000.00"))
    assert units["unmatched"]["unmatched_records"] == 1
    assert units["unmatched"]["unmatched_amount_idr"] == Decimal("300000.00")
    # lineage: A's PKH record of the window (row 17, not row 21 of 2030-01); B's failed row 18
    assert units["A"]["lineage"] == (
        f"{MEMBER_FILE}:2, 3; {HOUSEHOLD_FILE}:1; {RECORD_FILE}:17")
    assert units["B"]["lineage"] == (
        f"{MEMBER_FILE}:5, 6, 7; {HOUSEHOLD_FILE}:4; {RECORD_FILE}:18")
    assert units["unmatched"]["lineage"] == f"{RECORD_FILE}:20"
    checks = checks_by_column(ex)
    assert checks[(("PKH",), "coverage_target")].published == pytest.approx(0.5)
    assert checks[(("PKH",), "unmatched_amount_idr")].explained == Decimal("300000.00")
    assert ex.agrees


def test_program_reach_all_programs_agree(world):
    ex = explain(world.con, KEY, "program_reach", d("2031-03"), CITY)
    assert len(ex.published) == len(reference_programs(world))
    assert ex.agrees
    bpnt = ex.units[(ex.units["program"] == "BPNT") & (ex.units["recipient_households"] == 1)]
    assert list(bpnt["household_pseudonym"]) == [pseudonym(world, "B")]
    assert list(bpnt["lineage"]) == [f"{MEMBER_FILE}:5, 6, 7; {HOUSEHOLD_FILE}:4; {RECORD_FILE}:19"]


def reference_programs(world: World) -> list[str]:
    return [r[0] for r in world.con.execute("select code from ref_program").fetchall()]


def test_overlap_funding_incidence_coverage(world):
    overlap = explain(world.con, KEY, "program_overlap", PERIOD, KEL_MEDONO,
                      column="poor_programs_1")
    assert set(by_pseudonym(world, overlap.units)) == {"A", "B"} and overlap.agrees
    funding = explain(world.con, KEY, "funding_sources", PERIOD, KEL_MEDONO, program="APBN")
    units = by_pseudonym(world, funding.units)
    assert set(units) == {"A", "B", "unmatched"} and funding.agrees
    assert checks_by_column(funding)[(("APBN",), "amount_idr")].explained == Decimal("1200000.00")
    incidence = explain(world.con, KEY, "program_incidence", PERIOD, CITY, program="PKH")
    assert list(incidence.units["household_pseudonym"]) == [pseudonym(world, "A")]
    assert list(incidence.units["desil"]) == [1] and incidence.agrees
    coverage = explain(world.con, KEY, "data_coverage", PERIOD, KEL_MEDONO)
    checks = checks_by_column(coverage)
    assert checks[((), "member_rows_accepted")].published == 6
    assert checks[((), "households_with_flagged_field")].explained == 1
    assert checks[((), "members_with_flagged_field")].explained == 1
    assert coverage.agrees


def test_refusals(world):
    with pytest.raises(ExplainError, match="not explained"):
        explain(world.con, KEY, "poverty_profile", PERIOD, KEL_MEDONO)
    with pytest.raises(ExplainError, match="not a reported period"):
        explain(world.con, KEY, "kelurahan_poverty", d("2031-04"), KEL_MEDONO)
    with pytest.raises(ExplainError, match="not an area"):
        explain(world.con, KEY, "kelurahan_poverty", PERIOD, "33.75.09.9999")
    with pytest.raises(ExplainError, match="region-wide"):
        explain(world.con, KEY, "program_incidence", PERIOD, KEL_MEDONO)
    with pytest.raises(ExplainError, match="no column"):
        explain(world.con, KEY, "kelurahan_poverty", PERIOD, KEL_MEDONO, column="nope")
    with pytest.raises(ExplainError, match="not a figure"):
        explain(world.con, KEY, "kelurahan_poverty", PERIOD, KEL_MEDONO, column="snapshot")


# --------------------------------------------------------------------------- privacy and CLI


def test_no_personal_data_in_the_outputs(world, tmp_path):
    ids = world.ids  # type: ignore[attr-defined]
    ex = explain(world.con, KEY, "program_reach", PERIOD, KEL_MEDONO)
    written = write_outputs(ex, tmp_path)
    assert {p.suffix for p in written} == {".csv", ".parquet"}
    text = "\n".join(p.read_text() for p in written if p.suffix == ".csv") + summary_text(ex)
    for secret in [*(ids[n] for n in "ABCDEF"), *ids["niks"], "3375010101777777",
                   "Nama Sintetis", "Jl. Sintetis", "1980-05-05", RAW_SECRET]:
        assert secret not in text
    for path in written:
        if path.suffix == ".parquet":
            columns = set(pd.read_parquet(path).columns)
            assert not columns & {"id_keluarga", "nik", "no_kk", "nama", "alamat",
                                  "tanggal_lahir"}


def test_cli_on_a_warehouse_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TKPK_PSEUDONYM_KEY", "cli-test-key-not-secret")
    warehouse = tmp_path / "warehouse.duckdb"
    settings = Settings(temp_dir=tmp_path / "tmp", duckdb_threads=2)
    con = connect(settings, warehouse)
    reference.install(con)
    build_world(World(con))
    con.close()
    monkeypatch.setenv("TKPK_TEMP", str(tmp_path / "tmp"))
    monkeypatch.setenv("TKPK_OUT", str(tmp_path / "curated"))
    result = CliRunner().invoke(app, [
        "explain", "kelurahan_poverty", "--period", "2031-03", "--area", KEL_MEDONO,
        "--column", "poor_population", "--db", str(warehouse), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "poor_population" in result.output and "ok" in result.output
    units = pd.read_csv(tmp_path / "out" / f"kelurahan_poverty_2031-03_{KEL_MEDONO}"
                        "_poor_population_units.csv")
    assert sorted(units["poor_population"]) == [2, 3]
    refused = CliRunner().invoke(app, [
        "explain", "households", "--period", "2031-03", "--area", KEL_MEDONO,
        "--db", str(warehouse)])
    assert refused.exit_code == 2
    into_pack = CliRunner().invoke(app, [
        "explain", "kelurahan_poverty", "--period", "2031-03", "--area", KEL_MEDONO,
        "--db", str(warehouse), "--out", str(tmp_path / "curated" / "bappeda" / "x")])
    assert into_pack.exit_code == 2 and "never written into a pack" in into_pack.output
