"""Page layout, colours and Indonesian axis formatters shared by every chart of the report."""

from __future__ import annotations

import functools
import textwrap
from collections.abc import Callable, Iterable
from typing import ParamSpec, TypeVar

import matplotlib as mpl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from tkpk import formatting as fmt

#: A4 landscape, inches.
PAGE_SIZE = (11.69, 8.27)
PNG_DPI = 150

INK = "#1f2933"
MUTED = "#5f6b7a"
GRID = "#d9dee4"
MISSING_COLOUR = "#e4e7eb"
REGISTRY = "#1f5f99"
REGISTRY_LIGHT = "#8fb8de"
OFFICIAL = "#6b6b6b"
ALERT = "#c0392b"
#: Categorical colours (Okabe-Ito, colour-blind safe), assigned in data order.
CATEGORICAL = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
    "#999999",
)
SEQUENTIAL = "YlOrRd"
COVERAGE = "YlGnBu"

RC = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.edgecolor": MUTED,
    "axes.labelcolor": INK,
    "axes.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.color": INK,
    "ytick.color": INK,
    "text.color": INK,
    "axes.grid": False,
    "grid.color": GRID,
    "legend.frameon": False,
    "svg.hashsalt": "tkpk",
    "pdf.fonttype": 42,
}

#: Main plotting area of a chart page (left, bottom, width, height), between header and footer.
BODY = (0.07, 0.17, 0.88, 0.64)
#: Characters per line of the subtitle (10.5 pt) and footer (7.5 pt) across an A4 landscape page.
SUBTITLE_WIDTH = 135
FOOTER_WIDTH = 185
#: White box behind value labels drawn over grid or reference lines.
LABEL_BOX = {"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.85}


P = ParamSpec("P")
R = TypeVar("R")


def styled(function: Callable[P, R]) -> Callable[P, R]:
    """Draw ``function``'s figure with the report's matplotlib style (rcParams are read when each
    artist is created, so the whole drawing runs inside the style context)."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with mpl.rc_context(RC):
            return function(*args, **kwargs)

    return wrapper


def colours(keys: Iterable[str]) -> dict[str, str]:
    """A stable colour per key, in the given order."""
    return {key: CATEGORICAL[i % len(CATEGORICAL)] for i, key in enumerate(keys)}


def percent_axis(decimals: int = 0) -> FuncFormatter:
    """Tick labels for fractions shown as percentages: ``0.25`` -> ``25%``."""
    return FuncFormatter(lambda value, _pos: fmt.format_percent(value, decimals))


def number_axis() -> FuncFormatter:
    """Tick labels with Indonesian thousands separators."""
    return FuncFormatter(lambda value, _pos: fmt.format_number(value))


def few_ticks(axis, n: int = 5) -> None:  # noqa: ANN001  (a matplotlib Axis)
    """At most ``n`` ticks (wide labels such as rupiah amounts)."""
    axis.set_major_locator(MaxNLocator(n))


def rupiah_axis() -> FuncFormatter:
    """Tick labels in compact rupiah (``Rp1,5 miliar``)."""
    return FuncFormatter(lambda value, _pos: fmt.format_rupiah_compact(value))


def integer_ticks(axis) -> None:  # noqa: ANN001  (a matplotlib Axis)
    """Whole-number ticks only (counts of households or people)."""
    axis.set_major_locator(MaxNLocator(integer=True))


def wrap(text: str, width: int, break_words: bool = False) -> str:
    """``text`` wrapped to lines of at most ``width`` characters (long words are split only with
    ``break_words``)."""
    lines = textwrap.wrap(text, width, break_long_words=break_words, break_on_hyphens=True)
    return "\n".join(lines) or text


def new_figure() -> Figure:
    """An A4 landscape figure drawn by the Agg canvas, outside pyplot: no GUI backend, nothing
    kept in pyplot's figure registry, and a notebook's own backend is left alone."""
    figure = Figure(figsize=PAGE_SIZE)
    FigureCanvasAgg(figure)
    return figure


def new_page(title: str, subtitle: str, footer: str) -> Figure:
    """An A4 landscape figure with the chart's title (what), subtitle (where, when, unit) and
    footer (source, registry note) already placed; the caller adds axes inside ``BODY``."""
    figure = new_figure()
    figure.text(0.04, 0.955, title, fontsize=16, fontweight="bold", va="top", color=INK)
    figure.text(
        0.04,
        0.91,
        wrap(subtitle, SUBTITLE_WIDTH),
        fontsize=10.5,
        va="top",
        color=MUTED,
        linespacing=1.3,
    )
    footer = "\n".join(wrap(line, FOOTER_WIDTH) for line in footer.split("\n"))
    figure.text(0.04, 0.02, footer, fontsize=7.5, va="bottom", color=MUTED, linespacing=1.4)
    return figure


def close(figure: Figure) -> None:
    """Release a figure's artists (figures live outside pyplot, so nothing else holds them)."""
    figure.clear()


def caption(figure: Figure, text: str) -> None:
    """Put a source caption (small, muted) under an ad-hoc notebook chart and make room for it."""
    lines = "\n".join(wrap(line, 150) for line in text.split("\n"))
    figure.text(0.01, 0.005, lines, fontsize=6.5, color=MUTED, va="bottom", linespacing=1.3)
    figure.tight_layout(rect=(0, 0.04 + 0.025 * lines.count("\n"), 1, 1))
