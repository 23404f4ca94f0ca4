"""Decision pages of the briefing pack (Bahasa Indonesia): which groups are poorest in which
kelurahan (``poverty_profile``), and who moved into and out of poverty (``poverty_transitions``)
with the program receipt beside the exits (descriptive, not causal).

Both pages are drawn only when the pack holds their table (older packs do not)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tkpk import formatting as fmt
from tkpk.report import style
from tkpk.report.data import ReportData

#: Profile groups in page order with their Indonesian labels.
GROUP_LABELS = {
    "head_female": "Kepala keluarga perempuan",
    "head_60plus": "Kepala keluarga 60+",
    "member_disabled": "Ada anggota disabilitas",
    "member_70plus": "Ada anggota 70+",
    "children_0_17": "Anak 0–17",
    "children_0_6": "Anak 0–6",
    "elderly_60plus": "Lansia 60+",
    "persons_disabled": "Penyandang disabilitas",
}
NOT_CAUSAL = (
    "Tabulasi silang deskriptif: menerima program bersamaan dengan keluar dari kemiskinan BUKAN "
    "bukti bahwa program menjadi penyebabnya (perubahan pengeluaran, pendataan ulang, dan "
    "sasaran program juga berpengaruh)."
)


def profile_matrix(profile: pd.DataFrame) -> pd.DataFrame:
    """Kelurahan x group matrix of P0 (kelurahan rows of one period, names as index)."""
    rows = profile[profile["area_level"] == "kelurahan"]
    matrix = rows.pivot_table(index="area_name", columns="profile_group", values="p0",
                              aggfunc="first", dropna=False)
    return matrix.reindex(columns=[g for g in GROUP_LABELS if g in matrix.columns])


def poorest_groups(profile: pd.DataFrame, n: int = 3) -> list[str]:
    """``Medono: Anak 0–6 (45,0%)`` for the ``n`` kelurahan × group cells with the highest P0
    among groups of at least 10 persons."""
    rows = profile[(profile["area_level"] == "kelurahan") & (profile["population"] >= 10)]
    rows = rows.dropna(subset=["p0"]).sort_values(["p0", "area_name"], ascending=[False, True])
    return [
        f"{r.area_name}: {GROUP_LABELS.get(r.profile_group, r.profile_group)} "
        f"({fmt.format_percent(r.p0)})"
        for r in rows.head(n).itertuples()
    ]


@style.styled
def profile_page(data: ReportData, profile: pd.DataFrame):  # noqa: ANN201  (a ChartSpec)
    """Heat map: P0 of each group in each kelurahan (grey: no one of the group / suppressed)."""
    from tkpk.report.charts import ChartSpec

    matrix = profile_matrix(profile)
    title = "Kelompok mana yang paling miskin, di kelurahan mana?"
    subtitle = (
        f"{data.city_name} · {data.period_label} · tingkat kemiskinan (P0) tiap kelompok sasaran "
        "program per kelurahan; kelompok keluarga: seluruh anggota keluarga dihitung"
    )
    footer = data.source("poverty_profile")
    figure = style.new_page(title, subtitle, footer)
    ax = figure.add_axes((0.2, 0.1, 0.62, 0.62))
    values = matrix.to_numpy(dtype=float)
    masked = np.ma.masked_invalid(values)
    cmap = style.mpl.colormaps[style.SEQUENTIAL].with_extremes(bad=style.MISSING_COLOUR)
    image = ax.imshow(masked, aspect="auto", cmap=cmap, vmin=0,
                      vmax=max(float(np.nanmax(values)) if np.isfinite(values).any() else 0, 0.01))
    ax.set_xticks(range(len(matrix.columns)),
                  [style.wrap(GROUP_LABELS[g], 14) for g in matrix.columns], fontsize=7.5)
    ax.set_yticks(range(len(matrix.index)), list(matrix.index), fontsize=7)
    ax.xaxis.tick_top()
    if values.size and len(matrix.index) <= 40:
        for (i, j), value in np.ndenumerate(values):
            if np.isfinite(value):
                ax.text(j, i, fmt.format_percent(value, 0), ha="center", va="center",
                        fontsize=6, color="white" if value > 0.6 * np.nanmax(values) else "black")
    bar = figure.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    bar.ax.yaxis.set_major_formatter(style.percent_axis(0))
    top = poorest_groups(profile)
    if top:
        figure.text(0.04, 0.84, style.wrap("Tertinggi: " + "; ".join(top), 150), fontsize=9,
                    fontweight="bold", color=style.ALERT, va="top")
    return ChartSpec("10_profil_kelompok", title, subtitle, footer, figure,
                     labels=[GROUP_LABELS[g] for g in matrix.columns] + list(matrix.index),
                     details={"top": top})


def latest_pair(transitions: pd.DataFrame, snapshot) -> pd.DataFrame:  # noqa: ANN001
    """Rows of the latest snapshot pair whose second snapshot is at or before ``snapshot``."""
    pairs = transitions[pd.to_datetime(transitions["snapshot_to"]) <= pd.Timestamp(snapshot)]
    if pairs.empty:
        return pairs
    latest = pairs["snapshot_from"].max()
    return pairs[pairs["snapshot_from"] == latest]


def receipt_crosstab(city: pd.Series) -> pd.DataFrame:
    """2 x 2 households of the city row: exited / stayed poor x received a program / did not."""
    exited, stayed = city["exited_poverty_households"], city["stayed_poor_households"]
    exited_r = city["exited_poverty_recipient_households"]
    stayed_r = city["stayed_poor_recipient_households"]
    return pd.DataFrame(
        {
            "Menerima program": [exited_r, stayed_r],
            "Tidak menerima program": [exited - exited_r, stayed - stayed_r],
        },
        index=["Keluar dari kemiskinan", "Tetap miskin"],
    )


@style.styled
def transitions_page(data: ReportData, transitions: pd.DataFrame):  # noqa: ANN201
    """Entries and exits per kelurahan, and the program receipt beside the exits (city)."""
    from tkpk.report.charts import ChartSpec

    pair = latest_pair(transitions, data.city["snapshot"])
    start = fmt.format_period(pair["snapshot_from"].iloc[0])
    end = fmt.format_period(pair["snapshot_to"].iloc[0])
    title = "Siapa yang masuk dan keluar dari kemiskinan?"
    subtitle = (
        f"{data.city_name} · keluarga yang sama (ID keluarga) di potret {start} dan {end}, "
        "masing-masing dinilai dengan garis kemiskinan bulan potretnya · jumlah rumah tangga (RT)"
    )
    footer = data.source("poverty_transitions") + "\n" + NOT_CAUSAL
    figure = style.new_page(title, subtitle, footer)
    rows = pair[pair["area_level"] == "kelurahan"].sort_values("area_code").iloc[::-1]
    ax = figure.add_axes((0.16, 0.19, 0.42, 0.58))
    positions = np.arange(len(rows))
    ax.barh(positions + 0.2, rows["entered_poverty_households"].fillna(0), 0.4,
            color=style.ALERT, label="masuk kemiskinan")
    ax.barh(positions - 0.2, rows["exited_poverty_households"].fillna(0), 0.4,
            color=style.CATEGORICAL[2], label="keluar dari kemiskinan")
    ax.set_yticks(positions, list(rows["area_name"]), fontsize=7)
    ax.xaxis.set_major_formatter(style.number_axis())
    style.integer_ticks(ax.xaxis)
    ax.set_xlabel("Rumah tangga (RT)")
    ax.legend(loc="lower right", fontsize=8)
    city = pair[pair["area_level"] == "kota"].iloc[0]
    table = receipt_crosstab(city)
    side = figure.add_axes((0.8, 0.5, 0.16, 0.2))
    side.axis("off")
    cells = [[fmt.format_number(v) for v in row] for row in table.to_numpy()]
    grid = side.table(cellText=cells, rowLabels=list(table.index),
                      colLabels=["Menerima\nprogram", "Tanpa\nprogram"], loc="center")
    grid.auto_set_font_size(False)
    grid.set_fontsize(8)
    grid.scale(1, 1.8)
    figure.text(0.66, 0.76, style.wrap(f"Program dalam 12 bulan s.d. {end}, seluruh kota "
                                      "(rumah tangga):", 50), fontsize=9, va="top")
    figure.text(0.66, 0.44, style.wrap(NOT_CAUSAL, 60), fontsize=7.5, color=style.MUTED, va="top")
    summary = (
        f"Masuk: {fmt.format_number(city['entered_poverty_households'])} RT · keluar: "
        f"{fmt.format_number(city['exited_poverty_households'])} RT · tetap miskin: "
        f"{fmt.format_number(city['stayed_poor_households'])} RT"
    )
    figure.text(0.16, 0.8, summary, fontsize=10, fontweight="bold", color=style.INK)
    return ChartSpec("11_dinamika_kemiskinan", title, subtitle, footer, figure,
                     labels=list(rows["area_name"]),
                     details={"crosstab": table, "pair": (start, end)})


def decision_charts(data: ReportData) -> list:
    """The decision pages the pack's tables allow (none for a pack without them)."""
    charts = []
    if data.profile is not None and not data.profile.empty:
        charts.append(profile_page(data, data.profile))
    if data.transitions is not None and not latest_pair(
        data.transitions, data.city["snapshot"]
    ).empty:
        charts.append(transitions_page(data, data.transitions))
    return charts
