"""Reuse of the published version's files for the tables whose content did not change.

On an incremental night most curated tables are the same as the night before (only the periods
and households the new file touched are recomputed). A restricted table whose export would be the
same bytes as the published version's file need not be written, validated or hashed again: its
file is hard-linked (else copied) into the staging folder, and the publish goes on as before
(the Bappeda pack, the personal-data audit, the manifests and the atomic swap see the same files
as a full publish would write).

"The same bytes" is decided by a fingerprint per table (``fingerprints``), recorded in each
published version (``REUSE_STATE``, no personal data in it): a digest of the warehouse table's
rows (count, sum and xor of DuckDB row hashes), its column types, the export SELECT, the
pseudonym key's id (for the pseudonymised tables), the table's output suite and the warehouse
tables the suite reads (reference tables), and the code that writes and validates the exports
(``code_digest``: the publish modules and SQL templates, the engine's and writers' versions).
A table is reused only when its fingerprint equals the published version's and the published
file still has the checksum its manifest lists (a file changed on disk is written again).

The correction lists (``restricted/verivali/``) are derived from ``data_quality_field`` alone: when
that table is reused they are linked too (each checked against the manifest). The Bappeda pack
is always derived again (its secondary suppression spans every Bappeda table).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from functools import cache
from pathlib import Path

import duckdb

import tkpk
from tkpk.config import PROJECT_ROOT
from tkpk.publish.manifest import MANIFEST, sha256_file
from tkpk.publish.privacy import read_json_state
from transforms.models import read_tables

#: The reuse state written into each published version folder (fingerprints only).
REUSE_STATE = "publish_reuse.json"
STATE_FORMAT = 1
#: The sources whose text decides the exported bytes and the output suites' verdicts.
CODE_FILES = (
    "tkpk/publish/packs.py",
    "tkpk/publish/dictionary.py",
    "tkpk/publish/pseudonym.py",
    "tkpk/publish/suppression.py",
    "tkpk/publish/suites.py",
    "tkpk/publish/verivali.py",
    "tkpk/publish/reuse.py",
    "tkpk/suite_run.py",
    "tkpk/suite_sql.py",
    "transforms/analysis/verivali_sheet_rows.sql",
)
CODE_FOLDERS = ("transforms/publish",)


@cache
def code_digest() -> str:
    """SHA-256 of the code that writes and validates the exports, and of the engine's and the
    writers' versions (any change: nothing is reused)."""
    import pyarrow
    import xlsxwriter

    digest = hashlib.sha256()
    paths = [PROJECT_ROOT / name for name in CODE_FILES]
    for folder in CODE_FOLDERS:
        paths += sorted((PROJECT_ROOT / folder).glob("*.sql"))
    for path in paths:
        digest.update(path.relative_to(PROJECT_ROOT).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() if path.exists() else b"<missing>")
        digest.update(b"\0")
    versions = [tkpk.__version__, duckdb.__version__, pyarrow.__version__, xlsxwriter.__version__]
    digest.update(json.dumps(versions).encode())
    return digest.hexdigest()


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _mirrored(column: str, data_type: str) -> str:
    """``column`` as the second row hash reads it: text backwards (nested values as their text).

    DuckDB's hash of a text mixes it eight bytes at a time, and two texts that differ only in the
    high bytes of consecutive words collide often (about 8 % of the 3.7 M distinct NIKs of the 1M
    benchmark share a hash with another; "kode-003abcdefg5" and "kode-008abcdefg2" do). Read
    backwards, those bytes become low bytes, which the mixing spreads: a text pair must collide
    both ways to leave the digest unchanged."""
    name = _q(column)
    if data_type == "VARCHAR":
        return f"reverse({name})"
    if "VARCHAR" in data_type or "JSON" in data_type:
        return f"reverse(cast({name} as varchar))"
    return name


def table_digest(con: duckdb.DuckDBPyConnection, table: str) -> list:
    """Rows, column types and an order-independent digest of ``table``'s rows: the sum of the
    rows' hashes and the xor of a second hash of each row with its texts read backwards
    (``_mirrored``). Equal for equal contents, different otherwise (but for a collision of both
    hashes)."""
    columns = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_name = ? and table_schema = current_schema() order by ordinal_position",
        [table],
    ).fetchall()
    mirrored = ", ".join(_mirrored(name, data_type) for name, data_type in columns)
    rows, total, mixed = con.execute(
        "select count(*), cast(coalesce(sum(hash(_row)::hugeint), 0) as varchar), "
        f"cast(coalesce(bit_xor(hash({mirrored}, 'tkpk')), 0) as varchar) from {_q(table)} _row"
    ).fetchone()
    return [[list(c) for c in columns], rows, total, mixed]


def _warehouse_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        name for (name,) in con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = current_schema()"
        ).fetchall()
    }


#: The name the validated rows (``{batch}``) stand under while a suite's queries are parsed.
_BATCH = "_validated_batch"


def suite_reads(suite: Path) -> frozenset[str]:
    """The tables an output suite's ``unexpected_rows_expectation`` queries read besides the
    validated rows, found with DuckDB's parser (``transforms.models.read_tables``)."""
    document = json.loads(suite.read_bytes()) if suite.exists() else {}
    tables: set[str] = set()
    for expectation in document.get("expectations", []):
        query = expectation.get("kwargs", {}).get("unexpected_rows_query")
        if query:
            tables |= read_tables(str(query).replace("{batch}", _BATCH), suite.name)
    return frozenset(tables - {_BATCH})


def fingerprints(
    con: duckdb.DuckDBPyConnection,
    selects: dict[str, str],
    suites: dict[str, Path],
    key_ids: dict[str, str | None],
) -> dict[str, str]:
    """table -> the fingerprint of its restricted export (see the module doc): ``selects`` the
    export SELECT of each table, ``suites`` its output suite's file, ``key_ids`` the pseudonym
    key id it depends on (None: no pseudonym)."""
    tables = _warehouse_tables(con)
    digests: dict[str, list] = {}

    def digest_of(name: str) -> list:
        if name not in digests:
            digests[name] = table_digest(con, name)
        return digests[name]

    out = {}
    for name, select in selects.items():
        suite = suites[name].read_bytes() if suites[name].exists() else b""
        read = sorted(suite_reads(suites[name]) & tables)
        parts = {
            "code": code_digest(),
            "select": select,
            "key_id": key_ids.get(name),
            "table": digest_of(name),
            "suite": hashlib.sha256(suite).hexdigest(),
            "suite_reads": {other: digest_of(other) for other in read if other != name},
        }
        out[name] = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
    return out


def read_state(version: Path | None) -> dict | None:
    """The reuse state of a published version folder, or None when absent or unreadable."""
    return read_json_state(version / REUSE_STATE if version else None, STATE_FORMAT)


def write_state(version: Path, tables: dict[str, str]) -> Path:
    """Write the fingerprints of the exported tables into a (staged) version folder."""
    path = version / REUSE_STATE
    state = {"format": STATE_FORMAT, "tables": tables}
    path.write_text(json.dumps(state, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def _manifest_checksums(pack_dir: Path) -> dict[str, str]:
    """path -> SHA-256 of the files a published pack's manifest lists ({} when unreadable)."""
    try:
        document = json.loads((pack_dir / MANIFEST).read_text(encoding="utf-8"))
        return {entry["path"]: entry["sha256"] for entry in document["files"]}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _intact(pack_dir: Path, relative: str, checksums: dict[str, str]) -> bool:
    """True when the published file ``relative`` exists with its manifest's checksum."""
    path = pack_dir / relative
    return path.is_file() and checksums.get(relative) == sha256_file(path)


def reusable_files(
    previous: Path | None, pack: str, current: dict[str, str]
) -> dict[str, Path]:
    """table -> the published file of ``pack`` in ``previous`` to reuse: its fingerprint equals
    ``current``'s and the file still matches its manifest."""
    state = read_state(previous)
    if state is None or previous is None:
        return {}
    recorded = state.get("tables") or {}
    pack_dir = previous / pack
    checksums = _manifest_checksums(pack_dir)
    out = {}
    for name, fingerprint in current.items():
        relative = f"{name}.parquet"
        if recorded.get(name) == fingerprint and _intact(pack_dir, relative, checksums):
            out[name] = pack_dir / relative
    return out


def reusable_folder(previous: Path, pack: str, folder: str) -> list[Path] | None:
    """The published files of ``previous``'s ``pack/folder`` when every one of them matches the
    manifest and the manifest lists no other (an empty list: the folder was not published);
    None otherwise."""
    pack_dir = previous / pack
    checksums = _manifest_checksums(pack_dir)
    if not checksums:
        return None
    listed = sorted(p for p in checksums if p.startswith(folder + "/"))
    on_disk = (
        sorted(p.relative_to(pack_dir).as_posix() for p in (pack_dir / folder).rglob("*")
               if p.is_file())
        if (pack_dir / folder).is_dir() else []
    )
    if listed != on_disk or not all(_intact(pack_dir, p, checksums) for p in listed):
        return None
    return [pack_dir / p for p in listed]


def link_file(source: Path, target: Path) -> None:
    """``target`` becomes the same file as ``source``: a hard link (same filesystem), else a
    copy. Published files are never written in place, so the versions may share them."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
