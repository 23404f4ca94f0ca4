"""Pack manifests (tables, row counts, checksums, provenance) and the packs' README files."""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import duckdb

import tkpk
from tkpk.config import PROJECT_ROOT
from tkpk.formatting import format_period
from tkpk.publish.dictionary import (
    BAPPEDA,
    MAX_SMALL_COUNT,
    MIN_COUNT,
    MIN_DENOMINATOR,
    SCHEMA_VERSION,
)

MANIFEST = "manifest.json"
CHUNK = 1024 * 1024


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def git_commit() -> str | None:
    """The checkout's commit, when the code runs from a git checkout."""
    try:
        result = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and len(commit) == 40 else None


def source_files(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Every raw file the warehouse has seen (``ingest_file``): name, SHA-256, kind, outcome."""
    rows = con.execute(
        """
        select file_name, sha256, kind, cast(period as varchar), file_outcome
        from ingest_file order by file_name, sha256
        """
    ).fetchall()
    return [
        {"file_name": r[0], "sha256": r[1], "kind": r[2], "period": r[3], "file_outcome": r[4]}
        for r in rows
    ]


def build_manifest(
    pack_dir: Path,
    pack: str,
    *,
    version: str,
    run_id: str,
    region: str,
    tables: dict[str, dict],
    period_range: tuple[str | None, str | None],
    sources: list[dict],
    extra: dict,
) -> dict:
    """The manifest of the pack folder ``pack_dir`` (every file in it is checksummed)."""
    files = []
    for path in sorted(p for p in pack_dir.rglob("*") if p.is_file() and p.name != MANIFEST):
        files.append(
            {
                "path": path.relative_to(pack_dir).as_posix(),
                "bytes": path.stat().st_size,
                "sha256": sha256_file(path),
            }
        )
    return {
        "pack": pack,
        "schema_version": SCHEMA_VERSION,
        "version": version,
        "run_id": run_id,
        "region": region,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "code_version": {"tkpk": tkpk.__version__, "git_commit": git_commit()},
        "period_range": {"first": period_range[0], "last": period_range[1]},
        "tables": tables,
        "files": files,
        "source_files": sources,
        **extra,
    }


def write_manifest(pack_dir: Path, manifest: dict) -> Path:
    """Write ``manifest.json`` into the pack folder."""
    path = pack_dir / MANIFEST
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def verify_manifest(pack_dir: Path) -> list[str]:
    """Problems found checking a pack folder against its manifest (empty: consistent)."""
    path = pack_dir / MANIFEST
    if not path.exists():
        return [f"{path} is missing"]
    manifest = json.loads(path.read_text(encoding="utf-8"))
    problems = []
    listed = set()
    for entry in manifest["files"]:
        file = pack_dir / entry["path"]
        listed.add(entry["path"])
        if not file.exists():
            problems.append(f"{entry['path']} is missing")
        elif sha256_file(file) != entry["sha256"]:
            problems.append(f"{entry['path']} does not match its checksum")
    for file in pack_dir.rglob("*"):
        relative = file.relative_to(pack_dir).as_posix()
        if file.is_file() and file.name != MANIFEST and relative not in listed:
            problems.append(f"{relative} is not in the manifest")
    return problems


def readme_text(pack: str, region: str, period_range: tuple[str | None, str | None]) -> str:
    """A short README in Bahasa Indonesia for the pack."""
    first, last = (format_period(p) if p else "-" for p in period_range)
    common_tail = [
        "## Sumber angka",
        "",
        "Semua angka dihitung dari data registri sosial-ekonomi (DTSEN) dan data penyaluran "
        "bantuan, bukan dari survei. Angka ini **berbasis registri dan bukan angka kemiskinan "
        "resmi BPS** (BPS menghitung kemiskinan dari Susenas, hanya sampai tingkat kota). "
        "Sebagai pembanding, baris kabupaten/kota `kelurahan_poverty` memuat angka resmi BPS "
        "terakhir yang berlaku untuk periode itu (`official_p0`, `official_year`) dan "
        "`registry_coverage` (penduduk registri dibagi penduduk menurut rilis BPS).",
        "",
        "Rasio disimpan sebagai pecahan 0–1 (kalikan 100 untuk persen). Nilai rupiah dalam "
        "rupiah. Definisi setiap kolom ada di `data_dictionary.md` / `data_dictionary.csv` "
        "(dwibahasa); daftar berkas, jumlah baris dan checksum SHA-256 ada di `manifest.json`.",
        "",
    ]
    if pack == BAPPEDA:
        lines = [
            "# Paket data Bappeda: indikator kemiskinan dan jangkauan program",
            "",
            f"Paket ini berisi angka agregat untuk wilayah {region} (setiap kelurahan, kecamatan "
            f"dan kota), periode {first} s.d. {last}, untuk perencanaan anggaran. Paket ini "
            "tidak memuat data per keluarga atau per orang, dan tidak memuat NIK, nomor KK, "
            "nama, alamat maupun tanggal lahir.",
            "",
            "## Kontrol pengungkapan (penyembunyian angka kecil)",
            "",
            f"- Setiap hitungan (jumlah keluarga, jiwa, catatan atau baris) bernilai "
            f"{MIN_COUNT}–{MAX_SMALL_COUNT} dikosongkan (null). Nilai 0 tetap ditampilkan.",
            f"- Setiap rasio dikosongkan bila penyebutnya kurang dari {MIN_DENOMINATOR} unit, "
            f"atau bila hitungan pada pembilangnya bernilai {MIN_COUNT}–{MAX_SMALL_COUNT}.",
            "- Nilai rupiah dikosongkan bila jumlah unit yang dijumlahkannya bernilai "
            f"{MIN_COUNT}–{MAX_SMALL_COUNT}.",
            "- Setiap kolom yang dapat disembunyikan diikuti kolom `<kolom>_suppressed` "
            "(benar/salah): benar berarti nilainya disembunyikan; kosong dengan `false` berarti "
            "nilainya memang tidak terdefinisi (misalnya rasio tanpa penyebut).",
            "- Penyembunyian sekunder: angka lain ikut dikosongkan (yang terkecil lebih dulu) "
            "sehingga angka yang disembunyikan tidak bisa dihitung kembali dari angka yang "
            "ditampilkan (total kecamatan/kota dikurangi kelurahan lain, total dikurangi "
            "kelompok lain, 1 dikurangi rasio pasangannya, rasio dikali penyebutnya). Jumlah "
            "angka yang disembunyikan per tabel dan kolom ada di `manifest.json` "
            "(`disclosure_control.suppressed`).",
            "- Tabel `data_quality` (jumlah baris per berkas) tidak memuat data pribadi dan tidak "
            "disembunyikan.",
            "- Karena itu, penjumlahan angka kelurahan yang ditampilkan bisa lebih kecil dari "
            "angka kecamatan atau kota; gunakan baris kecamatan/kota untuk total.",
            "",
            "## Tabel",
            "",
            "- `kelurahan_poverty.parquet`: kemiskinan moneter (P0, P1, P2, kedalaman dalam "
            "rupiah) dan kemiskinan multidimensi per wilayah.",
            "- `program_reach.parquet`: cakupan, kesalahan eksklusi/inklusi dan kecukupan per "
            "program.",
            "- `program_incidence.parquet`: sebaran penerima dan manfaat per desil (kota).",
            "- `program_overlap.parquet`: keluarga miskin/sasaran menurut banyaknya program.",
            "- `funding_sources.parquet`: penerima dan nilai menurut sumber dana.",
            "- `data_quality.parquet`: kelengkapan data masukan per berkas.",
            "- `source_pulls.parquet`: pengambilan berkas dari sumber (folder bersama, SFTP, "
            "S3, SMB) dan hasilnya.",
            "",
        ]
    else:
        lines = [
            "# Paket data terbatas TKPK",
            "",
            f"Paket ini untuk Tim Koordinasi Penanggulangan Kemiskinan (TKPK) wilayah {region}, "
            f"periode {first} s.d. {last}: semua tabel tanpa penyembunyian angka kecil, ditambah "
            "`households.parquet` (daftar kerja per keluarga untuk menjangkau keluarga miskin "
            "yang belum menerima program). **Jangan dibagikan di luar TKPK.**",
            "",
            "Keluarga hanya dikenali dengan pseudonim (HMAC-SHA256 dari id registri dengan kunci "
            "rahasia); paket ini tidak memuat NIK, nomor KK, nama, alamat maupun tanggal lahir. "
            "Pseudonim sama antarproses selama kuncinya sama (lihat `pseudonym.key_id` di "
            "`manifest.json`).",
            "",
        ]
    return "\n".join(lines + common_tail)
