"""The record as read of quarantined rows and flagged fields (``transforms/accept/raw_kept.sql``).

The raw load keeps the record as read only of the rows that can be quarantined or flagged, in a
file beside the staged rows: the rows their suite flags (``tkpk.ingest.raw.raw_kept_predicate``),
for households and members the rows of a key repeated in the file, and for members the rows whose
household is not surely accepted (household files are read first). Hand-written disbursement
rows: the quarantine and ``flagged_field`` get exactly the values they got when every row's
record was kept, duplicates need none, a kind written in bounded-commit steps reads its records
once, and a kept row whose record is missing stops the run instead of losing its values.
"""

from __future__ import annotations

import dataclasses
import json

import duckdb
import pytest
from raw_support import HOUSEHOLD, MEMBER, RawWorld, disbursement, household, kk, member, nik

from tkpk import reference
from tkpk.config import Settings
from tkpk.db import connect
from tkpk.ingest import raw
from tkpk.ingest.accept import process_loads

PKH = "salur_pkh_bri_202606_tahap2.csv"
#: (row, outcome) of the hand-written file, row numbers 1..6.
ROWS = [
    (disbursement(), "accepted"),
    (disbursement(nominal="abc", nama="Warga\tDua"), "quarantined"),  # amount_invalid
    (disbursement(nik=nik(3), nama_kelurahan="Atlantis"), "accepted"),  # kelurahan flagged
    (disbursement(), "duplicate"),  # an exact repeat of row 1
    ({"malformed": True, "extra": {"raw_line": "x;y", "error": "too many columns"}},
     "quarantined"),
    (disbursement(nik=nik(4), tanggal_salur="20/06/2026"), "accepted"),
]


def _settings(tmp_path, commit_rows: int = 0) -> Settings:
    settings = Settings(raw_dir=tmp_path / "raw", curated_dir=tmp_path / "curated",
                        warehouse=tmp_path / "warehouse.duckdb", temp_dir=tmp_path / "tmp",
                        duckdb_memory_limit="1GB", duckdb_threads=2)
    return dataclasses.replace(settings, commit_rows=commit_rows) if commit_rows else settings


def _run(tmp_path, every_row: bool, spoil=None, steps: list | None = None):
    """(connection, outcome) of one run over the file; ``every_row`` keeps every row's record
    (the layout before); ``spoil(outcome)`` may damage the staged files before the decision;
    with ``steps`` (a list, which gets each step's ``(kind, n, rows)``) the kind is written in
    steps of two rows (``commit_rows`` 2). The world is returned too: its staged folder (and the
    records as read in it) lives as long as the world object."""
    con = connect(_settings(tmp_path), ":memory:")
    reference.install(con)
    world = RawWorld(con)
    if every_row:
        with raw.every_raw_text():
            outcome = world.add_file("disbursements", PKH, [r for r, _ in ROWS], program="PKH",
                                     channel="bri", stage=2)
    else:
        outcome = world.add_file("disbursements", PKH, [r for r, _ in ROWS], program="PKH",
                                 channel="bri", stage=2)
    if spoil is not None:
        spoil(outcome)
    if steps is None:
        process_loads(con, _settings(tmp_path), "run-1", [outcome])
    else:
        process_loads(con, _settings(tmp_path, commit_rows=2), "run-1", [outcome],
                      on_step=lambda *step: steps.append(step))
    return con, outcome, world


def _kept_tables(con) -> dict[str, list[tuple]]:
    return {
        "quarantine": con.execute(
            "select row_number, reasons, raw_values from quarantine order by row_number"
        ).fetchall(),
        "flagged_field": con.execute(
            "select row_number, column_name, reason, raw_value from flagged_field "
            "order by row_number, column_name"
        ).fetchall(),
        "duplicate": con.execute(
            "select row_number, duplicate_of_row from duplicate order by row_number"
        ).fetchall(),
    }


def test_only_the_flagged_rows_keep_their_record_and_the_quarantine_is_unchanged(tmp_path):
    con, outcome, _world = _run(tmp_path / "flagged", every_row=False)
    kept = con.execute(
        f"select row_number from read_parquet('{raw.raw_text_file(outcome.staged)}') "
        "order by row_number"
    ).fetchall()
    assert kept == [(2,), (3,), (5,)]  # not the clean rows 1 and 6, nor the duplicate 4
    tables = _kept_tables(con)
    assert [r[:2] for r in tables["quarantine"]] == [
        (2, ["amount_invalid"]), (5, ["row_malformed"])
    ]
    assert tables["quarantine"][0][2] == (
        f'{{"nik":"{nik(1)}","no_kk":"{kk(1)}","nama":"Warga\\tDua","program":null,'
        '"tahap":null,"tanggal_salur":"2026-06-20","nominal":"abc","status":"SUKSES",'
        '"kode_kelurahan":null,"nama_kelurahan":null,"nik_numeric":false,"kk_numeric":false,'
        '"malformed":false,"extra":null}'
    )
    malformed = json.loads(tables["quarantine"][1][2])
    assert malformed["malformed"] is True
    assert malformed["extra"] == {"raw_line": "x;y", "error": "too many columns"}
    assert tables["flagged_field"] == [(3, "NAMA_KELURAHAN", "kelurahan_unknown", "Atlantis")]
    assert tables["duplicate"] == [(4, 1)]
    con.close()

    before, _, _ = _run(tmp_path / "every", every_row=True)  # every row's record kept
    assert _kept_tables(before) == tables
    before.close()


def test_in_steps_the_records_are_read_once_and_the_tables_are_the_same(tmp_path, monkeypatch):
    """Written in three steps of two rows (rows 1-2, 3-4, 5-6), the kind's records as read are
    read once, before the first step (one ``_raw_kept`` file for the kind, not one per step), and
    every step's quarantined and flagged rows get theirs: the tables equal the one-step run's."""
    from tkpk.ingest.scratch import RunScratch

    written: list[str] = []
    materialise = RunScratch.materialise

    def spy(self, con, view, select, group):
        written.append(view)
        return materialise(self, con, view, select, group)

    monkeypatch.setattr(RunScratch, "materialise", spy)
    steps: list[tuple] = []
    con, _, _ = _run(tmp_path / "steps", every_row=False, steps=steps)
    assert steps == [("disbursements", 1, 2), ("disbursements", 2, 2)]  # the last ends the kind
    assert written.count("_raw_kept") == 1
    tables = _kept_tables(con)
    assert [r[:2] for r in tables["quarantine"]] == [
        (2, ["amount_invalid"]), (5, ["row_malformed"])  # steps 1 and 3
    ]
    assert json.loads(tables["quarantine"][1][2])["extra"]["raw_line"] == "x;y"
    assert con.execute("select count(*) from program_records").fetchone() == (3,)
    con.close()

    one_step, _, _ = _run(tmp_path / "one", every_row=False)
    assert _kept_tables(one_step) == tables
    one_step.close()


def test_a_kept_row_without_its_record_stops_the_run(tmp_path):
    def spoil(outcome):
        """Drop row 2 (quarantined) from the records kept beside the staged rows."""
        path = raw.raw_text_file(outcome.staged)
        with duckdb.connect() as other:
            other.execute(f"copy (select * from read_parquet('{path}') where row_number <> 2) "
                          f"to '{path}.tmp' (format parquet)")
        path.with_name(path.name + ".tmp").replace(path)

    with pytest.raises(duckdb.Error, match="record as read was not kept"):
        _run(tmp_path, every_row=False, spoil=spoil)


def test_which_records_are_kept_per_kind(tmp_path, monkeypatch):
    types = {"nik": "VARCHAR", "amount_idr": "DECIMAL(18,2)", "status": "VARCHAR",
             "program": "VARCHAR", "segmen_unparsed": "VARCHAR", "nik_precision_lost": "BOOLEAN",
             "malformed": "BOOLEAN"}
    predicate = raw.raw_kept_predicate("pbi", types)
    rows = {  # (nik, amount, status, program, segmen_unparsed, precision lost, malformed)
        "clean": (nik(1), 42000, "success", "PBI_JK", None, False, False),
        "nik_short": ("33750141", 42000, "success", "PBI_JK", None, False, False),
        "no_status": (nik(1), 42000, None, "PBI_JK", None, False, False),
        "malformed": (None, None, None, None, None, False, True),
    }
    with duckdb.connect() as con:
        flagged = {
            name: con.execute(
                f"select {predicate} from (select ? as nik, ?::decimal(18,2) as amount_idr, "
                "? as status, ? as program, ? as segmen_unparsed, ? as nik_precision_lost, "
                "? as malformed)", list(values)
            ).fetchone()[0]
            for name, values in rows.items()
        }
    assert flagged == {"clean": False, "nik_short": True, "no_status": True, "malformed": True}
    # a rule across rows in the suite: every record is kept
    suite = tmp_path / "stg_pbi.json"
    suite.write_text(json.dumps({"expectations": [
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "nik"}}]}))
    monkeypatch.setattr(raw, "suite_path", lambda name: suite)
    assert raw.raw_kept_predicate("pbi", types) == "true"


# ------------------------------------------------------------------------------------------
# Households: the rows a suite flags and the rows of a key repeated within the snapshot
# ------------------------------------------------------------------------------------------

#: (household row, outcome) of the hand-written household file, row numbers 1..7.
HOUSEHOLD_ROWS = [
    (household(id_keluarga="H1"), "accepted"),
    (household(id_keluarga="H2", pengeluaran_per_kapita="abc"), "quarantined"),  # expenditure
    (household(id_keluarga="H3"), "accepted"),  # the first row of a repeated key
    (household(id_keluarga="H3", alamat="Jl. Lain 3"), "quarantined"),  # other values
    (household(id_keluarga="H4"), "accepted"),
    (household(id_keluarga="H4"), "duplicate"),  # an exact repeat of row 5
    (household(id_keluarga="H5", desil="12"), "accepted"),  # desil flagged
]
KELUARGA = "dtsen_keluarga_3375_202606.csv"


def _household_csv(rows: list[dict], columns: list[str] | None = None) -> bytes:
    """A household CSV (semicolons) of ``rows`` (raw text, the canonical columns; a member CSV
    with ``columns`` ``list(MEMBER)``)."""
    columns = columns or list(HOUSEHOLD)
    lines_ = [";".join(c.upper() for c in columns)]
    lines_ += [";".join(row[c] for c in columns) for row in rows]
    return ("\n".join(lines_) + "\n").encode()


def _load_households(tmp_path, files: dict[str, bytes], run_id: str = "run-1", con=None):
    """(connection, {file name: row numbers whose record as read is kept}) of one raw load of
    ``files`` (written into the raw folder) and its acceptance, on ``con`` or a new one."""
    settings = _settings(tmp_path)
    if con is None:
        con = connect(settings, ":memory:")
        reference.install(con)
    settings.raw_dir.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (settings.raw_dir / name).write_bytes(data)
    outcomes = [o for o in raw.load_new_files(con, settings, run_id) if o.staged]
    kept = {
        o.file_name: [r for (r,) in con.execute(
            f"select row_number from read_parquet('{raw.raw_text_file(o.staged)}') "
            "order by row_number").fetchall()]
        for o in outcomes
    }
    process_loads(con, settings, run_id, outcomes)
    return con, kept


def test_households_keep_the_record_of_flagged_rows_and_of_keys_repeated_in_the_file(tmp_path):
    con, kept = _load_households(
        tmp_path / "kept", {KELUARGA: _household_csv([r for r, _ in HOUSEHOLD_ROWS])}
    )
    # every row but 1: a row-wise failure (2, 7) or a key repeated in the file (3-6)
    assert kept == {KELUARGA: [2, 3, 4, 5, 6, 7]}
    tables = _kept_tables(con)
    assert [r[:2] for r in tables["quarantine"]] == [
        (2, ["expenditure_invalid"]), (4, ["household_duplicate_key"])
    ]
    assert json.loads(tables["quarantine"][1][2]) == {
        **household(id_keluarga="H3", alamat="Jl. Lain 3"),
        "nik_numeric": False, "kk_numeric": False, "malformed": False, "extra": None,
    }
    assert tables["duplicate"] == [(6, 5)]
    assert tables["flagged_field"] == [(7, "DESIL", "code_invalid", "12")]
    assert con.execute(
        "select count(*) from registry_households"
    ).fetchone()[0] == 4  # H1, H3, H4, H5
    con.close()

    with raw.every_raw_text():  # every row's record kept: the same tables
        every, kept_every = _load_households(
            tmp_path / "every", {KELUARGA: _household_csv([r for r, _ in HOUSEHOLD_ROWS])}
        )
    assert kept_every == {KELUARGA: [1, 2, 3, 4, 5, 6, 7]}
    assert _kept_tables(every) == tables
    every.close()


def test_households_of_a_shared_snapshot_keep_every_record(tmp_path):
    """Two household files of one month in the raw folder, then a third in a later run: a key
    may repeat across them, so each keeps the record of every row."""
    revised = "dtsen_keluarga_3375_202606_revisi.csv"
    con, kept = _load_households(tmp_path, {
        KELUARGA: _household_csv([household(id_keluarga="H1"), household(id_keluarga="H2")]),
        revised: _household_csv([household(id_keluarga="H2", alamat="Jl. Lain 2")]),
    })
    assert kept == {KELUARGA: [1, 2], revised: [1]}
    assert con.execute(
        "select f.file_name, q.row_number, q.reasons, q.raw_values ->> 'alamat' "
        "from quarantine as q join ingest_file as f using (file_id)"
    ).fetchall() == [(revised, 1, ["household_duplicate_key"], "Jl. Lain 2")]
    later = "dtsen_keluarga_3376_202606.csv"  # the same month, loaded by a later run
    (tmp_path / "raw" / KELUARGA).unlink()
    (tmp_path / "raw" / revised).unlink()
    _, kept_later = _load_households(
        tmp_path, {later: _household_csv([household(id_keluarga="H1", alamat="Jl. Tiga"),
                                          household(id_keluarga="H9")])},
        run_id="run-2", con=con,
    )
    assert kept_later == {later: [1, 2]}
    assert con.execute(
        "select q.row_number, q.reasons, q.raw_values ->> 'alamat' from quarantine as q "
        "join ingest_file as f using (file_id) where f.file_name = ?", [later]
    ).fetchall() == [(1, ["household_duplicate_key"], "Jl. Tiga")]
    con.close()


# ------------------------------------------------------------------------------------------
# Members: the rows a suite flags, keys repeated in the file, households not surely accepted
# ------------------------------------------------------------------------------------------

ANGGOTA = "dtsen_anggota_3375_202606.csv"  # before KELUARGA in name order, read after it
#: (member row, outcome) of the hand-written member file, row numbers 1..7.
MEMBER_ROWS = [
    (member(id_keluarga="H1", nik=nik(1)), "accepted"),  # a clean household: nothing kept
    (member(id_keluarga="H2", nik=nik(2)), "quarantined"),  # its household is quarantined
    (member(id_keluarga="H9", nik=nik(3)), "quarantined"),  # no such household
    (member(id_keluarga="H5", nik=nik(4)), "accepted"),  # its household is flagged: kept
    (member(id_keluarga="H1", nik=nik(5), jenis_kelamin="X"), "accepted"),  # sex flagged
    (member(id_keluarga="H1", nik=nik(6)), "accepted"),  # the first row of a repeated NIK
    (member(id_keluarga="H1", nik=nik(6), nama="Warga Lain"), "quarantined"),  # other values
]


def test_members_keep_the_record_only_of_rows_that_can_be_quarantined_or_flagged(tmp_path):
    """Only the clean member of a household staged clean in this run (row 1) keeps no record;
    the tables equal those of a run keeping every record, and the ids stay in name order."""
    files = {
        KELUARGA: _household_csv([r for r, _ in HOUSEHOLD_ROWS]),
        ANGGOTA: _household_csv([r for r, _ in MEMBER_ROWS], list(MEMBER)),
    }
    con, kept = _load_households(tmp_path / "kept", files)
    assert kept[ANGGOTA] == [2, 3, 4, 5, 6, 7]
    assert con.execute(
        "select file_name, file_id, load_id from ingest_file order by file_name"
    ).fetchall() == [(ANGGOTA, 1, "run-1-0001"), (KELUARGA, 2, "run-1-0002")]
    tables = _kept_tables(con)
    members = con.execute(
        "select row_number, reasons, raw_values ->> 'nama' from quarantine "
        "where kind = 'members' order by row_number"
    ).fetchall()
    assert members == [
        (2, ["household_quarantined"], "Warga Satu"),
        (3, ["household_unknown"], "Warga Satu"),
        (7, ["member_duplicate_key"], "Warga Lain"),
    ]
    assert ("members", 5, "JENIS_KELAMIN", "code_invalid", "X") in con.execute(
        "select kind, row_number, column_name, reason, raw_value from flagged_field"
    ).fetchall()
    assert con.execute("select count(*) from registry_members").fetchone() == (4,)
    con.close()

    with raw.every_raw_text():  # every row's record kept: the same tables
        every, kept_every = _load_households(tmp_path / "every", files)
    assert kept_every[ANGGOTA] == [1, 2, 3, 4, 5, 6, 7]
    assert _kept_tables(every) == tables
    every.close()


def test_members_without_their_households_in_the_run_keep_every_record(tmp_path):
    """A member file whose month has no household file in the run (loaded by an earlier run)
    keeps the record of every row: its households are not known to be accepted."""
    con, _ = _load_households(tmp_path, {KELUARGA: _household_csv([household(id_keluarga="H1")])})
    (tmp_path / "raw" / KELUARGA).unlink()
    _, kept = _load_households(
        tmp_path,
        {ANGGOTA: _household_csv([member(), member(nik=nik(2), id_keluarga="H7")], list(MEMBER))},
        run_id="run-2", con=con,
    )
    assert kept == {ANGGOTA: [1, 2]}
    assert con.execute(
        "select row_number, reasons from quarantine where kind = 'members'"
    ).fetchall() == [(2, ["household_unknown"])]
    assert con.execute("select count(*) from registry_members").fetchone() == (1,)
    con.close()


def test_the_kept_predicate_is_the_plain_disjunction_of_the_suite(monkeypatch):
    """``raw_kept_predicate`` evaluates a NIK's implied pattern only where its stricter one
    fails (``suite_sql.scan_predicate``): the same rows as the disjunction of every row-wise
    expectation, on NIKs each pattern accepts or refuses, with the precision flag either way."""
    from tkpk.suite_sql import row_predicate, suite_path

    types = {"nik": "VARCHAR", "amount_idr": "DECIMAL(18,2)", "status": "VARCHAR",
             "program": "VARCHAR", "segmen_unparsed": "VARCHAR", "nik_precision_lost": "BOOLEAN",
             "malformed": "BOOLEAN"}
    suite = json.loads(suite_path("stg_pbi").read_text(encoding="utf-8"))
    plain = " or ".join(
        ["(malformed)"]
        + [f"({p})" for e in suite["expectations"] if (p := row_predicate(e, types)) is not None]
    )
    predicate = raw.raw_kept_predicate("pbi", types)
    assert predicate != plain  # the stricter NIK pattern first
    niks = [
        "3375011234560001",  # both patterns
        "3375014112560001",  # a woman's day (41..71)
        "0075011234560001",  # 16 digits, no province
        "9775011234560001",
        "3375010012560001",  # day 00
        "3375017212560001",  # day 72
        "3375011213560001",  # month 13
        "3375011200560001",  # month 00
        "337501123456000",  # 15 digits
        "33750112345600011",  # 17 digits
        "3375011234560001\n",  # a line break after 16 digits
        "337501123456000x",
        "",
        None,
    ]
    with duckdb.connect() as con:
        for value in niks:
            for lost in (False, True, None):
                row = [value, 42000, "success", "PBI_JK", None, lost, False]
                got = [
                    con.execute(
                        f"select {p} from (select ? as nik, ?::decimal(18,2) as amount_idr, "
                        "? as status, ? as program, ? as segmen_unparsed, "
                        "? as nik_precision_lost, ? as malformed)", row
                    ).fetchone()[0]
                    for p in (predicate, plain)
                ]
                assert got[0] == got[1], (value, lost)
