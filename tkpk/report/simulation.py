"""Pages of ``tkpk simulate``: the comparison chart (PNG) and the one-page summary (PDF), in
Bahasa Indonesia, drawn from the region's rows of the simulation results."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from tkpk import formatting as fmt
from tkpk.report import style

RULE_LABELS = {
    "flat": "rata per keluarga",
    "per_capita": "rata per jiwa",
    "lift_closest": "angkat yang terdekat ke garis",
    "fill_bottom": "isi dari yang termiskin",
}
ELIGIBLE_LABELS = {
    "desil_max": "desil ≤ {desil_max}",
    "poor": "keluarga miskin",
    "extreme": "keluarga miskin ekstrem",
    "mpi_poor": "miskin multidimensi",
    "unreached_poor": "miskin tanpa program",
}
NOTE = (
    "Simulasi statis: bantuan dianggap menambah pengeluaran satu banding satu, hal lain tidak "
    "berubah. Angka berbasis data registrasi (DTSEN), bukan angka resmi BPS."
)


def region_rows(results: pd.DataFrame) -> pd.DataFrame:
    """One row per scenario: the region's own row (the area with the shortest code)."""
    shortest = results["area_code"].str.len().min()
    return results[results["area_code"].str.len() == shortest].drop_duplicates("scenario")


def _describe(scenario) -> str:  # noqa: ANN001  (a tkpk.simulate.Scenario)
    """``Rp1,5 miliar/bulan, keluarga miskin, isi dari yang termiskin``."""
    eligible = ELIGIBLE_LABELS[scenario.eligible].format(desil_max=scenario.desil_max)
    where = f", {len(scenario.kelurahan)} kelurahan" if scenario.kelurahan else ""
    return (
        f"{fmt.format_rupiah_compact(scenario.budget_idr_month)}/bulan; {eligible}{where}; "
        f"{RULE_LABELS[scenario.rule]}"
    )


def _before_after(ax, rows: pd.DataFrame, figure: str, title: str) -> None:  # noqa: ANN001
    """Paired bars: the figure before and after each scenario."""
    positions = range(len(rows))
    ax.barh([p - 0.2 for p in positions], rows[f"{figure}_before"], 0.4,
            color=style.REGISTRY_LIGHT, label="sebelum")
    ax.barh([p + 0.2 for p in positions], rows[f"{figure}_after"], 0.4,
            color=style.REGISTRY, label="sesudah")
    ax.set_yticks(list(positions), [style.wrap(n, 22) for n in rows["scenario"]])
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(style.percent_axis(1))
    ax.set_title(title, loc="left")
    ax.legend(loc="lower right", bbox_to_anchor=(1, 1.0), ncol=2, fontsize=7)


def _single(ax, rows: pd.DataFrame, column: str, title: str, formatter) -> None:  # noqa: ANN001
    """One bar per scenario (missing values left empty)."""
    values = rows[column].astype(float)
    positions = range(len(rows))
    ax.barh(list(positions), values.fillna(0), 0.6, color=style.CATEGORICAL[1])
    ax.set_yticks(list(positions), [style.wrap(n, 22) for n in rows["scenario"]])
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(formatter)
    style.few_ticks(ax.xaxis, 4)
    ax.set_title(title, loc="left")
    for position, value in zip(positions, values, strict=True):
        if pd.isna(value):
            ax.text(0, position, " tidak ada", va="center", fontsize=7, color=style.MUTED)


@style.styled
def comparison_figure(results: pd.DataFrame) -> Figure:
    """Four panels: P0 and P1 before/after, cost per person lifted, leakage (region rows)."""
    rows = region_rows(results)
    figure = style.new_figure()
    panels = figure.subplots(2, 2)
    _before_after(panels[0][0], rows, "p0", "P0 (tingkat kemiskinan) sebelum dan sesudah")
    _before_after(panels[0][1], rows, "p1", "P1 (kedalaman) sebelum dan sesudah")
    _single(panels[1][0], rows, "cost_per_person_lifted_idr_month",
            "Biaya per jiwa yang keluar dari kemiskinan (Rp/bulan)", style.rupiah_axis())
    _single(panels[1][1], rows, "leakage", "Kebocoran (bagian anggaran ke bukan miskin)",
            style.percent_axis(0))
    figure.suptitle("Perbandingan skenario anggaran", fontsize=14, fontweight="bold", x=0.04,
                    ha="left")
    style.caption(figure, NOTE)
    return figure


@style.styled
def summary_page(results: pd.DataFrame, scenarios: list) -> Figure:
    """The one-page summary for the rakor: each scenario in words, then the comparison table."""
    rows = region_rows(results).set_index("scenario")
    period = fmt.format_period(results["period"].iloc[0]) if len(results) else ""
    area = rows["area_name"].iloc[0] if len(rows) else ""
    figure = style.new_page(
        "Simulasi anggaran: apa yang bisa dicapai?",
        f"{area}, data registrasi periode {period}. Setiap skenario: anggaran per bulan, "
        "kelompok yang berhak, dan cara pembagian.",
        NOTE,
    )
    header = ["Skenario", "P0 sebelum → sesudah", "P1 sebelum → sesudah", "Jiwa keluar",
              "Terpakai/bulan", "Biaya per jiwa", "Kebocoran", "Kesenjangan tertutup"]
    body = []
    for scenario in scenarios:
        row = rows.loc[scenario.name]
        body.append([
            style.wrap(f"{scenario.name}: {_describe(scenario)}", 48),
            f"{fmt.format_percent(row['p0_before'], 2)} → {fmt.format_percent(row['p0_after'], 2)}",
            f"{fmt.format_percent(row['p1_before'], 2)} → {fmt.format_percent(row['p1_after'], 2)}",
            fmt.format_number(row["persons_lifted"]),
            fmt.format_rupiah_compact(row["spent_idr_month"]),
            fmt.format_rupiah_compact(row["cost_per_person_lifted_idr_month"])
            if not pd.isna(row["cost_per_person_lifted_idr_month"]) else "–",
            fmt.format_percent(row["leakage"]) if not pd.isna(row["leakage"]) else "–",
            fmt.format_percent(row["gap_closed"]) if not pd.isna(row["gap_closed"]) else "–",
        ])
    ax = figure.add_axes(style.BODY)
    ax.axis("off")
    table = ax.table(cellText=body, colLabels=header, loc="upper left", cellLoc="left",
                     colWidths=[0.3, 0.12, 0.12, 0.07, 0.1, 0.1, 0.08, 0.11])
    table.auto_set_font_size(False)
    table.set_fontsize(7.5)
    table.scale(1, 2.6)
    if len(rows):
        end = rows["budget_to_end_extreme_poverty_idr_month"].iloc[0]
        if not pd.isna(end):
            figure.text(
                0.07, 0.12,
                f"Anggaran minimum untuk menghapus kemiskinan ekstrem bila sasaran sempurna: "
                f"{fmt.format_rupiah_compact(end)} per bulan.",
                fontsize=9, color=style.INK,
            )
    return figure


def write_simulation_pages(
    results: pd.DataFrame, scenarios: list, png: Path, pdf: Path
) -> None:
    """Write the comparison chart (PNG) and the one-page summary (PDF)."""
    chart = comparison_figure(results)
    chart.savefig(png, dpi=style.PNG_DPI)
    style.close(chart)
    page = summary_page(results, scenarios)
    with PdfPages(pdf, metadata={"Title": "Simulasi anggaran TKPK", "CreationDate": None}) as out:
        out.savefig(page)
    style.close(page)
