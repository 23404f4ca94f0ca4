"""``tkpk report``: the briefing pack builds from the published packs and holds every chart."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import struct
from collections import Counter
from datetime import date
from pathlib import Path

import duckdb
import pytest
from curated_fixture import write_curated_fixture
from typer.testing import CliRunner

from tkpk import analysis, reference
from tkpk import formatting as fmt
from tkpk.cli import app
from tkpk.config import Settings
from tkpk.data_docs import external_resources
from tkpk.report import CHARTS, build_charts, load_report_data, style
from tkpk.report.builder import COVER_PNG, headlines
from tkpk.report.charts import p0_by_kelurahan, tile_map, trends, unreached_poor
from tkpk.report.html import _label, coverage_notes, line_notes, render
from tkpk.report.tilemap import tile_layout

#: Kelurahan of Kota Pekalongan.
KELURAHAN = 27
CHART_KEYS = [
    "01_p0_registrasi_vs_bps",
    "02_p0_kelurahan",
    "03_p1_p2_kelurahan",
    "04_peta_p0_kelurahan",
    "05_cakupan_program_kelurahan",
    "06_exclusion_inclusion_program",
    "07_rt_miskin_tanpa_program",
    "08_sumber_pendanaan",
    "09_tren",
    # decision pages (tkpk.report.decisions), drawn when the pack holds their tables
    "10_profil_kelompok",
    "11_dinamika_kemiskinan",
]
#: Renamed areas: the charts must show these, never the reference names.
RENAMES = {
    "33.75.01.1002": "Medono Uji",
    "33.75.03": "Pekalongan Utara Uji",
    "33.75": "Kota Contoh",
}


def _settings(curated: Path) -> Settings:
    return Settings(curated_dir=curated, temp_dir=curated.parent / "tmp", duckdb_threads=1)


def _png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    return struct.unpack(">II", header[16:24])


def _pdf_pages(path: Path) -> int:
    """Number of page objects in a PDF written by matplotlib."""
    return len(re.findall(rb"/Type\s*/Page\b", path.read_bytes()))


def copy_real_packs(real_packs: Settings, target: Path) -> Path:
    """A copy of the packs published from a generated drop (``conftest.real_packs``)."""
    shutil.copytree(real_packs.curated_dir, target, symlinks=True)
    return target


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, real_packs: Settings) -> Path:
    """Packs published from a generated drop and a report built through the CLI (default
    period and pack), audited against the drop's warehouse."""
    curated = copy_real_packs(real_packs, tmp_path_factory.mktemp("report") / "curated")
    (curated / "report").mkdir(parents=True)
    (curated / "report" / "stale.png").write_bytes(b"old report")
    patch = pytest.MonkeyPatch()
    patch.setenv("TKPK_DB", str(real_packs.warehouse))
    patch.setenv("TKPK_TEMP", str(curated.parent / "tmp"))
    try:
        result = CliRunner().invoke(app, ["report", "--out", str(curated), "--html"])
    finally:
        patch.undo()
    assert result.exit_code == 0, result.output
    assert "bahan_rakor_tkpk_2026-06.html" in result.output
    assert "audit skipped" not in result.output
    return curated


@pytest.fixture(scope="module")
def renamed(tmp_path_factory: pytest.TempPathFactory):
    """Charts drawn from packs whose names differ from the reference table."""
    curated = tmp_path_factory.mktemp("renamed") / "curated"
    write_curated_fixture(curated, renames=RENAMES)
    with analysis.open_pack(_settings(curated)) as pack:
        data = load_report_data(pack)
    charts = build_charts(data)
    yield data, {chart.key: chart for chart in charts}
    for chart in charts:
        style.close(chart.figure)


def test_report_holds_the_pdf_and_every_chart_as_png(built: Path) -> None:
    folder = built / "report"
    pdf = folder / "bahan_rakor_tkpk_2026-06.pdf"  # the latest period by default
    assert pdf.is_file()
    assert _pdf_pages(pdf) == 1 + len(CHARTS) + 2 == 1 + len(CHART_KEYS)
    pngs = sorted(p.name for p in folder.glob("*.png"))
    assert pngs == sorted([COVER_PNG, *(f"{key}.png" for key in CHART_KEYS)])
    for name in pngs:
        path = folder / name
        assert path.stat().st_size > 50_000, f"{name} looks empty"
        width, height = _png_size(path)
        assert (width, height) == (1753, 1240), f"{name} is not A4 landscape at 150 dpi"
    contents = (folder / "daftar_isi.txt").read_text(encoding="utf-8")
    assert "Juni 2026" in contents and all(key in contents for key in CHART_KEYS)


def test_report_replaces_the_previous_one_and_leaves_no_staging(built: Path) -> None:
    assert not (built / "report" / "stale.png").exists()
    assert [p.name for p in built.iterdir() if p.name.startswith(".report")] == []


def test_pdf_is_deterministic_and_titled(built: Path) -> None:
    content = (built / "report" / "bahan_rakor_tkpk_2026-06.pdf").read_bytes()
    assert b"/CreationDate" not in content and b"/ModDate" not in content
    assert b"Bahan Rapat Koordinasi TKPK" in content


def test_labels_come_from_the_data(renamed) -> None:
    data, charts = renamed
    assert data.city_name == "Kota Contoh"
    for key in ("02_p0_kelurahan", "03_p1_p2_kelurahan", "07_rt_miskin_tanpa_program"):
        texts = charts[key].texts()
        assert "Medono Uji" in texts, key
        assert "Medono" not in texts, key
        assert any("Kota Contoh" in t for t in texts), key
    tile_texts = "\n".join(charts["04_peta_p0_kelurahan"].texts())
    assert "Medono Uji" in tile_texts and "Kec. Pekalongan Utara Uji" in tile_texts
    assert "Kec. Pekalongan Utara Uji" in charts["08_sumber_pendanaan"].texts()
    heatmap = charts["05_cakupan_program_kelurahan"]
    assert "Medono Uji" in heatmap.texts() and "Kota Contoh" in heatmap.texts()
    # Program codes and names are the ones in the pack.
    programs = duckdb.sql(
        f"select distinct program, program_name from '{data.pack_folder / 'program_reach.parquet'}'"
    ).fetchall()
    footer = heatmap.footer.replace("\n", " ")
    for code, name in programs:
        assert code in heatmap.texts()
        assert f"{code} = {name}" in footer
    for chart in charts.values():
        assert "berbasis data registrasi" in chart.footer.lower() or chart.key.startswith("08")
        assert "Juni 2026" in chart.subtitle or "Jun 2026" in chart.subtitle


def test_every_chart_states_what_where_when_and_source(renamed) -> None:
    data, charts = renamed
    assert list(charts) == CHART_KEYS
    for chart in charts.values():
        texts = chart.texts()
        assert chart.title in texts
        footers = [t for t in texts if "Sumber:" in t]
        assert len(footers) == 1 and "snapshot Juni 2026" in footers[0]
        assert "Kota Contoh" in chart.subtitle


def test_headline_figures_match_the_pack(renamed) -> None:
    data, _ = renamed
    path = data.pack_folder / "kelurahan_poverty.parquet"
    p0, poor, unreached, poor_hh = duckdb.sql(
        f"select p0, poor_population, poor_households_unreached, poor_households from '{path}' "
        "where area_level = 'kota' and period = date '2026-06-01'"
    ).fetchall()[0]
    lines = headlines(data)
    assert f"{fmt.format_percent(p0)} ({fmt.format_number(poor)} dari" in lines[0]
    assert "angka resmi BPS" in lines[0] and "6,7%" in lines[0]
    assert any(
        f"{fmt.format_number(unreached)} dari {fmt.format_number(poor_hh)}" in line
        for line in lines
    )


def test_official_rate_is_shown_beside_the_registry_rate(renamed) -> None:
    _, charts = renamed
    chart = charts["01_p0_registrasi_vs_bps"]
    texts = chart.texts()
    assert "6,7%" in texts
    assert any(t.startswith("Resmi BPS") for t in texts)
    assert any("(data registrasi)" in t for t in texts)


def test_tile_layout_places_every_kelurahan_exactly_once() -> None:
    areas = reference.load_areas()
    tiles, blocks = tile_layout(areas)
    kelurahan = set(areas.loc[areas["level"] == "kelurahan", "code"])
    codes = [t.code for t in tiles]
    assert len(codes) == 27 == len(set(codes))
    assert set(codes) == kelurahan
    positions = [(t.x, t.y) for t in tiles]
    assert len(set(positions)) == len(positions)
    assert len(blocks) == 4
    by_code = {b.kecamatan_code: b for b in blocks}
    for tile in tiles:  # each tile inside its own kecamatan's block
        block = by_code[tile.kecamatan_code]
        assert block.x <= tile.x < block.x + block.width
        assert block.y <= tile.y < block.y + block.height
    for a in blocks:  # blocks never overlap
        for b in blocks:
            if a is not b:
                assert (a.x + a.width <= b.x or b.x + b.width <= a.x
                        or a.y + a.height <= b.y or b.y + b.height <= a.y)  # fmt: skip
    # Compass layout: Utara above Barat/Timur, Selatan below, Barat left of Timur.
    name = dict(zip(areas["code"], areas["name"], strict=True))
    y = {name[b.kecamatan_code].split()[-1]: b.y for b in blocks}
    x = {name[b.kecamatan_code].split()[-1]: b.x for b in blocks}
    assert y["Utara"] < y["Barat"] == y["Timur"] < y["Selatan"]
    assert x["Barat"] < x["Timur"]


def test_tile_layout_without_compass_names_still_places_everyone_once() -> None:
    areas = reference.load_areas()
    kecamatan = areas["level"] == "kecamatan"
    areas.loc[kecamatan, "name"] = ["Satu", "Dua", "Tiga", "Empat"]
    tiles, blocks = tile_layout(areas)
    assert sorted(t.code for t in tiles) == sorted(areas.loc[areas.level == "kelurahan", "code"])
    assert len({(t.x, t.y) for t in tiles}) == 27


def test_tile_map_chart_draws_one_patch_per_kelurahan(renamed) -> None:
    _, charts = renamed
    details = charts["04_peta_p0_kelurahan"].details
    assert len(details["patches"]) == 27
    assert len(details["tiles"]) == 27


def _square(x: float, y: float) -> list[list[list[float]]]:
    return [[[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1], [x, y]]]


def test_choropleth_from_a_boundary_geojson(tmp_path: Path) -> None:
    curated = tmp_path / "curated"
    write_curated_fixture(curated, periods=("2026-06",))
    kelurahan = [a for a in reference.leaf_areas()]
    features = []
    for i, area in enumerate(kelurahan):
        # Codes without dots, names only, and one multipolygon: every kind of key matches.
        if i % 3 == 0:
            properties = {"KODE_KEL": area.code.replace(".", ""), "WADMKD": "x"}
        else:
            properties = {"NAMOBJ": f"Kelurahan {area.name.upper()}"}
        geometry = {"type": "Polygon", "coordinates": _square(i % 6, i // 6)}
        if i == 0:
            geometry = {"type": "MultiPolygon", "coordinates": [_square(0, 0), _square(10, 10)]}
        features.append({"type": "Feature", "properties": properties, "geometry": geometry})
    features.append(
        {"type": "Feature", "properties": {"NAMOBJ": "Laut Jawa"},
         "geometry": {"type": "Polygon", "coordinates": _square(20, 20)}}
    )  # fmt: skip
    geojson = tmp_path / "batas_kelurahan.geojson"
    geojson.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    with analysis.open_pack(_settings(curated)) as pack:
        data = load_report_data(pack, boundaries=geojson)
    chart = tile_map(data)
    try:
        assert chart.title == "Peta tingkat kemiskinan (P0) per kelurahan"
        assert len(chart.details["patches"]) == 27
        assert chart.details["unmatched_features"] == 1
        assert "batas_kelurahan.geojson" in chart.footer
    finally:
        style.close(chart.figure)


def test_bappeda_pack_with_suppressed_values(tmp_path: Path, real_packs: Settings) -> None:
    curated = copy_real_packs(real_packs, tmp_path / "curated")
    with analysis.open_pack(_settings(curated), pack="bappeda") as pack:
        assert pack.name == "bappeda" and not pack.has("households")
        data = load_report_data(pack, period="2026-05")
    charts = [chart(data) for chart in (p0_by_kelurahan, unreached_poor, tile_map, trends)]
    try:
        assert data.period_label == "Mei 2026"
        ranked, unreached, tiles, trend = charts
        assert any("disensor" in t for t in unreached.texts())
        assert "angka 1–4" in unreached.footer.lower()
        assert any("disensor" in t for t in tiles.texts())
        assert "Mei 2026" in ranked.subtitle
        assert "Juni 2026" not in trend.subtitle  # the trend stops at the chosen period
    finally:
        for chart in charts:
            style.close(chart.figure)


def test_cli_reports_a_missing_pack_or_period(tmp_path: Path, built: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["report", "--out", str(tmp_path / "empty")])
    assert result.exit_code == 2
    assert "tkpk run" in result.output
    result = runner.invoke(app, ["report", "--out", str(built), "--period", "2030-01"])
    assert result.exit_code == 2
    assert "2026-04, 2026-05, 2026-06" in result.output
    result = runner.invoke(app, ["report", "--out", str(built), "--period", "Juni"])
    assert result.exit_code == 2 and "YYYY-MM" in result.output


def test_borrowed_and_old_poverty_line_is_warned_in_bahasa(renamed) -> None:
    """The fixture's 2026-06 line is the province's line of 2025-09 (scope province, 9 months
    old): one warning (borrowed); the same line seen from 2027-04 (19 months) is also old."""
    data, _ = renamed
    warnings = data.poverty_line_warnings
    assert len(warnings) == 1
    assert "garis provinsi" in warnings[0] and "bukan garis" in warnings[0]
    later = dataclasses.replace(data, period=date(2027, 4, 1))
    old = later.poverty_line_warnings
    assert len(old) == 2
    assert "berlaku sejak September 2025, 19 bulan sebelum periode laporan" in old[1]
    assert "lebih dari 18 bulan" in old[1]


# -- tkpk report --html -----------------------------------------------------------------------


def _html(built: Path) -> tuple[Path, str]:
    """The HTML briefing of the built report and its text."""
    (page,) = (built / "report").glob("*.html")
    return page, page.read_text(encoding="utf-8")


def test_html_is_written_beside_the_pdf_and_fetches_nothing(built: Path) -> None:
    page, text = _html(built)
    assert page.name == "bahan_rakor_tkpk_2026-06.html"
    assert page.name in (page.parent / "daftar_isi.txt").read_text(encoding="utf-8")
    assert (page.parent / "bahan_rakor_tkpk_2026-06.pdf").is_file()
    assert external_resources(text) == []
    assert "default-src 'none'" in text  # the browser refuses any fetch
    assert '<html lang="id">' in text
    assert text.count("<svg") == len(CHART_KEYS)  # every chart of the PDF, inline
    ids = Counter(re.findall(r'\sid="([^"]+)"', text))
    assert [i for i, n in ids.items() if n > 1] == []  # several SVGs, no shared id


def test_html_shows_the_pack_figures_formatted(built: Path) -> None:
    _, text = _html(built)
    poverty = analysis.pack_dir(_settings(built), "restricted").resolve()
    con = duckdb.connect()
    p0, poor, population = con.execute(
        f"select p0, poor_population, population from '{poverty / 'kelurahan_poverty.parquet'}' "
        "where area_level = 'kota' and period = '2026-06-01'"
    ).fetchone()
    assert f'id="p0-kota">{fmt.format_percent(p0)}<' in text
    assert f"{fmt.format_number(poor)} dari {fmt.format_number(population)} jiwa" in text
    names = [
        row[0]
        for row in con.execute(
            f"select area_name from '{poverty / 'kelurahan_poverty.parquet'}' "
            "where area_level = 'kelurahan' and period = '2026-06-01'"
        ).fetchall()
    ]
    assert len(names) == KELURAHAN
    table = text[text.index('id="tabel-kelurahan-data"') : text.index("</table>", text.index(
        'id="tabel-kelurahan-data"'))]  # fmt: skip
    assert table.count("<tr>") == KELURAHAN + 1  # header row + kelurahan; the city row is .total
    assert all(f"<td>{name}</td>" in table for name in names)
    tiles = json.loads(re.search(r'id="tile-data"[^>]*>(.*?)</script>', text, re.S).group(1))
    assert len(tiles) == KELURAHAN
    first = next(iter(tiles.values()))
    assert first["rows"][0][0] == "P0 (tingkat kemiskinan)"
    assert re.fullmatch(r"\d+,\d%|disensor", first["rows"][0][1])
    assert "Tingkat kemiskinan berbasis data registrasi" in text  # the cover's findings


def test_notes_use_line_scope_effective_date_and_data_coverage_when_present(tmp_path: Path):
    curated = tmp_path / "curated"
    write_curated_fixture(curated)
    settings = _settings(curated)
    folder = analysis.pack_dir(settings, "restricted").resolve()
    poverty = folder / "kelurahan_poverty.parquet"
    con = duckdb.connect()
    values = {
        "poverty_line_effective_from": "date '2026-01-01'",
        "poverty_line_scope": "'province'",
        "official_p0": "0.0672",
        "official_year": "2025",
        "registry_coverage": "0.61",
    }
    present = {row[0] for row in con.execute(f"describe select * from '{poverty}'").fetchall()}
    exclude = ", ".join(sorted(present & set(values)))
    con.execute(
        f"copy (select * {f'exclude ({exclude})' if exclude else ''}, "
        + ", ".join(f"{v} as {k}" for k, v in values.items())
        + f" from '{poverty}') to '{tmp_path / 'p.parquet'}'"
    )
    (tmp_path / "p.parquet").replace(poverty)
    con.execute(
        f"copy (select period, area_level, area_code, area_name, 5 as snapshot_age_months, "
        f"12 as households_quarantined from '{poverty}' where area_level = 'kota') "
        f"to '{folder / 'data_coverage.parquet'}'"
    )
    with analysis.open_pack(settings) as pack:
        data = load_report_data(pack)
    notes = " ".join(line_notes(data))
    assert "berlaku sejak 1 Januari 2026" in notes
    assert "dipinjam dari garis provinsi" in notes
    assert "Angka resmi BPS (Susenas) 2025: 6,7%" in notes
    assert "mencakup 61,0% penduduk" in notes
    coverage = " ".join(coverage_notes(data))
    assert "Cakupan data (tabel data_coverage, kota)" in coverage
    # labelled from the data dictionary when it documents the column, else by its name
    assert f"{_label('snapshot_age_months')}: 5" in coverage
    assert "households_quarantined: 12" in coverage
    text = render(data, [])  # the cover only: the charts are drawn by the other tests
    assert "dipinjam dari garis provinsi" in text and "data_coverage" in text
    assert 'id="tabel-cakupan-data"' in text and ">households_quarantined</th>" in text
