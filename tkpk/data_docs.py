"""Great Expectations Data Docs that work offline, with readable names.

GX 1.24's page templates load bootstrap, bootstrap-table, jQuery, popper, bootstrap-datepicker,
Font Awesome, bootstrap-dark and vega from public CDNs, and its logo from S3: opened on a machine
without internet, the index's lists of validation results stay empty (they are drawn by
bootstrap-table). ``make_offline(site)`` post-processes a built site:

- copies the vendored assets (``tkpk/assets/data_docs/vendor``: pinned npm packages, only the
  minified files the pages load, each with its licence; ``manifest.json`` lists them with their
  sha256 and the CDN URL each one replaces) into ``<site>/static/vendor/``;
- rewrites every known CDN URL of every page (and style sheet) to a relative path to that copy,
  points GX's S3 images at the site's own ``static/images/``, and drops ``integrity``/
  ``crossorigin`` attributes (a ``crossorigin`` script is refused on ``file://``);
- turns links to outside web sites into plain text, and removes any remaining tag that would
  load an ``http(s)`` resource (logged: a GX upgrade with a new CDN asset shows up there and in
  the tests, and the page still never reaches the network);
- gives each page a readable ``<title>`` (the run id, the suite, the page kind).

Post-processing the generated HTML (rather than overriding GX's templates) keeps working when a
template moves, as long as the URLs are the pinned ones; ``external_resources`` finds any left.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import shutil
from collections.abc import Mapping
from functools import cache
from pathlib import Path

log = logging.getLogger(__name__)

ASSETS_DIR = Path(__file__).parent / "assets" / "data_docs"
VENDOR_DIR = ASSETS_DIR / "vendor"
MANIFEST = ASSETS_DIR / "manifest.json"
#: Where the vendored assets go inside a site.
SITE_VENDOR = "static/vendor"
#: GX's own images (logo) on S3; the site ships them under static/images/.
_GX_ASSETS = re.compile(
    r"https://great-expectations-web-assets\.s3[A-Za-z0-9.\-]*\.amazonaws\.com/"
    r"(?P<name>[A-Za-z0-9_.\-]+?)(?:\?[^\"')\s]*)?(?=[\"')\s])"
)
_ATTRIBUTES = re.compile(r"\s(?:integrity|crossorigin)=(?:\"[^\"]*\"|'[^']*'|[^\s>]+)")
_EXTERNAL_LINK = re.compile(
    r"<a\b[^>]*\bhref=[\"']https?://[^\"']*[\"'][^>]*>(?P<text>.*?)</a>", re.DOTALL | re.I
)
#: Attributes and CSS that load a resource from an http(s) URL.
_RESOURCE = re.compile(
    r"(?:\b(?:src|href|srcset|poster|data)\s*=\s*[\"']?\s*|url\(\s*[\"']?\s*|@import\s+[\"'])"
    r"(?P<url>https?://[^\"'\s)>]+)",
    re.I,
)
_RESOURCE_TAG = re.compile(
    r"<(?P<tag>script|link|img|iframe|source|embed|object)\b[^>]*"
    r"\b(?:src|href|data)\s*=\s*[\"']?\s*https?://[^>]*>(?:\s*</(?P=tag)>)?",
    re.I,
)
_ANCHOR = re.compile(r"<a\b[^>]*>", re.I)
_TITLES = re.compile(r"<title>.*?</title>\s*", re.DOTALL | re.I)
#: A relative link into the site's static folder (GX gets the depth wrong for the favicon of
#: validation pages): re-anchored at the site root.
_STATIC_LINK = re.compile(r"(?P<quote>[\"'(])(?:\./|(?:\.\./)+)?static/")
#: The index's tables: every row on one page (GX pages them by 10), in run order.
_INDEX_OPTIONS = (
    (
        "'sortName': 'run_time', 'sortOrder': 'desc'",
        "'sortName': 'batch_identifier', 'sortOrder': 'asc'",
    ),
    ("'pagination': 'true'", "'pagination': 'true', 'pageSize': 1000"),
)
_NEWSLETTER = re.compile(r"<p>\s*Stay current on everything GX.*?</p>", re.DOTALL)


@cache
def manifest() -> dict:
    """The vendored packages (npm name@version, licence, files with sha256) and CDN URL map."""
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def url_map() -> dict[str, str]:
    """CDN URL -> path of the vendored file, relative to the site's ``static/vendor``."""
    return dict(manifest()["urls"])


def copy_assets(site: Path) -> Path:
    """Copy the vendored assets (with their licence files and the manifest) into the site."""
    target = site / SITE_VENDOR
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(VENDOR_DIR, target)
    shutil.copy2(MANIFEST, target / MANIFEST.name)
    return target


def external_resources(text: str) -> list[str]:
    """The http(s) URLs ``text`` (HTML or CSS) would load (``<a href>`` links to pages are not
    counted: nothing is fetched unless the reader follows them)."""
    text = _ANCHOR.sub("<a>", text)
    return [match.group("url") for match in _RESOURCE.finditer(text)]


def _relative_root(page: Path, site: Path) -> str:
    """``""``, ``"../"``, ``"../../"``...: from the page's folder up to the site root."""
    depth = len(page.parent.relative_to(site).parts)
    return "../" * depth


def rewrite(text: str, root: str, images: set[str]) -> tuple[str, list[str]]:
    """``text`` (a page or style sheet) with CDN URLs replaced by vendored paths under ``root``
    (the relative way up to the site root); returns the text and the external URLs it dropped."""
    for url, local in url_map().items():
        text = text.replace(url, f"{root}{SITE_VENDOR}/{local}")

    def gx_image(match: re.Match) -> str:
        name = match.group("name")
        return f"{root}static/images/{name if name in images else 'logo-long.png'}"

    text = _GX_ASSETS.sub(gx_image, text)
    text = _STATIC_LINK.sub(lambda m: f"{m.group('quote')}{root}static/", text)
    text = _ATTRIBUTES.sub("", text)
    text = _EXTERNAL_LINK.sub(lambda m: m.group("text"), text)
    dropped = [m.group(0) for m in _RESOURCE_TAG.finditer(text)]
    text = _RESOURCE_TAG.sub("", text)
    for url in external_resources(text):  # e.g. inside inline CSS: neutralised, never fetched
        dropped.append(url)
        text = text.replace(url, "about:blank")
    return text, dropped


def _retitle(text: str, title: str) -> str:
    """The page's ``<title>`` replaced by ``title`` (GX writes a generic one and an empty one)."""
    text = _TITLES.sub("", text)
    return text.replace("<head>", f"<head>\n    <title>{html.escape(title)}</title>", 1)


def kind_label(suite_name: str) -> str:
    """What a suite checks: the staged raw rows of one kind, or one published table."""
    if suite_name.startswith("stg_"):
        return f"data mentah {suite_name[4:]}"
    return "tabel terbit"


def page_title(relative: Path, run_name: str) -> str:
    """A readable title from a page's place in the site: the run, the suite and the kind."""
    parts = relative.parts
    if parts == ("index.html",):
        return f"Hasil validasi data · run {run_name}"
    if parts[0] == "expectations":
        suite = relative.with_suffix("").name
        return f"Suite {suite} (aturan, {kind_label(suite)}) · run {run_name}"
    if parts[0] == "validations" and len(parts) >= 3:
        suite = parts[1]
        return f"Validasi {relative.stem} · suite {suite} ({kind_label(suite)}) · run {run_name}"
    return f"Data Docs · run {run_name}"


def _describe_batch(text: str, batch: str) -> str:
    """Say what a validation page's batch was (its label: files, sample) where GX writes
    ``Data asset: None``."""
    line = f'<span class="h6">Batch:</span> {html.escape(batch)}<br>'
    return text.replace("Data asset: None<br>", line, 1)


def make_offline(site: Path, run_name: str, batches: Mapping[str, str] | None = None) -> list[str]:
    """Make a built GX site work without internet (see the module doc) and name its pages;
    ``batches`` maps a validation page's stem to the batch's label, written on the page.
    Returns what was dropped (empty with GX 1.24's pages: every asset they load is vendored)."""
    site = Path(site)
    copy_assets(site)
    images = {p.name for p in (site / "static" / "images").glob("*")}
    dropped: list[str] = []
    for path in sorted(site.rglob("*")):
        if path.suffix not in (".html", ".css") or SITE_VENDOR in path.relative_to(site).as_posix():
            continue
        text = path.read_text(encoding="utf-8")
        text, lost = rewrite(text, _relative_root(path, site), images)
        relative = path.relative_to(site)
        if relative.parts == ("index.html",):
            for old, new in _INDEX_OPTIONS:
                text = text.replace(old, new)
        if relative.parts[0] == "validations" and path.stem in (batches or {}):
            text = _describe_batch(text, batches[path.stem])
        if path.suffix == ".html":
            text = _NEWSLETTER.sub("", text)
            text = _retitle(text, page_title(relative, run_name))
        dropped += lost
        path.write_text(text, encoding="utf-8")
    for item in sorted(set(dropped)):
        log.warning("data docs: external resource removed (not vendored): %s", item[:200])
    return dropped


def relative_link(page: Path, site: Path) -> str:
    """A page's path from the site root, with ``/`` separators (for an index or a manifest)."""
    return os.path.relpath(page, site).replace(os.sep, "/")
