"""Staging macros: the fast paths (the usual forms, without regular expressions) give what the
general branches give. Each value is worked out by hand; the fast-path forms sit beside forms
that take the general branch of the same macro."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from tkpk.db import MACROS_SQL


@pytest.fixture(scope="module")
def macros() -> duckdb.DuckDBPyConnection:
    """An in-memory connection with the staging macros."""
    con = duckdb.connect()
    con.execute(MACROS_SQL.read_text())
    return con


def value(con: duckdb.DuckDBPyConnection, expression: str, x: str | None):
    """``expression`` (over ``x``) for one text value."""
    return con.execute(f"select {expression} from (select ?::varchar as x)", [x]).fetchone()[0]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("SITI AMINAH", "SITI AMINAH"),  # fast: ASCII, nothing to trim
        ("", None),
        (" SITI ", "SITI"),
        ("SITI\tAMINAH", "SITI AMINAH"),
        ("\ufeffSITI", "SITI"),
        ("SITI\u00a0", "SITI"),
        ("\u3000SITI", "SITI"),  # an ideographic space: not ASCII, trimmed by the full path
        ("JOSÉ", "JOSÉ"),
    ],
)
def test_clean_text(macros, raw, expected):
    assert value(macros, "clean_text(x)", raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", 1), ("07", 7), ("001", 1), ("1,0", 1), ("12345", None), ("x", None), (None, None)],
)
def test_parse_code(macros, raw, expected):
    assert value(macros, "parse_code(x)", raw) == expected


#: Raw (not yet cleaned) values: the digits code_of and sex_of read without clean_text, and texts
#: that clean_text changes (blanks, tabs, a byte-order mark, a no-break space).
RAW_CODES = [
    "1", "2", "07", "001", "0001", "1,0", "12345", "x", "", " 1", "1 ", "\t2", "\ufeff3",
    "3\u00a0", " 01 ", "L", " p ", "Laki-laki", "PEREMPUAN ", "\ufeffL", "\u0661", None,
    # sex_of's spellings read by equality, and their near misses (general path)
    "l", "LAKI-LAKI", "P", "p", "PEREMPUAN", "Perempuan", "laki-laki", "Laki-Laki", "LAKI - LAKI",
    "perempuan", "PEREMPUAN.", " L", "L ", "LL", "Pr", "\u00a0P",
]


@pytest.mark.parametrize("raw", RAW_CODES)
def test_code_of_is_parse_code_of_the_cleaned_text(macros, raw):
    assert value(macros, "code_of(x)", raw) == value(macros, "parse_code(clean_text(x))", raw)


@pytest.mark.parametrize("raw", RAW_CODES)
def test_sex_of_is_parse_sex_of_the_cleaned_text(macros, raw):
    assert value(macros, "sex_of(x)", raw) == value(macros, "parse_sex(clean_text(x))", raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", "L"),
        ("2", "P"),
        ("01", "L"),
        ("Laki-laki", "L"),
        ("LAKI-LAKI", "L"),
        ("l.", "L"),
        ("p", "P"),
        ("PEREMPUAN", "P"),
        ("Wanita", "P"),
        ("3", None),
        ("LAKI-LAKI PEREMPUAN", None),
        (None, None),
    ],
)
def test_parse_sex(macros, raw, expected):
    assert value(macros, "parse_sex(x)", raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-06-26", date(2026, 6, 26)),  # fast: ISO
        ("2026-02-30", None),
        ("2026-6-26", date(2026, 6, 26)),  # general branch
        ("2026-06-26 10:00", date(2026, 6, 26)),
        ("26 Jun 2026", date(2026, 6, 26)),  # fast: day, month abbreviation, year
        ("6 Agu 2026", date(2026, 8, 6)),
        ("26 Xyz 2026", None),
        ("26 Juni 2026", date(2026, 6, 26)),  # general branch
        ("26/06/2026", date(2026, 6, 26)),  # fast: two-digit day and month, separators
        ("26-06-2026", date(2026, 6, 26)),
        ("26.06/2026", date(2026, 6, 26)),
        ("31/02/2026", None),
        ("26/06/1799", None),  # implausible year, read from the text
        ("31/12/2200", date(2200, 12, 31)),
        ("01/01/2201", None),
        ("26x06x2026", None),
        ("6/06/2026", date(2026, 6, 6)),  # general branch
        ("26/06/2026 10:00", date(2026, 6, 26)),
        ("0202-06-26", None),
        ("1800-01-01", date(1800, 1, 1)),
        ("26 Juli 2026", date(2026, 7, 26)),  # fast: a day, a month's word, a year
        ("6 September 2026", date(2026, 9, 6)),
        ("6 nopember 2026", date(2026, 11, 6)),
        ("26 Juli 1799", None),
        ("31 Februari 2026", None),
        ("26 Julio 2026", None),  # a word that is no month: NULL, as the general branch
        ("26 Ju li 2026", None),
        ("26 Juli. 2026", date(2026, 7, 26)),  # general branch (a dot)
        ("26-Juli-2026", date(2026, 7, 26)),
        ("45000", date(2023, 3, 15)),  # a spreadsheet serial number
    ],
)
def test_parse_date(macros, raw, expected):
    assert value(macros, "parse_date(x)", raw) == expected


def test_parse_date_iso_cast_is_strptime(macros):
    """The ISO fast path's text-to-date cast reads every 'YYYY-MM-DD' text (years 1790-2210, months
    and days 00-99: impossible dates too) as ``try_strptime(x, '%Y-%m-%d')`` did, and
    ``parse_date`` keeps only the plausible years."""
    differ, read = macros.execute(
        """
        with t as (
            select lpad(y::varchar, 4, '0') || '-' || lpad(m::varchar, 2, '0') || '-'
                || lpad(d::varchar, 2, '0') as x
            from range(1790, 2211) as a(y), range(0, 100) as b(m), range(0, 100) as c(d)
        )
        select count_if(parse_date(x) is distinct from case when x between '1800' and '2201'
                        then cast(try_strptime(x, '%Y-%m-%d') as date) end),
               count(parse_date(x))
        from t
        """
    ).fetchone()
    assert differ == 0
    assert read == 401 * 365 + 97  # the days of 1800-2200 (97 leap years)


@pytest.mark.parametrize(
    ("raw", "from_number", "expected", "lost"),
    [
        ("3375011234567890", False, "3375011234567890", False),  # fast: 16 digits
        ("3375011234567890", True, "3375011234567890", True),  # the same from a number cell
        ("337501123456789", False, "337501123456789", False),  # 15 digits: the general test
        ("33750112345678901", False, "33750112345678901", False),  # 17 digits
        ("3375.01.091220.0001", False, "3375010912200001", False),  # fast: DTSEN's grouping
        ("3375.01.091220.0001", True, "3375010912200001", True),  # the same from a number cell
        ("3375.01.09122.00001", False, "3375010912200001", False),  # other dots: no replace
        ("3375.01.091220.000", False, "337501091220000", False),  # 15 digits: as read
        ("337501 031256 0001", False, "3375010312560001", False),  # fast: spaces as DTSEN's
        ("337501 031256 0001", True, "3375010312560001", True),
        ("33750 1031256 0001", False, "3375010312560001", False),  # other spaces: general
        ("337501  031256 0001", False, "3375010312560001", False),
        ("337501 031256 000", False, "337501031256000", False),
        ("'3375011234567890", False, "3375011234567890", False),  # fast: a leading apostrophe
        ("'3375011234567890", True, "3375011234567890", True),
        ("'337501123456789", False, "337501123456789", False),  # 15 digits: the general branch
        ("'33750112345678901", False, "33750112345678901", False),  # 17 digits
        ("'337501123456789x", False, "337501123456789x", False),
        ("'3375 0112 3456 7890", False, "3375011234567890", False),
        ("`3375011234567890", False, "3375011234567890", False),  # another quote: general
        ("'3375.01.091220.0001", False, "3375010912200001", False),  # general removal
        ("''3375011234567890", False, "3375011234567890", False),
        ("'", False, None, False),
        ("'3,37501E+15", False, "3,37501E+15", False),
        ("3375011234567890,0", True, "3375011234567890", True),
        ("3,37501E+15", False, "3375010000000000", True),
        (". .", False, None, False),
        (None, False, None, False),
    ],
)
def test_id_digits(macros, raw, from_number, expected, lost):
    assert value(macros, f"id_digits(x, {from_number})", raw) == expected
    assert value(macros, f"id_precision_lost(x, {from_number})", raw) is lost
