"""Numbers, money and periods written the Indonesian way (for charts, reports and notebooks).

- thousands separated by ``.``, decimals by ``,``: ``1.234.567``, ``12,5``;
- percentages from fractions (the packs store ratios as fractions): ``0.067`` -> ``6,7%``;
- rupiah in full (``Rp 1.234.567``) or compact (``Rp1,2 miliar``, ``Rp850 juta``);
- periods with Indonesian month names: ``2026-06`` -> ``Juni 2026``.

Rounding is half-up on the decimal value (``0.0665`` -> ``6,7%``), never banker's rounding or
binary-float artefacts. Missing values (``None``, NaN, ``pd.NA``) print as an en dash.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from numbers import Number

#: What a missing (or suppressed) value prints as.
MISSING = "–"

MONTHS = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)
MONTHS_SHORT = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")

#: Compact scale words, largest first (Indonesian short scale: ribu, juta, miliar, triliun).
SCALES = ((Decimal(10) ** 12, "triliun"), (Decimal(10) ** 9, "miliar"), (Decimal(10) ** 6, "juta"))
SCALES_WITH_THOUSANDS = (*SCALES, (Decimal(1000), "ribu"))

_PERIOD_RE = re.compile(r"^(\d{4})-(\d{2})(?:-\d{2})?$")


def is_missing(value: object) -> bool:
    """True for ``None``, NaN, NaT and ``pd.NA`` (anything that is not a real number)."""
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, NaT
    except (TypeError, ValueError):  # pd.NA raises on bool()
        return True


def _decimal(value: Number | Decimal | str) -> Decimal:
    """``value`` as a Decimal, through its shortest repr (so 0.1 stays 0.1)."""
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except InvalidOperation as error:
        raise ValueError(f"not a number: {value!r}") from error


def _group(digits: str) -> str:
    """``"1234567"`` -> ``"1.234.567"``."""
    head = len(digits) % 3 or 3
    parts = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return ".".join(parts)


def format_number(value: object, decimals: int = 0) -> str:
    """A number with Indonesian separators: ``1234567`` -> ``1.234.567``, ``12.345`` -> ``12,3``
    (with ``decimals=1``). Negative numbers keep a leading minus sign."""
    if is_missing(value):
        return MISSING
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "-∞"
    quantum = Decimal(1).scaleb(-decimals)
    rounded = _decimal(value).quantize(quantum, rounding=ROUND_HALF_UP)
    sign = "-" if rounded < 0 else ""
    text = f"{abs(rounded):f}"
    whole, _, fraction = text.partition(".")
    return f"{sign}{_group(whole)}" + (f",{fraction}" if fraction else "")


def format_percent(fraction: object, decimals: int = 1) -> str:
    """A fraction as a percentage: ``0.067`` -> ``6,7%``, ``0.12345`` -> ``12,35%`` (decimals=2)."""
    if is_missing(fraction):
        return MISSING
    return f"{format_number(_decimal(fraction) * 100, decimals)}%"


def format_points(fraction: object, decimals: int = 1) -> str:
    """A change of a fraction in percentage points: ``-0.004`` -> ``-0,4 poin``."""
    if is_missing(fraction):
        return MISSING
    text = format_number(_decimal(fraction) * 100, decimals)
    return f"{'+' if not text.startswith('-') and _decimal(fraction) > 0 else ''}{text} poin"


def format_rupiah(value: object, decimals: int = 0) -> str:
    """Rupiah in full: ``1234567`` -> ``Rp 1.234.567``."""
    if is_missing(value):
        return MISSING
    text = format_number(value, decimals)
    if text.startswith("-"):
        return f"-Rp {text[1:]}"
    return f"Rp {text}"


def format_compact(value: object, decimals: int = 1, thousands: bool = False) -> str:
    """A large number with a scale word: ``1234567`` -> ``1,2 juta``, ``2.5e9`` -> ``2,5 miliar``.

    Below a million (or a thousand with ``thousands=True``) the number prints in full. A trailing
    ``,0`` is dropped (``3 juta``, not ``3,0 juta``).
    """
    if is_missing(value):
        return MISSING
    number = _decimal(value)
    magnitude = abs(number)
    quantum = Decimal(1).scaleb(-decimals)
    for scale, word in SCALES_WITH_THOUSANDS if thousands else SCALES:
        # Use the largest scale of which the value rounds to at least 1 (999,96 juta -> 1 miliar).
        if (magnitude / scale).quantize(quantum, rounding=ROUND_HALF_UP) >= 1:
            text = format_number(number / scale, decimals)
            if "," in text:
                text = text.rstrip("0").rstrip(",")
            return f"{text} {word}"
    return format_number(number, 0)


def format_rupiah_compact(value: object, decimals: int = 1) -> str:
    """Rupiah with a scale word: ``1.2e9`` -> ``Rp1,2 miliar``, ``850e6`` -> ``Rp850 juta``;
    below a million in full (``Rp 750.000``)."""
    if is_missing(value):
        return MISSING
    text = format_compact(value, decimals)
    if " " not in text:
        return format_rupiah(value)
    if text.startswith("-"):
        return f"-Rp{text[1:]}"
    return f"Rp{text}"


def parse_period(value: object) -> date:
    """A period (``"2026-06"``, ``"2026-06-01"``, a date or datetime) as the first of its month.

    Raises ``ValueError`` naming the expected form when the text is not a ``YYYY-MM`` month.
    """
    if isinstance(value, datetime):
        return date(value.year, value.month, 1)
    if isinstance(value, date):
        return value.replace(day=1)
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        stamp = value.to_pydatetime()
        return date(stamp.year, stamp.month, 1)
    match = _PERIOD_RE.match(str(value).strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"period {value!r} is not a month in the form YYYY-MM (e.g. 2026-06)")
    return date(int(match.group(1)), int(match.group(2)), 1)


def format_period(value: object, short: bool = False) -> str:
    """``2026-06`` (or a date) -> ``Juni 2026``; ``short=True`` -> ``Jun 2026``."""
    if is_missing(value):
        return MISSING
    period = parse_period(value)
    names = MONTHS_SHORT if short else MONTHS
    return f"{names[period.month - 1]} {period.year}"


def period_key(value: object) -> str:
    """A period as ``YYYY-MM`` (file names, CLI options)."""
    return parse_period(value).strftime("%Y-%m")


def reach_window(value: object) -> tuple[date, date]:
    """The twelve-month reach window ending with the period: (first month, last month)."""
    period = parse_period(value)
    months = period.year * 12 + period.month - 1 - 11
    return date(months // 12, months % 12 + 1, 1), period


def format_reach_window(value: object) -> str:
    """``2026-06`` -> ``Juli 2025 – Juni 2026`` (the program figures' twelve-month window)."""
    start, end = reach_window(value)
    return f"{format_period(start)} – {format_period(end)}"


def format_date(value: object) -> str:
    """A day in Indonesian: ``2026-06-26`` -> ``26 Juni 2026``."""
    if is_missing(value):
        return MISSING
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"
