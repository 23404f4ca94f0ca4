"""Offline Data Docs (tkpk.data_docs): vendored assets, rewritten pages, readable names.

The browser check of a whole run's site is in test_browser.py; these run without a browser.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from test_validation import SUITE as PEOPLE_SUITE
from test_validation import people  # noqa: F401 - the fixture

from tkpk import data_docs
from tkpk.validation import build_data_docs, validate_table

FIVE_MB = 5 * 1024 * 1024
#: A staging-like suite (its name says "raw rows of kind people").
SUITE = {**PEOPLE_SUITE, "name": "stg_people"}
#: What an office may type into a file name: must never reach a URL or a title.
RAW_FILE = "salur_bpnt_bni_202602 (Bu Sri; revisi #2).csv"


def test_every_vendored_file_is_listed_hashed_licensed_and_small():
    manifest = data_docs.manifest()
    listed = {}
    for package in manifest["packages"]:
        assert re.fullmatch(r"\S+@\d+\.\d+\.\d+", package["npm"]), package["npm"]
        assert package["license"]
        licence = data_docs.VENDOR_DIR / package["licence_file"]
        assert licence.is_file() and licence.stat().st_size > 200, licence
        listed.update(package["files"])
    on_disk = {
        p.relative_to(data_docs.VENDOR_DIR).as_posix(): p
        for p in data_docs.VENDOR_DIR.rglob("*")
        if p.is_file()
    }
    assert set(on_disk) == set(listed)
    for name, path in on_disk.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == listed[name], name
        assert path.stat().st_size < FIVE_MB, name
        if path.suffix in (".js", ".css"):
            assert ".min." in path.name, f"{name}: only minified files are vendored"
    for url, local in manifest["urls"].items():
        assert url.startswith("https://")
        assert (data_docs.VENDOR_DIR / local).is_file(), url


def test_gx_templates_load_only_vendored_urls():
    """Every http(s) resource in GX 1.24's page templates is one the manifest replaces (a GX
    upgrade that adds a CDN asset fails here, not in an office without internet)."""
    import great_expectations

    templates = Path(great_expectations.__file__).parent / "render" / "view" / "templates"
    known = set(data_docs.url_map())
    found = set()
    for template in templates.glob("*.j2"):
        for url in data_docs.external_resources(template.read_text(encoding="utf-8")):
            found.add(url)
    assert found, "no CDN URL found in GX's templates: has the template layout changed?"
    s3 = {u for u in found if "great-expectations-web-assets" in u}
    assert found - s3 <= known, sorted(found - s3 - known)


def test_rewrite_points_cdn_urls_at_the_site_and_drops_what_it_cannot_serve():
    page = (
        '<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/'
        'bootstrap.min.css"/>\n<script src="https://cdnjs.cloudflare.com/ajax/libs/popper.js/'
        '1.12.9/umd/popper.min.js" integrity="sha384-x" crossorigin="anonymous"></script>\n'
        '<script src="https://evil.example/track.js"></script>\n'
        '<img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/'
        'logo-long.png?d=20260101T000000Z">\n'
        '<a href="https://greatexpectations.io">Great Expectations</a>\n'
        '<a href="../index.html">Home</a><link rel="icon" href="./static/images/favicon.ico">\n'
        "<style>.x { background: url('https://cdn.example/bg.png') }</style>"
    )
    text, dropped = data_docs.rewrite(page, "../../", {"logo-long.png", "favicon.ico"})
    assert 'href="../../static/vendor/bootstrap-4.3.1/css/bootstrap.min.css"' in text
    assert '<script src="../../static/vendor/popper.js-1.12.9/umd/popper.min.js"></script>' in text
    assert 'src="../../static/images/logo-long.png"' in text
    assert 'href="../../static/images/favicon.ico"' in text
    assert "Great Expectations" in text and "greatexpectations.io" not in text
    assert 'href="../index.html"' in text
    assert "evil.example" not in text and "cdn.example" not in text
    assert any("evil.example" in d for d in dropped) and any("cdn.example" in d for d in dropped)
    assert data_docs.external_resources(text) == []


def test_site_works_offline_with_readable_names(people, tmp_path):  # noqa: F811
    outcome = validate_table(people, "people", SUITE, batch_name=f"2 files: {RAW_FILE}, x.xlsx")
    again = validate_table(people, "people", SUITE, batch_name="kelurahan_poverty (export)")
    site = tmp_path / "docs"
    index = build_data_docs([outcome, again], site, run_name="20260701T020000Z-abcdef")
    pages = sorted(site.rglob("*.html"))
    assert index in pages
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert data_docs.external_resources(text) == [], page
        assert "crossorigin" not in text and "integrity=" not in text
        assert "20260701T020000Z-abcdef" in re.search(r"<title>(.*?)</title>", text).group(1)
        assert str(tmp_path) not in text and ".tmp" not in text
    for css in site.glob("static/styles/*.css"):
        assert data_docs.external_resources(css.read_text(encoding="utf-8")) == [], css
    validation_pages = [p for p in pages if "validations" in p.parts]
    assert [p.name for p in validation_pages] == ["01-stg_people.html", "02-stg_people.html"]
    for page in validation_pages:  # no raw file name in a URL
        assert "salur" not in str(page.relative_to(site))
    first = validation_pages[0].read_text(encoding="utf-8")
    assert "<title>Validasi 01-stg_people · suite stg_people (data mentah people)" in first
    assert "salur_bpnt_bni_202602 (Bu Sri; revisi #2).csv" in first  # said on the page
    assert "__none__" not in first and "Validations / stg_people / 20260701T020000Z-abcdef" in first
    index_text = index.read_text(encoding="utf-8")
    assert "Data Docs</strong> | tkpk 20260701T020000Z-abcdef" in index_text
    assert "'pageSize': 1000" in index_text
    # every linked vendored asset exists, relative to the page
    for page in pages:
        for link in re.findall(r'(?:src|href)="([^"#?]+)"', page.read_text(encoding="utf-8")):
            if "static/" in link:
                assert (page.parent / link).resolve().is_file(), (page, link)
    listing = json.loads((site / "validations.json").read_text(encoding="utf-8"))
    assert [e["batch_id"] for e in listing["validations"]] == ["01-stg_people", "02-stg_people"]
    assert all((site / e["page"]).is_file() for e in listing["validations"])
    assert (site / "static" / "vendor" / "manifest.json").is_file()
    assert (site / "static" / "vendor" / "jquery-3.7.1" / "LICENSE.txt").is_file()


def test_sites_of_earlier_runs_are_made_offline_too(people, settings):  # noqa: F811
    from tkpk.validation import publish_data_docs

    old = settings.data_docs_dir / "20260601T020000Z-old000"
    (old / "static" / "images").mkdir(parents=True)
    (old / "index.html").write_text(
        '<html><head><title>x</title><script src="https://code.jquery.com/jquery-3.7.1.min.js">'
        "</script></head><body></body></html>",
        encoding="utf-8",
    )
    outcome = validate_table(people, "people", SUITE, batch_name="people.csv")
    publish_data_docs([outcome], settings, "20260701T020000Z-aaaaaa")
    text = (old / "index.html").read_text(encoding="utf-8")
    assert data_docs.external_resources(text) == []
    assert 'src="static/vendor/jquery-3.7.1/jquery.min.js"' in text
    assert "run 20260601T020000Z-old000" in text


def test_kept_suite_pages_are_not_rendered_again(people, tmp_path, monkeypatch):  # noqa: F811
    from great_expectations.render.renderer.page_renderer import ExpectationSuitePageRenderer

    from tkpk.validation import _suite_page_key

    run = "20260701T020000Z-abcdef"
    outcome = validate_table(people, "people", SUITE, batch_name="people.csv")
    kept = tmp_path / "kept"
    plain = tmp_path / "plain"
    first = tmp_path / "first"
    build_data_docs([outcome], plain, run_name=run)
    build_data_docs([outcome], first, run_name=run, suite_pages=kept)
    assert len(list(kept.glob("*.html"))) == 1

    def refuse(*args, **kwargs):
        raise AssertionError("a kept suite page was rendered again")

    monkeypatch.setattr(ExpectationSuitePageRenderer, "render", refuse)
    second = tmp_path / "second"
    build_data_docs([outcome], second, run_name=run, suite_pages=kept)
    page = Path("expectations", "stg_people.html")
    expected = (plain / page).read_bytes()
    assert (first / page).read_bytes() == expected and (second / page).read_bytes() == expected
    index = (second / "index.html").read_text(encoding="utf-8")
    assert 'href="expectations/stg_people.html"' in index  # GX's index lists the kept page
    changed = {"name": "stg_people", "expectations": [
        {"type": "expect_column_to_exist", "kwargs": {"column": "nik"}}]}  # fmt: skip
    assert _suite_page_key(changed) != _suite_page_key({"name": "stg_people", "expectations": []})
