"""``tkpk report``: the briefing pack for the task force's coordination meeting (rakor).

Reads one published pack (never the warehouse) and writes ``report/`` under the output folder:
one PDF (A4 landscape: a cover page with the headline figures and a reading guide, then one page
per chart) plus every chart as a PNG and a plain-text table of contents. The folder is written
next to the packs and swapped in by rename, so a reader never sees half a report.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from tkpk import analysis
from tkpk import formatting as fmt
from tkpk.config import Settings
from tkpk.report import style
from tkpk.report.charts import ChartSpec, build_charts
from tkpk.report.data import PACK_DESCRIPTIONS, ReportData, load_report_data

PDF_NAME = "bahan_rakor_tkpk_{period}.pdf"
CONTENTS_NAME = "daftar_isi.txt"
COVER_PNG = "00_sampul.png"


@dataclass(frozen=True)
class Report:
    """A built report: the folder, the PDF, the PNGs (cover first) and the charts' titles."""

    folder: Path
    pdf: Path
    pngs: tuple[Path, ...]
    titles: tuple[str, ...]
    pages: int
    #: The self-contained HTML briefing (``write_report(..., html=True)``).
    html: Path | None = None


def _top(frame, column: str, n: int = 3, percent: bool = True) -> str:  # noqa: ANN001
    """``Poncol (21,5%), Medono (20,7%), ...``: the ``n`` highest rows of ``column``."""
    rows = (
        frame.dropna(subset=[column])
        .sort_values([column, "area_name"], ascending=[False, True])
        .head(n)
    )
    values = [fmt.format_percent(v) if percent else fmt.format_number(v) for v in rows[column]]
    return ", ".join(f"{name} ({v})" for name, v in zip(rows["area_name"], values, strict=True))



def _program_label(row) -> str:
    """A program as the task force knows it: its catalog name and code (``PBI-JK``)."""
    return f"{row['program_name']} ({str(row['program']).replace('_', '-')})"

def headlines(data: ReportData) -> list[str]:
    """The cover page's key findings, in Bahasa Indonesia, computed from the pack."""
    city, kelurahan = data.city, data.kelurahan
    lines = [
        f"Tingkat kemiskinan berbasis data registrasi: {fmt.format_percent(city['p0'])} "
        f"({fmt.format_number(city['poor_population'])} dari "
        f"{fmt.format_number(city['population'])} jiwa)"
        + (
            f"; angka resmi BPS ({data.official['source']}): "
            f"{fmt.format_percent(data.official['p0'])}."
            if data.official
            else "."
        ),
    ]
    previous = data.poverty_trend[
        (data.poverty_trend["area_level"] == "kota") & (data.poverty_trend["period"] < data.period)
    ].sort_values("period")
    if not previous.empty:
        before = previous.iloc[-1]
        change = city["p0"] - before["p0"]
        direction = "naik" if change > 0 else "turun" if change < 0 else "tetap"
        lines.append(
            f"Dibanding {fmt.format_period(before['period'])}: {direction} "
            f"{fmt.format_points(abs(change)).lstrip('+')} (dari "
            f"{fmt.format_percent(before['p0'])})."
        )
    gap = fmt.format_rupiah_compact(city["poverty_gap_idr_month"])
    lines += [
        f"Tingkat kemiskinan tertinggi: {_top(kelurahan, 'p0')}.",
        f"Penduduk miskin terbanyak: {_top(kelurahan, 'poor_population', percent=False)} jiwa.",
        f"Kedalaman (P1) {fmt.format_percent(city['p1'], 2)}, keparahan (P2) "
        f"{fmt.format_percent(city['p2'], 2)}; butuh {gap} per bulan untuk mengangkat semua "
        "penduduk miskin ke garis kemiskinan bila bantuan tepat sasaran.",
        f"Miskin multidimensi (IKM): {fmt.format_percent(city['mpi_h'])} penduduk.",
    ]
    unreached, poor = city["poor_households_unreached"], city["poor_households"]
    lines.append(
        f"RT miskin yang belum menerima program apa pun: {fmt.format_number(unreached)} dari "
        f"{fmt.format_number(poor)} ({fmt.format_percent(analysis.share(unreached, poor))}); "
        f"terbanyak di {_top(kelurahan, 'poor_households_unreached', percent=False)}."
    )
    programs = data.reach[data.reach["area_level"] == "kota"]
    best = programs.dropna(subset=["coverage_target"]).sort_values(
        ["coverage_target", "program"], ascending=[False, True]
    )
    leak = programs.dropna(subset=["inclusion_error"]).sort_values(
        ["inclusion_error", "program"], ascending=[False, True]
    )
    if not best.empty and not leak.empty:
        lines.append(
            f"Cakupan sasaran tertinggi: {_program_label(best.iloc[0])} "
            f"({fmt.format_percent(best.iloc[0]['coverage_target'])}); penerima bukan sasaran "
            f"terbanyak: {_program_label(leak.iloc[0])} "
            f"({fmt.format_percent(leak.iloc[0]['inclusion_error'])} dari penerimanya)."
        )
    funding = data.funding[data.funding["area_level"] == "kota"].sort_values(
        ["amount_idr", "funding_source"], ascending=[False, True]
    )
    if not funding.empty:
        total = funding["amount_idr"].sum()
        first = funding.iloc[0]
        lines.append(
            f"Bantuan tersalurkan {data.window_label}: {fmt.format_rupiah_compact(total)}; "
            f"terbesar dari {first['funding_source']} "
            f"({fmt.format_percent(analysis.share(first['amount_idr'], total))})."
        )
    return lines


READING_GUIDE = (
    "P0 (tingkat kemiskinan): persentase penduduk yang pengeluaran per kapitanya di bawah garis "
    "kemiskinan.",
    "P1 (kedalaman): rata-rata seberapa jauh pengeluaran penduduk miskin di bawah garis; makin "
    "besar, makin dalam kemiskinannya.",
    "P2 (keparahan): memberi bobot lebih pada yang paling miskin; makin besar, makin timpang di "
    "antara penduduk miskin.",
    "Cakupan sasaran: persentase rumah tangga sasaran (desil sasaran program) yang menerima "
    "program dalam 12 bulan terakhir. Exclusion error = sasaran yang terlewat; inclusion error = "
    "penerima yang bukan sasaran.",
    "RT miskin tanpa program: rumah tangga miskin yang tidak tercatat menerima satu pun program "
    "(termasuk PBI-JK dan bantuan natura) dalam 12 bulan terakhir.",
    "Semua angka dihitung dari data registrasi (bukan survei), sehingga berbeda dengan angka "
    "resmi BPS dari Susenas. Titik memisahkan ribuan, koma memisahkan desimal: 1.234 jiwa; 6,7%.",
    "Seberapa lengkap datanya: tabel data_coverage memuat per wilayah dan periode baris keluarga "
    "dan anggota yang diterima dan dikarantina, umur potret registri dan umur garis kemiskinan; "
    "periksa sebelum membaca perubahan angka sebagai perubahan kemiskinan.",
)


@style.styled
def cover_page(data: ReportData, charts: list[ChartSpec]) -> Figure:
    """Title, period, source, key findings, reading guide and table of contents."""
    figure = style.new_figure()
    band = figure.add_axes((0, 0.8, 1, 0.2))
    band.axis("off")
    band.add_patch(Rectangle((0, 0), 1, 1, color=style.REGISTRY))
    figure.text(
        0.04,
        0.93,
        "Bahan Rapat Koordinasi TKPK",
        fontsize=24,
        fontweight="bold",
        color="white",
        va="center",
    )
    figure.text(
        0.04,
        0.865,
        f"Kemiskinan dan jangkauan program · {data.city_name} · periode {data.period_label}",
        fontsize=14,
        color="white",
        va="center",
    )
    figure.text(
        0.04, 0.77, "Ringkasan (berbasis data registrasi)", fontsize=13, fontweight="bold", va="top"
    )
    y = 0.725
    for line in headlines(data):
        text = style.wrap(line, 74)
        figure.text(0.045, y, "•", fontsize=9.5, va="top")
        figure.text(0.06, y, text, fontsize=9.5, va="top", linespacing=1.3)
        y -= 0.0215 * (text.count("\n") + 1) + 0.014
    figure.text(0.58, 0.77, "Cara membaca", fontsize=13, fontweight="bold", va="top")
    y = 0.725
    for line in READING_GUIDE:
        text = style.wrap(line, 64)
        figure.text(0.585, y, "•", fontsize=8.5, va="top")
        figure.text(0.60, y, text, fontsize=8.5, va="top", linespacing=1.3, color=style.INK)
        y -= 0.0195 * (text.count("\n") + 1) + 0.011
    contents = [f"{i + 2}. {chart.title}" for i, chart in enumerate(charts)]
    figure.text(0.585, y - 0.01, "Isi (halaman)", fontsize=11, fontweight="bold", va="top")
    figure.text(0.60, y - 0.045, "\n".join(contents), fontsize=7.8, va="top", linespacing=1.45)
    quality = data.quality
    quality_text = ""
    if quality.get("rows_read"):
        quality_text = (
            f" Kualitas data: {fmt.format_number(quality['accepted'])} dari "
            f"{fmt.format_number(quality['rows_read'])} baris data mentah diterima "
            f"({fmt.format_percent(analysis.share(quality['accepted'], quality['rows_read']))}); "
            f"{fmt.format_number(quality['quarantined'])} dikarantina dengan alasan, "
            f"{fmt.format_number(quality['duplicate'])} duplikat."
        )
    source = (
        f"Sumber: {PACK_DESCRIPTIONS.get(data.pack_name, data.pack_name)} hasil pipeline tkpk; "
        f"data registrasi snapshot {data.snapshot_label}; program dalam {data.window_label}; "
        f"garis kemiskinan {data.poverty_line_label}.{quality_text}"
    )
    figure.text(
        0.04,
        0.035,
        style.wrap(source, 190),
        fontsize=8,
        color=style.MUTED,
        va="bottom",
        linespacing=1.4,
    )
    return figure


def _publish(staging: Path, target: Path) -> None:
    """Replace ``target`` with ``staging`` by renames (the old report is removed afterwards)."""
    old = target.with_name(f".{target.name}-old-{os.getpid()}")
    if target.exists():
        target.rename(old)
    staging.rename(target)
    if old.exists():
        shutil.rmtree(old)


def write_report(data: ReportData, folder: Path, html: bool = False) -> Report:
    """Draw the cover and every chart into ``folder``: the PDF, one PNG per chart, a contents
    file, and with ``html`` the one-file HTML briefing (``tkpk.report.html``, the same charts as
    inline SVG). Output is deterministic (no creation date in the PDF)."""
    folder.mkdir(parents=True, exist_ok=True)
    charts = build_charts(data)
    cover = cover_page(data, charts)
    pdf_path = folder / PDF_NAME.format(period=fmt.period_key(data.period))
    metadata = {
        "Title": f"Bahan Rapat Koordinasi TKPK {data.city_name} {data.period_label}",
        "Author": f"TKPK {data.city_name}",
        "Subject": "Kemiskinan dan jangkauan program, berbasis data registrasi",
        "Creator": "tkpk report",
        "CreationDate": None,
        "ModDate": None,
    }
    pngs = [folder / COVER_PNG]
    html_path = None
    try:
        cover.savefig(pngs[0], dpi=style.PNG_DPI, metadata={"Software": None})
        with PdfPages(pdf_path, metadata=metadata) as pdf:
            pdf.savefig(cover)
            for chart in charts:
                pdf.savefig(chart.figure)
                png = folder / f"{chart.key}.png"
                chart.figure.savefig(png, dpi=style.PNG_DPI, metadata={"Software": None})
                pngs.append(png)
            pages = pdf.get_pagecount()
        if html:
            from tkpk.report.html import write_html

            html_path = write_html(data, charts, folder)
    finally:
        style.close(cover)
        for chart in charts:
            style.close(chart.figure)
    lines = [
        f"Bahan Rapat Koordinasi TKPK {data.city_name}, periode {data.period_label}",
        f"PDF: {pdf_path.name} ({pages} halaman)",
        "",
        f"{COVER_PNG}: sampul, ringkasan dan cara membaca",
        *[f"{png.name}: {chart.title}" for png, chart in zip(pngs[1:], charts, strict=True)],
    ]
    if html_path is not None:
        lines.append(f"{html_path.name}: versi HTML satu berkas (buka di peramban, tanpa internet)")
    (folder / CONTENTS_NAME).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Report(
        folder, pdf_path, tuple(pngs), tuple(c.title for c in charts), pages, html_path
    )


def build_report(
    settings: Settings,
    period: date | str | None = None,
    pack: str | None = None,
    boundaries: Path | None = None,
    html: bool = False,
) -> Path:
    """Build the briefing pack of ``period`` (``YYYY-MM``; default: the latest) from the published
    ``pack`` (default: restricted if present, else bappeda) and publish it as
    ``settings.report_dir``. A boundary GeoJSON turns the tile map into a choropleth; ``html``
    adds the one-file HTML briefing. Returns the report folder."""
    boundaries = boundaries or getattr(settings, "boundaries_geojson", None)
    with analysis.open_pack(settings, pack) as opened:
        data = load_report_data(opened, period, settings.region, boundaries)
    target = settings.report_dir
    staging = target.with_name(f".{target.name}-staging-{os.getpid()}")
    if staging.exists():
        shutil.rmtree(staging)
    try:
        write_report(data, staging, html=html)
        _publish(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return target
