"""The chaos benchmark's short version (benchmarks/chaos.py): two nights over a growing raw
folder, each SIGKILLed at a seeded random point and rerun; the packs verify and equal those of
uninterrupted runs after every night."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from ops_support import root

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import chaos  # noqa: E402

pytestmark = [pytest.mark.ops, pytest.mark.slow]


def test_the_nights_are_split_by_month(tmp_path) -> None:
    for name in ("dtsen_keluarga_3375_202601.csv", "salur_pkh_bri_202602_tahap1.csv",
                 "pbi_jk_202601.xlsx", "bantuan_zakat_2026.xlsx"):
        (tmp_path / name).write_text("x")
    assert chaos.nights_of(tmp_path) == [
        ["bantuan_zakat_2026.xlsx", "dtsen_keluarga_3375_202601.csv", "pbi_jk_202601.xlsx"],
        ["salur_pkh_bri_202602_tahap1.csv"],
    ]


def test_killed_nights_recover_to_the_uninterrupted_packs() -> None:
    result = chaos.run_chaos(root() / "chaos-short", nights=2, households=150, seed=5)
    nights = result["per_night"]
    assert result["nights"] == 2
    assert result["kills_hit"] >= 1, nights
    assert [n["rerun_code"] for n in nights] == [0, 0]
    assert result["all_verify"], nights
    assert result["differences"] == 0, nights
