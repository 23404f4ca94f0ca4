"""Indonesian number, money and period formatting."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from tkpk import formatting as fmt


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (0, 0, "0"),
        (999, 0, "999"),
        (1000, 0, "1.000"),
        (1234567, 0, "1.234.567"),
        (-1234567, 0, "-1.234.567"),
        (1234.5, 1, "1.234,5"),
        (12.345, 2, "12,35"),  # half-up on the decimal value, not the binary float
        (2.5, 0, "3"),  # not banker's rounding
        (0.125, 2, "0,13"),
        (-0.04, 1, "0,0"),  # no "-0,0"
        (np.int64(90000), 0, "90.000"),
        (Decimal("570870.00"), 0, "570.870"),
        (1e12, 0, "1.000.000.000.000"),
    ],
)
def test_format_number(value: object, decimals: int, expected: str) -> None:
    assert fmt.format_number(value, decimals) == expected


@pytest.mark.parametrize(
    ("fraction", "decimals", "expected"),
    [
        (0.067, 1, "6,7%"),
        (0.0665, 1, "6,7%"),
        (0.0664, 1, "6,6%"),
        (0.12345, 2, "12,35%"),
        (1, 0, "100%"),
        (0, 1, "0,0%"),
        (np.float64(0.5), 0, "50%"),
    ],
)
def test_format_percent(fraction: object, decimals: int, expected: str) -> None:
    assert fmt.format_percent(fraction, decimals) == expected


@pytest.mark.parametrize("missing", [None, float("nan"), np.nan, pd.NA, pd.NaT])
def test_missing_values_print_as_a_dash(missing: object) -> None:
    assert fmt.format_number(missing) == "–"
    assert fmt.format_percent(missing) == "–"
    assert fmt.format_rupiah(missing) == "–"
    assert fmt.format_rupiah_compact(missing) == "–"
    assert fmt.format_period(missing) == "–"


def test_format_rupiah() -> None:
    assert fmt.format_rupiah(1234567) == "Rp 1.234.567"
    assert fmt.format_rupiah(570870.0) == "Rp 570.870"
    assert fmt.format_rupiah(-5000) == "-Rp 5.000"
    assert fmt.format_rupiah(1500.5, decimals=2) == "Rp 1.500,50"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.2e9, "Rp1,2 miliar"),
        (1_234_567_890, "Rp1,2 miliar"),
        (850_000_000, "Rp850 juta"),
        (825_900_000, "Rp825,9 juta"),
        (3_000_000, "Rp3 juta"),  # no trailing ",0"
        (999_960_000, "Rp1 miliar"),  # rounds up into the next scale word
        (2.5e12, "Rp2,5 triliun"),
        (750_000, "Rp 750.000"),  # below a million: in full
        (0, "Rp 0"),
        (-1.5e9, "-Rp1,5 miliar"),
    ],
)
def test_format_rupiah_compact(value: float, expected: str) -> None:
    assert fmt.format_rupiah_compact(value) == expected


def test_format_compact_with_thousands() -> None:
    assert fmt.format_compact(1_234_567) == "1,2 juta"
    assert fmt.format_compact(12_500, thousands=True) == "12,5 ribu"
    assert fmt.format_compact(12_500) == "12.500"


def test_format_points() -> None:
    assert fmt.format_points(-0.004) == "-0,4 poin"
    assert fmt.format_points(0.012) == "+1,2 poin"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-06", "Juni 2026"),
        ("2026-01-01", "Januari 2026"),
        (date(2025, 8, 17), "Agustus 2025"),
        (pd.Timestamp("2024-03-01"), "Maret 2024"),
        ("2026-05", "Mei 2026"),
        ("2026-12", "Desember 2026"),
    ],
)
def test_format_period(value: object, expected: str) -> None:
    assert fmt.format_period(value) == expected


def test_period_helpers() -> None:
    assert fmt.format_period("2026-06", short=True) == "Jun 2026"
    assert fmt.parse_period("2026-06") == date(2026, 6, 1)
    assert fmt.period_key(date(2026, 6, 15)) == "2026-06"
    assert fmt.reach_window("2026-06") == (date(2025, 7, 1), date(2026, 6, 1))
    assert fmt.reach_window("2026-12") == (date(2026, 1, 1), date(2026, 12, 1))
    assert fmt.format_reach_window("2026-06") == "Juli 2025 – Juni 2026"
    assert fmt.format_date("2026-06-26") == "26 Juni 2026"


@pytest.mark.parametrize("bad", ["June 2026", "2026-13", "2026/06", "", "26-06"])
def test_parse_period_rejects_other_forms(bad: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        fmt.parse_period(bad)
