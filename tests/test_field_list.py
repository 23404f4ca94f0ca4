"""tkpk field-list: refusal, the access-log line, the sheets' content, nothing in the packs.

Synthetic people only. Snapshot 2031-03, z = 500,000, z_e = 300,000.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest
from marts_support import KEL_KRAPYAK, KEL_MEDONO, World
from typer.testing import CliRunner

from tkpk import reference
from tkpk.cli import app
from tkpk.config import Settings
from tkpk.db import connect
from tkpk.field_list import FieldListError, field_list
from tkpk.publish.manifest import source_files

PURPOSE = "Verifikasi lapangan untuk usulan BLT kelurahan Desember"


@pytest.fixture(scope="module")
def production(tmp_path_factory) -> Settings:
    """A published-state warehouse file of five households, production settings.

    Medono: U1 y=450,000 n=2 RW 2 RT 3 head 'Siti Ujicoba' (poor, unreached)
            U2 y=400,000 n=1 RW 1 (poor, received PKH)
            U3 y=200,000 n=1 RW 1 RT 1 head 'Budi Ujicoba' (extreme, unreached)
            N1 y=900,000 n=3 RW 1 (not poor)
    Krapyak: K1 y=100,000 (extreme, unreached: not in Medono's lists)
    """
    root = tmp_path_factory.mktemp("field_list")
    settings = Settings(
        raw_dir=root / "raw", curated_dir=root / "curated", warehouse=root / "warehouse.duckdb",
        synth_dir=root / "synth", temp_dir=root / "tmp", duckdb_threads=2,
        local_key_file=root / "local.key", mode="production",
        access_log=root / "access" / "field_list_access.log",
    )
    con = connect(settings, settings.warehouse)
    reference.install(con)
    w = World(con)
    w.snapshot("2031-03")
    head = {"hubungan": 1}
    w.household("2031-03", 450_000, KEL_MEDONO, rw=2, rt=3, id_keluarga="U1",
                members=[{**head, "nama": "Siti Ujicoba"}, {"hubungan": 3, "nama": "Anak"}])
    _, niks = w.household("2031-03", 400_000, KEL_MEDONO, rw=1, rt=2, id_keluarga="U2",
                          members=[{**head, "nama": "Tono Penerima"}])
    w.household("2031-03", 200_000, KEL_MEDONO, rw=1, rt=1, id_keluarga="U3",
                members=[{**head, "nama": "Budi Ujicoba"}])
    w.household("2031-03", 900_000, KEL_MEDONO, rw=1, rt=1, members=3, id_keluarga="N1")
    w.household("2031-03", 100_000, KEL_KRAPYAK, id_keluarga="K1",
                members=[{**head, "nama": "Lain Kelurahan"}])
    w.record("PKH", "2031-02", nik=niks[0])
    w.build()
    published = source_files(con)  # the files of the World's rows (ingest_file), as published
    con.close()
    for pack in ("restricted", "bappeda"):
        (settings.curated_dir / pack).mkdir(parents=True)
    (settings.restricted_dir / "manifest.json").write_text(
        json.dumps({"source_files": published})
    )
    return settings


def sheets(path: Path) -> dict[str, pd.DataFrame]:
    """Every sheet's table (headings on row 6)."""
    return pd.read_excel(path, sheet_name=None, engine="calamine", header=5)


def log_lines(settings: Settings) -> list[dict]:
    if not settings.access_log.exists():
        return []
    return [json.loads(line) for line in settings.access_log.read_text().splitlines()]


def test_refused_outside_production_and_without_purpose(production):
    before = len(log_lines(production))
    development = dataclasses.replace(production, mode="development")
    with pytest.raises(FieldListError, match="TKPK_MODE=production"):
        field_list(development, "unreached_poor", KEL_MEDONO, PURPOSE)
    for purpose in (None, "", "   ", "cek"):
        with pytest.raises(FieldListError, match="--purpose"):
            field_list(production, "unreached_poor", KEL_MEDONO, purpose)
    assert len(log_lines(production)) == before
    assert not list(production.curated_dir.rglob("*.xlsx"))


def test_command_refuses_without_production(production, monkeypatch):
    monkeypatch.setenv("TKPK_MODE", "development")
    result = CliRunner().invoke(app, [
        "field-list", "--kind", "extreme", "--kelurahan", KEL_MEDONO, "--purpose", PURPOSE,
        "--out", str(production.curated_dir), "--db", str(production.warehouse)])
    assert result.exit_code == 2 and "production" in result.output


def test_unreached_poor_sheet_per_rw_and_log_line(production):
    written = field_list(production, "unreached_poor", KEL_MEDONO, PURPOSE)
    assert written.path.parent == production.field_lists_dir
    assert (written.rows, written.sheets) == (2, 2)
    assert written.path.stat().st_mode & 0o777 == 0o600
    book = sheets(written.path)
    assert list(book) == ["RW 001", "RW 002"]
    rw1, rw2 = book["RW 001"], book["RW 002"]
    assert list(rw1.columns[:8]) == [
        "No.", "Nama kepala keluarga", "Alamat", "RT", "RW", "Jumlah anggota keluarga",
        "Bantuan yang diterima (12 bulan terakhir)", "Alasan masuk daftar"]
    assert rw1["Nama kepala keluarga"].tolist() == ["Budi Ujicoba"]
    row = rw2.iloc[0]
    assert (row["Nama kepala keluarga"], row["Alamat"], row["RT"], row["RW"]) == (
        "Siti Ujicoba", "Jl. Sintetis", 3, 2)
    assert row["Jumlah anggota keluarga"] == 2
    assert row["Bantuan yang diterima (12 bulan terakhir)"] == "Tidak ada"
    assert "Rp 450.000" in row["Alasan masuk daftar"]
    assert "Rp 500.000" in row["Alasan masuk daftar"]
    entry = log_lines(production)[-1]
    assert entry["purpose"] == PURPOSE and entry["rows"] == 2
    assert (entry["kind"], entry["kelurahan"], entry["file"]) == (
        "unreached_poor", KEL_MEDONO, written.path.name)
    assert entry["who"] and entry["when"]
    text = production.access_log.read_text()
    assert "Siti" not in text and "Budi" not in text and "U1" not in text


def test_extreme_list_and_log_is_appended(production):
    before = len(log_lines(production))
    written = field_list(production, "extreme", KEL_MEDONO, PURPOSE)
    assert written.rows == 1
    assert sheets(written.path)["RW 001"]["Nama kepala keluarga"].tolist() == ["Budi Ujicoba"]
    assert len(log_lines(production)) == before + 1


def test_simulation_list_needs_the_scenario_file(production, tmp_path):
    with pytest.raises(FieldListError, match="--scenarios"):
        field_list(production, "simulation:BLT", KEL_MEDONO, PURPOSE)
    scenarios = tmp_path / "rakor.toml"
    scenarios.write_text(
        '[[scenario]]\nname = "BLT"\nperiod = "2031-03"\nbudget_idr_month = 300000\n'
        'eligible = "poor"\nrule = "flat"\nkelurahan = ["33.75.01.1002"]\n')
    with pytest.raises(FieldListError, match="scenario 'Lain' is not in"):
        field_list(production, "simulation:Lain", KEL_MEDONO, PURPOSE, scenarios)
    written = field_list(production, "simulation:BLT", KEL_MEDONO, PURPOSE, scenarios)
    book = sheets(written.path)
    people = pd.concat(book.values())
    assert sorted(people["Nama kepala keluarga"]) == ["Budi Ujicoba", "Siti Ujicoba",
                                                      "Tono Penerima"]
    assert people["Alasan masuk daftar"].str.contains("Rp 100.000/bulan").all()
    assert "Program Keluarga Harapan" in set(people["Bantuan yang diterima (12 bulan terakhir)"])
    assert log_lines(production)[-1]["kind"] == "simulation:BLT"


def test_no_sheet_in_either_pack(production):
    field_list(production, "unreached_poor", KEL_MEDONO, PURPOSE)
    for pack in (production.restricted_dir, production.bappeda_dir):
        assert not [p for p in pack.rglob("*") if p.suffix != ".json"]
    assert list(production.field_lists_dir.glob("*.xlsx"))


def test_unknown_kelurahan_is_refused_and_not_logged(production):
    before = len(log_lines(production))
    with pytest.raises(FieldListError, match="not a kelurahan"):
        field_list(production, "extreme", "33.75.99.9999", PURPOSE)
    assert len(log_lines(production)) == before
