"""Incremental builds (transforms.incremental): the result equals a full build, table by table.

A random but seeded world (two snapshots, ten months of records of every kind of match) is built
in full; then program records of new months are added and built incrementally; every model table
must equal what a full build produces on the same inputs.
"""

from __future__ import annotations

import random
import re
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from marts_support import KEL_BANYURIP, KEL_KRAPYAK, KEL_MEDONO, KEL_PODOSUGIH, World

import transforms.incremental as incremental
from transforms.incremental import BuildReport, build_changed, full_build, scoped_sql
from transforms.models import graph
from transforms.runner import build_marts

MODEL_ORDER = graph().order
#: table -> the column its rows are clustered by (the models' headers)
CLUSTER_KEYS = {m: graph()[m].cluster_key for m in MODEL_ORDER if graph()[m].cluster_key}

KELURAHAN = [KEL_MEDONO, KEL_PODOSUGIH, KEL_KRAPYAK, KEL_BANYURIP]
PROGRAMS = ["PKH", "BPNT", "PIP", "PBI_JK", "ZAKAT", "RTLH", "PELATIHAN"]


def loaded(sha: str, kind: str = "disbursements") -> SimpleNamespace:
    """A raw-loader outcome of a loaded file."""
    return SimpleNamespace(sha256=sha, kind=kind, outcome="loaded", file_name=f"{sha}.csv")


def make_world(con, seed: int = 7) -> tuple[World, dict[str, list[tuple[str, list[str]]]]]:
    """Two snapshots of 30 households; the same people, some moved, some richer."""
    rng = random.Random(seed)
    w = World(con)
    w.snapshot("2031-01")
    w.snapshot("2031-06")
    households: dict[str, list[tuple[str, list[str]]]] = {"2031-01": [], "2031-06": []}
    for i in range(30):
        size = rng.randint(1, 5)
        members = [{"nik": f"3375019{i:03d}{j:06d}"} for j in range(size)]
        for snapshot in households:
            hid, niks = w.household(
                snapshot,
                rng.choice([250_000, 420_000, 499_999, 520_000, 700_000, 1_500_000]),
                rng.choice(KELURAHAN),
                members=members,
                desil=rng.randint(1, 10),
                id_keluarga=f"H{i:04d}",
                no_kk=f"33750101{i:08d}",
                jenis_lantai=rng.choice([1, 5]),
            )
            households[snapshot].append((hid, niks))
    return w, households


def add_records(w: World, households, months: list[str], seed: int) -> None:
    """Records of every kind in ``months``: NIK matches, NO_KK matches, unmatched, failed."""
    rng = random.Random(seed)
    people = households["2031-01"]
    for month in months:
        for _ in range(25):
            _hid, niks = rng.choice(people)
            kind = rng.random()
            day = f"{month}-{rng.randint(1, 28):02d}"
            program = rng.choice(PROGRAMS)
            if kind < 0.6:
                w.record(program, day, nik=rng.choice(niks), amount=rng.choice([0, 300_000]))
            elif kind < 0.75:
                w.record(program, day, nik="3375999999999999", no_kk=f"33750101{_hid[1:]:0>8}")
            elif kind < 0.9:
                w.record(program, day, kelurahan=rng.choice([*KELURAHAN, None]))
            else:
                w.record(program, day, nik=rng.choice(niks), status="failed")


def tag_new_rows(w: World, sha: str) -> None:
    """Give the records added since the last tag (file ``salur_test.csv``) a file of their own
    with SHA-256 ``sha``, as if it had just been loaded."""
    w.tag(sha)


def snapshot_tables(con) -> dict[str, list[tuple]]:
    """Every model table's rows, sorted (a canonical form to compare)."""
    return {
        name: sorted(con.execute(f"select * from {name}").fetchall(), key=repr)
        for name in MODEL_ORDER
    }


def assert_equals_full_build(con, incremental: dict[str, list[tuple]]) -> None:
    """Every model table of ``incremental`` (``snapshot_tables`` after an incremental build)
    equals what a full build then produces."""
    build_marts(con)
    full = snapshot_tables(con)
    for name in MODEL_ORDER:
        assert incremental[name] == full[name], f"{name} differs from a full build"


def build_file(con, w: World, sha: str, file_name: str):
    """Give file ``file_name``'s queued records the SHA-256 ``sha`` and build it incrementally
    (the report; the build must be incremental)."""
    w.flush()
    w.tag(sha, file_name)
    report = build_changed(con, [loaded(sha)])
    assert report.mode == "incremental", report.reason
    return report


@pytest.fixture()
def built(con):
    """The world built in full with ten months of records (tagged 'base')."""
    w, households = make_world(con)
    add_records(w, households, [f"2031-{m:02d}" for m in range(1, 11)], seed=1)
    w.flush()
    tag_new_rows(w, "base")
    report = build_changed(con, [loaded("registry", "households"), loaded("base")])
    assert report.mode == "full"
    return w, households


@pytest.mark.parametrize(
    ("months", "expected_periods"),
    [
        (["2031-11"], ["2031-11-01"]),  # a new month: one new period
        (["2031-10"], ["2031-10-01"]),  # the latest month again
        (["2031-04"], [f"2031-{m:02d}-01" for m in range(4, 12) if m != 11]),  # mid-year
        (["2031-02", "2031-12"], [f"2031-{m:02d}-01" for m in (2, 3, 4, 5, 6, 7, 8, 9, 10, 12)]),
    ],
)
def test_incremental_equals_full(con, built, months, expected_periods):
    w, households = built
    add_records(w, households, months, seed=99)
    w.flush()
    tag_new_rows(w, "new")
    already = SimpleNamespace(sha256="base", kind="disbursements", outcome="already_loaded")
    report = build_changed(con, [already, loaded("new")])
    assert report.mode == "incremental", report.reason
    assert [p.isoformat() for p in report.periods] == expected_periods
    assert_equals_full_build(con, snapshot_tables(con))
    # only the scoped models ran for the periods (not the snapshot models: the household
    # facts and the NIK / NO_KK index are kept)
    ran = {m["name"] for m in report.models}
    assert not {"int_household_snapshot", "int_match_index"} & ran
    assert set(graph().of_kind("period", "record_month")) <= ran


def test_a_small_file_recomputes_its_program_and_households_only(con, built):
    """One more file of one program and month (a successful, a failed and a corrected
    disbursement of two households): only that (month, program) of int_program_monthly and the
    rows of those two households (whose int_program_monthly rows changed) of the periods whose
    window holds the month are recomputed (the household_scope models); the result still equals
    a full build."""
    w, households = built
    (_, first), (_, second) = households["2031-01"][3], households["2031-01"][11]
    w.record("PKH", "2031-04-10", nik=first[0], stage=2, file_name="salur_pkh_new.csv")
    w.record("PKH", "2031-04-12", nik=second[0], status="failed", file_name="salur_pkh_new.csv")
    w.record("PKH", "2031-04-20", nik=second[0], stage=3, amount=0,
             file_name="salur_pkh_new.csv")
    report = build_file(con, w, "small", "salur_pkh_new.csv")
    assert report.record_scope == [(date(2031, 4, 1), "PKH")]
    assert [p.isoformat() for p in report.periods] == [
        f"2031-{m:02d}-01" for m in range(4, 11)
    ]
    # the households (per snapshot) whose April PKH rows changed: the two, in both snapshots
    # (April is in the reach of both); not the other households with PKH records in April,
    # whose rows (and so figures) stay as they were
    pkh_april = con.execute(
        "select count(distinct (snapshot, household_key)) from int_program_monthly "
        "where record_period = '2031-04-01' and program = 'PKH' and household_key is not null"
    ).fetchone()[0]
    assert report.households == 4 < pkh_april
    # the sum models were updated by the four households' difference, households and
    # poverty_transitions (the pair 2031-01 -> 2031-06: June is in the scope) for them only
    ran = {m["name"]: m for m in report.models}
    assert all(ran[m].get("delta") for m in graph().with_role("sum") if m in ran)
    assert {"households", "poverty_transitions"} <= set(ran)
    # poverty_profile reads no column of int_household_status that PKH changes: kept as it was
    assert ran["poverty_profile"].get("kept")
    # data_coverage reads the registry files' rows of the ingest tables and kelurahan_poverty
    # (kept: no poverty figure changed): kept as it was
    assert ran["kelurahan_poverty"].get("kept") and ran["data_coverage"].get("kept")
    # program_reach: only PKH's rows recomputed (the other programs' inputs did not change)
    assert ran["program_reach"].get("programs")
    assert_equals_full_build(con, snapshot_tables(con))


def test_a_poor_household_reached_keeps_data_coverage(con, built):
    """A first program for a poor household of June changes kelurahan_poverty (one poor
    household fewer unreached), recomputed whole, but not the only column data_coverage reads
    of it (mpi_incomplete_population): data_coverage is kept; every table equals a full
    build."""
    w, _ = built
    hid, nik = con.execute(
        "select s.id_keluarga, min(m.nik) from int_household_status as s "
        "join registry_members as m on m.snapshot = s.snapshot and m.id_keluarga = s.id_keluarga "
        "where s.period = '2031-06-01' and s.poor and s.program_count = 0 "
        "group by s.id_keluarga order by s.id_keluarga limit 1").fetchone()
    unreached = "select sum(poor_households_unreached) from kelurahan_poverty " \
                "where period = '2031-06-01' and area_level = 'kota'"
    before = con.execute(unreached).fetchone()[0]
    w.record("RTLH", "2031-06-10", nik=nik, file_name="salur_rtlh_new.csv")
    report = build_file(con, w, "reached", "salur_rtlh_new.csv")
    ran = {m["name"]: m for m in report.models}
    assert con.execute(unreached).fetchone()[0] == before - 1, hid
    assert not ran["kelurahan_poverty"].get("kept")
    assert ran["data_coverage"].get("kept")
    assert_equals_full_build(con, snapshot_tables(con))


def test_a_first_program_in_a_snapshot_month_updates_the_transitions_by_difference(con, built):
    """A first program in June (a snapshot month) for a household poor in January: its status
    row judged in June changes (program_count), so poverty_transitions' pair 2031-01 -> 2031-06
    is updated by that household's difference (one more stayed-poor or exited recipient), not
    recomputed; only the households whose programs received changed are recomputed in
    int_household_status; every table equals a full build."""
    w, _ = built
    hid, nik = con.execute(
        "select s.id_keluarga, min(m.nik) from int_household_status as s "
        "join int_household_status as f on f.id_keluarga = s.id_keluarga "
        "and f.period = '2031-01-01' and f.snapshot = '2031-01-01' and f.poor "
        "join registry_members as m on m.snapshot = s.snapshot and m.id_keluarga = s.id_keluarga "
        "where s.period = '2031-06-01' and s.snapshot = '2031-06-01' "
        "and s.program_count = 0 group by s.id_keluarga order by s.id_keluarga limit 1"
    ).fetchone()
    recipients = ("select stayed_poor_recipient_households + exited_poverty_recipient_households "
                  "from poverty_transitions where snapshot_from = '2031-01-01' "
                  "and area_level = 'kota'")
    before = con.execute(recipients).fetchone()[0]
    w.record("RTLH", "2031-06-10", nik=nik, file_name="salur_rtlh_june.csv")
    report = build_file(con, w, "june", "salur_rtlh_june.csv")
    ran = {m["name"]: m for m in report.models}
    assert ran["poverty_transitions"].get("delta"), hid
    assert con.execute(recipients).fetchone()[0] == before + 1
    assert_equals_full_build(con, snapshot_tables(con))


class RecordingConnection:
    """A connection that runs and records every statement given to ``execute``."""

    def __init__(self, con) -> None:
        self._con = con
        self.statements: list[str] = []

    def execute(self, statement: str, *args, **kwargs):
        self.statements.append(statement)
        return self._con.execute(statement, *args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._con, name)


#: A statement that writes a table (the last name: ``<catalog>.main.<table>`` or a bare one).
WRITES = re.compile(r"\b(?:insert\s+into|delete\s+from|update|create\s+(?:or\s+replace\s+)?"
                    r"(?:temp\s+)?table)\s+(?:\w+\.main\.)?(\w+)", re.IGNORECASE)
#: A lookup by row id (``rowid in (...)``, ``t.rowid = ...``; not a ``_rowid`` column).
ROWID_LOOKUP = re.compile(r"\browid\s*(?:in\b|=)", re.IGNORECASE)
WAREHOUSE_TABLE = re.compile(r"\b\w+\.main\.(\w+)")


def rowid_lookups_after_writes(statements: list[str]) -> list[tuple[str, str]]:
    """(table, statement) for every statement looking rows up by row id in a warehouse table
    an earlier statement of the build wrote (in the same transaction)."""
    written: set[str] = set()
    found = []
    for statement in statements:
        if ROWID_LOOKUP.search(statement):
            for table in set(WAREHOUSE_TABLE.findall(statement)) & written:
                found.append((table, statement))
        written.update(WRITES.findall(statement))
    return found


def test_rows_are_never_looked_up_by_row_id_in_a_table_the_build_changed(con, built,
                                                                         monkeypatch):
    """DuckDB 2.0's join on ``rowid`` against a table with rows deleted and appended in the
    open transaction misses rows now and then (and can crash): the household-mode build
    that recomputes only the households whose programs received changed
    (``_narrowed_units``) once read ``int_household_status``' rows of the affected
    households that way after replacing them, so the sums over programs and status
    (``int_reach_sums``, ``int_incidence_sums``, ``int_funding_sums``) sometimes missed a
    household (the chaos test's killed and rerun night). No statement of an incremental build
    may look rows up by row id in a warehouse table the build already wrote; the build
    narrows, and every table equals a full build."""
    w, _ = built
    narrowed = []
    units = incremental._narrowed_units

    def spy(con, name):
        done = units(con, name)
        narrowed.append((name, done))
        return done

    monkeypatch.setattr(incremental, "_narrowed_units", spy)
    nik = con.execute(
        "select min(m.nik) from int_household_status as s join registry_members as m "
        "on m.snapshot = s.snapshot and m.id_keluarga = s.id_keluarga "
        "where s.period = '2031-06-01' and s.snapshot = '2031-06-01' and s.program_count = 0"
    ).fetchone()[0]
    w.record("RTLH", "2031-06-10", nik=nik, file_name="salur_june.csv")  # a first program
    for row in con.execute(  # amounts of programs the households already receive
            "select p.nik, p.program from program_records as p "
            "where p.period between '2031-06-01' and '2031-06-30' and p.nik is not null "
            "order by p.nik, p.program limit 5").fetchall():
        w.record(row[1], "2031-06-20", nik=row[0], amount=100_000, file_name="salur_june.csv")
    w.flush()
    w.tag("june", "salur_june.csv")
    recording = RecordingConnection(con)
    report = build_changed(recording, [loaded("june")])
    assert report.mode == "incremental", report.reason
    assert ("int_household_status", True) in narrowed
    assert rowid_lookups_after_writes(recording.statements) == []
    assert_equals_full_build(con, snapshot_tables(con))


def test_a_row_id_lookup_after_a_write_is_found():
    """The check of the test above finds the lookup the narrowed build once made."""
    found = rowid_lookups_after_writes([
        "delete from w.main.int_household_status where rowid in (select _rowid from _gone_rows)",
        "insert into w.main.int_household_status by name select unnest(r._row) from _added_rows",
        "create or replace temp table _post_in_int_household_status as select * from "
        "w.main.int_household_status where rowid in (select t.rowid from "
        "w.main.int_household_status as t where true)",
    ])
    assert [table for table, _ in found] == ["int_household_status"]


def test_program_reach_recomputed_whole_when_its_programs_cannot_be_told(con, built,
                                                                         monkeypatch):
    """When int_reach_sums is recomputed whole (its difference refused), the programs whose
    rows changed cannot be told: program_reach is recomputed for every program; the result
    still equals a full build."""
    w, households = built
    monkeypatch.setattr(incremental, "_apply_delta", lambda *args: None)
    _, niks = households["2031-01"][6]
    w.record("PKH", "2031-04-10", nik=niks[0], stage=2, file_name="salur_pkh_new.csv")
    report = build_file(con, w, "refused", "salur_pkh_new.csv")
    ran = {m["name"]: m for m in report.models}
    assert "programs" not in ran["program_reach"] and not ran["program_reach"].get("kept")
    assert_equals_full_build(con, snapshot_tables(con))


def test_data_coverage_reads_no_program_file_row(con, built):
    """What lets an incremental build keep data_coverage (``REGISTRY_ROWS``): rows of a program
    file in ingest_file, quarantine and flagged_field (all an incremental night adds to them)
    leave its rows as they were."""
    before = snapshot_tables(con)["data_coverage"]
    file_id = con.execute("select max(file_id) + 1 from ingest_file").fetchone()[0]
    con.execute("insert into ingest_file (sha256, file_name, kind, file_outcome, rows_read, "
                "skipped_lines, loaded_at, file_id) values ('p', 'salur_x.csv', "
                "'disbursements', 'loaded', 3, 0, now(), ?)", [file_id])
    con.execute("insert into quarantine (file_id, kind, row_number, raw_values) values "
                "(?, 'disbursements', 1, json_object('id_keluarga', 'H0001', "
                "'kode_kelurahan', ?))", [file_id, KEL_MEDONO])
    flag(con, file_id, 2, "NOMINAL", "x")
    build_marts(con)
    assert snapshot_tables(con)["data_coverage"] == before


def test_columns_read_of_an_input():
    """The columns a model may read of a table, by DuckDB's parser: poverty_profile names the
    poverty flags of int_household_status but none of its program columns; households selects
    ``int_household_status.*`` (every column); a star over a CTE does not count."""
    read = incremental.columns_read("poverty_profile", "int_household_status")
    assert {"poor", "extreme_poor", "mpi_poor", "household_size", "kelurahan_code"} <= read
    assert not {"program_count", "programs_received"} & read
    assert incremental.columns_read("households", "int_household_status") is None



def test_columns_of_resolves_a_plain_columns_pattern():
    """int_poverty_sums expands ``columns('^deprived_')`` of int_household_status:
    ``columns_read`` says every column, ``_columns_of`` (the images' columns) resolves the
    pattern against the table's columns and leaves out the list of programs received."""
    columns = ["period", "snapshot", "household_key", "deprived_water", "deprived_housing",
               "programs_received", "rt"]
    assert incremental.columns_read("int_poverty_sums", "int_household_status") is None
    read = incremental._columns_of("int_poverty_sums", "int_household_status", columns)
    assert {"deprived_water", "deprived_housing", "period"} <= read
    assert not {"programs_received", "rt"} & read
    assert incremental._columns_of("households", "int_household_status", columns) is None

def test_a_file_outside_the_snapshot_months_keeps_the_transitions(con, built):
    """A file of August only: the scope's periods (August to October) hold no snapshot month
    (January, June), so no pair of snapshots can change: poverty_transitions is not recomputed;
    the result equals a full build."""
    w, households = built
    _, niks = households["2031-06"][7]
    w.record("BPNT", "2031-08-05", nik=niks[0], stage=1, amount=200_000,
             file_name="salur_bpnt_new.csv")
    report = build_file(con, w, "august", "salur_bpnt_new.csv")
    assert report.households == 1
    ran = {m["name"] for m in report.models}
    assert "poverty_transitions" not in ran
    assert_equals_full_build(con, snapshot_tables(con))


def test_an_amount_only_change_keeps_the_household_list(con, built):
    """One more PKH payment in September to a household that already received PKH then: its
    int_household_program rows change (records, amount) but not its int_household_status row
    (programs received): ``households`` is not recomputed; a new program for another household
    (RTLH) changes its status row and its ``households`` row; the result equals a full build."""
    w, _ = built
    had, nik = con.execute(
        "select h.id_keluarga, min(m.nik) from int_household_program as s "
        "join int_household_snapshot as h "
        "on h.snapshot = s.snapshot and h.household_key = s.household_key "
        "join registry_members as m on m.snapshot = s.snapshot and m.id_keluarga = h.id_keluarga "
        "where s.period = '2031-10-01' and s.snapshot = '2031-06-01' and s.program = 'PKH' "
        "and s.recipient group by h.id_keluarga order by h.id_keluarga limit 1").fetchone()
    w.record("PKH", "2031-09-10", nik=nik, stage=5, amount=300_000,
             file_name="salur_pkh_more.csv")
    report = build_file(con, w, "more", "salur_pkh_more.csv")
    ran = {m["name"]: m for m in report.models}
    assert report.households >= 1, had
    assert "int_household_status" in ran and "households" not in ran
    assert_equals_full_build(con, snapshot_tables(con))
    fresh, nik = con.execute(
        "select s.id_keluarga, min(m.nik) from int_household_status as s "
        "join registry_members as m on m.snapshot = s.snapshot and m.id_keluarga = s.id_keluarga "
        "where s.period = '2031-10-01' and s.snapshot = '2031-06-01' "
        "and not list_contains(coalesce(s.programs_received, []), 'RTLH') "
        "group by s.id_keluarga order by s.id_keluarga limit 1").fetchone()
    w.record("RTLH", "2031-09-12", nik=nik, file_name="salur_rtlh_first.csv")
    report = build_file(con, w, "first", "salur_rtlh_first.csv")
    ran = {m["name"]: m for m in report.models}
    assert "households" in ran, fresh
    assert_equals_full_build(con, snapshot_tables(con))


SUMS = "int_incidence_sums"  # grain (period, program, desil); recipient_households, amount_idr


def delta_world(con, old: list[tuple], pre: list[tuple], post: list[tuple]) -> BuildReport:
    """The table ``SUMS`` holding ``old`` rows (period, program, desil, households, amount), the
    affected households' share before (``pre``) and after (``post``), period 2031-05 in scope."""
    con.execute(f"create table {SUMS} (period date, program varchar, desil tinyint, "
                "recipient_households bigint, amount_idr decimal(38, 2))")
    for table, rows in ((SUMS, old), (f"_pre_{SUMS}", pre), (f"_post_{SUMS}", post)):
        if table != SUMS:
            con.execute(f"create temp table {table} as select * from main.{SUMS} limit 0")
        for row in rows:
            con.execute(f"insert into {table} values ('2031-05-01', ?, ?, ?, ?)", list(row))
    con.execute("create temp table _scope as select date '2031-05-01' as period, false as whole")
    return BuildReport(mode="incremental", reason="test")


def sums(con) -> list[tuple]:
    return con.execute(f"select program, desil, recipient_households, amount_idr from {SUMS} "
                       "order by all").fetchall()


def test_a_sum_model_is_updated_by_the_difference(con, monkeypatch):
    """new = old - pre + post by the grain; a NULL (nothing counted) side adds nothing; a key
    only the new share has is added; keys the households do not touch stay."""
    monkeypatch.setattr(incremental, "_delta_image", lambda *args: None)
    report = delta_world(
        con,
        old=[("PKH", 1, 10, 1000.50), ("PKH", 2, 4, None), ("BPNT", 1, 7, 70)],
        pre=[("PKH", 1, 3, 300.25), ("PKH", 2, 1, None)],
        post=[("PKH", 1, 4, 400.25), ("PKH", 2, 1, 50), ("PIP", 3, 1, 20)],
    )
    db = con.execute("select current_database()").fetchone()[0]
    assert incremental._apply_delta(con, report, db, SUMS)
    assert sums(con) == [
        ("BPNT", 1, 7, Decimal("70.00")),  # untouched
        ("PIP", 3, 1, Decimal("20.00")),  # new key
        ("PKH", 1, 11, Decimal("1100.50")),  # 10 - 3 + 4, 1000.50 - 300.25 + 400.25
        ("PKH", 2, 4, Decimal("50.00")),  # 4 - 1 + 1; NULL - NULL + 50
    ]


@pytest.mark.parametrize(("pre", "post"), [
    ([("PKH", 1, 3, 300)], []),  # the key loses the households' rows: others may count none
    ([("PKH", 1, 3, 1000)], [("PKH", 1, 3, None)]),  # 1000 - 1000: 0 or nothing counted?
])
def test_a_difference_that_cannot_be_told_is_refused(con, monkeypatch, pre, post):
    """When the remaining households' sum cannot be told from the difference (a key whose
    affected households leave it; a column they leave NULL while the rest sums to 0), the table
    is left as it was and the caller recomputes its periods whole."""
    monkeypatch.setattr(incremental, "_delta_image", lambda *args: None)
    report = delta_world(con, old=[("PKH", 1, 10, 1000)], pre=pre, post=post)
    db = con.execute("select current_database()").fetchone()[0]
    assert not incremental._apply_delta(con, report, db, SUMS)
    assert sums(con) == [("PKH", 1, 10, Decimal("1000.00"))]


def test_a_file_that_changes_no_household_recomputes_no_household(con, built):
    """A later file that only repeats a disbursement (same program, NIK and stage, within six
    months, same outcome: one record after corrections) changes no row of int_program_monthly:
    no household is affected, the household-scoped models keep every row, and the result still
    equals a full build."""
    w, households = built
    _, niks = households["2031-01"][5]
    w.record("PKH", "2031-04-10", nik=niks[0], stage=2, amount=300_000,
             file_name="salur_pkh_a.csv")
    # the household's April PKH rows change, in both snapshots
    assert build_file(con, w, "first", "salur_pkh_a.csv").households == 2
    before = snapshot_tables(con)
    w.record("PKH", "2031-05-02", nik=niks[0], stage=2, amount=300_000,
             file_name="salur_pkh_b.csv")
    report = build_file(con, w, "repeat", "salur_pkh_b.csv")
    assert report.record_scope == [(date(2031, 4, 1), "PKH"), (date(2031, 5, 1), "PKH")]
    assert report.households == 0
    incremental = snapshot_tables(con)
    for name in ("int_program_monthly", *(m for m in MODEL_ORDER
                                          if graph()[m].household_scope)):
        assert incremental[name] == before[name], f"{name} changed"
    assert_equals_full_build(con, incremental)


def flag(con, file_id: int, row_number: int, column: str, raw_value: str | None) -> None:
    """One flagged field of a disbursement row of file ``file_id`` (April 2031, Medono)."""
    con.execute(
        "insert into flagged_field by name select ? as file_id, 'disbursements' as kind, "
        "? as row_number, ? as column_name, 'OUT_OF_RANGE' as reason, ? as raw_value, "
        "'test' as load_id, date '2031-04-01' as period, ? as kelurahan_code, "
        "null as id_keluarga", [file_id, row_number, column, raw_value, KEL_MEDONO])


@pytest.mark.parametrize("undone", [False, True])
def test_data_quality_field_appends_the_new_files_rows(con, built, undone):
    """data_quality_field gets the flagged fields of the night's file appended (one row each,
    the earlier files' rows kept as they were); when its rows then do not match flagged_field
    one to one (an earlier file's flagged row gone: not what an ingest does) it is rebuilt
    whole. Either way it equals a full build."""
    w, households = built
    old = con.execute("select min(file_id) from program_records").fetchone()[0]
    flag(con, old, 1, "NOMINAL", "12x")
    flag(con, old, 2, "NOMINAL", "3375010101000001")  # 15+ digits: left out like a NIK
    full_build(con, "the earlier night")
    _, niks = households["2031-01"][4]
    w.record("PKH", "2031-04-10", nik=niks[0], stage=2, file_name="salur_pkh_new.csv")
    flag(con, w.file_id("salur_pkh_new.csv"), 7, "NOMINAL", "abc")
    if undone:
        con.execute("delete from flagged_field where file_id = ? and row_number = 1", [old])
    report = build_file(con, w, "flagged", "salur_pkh_new.csv")
    ran = {m["name"]: m for m in report.models}
    assert ran["data_quality_field"].get("appended", False) is not undone
    rows = con.execute("select sha256, row_number, raw_value from data_quality_field "
                       "order by sha256 = 'flagged', row_number").fetchall()
    assert [r[1:] for r in rows] == [*([(1, "12x")] if not undone else []), (2, None), (7, "abc")]
    assert rows[-1][0] == "flagged"
    assert_equals_full_build(con, snapshot_tables(con))


def test_scoped_match_index_holds_what_a_scoped_record_can_match(con, built):
    """transforms/scoped/int_match_index.sql: the index rows of the snapshots whose reach holds a
    scope month (October 2031: only snapshot 2031-06's periods reach it; 2031-01's end in May)
    whose key is a scoped record's NIK or NO_KK (one record: its NIK; the household's other
    members and every other household are left out)."""
    _, households = built
    _, niks = households["2031-06"][2]
    con.execute("create temp table _record_scope as "
                "select date '2031-10-01' as record_period, 'PKH' as program")
    con.execute("create temp table program_records as select * from main.program_records limit 0")
    con.execute("insert into temp.main.program_records by name select 'PKH' as program, "
                "? as nik, cast(null as varchar) as no_kk", [niks[0]])
    rows = con.execute(scoped_sql("int_match_index")).fetchall()
    assert [r[:3] for r in rows] == [(date(2031, 6, 1), "nik", int("1" + niks[0]))]
    assert rows == con.execute(
        "select * from main.int_match_index where snapshot = '2031-06-01' and match_key = ?",
        [int("1" + niks[0])],
    ).fetchall()


def test_registry_file_forces_full_build(con, built):
    report = build_changed(con, [loaded("members-2031-06", "members")])
    assert (report.mode, report.reason) == ("full", "registry snapshot files loaded")


def test_code_or_reference_change_forces_full_build(con, built):
    con.execute("update ref_poverty_line set line_idr = line_idr + 1 where status = 'test'")
    report = build_changed(con, [loaded("nothing-new")])
    assert report.mode == "full"
    assert "reference" in report.reason


def test_no_new_records_rebuilds_nothing_but_the_small_tables(con, built):
    before = snapshot_tables(con)
    report = build_changed(con, [])
    assert report.mode == "incremental"
    assert report.periods == []
    assert snapshot_tables(con) == before


def test_first_build_is_full(con):
    w, households = make_world(con)
    add_records(w, households, ["2031-01"], seed=3)
    w.flush()
    report = full_build(con, "test")
    assert report.mode == "full"
    assert {m["name"] for m in report.models} == set(MODEL_ORDER)


def key_runs(con, table: str, key: str) -> tuple[int, int]:
    """(runs of equal ``key`` values in the table's storage order, distinct ``key`` values):
    equal when every value's rows are stored together."""
    return con.execute(
        f"""
        with stored as (
            select {key} as k, lag({key}) over (order by rowid) as previous from {table}
        )
        select count(*) filter (where previous is null or k is distinct from previous),
            count(distinct k)
        from stored
        """
    ).fetchone()


def max_runs_per_key(con, table: str, key: str) -> int:
    """The most runs of equal ``key`` values in the table's storage order of any one value."""
    return con.execute(
        f"""
        with stored as (
            select {key} as k, lag({key}) over (order by rowid) as previous from {table}
        )
        select max(runs) from (
            select k, count(*) filter (where previous is null or k is distinct from previous)
                as runs
            from stored group by k
        )
        """
    ).fetchone()[0]


@pytest.mark.parametrize("months", [["2031-11"], ["2031-02", "2031-12"]])
def test_household_tables_stay_clustered_by_period(con, months):
    """Full builds (with the nightly's engine setting) store each period's rows of the
    household-grain tables together: replacing a period then empties whole row groups instead of
    thinning every one, and the commit's checkpoint rewrites little. An incremental build keeps
    that order but for the rows it changed, appended in key order: each key's rows are then in
    at most two runs (its block and the appended changes)."""
    con.execute("set preserve_insertion_order = false")
    w, households = make_world(con)
    add_records(w, households, [f"2031-{m:02d}" for m in range(1, 11)], seed=1)
    w.flush()
    tag_new_rows(w, "base")
    assert build_changed(con, [loaded("registry", "households"), loaded("base")]).mode == "full"
    for table, key in CLUSTER_KEYS.items():
        runs, values = key_runs(con, table, key)
        assert values > 1 and runs == values, f"{table} not clustered by {key} after a full build"
    add_records(w, households, months, seed=99)
    w.flush()
    tag_new_rows(w, "new")
    assert build_changed(con, [loaded("new")]).mode == "incremental"
    for table, key in CLUSTER_KEYS.items():
        assert max_runs_per_key(con, table, key) <= 2, f"{table} scattered after an increment"
    incremental = snapshot_tables(con)
    build_marts(con)
    assert snapshot_tables(con) == incremental
