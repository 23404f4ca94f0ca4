"""The validation trusts the raw load's kept rows (``tkpk.suite_run.Prejudged``), safely.

The raw load evaluates the staging suite's row-wise rules, compiled as the validation compiles
them, on every staged row and keeps the record as read of every row failing one; it records the
fingerprint of those compiled rules in the kept file (``tkpk.ingest.raw.raw_kept_fingerprint``).
The validation then evaluates the rules only on the kept rows of the files whose fingerprint is
its own scan's, and on every row of the other files. Here: the same verdict, pairs, kept rows and
GX sample with and without the shortcut, on rows failing every kind of row-wise rule and on a
generated sample through the whole ingest; and the fallback to the full scan when the
fingerprint differs (a suite changed between the load and the validation) or is missing (a file
staged by an older code).
"""

from __future__ import annotations

import copy

import duckdb
import pytest
from test_validation import SUITE

from tkpk import reference, suite_run, suite_sql
from tkpk.ingest import accept, raw
from tkpk.ingest.accept import LINEAGE_TABLES, process_loads
from tkpk.validation import _hash_threshold, validate_table

#: Rows of ``many``: each row-wise rule of ``SUITE`` fails on its own rows (and some on several).
ROWS = 4_000


@pytest.fixture
def many(con):
    """Table ``many`` (``ROWS`` rows) with rows failing each row-wise rule of ``SUITE``, and
    ``failing`` (column ``id``): the ids of the rows failing any, as a full scan finds them."""
    con.execute(
        f"""
        create table many as
        select i as row_id,
            case when i % 3 = 0 then 'x' when i % 19 = 0 then null
                 else lpad(cast(i as varchar), 16, '3') end as nik,
            'N' as nama,
            case when i % 7 = 0 then 11 else 1 + i % 10 end as desil,
            case when i % 11 = 0 then date '1899-12-31' when i % 13 = 0 then date '2027-01-01'
                 else date '1980-01-01' end as born,
            date '2026-06-30' as period_end,
            case when i % 17 = 0 then -5 else 5 end::decimal(18, 2) as amount,
            i % 2 = 0 as cash
        from range(1, {ROWS + 1}) as r(i)
        """
    )
    with suite_run.execute(con, "many", SUITE, row_id="row_id", ids=True) as run:
        assert run.trusted is None
        assert len(run.counts) == 6  # every row-wise rule fails somewhere
        con.execute(f"create table failing as select distinct id from {run.pairs}")
    return con


def _fingerprint(con, suite=SUITE) -> str:
    """The fingerprint of the scan predicate ``suite`` compiles to on ``many``."""
    with suite_run.execute(con, "many", suite, row_id="row_id", ids=True) as run:
        return run.fingerprint


def _verdict(con, prejudged, keep: bool) -> tuple:
    """(counts, sorted failing pairs, sorted kept ids, trusted) of ``SUITE`` on ``many``."""
    bound = _hash_threshold(300, ROWS)
    with suite_run.execute(
        con, "many", SUITE, row_id="row_id", ids=True, prejudged=prejudged,
        keep_below=(lambda rows: bound) if keep else None,
    ) as run:
        pairs = con.execute(f"select id, idx from {run.pairs} order by all").fetchall()
        kept = (
            con.execute(f"select row_id from {run.kept} order by 1").fetchall() if keep else None
        )
        return run.counts, pairs, kept, run.trusted


@pytest.mark.parametrize("keep", [False, True], ids=["pairs", "kept-rows"])
@pytest.mark.parametrize("candidates", ["failing", "superset"])
def test_the_trusted_scan_finds_what_the_full_scan_finds(many, keep, candidates):
    """Candidates the failing rows or more (as the raw load keeps: a superset): the same
    counts, failing pairs and kept rows (the sample's rows too) as a full scan."""
    relation = "failing" if candidates == "failing" else (
        "(select id from failing union select i from range(1, 500) as r(i))"
    )
    prejudged = suite_run.Prejudged(relation, {_fingerprint(many): "true"})
    full = _verdict(many, None, keep)
    trusted = _verdict(many, prejudged, keep)
    assert trusted[3] == "true" and full[3] is None
    assert trusted[:3] == full[:3]
    assert sum(full[0].values()) > 1000


def test_the_trusted_rows_are_not_judged_again(many):
    """No candidates: a trusted scan finds no failing row (it does not judge the rows the record
    clears: the trust is real), a covered part only outside it; the rows kept for the sample
    (hashing below the bound) are judged wherever they are."""
    nothing = "(select id from failing where false)"
    fingerprint = _fingerprint(many)
    counts, pairs, _, _ = _verdict(many, suite_run.Prejudged(nothing, {fingerprint: "true"}),
                                   keep=False)
    assert counts == {} and pairs == []
    half = suite_run.Prejudged(nothing, {fingerprint: f"row_id <= {ROWS // 2}"})
    full = _verdict(many, None, keep=False)[1]
    _, pairs, _, trusted = _verdict(many, half, keep=False)
    assert trusted == f"row_id <= {ROWS // 2}"
    assert pairs == [p for p in full if p[0] > ROWS // 2] and pairs
    _, pairs, _, _ = _verdict(many, half, keep=True)
    bound = _hash_threshold(300, ROWS)
    sampled = {i for (i,) in many.execute(
        f"select row_id from many where hash(row_id) < {bound}::ubigint").fetchall()}
    assert pairs == [p for p in full if p[0] > ROWS // 2 or p[0] in sampled]
    assert len(pairs) > len([p for p in full if p[0] > ROWS // 2])


def test_another_fingerprint_is_not_trusted(many):
    """A record made by other compiled rules (here: the suite without its last rule, as if the
    suite changed between the load and the validation) is ignored: every row is judged, even
    with no candidates."""
    changed = copy.deepcopy(SUITE)
    changed["expectations"].pop()
    other = _fingerprint(many, changed)
    assert other != _fingerprint(many)
    nothing = "(select id from failing where false)"
    for keep in (False, True):
        got = _verdict(many, suite_run.Prejudged(nothing, {other: "true"}), keep)
        assert got[3] is None
        assert got[:3] == _verdict(many, None, keep)[:3]


def test_the_fingerprint_names_the_compiled_rules():
    """Equal texts, equal fingerprints; any change of the compiled predicate changes it."""
    a = suite_sql.scan_fingerprint("(coalesce(nik is null, false))")
    assert a == suite_sql.scan_fingerprint("(coalesce(nik is null, false))")
    assert a != suite_sql.scan_fingerprint("(coalesce(nama is null, false))")


def test_validate_table_with_the_record_gives_the_same_outcome_and_sample(many):
    """``validate_table``: the same failures and the same GX sample results (GX still judges the
    sampled rows the record cleared: a wrong record would be an engine disagreement)."""
    prejudged = suite_run.Prejudged("failing", {_fingerprint(many): "true"})
    plain = validate_table(many, "many", SUITE, gx_sample_rows=300)
    trusted = validate_table(many, "many", SUITE, gx_sample_rows=300, prejudged=prejudged)
    assert [(f.index, f.unexpected_count, f.row_ids) for f in trusted.failures] == [
        (f.index, f.unexpected_count, f.row_ids) for f in plain.failures
    ]
    assert [r.to_json_dict()["results"] for r in trusted.results] == [
        r.to_json_dict()["results"] for r in plain.results
    ]
    assert trusted.results[0].meta["tkpk_sample"] == plain.results[0].meta["tkpk_sample"]


# ------------------------------------------------------------------------ the whole ingest


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """A generated raw folder: 200 households, two months, 30 % of the rows with defects."""
    from tkpk.synth import generate

    folder = tmp_path_factory.mktemp("prejudged")
    generate(folder / "raw", folder / "synth", 200, "2026-05:2026-06", 5, "33.75", 0.3)
    return folder / "raw"


@pytest.fixture(scope="module")
def full_scan(sample, tmp_path_factory):
    """The output tables and validation outcomes of the ingest of ``sample`` judged whole."""
    tables, trusted = _ingest(sample, tmp_path_factory.mktemp("full"), trust=False)
    assert set(trusted.values()) == {None}
    return tables


def _ingest(sample, tmp_path, spoil=None, trust: bool = True):
    """(output tables, {kind: trusted predicate}) of the raw load and ingest of the raw folder
    ``sample``; ``spoil(outcomes)`` may change the staged files in between; without ``trust``
    the validation gets no record (a full scan)."""
    import dataclasses

    from test_accept import make_settings

    from tkpk.db import connect

    settings = dataclasses.replace(make_settings(tmp_path), raw_dir=sample)
    con = connect(settings, ":memory:")
    reference.install(con)
    outcomes = raw.load_new_files(con, settings, "run-1")
    if spoil is not None:
        spoil(con, [o for o in outcomes if o.staged])
    trusted: dict[str, str | None] = {}
    run = suite_run.SuiteRun.run

    def spy(self):
        run(self)
        trusted[self.table.removeprefix("stg_")] = self.trusted

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(suite_run.SuiteRun, "run", spy)
        if not trust:
            patch.setattr(accept, "prejudged", lambda con, kind: None)
        summary = process_loads(con, settings, "run-1", outcomes)
    tables = {
        table: con.execute(
            f"select * exclude (load_id) from {table} order by all"
            if "load_id" in [c for (c, *_) in con.execute(f"describe {table}").fetchall()]
            else f"select * from {table} order by all"
        ).fetchall()
        for table in (*LINEAGE_TABLES, "member_nik_as_read", "ingest_data_quality_reason")
    }
    verdicts = [
        (v.table, v.rows, [(f.index, f.unexpected_count, f.row_ids) for f in v.failures],
         [r.meta["tkpk_sample"] for r in v.results])
        for v in summary.validations
    ]
    con.close()
    return {**tables, "validations": verdicts}, trusted


def test_the_ingest_with_the_record_equals_the_ingest_without(sample, full_scan, tmp_path):
    """A generated sample (30 % of its rows with injected defects: every kind of row-wise
    failure the generator makes): the raw load records its fingerprint for every file and the
    validation trusts it for every kind; the accepted, quarantined, duplicate and flagged rows,
    the reasons and the validation outcomes (counts, ids, GX sample) equal a full scan's."""
    with_record, trusted = _ingest(sample, tmp_path)
    assert set(trusted) == {"households", "members", "disbursements", "pbi", "local"}
    assert all(predicate == "true" for predicate in trusted.values()), trusted
    assert with_record == full_scan
    assert len(with_record["quarantine"]) > 100 and len(with_record["flagged_field"]) > 100


def _strip_fingerprint(con, staged: list) -> None:
    """Rewrite the kept file of ``staged`` (outcomes) without its fingerprint, as an older code
    wrote it."""
    for outcome in staged:
        path = raw.raw_text_file(outcome.staged)
        con.execute(f"copy (select * from read_parquet('{path}')) to '{path}.tmp' "
                    "(format parquet)")
        path.with_name(path.name + ".tmp").replace(path)


def test_files_without_a_fingerprint_are_judged_whole(sample, full_scan, tmp_path):
    """Kept files of an older code (no fingerprint): the members' are all judged whole, the
    disbursements' one of them whole and the others trusted (``file_id in (...)``); the same
    tables."""

    def spoil(con, staged):
        _strip_fingerprint(con, [o for o in staged if o.kind == "members"])
        _strip_fingerprint(con, [o for o in staged if o.kind == "disbursements"][:1])

    tables, trusted = _ingest(sample, tmp_path, spoil=spoil)
    assert trusted["members"] is None
    assert trusted["disbursements"].startswith("file_id in (")
    assert trusted["households"] == "true"
    assert tables == full_scan


def test_a_suite_changed_after_the_load_is_judged_whole(sample, tmp_path, monkeypatch):
    """The staging suite of disbursements gets a new rule after the raw load (every status is
    now unexpected): the fingerprints differ, so the validation judges every row and finds the
    rows the load did not keep; their records as read are missing, so the run stops (it never
    accepts a row the changed suite refuses)."""
    from tkpk import validation

    load_suite = validation.load_suite

    def changed(con, staged):
        def new_suite(suite, table):
            definition = load_suite(suite, table)
            if table == "stg_disbursements":
                definition = copy.deepcopy(definition)
                definition["expectations"].append({
                    "type": "expect_column_values_to_be_null", "kwargs": {"column": "status"},
                    "meta": {"reason": "status_invalid"},
                })
            return definition

        monkeypatch.setattr(validation, "load_suite", new_suite)

    with pytest.raises(duckdb.Error, match="record as read was not kept"):
        _ingest(sample, tmp_path, spoil=changed)
