"""File discovery, hashing and what file names say (kind, period, program, channel, stage)."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest

from tkpk.ingest.files import discover, parse_file_name, resolve_program, sha256_of


def test_discover_in_name_order_ignoring_hidden_files_and_folders(tmp_path: Path) -> None:
    for name in ["salur_b.csv", "dtsen_a.csv", ".gitkeep", ".~lock.x.csv#", "Z.csv"]:
        (tmp_path / name).write_text("x")
    (tmp_path / "subfolder").mkdir()
    (tmp_path / "subfolder" / "salur_c.csv").write_text("x")
    assert [f.name for f in discover(tmp_path)] == ["Z.csv", "dtsen_a.csv", "salur_b.csv"]
    assert [f.size for f in discover(tmp_path)] == [1, 1, 1]


def test_discovery_parses_each_name_once(tmp_path: Path, monkeypatch) -> None:
    """Each file found carries its parsed name; the raw loader uses it (no second parse)."""
    from tkpk.ingest import files

    for name in ["salur_pkh_bri_202606_tahap2.csv", "laporan.csv"]:
        (tmp_path / name).write_text("x")
    calls: list[str] = []
    original = files.parse_file_name

    def counted(name: str) -> files.FileName:
        calls.append(name)
        return original(name)

    monkeypatch.setattr(files, "parse_file_name", counted)
    found = discover(tmp_path)
    assert sorted(calls) == ["laporan.csv", "salur_pkh_bri_202606_tahap2.csv"]
    assert [(f.parsed.kind, f.parsed.period, f.parsed.stage) for f in found] == [
        (None, None, None),
        ("disbursements", date(2026, 6, 1), 2),
    ]
    assert found[0].parsed.problem == "the name does not start with a known prefix"


def test_discover_missing_folder_is_empty(tmp_path: Path) -> None:
    assert discover(tmp_path / "nope") == []


def test_sha256_streams_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    data = bytes(range(256)) * 50_000
    path.write_bytes(data)
    assert sha256_of(path, chunk_bytes=1000) == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("name", "kind", "period", "period_end", "stage"),
    [
        (
            "salur_pkh_bri_202606_tahap2.csv",
            "disbursements",
            date(2026, 6, 1),
            date(2026, 6, 30),
            2,
        ),
        ("SALUR_BPNT_POS_202602.XLSX", "disbursements", date(2026, 2, 1), date(2026, 2, 28), None),
        ("pbi_jk_202606.xlsx", "pbi", date(2026, 6, 1), date(2026, 6, 30), None),
        ("bantuan_modal_usaha_2026.xlsx", "local", date(2026, 1, 1), date(2026, 12, 31), None),
        ("bantuan_modal_usaha_2026_x.xlsx", "local", date(2026, 1, 1), date(2026, 12, 31), None),
        ("bantuan_rtlh_202609.csv", "local", date(2026, 9, 1), date(2026, 9, 30), None),
        ("dtsen_keluarga_3375_202606.csv", "households", date(2026, 6, 1), date(2026, 6, 30), None),
        ("Dtsen_Anggota_3375_202412.csv", "members", date(2024, 12, 1), date(2024, 12, 31), None),
    ],
)
def test_parse_file_name(name, kind, period, period_end, stage) -> None:
    parsed = parse_file_name(name)
    assert parsed.problem is None
    assert (parsed.kind, parsed.period, parsed.period_end, parsed.stage) == (
        kind,
        period,
        period_end,
        stage,
    )


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("laporan_202606.csv", None),
        ("keluarga_3375_202606.csv", None),
        ("dtsen_keluarga_3375.csv", "households"),  # no snapshot month: 3375 is not a year
        ("dtsen_keluarga_3375_2026.csv", "households"),  # a snapshot needs its month
        ("pbi_jk_2026.csv", "pbi"),
        ("salur_pkh_bri.csv", "disbursements"),
    ],
)
def test_names_outside_the_contract_have_a_problem(name, kind) -> None:
    parsed = parse_file_name(name)
    assert parsed.kind == kind
    assert parsed.problem


@pytest.mark.parametrize(
    ("name", "program", "channel"),
    [
        ("salur_pkh_bri_202606_tahap2.csv", "PKH", "bri"),
        ("salur_bpnt_pos_indonesia_202606.csv", "BPNT", "pos_indonesia"),
        ("salur_sembako_bni_202606.csv", "BPNT", "bni"),
        ("salur_pkh_202606.csv", "PKH", None),
        ("salur_xyz_bri_202606.csv", None, "bri"),
        ("pbi_jk_202606.csv", "PBI_JK", None),
        ("pbi_202606.csv", "PBI_JK", None),
        ("bantuan_modal_usaha_2026_x.xlsx", "MODAL_USAHA", None),
        ("bantuan_modal_usaha_umkm_2026.xlsx", "MODAL_USAHA", None),
        ("bantuan_zakat_2026.xlsx", "ZAKAT", None),
        ("bantuan_entah_apa_2026.xlsx", None, None),
        ("dtsen_keluarga_3375_202606.csv", None, None),
    ],
)
def test_program_and_channel_resolve_through_the_catalog(con, name, program, channel) -> None:
    assert resolve_program(con, parse_file_name(name)) == (program, channel)
