"""The charts of the briefing pack. Each takes ``ReportData`` and returns a ``ChartSpec``: the
figure (an A4 landscape page) plus what it shows, so tests and callers can check the labels.

Every chart states what (title), where and when (subtitle), the unit (axis labels), the source
and the registry-based note (footer). Names of areas, programs and funding sources come from the
pack, never from constants; numbers are formatted the Indonesian way.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.text import Text

from tkpk import formatting as fmt
from tkpk.report import style, tilemap
from tkpk.report.data import ReportData

#: More kelurahan than this in a ranked bar chart: only the highest are drawn.
MAX_BARS = 40


@dataclass(repr=False)
class ChartSpec:
    """One chart: file stem, texts and the figure."""

    key: str
    title: str
    subtitle: str
    footer: str
    figure: Figure
    #: Data-derived labels drawn on the chart (area, program, source names).
    labels: list[str] = field(default_factory=list)
    #: Free-form facts tests can check (e.g. the tile of each kelurahan).
    details: dict = field(default_factory=dict)

    def texts(self) -> list[str]:
        """Every text drawn on the figure (titles, tick labels, annotations, legends)."""
        found = [t.get_text() for t in self.figure.findobj(Text)]
        for ax in self.figure.axes:  # tick labels are only created on request or at draw time
            found += [t.get_text() for t in (*ax.get_xticklabels(), *ax.get_yticklabels())]
        return [text for text in dict.fromkeys(found) if text]

    def __repr__(self) -> str:
        return f"ChartSpec({self.key!r}, {self.title!r})"

    def png(self, dpi: int = 100) -> bytes:
        """The chart as PNG bytes."""
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
        return buffer.getvalue()

    def _repr_png_(self) -> bytes:
        """Jupyter shows a chart as its image (the figures live outside pyplot)."""
        return self.png()


def _missing(value: object) -> bool:
    return fmt.is_missing(value)


def _bar_labels(ax, bars, texts: list[str]) -> None:  # noqa: ANN001
    """Write ``texts`` just right of each horizontal bar."""
    for bar, text in zip(bars, texts, strict=True):
        width = bar.get_width()
        x = 0 if np.isnan(width) else width
        ax.annotate(
            text,
            (x, bar.get_y() + bar.get_height() / 2),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=7.5,
            bbox=style.LABEL_BOX,
        )


def _kecamatan_legend(ax, data: ReportData, colours: dict[str, str], loc: str) -> None:  # noqa: ANN001
    """A legend of the kecamatan colours, with names from the pack."""
    names = data.kecamatan_names
    handles = [Patch(color=c, label=f"Kec. {names.get(code, code)}") for code, c in colours.items()]
    ax.legend(handles=handles, loc=loc, fontsize=8, title="Kecamatan", title_fontsize=8)


def _ranked(frame: pd.DataFrame, column: str) -> tuple[pd.DataFrame, str]:
    """Rows sorted by ``column`` (highest first, missing last), capped at ``MAX_BARS``; and a note
    when rows were left out."""
    ordered = frame.sort_values([column, "area_name"], ascending=[False, True], na_position="last")
    if len(ordered) <= MAX_BARS:
        return ordered, ""
    return ordered.head(MAX_BARS), f" ({MAX_BARS} tertinggi dari {len(ordered)})"


# -- 1. registry-based rate beside the official BPS rate -----------------------------------------


@style.styled
def p0_versus_official(data: ReportData) -> ChartSpec:
    """The city's registry-based P0 (and each kecamatan's) beside the official BPS rate."""
    city, kecamatan, official = data.city, data.kecamatan, data.official
    title = "Tingkat kemiskinan (P0): data registrasi dan angka resmi BPS"
    subtitle = (
        f"{data.city_name} dan kecamatannya · {data.period_label} · persentase penduduk miskin"
    )
    footer = data.source("kelurahan_poverty") + (
        f"\nAngka resmi: {official['source']} (survei Susenas, hanya sampai tingkat kab/kota)"
        + (
            f"; registri mencakup {fmt.format_percent(official['registry_coverage'], 0)} "
            "penduduk menurut BPS."
            if official.get("registry_coverage") is not None
            else "."
        )
        if official
        else "\nTidak ada rilis resmi BPS untuk periode ini (reference/official_poverty.csv)."
    )
    figure = style.new_page(title, subtitle, footer)
    ax = figure.add_axes((0.07, 0.17, 0.88, 0.60))
    labels, values, colours, notes = [], [], [], []
    if official:
        labels.append(f"Resmi BPS\n({official['source'].split(',')[-1].strip()})")
        values.append(float(official["p0"]))
        colours.append(style.OFFICIAL)
        notes.append("survei Susenas")
    labels.append(f"{data.city_name}\n(data registrasi)")
    values.append(city["p0"])
    colours.append(style.REGISTRY)
    notes.append(f"{fmt.format_number(city['poor_population'])} jiwa miskin")
    for row in kecamatan.itertuples(index=False):
        labels.append(f"Kec. {style.wrap(row.area_name, 18)}\n(data registrasi)")
        values.append(row.p0)
        colours.append(style.REGISTRY_LIGHT)
        notes.append(f"{fmt.format_number(row.poor_population)} jiwa miskin")
    heights = [0 if _missing(v) else v for v in values]
    bars = ax.bar(range(len(values)), heights, color=colours, width=0.62)
    top = max([h for h in heights if h] + [0.01])
    for bar, value, note in zip(bars, values, notes, strict=True):
        ax.text(
            bar.get_x() + bar.get_width() / 2,
            bar.get_height() + top * 0.015,
            fmt.format_percent(value),
            ha="center",
            va="bottom",
            fontsize=12,
            fontweight="bold",
        )
        ax.text(
            bar.get_x() + bar.get_width() / 2,
            top * 0.02,
            note,
            ha="center",
            va="bottom",
            fontsize=7.5,
            color="white" if bar.get_height() > top * 0.15 else style.INK,
            rotation=90 if len(values) > 8 else 0,
        )
    if official:
        ax.axhline(official["p0"], color=style.OFFICIAL, linestyle="--", linewidth=1)
    ax.set_xticks(range(len(labels)), labels, fontsize=8.5)
    ax.set_ylim(0, top * 1.18)
    ax.yaxis.set_major_formatter(style.percent_axis())
    ax.set_ylabel("Penduduk miskin (% penduduk)")
    ax.grid(axis="y")
    ax.set_axisbelow(True)
    guide = (
        "Data registrasi menghitung warga dengan pengeluaran per kapita di bawah garis kemiskinan "
        f"({data.poverty_line_label}). Angka BPS berasal dari survei; keduanya tidak sama "
        "dan tidak untuk dibandingkan selisihnya secara langsung."
    )
    figure.text(0.07, 0.835, style.wrap(guide, 150), fontsize=8.5, color=style.MUTED, va="top")
    return ChartSpec(
        "01_p0_registrasi_vs_bps",
        title,
        subtitle,
        footer,
        figure,
        labels=[data.city_name, *kecamatan["area_name"]],
        details={"values": values},
    )


# -- 2. kelurahan ranked by P0 with the number of poor people ------------------------------------


@style.styled
def p0_by_kelurahan(data: ReportData) -> ChartSpec:
    """Kelurahan ranked by P0, coloured by kecamatan, labelled with the number of poor people."""
    ranked, note = _ranked(data.kelurahan, "p0")
    title = "Kelurahan menurut tingkat kemiskinan (P0)"
    subtitle = (
        f"{len(data.kelurahan)} kelurahan di {data.city_name}{note} · {data.period_label} · "
        "% penduduk miskin dan jumlah penduduk miskin (jiwa)"
    )
    footer = data.source("kelurahan_poverty")
    figure = style.new_page(title, subtitle, footer)
    ax = figure.add_axes((0.19, 0.13, 0.70, 0.73))
    colours = style.colours(sorted(ranked["kecamatan_code"].dropna().unique()))
    rows = ranked.iloc[::-1]
    bars = ax.barh(
        rows["area_name"],
        rows["p0"].fillna(0),
        color=[colours.get(c, style.MUTED) for c in rows["kecamatan_code"]],
    )
    _bar_labels(
        ax,
        bars,
        [
            f"{fmt.format_percent(p)} · {fmt.format_number(n)} jiwa"
            if not _missing(p)
            else "disensor"
            for p, n in zip(rows["p0"], rows["poor_population"], strict=True)
        ],
    )
    city = data.city
    ax.axvline(city["p0"], color=style.INK, linestyle="--", linewidth=1)
    ax.text(
        city["p0"],
        len(rows) - 0.3,
        f" {data.city_name}: {fmt.format_percent(city['p0'])}",
        fontsize=8,
        va="bottom",
    )
    ax.xaxis.set_major_formatter(style.percent_axis())
    ax.set_xlabel("Penduduk miskin (% penduduk kelurahan), berbasis data registrasi")
    ax.set_xlim(0, max(rows["p0"].max(skipna=True) or 0.01, 0.01) * 1.3)
    ax.tick_params(axis="y", labelsize=8)
    ax.set_ylim(-0.6, len(rows) + 0.4)
    _kecamatan_legend(ax, data, colours, "lower right")
    return ChartSpec(
        "02_p0_kelurahan", title, subtitle, footer, figure, labels=list(ranked["area_name"])
    )


# -- 3. depth and severity ------------------------------------------------------------------------


@style.styled
def depth_and_severity(data: ReportData) -> ChartSpec:
    """P1 (depth) and P2 (severity) per kelurahan, with the monthly poverty gap in rupiah."""
    ranked, note = _ranked(data.kelurahan, "p1")
    title = "Kedalaman (P1) dan keparahan (P2) kemiskinan per kelurahan"
    subtitle = (
        f"{data.city_name}{note} · {data.period_label} · indeks dalam persen; "
        "kesenjangan = rupiah per bulan untuk mengangkat semua penduduk miskin ke garis kemiskinan"
    )
    footer = (
        "P1: rata-rata jarak pengeluaran penduduk miskin ke garis kemiskinan (% garis, dibagi "
        "seluruh penduduk). P2: seperti P1 tetapi jarak dikuadratkan; makin besar, makin timpang "
        "di antara penduduk miskin.\n" + data.source("kelurahan_poverty")
    )
    figure = style.new_page(title, subtitle, footer)
    rows = ranked.iloc[::-1]
    left = figure.add_axes((0.17, 0.15, 0.38, 0.68))
    right = figure.add_axes((0.62, 0.15, 0.30, 0.68), sharey=left)
    bars = left.barh(rows["area_name"], rows["p1"].fillna(0), color=style.REGISTRY)
    _bar_labels(
        left,
        bars,
        [
            f"{fmt.format_percent(p, 2)} · {fmt.format_rupiah_compact(gap)}/bln"
            if not _missing(p)
            else "disensor"
            for p, gap in zip(rows["p1"], rows["poverty_gap_idr_month"], strict=True)
        ],
    )
    bars = right.barh(rows["area_name"], rows["p2"].fillna(0), color=style.ALERT)
    _bar_labels(right, bars, [fmt.format_percent(p, 2) for p in rows["p2"]])
    city = data.city
    for ax, column, name in ((left, "p1", "P1 (kedalaman)"), (right, "p2", "P2 (keparahan)")):
        ax.axvline(city[column], color=style.INK, linestyle="--", linewidth=1)
        ax.set_title(
            f"{name} · {data.city_name}: {fmt.format_percent(city[column], 2)}",
            fontsize=10,
            loc="left",
        )
        ax.xaxis.set_major_formatter(style.percent_axis(1))
        ax.set_xlim(0, max(rows[column].max(skipna=True) or 0.001, 0.001) * 1.45)
        ax.set_xlabel("% (indeks FGT), berbasis data registrasi")
        ax.tick_params(axis="y", labelsize=8)
    right.tick_params(axis="y", labelleft=False)
    left.set_ylim(-0.6, len(rows) - 0.4)
    return ChartSpec(
        "03_p1_p2_kelurahan", title, subtitle, footer, figure, labels=list(ranked["area_name"])
    )


# -- 4. tile map (or choropleth) ------------------------------------------------------------------


def _tile_label(name: str, p0: float, poor: float) -> str:
    """Name (long single words hyphenated), P0 and the number of poor people of one tile."""
    words = [
        f"{w[: (len(w) + 1) // 2]}- {w[(len(w) + 1) // 2 :]}" if len(w) > 12 else w
        for w in name.split()
    ]
    text = style.wrap(" ".join(words), 12)
    if _missing(p0):
        return f"{text}\ndisensor"
    return f"{text}\n{fmt.format_percent(p0)}\n{fmt.format_number(poor)} jiwa"


@style.styled
def tile_map(data: ReportData) -> ChartSpec:
    """P0 of every kelurahan on a tile map grouped by kecamatan (a choropleth with boundaries)."""
    kelurahan = data.kelurahan
    values = dict(zip(kelurahan["area_code"], kelurahan["p0"], strict=True))
    names = dict(zip(kelurahan["area_code"], kelurahan["area_name"], strict=True))
    reference_names = data.areas.set_index("code")["name"].to_dict()
    labels = {}
    for code in data.areas.loc[data.areas["level"] == "kelurahan", "code"]:
        row = kelurahan[kelurahan["area_code"] == code]
        name = names.get(code, reference_names.get(code, code))
        labels[code] = _tile_label(
            name,
            row["p0"].iloc[0] if len(row) else np.nan,
            row["poor_population"].iloc[0] if len(row) else np.nan,
        )
    finite = [v for v in values.values() if not _missing(v)]
    norm = Normalize(vmin=0, vmax=max(finite + [0.01]))
    cmap = mpl.colormaps[style.SEQUENTIAL]
    use_boundaries = data.boundaries is not None
    title = (
        "Peta tingkat kemiskinan (P0) per kelurahan"
        if use_boundaries
        else "Peta petak tingkat kemiskinan (P0) per kelurahan"
    )
    subtitle = (
        f"{data.city_name}: {len(kelurahan)} kelurahan dikelompokkan per kecamatan · "
        f"{data.period_label} · % penduduk miskin dan jumlah penduduk miskin (jiwa)"
    )
    footer = data.source("kelurahan_poverty")
    if use_boundaries:
        footer += f"\nBatas wilayah: {data.boundaries.name}."
    else:
        footer += (
            "\nSetiap petak = satu kelurahan (bukan ukuran atau bentuk sebenarnya); "
            "letak blok kecamatan mengikuti arah mata angin."
        )
    figure = style.new_page(title, subtitle, footer)
    ax = figure.add_axes((0.04, 0.14, 0.80, 0.70))
    details: dict = {}
    if use_boundaries:
        outlines = tilemap.load_boundaries(data.boundaries, data.areas, names)
        patches = tilemap.draw_choropleth(
            ax, outlines.paths, values, labels, cmap, norm, style.MISSING_COLOUR
        )
        details["unmatched_features"] = outlines.unmatched_features
        missing = sorted(set(labels) - set(patches))
        if missing:
            footer_note = ", ".join(names.get(code, code) for code in missing)
            figure.text(0.04, 0.135, f"Tanpa batas wilayah di berkas: {footer_note}",
                        fontsize=7.5, color=style.ALERT)  # fmt: skip
    else:
        tiles, blocks = tilemap.tile_layout(data.areas)
        block_labels = {code: f"Kec. {name}" for code, name in data.kecamatan_names.items()}
        patches = tilemap.draw_tiles(
            ax, tiles, blocks, values, labels, block_labels, cmap, norm, style.MISSING_COLOUR
        )
        details["tiles"] = {t.code: (t.x, t.y) for t in tiles}
    details["patches"] = sorted(patches)
    colourbar_ax = figure.add_axes((0.87, 0.25, 0.018, 0.5))
    scalar = mpl.cm.ScalarMappable(norm=norm, cmap=cmap)
    bar = figure.colorbar(scalar, cax=colourbar_ax)
    bar.ax.yaxis.set_major_formatter(style.percent_axis())
    bar.set_label("P0: % penduduk miskin (data registrasi)")
    return ChartSpec(
        "04_peta_p0_kelurahan",
        title,
        subtitle,
        footer,
        figure,
        labels=[names.get(c, c) for c in sorted(names)],
        details=details,
    )


# -- 5. coverage heatmap --------------------------------------------------------------------------


def _program_legend(programs: pd.DataFrame) -> str:
    """``PKH = Program Keluarga Harapan · ...`` from the pack's program names."""
    return " · ".join(f"{r.program} = {r.program_name}" for r in programs.itertuples(index=False))


@style.styled
def coverage_heatmap(data: ReportData) -> ChartSpec:
    """Coverage of target households (kelurahan x program), with the city row at the bottom."""
    programs = data.programs
    reach = data.reach
    kelurahan = data.kelurahan.sort_values(["kecamatan_code", "area_code"])
    rows = [*kelurahan["area_code"], data.city["area_code"]]
    row_names = [*kelurahan["area_name"], data.city_name]
    grid = reach.pivot_table(
        index="area_code",
        columns="program",
        values="coverage_target",
        aggfunc="first",
        dropna=False,
    ).reindex(index=rows, columns=list(programs["program"]))
    title = "Cakupan program pada rumah tangga sasaran, per kelurahan"
    subtitle = (
        f"{data.city_name} · rumah tangga sasaran (desil sasaran program) yang menerima dalam "
        f"{data.window_label} · % rumah tangga sasaran"
    )
    footer = data.source("program_reach") + "\n" + _program_legend(programs)
    figure = style.new_page(title, subtitle, footer)
    ax = figure.add_axes((0.16, 0.17, 0.70, 0.62))
    values = grid.to_numpy(dtype=float)
    cmap = mpl.colormaps[style.COVERAGE].with_extremes(bad=style.MISSING_COLOUR)
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=0, vmax=1, aspect="auto")
    for (i, j), value in np.ndenumerate(values):
        text = fmt.format_percent(value, 0)
        colour = "white" if not np.isnan(value) and value > 0.6 else style.INK
        ax.text(j, i, text, ha="center", va="center", fontsize=6.5, color=colour)
    ax.set_xticks(range(len(programs)), list(programs["program"]), fontsize=8)
    ax.xaxis.tick_top()
    ax.set_yticks(range(len(rows)), row_names, fontsize=7.5)
    ax.get_yticklabels()[-1].set_fontweight("bold")
    ax.axhline(len(rows) - 1.5, color=style.INK, linewidth=1.2)
    boundaries = np.flatnonzero(
        kelurahan["kecamatan_code"].to_numpy()[1:] != kelurahan["kecamatan_code"].to_numpy()[:-1]
    )
    for boundary in boundaries:
        ax.axhline(boundary + 0.5, color="white", linewidth=2)
    for spine in ax.spines.values():
        spine.set_visible(False)
    colourbar = figure.colorbar(image, cax=figure.add_axes((0.88, 0.3, 0.015, 0.45)))
    colourbar.ax.yaxis.set_major_formatter(style.percent_axis())
    colourbar.set_label("Cakupan sasaran (% RT sasaran menerima)")
    return ChartSpec(
        "05_cakupan_program_kelurahan",
        title,
        subtitle,
        footer,
        figure,
        labels=[*row_names, *programs["program"], *programs["program_name"]],
        details={"grid": grid},
    )


# -- 6. exclusion against inclusion error ---------------------------------------------------------


@style.styled
def exclusion_inclusion(data: ReportData) -> ChartSpec:
    """Exclusion error against inclusion error per program, city-wide; bubble = recipients."""
    city = data.reach[data.reach["area_level"] == "kota"].sort_values("program")
    title = "Ketepatan sasaran program: sasaran terlewat dan penerima bukan sasaran"
    subtitle = (
        f"{data.city_name} · {data.window_label} · exclusion error (% RT sasaran tidak menerima) "
        "dan inclusion error (% penerima bukan sasaran); ukuran lingkaran = jumlah RT penerima"
    )
    footer = data.source("program_reach") + "\n" + _program_legend(data.programs)
    figure = style.new_page(title, subtitle, footer)
    ax = figure.add_axes((0.08, 0.18, 0.60, 0.64))
    colours = style.colours(city["program"])
    shown = city.dropna(subset=["exclusion_error", "inclusion_error"])
    sizes = shown["recipient_households"].fillna(0).to_numpy(dtype=float)
    areas = np.maximum(sizes * 1800 / max(float(sizes.max(initial=0)), 1), 30)
    ax.scatter(shown["exclusion_error"], shown["inclusion_error"], s=areas, alpha=0.75,
               color=[colours[p] for p in shown["program"]], edgecolor="white")  # fmt: skip
    # Labels beside their bubble (left of it near the right edge), pushed apart vertically.
    per_point = 1.1 / (0.60 * style.PAGE_SIZE[0] * 72)  # data units per point on the x axis
    placed: list[tuple[float, float]] = []
    order = np.argsort(shown["inclusion_error"].to_numpy(), kind="stable")
    for i in order:
        row = shown.iloc[i]
        x, y = float(row["exclusion_error"]), float(row["inclusion_error"])
        offset = (np.sqrt(areas[i]) / 2 + 4) * per_point
        right = x < 0.8
        label_x = x + offset if right else x - offset
        label_y = y
        while any(abs(label_x - px) < 0.2 and abs(label_y - py) < 0.05 for px, py in placed):
            label_y += 0.05
        placed.append((label_x, label_y))
        ax.annotate(
            f"{row['program']} · {fmt.format_number(row['recipient_households'])} RT",
            (x, y),
            xytext=(label_x, label_y),
            ha="left" if right else "right",
            va="center",
            fontsize=7.5,
            fontweight="bold",
            bbox=style.LABEL_BOX,
            arrowprops={"arrowstyle": "-", "color": style.MUTED, "linewidth": 0.6}
            if label_y != y
            else None,
        )
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-0.05, 1.05)
    ax.axvline(0.5, color=style.GRID, linewidth=1)
    ax.axhline(0.5, color=style.GRID, linewidth=1)
    ax.xaxis.set_major_formatter(style.percent_axis())
    ax.yaxis.set_major_formatter(style.percent_axis())
    ax.set_xlabel("Exclusion error: RT sasaran yang tidak menerima (%) →  makin banyak terlewat")
    ax.set_ylabel("Inclusion error: penerima bukan sasaran (%) →  makin bocor")
    ax.text(0.0, -0.03, "tepat sasaran", fontsize=8, color=style.MUTED, va="top")
    table_ax = figure.add_axes((0.72, 0.18, 0.26, 0.64))
    table_ax.axis("off")
    width = max([len("Program"), *(len(p) for p in city["program"])]) + 2
    lines = [f"{'Program':<{width}}{'exclusion':>10}{'inclusion':>11}"]
    for row in city.itertuples(index=False):
        lines.append(
            f"{row.program:<{width}}{fmt.format_percent(row.exclusion_error):>10}"
            f"{fmt.format_percent(row.inclusion_error):>11}"
        )
    table_ax.text(0, 1, "\n".join(lines), family="DejaVu Sans Mono", fontsize=8, va="top")
    return ChartSpec(
        "06_exclusion_inclusion_program",
        title,
        subtitle,
        footer,
        figure,
        labels=list(city["program"]),
    )


# -- 7. the unreached poor ------------------------------------------------------------------------


@style.styled
def unreached_poor(data: ReportData) -> ChartSpec:
    """Poor households that received no program at all, by kelurahan (against all poor ones)."""
    ranked, note = _ranked(data.kelurahan, "poor_households_unreached")
    n_programs = data.reach["program"].nunique()
    city = data.city
    title = "Rumah tangga miskin yang tidak menerima program apa pun"
    subtitle = (
        f"{data.city_name}{note} · tidak menerima satu pun dari {n_programs} program dalam "
        f"{data.window_label} · jumlah rumah tangga (RT)"
    )
    footer = data.source("kelurahan_poverty")
    figure = style.new_page(title, subtitle, footer)
    ax = figure.add_axes((0.19, 0.13, 0.68, 0.70))
    rows = ranked.iloc[::-1]
    ax.barh(
        rows["area_name"],
        rows["poor_households"].fillna(0),
        color=style.MISSING_COLOUR,
        label="RT miskin (semua)",
    )
    bars = ax.barh(
        rows["area_name"],
        rows["poor_households_unreached"].fillna(0),
        color=style.ALERT,
        label="RT miskin tanpa program",
    )
    texts = []
    for unreached, poor in zip(
        rows["poor_households_unreached"], rows["poor_households"], strict=True
    ):
        if _missing(unreached):
            texts.append("disensor")
            continue
        if _missing(poor):
            texts.append(f"{fmt.format_number(unreached)} RT (jumlah RT miskin disensor)")
            continue
        ratio = None if poor == 0 else unreached / poor
        texts.append(
            f"{fmt.format_number(unreached)} dari {fmt.format_number(poor)} RT"
            + (f" ({fmt.format_percent(ratio, 0)})" if ratio is not None else "")
        )
    for bar, poor, text in zip(bars, rows["poor_households"].fillna(0), texts, strict=True):
        ax.annotate(
            text,
            (poor, bar.get_y() + bar.get_height() / 2),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=7.5,
            bbox=style.LABEL_BOX,
        )
    ax.xaxis.set_major_formatter(style.number_axis())
    style.integer_ticks(ax.xaxis)
    ax.set_xlabel("Rumah tangga miskin (RT), berbasis data registrasi")
    ax.set_xlim(0, max(rows["poor_households"].max(skipna=True) or 1, 1) * 1.3)
    ax.tick_params(axis="y", labelsize=8)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.legend(loc="lower right", fontsize=8)
    share = (
        None
        if _missing(city["poor_households"]) or not city["poor_households"]
        else (city["poor_households_unreached"] / city["poor_households"])
    )
    figure.text(
        0.19,
        0.845,
        f"{data.city_name}: {fmt.format_number(city['poor_households_unreached'])}"
        f" dari {fmt.format_number(city['poor_households'])} RT miskin "
        f"({fmt.format_percent(share)}) belum terjangkau",
        fontsize=10,
        fontweight="bold",
        color=style.ALERT,
        ha="left",
    )
    return ChartSpec(
        "07_rt_miskin_tanpa_program",
        title,
        subtitle,
        footer,
        figure,
        labels=list(ranked["area_name"]),
    )


# -- 8. contributions by funding source -----------------------------------------------------------


@style.styled
def funding_sources(data: ReportData) -> ChartSpec:
    """Amount and recipients per funding source (city), and the amount per kecamatan by source."""
    funding = data.funding
    city = funding[funding["area_level"] == "kota"].sort_values(
        ["amount_idr", "funding_source"], ascending=[False, True]
    )
    sources = list(city["funding_source"])
    colours = style.colours(sources)
    title = "Kontribusi menurut sumber pendanaan"
    subtitle = (
        f"{data.city_name} · bantuan yang tersalurkan dalam {data.window_label} · "
        "rupiah dan jumlah rumah tangga penerima (RT)"
    )
    footer = data.source("funding_sources", registry=False) + (
        "\nNilai dalam natura (mis. pelatihan) dapat bernilai Rp0; RT penerima dihitung sekali per "
        "sumber dana."
    )
    figure = style.new_page(title, subtitle, footer)
    left = figure.add_axes((0.10, 0.16, 0.36, 0.66))
    rows = city.iloc[::-1]
    bars = left.barh(
        rows["funding_source"],
        rows["amount_idr"].fillna(0),
        color=[colours[s] for s in rows["funding_source"]],
    )
    _bar_labels(
        left,
        bars,
        [
            f"{fmt.format_rupiah_compact(a)} · {fmt.format_number(n)} RT"
            for a, n in zip(rows["amount_idr"], rows["recipient_households"], strict=True)
        ],
    )
    left.xaxis.set_major_formatter(style.rupiah_axis())
    style.few_ticks(left.xaxis, 4)
    left.set_xlim(0, max(rows["amount_idr"].max(skipna=True) or 1, 1) * 1.6)
    left.set_title(
        f"{data.city_name}: total {fmt.format_rupiah_compact(city['amount_idr'].sum())}",
        loc="left",
        fontsize=10,
    )
    left.set_xlabel("Nilai bantuan (Rp)")
    left.tick_params(axis="x", labelsize=7.5)
    right = figure.add_axes((0.62, 0.24, 0.34, 0.58))
    kecamatan = funding[funding["area_level"] == "kecamatan"]
    pivot = (
        kecamatan.pivot_table(
            index="area_name", columns="funding_source", values="amount_idr", aggfunc="sum"
        )
        .reindex(columns=sources)
        .fillna(0)
    )
    pivot = pivot.loc[sorted(pivot.index)][::-1]
    start = np.zeros(len(pivot))
    for source in sources:
        right.barh(
            [f"Kec. {name}" for name in pivot.index],
            pivot[source],
            left=start,
            color=colours[source],
            label=source,
        )
        start += pivot[source].to_numpy()
    right.xaxis.set_major_formatter(style.rupiah_axis())
    right.set_title("Per kecamatan, menurut sumber dana", loc="left", fontsize=10)
    right.set_xlabel("Nilai bantuan (Rp)")
    right.tick_params(axis="x", labelsize=7.5)
    right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=min(len(sources), 3),
                 fontsize=8, title="Sumber dana", title_fontsize=8)  # fmt: skip
    style.few_ticks(right.xaxis, 4)
    return ChartSpec(
        "08_sumber_pendanaan",
        title,
        subtitle,
        footer,
        figure,
        labels=sources + [f"Kec. {n}" for n in pivot.index],
    )


# -- 9. trends ------------------------------------------------------------------------------------


@style.styled
def trends(data: ReportData) -> ChartSpec:
    """P0 of the city and its kecamatan, and coverage of the poor per program, over periods."""
    trend = data.poverty_trend[data.poverty_trend["area_level"].isin(["kota", "kecamatan"])]
    periods = list(data.periods)
    first, last = fmt.format_period(periods[0]), fmt.format_period(periods[-1])
    span = f"{first} – {last} ({len(periods)} periode)" if len(periods) > 1 else (
        f"{last} (baru satu periode: garis tren muncul setelah periode berikutnya terbit)"
    )  # fmt: skip
    title = "Perkembangan kemiskinan dan jangkauan program"
    subtitle = (
        f"{data.city_name} · {span} · % penduduk miskin; % RT miskin yang menerima program "
        "(12 bulan s.d. tiap periode)"
    )
    footer = data.source("kelurahan_poverty", "program_reach")
    figure = style.new_page(title, subtitle, footer)
    left = figure.add_axes((0.07, 0.15, 0.40, 0.68))
    right = figure.add_axes((0.56, 0.15, 0.28, 0.68))
    positions = {p: i for i, p in enumerate(periods)}
    tick_labels = [fmt.format_period(p, short=True) for p in periods]
    names = []
    kecamatan_codes = sorted(trend.loc[trend["area_level"] == "kecamatan", "area_code"].unique())
    colours = style.colours(kecamatan_codes)
    for code, rows in trend.groupby("area_code", sort=True):
        rows = rows.sort_values("period")
        is_city = rows["area_level"].iloc[0] == "kota"
        name = rows["area_name"].iloc[-1]
        names.append(name)
        left.plot(
            [positions[p] for p in rows["period"]],
            rows["p0"],
            marker="o",
            color=style.INK if is_city else colours[code],
            linewidth=2.6 if is_city else 1.3,
            label=f"{name}" if is_city else f"Kec. {name}",
        )
        if is_city:
            for x, y in zip([positions[p] for p in rows["period"]], rows["p0"], strict=True):
                left.annotate(
                    fmt.format_percent(y),
                    (x, y),
                    xytext=(0, 7),
                    textcoords="offset points",
                    ha="center",
                    fontsize=8,
                    fontweight="bold",
                    bbox=style.LABEL_BOX,
                )
    if data.official:
        left.axhline(data.official["p0"], color=style.OFFICIAL, linestyle="--", linewidth=1)
        left.text(
            len(periods) - 1,
            data.official["p0"],
            f"Resmi BPS ({data.official['source'].split(',')[-1].strip()}): "
            f"{fmt.format_percent(data.official['p0'])}",
            ha="right",
            va="bottom",
            fontsize=7.5,
            color=style.OFFICIAL,
        )
    left.set_xticks(range(len(periods)), tick_labels)
    left.set_xlim(-0.3, max(len(periods) - 0.7, 0.3))
    left.set_ylim(bottom=0)
    left.yaxis.set_major_formatter(style.percent_axis())
    left.set_ylabel("P0: penduduk miskin (% penduduk), data registrasi")
    left.set_title("Tingkat kemiskinan (P0)", loc="left", fontsize=10)
    left.legend(loc="lower left", fontsize=7.5)
    left.grid(axis="y")
    reach = data.reach_trend.sort_values(["program", "period"])
    program_colours = style.colours(sorted(reach["program"].unique()))
    for program, rows in reach.groupby("program", sort=True):
        right.plot(
            [positions[p] for p in rows["period"]],
            rows["coverage_poor"],
            marker="o",
            color=program_colours[program],
            linewidth=1.4,
            label=program,
        )
    right.set_xticks(range(len(periods)), tick_labels)
    right.set_xlim(-0.3, max(len(periods) - 0.7, 0.3))
    right.set_ylim(0, 1)
    right.yaxis.set_major_formatter(style.percent_axis())
    right.set_ylabel("RT miskin yang menerima (%)")
    right.set_title("Cakupan RT miskin per program", loc="left", fontsize=10)
    right.legend(
        loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=7.5, title="Program", title_fontsize=8
    )
    right.grid(axis="y")
    return ChartSpec(
        "09_tren", title, subtitle, footer, figure, labels=names + sorted(reach["program"].unique())
    )


#: The charts of the pack, in page order.
CHARTS = (
    p0_versus_official,
    p0_by_kelurahan,
    depth_and_severity,
    tile_map,
    coverage_heatmap,
    exclusion_inclusion,
    unreached_poor,
    funding_sources,
    trends,
)


def build_charts(data: ReportData) -> list[ChartSpec]:
    """Every chart of the briefing pack, in page order (the decision pages last)."""
    from tkpk.report.decisions import decision_charts

    return [chart(data) for chart in CHARTS] + decision_charts(data)
