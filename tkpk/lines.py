"""When a poverty line needs a warning: too old, or borrowed from a wider area.

The run summary (``flows.summary``, English) and the briefing pack (``tkpk.report``, Bahasa
Indonesia) warn when the line in force for the latest period is older than
``MAX_LINE_AGE_MONTHS`` or was set for a wider area than the kab/kota (scope ``province`` or
``national``): such a line is shown as if it were current unless somebody says so. A newer BPS
line can be dropped into the reference-override folder (``TKPK_REFERENCE_DIR``) without a release.
"""

from __future__ import annotations

from datetime import date

#: A line in force for longer than this (in months) gets a warning.
MAX_LINE_AGE_MONTHS = 18

#: Bahasa Indonesia names of the wider scopes.
SCOPE_NAMES_ID = {"province": "provinsi", "national": "nasional"}


def line_age_months(period: date, effective_from: date) -> int:
    """Whole calendar months from the line's first month to the period's month."""
    return (period.year - effective_from.year) * 12 + period.month - effective_from.month


def line_is_old(period: date, effective_from: date | None) -> bool:
    """The line has been in force for more than MAX_LINE_AGE_MONTHS at ``period``."""
    return effective_from is not None and line_age_months(period, effective_from) > (
        MAX_LINE_AGE_MONTHS
    )


def line_is_borrowed(scope: str | None) -> bool:
    """The line was set for a wider area than the kab/kota (province or nation)."""
    return scope in SCOPE_NAMES_ID
