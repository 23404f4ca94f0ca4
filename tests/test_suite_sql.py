"""Suites compiled to DuckDB SQL (tkpk.suite_sql) agree with Great Expectations row for row."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from raw_support import RawWorld

from tkpk import suite_sql
from tkpk.config import EXPECTATIONS_DIR
from tkpk.ingest.accept import create_batch, stage
from tkpk.ingest.schema import KINDS
from tkpk.suite_sql import SuiteCompileError, check_suite, regex_for_re2
from tkpk.validation import ValidationError, gx_lane, load_suite, validate_table

NIK_OK = "3375010101800004"
NIK_BAD_DATE = "3375013501800004"  # day 35: not a birth date
NIK_REGEX = (
    "^(?:1[1-9]|[2-8][0-9]|9[0-6])[0-9]{4}(?:0[1-9]|[12][0-9]|3[01]|4[1-9]|[56][0-9]|7[01])"
    "(?:0[1-9]|1[0-2])[0-9]{6}$"
)
ARABIC_DIGITS = "٣٣٧٥٠١٠١٠١٨٠٠٠٠٤"  # 16 Unicode digits: \d matches them in Python


def _e(type_: str, **kwargs) -> dict:
    return {"type": type_, "kwargs": kwargs, "meta": {"reason": type_[19:]}}


def _cond(column: str, operator: str, parameter) -> dict:
    return {"type": "comparison", "column": {"name": column}, "operator": operator,
            "parameter": parameter}


#: One expectation per type / option / row_condition form used by the stg_* suites (and a few
#: more), with the exact failing row ids of ROWS.
CASES: list[tuple[dict, list[int]]] = [
    (_e("expect_column_values_to_not_be_null", column="nik"), [3]),
    (_e("expect_column_values_to_be_null", column="kk"), [1, 2]),
    (_e("expect_column_values_to_be_in_set", column="sex", value_set=["L", "P"]), [4]),
    (_e("expect_column_values_to_be_in_set", column="desil", value_set=list(range(1, 11))),
     [2, 5, 7]),
    (_e("expect_column_values_to_be_between", column="amount", min_value=0), [4]),
    (_e("expect_column_values_to_be_between", column="stage", min_value=1, max_value=99), [2, 6]),
    (_e("expect_column_values_to_be_between", column="area", min_value=0, strict_min=True,
        max_value=1000000), [2]),
    (_e("expect_column_values_to_be_between", column="stage", max_value=99, strict_max=True),
     [6, 7]),
    (_e("expect_column_values_to_be_between", column="born", min_value="1900-01-01T00:00:00"),
     [2]),
    (_e("expect_column_values_to_be_between", column="amount", min_value=0, strict_min=True,
        row_condition=_cond("cash", "==", True)), [2, 4]),
    (_e("expect_column_values_to_match_regex", column="nik", regex="^[0-9]{16}$"), [2, 5, 8]),
    (_e("expect_column_values_to_match_regex", column="nik", regex=NIK_REGEX,
        row_condition=_cond("lost", "==", False)), [2, 5, 6]),
    (_e("expect_column_values_to_match_regex", column="nik", regex=r"^\d{16}$"), [2, 8]),
    (_e("expect_column_values_to_match_regex", column="nama", regex="ar"), [1, 2, 4, 6, 7]),
    (_e("expect_column_pair_values_a_to_be_greater_than_b", column_A="period_end",
        column_B="born", or_equal=True, ignore_row_if="either_value_is_missing"), [3]),
    (_e("expect_column_pair_values_a_to_be_greater_than_b", column_A="period_end",
        column_B="born", ignore_row_if="both_values_are_missing"), [3, 4, 6, 7]),
    (_e("expect_column_pair_values_a_to_be_greater_than_b", column_A="period_end",
        column_B="born", or_equal=True, ignore_row_if="neither"), [3, 4, 7]),
    (_e("expect_column_values_to_be_between", column="desil", min_value=1, max_value=10,
        row_condition={"type": "and", "conditions": [_cond("cash", "==", True),
                                                     _cond("sex", "!=", "P")]}), [2, 7]),
    (_e("expect_column_values_to_be_between", column="desil", min_value=1, max_value=10,
        row_condition={"type": "or", "conditions": [
            {"type": "nullity", "column": {"name": "kk"}, "is_null": False},
            _cond("sex", "NOT_IN", ["L"])]}), [2, 7]),
    (_e("expect_column_values_to_not_be_null", column="born",
        row_condition=_cond("stage", "IN", [1, 2, 3])), [4]),
    (_e("expect_column_values_to_not_be_null", column="score",
        row_condition=_cond("stage", ">", 1)), [6, 7]),
    (_e("expect_column_values_to_be_between", column="score", min_value=0, max_value=1), [8]),
    # expenditure must be positive: 0.00 (row 2) and -5.00 (row 4) fail, null is not judged
    (_e("expect_column_values_to_be_between", column="amount", min_value=0, strict_min=True),
     [2, 4]),
    (_e("expect_column_values_to_be_unique", column="sex"), [1, 2, 3, 5, 6, 8]),
    (_e("expect_compound_columns_to_be_unique", column_list=["sex", "cash"]), [1, 2, 6]),
]

ROWS = """
    (1, '3375010101800004', 'Arif', '3375010101800004', 'L', 3, 10.00, 1, 0.50,
     date '1980-01-01', date '2026-06-30', true, false, '0.2'),
    (2, '12345', 'B', '1', 'L', 11, 0.00, 0, 0.00, date '1899-12-31', date '2026-06-30',
     true, false, '0.3'),
    (3, null, 'Carla', null, 'P', 1, 5.00, 1, 1.00, date '2026-07-01', date '2026-06-30',
     false, false, '0.4'),
    (4, '3375010101800004', 'D', null, 'X', 10, -5.00, 2, 2.00, null, date '2026-06-30',
     true, true, '0.5'),
    (5, '٣٣٧٥٠١٠١٠١٨٠٠٠٠٤', 'Mariam', null, 'L', 0, 1.00, 3, null, date '2000-02-29',
     date '2026-06-30', false, false, '0.6'),
    (6, '3375013501800004', 'F', null, 'L', null, 1.00, 100, 3.00, date '2026-06-30',
     date '2026-06-30', true, false, 'NaN'),
    (7, '3375010101800004', 'G', null, null, 12, null, 99, 4.00, date '1950-05-05', null,
     true, null, null),
    (8, '3375010101800004' || chr(10) || chr(10), 'Omar', null, 'P', 4, 2.00, 5, 4.00,
     date '1950-05-05', date '2026-06-30', null, true, '1.5')
"""


@pytest.fixture
def people(con):
    """Eight hand-written rows, typed like the staging tables (dates, decimals, booleans)."""
    con.execute(
        f"""
        create table people as select row_id::bigint as row_id, nik, nama, kk, sex,
            desil::integer as desil, amount::decimal(18, 2) as amount, stage::integer as stage,
            area::decimal(18, 2) as area, born, period_end, cash, lost, score::double as score
        from (values {ROWS}) t(row_id, nik, nama, kk, sex, desil, amount, stage, area, born,
            period_end, cash, lost, score)
        """
    )
    return con


def _suite(*expectations: dict) -> dict:
    return {"name": "people_suite", "expectations": list(expectations)}


def test_sql_ids_equal_the_expected_ids_and_gx_ids(people):
    """GX validates every row (sample 0): the cross-check proves GX's ids equal SQL's, and both
    equal the hand-computed ones."""
    suite = _suite(*(expectation for expectation, _ in CASES))
    outcome = validate_table(people, "people", suite, gx_sample_rows=0)
    expected = {index: ids for index, (_, ids) in enumerate(CASES) if ids}
    assert {i: sorted(ids) for i, ids in outcome.failing_row_ids().items()} == expected
    assert [f.unexpected_count for f in outcome.failures] == [len(ids) for ids in expected.values()]
    gx = outcome.results[0]
    assert gx.meta["tkpk_sample"]["note"] == "all 8 rows"
    for result in gx.results:
        index = result.expectation_config.meta["tkpk_index"]
        assert result.meta["tkpk_full_table"]["unexpected_count"] == len(CASES[index][1])


def test_stg_suites_use_only_covered_forms():
    """Every (type, option set, row_condition form) of the stg_* suites is exercised above."""

    def form(expectation: dict) -> tuple:
        kwargs = expectation["kwargs"]
        condition = kwargs.get("row_condition")
        shape = (condition["type"], condition.get("operator")) if condition else None
        options = tuple(sorted(k for k in kwargs if k not in ("column", "row_condition")))
        return expectation["type"], options, shape

    covered = {form(expectation) for expectation, _ in CASES}
    used = {
        form(expectation)
        for kind in KINDS
        for expectation in load_suite(None, f"stg_{kind}")["expectations"]
    }
    # between with string bounds is a min_value-only form, covered by the "born" case
    assert used - covered == set()


def _adversarial(dtype: str, value_sets: list[list]) -> list:
    """Values that probe a column of DuckDB type ``dtype``: nulls, bounds, near misses."""
    base = dtype.split("(")[0]
    if base == "VARCHAR":
        values = [None, "", NIK_OK, NIK_BAD_DATE, NIK_OK + "\n", "12345", ARABIC_DIGITS,
                  " " + NIK_OK, "9999999999999999", "x"]
        return values + [v for s in value_sets for v in s[:2] if isinstance(v, str)]
    if base == "BOOLEAN":
        return [None, True, False]
    if base == "DATE":
        return [None, date(1899, 12, 31), date(1900, 1, 1), date(2026, 6, 30), date(2026, 7, 1)]
    if base == "DECIMAL":
        return [None, Decimal("-1"), Decimal("0"), Decimal("0.5"), Decimal("1000000"),
                Decimal("1000000.01")]
    return [None, -1, 0, 1, 10, 11, 99, 100, 999, 1000]


@pytest.mark.parametrize("kind", KINDS)
def test_real_stg_suite_sql_equals_gx_on_adversarial_rows(con, kind):
    """The stored suite of each staging table, on rows mixing nulls, bounds and near misses of
    every column it reads: GX (every row) and SQL find the same failing rows."""
    RawWorld(con)
    create_batch(con, [])
    staged = stage(con, kind)
    suite = load_suite(None, f"stg_{kind}")
    types = {name: dtype for name, dtype, *_ in con.execute(f"describe {staged}").fetchall()}
    read = sorted(
        {k for e in suite["expectations"] for k in suite_sql_columns(e)} & types.keys()
    )
    value_sets: dict[str, list[list]] = {}
    for expectation in suite["expectations"]:
        kwargs = expectation["kwargs"]
        if "value_set" in kwargs:
            value_sets.setdefault(kwargs["column"], []).append(kwargs["value_set"])
    pools = {c: _adversarial(types[c], value_sets.get(c, [])) for c in read}
    rows = 60
    columns = {"row_id": list(range(1, rows + 1))}
    for position, column in enumerate(read):
        pool = pools[column]
        columns[column] = [pool[(i * (position + 2) + position) % len(pool)] for i in range(rows)]
    import pyarrow as pa

    frame = pa.table(columns)  # noqa: F841
    casts = ", ".join(f'cast("{c}" as {types[c]}) as "{c}"' for c in read)
    con.execute(f"create table probe as select row_id::bigint as row_id, {casts} from frame")
    outcome = validate_table(con, "probe", suite, gx_sample_rows=0)  # raises on disagreement
    assert outcome.rows == rows and not outcome.success


def suite_sql_columns(expectation: dict) -> set[str]:
    """Columns an expectation reads, row_condition included."""
    kwargs = expectation["kwargs"]
    names = {kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs}
    condition = kwargs.get("row_condition")
    if condition:
        names.add(condition["column"]["name"])
    return names


def test_reasons_into_gets_exactly_the_distinct_pairs(people):
    suite = _suite(
        _e("expect_column_values_to_match_regex", column="nik", regex="^[0-9]{16}$"),
        _e("expect_column_values_to_not_be_null", column="nik"),
        _e("expect_column_values_to_be_between", column="desil", min_value=1, max_value=10),
        _e("expect_column_values_to_be_in_set", column="desil", value_set=list(range(1, 11))),
    )
    suite["expectations"][1]["meta"]["reason"] = "nik_invalid"
    suite["expectations"][0]["meta"]["reason"] = "nik_invalid"
    suite["expectations"][2]["meta"]["reason"] = "code_invalid"
    suite["expectations"][3]["meta"]["reason"] = "code_invalid"
    people.execute("create temp table reasons (row_id bigint, reason varchar)")
    outcome = validate_table(people, "people", suite, reasons_into="reasons", gx_sample_rows=0)
    pairs = people.execute("select row_id, reason from reasons order by all").fetchall()
    assert pairs == [
        (2, "code_invalid"), (2, "nik_invalid"), (3, "nik_invalid"), (5, "code_invalid"),
        (5, "nik_invalid"), (7, "code_invalid"), (8, "nik_invalid"),
    ]  # row 2 fails both code rules: one pair
    assert [f.unexpected_count for f in outcome.failures] == [3, 1, 3, 3]


def test_reasons_into_carries_the_severity_declared_with_the_rule(people):
    """A warning's pairs carry ``warn``, its canonical column and the column it nulls
    (``meta.nulls``, else the tested column); an error's carry ``error`` and no column."""
    suite = _suite(
        _e("expect_column_values_to_match_regex", column="nik", regex="^[0-9]{16}$"),
        _e("expect_column_values_to_be_in_set", column="lost", value_set=[False]),
        _e("expect_column_values_to_be_between", column="amount", min_value=0, strict_min=True),
    )
    suite["expectations"][0]["meta"] = {"reason": "nik_invalid", "severity": "warn",
                                        "column": "NIK"}
    suite["expectations"][1]["meta"] = {"reason": "nik_precision_lost", "severity": "warn",
                                        "column": "NIK", "nulls": "nik"}
    suite["expectations"][2]["meta"] = {"reason": "expenditure_invalid", "severity": "error"}
    people.execute("create temp table reasons (row_id bigint, reason varchar, severity varchar, "
                   "column_name varchar, nulls varchar)")
    outcome = validate_table(people, "people", suite, reasons_into="reasons", gx_sample_rows=0)
    got = people.execute("select * from reasons order by all").fetchall()
    assert got == [
        (2, "expenditure_invalid", "error", None, None),  # amount 0.00
        (2, "nik_invalid", "warn", "NIK", "nik"),  # "12345" (a null NIK: not judged by a regex)
        (4, "expenditure_invalid", "error", None, None),  # amount -5.00
        (4, "nik_precision_lost", "warn", "NIK", "nik"),  # lost = true
        (5, "nik_invalid", "warn", "NIK", "nik"),  # Arabic-Indic digits
        (8, "nik_invalid", "warn", "NIK", "nik"),  # trailing line breaks
        (8, "nik_precision_lost", "warn", "NIK", "nik"),
    ]
    assert [f.severity for f in outcome.failures] == ["warn", "warn", "error"]


@pytest.mark.parametrize(
    ("meta", "message"),
    [({"severity": "fatal"}, "meta.severity 'fatal'"),
     ({"severity": "warn"}, "needs meta.column")],
)
def test_a_severity_must_be_error_or_warn_with_its_column(meta, message):
    expectation = _e("expect_column_values_to_not_be_null", column="nik")
    expectation["meta"].update(meta)
    with pytest.raises(SuiteCompileError, match=message):
        check_suite(_suite(expectation), "odd_suite.json")


def test_failures_keep_a_bounded_sample_of_ids_with_reasons_into(con, monkeypatch):
    import tkpk.validation as validation

    monkeypatch.setattr(validation, "FAILURE_SAMPLE_IDS", 3)
    con.execute("create table big as select range::bigint as row_id, range % 2 as odd "
                "from range(1, 101)")
    con.execute("create temp table reasons (row_id bigint, reason varchar)")
    suite = _suite(_e("expect_column_values_to_be_in_set", column="odd", value_set=[0]))
    outcome = validate_table(con, "big", suite, reasons_into="reasons", gx_sample_rows=10)
    (failure,) = outcome.failures
    assert failure.unexpected_count == 50 and failure.row_ids == (1, 3, 5)
    assert con.execute("select count(*) from reasons").fetchone()[0] == 50


def _big_table_and_suite(con) -> dict:
    """Table ``big`` (1,000 rows: every 10th amount negative, every 7th name null) and a suite
    of two row-wise expectations that those rows fail."""
    con.execute("create table big as select range::bigint as row_id, "
                "case when range % 10 = 0 then -1 else 1 end as amount, "
                "case when range % 7 = 0 then null else 'x' end as nama from range(1, 1001)")
    suite = _suite(
        _e("expect_column_values_to_be_between", column="amount", min_value=0),
        _e("expect_column_values_to_not_be_null", column="nama"),
    )
    return suite


def test_gx_sample_is_bounded_failing_first_and_deterministic(con):
    suite = _big_table_and_suite(con)
    first = validate_table(con, "big", suite, gx_sample_rows=40)
    second = validate_table(con, "big", suite, gx_sample_rows=40)
    assert [f.unexpected_count for f in first.failures] == [100, 142]
    (result,) = first.results
    assert result.meta["tkpk_sample"]["note"] == "sample of 40 of 1000 rows"
    assert "(sampel 40 dari 1,000 baris)" in result.meta["tkpk_batch"]
    gx_counts = [r.result["unexpected_count"] for r in result.results]
    assert gx_counts[0] >= 10 and gx_counts[1] >= 10  # 20 failing rows, spread over both
    assert gx_counts == [r.result["unexpected_count"] for r in second.results[0].results]
    assert result.results[0].meta["tkpk_full_table"] == {
        "rows": 1000, "unexpected_count": 100, "success": False,
    }


def _break_the_regex_compiler(monkeypatch) -> None:
    """Make the SQL compiler forget one failing row (row id 5) of a regex expectation."""
    real = suite_sql.row_predicate

    def broken(expectation, types=None):
        predicate = real(expectation, types)
        if predicate and expectation["type"] == "expect_column_values_to_match_regex":
            return f"({predicate} and row_id <> 5)"  # forgets one failing row
        return predicate

    monkeypatch.setattr(suite_sql, "row_predicate", broken)


def test_broken_compiler_is_caught_by_the_sample_cross_check(people, monkeypatch):
    _break_the_regex_compiler(monkeypatch)
    suite = _suite(_e("expect_column_values_to_match_regex", column="nik", regex="^[0-9]{16}$"))
    with pytest.raises(ValidationError, match=r"engine disagreement: table people.*\[5\]"):
        validate_table(people, "people", suite, gx_sample_rows=4)


def test_gx_lane_checks_the_same_sample_later(con):
    """In a GX lane (the nightly run's), the sample is read at once and GX's part runs on the
    lane's thread: after ``join`` the results equal those of the check made in place."""
    suite = _big_table_and_suite(con)
    direct = validate_table(con, "big", suite, gx_sample_rows=40)
    with gx_lane() as lane:
        later = validate_table(con, "big", suite, gx_sample_rows=40)
        con.execute("drop table big")  # the lane needs neither the table nor the connection
        lane.join()
    assert [f.unexpected_count for f in later.failures] == [100, 142]
    assert len(later.results) == len(direct.results) == 1

    def plain(outcome):
        payload = outcome.results[0].to_json_dict()
        for key in ("batch_spec", "batch_markers", "validation_time", "active_batch_definition"):
            payload["meta"].pop(key, None)
        return payload

    assert plain(later) == plain(direct)


def test_gx_lane_raises_a_disagreement_at_join(people, monkeypatch):
    _break_the_regex_compiler(monkeypatch)
    suite = _suite(_e("expect_column_values_to_match_regex", column="nik", regex="^[0-9]{16}$"))
    with gx_lane() as lane:
        validate_table(people, "people", suite, gx_sample_rows=4)  # the verdict: SQL, at once
        with pytest.raises(ValidationError, match=r"engine disagreement: table people.*\[5\]"):
            lane.join()


@pytest.mark.parametrize(
    ("expectation", "message"),
    [
        (_e("expect_column_values_to_be_dateutil_parseable", column="nik"), "no SQL translation"),
        (_e("expect_column_values_to_not_be_null", column="nik", parse_strings_as_datetimes=True),
         "parse_strings_as_datetimes"),
        (_e("expect_column_values_to_not_be_null", column="nik", row_condition='cash == True'),
         "legacy pandas query"),
        (_e("expect_column_values_to_match_regex", column="nik", regex=r"^\w+$"), "RE2"),
        (_e("expect_column_values_to_not_be_null", column="nik", mostly=0.9), "mostly"),
    ],
)
def test_unsupported_expectations_name_suite_and_expectation(tmp_path, people, expectation,
                                                             message):
    path = tmp_path / "odd_suite.json"
    path.write_text(json.dumps(_suite(expectation)), encoding="utf-8")
    with pytest.raises(SuiteCompileError, match=message) as error:
        check_suite(json.loads(path.read_text()), str(path))
    assert "odd_suite.json" in str(error.value) and "#0" in str(error.value)
    with pytest.raises(ValidationError, match=f"odd_suite.json.*#0.*{message}"):
        validate_table(people, "people", path, gx_sample_rows=0)


def test_every_stored_suite_compiles():
    for path in sorted(EXPECTATIONS_DIR.glob("*.json")):
        check_suite(json.loads(path.read_text(encoding="utf-8")), str(path))


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        ("^[0-9]{16}$", NIK_OK + "\n", True),  # Python: $ before a final newline
        ("^[0-9]{16}$", NIK_OK + "\n\n", False),
        ("[$]", "a$", True),
        ("^a$|^b$", "b\n", True),
        (r"^\d+$", ARABIC_DIGITS, True),
        (r"^[^0-9]$", "x", True),
        ("abc", "xxabcxx", True),  # a search, not a full match
    ],
)
def test_regex_translation_agrees_with_python_re(con, pattern, text, matches):
    import re

    assert bool(re.search(pattern, text)) is matches
    found = con.execute("select regexp_matches(?, ?)", [text, regex_for_re2(pattern)]).fetchone()
    assert found[0] is matches


def test_one_executor_for_staging_and_output_suites(people, monkeypatch):
    """validate_table (staging) and run_suite / validate_output (outputs) all run suite_run."""
    from tkpk import suite_run
    from tkpk.publish import suites

    calls = []
    real = suite_run.execute

    def spy(con, relation, suite, **options):
        calls.append((relation, options.get("ids", False)))
        return real(con, relation, suite, **options)

    monkeypatch.setattr(suite_run, "execute", spy)
    suite = _suite(_e("expect_column_values_to_be_in_set", column="sex", value_set=["L", "P"]))
    validate_table(people, "people", suite, gx_sample_rows=0)
    (failure,) = suites.run_suite(people, "people", "people", suite)
    assert calls == [("people", True), ("people", False)]
    assert (failure.unexpected, failure.sample) == (1, "(sex) = ('X',)")


def test_executor_counts_equal_with_and_without_ids(people):
    """Counts only (one ``count(*) filter`` scan) and with ids (the pairs table) agree."""
    from tkpk import suite_run

    suite = _suite(*(expectation for expectation, _ in CASES))
    expected = {index: len(ids) for index, (_, ids) in enumerate(CASES) if ids}
    with suite_run.execute(people, "people", suite) as counted:
        assert (counted.rows, counted.counts, counted.ids()) == (8, expected, {})
    with suite_run.execute(people, "people", suite, row_id="row_id", ids=True) as kept:
        assert (kept.rows, kept.counts) == (8, expected)
        assert {i: sorted(v) for i, v in kept.ids().items()} == {
            index: ids for index, (_, ids) in enumerate(CASES) if ids
        }
    with suite_run.execute(people, "people", suite, where="row_id <= 2") as restricted:
        assert restricted.rows == 2
        first_two = {index: len([i for i in ids if i <= 2]) for index, (_, ids) in enumerate(CASES)}
        assert restricted.counts == {index: n for index, n in first_two.items() if n}


def test_executor_stops_on_a_wrong_column_list_and_samples_by_key(people):
    from tkpk import suite_run

    wrong = _suite(
        {"type": "expect_table_columns_to_match_ordered_list",
         "kwargs": {"column_list": ["row_id", "nik", "zzz"]}},
        _e("expect_column_values_to_not_be_null", column="zzz"),
    )
    with suite_run.execute(people, "people", wrong) as run:
        assert run.stopped and run.counts == {0: 1}
        assert run.problems[0].startswith("missing ['zzz'], undocumented ['nama'")
    rows = _suite(
        _e("expect_column_values_to_be_between", column="amount", min_value=0),
        {"type": "unexpected_rows_expectation",
         "kwargs": {"unexpected_rows_query": "select * from {batch} where stage > 50"}},
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"max_value": 6}},
    )
    with suite_run.execute(people, "people", rows, where="row_id <> 7") as run:
        assert run.counts == {0: 1, 1: 1, 2: 1} and run.rows == 7
        assert run.sample(0, prefer=["row_id"]) == (["row_id", "amount"], [(4, Decimal("-5.00"))])
        assert run.sample(1, prefer=["row_id", "stage"]) == (["row_id", "stage"], [(6, 100)])
        assert run.problems == {2: "7 rows, expected [None, 6]"}


def test_text_row_ids_and_regex_only_on_text(people):
    people.execute("create table coded as select 'r' || row_id as code, nik, desil from people")
    suite = _suite(_e("expect_column_values_to_match_regex", column="nik", regex="^[0-9]{16}$"))
    outcome = validate_table(people, "coded", suite, row_id="code", gx_sample_rows=0)
    assert sorted(outcome.failures[0].row_ids) == ["r2", "r5", "r8"]
    on_number = _suite(_e("expect_column_values_to_match_regex", column="desil", regex="^1"))
    with pytest.raises(ValidationError, match="regex on column desil of type INTEGER"):
        validate_table(people, "coded", on_number, row_id="code")


def test_output_suite_same_failures_with_and_without_gx(con, tmp_path):
    """validate_output runs the executor once; GX (use_gx) cross-checks that same run and adds
    its outcome, the failures are the same either way (hand-counted on four rows)."""
    from tkpk.publish import suites

    con.execute("create table t as select * from (values (1, 'a', 0.5), (2, 'b', 1.5), "
                "(2, 'c', -1.0), (4, 'd', null)) v(k, name, ratio)")
    suite = {"name": "t", "expectations": [
        {"type": "expect_column_values_to_be_between",
         "kwargs": {"column": "ratio", "min_value": 0, "max_value": 1},
         "meta": {"check": "ratio in [0, 1]"}},
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "k"},
         "meta": {"check": "the key is unique"}},
        {"type": "unexpected_rows_expectation",
         "kwargs": {"unexpected_rows_query": "select k from {batch} where name > 'c'"},
         "meta": {"check": "names up to c"}},
    ]}
    (tmp_path / "t.json").write_text(json.dumps(suite), encoding="utf-8")
    plain, none = suites.validate_output(con, "t", "t", tmp_path, use_gx=False)
    checked, outcome = suites.validate_output(con, "t", "t", tmp_path, use_gx=True)
    assert none is None and [str(f) for f in plain] == [str(f) for f in checked]
    assert [(f.check, f.unexpected) for f in plain] == [
        ("ratio in [0, 1]", 2), ("the key is unique", 2), ("names up to c", 1),
    ]
    assert plain[2].sample == "(k) = (4,)"
    assert [f.unexpected_count for f in outcome.failures] == [2, 2, 1]
    assert outcome.results[0].meta["tkpk_sample"]["note"] == "all 4 rows"


@pytest.mark.parametrize(
    ("strict", "loose", "implies"),
    [
        (NIK_REGEX, "^[0-9]{16}$", True),
        ("^[0-9]{16}$", NIK_REGEX, False),  # the looser does not imply the stricter
        ("^(?:[0-9]{4})[0-9]{12}$", "^[0-9]{16}$", True),
        ("^[0-9]{15}$", "^[0-9]{16}$", False),  # widths differ
        ("^[0-9a]{16}$", "^[0-9]{16}$", False),  # a letter the looser refuses
        ("[0-9]{16}$", "^[0-9]{16}$", False),  # not anchored: a search
        ("^[0-9]{16}", "^[0-9]{16}$", False),
        (r"^\d{16}$", "^[0-9]{16}$", False),  # Unicode digits: not reasoned about
        ("^[^a]{16}$", "^[0-9]{16}$", False),
        ("^(?:1|22)[0-9]$", "^[0-9]{2}$", False),  # alternatives of unequal width
        (NIK_REGEX, "^(?:1[1-9]|[2-9][0-9])[0-9]{14}$", False),  # the looser has alternatives
    ],
)
def test_regex_implies_only_what_it_proves(strict, loose, implies):
    """``regex_implies`` says True only when every text the stricter pattern matches the looser
    matches too (checked here on texts around both patterns' edges)."""
    import itertools
    import re

    assert suite_sql.regex_implies(strict, loose) is implies
    if implies:
        texts = ["".join(p) for p in itertools.product("0139", repeat=4)]
        for text in (NIK_OK[:12] + t for t in texts):
            for tail in ("", "\n", "\n\n", "x"):
                if re.search(strict, text + tail):
                    assert re.search(loose, text + tail)


@pytest.mark.parametrize("kind", ["members", "pbi", "disbursements", "local"])
def test_scan_predicate_finds_the_rows_the_plain_disjunction_finds(con, kind):
    """The suite scan's filter (the stricter NIK pattern first, the looser only where it does not
    match) is true on exactly the rows the disjunction of the row-wise predicates is true on."""
    suite = load_suite(None, f"stg_{kind}")
    expectations = dict(enumerate(suite["expectations"]))
    types = {"nik": "VARCHAR", "nik_precision_lost": "BOOLEAN"}
    predicates = {
        i: suite_sql.row_predicate(e, types) for i, e in expectations.items()
        if {*suite_sql.columns_read(e)} <= types.keys() and e["type"] in suite_sql.ROW_WISE
    }
    scan = suite_sql.scan_predicate(expectations, predicates, types)
    assert "case when regexp_matches" in scan and scan.count("regexp_matches") == 3
    niks = [None, "", NIK_OK, NIK_BAD_DATE, NIK_OK + "\n", NIK_OK + "\n\n", NIK_OK + "x",
            "x" + NIK_OK, NIK_OK[:15], NIK_OK + "0", ARABIC_DIGITS, " " + NIK_OK,
            "9999999999999999", "0075010101800004", "3375011301800004", "3375017101800004",
            "3375010100800004", "3375010113800004", "1175010101800004"]
    con.execute(
        "create table scan_rows as select row_number() over () as id, nik, lost "
        "from unnest(?) as n(nik), unnest([null, true, false]) as l(lost)",
        [niks],
    )
    con.execute("alter table scan_rows rename lost to nik_precision_lost")
    plain = " or ".join(f"({p})" for p in predicates.values())
    found = {
        name: {r[0] for r in con.execute(f"select id from scan_rows where {sql}").fetchall()}
        for name, sql in (("scan", scan), ("plain", plain))
    }
    assert found["scan"] == found["plain"] and len(found["plain"]) > len(niks)
