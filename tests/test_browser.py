"""In a real browser, offline: a run's Data Docs and the HTML briefing render completely.

A small generated drop (300 households, six months) goes through ``tkpk run`` and
``tkpk report --html`` (the commands of the README, in a subprocess); headless Chromium
(Debian's package, driven over the DevTools protocol: tests/browser_support.py) opens the pages
with every non-file request failed and recorded. Screenshots go to each test's tmp_path.

Without a chromium on PATH the tests skip, unless ``TKPK_REQUIRE_BROWSER=1`` (set by .ci/run,
which installs Debian's chromium when missing).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from browser_support import Browser, chromium_path

from tkpk import formatting as fmt
from tkpk.config import EXPECTATIONS_DIR
from tkpk.data_docs import external_resources

pytestmark = pytest.mark.browser

if not chromium_path():
    if os.environ.get("TKPK_REQUIRE_BROWSER") == "1":
        raise RuntimeError(
            "TKPK_REQUIRE_BROWSER=1 but no chromium on PATH (apt-get install chromium)"
        )
    pytest.skip("no chromium on PATH (apt-get install chromium)", allow_module_level=True)

KELURAHAN = 27
ROWS = (
    "document.querySelectorAll('table.ge-index-page-validation-results-table tbody tr[data-index]')"
)


def _tkpk(*args: str, env: dict[str, str]) -> str:
    """Run the ``tkpk`` command (this checkout's code) and return its output."""
    result = subprocess.run(
        [sys.executable, "-m", "tkpk.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="module")
def drop(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A generated drop, one nightly run, and the briefing with its HTML version."""
    root = tmp_path_factory.mktemp("browser")
    raw, out, db = root / "raw", root / "curated", root / "warehouse.duckdb"
    env = {
        **os.environ,
        # every path the commands use is the test's own: `tkpk report` audits against the
        # warehouse of the settings, never the checkout's data/warehouse.duckdb of `make run`
        "TKPK_RAW": str(raw),
        "TKPK_OUT": str(out),
        "TKPK_DB": str(db),
        "TKPK_PSEUDONYM_KEY": "browser-test-key",
        "TKPK_TEMP": str(root / "tmp"),
        "TKPK_LOCAL_KEY_FILE": str(root / "local.key"),
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]
        ),
    }
    _tkpk("synth", "--households", "300", "--months", "2026-01:2026-06", "--out", str(raw),
          "--side", str(root / "synth"), env=env)  # fmt: skip
    _tkpk("run", "--raw", str(raw), "--out", str(out), "--db", str(db), env=env)
    _tkpk("report", "--out", str(out), "--html", env=env)
    (run_dir,) = [p for p in (out / "data_docs").iterdir() if p.is_dir()]
    (html,) = (out / "report").glob("bahan_rakor_tkpk_*.html")
    return {"out": out, "run": run_dir.name, "site": run_dir, "html": html}


@pytest.fixture(scope="module")
def browser():
    with Browser() as opened:
        yield opened


def _sql(query: str) -> duckdb.DuckDBPyConnection:
    """A query on the Parquet files of the packs (a fresh in-memory DuckDB), ready to fetch."""
    return duckdb.connect().execute(query)


def _expected_batches(out: Path, run: str) -> int:
    """Validated batches of the run, counted from the pack (not from the docs): one per raw kind
    with a file loaded by this run, one per published table that has an output suite."""
    restricted = out / "restricted"
    kinds = _sql(
        f"select count(distinct kind) from '{restricted / 'data_quality.parquet'}' "
        f"where run_id = '{run}' and file_outcome = 'loaded'"
    ).fetchone()[0]
    tables = [p.stem for p in restricted.glob("*.parquet")]
    suites = sum((EXPECTATIONS_DIR / f"{table}.json").exists() for table in tables)
    return kinds + suites


def test_data_docs_index_lists_every_validated_batch(drop, browser, tmp_path):
    site, run = drop["site"], drop["run"]
    expected = _expected_batches(drop["out"], run)
    assert expected >= 10  # five raw kinds and the published tables
    page = browser.open(site / "index.html")
    shown = page.wait_for(f"{ROWS}.length")
    page.screenshot(tmp_path / "data_docs_index.png")
    assert shown == expected
    rows = page.evaluate(f"Array.from({ROWS}).map(r => [r.getAttribute('data-href'), r.innerText])")
    listing = json.loads((site / "validations.json").read_text(encoding="utf-8"))
    assert sorted(href for href, _ in rows) == sorted(e["page"] for e in listing["validations"])
    for href, text in rows:
        assert (site / href).is_file(), href
        assert run in text
        assert ".csv" not in text and ".xlsx" not in text, text  # no raw file name
    assert page.evaluate("document.title") == f"Hasil validasi data · run {run}"
    assert page.evaluate("document.querySelectorAll('i.fas').length") >= expected  # icons
    assert page.evaluate(  # Font Awesome's font really loaded (not a CDN fallback)
        "document.fonts.check('900 16px \"Font Awesome 6 Free\"')"
    )
    assert page.blocked == [] and page.errors == []

    first = listing["validations"][0]
    detail = browser.open(site / first["page"])
    detail.wait_for("document.querySelector('.ge-section') !== null")
    detail.screenshot(tmp_path / "data_docs_validation.png")
    assert detail.evaluate("document.title").startswith(f"Validasi {first['batch_id']} · suite")
    assert detail.blocked == [] and detail.errors == []
    runs = browser.open(drop["out"] / "data_docs" / "index.html")
    assert runs.evaluate("document.querySelectorAll('li a').length") == 1
    assert runs.blocked == [] and runs.errors == []


def test_html_briefing_shows_the_pack_figures_offline(drop, browser, tmp_path):
    html = drop["html"]
    text = html.read_text(encoding="utf-8")
    assert external_resources(text) == []
    poverty = drop["out"] / "restricted" / "kelurahan_poverty.parquet"
    period, p0 = _sql(
        f"select period, p0 from '{poverty}' where area_level = 'kota' order by period desc limit 1"
    ).fetchone()
    names = {
        row[0]
        for row in _sql(
            f"select area_name from '{poverty}' where area_level = 'kelurahan' "
            f"and period = '{period}'"
        ).fetchall()
    }
    assert len(names) == KELURAHAN

    page = browser.open(html)
    page.screenshot(tmp_path / "html_briefing.png")
    assert page.evaluate("document.getElementById('p0-kota').textContent") == fmt.format_percent(p0)
    assert page.evaluate("document.title").endswith(fmt.format_period(period))
    table = "#tabel-kelurahan-data tbody tr:not(.total)"
    shown = page.evaluate(
        f"Array.from(document.querySelectorAll('{table}')).map(r => r.cells[0].textContent)"
    )
    assert len(shown) == KELURAHAN and set(shown) == names
    assert page.evaluate("document.querySelectorAll('.tilemap .tile').length") == KELURAHAN
    # the 9 charts and the two decision pages (profiles; dynamics: the drop has two snapshots)
    assert page.evaluate("document.querySelectorAll('svg.chart').length") == 9 + 2
    # hovering a tile shows that kelurahan's figures
    x, y, code = page.evaluate(
        "(() => { const t = document.querySelector('.tilemap .tile'); t.scrollIntoView("
        "{block: 'center'}); const r = t.getBoundingClientRect(); "
        "return [r.x + r.width / 2, r.y + r.height / 2, t.dataset.code]; })()"
    )
    page.send("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
    tip = page.wait_for("document.getElementById('tile-tip').getAttribute('data-code')")
    assert tip == code
    assert "P0 (tingkat kemiskinan)" in page.evaluate(
        "document.getElementById('tile-tip').innerText"
    )
    page.screenshot(tmp_path / "html_briefing_hover.png")
    # sorting by P0 (descending on the second click) puts the highest first; the city stays last
    page.evaluate(
        "(() => { const th = Array.from(document.querySelectorAll('#tabel-kelurahan-data th'))"
        ".find(h => h.textContent === 'P0'); th.click(); th.click(); })()"
    )
    highest = _sql(
        f"select max(p0) from '{poverty}' where area_level = 'kelurahan' and period = '{period}'"
    ).fetchone()[0]
    first = page.evaluate(f"document.querySelector('{table}').cells[4].dataset.v")
    assert float(first) == pytest.approx(highest, abs=1e-12)
    assert page.evaluate("document.querySelector('#tabel-kelurahan-data tbody tr:last-child')"
                         ".classList.contains('total')")  # fmt: skip
    # filtering keeps the matching kelurahan only
    name = sorted(names)[0]
    page.evaluate(
        "(() => { const i = document.querySelector('input[data-filter=\"tabel-kelurahan-data\"]');"
        f" i.value = {json.dumps(name)}; i.dispatchEvent(new Event('input')); }})()"
    )
    visible = page.evaluate(
        f"Array.from(document.querySelectorAll('{table}')).filter(r => !r.hidden)"
        ".map(r => r.cells[0].textContent)"
    )
    assert name in visible and len(visible) < KELURAHAN
    assert page.blocked == [] and page.errors == []
