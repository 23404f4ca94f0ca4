"""data_coverage: accepted and quarantined rows per area, snapshot and line age, by hand."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from marts_support import CITY, KEC_BARAT, KEL_KRAPYAK, KEL_MEDONO, World, module_connection


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    """Snapshot 2031-03: H1 in Medono (2 members), H2 in Krapyak (3 members); a PKH payment in
    2031-05 makes 2031-05 a reported period on the same snapshot. Quarantined in the snapshot's
    files: household Q1 (code of Medono), household Q2 (unknown name); members M1 (of H1), M2
    (of the quarantined Q1) and M3 (of a household nobody knows)."""
    w = World(module_connection(tmp_path_factory.mktemp("coverage")))
    w.snapshot("2031-03")
    w.household("2031-03", 200_000, KEL_MEDONO, members=2)
    w.household("2031-03", 900_000, KEL_KRAPYAK, members=3)
    w.record("PKH", "2031-05-10")
    w.flush()
    h1 = w.con.execute(
        "select id_keluarga from registry_households where kelurahan_code = ?", [KEL_MEDONO]
    ).fetchall()[0][0]
    w.con.execute(
        "insert into ingest_file (sha256, file_name, kind, period, file_outcome, rows_read, "
        "skipped_lines, loaded_at, file_id) values "
        "('hh', 'dtsen_keluarga_3375_203103.csv', 'households', date '2031-03-01', 'loaded', "
        "4, 0, now(), 101), "
        "('mm', 'dtsen_anggota_3375_203103.csv', 'members', date '2031-03-01', 'loaded', 8, 0, "
        "now(), 102)"
    )
    rows = [
        (101, "households", {"id_keluarga": "Q1", "kode_kelurahan": "3375011002"}),
        (101, "households", {"id_keluarga": "Q2", "nama_kelurahan": "ZZ Tidak Dikenal"}),
        (102, "members", {"id_keluarga": h1}),
        (102, "members", {"id_keluarga": "Q1"}),
        (102, "members", {"id_keluarga": "NOPE"}),
    ]
    for i, (file_id, kind, raw) in enumerate(rows, start=1):
        w.con.execute(
            "insert into quarantine values (?, ?, ?, ['code_invalid'], ?, 'load')",
            [file_id, kind, i, json.dumps(raw)],
        )
    # flagged fields: H1's row twice (DESIL and floor code: one household), a member of H1 and a
    # member of H2
    flagged = [
        (101, "households", 1, "DESIL", "2031-03-01", KEL_MEDONO),
        (101, "households", 1, "JENIS_LANTAI", "2031-03-01", KEL_MEDONO),
        (102, "members", 1, "TANGGAL_LAHIR", "2031-03-01", KEL_MEDONO),
        (102, "members", 4, "NIK", "2031-03-01", KEL_KRAPYAK),
    ]
    for file_id, kind, row, column, period, kelurahan in flagged:
        w.con.execute(
            "insert into flagged_field values (?, ?, ?, ?, 'code_invalid', null, 'load', "
            "cast(? as date), ?, null)",
            [file_id, kind, row, column, period, kelurahan],
        )
    w.build()
    yield w
    w.con.close()


def _counts(row: dict) -> tuple:
    return (row["household_rows_accepted"], row["household_rows_quarantined"],
            row["member_rows_accepted"], row["member_rows_quarantined"])


def test_rows_counted_where_they_resolve(world) -> None:
    # Medono: H1; Q1 by its code; members: H1's 2 accepted, M1 (H1) and M2 (Q1's kelurahan)
    assert _counts(world.row("data_coverage", "2031-03", KEL_MEDONO)) == (1, 1, 2, 2)
    assert _counts(world.row("data_coverage", "2031-03", KEL_KRAPYAK)) == (1, 0, 3, 0)
    assert _counts(world.row("data_coverage", "2031-03", KEC_BARAT)) == (1, 1, 2, 2)
    # the city: Q2 and M3 resolve nowhere and count here only
    assert _counts(world.row("data_coverage", "2031-03", CITY)) == (2, 2, 5, 3)


def test_accepted_rows_are_the_poverty_base(world) -> None:
    coverage = world.row("data_coverage", "2031-03", CITY)
    poverty = world.row("kelurahan_poverty", "2031-03", CITY)
    assert coverage["member_rows_accepted"] == poverty["population"]
    assert coverage["household_rows_accepted"] == poverty["households"]


def test_snapshot_and_line_age(world) -> None:
    march = world.row("data_coverage", "2031-03", CITY)
    may = world.row("data_coverage", "2031-05", CITY)
    # snapshot 2031-03; the test line is effective from 2031-01
    assert (march["snapshot_age_months"], march["poverty_line_age_months"]) == (0, 2)
    assert (may["snapshot_age_months"], may["poverty_line_age_months"]) == (2, 4)
    assert str(may["poverty_line_effective_from"]) == "2031-01-01"
    assert may["poverty_line_scope"] == "kabkota"  # the tests' line is set for the city
    assert _counts(may) == _counts(march)  # same snapshot, same rows


def test_rows_with_flagged_fields(world) -> None:
    def flagged(area: str) -> tuple:
        row = world.row("data_coverage", "2031-03", area)
        return row["households_with_flagged_field"], row["members_with_flagged_field"]

    assert flagged(KEL_MEDONO) == (1, 1)  # two flagged fields of one household row
    assert flagged(KEL_KRAPYAK) == (0, 1)
    assert flagged(CITY) == (1, 2)


def test_mpi_incomplete_population_is_the_poverty_tables(world) -> None:
    # H1 and H2 have every MPI indicator (the flagged_field rows above were inserted by hand, the
    # accepted values are complete): nobody is left out of the MPI sample
    for area in (KEL_MEDONO, KEL_KRAPYAK, KEC_BARAT, CITY):
        coverage = world.row("data_coverage", "2031-03", area)
        poverty = world.row("kelurahan_poverty", "2031-03", area)
        assert coverage["mpi_incomplete_population"] == poverty["mpi_incomplete_population"] == 0
        assert poverty["mpi_population"] + poverty["mpi_incomplete_population"] == (
            poverty["population"]
        )
