"""The shared GX helper (tkpk.validation) and the staging suites in expectations/."""

from __future__ import annotations

import json

import pytest
from raw_support import RawWorld

from tkpk.config import EXPECTATIONS_DIR
from tkpk.ingest.accept import EXTRA_ROW_REASONS, create_batch, stage
from tkpk.ingest.schema import KINDS, ROW_REASONS
from tkpk.validation import (
    ValidationError,
    build_data_docs,
    flagged_field,
    load_suite,
    nulled_columns,
    validate_table,
)

SECRET_NIK = "3375010101809876"
SECRET_NAME = "Warga Rahasia"

SUITE = {
    "name": "people_check",
    "expectations": [
        {
            "type": "expect_column_values_to_match_regex",
            "kwargs": {"column": "nik", "regex": "^[0-9]{16}$"},
            "meta": {"reason": "nik_invalid"},
        },
        {
            "type": "expect_column_values_to_not_be_null",
            "kwargs": {"column": "nik"},
            "meta": {"reason": "nik_invalid"},
        },
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": "desil", "value_set": list(range(1, 11))},
            "meta": {"reason": "code_invalid"},
        },
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "born", "min_value": "1900-01-01T00:00:00"},
            "meta": {"reason": "date_invalid"},
        },
        {
            "type": "expect_column_pair_values_a_to_be_greater_than_b",
            "kwargs": {
                "column_A": "period_end",
                "column_B": "born",
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
            "meta": {"reason": "date_invalid"},
        },
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {
                "column": "amount",
                "min_value": 0,
                "strict_min": True,
                "row_condition": {
                    "type": "comparison",
                    "column": {"name": "cash"},
                    "operator": "==",
                    "parameter": True,
                },
            },
            "meta": {"reason": "amount_invalid"},
        },
    ],
}


@pytest.fixture
def people(con):
    """Six rows, with a known defect set per row (row 1 and 6 clean)."""
    con.execute(
        f"""
        create table people as select * from (values
            (1, '{SECRET_NIK}', '{SECRET_NAME}', 3, date '1980-01-01', date '2026-06-30',
             600000.00::decimal(18, 2), true),
            (2, '12345', 'B', 11, date '1899-12-31', date '2026-06-30', 0, true),
            (3, null, 'C', 1, date '2026-07-01', date '2026-06-30', 0, false),
            (4, '3375010101800004', 'D', 0, null, date '2026-06-30', -5, true),
            (5, 'abcdefghijklmnop', 'E', 10, date '2000-02-29', date '2026-06-30', 1, null),
            (6, '3375010101800006', 'F', 5, date '1950-05-05', date '2026-06-30', 10, true)
        ) t(row_id, nik, nama, desil, born, period_end, amount, cash)
        """
    )
    return con


EXPECTED_IDS = {0: [2, 5], 1: [3], 2: [2, 4], 3: [2], 4: [3], 5: [2, 4]}


def test_failing_rows_per_expectation_and_reason(people):
    outcome = validate_table(people, "people", SUITE)
    assert not outcome.success
    assert outcome.rows == 6
    assert {i: sorted(ids) for i, ids in outcome.failing_row_ids().items()} == EXPECTED_IDS
    assert outcome.row_ids_by_reason() == {
        "nik_invalid": {2, 3, 5},
        "code_invalid": {2, 4},
        "date_invalid": {2, 3},
        "amount_invalid": {2, 4},
    }
    assert [f.unexpected_count for f in outcome.failures] == [2, 1, 2, 1, 1, 2]
    assert len(outcome.results) == 1 and outcome.results[0].success is False


def test_batches_give_the_same_rows(people):
    outcome = validate_table(people, "people", SUITE, batch_rows=4)
    assert len(outcome.results) == 2
    assert {i: sorted(ids) for i, ids in outcome.failing_row_ids().items()} == EXPECTED_IDS
    assert outcome.rows == 6


def test_where_restricts_rows(people):
    outcome = validate_table(people, "people", SUITE, where="row_id in (1, 6)")
    assert outcome.success and outcome.rows == 2 and outcome.failures == []


def test_table_level_expectations_run_on_the_whole_selection(people):
    suite = {
        "name": "people_count",
        "expectations": [
            {"type": "expect_table_row_count_to_equal", "kwargs": {"value": 6}},
            {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "nama"}},
        ],
    }
    outcome = validate_table(people, "people", suite, batch_rows=2)
    assert outcome.success and len(outcome.results) == 1


def test_generated_row_id_without_a_row_id_column(people):
    people.execute("create table no_ids as select nik from people order by row_id")
    outcome = validate_table(
        people, "no_ids", {"name": "x", "expectations": SUITE["expectations"][:1]}
    )
    assert outcome.failing_row_ids() == {0: [2, 5]}


def test_empty_selection_is_judged(people):
    suite = {
        "name": "must_have_rows",
        "expectations": [
            {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}}
        ],
    }
    assert not validate_table(people, "people", suite, where="false").success


def test_an_expectation_that_cannot_run_fails_loudly(people):
    suite = {
        "name": "broken",
        "expectations": [
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "nama", "min_value": 1},
            }
        ],
    }
    with pytest.raises(ValidationError, match="nama"):
        validate_table(people, "people", suite)


def test_suites_load_by_name_path_or_default(tmp_path):
    assert load_suite(None, "stg_members")["name"] == "stg_members"
    assert load_suite("stg_pbi", "whatever")["name"] == "stg_pbi"
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(SUITE))
    assert load_suite(path, "x")["name"] == "people_check"
    with pytest.raises(FileNotFoundError):
        load_suite(None, "no_such_table")


def test_data_docs_are_built_without_personal_data(people, tmp_path):
    outcome = validate_table(people, "people", SUITE, batch_name="people.csv")
    index = build_data_docs([outcome], tmp_path / "docs", run_name="run-7")
    assert index.exists()
    pages = list((tmp_path / "docs").rglob("*.html"))
    assert any("validations" in str(p) for p in pages)
    text = "".join(p.read_text(encoding="utf-8", errors="replace") for p in pages)
    assert "people_check" in text
    assert SECRET_NIK not in text and SECRET_NAME not in text
    # A second build into another folder renders only its own results.
    again = build_data_docs(outcome.results, tmp_path / "docs2")
    assert again.exists()


# ------------------------------------------------------------------------- staging suites


@pytest.mark.parametrize("kind", KINDS)
def test_staging_suite_matches_its_table(con, kind):
    """Every expectation names a reason code and reads columns the staging table has."""
    suite = load_suite(None, f"stg_{kind}")
    assert suite["name"] == f"stg_{kind}"
    assert (EXPECTATIONS_DIR / f"stg_{kind}.json").exists()
    RawWorld(con)
    create_batch(con, [])
    columns = {row[0] for row in con.execute(f"describe {stage(con, kind)}").fetchall()}
    known = set(ROW_REASONS) | set(EXTRA_ROW_REASONS)
    for expectation in suite["expectations"]:
        assert expectation["meta"]["reason"] in known, expectation
        kwargs = expectation["kwargs"]
        for key in ("column", "column_A", "column_B"):
            if key in kwargs:
                assert kwargs[key] in columns, (kind, kwargs[key])


def test_every_contract_reason_has_a_rule():
    """Row reasons come from a suite, except the cross-row ones decided in SQL."""
    in_suites = {
        expectation["meta"]["reason"]
        for kind in KINDS
        for expectation in load_suite(None, f"stg_{kind}")["expectations"]
    }
    cross_row = {"household_unknown", "household_quarantined", "household_duplicate_key"}
    assert set(ROW_REASONS) - in_suites == cross_row


def test_data_docs_published_per_run_next_to_the_packs(people, settings):
    from tkpk.validation import publish_data_docs

    outcome = validate_table(people, "people", SUITE, batch_name="people.csv")
    first = publish_data_docs([outcome], settings, "20260701T020000Z-aaaaaa")
    second = publish_data_docs([outcome], settings, "20260702T020000Z-bbbbbb")
    assert first.exists() and second.exists()
    assert first.parent.parent == settings.data_docs_dir
    index = (settings.data_docs_dir / "index.html").read_text(encoding="utf-8")
    assert index.index("20260702T020000Z-bbbbbb") < index.index("20260701T020000Z-aaaaaa")
    assert not [p for p in settings.data_docs_dir.iterdir() if p.name.startswith(".")]


# ------------------------------------------------------------------- SQL verdict, GX sample


def test_sampled_data_docs_say_sample_of_n_of_m_rows(people, tmp_path):
    """GX on 4 of the 6 rows: the verdict (counts) still covers every row; the docs say so."""
    outcome = validate_table(people, "people", SUITE, batch_name="people.csv", gx_sample_rows=4)
    assert {i: sorted(ids) for i, ids in outcome.failing_row_ids().items()} == EXPECTED_IDS
    (result,) = outcome.results
    assert result.meta["tkpk_sample"]["note"] == "sample of 4 of 6 rows"
    index = build_data_docs([outcome], tmp_path / "docs", run_name="run-8")
    text = "".join(
        p.read_text(encoding="utf-8", errors="replace") for p in index.parent.rglob("*.html")
    )
    assert "sampel 4 dari 6 baris" in text
    assert SECRET_NIK not in text and SECRET_NAME not in text


def _drawn_sample(
    con, table: str, budget: int, one_read: bool, kept: bool = False
) -> tuple[set, set | None]:
    """The ids the GX sample of ``SUITE`` on ``table`` draws, and those of its table of sampled
    rows (None when it has none); ``one_read`` False: drawn by a read of every row's id; with
    ``kept`` the suite's scan keeps the rows the draw reads (``validate_table``'s way) and the
    draw reads them there."""
    from tkpk import suite_run
    from tkpk.validation import _GxSample, _hash_threshold

    keep = (lambda rows: _hash_threshold(budget, rows)) if kept else None
    with suite_run.execute(con, table, SUITE, row_id="row_id", ids=True, keep_below=keep) as run:
        assert (run.kept is not None) == kept
        sample = _GxSample(run, budget)
        if kept:
            real_source = sample._source

            def source(threshold: int) -> str:
                found = real_source(threshold)
                assert found == run.kept  # the kept rows, not the table again
                return found

            sample._source = source
        if not one_read:
            sample._draw_rest = lambda rest: False
        sample._draw()
        ids = {i for (i,) in con.execute(f"select id from {sample.sample}").fetchall()}
        rows = None
        if sample.rows is not None:
            rows = {i for (i,) in con.execute(f"select row_id from {sample.rows}").fetchall()}
        for name in (sample.sample, sample.rows):
            if name:
                con.execute(f"drop table {name}")
    return ids, rows


def _many_rows(con) -> None:
    """Table ``many``: 5,000 rows, every third failing the NIK rule (``nik = 'x'``)."""
    con.execute(
        """
        create table many as
        select i as row_id,
            case when i % 3 = 0 then 'x' else lpad(cast(i as varchar), 16, '3') end as nik,
            'N' as nama, 1 + i % 10 as desil, date '1980-01-01' as born,
            date '2026-06-30' as period_end, 5.00::decimal(18, 2) as amount, true as cash
        from range(1, 5001) as r(i)
        """
    )


def test_gx_sample_drawn_with_its_rows_in_one_read_is_the_same_sample(people):
    """5,000 rows (every third failing a rule), a sample of 300: the failing quota, then the
    lowest hash(row id) of the others; drawn with the sampled rows' columns in one read of the
    rows below a hash threshold, it is the same sample as drawn by a read of every id, and the
    table of the sampled rows holds exactly those rows."""
    _many_rows(people)
    one_read, rows = _drawn_sample(people, "many", 300, one_read=True)
    every_id, no_rows = _drawn_sample(people, "many", 300, one_read=False)
    assert len(one_read) == 300 and one_read == every_id
    assert rows == one_read and no_rows is None
    failing = {i for i in one_read if i % 3 == 0}
    assert len(failing) == 150  # half the budget: the one failing rule's quota
    outcome = validate_table(people, "many", SUITE, gx_sample_rows=300)
    assert outcome.results[0].meta["tkpk_sample"]["note"] == "sample of 300 of 5000 rows"
    assert [f.unexpected_count for f in outcome.failures] == [1666]


def test_gx_sample_drawn_from_the_rows_the_suite_scan_kept_is_the_same_sample(people):
    """The same 5,000 rows and sample of 300, drawn from the rows the suite's own scan kept
    (every failing row, every row hashing below the bound for the whole budget): the same sample
    and sampled rows as drawn by a read of every id; the kept rows are the 1,666 failing rows
    and the others below the bound, nothing else."""
    from tkpk import suite_run
    from tkpk.validation import _hash_threshold

    _many_rows(people)
    kept, rows = _drawn_sample(people, "many", 300, one_read=True, kept=True)
    every_id, _ = _drawn_sample(people, "many", 300, one_read=False)
    assert len(kept) == 300 and kept == every_id and rows == kept
    bound = _hash_threshold(300, 5000)
    expected = people.execute(
        f"select count(*) from many where row_id % 3 = 0 or hash(row_id) < {bound}::ubigint"
    ).fetchone()[0]
    with suite_run.execute(
        people, "many", SUITE, row_id="row_id", ids=True, keep_below=lambda n: bound
    ) as run:
        assert people.execute(f"select count(*) from {run.kept}").fetchone()[0] == expected
        assert run.counts and sum(run.counts.values()) == 1666
        assert expected > 1666


def test_gx_sample_threshold_passing_too_few_rows_reads_every_id(people, monkeypatch):
    """A threshold that (unluckily) passes fewer new rows than the sample needs: nothing of the
    threshold read is kept, and the sample is drawn from every id: the same sample."""
    from tkpk import validation

    people.execute(
        "create table many as select * replace (row_id * 1000 + i as row_id) "
        "from people, range(300) as r(i)"
    )
    expected = _drawn_sample(people, "many", 60, one_read=False)[0]
    monkeypatch.setattr(validation, "_hash_threshold", lambda rest, rows: 2**40)
    ids, rows = _drawn_sample(people, "many", 60, one_read=True)
    assert rows is None and len(ids) == 60 and ids == expected
    assert not people.execute(
        "select * from duckdb_tables() where table_name like '_tkpk_gx_%'"
    ).fetchall()


def test_gx_sample_of_a_small_table_reads_every_id(people):
    """A sample of 4 of the six rows: the threshold read would pass most rows, so the sample is
    drawn from every id (no table of sampled rows), as before."""
    ids, rows = _drawn_sample(people, "people", 4, one_read=True)
    assert rows is None and len(ids) == 4
    assert ids == _drawn_sample(people, "people", 4, one_read=False)[0]


def test_gx_sample_rows_setting(monkeypatch):
    from tkpk.config import Settings

    monkeypatch.delenv("TKPK_GX_SAMPLE_ROWS", raising=False)
    assert Settings().gx_sample_rows == 20_000
    monkeypatch.setenv("TKPK_GX_SAMPLE_ROWS", "0")
    assert Settings().gx_sample_rows == 0
    monkeypatch.setenv("TKPK_GX_SAMPLE_ROWS", "500")
    assert Settings().gx_sample_rows == 500


def test_view_over_parquet_with_reasons_into(people, tmp_path):
    """The table may be a view over read_parquet(...) (how the ingest's scratch space reads)."""
    path = tmp_path / "people.parquet"
    people.execute(f"copy people to '{path}' (format parquet)")
    people.execute(f"create temp view staged as select * from read_parquet('{path}')")
    people.execute("create temp table reasons (row_id bigint, reason varchar)")
    outcome = validate_table(people, "staged", SUITE, reasons_into="reasons")
    assert not outcome.success and outcome.rows == 6
    pairs = people.execute("select reason, list(row_id order by row_id) from reasons group by 1")
    assert dict(pairs.fetchall()) == {
        "nik_invalid": [2, 3, 5], "code_invalid": [2, 4], "date_invalid": [2, 3],
        "amount_invalid": [2, 4],
    }


#: The contract's "Two severities" table (shared/spec/raw-extracts.md), written out by hand:
#: kind -> (reason, flagged canonical column or None for an error) of every rule of its suite.
SEVERITY_TABLE = {
    "households": {
        ("id_missing", None), ("kelurahan_unknown", None), ("expenditure_invalid", None),
        ("row_malformed", None), ("kk_invalid", "NO_KK"), ("number_invalid", "RT"),
        ("number_invalid", "RW"), ("number_invalid", "JUMLAH_ANGGOTA"), ("code_invalid", "DESIL"),
        ("number_invalid", "LUAS_LANTAI"), ("code_invalid", "JENIS_LANTAI"),
        ("code_invalid", "JENIS_DINDING"), ("code_invalid", "SUMBER_AIR_MINUM"),
        ("code_invalid", "SUMBER_PENERANGAN"), ("code_invalid", "BAHAN_BAKAR_MASAK"),
        ("code_invalid", "FASILITAS_BAB"), ("date_invalid", "TANGGAL_PENDATAAN"),
    },
    "members": {
        ("row_malformed", None), ("nik_invalid", "NIK"), ("nik_precision_lost", "NIK"),
        ("code_invalid", "JENIS_KELAMIN"), ("date_invalid", "TANGGAL_LAHIR"),
        ("code_invalid", "HUBUNGAN_KELUARGA"), ("code_invalid", "PENDIDIKAN_TERTINGGI"),
        ("code_invalid", "STATUS_SEKOLAH"), ("code_invalid", "JAMINAN_KESEHATAN"),
        ("code_invalid", "DISABILITAS"), ("code_invalid", "STATUS_BEKERJA"),
    },
    "disbursements": {
        ("row_malformed", None), ("program_unknown", None), ("date_invalid", None),
        ("amount_invalid", None), ("code_invalid", None), ("nik_invalid", "NIK"),
        ("nik_precision_lost", "NIK"), ("kk_invalid", "NO_KK"),
        ("kelurahan_unknown", "KODE_KELURAHAN|NAMA_KELURAHAN"), ("number_invalid", "TAHAP"),
    },
    "pbi": {
        ("row_malformed", None), ("program_unknown", None), ("code_invalid", None),
        ("amount_invalid", None), ("nik_invalid", "NIK"), ("nik_precision_lost", "NIK"),
    },
    "local": {
        ("row_malformed", None), ("program_unknown", None), ("date_invalid", None),
        ("amount_invalid", None), ("nik_invalid", "NIK"), ("nik_precision_lost", "NIK"),
        ("kelurahan_unknown", "KELURAHAN"), ("code_invalid", "SUMBER_DANA"),
    },
}


@pytest.mark.parametrize("kind", KINDS)
def test_each_rule_declares_the_contract_severity(kind):
    """Errors quarantine, warnings flag a canonical column: exactly the contract's table (the
    member-household and duplicate-key rules are cross-row, decided in tkpk.ingest.accept)."""
    suite = load_suite(None, f"stg_{kind}")
    declared = set()
    for expectation in suite["expectations"]:
        flagged = flagged_field(expectation)
        declared.add((expectation["meta"]["reason"], flagged[0] if flagged else None))
        assert expectation["meta"]["severity"] in ("error", "warn")
    assert declared == SEVERITY_TABLE[kind]


def test_warnings_null_the_field_they_flag():
    assert nulled_columns(load_suite(None, "stg_members")) == [
        "nik", "jenis_kelamin_unparsed", "tanggal_lahir", "hubungan_keluarga_unparsed",
        "hubungan_keluarga", "pendidikan_tertinggi", "status_sekolah", "jaminan_kesehatan",
        "disabilitas_unparsed", "disabilitas", "status_bekerja_unparsed", "status_bekerja",
    ]
    households = nulled_columns(load_suite(None, "stg_households"))
    assert {"no_kk", "desil", "jenis_lantai", "luas_lantai", "tanggal_pendataan"} <= set(
        households
    )
    assert not {"pengeluaran_per_kapita", "kelurahan_code", "id_keluarga"} & set(households)


def test_plain_metric_ids_are_gx_own() -> None:
    """``IDDict.to_id`` with the plain-value fast path (installed with the GX context) gives the
    id GX's own conversion gives, for plain values and for those left to GX."""
    import hashlib

    import numpy as np
    from great_expectations.core.id_dict import IDDict
    from great_expectations.util import convert_to_json_serializable

    from tkpk import validation

    validation._context()
    assert getattr(IDDict.to_id, "tkpk_plain", False)

    def gx_id(values: dict) -> object:
        if len(values) == 0:
            return ()
        if len(values) == 1:
            key = next(iter(values))
            return f"{key}={values[key]!s}"
        converted = convert_to_json_serializable(data=dict(values))
        text = json.dumps(converted, sort_keys=True).encode("utf-8")
        return hashlib.md5(text, usedforsecurity=False).hexdigest()

    cases = [
        {},
        {"column": "nik"},
        {"column": "nik", "batch_id": "tkpk-x", "row_condition": None, "mostly": 0.95},
        {"value_set": [1, 2, 3], "parse_strings_as_datetimes": False, "strict": True},
        {"result_format": {"result_format": "COMPLETE", "partial_unexpected_count": 0,
                           "unexpected_index_column_names": ["row_id"]}, "n": 3},
        {"a": (1, "b"), "c": {"d": [None, 1.5]}, "e": float("inf")},
        {"a": float("nan"), "b": 1},  # NaN: GX's way (None)
        {"a": np.int64(3), "b": [np.float64(0.5)]},  # numpy: GX's way
        {"a": {1: "x"}, "b": 2},  # a key that is not text inside: GX's way
    ]
    for values in cases:
        assert IDDict(values).to_id() == gx_id(values), values
    assert IDDict({"a": 1, "b": 2}).to_id(id_keys=["a"]) == "a=1"
    assert IDDict({"a": 1, "b": 2}).to_id(id_ignore_keys=["b"]) == "a=1"
