"""The decision pages of the briefing pack: profile heat map, entries/exits with the program
receipt cross-tab (labelled not causal), and packs without the decision tables."""

from __future__ import annotations

from pathlib import Path

import pytest
from curated_fixture import write_curated_fixture

from tkpk import analysis
from tkpk.config import Settings
from tkpk.report import build_charts, load_report_data, style
from tkpk.report.decisions import GROUP_LABELS, NOT_CAUSAL, receipt_crosstab


@pytest.fixture(scope="module")
def curated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("decisions") / "curated"
    write_curated_fixture(folder)
    return folder


def charts_of(curated: Path, pack: str = "restricted") -> dict:
    settings = Settings(curated_dir=curated, temp_dir=curated.parent / "tmp", duckdb_threads=1)
    with analysis.open_pack(settings, pack) as opened:
        data = load_report_data(opened)
    return data, {chart.key: chart for chart in build_charts(data)}


def test_profile_page_names_every_group_and_kelurahan(curated):
    data, charts = charts_of(curated)
    page = charts["10_profil_kelompok"]
    texts = page.texts()
    for label in GROUP_LABELS.values():
        assert any(label.replace(" ", "") in t.replace("\n", "").replace(" ", "") for t in texts)
    assert "Medono" in texts
    # the "highest" line names kelurahan x group cells of 10+ persons, highest P0 first
    top = page.details["top"]
    rows = data.profile[(data.profile["area_level"] == "kelurahan")
                        & (data.profile["population"] >= 10)].dropna(subset=["p0"])
    best = rows.sort_values(["p0", "area_name"], ascending=[False, True]).iloc[0]
    assert top[0].startswith(f"{best['area_name']}: {GROUP_LABELS[best['profile_group']]}")
    for chart in charts.values():
        style.close(chart.figure)


def test_transitions_page_crosstab_and_not_causal_label(curated):
    data, charts = charts_of(curated)
    page = charts["11_dinamika_kemiskinan"]
    assert page.details["pair"] == ("Mei 2026", "Juni 2026")
    city = data.transitions[(data.transitions["area_level"] == "kota")
                            & (data.transitions["snapshot_to"].astype(str) == "2026-06-01")]
    row = city.iloc[0]
    table = page.details["crosstab"]
    assert table.loc["Keluar dari kemiskinan", "Menerima program"] == row[
        "exited_poverty_recipient_households"]
    assert table.to_numpy().sum() == row["exited_poverty_households"] + row[
        "stayed_poor_households"]
    assert NOT_CAUSAL in page.footer
    assert "BUKAN" in " ".join(page.texts())
    for chart in charts.values():
        style.close(chart.figure)


def test_receipt_crosstab_by_hand():
    import pandas as pd

    table = receipt_crosstab(pd.Series({
        "exited_poverty_households": 10, "stayed_poor_households": 30,
        "exited_poverty_recipient_households": 4, "stayed_poor_recipient_households": 21}))
    assert table.to_numpy().tolist() == [[4, 6], [21, 9]]


def test_bappeda_pack_draws_the_pages_too(curated):
    _, charts = charts_of(curated, "bappeda")
    assert {"10_profil_kelompok", "11_dinamika_kemiskinan"} <= set(charts)
    for chart in charts.values():
        style.close(chart.figure)


def test_a_pack_without_the_decision_tables_has_no_decision_pages(tmp_path):
    curated = tmp_path / "curated"
    write_curated_fixture(curated)
    for name in ("poverty_profile", "poverty_transitions"):
        (curated / "restricted" / f"{name}.parquet").unlink()
    _, charts = charts_of(curated)
    assert "10_profil_kelompok" not in charts and "11_dinamika_kemiskinan" not in charts
    for chart in charts.values():
        style.close(chart.figure)
