"""Re-vendor the Data Docs assets from the npm registry (developer tool, not run by the pipeline).

    python tkpk/assets/data_docs/vendor.py          # npm pack each package, copy, hash
    python tkpk/assets/data_docs/vendor.py --check    # only re-hash the committed files

Each package is fetched with ``npm pack NAME@VERSION`` (pinned versions: those GX 1.24's page
templates name; vega, vega-lite and vega-embed at the newest 5.x / 5.x / 6.x that the templates'
``@5``/``@6`` resolve to), and only the minified files the pages load are kept, with the package's
licence file. Paths drop the packages' ``dist/``/``build/`` folder (ignored by git). Two packages
ship no licence file (vega, popper.js): their ``LICENSE`` here is the repository's licence text,
kept when re-vendoring. ``manifest.json`` records every file's sha256 and the CDN URL each
replaces; ``tkpk.data_docs`` reads it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
VENDOR = HERE / "vendor"

#: npm package, version, SPDX licence, folder here, {file in the tarball: file here}.
PACKAGES = [
    ("bootstrap", "4.3.1", "MIT", "bootstrap-4.3.1", {
        "LICENSE": "LICENSE",
        "dist/css/bootstrap.min.css": "css/bootstrap.min.css",
        "dist/js/bootstrap.min.js": "js/bootstrap.min.js"}),
    ("bootstrap-table", "1.19.1", "MIT", "bootstrap-table-1.19.1", {
        "LICENSE": "LICENSE",
        "dist/bootstrap-table.min.css": "bootstrap-table.min.css",
        "dist/bootstrap-table.min.js": "bootstrap-table.min.js",
        "dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
            "extensions/filter-control/bootstrap-table-filter-control.min.css",
        "dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
            "extensions/filter-control/bootstrap-table-filter-control.min.js"}),
    ("jquery", "3.7.1", "MIT", "jquery-3.7.1", {
        "LICENSE.txt": "LICENSE.txt", "dist/jquery.min.js": "jquery.min.js"}),
    ("popper.js", "1.12.9", "MIT", "popper.js-1.12.9", {
        "dist/umd/popper.min.js": "umd/popper.min.js"}),
    ("bootstrap-datepicker", "1.9.0", "Apache-2.0", "bootstrap-datepicker-1.9.0", {
        "LICENSE": "LICENSE",
        "dist/css/bootstrap-datepicker.min.css": "css/bootstrap-datepicker.min.css",
        "dist/js/bootstrap-datepicker.min.js": "js/bootstrap-datepicker.min.js"}),
    ("@forevolve/bootstrap-dark", "1.1.0", "MIT", "bootstrap-dark-1.1.0", {
        "LICENSE": "LICENSE",
        "dist/css/bootstrap-prefers-dark.min.css": "css/bootstrap-prefers-dark.min.css"}),
    ("@fortawesome/fontawesome-free", "6.6.0", "CC-BY-4.0 AND OFL-1.1 AND MIT",
     "fontawesome-free-6.6.0", {
        "LICENSE.txt": "LICENSE.txt",
        "css/all.min.css": "css/all.min.css",
        **{f"webfonts/{w}.woff2": f"webfonts/{w}.woff2" for w in (
            "fa-brands-400", "fa-regular-400", "fa-solid-900", "fa-v4compatibility")}}),
    ("vega", "5.33.1", "BSD-3-Clause", "vega-5.33.1", {"build/vega.min.js": "vega.min.js"}),
    ("vega-lite", "5.23.0", "BSD-3-Clause", "vega-lite-5.23.0", {
        "LICENSE": "LICENSE", "build/vega-lite.min.js": "vega-lite.min.js"}),
    ("vega-embed", "6.29.0", "BSD-3-Clause", "vega-embed-6.29.0", {
        "LICENSE": "LICENSE", "build/vega-embed.min.js": "vega-embed.min.js"}),
]  # fmt: skip

#: The URLs GX 1.24's templates load, and the vendored file each becomes.
URLS = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css":
        "bootstrap-4.3.1/css/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js":
        "bootstrap-4.3.1/js/bootstrap.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css":
        "bootstrap-table-1.19.1/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js":
        "bootstrap-table-1.19.1/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.js":
        "bootstrap-table-1.19.1/extensions/filter-control/bootstrap-table-filter-control.min.js",
    # the templates name 1.19.0 for the filter-control style sheet: the 1.19.1 one replaces it
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.css":
        "bootstrap-table-1.19.1/extensions/filter-control/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.css":
        "bootstrap-table-1.19.1/extensions/filter-control/bootstrap-table-filter-control.min.css",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery-3.7.1/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js":
        "popper.js-1.12.9/umd/popper.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/"
    "bootstrap-datepicker.min.js": "bootstrap-datepicker-1.9.0/js/bootstrap-datepicker.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/"
    "bootstrap-datepicker.min.css": "bootstrap-datepicker-1.9.0/css/bootstrap-datepicker.min.css",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/"
    "bootstrap-prefers-dark.css": "bootstrap-dark-1.1.0/css/bootstrap-prefers-dark.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css":
        "fontawesome-free-6.6.0/css/all.min.css",
    "https://cdn.jsdelivr.net/npm/vega@5": "vega-5.33.1/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite-5.23.0/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed-6.29.0/vega-embed.min.js",
}  # fmt: skip

COMMENT = (
    "Assets of GX 1.24's Data Docs templates, vendored from the npm registry by vendor.py "
    "(npm pack NAME@VERSION; only the minified files the pages load, with each licence). "
    "tkpk.data_docs copies vendor/ into each site's static/vendor/ and rewrites the CDN URLs "
    "below to them."
)


def fetch() -> None:
    """npm pack every package and copy its files into vendor/."""
    with tempfile.TemporaryDirectory() as temp:
        for name, version, _licence, folder, files in PACKAGES:
            out = subprocess.run(
                ["npm", "pack", f"{name}@{version}", "--silent"],
                cwd=temp, check=True, capture_output=True, text=True,
            ).stdout.strip().splitlines()[-1]  # fmt: skip
            with tarfile.open(Path(temp) / out) as tar:
                for source, target in files.items():
                    member = tar.extractfile(f"package/{source}")
                    path = VENDOR / folder / target
                    path.parent.mkdir(parents=True, exist_ok=True)
                    with path.open("wb") as handle:
                        shutil.copyfileobj(member, handle)


def write_manifest() -> dict:
    """Hash the committed files into manifest.json."""
    packages = []
    for name, version, licence, folder, _files in PACKAGES:
        hashes = {
            path.relative_to(VENDOR).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted((VENDOR / folder).rglob("*"))
            if path.is_file()
        }
        licence_files = [f for f in hashes if Path(f).name.startswith("LICENSE")]
        if not licence_files:
            raise SystemExit(f"{name}: no licence file in vendor/{folder}")
        packages.append(
            {"npm": f"{name}@{version}", "license": licence, "folder": folder,
             "licence_file": licence_files[0], "files": hashes}
        )  # fmt: skip
    for url, local in URLS.items():
        if not (VENDOR / local).is_file():
            raise SystemExit(f"{url}: vendor/{local} is missing")
    manifest = {"comment": COMMENT, "packages": packages, "urls": URLS}
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


if __name__ == "__main__":
    if "--check" not in sys.argv:
        fetch()
    write_manifest()
