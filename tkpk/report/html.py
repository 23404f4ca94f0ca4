"""``tkpk report --html``: the briefing as one self-contained HTML file (Bahasa Indonesia).

The same pages and findings as the PDF (``builder``): the cover's key figures, findings and
reading guide, then every chart of ``charts.CHARTS``, drawn by the same code and embedded as
inline SVG (matplotlib's SVG backend, text as outlines so it reads the same on any machine). The
kelurahan tile map shows each kelurahan's figures on hover (or focus/tap). Tables of kelurahan,
programs and funding sources sort (click a header) and filter (type in the box) with a little
inline JavaScript. Notes on the poverty line (value, status, and effective date and scope when
the pack has them), the official BPS figures and the data coverage (the ``data_coverage`` table
when the pack has one) stand beside the figures.

Everything is in the file: no style sheet, script, font or image is fetched at view time, so it
can be mailed or put on the city intranet. The figures come from ``ReportData`` (the PDF's data
layer) and are formatted by ``tkpk.formatting``.
"""

from __future__ import annotations

import html
import io
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib as mpl
import pandas as pd

from tkpk import analysis
from tkpk import formatting as fmt
from tkpk.report import style
from tkpk.report.builder import READING_GUIDE, headlines
from tkpk.report.charts import ChartSpec
from tkpk.report.data import PACK_DESCRIPTIONS, ReportData

HTML_NAME = "bahan_rakor_tkpk_{period}.html"
#: Short names of the chart pages for the page's table of contents (by the chart key's number).
SHORT_NAMES = {
    "01": "P0 dan angka BPS",
    "02": "P0 per kelurahan",
    "03": "P1 dan P2",
    "04": "Peta",
    "05": "Cakupan program",
    "06": "Ketepatan sasaran",
    "07": "RT miskin tanpa program",
    "08": "Sumber dana",
    "09": "Tren",
}
#: The tile map chart (hover figures per kelurahan).
TILE_MAP_KEY = "04_peta_p0_kelurahan"

#: Figures of a kelurahan shown on hover over its tile: column, label, formatter.
TILE_FIGURES: tuple[tuple[str, str, Callable[[object], str]], ...] = (
    ("p0", "P0 (tingkat kemiskinan)", fmt.format_percent),
    ("poor_population", "Penduduk miskin", lambda v: f"{fmt.format_number(v)} jiwa"),
    ("population", "Penduduk", lambda v: f"{fmt.format_number(v)} jiwa"),
    ("p1", "P1 (kedalaman)", lambda v: fmt.format_percent(v, 2)),
    ("p2", "P2 (keparahan)", lambda v: fmt.format_percent(v, 2)),
    ("poverty_gap_idr_month", "Kesenjangan per bulan", fmt.format_rupiah_compact),
    ("poor_households", "RT miskin", fmt.format_number),
    ("poor_households_unreached", "RT miskin tanpa program", fmt.format_number),
    ("mpi_h", "Miskin multidimensi (IKM H)", fmt.format_percent),
)


@dataclass(frozen=True)
class Column:
    """A table column: pack column, Indonesian header, formatter (text from the value)."""

    name: str
    header: str
    format: Callable[[object], str] | None = None  # None: text as is

    def cell(self, value: object) -> str:
        """``<td>``: the formatted value, the raw number (a date's day number) in ``data-v`` for
        sorting."""
        if self.format is None:
            return f"<td>{_e(value if not fmt.is_missing(value) else fmt.MISSING)}</td>"
        if fmt.is_missing(value):
            return f'<td class="num">{_e(fmt.MISSING)}</td>'
        number = value.toordinal() if hasattr(value, "toordinal") else float(value)
        return f'<td class="num" data-v="{number!r}">{_e(self.format(value))}</td>'


def _e(value: object) -> str:
    """HTML-escaped text."""
    return html.escape(str(value))


def _pct(decimals: int = 1) -> Callable[[object], str]:
    return lambda v: fmt.format_percent(v, decimals)


KELURAHAN_COLUMNS = (
    Column("area_name", "Wilayah"),
    Column("kecamatan_name", "Kecamatan"),
    Column("population", "Penduduk (jiwa)", fmt.format_number),
    Column("poor_population", "Penduduk miskin (jiwa)", fmt.format_number),
    Column("p0", "P0", _pct()),
    Column("p1", "P1", _pct(2)),
    Column("p2", "P2", _pct(2)),
    Column("poverty_gap_idr_month", "Kesenjangan (Rp/bulan)", fmt.format_rupiah),
    Column("poor_households", "RT miskin", fmt.format_number),
    Column("poor_households_unreached", "RT miskin tanpa program", fmt.format_number),
    Column("mpi_h", "IKM H", _pct()),
)
PROGRAM_COLUMNS = (
    Column("program_label", "Program"),
    Column("recipient_households", "RT penerima", fmt.format_number),
    Column("amount_idr", "Nilai bantuan", fmt.format_rupiah_compact),
    Column("target_households", "RT sasaran", fmt.format_number),
    Column("coverage_target", "Cakupan sasaran", _pct()),
    Column("exclusion_error", "Exclusion error", _pct()),
    Column("inclusion_error", "Inclusion error", _pct()),
    Column("coverage_poor", "Cakupan RT miskin", _pct()),
    Column("window_months_with_records", "Bulan berdata (dari 12)", fmt.format_number),
)
FUNDING_COLUMNS = (
    Column("funding_source", "Sumber dana"),
    Column("recipient_households", "RT penerima", fmt.format_number),
    Column("amount_idr", "Nilai bantuan", fmt.format_rupiah_compact),
    Column("share", "Porsi", _pct()),
    Column("unmatched_amount_idr", "Tak cocok ke RT terdaftar", fmt.format_rupiah_compact),
)


# -------------------------------------------------------------------------------------- SVG


def svg_of(figure: mpl.figure.Figure, prefix: str) -> str:
    """The figure as an inline ``<svg>`` (no XML prolog), scaling to its container; every id is
    prefixed so that several charts in one page never share an id."""
    buffer = io.StringIO()
    with mpl.rc_context({"svg.fonttype": "path", "svg.hashsalt": "tkpk", "svg.id": None}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}-{m.group(1)}"', text)
    text = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}-{m.group(1)})", text)
    text = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}-{m.group(1)}"', text)
    text = re.sub(
        r'<svg([^>]*?)\swidth="[^"]*"\sheight="[^"]*"',
        r'<svg\1 class="chart" role="img" preserveAspectRatio="xMidYMid meet"',
        text,
        count=1,
    )
    return text


# ---------------------------------------------------------------------------------- figures


def kecamatan_name(data: ReportData, code: object) -> str:
    """A kecamatan's name from the pack (reference table as fallback)."""
    return data.kecamatan_names.get(str(code), str(code)) if not fmt.is_missing(code) else ""


def key_figures(data: ReportData) -> list[tuple[str, str, str, str]]:
    """The cover's key figures: (element id, label, value, note)."""
    city = data.city
    unreached, poor = city["poor_households_unreached"], city["poor_households"]
    return [
        ("p0-kota", "Tingkat kemiskinan (P0), data registrasi", fmt.format_percent(city["p0"]),
         f"{fmt.format_number(city['poor_population'])} dari "
         f"{fmt.format_number(city['population'])} jiwa"),
        ("p1-kota", "Kedalaman (P1)", fmt.format_percent(city["p1"], 2),
         f"keparahan (P2) {fmt.format_percent(city['p2'], 2)}"),
        ("gap-kota", "Kesenjangan kemiskinan", fmt.format_rupiah_compact(
            city["poverty_gap_idr_month"]), "per bulan, bila bantuan tepat sasaran"),
        ("ikm-kota", "Miskin multidimensi (IKM H)", fmt.format_percent(city["mpi_h"]),
         "penduduk"),
        ("unreached-kota", "RT miskin tanpa program", fmt.format_number(unreached),
         f"dari {fmt.format_number(poor)} RT miskin "
         f"({fmt.format_percent(analysis.share(unreached, poor))})"),
    ]  # fmt: skip


def line_notes(data: ReportData) -> list[str]:
    """The poverty line the figures use: value and status, and, when the pack has them, its
    effective date, scope and age; the official BPS figures beside the registry-based ones."""
    city = data.city
    notes = [f"Garis kemiskinan: {data.poverty_line_label}."]
    effective = city.get("poverty_line_effective_from")
    scope = city.get("poverty_line_scope")
    details = []
    if not fmt.is_missing(effective):
        details.append(f"berlaku sejak {fmt.format_date(pd.Timestamp(effective).date())}")
    if not fmt.is_missing(scope):
        wording = {"kabkota": "ditetapkan untuk kabupaten/kota ini",
                   "province": "dipinjam dari garis provinsi",
                   "national": "dipinjam dari garis nasional"}  # fmt: skip
        details.append(wording.get(str(scope), f"cakupan {scope}"))
    if details:
        notes.append("Garis kemiskinan " + "; ".join(details) + ".")
    notes += list(getattr(data, "poverty_line_warnings", None) or [])  # old or borrowed line
    official_p0 = city.get("official_p0")
    if not fmt.is_missing(official_p0):
        year = city.get("official_year")
        year_text = f" {int(year)}" if not fmt.is_missing(year) else ""
        notes.append(
            f"Angka resmi BPS (Susenas){year_text}: {fmt.format_percent(official_p0)}; angka "
            "registrasi dihitung pada basis penduduk yang berbeda."
        )
    elif data.official:
        notes.append(
            f"Angka resmi BPS ({data.official['source']}): "
            f"{fmt.format_percent(data.official['p0'])}."
        )
    coverage = city.get("registry_coverage")
    if not fmt.is_missing(coverage):
        notes.append(
            f"Data registrasi mencakup {fmt.format_percent(coverage)} penduduk menurut angka "
            "resmi: P0 registrasi berbasis penduduk yang tercatat saja."
        )
    notes.append("Angka berbasis data registrasi, bukan angka resmi BPS (Susenas).")
    return notes


def coverage_notes(data: ReportData) -> list[str]:
    """What the figures stand on: the data quality of the runs and, when the pack has a
    ``data_coverage`` table, its city row for the period (every column, by its dictionary
    label when known)."""
    notes = [f"Data registrasi snapshot {data.snapshot_label}; program dalam {data.window_label}."]
    quality = data.quality
    if quality.get("rows_read"):
        notes.append(
            f"{fmt.format_number(quality['accepted'])} dari "
            f"{fmt.format_number(quality['rows_read'])} baris data mentah diterima "
            f"({fmt.format_percent(analysis.share(quality['accepted'], quality['rows_read']))}); "
            f"{fmt.format_number(quality['quarantined'])} dikarantina dengan alasan, "
            f"{fmt.format_number(quality['duplicate'])} duplikat."
        )
    coverage = getattr(data, "coverage", None)
    if coverage is not None and not coverage.empty:
        rows = coverage[coverage["area_level"] == "kota"] if "area_level" in coverage else coverage
        if not rows.empty:
            row = rows.iloc[0]
            skip = {"period", "area_level", "area_code", "area_name", "kecamatan_code", "snapshot"}
            parts = [
                f"{_label(column)}: {_value(row[column], column)}"
                for column in rows.columns
                if column not in skip and not fmt.is_missing(row[column])
            ]
            if parts:
                notes.append("Cakupan data (tabel data_coverage, kota): " + "; ".join(parts) + ".")
    return notes


def _dictionary_column(table: str, column: str) -> object | None:
    """The data dictionary's entry of ``table.column`` (None when it has none)."""
    from tkpk.publish import dictionary

    for entry in dictionary.TABLES:
        if entry.name == table:
            return next((c for c in entry.columns if c.name == column), None)
    return None


#: Short Indonesian headers of the data_coverage columns (the dictionary has the full text).
COVERAGE_LABELS = {
    "snapshot_age_months": "Umur snapshot (bulan)",
    "poverty_line_effective_from": "Garis kemiskinan berlaku sejak",
    "poverty_line_age_months": "Umur garis kemiskinan (bulan)",
    "poverty_line_scope": "Cakupan garis kemiskinan",
    "household_rows_accepted": "Baris keluarga diterima",
    "household_rows_quarantined": "Baris keluarga dikarantina",
    "member_rows_accepted": "Baris anggota diterima",
    "member_rows_quarantined": "Baris anggota dikarantina",
    "households_flagged": "Keluarga dengan isian ditandai",
    "members_flagged": "Anggota dengan isian ditandai",
    "mpi_incomplete_population": "Penduduk dengan data IKM tidak lengkap",
}


def _label(column: str, table: str = "data_coverage") -> str:
    """A column's Indonesian label: analysis.LABELS or COVERAGE_LABELS, else the dictionary's
    Indonesian text (its first clause), else the column name."""
    if column in analysis.LABELS:
        return analysis.LABELS[column]
    if column in COVERAGE_LABELS:
        return COVERAGE_LABELS[column]
    entry = _dictionary_column(table, column)
    text = str(getattr(entry, "id", "") or "")
    return re.split(r"[.;(:]", text)[0].strip() or column if text else column


def _value(value: object, column: str = "", table: str = "data_coverage") -> str:
    """A value the Indonesian way: fractions (dictionary unit) as percentages, numbers with
    separators, dates with month names, text as is."""
    entry = _dictionary_column(table, column) if column else None
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    if isinstance(value, int | float):
        if getattr(entry, "unit", "") == "fraction":
            return fmt.format_percent(value)
        number = float(value)
        return fmt.format_number(number, 0 if number == int(number) else 1)
    if hasattr(value, "year") and hasattr(value, "month"):
        return fmt.format_date(value) if hasattr(value, "day") else fmt.format_period(value)
    return str(value)


def tile_figures(data: ReportData) -> dict[str, dict]:
    """Kelurahan code -> name, kecamatan and formatted figures (the tile map's hover box)."""
    figures = {}
    for _, row in data.kelurahan.iterrows():
        figures[str(row["area_code"])] = {
            "name": str(row["area_name"]),
            "kecamatan": kecamatan_name(data, row.get("kecamatan_code")),
            "rows": [
                [label, formatter(row[column]) if not fmt.is_missing(row[column]) else "disensor"]
                for column, label, formatter in TILE_FIGURES
                if column in row.index
            ],
        }
    return figures


# ----------------------------------------------------------------------------------- tables


def table_html(
    table_id: str, caption: str, columns: Sequence[Column], frame: pd.DataFrame, bold_last=False
) -> str:
    """A sortable, filterable table (see ``SCRIPT``); columns absent from ``frame`` are left out."""
    present = [c for c in columns if c.name in frame.columns]
    head = "".join(
        f'<th scope="col" tabindex="0" aria-sort="none">{_e(c.header)}</th>' for c in present
    )
    body = []
    for position, (_, row) in enumerate(frame.iterrows()):
        fixed = ' class="total"' if bold_last and position == len(frame) - 1 else ""
        body.append(f"<tr{fixed}>" + "".join(c.cell(row[c.name]) for c in present) + "</tr>")
    return (
        f'<div class="table-tools"><label>Saring: <input type="search" data-filter="{table_id}" '
        f'placeholder="ketik nama…"></label> <span class="hint">Klik judul kolom untuk '
        f'mengurutkan.</span></div>\n<table id="{table_id}" class="sortable"><caption>'
        f"{_e(caption)}</caption><thead><tr>{head}</tr></thead><tbody>\n"
        + "\n".join(body)
        + "\n</tbody></table>"
    )


def kelurahan_frame(data: ReportData) -> pd.DataFrame:
    """Every kelurahan (code order) with its kecamatan's name."""
    frame = data.kelurahan.copy()
    frame["kecamatan_name"] = [kecamatan_name(data, c) for c in frame["kecamatan_code"]]
    return frame


def program_frame(data: ReportData) -> pd.DataFrame:
    """The city's program rows, most recipients first, with a ``PKH — name`` label."""
    city = data.reach[data.reach["area_level"] == "kota"].sort_values(
        ["recipient_households", "program"], ascending=[False, True]
    )
    city = city.copy()
    city["program_label"] = [
        f"{str(code).replace('_', '-')} · {name}"
        for code, name in zip(city["program"], city["program_name"], strict=True)
    ]
    return city


def coverage_table(data: ReportData) -> str:
    """The period's ``data_coverage`` rows (kelurahan, then kecamatan and city) as a sortable
    table, every column under its label; empty when the pack has no such table."""
    coverage = data.coverage
    if coverage is None or coverage.empty:
        return ""
    skip = {"period", "area_level", "area_code", "kecamatan_code", "snapshot"}
    columns = []
    for name in coverage.columns:
        if name in skip:
            continue
        values = coverage[name].dropna()
        if len(values) and hasattr(values.iloc[0], "toordinal"):  # dates
            columns.append(Column(name, _label(name), lambda v: _value(pd.Timestamp(v).date())))
        elif name == "area_name" or not pd.api.types.is_numeric_dtype(coverage[name]):
            columns.append(Column(name, _label(name)))
        else:
            columns.append(Column(name, _label(name), lambda v, c=name: _value(v, c)))
    order = {"kelurahan": 0, "kecamatan": 1, "kota": 2}
    frame = coverage.copy()
    if "area_level" in frame:
        frame = frame.assign(_order=frame["area_level"].map(order).fillna(3)).sort_values(
            ["_order", *(["area_code"] if "area_code" in frame else [])]
        )
    return table_html(
        "tabel-cakupan-data",
        f"Cakupan data {data.period_label}: dasar angka-angka di atas (tabel data_coverage).",
        columns,
        frame,
    )


def funding_frame(data: ReportData) -> pd.DataFrame:
    """The city's funding sources, largest amount first, with each one's share."""
    city = data.funding[data.funding["area_level"] == "kota"].sort_values(
        ["amount_idr", "funding_source"], ascending=[False, True]
    )
    city = city.copy()
    total = city["amount_idr"].sum()
    city["share"] = [analysis.share(v, total) for v in city["amount_idr"]]
    return city


# ------------------------------------------------------------------------------------- page

STYLE = """
:root { --ink: #1f2933; --muted: #5f6b7a; --line: #d9dee4; --brand: #1f5f99; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 "DejaVu Sans", "Segoe UI", Arial, sans-serif; color: var(--ink);
  background: var(--bg); }
header.top { background: var(--brand); color: white; padding: 18px 28px; }
header.top h1 { margin: 0; font-size: 26px; }
header.top p { margin: 4px 0 0; font-size: 16px; }
nav.toc { background: white; border-bottom: 1px solid var(--line); padding: 6px 28px;
  position: sticky; top: 0; z-index: 5; font-size: 13px; display: flex; flex-wrap: wrap;
  gap: 2px 16px; }
nav.toc a { color: var(--brand); text-decoration: none; white-space: nowrap; }
section { scroll-margin-top: 48px; }
main { padding: 12px 28px 40px; max-width: 1500px; margin: 0 auto; }
section { background: white; border: 1px solid var(--line); border-radius: 6px; margin: 18px 0;
  padding: 16px 20px; }
section h2 { margin: 0 0 10px; font-size: 20px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin-bottom: 12px; }
.card { flex: 1 1 200px; border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px;
  background: var(--bg); }
.card .label { font-size: 13px; color: var(--muted); }
.card .value { font-size: 28px; font-weight: bold; color: var(--brand); }
.card .note { font-size: 13px; color: var(--muted); }
.two { display: grid; grid-template-columns: minmax(0, 4fr) minmax(230px, 1fr); gap: 20px; }
@media (max-width: 900px) { .two { grid-template-columns: 1fr; } }
aside.notes { font-size: 13px; color: var(--ink); background: var(--bg); border-left: 3px solid
  var(--brand); padding: 8px 12px; align-self: start; }
aside.notes h3 { font-size: 14px; margin: 4px 0; }
aside.notes ul, .findings { padding-left: 18px; margin: 4px 0; }
aside.notes li { margin-bottom: 6px; }
svg.chart { width: 100%; height: auto; display: block; }
.tilemap svg.chart [id] { transition: opacity .1s; }
.tilemap svg.chart text, .tilemap svg.chart g[id*="-text_"] { pointer-events: none; }
.tilemap .tile { cursor: pointer; }
.tilemap .tile:hover, .tilemap .tile:focus, .tilemap .tile.active { opacity: .75; outline: none; }
#tile-tip { position: fixed; display: none; background: white; border: 1px solid var(--ink);
  border-radius: 4px; padding: 8px 10px; font-size: 13px; box-shadow: 0 2px 8px rgba(0,0,0,.25);
  pointer-events: none; z-index: 10; min-width: 230px; }
#tile-tip h4 { margin: 0 0 4px; font-size: 15px; }
#tile-tip table { border-collapse: collapse; width: 100%; }
#tile-tip td { padding: 1px 4px; border: 0; }
#tile-tip td:last-child { text-align: right; font-weight: bold; }
table.sortable { border-collapse: collapse; width: 100%; font-size: 13.5px; margin-top: 6px; }
table.sortable caption { text-align: left; color: var(--muted); font-size: 13px; padding: 4px 0; }
table.sortable th, table.sortable td { border-bottom: 1px solid var(--line); padding: 4px 8px; }
table.sortable th { background: var(--bg); text-align: left; cursor: pointer; user-select: none;
  position: relative; padding-right: 18px; }
table.sortable th[aria-sort="ascending"]::after { content: "▲"; position: absolute; right: 4px;
  font-size: 10px; }
table.sortable th[aria-sort="descending"]::after { content: "▼"; position: absolute; right: 4px;
  font-size: 10px; }
table.sortable td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.sortable tr.total td { font-weight: bold; border-top: 2px solid var(--ink); }
table.sortable tbody tr:hover { background: #eef4fa; }
.table-tools { font-size: 13px; color: var(--muted); }
.table-tools input { font: inherit; padding: 3px 6px; width: 220px; }
footer { color: var(--muted); font-size: 12px; padding: 0 28px 30px; max-width: 1500px;
  margin: 0 auto; }
@media print { nav.toc { display: none; } section { break-inside: avoid; } }
"""

SCRIPT = r"""
(function () {
  "use strict";
  function cellValue(row, index) {
    var cell = row.cells[index];
    if (!cell) { return ""; }
    return cell.hasAttribute("data-v") ? parseFloat(cell.getAttribute("data-v")) : null;
  }
  function sortTable(table, index, header) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var fixed = rows.filter(function (r) { return r.classList.contains("total"); });
    rows = rows.filter(function (r) { return !r.classList.contains("total"); });
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var numeric = rows.some(function (r) { return r.cells[index].hasAttribute("data-v"); });
    rows.sort(function (a, b) {
      var result;
      if (numeric) {
        var x = cellValue(a, index), y = cellValue(b, index);
        if (x === null && y === null) { result = 0; }
        else if (x === null) { return 1; }
        else if (y === null) { return -1; }
        else { result = x - y; }
      } else {
        result = a.cells[index].textContent.localeCompare(b.cells[index].textContent, "id");
      }
      return ascending ? result : -result;
    });
    Array.prototype.forEach.call(header.parentNode.children, function (th) {
      th.setAttribute("aria-sort", "none");
    });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    rows.concat(fixed).forEach(function (r) { body.appendChild(r); });
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("thead th").forEach(function (th, index) {
      th.addEventListener("click", function () { sortTable(table, index, th); });
      th.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault(); sortTable(table, index, th);
        }
      });
    });
  });
  document.querySelectorAll("input[data-filter]").forEach(function (input) {
    var table = document.getElementById(input.getAttribute("data-filter"));
    input.addEventListener("input", function () {
      var needle = input.value.trim().toLowerCase();
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        var match = !needle || row.textContent.toLowerCase().indexOf(needle) >= 0;
        row.hidden = !match;
      });
    });
  });
  var data = JSON.parse(document.getElementById("tile-data").textContent);
  var prefix = document.getElementById("tile-data").getAttribute("data-prefix");
  var tip = document.getElementById("tile-tip");
  function show(code, x, y) {
    var item = data[code];
    if (!item) { return; }
    var html = "<h4></h4><div class='kec'></div><table></table>";
    tip.innerHTML = html;
    tip.querySelector("h4").textContent = item.name;
    tip.querySelector(".kec").textContent = item.kecamatan ? "Kec. " + item.kecamatan : "";
    var table = tip.querySelector("table");
    item.rows.forEach(function (pair) {
      var row = table.insertRow();
      row.insertCell().textContent = pair[0];
      row.insertCell().textContent = pair[1];
    });
    tip.style.display = "block";
    var left = Math.min(x + 14, window.innerWidth - tip.offsetWidth - 8);
    var top = Math.min(y + 14, window.innerHeight - tip.offsetHeight - 8);
    tip.style.left = Math.max(left, 4) + "px";
    tip.style.top = Math.max(top, 4) + "px";
    tip.setAttribute("data-code", code);
  }
  function hide() { tip.style.display = "none"; tip.removeAttribute("data-code"); }
  Object.keys(data).forEach(function (code) {
    var tile = document.getElementById(prefix + code);
    if (!tile) { return; }
    tile.classList.add("tile");
    tile.setAttribute("tabindex", "0");
    tile.setAttribute("data-code", code);
    tile.setAttribute("aria-label", data[code].name);
    tile.addEventListener("mousemove", function (e) { show(code, e.clientX, e.clientY); });
    tile.addEventListener("mouseleave", hide);
    tile.addEventListener("focus", function () {
      var box = tile.getBoundingClientRect();
      show(code, box.right, box.top);
    });
    tile.addEventListener("blur", hide);
  });
})();
"""


def _notes(title: str, items: Iterable[str]) -> str:
    """An ``<aside>`` of notes beside a figure."""
    lis = "".join(f"<li>{_e(item)}</li>" for item in items)
    return f'<aside class="notes"><h3>{_e(title)}</h3><ul>{lis}</ul></aside>'


def chart_notes(data: ReportData, chart: ChartSpec) -> list[str]:
    """The notes beside a chart: the line and coverage notes for poverty figures, the reach
    window for program figures, the funding note for sources."""
    number = chart.key[:2]
    if number in ("01", "02", "03", "04", "09"):
        return [*line_notes(data)[:-1], *coverage_notes(data)]
    if number in ("05", "06", "07"):
        return [
            f"Program dalam 12 bulan: {data.window_label}; sasaran = rumah tangga desil sasaran.",
            *coverage_notes(data),
        ]
    return [
        f"Bantuan tersalurkan {data.window_label}, per sumber dana.",
        *coverage_notes(data),
    ]


def render(data: ReportData, charts: Sequence[ChartSpec]) -> str:
    """The whole page as one HTML string."""
    city_name, period = data.city_name, data.period_label
    sections, toc = [], [("ringkasan", "1. Ringkasan")]
    cards = "".join(
        f'<div class="card"><div class="label">{_e(label)}</div>'
        f'<div class="value" id="{ident}">{_e(value)}</div><div class="note">{_e(note)}</div></div>'
        for ident, label, value, note in key_figures(data)
    )
    findings = "".join(f"<li>{_e(line)}</li>" for line in headlines(data))
    guide = "".join(f"<li>{_e(line)}</li>" for line in READING_GUIDE)
    sections.append(
        f'<section id="ringkasan"><h2>Ringkasan (berbasis data registrasi)</h2>'
        f'<div class="cards">{cards}</div><div class="two"><div><ul class="findings">{findings}'
        f'</ul><h3>Cara membaca</h3><ul class="findings">{guide}</ul></div>'
        f"{_notes('Catatan data', [*line_notes(data), *coverage_notes(data)])}</div></section>"
    )
    tile_prefix = ""
    for number, chart in enumerate(charts, start=1):
        prefix = f"c{number}"
        extra = ""
        if chart.key == TILE_MAP_KEY:
            tile_prefix = f"{prefix}-"
            extra = " tilemap"
            hint = (
                '<p class="hint">Arahkan kursor (atau tab) ke petak kelurahan untuk melihat '
                "angkanya.</p>"
            )
        else:
            hint = ""
        sections.append(
            f'<section id="{chart.key}" class="chart-page{extra}"><h2>{number + 1}. '
            f'{_e(chart.title)}</h2>{hint}<div class="two"><figure style="margin:0">'
            f"{svg_of(chart.figure, prefix)}<figcaption hidden>{_e(chart.subtitle)}"
            f"</figcaption></figure>{_notes('Catatan', chart_notes(data, chart))}</div></section>"
        )
        toc.append((chart.key, f"{number + 1}. {SHORT_NAMES.get(chart.key[:2], chart.title)}"))
    kelurahan = kelurahan_frame(data)
    city_row = data.poverty[data.poverty["area_level"] == "kota"].copy()
    city_row["kecamatan_name"] = ""
    tables = pd.concat([kelurahan, city_row], ignore_index=True)
    sections.append(
        '<section id="tabel-kelurahan"><h2>Tabel: kemiskinan per kelurahan</h2>'
        + table_html(
            "tabel-kelurahan-data",
            f"{len(kelurahan)} kelurahan, {city_name}, {period}; baris terakhir: kota.",
            KELURAHAN_COLUMNS,
            tables,
            bold_last=True,
        )
        + "</section>"
    )
    toc.append(("tabel-kelurahan", "Tabel kelurahan"))
    sections.append(
        '<section id="tabel-program"><h2>Tabel: jangkauan program (kota)</h2>'
        + table_html(
            "tabel-program-data",
            f"{city_name}, rumah tangga penerima dalam {data.window_label}.",
            PROGRAM_COLUMNS,
            program_frame(data),
        )
        + "</section>"
    )
    toc.append(("tabel-program", "Tabel program"))
    funding = funding_frame(data)
    if not funding.empty:
        sections.append(
            '<section id="tabel-dana"><h2>Tabel: sumber pendanaan (kota)</h2>'
            + table_html(
                "tabel-dana-data",
                f"{city_name}, bantuan tersalurkan {data.window_label}.",
                FUNDING_COLUMNS,
                funding,
            )
            + "</section>"
        )
        toc.append(("tabel-dana", "Tabel sumber dana"))
    coverage = coverage_table(data)
    if coverage:
        sections.append(
            '<section id="tabel-cakupan"><h2>Tabel: cakupan data</h2>' + coverage + "</section>"
        )
        toc.append(("tabel-cakupan", "Tabel cakupan data"))
    nav = "".join(f'<a href="#{key}">{_e(title)}</a>' for key, title in toc)
    source = (
        f"Sumber: {PACK_DESCRIPTIONS.get(data.pack_name, data.pack_name)} hasil pipeline tkpk; "
        f"data registrasi snapshot {data.snapshot_label}; program dalam {data.window_label}; "
        f"garis kemiskinan {data.poverty_line_label}. Titik memisahkan ribuan, koma memisahkan "
        "desimal (1.234 jiwa; 6,7%). Berkas ini berdiri sendiri: tidak memuat apa pun dari "
        "internet."
    )
    tiles = json.dumps(tile_figures(data), ensure_ascii=False).replace("</", "<\\/")
    title = f"Bahan Rapat Koordinasi TKPK {city_name} · {period}"
    return (
        '<!doctype html>\n<html lang="id">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
        f"<title>{_e(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f'<header class="top"><h1>Bahan Rapat Koordinasi TKPK</h1><p>Kemiskinan dan jangkauan '
        f"program · {_e(city_name)} · periode {_e(period)}</p></header>\n"
        f'<nav class="toc" aria-label="Isi">{nav}</nav>\n<main>\n'
        + "\n".join(sections)
        + f"\n</main>\n<footer>{_e(source)}</footer>\n"
        f'<div id="tile-tip" role="tooltip"></div>\n'
        f'<script type="application/json" id="tile-data" data-prefix="{tile_prefix}">{tiles}'
        f"</script>\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )


def write_html(data: ReportData, charts: Sequence[ChartSpec], folder: Path) -> Path:
    """Write the HTML briefing into ``folder``; returns its path."""
    path = folder / HTML_NAME.format(period=fmt.period_key(data.period))
    with mpl.rc_context(style.RC):
        text = render(data, charts)
    path.write_text(text, encoding="utf-8")
    return path
