"""End to end: a generated sample with injected defects through the nightly Prefect flow.

One Prefect test harness and one generated sample per session; each test reads the outcome.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
from pathlib import Path

import duckdb
import pytest
from raw_support import with_file

from tkpk.config import Settings

pytestmark = pytest.mark.slow

HOUSEHOLDS = 3_000
MONTHS = "2025-11:2026-10"


def _pack_checksums(out: Path) -> dict[str, str]:
    """SHA-256 of every file in both packs, by relative path."""
    sums = {}
    for pack in ("restricted", "bappeda"):
        root = (out / pack).resolve()
        for path in sorted(root.rglob("*")):
            if path.is_file():
                sums[f"{pack}/{path.relative_to(root)}"] = hashlib.sha256(
                    path.read_bytes()
                ).hexdigest()
    return sums


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect API for the whole session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory, prefect_harness) -> dict:
    """Generate a messy sample, run the nightly flow once, then a second time with no new file."""
    from flows.nightly import run_nightly
    from tkpk.synth import generate

    root = tmp_path_factory.mktemp("e2e")
    env = {
        "TKPK_PSEUDONYM_KEY": "e2e-test-key",
        "TKPK_TEMP": str(root / "tmp"),
        "TKPK_LOCAL_KEY_FILE": str(root / "local.key"),
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    settings = Settings().with_paths(
        raw=root / "raw", out=root / "curated", db=root / "warehouse.duckdb"
    )
    generate(
        out_dir=settings.raw_dir,
        side_dir=root / "synth",
        households=HOUSEHOLDS,
        months=MONTHS,
        seed=7,
        region="33.75",
        messiness=0.03,
    )
    first_ok = run_nightly(settings)
    first_sums = _pack_checksums(settings.curated_dir)
    second_ok = run_nightly(settings)
    second_sums = _pack_checksums(settings.curated_dir)
    yield {
        "root": root,
        "settings": settings,
        "side": root / "synth",
        "first_ok": first_ok,
        "second_ok": second_ok,
        "first_sums": first_sums,
        "second_sums": second_sums,
    }
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _warehouse(sample: dict) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the sample's warehouse."""
    return duckdb.connect(str(sample["settings"].warehouse), read_only=True)


def _side_rows(sample: dict, name: str) -> list[dict]:
    """Rows of a synth side file."""
    with (sample["side"] / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_runs_complete_and_second_run_changes_nothing(sample):
    assert sample["first_ok"] and sample["second_ok"]
    assert sample["first_sums"], "no pack was published"
    assert sample["first_sums"] == sample["second_sums"]
    with _warehouse(sample) as con:
        outcomes = con.execute(
            "select run_id, file_outcome, count(*) from ingest_data_quality group by all "
            "order by run_id"
        ).fetchall()
    runs = sorted({run for run, _, _ in outcomes})
    assert len(runs) == 2
    second = {outcome: n for run, outcome, n in outcomes if run == runs[1]}
    assert "loaded" not in second


def test_every_file_reconciles(sample):
    with _warehouse(sample) as con:
        bad = con.execute(
            "select file_name from ingest_data_quality "
            "where rows_read <> accepted + quarantined + duplicate"
        ).fetchall()
        per_file = dict(
            con.execute(
                "select file_name, rows_read from ingest_data_quality "
                "where file_outcome = 'loaded'"
            ).fetchall()
        )
    assert bad == []
    expected = {r["file_name"]: int(r["data_rows"]) for r in _side_rows(sample, "files.csv")}
    for name, rows in per_file.items():
        assert rows == expected[name], name


def test_sheet_notes_match_the_side_file(sample):
    expected = {
        (r["file_name"], sheet.split(":")[0], int(sheet.split(":")[1]))
        for r in _side_rows(sample, "files.csv")
        if r["ignored_sheets"]
        for sheet in r["ignored_sheets"].split("|")
    }
    with _warehouse(sample) as con:
        noted = set(
            con.execute(
                "select file_name, note, rows from ingest_file_note where reason = 'sheet_ignored'"
            ).fetchall()
        )
    assert expected and noted == expected


def test_injected_defects_land_where_the_side_file_says(sample):
    defects = _side_rows(sample, "defects.csv")
    assert defects, "the sample has no injected defects"
    with _warehouse(sample) as con:
        quarantined = {
            (f, int(r)): set(reasons)
            for f, r, reasons in con.execute(
                f"select file_name, row_number, reasons from {with_file('quarantine')}"
            ).fetchall()
        }
        duplicates = {
            (f, int(r))
            for f, r in con.execute(
                f"select file_name, row_number from {with_file('duplicate')}"
            ).fetchall()
        }
        files = dict(
            con.execute(
                "select file_name, file_reason from ingest_data_quality "
                "where file_outcome = 'quarantined'"
            ).fetchall()
        )
        flagged = {
            (f, int(r), column, reason)
            for f, r, column, reason in con.execute(
                "select file_name, row_number, column_name, reason "
                f"from {with_file('flagged_field')}"
            ).fetchall()
        }
    problems = []
    for d in defects:
        outcome, name = d["expected_outcome"], d["file_name"]
        reasons = {r for r in d["expected_reasons"].split("|") if r}
        if outcome == "file_quarantined":
            if files.get(name) not in reasons:
                problems.append((d, files.get(name)))
            continue
        key = (name, int(d["row_number"]))
        if outcome == "quarantined" and not reasons <= quarantined.get(key, set()):
            problems.append((d, quarantined.get(key)))
        elif outcome == "duplicate" and key not in duplicates:
            problems.append((d, "not a duplicate"))
        elif outcome == "accepted" and (key in quarantined or key in duplicates):
            problems.append((d, quarantined.get(key, "duplicate")))
        elif outcome == "accepted" and any(
            (name, key[1], d["column"], reason) not in flagged for reason in reasons
        ):
            problems.append((d, "field not flagged"))
    assert problems == []


def test_clean_rows_are_accepted(sample):
    defects = _side_rows(sample, "defects.csv")
    not_accepted: dict[str, int] = {}
    for d in defects:
        if d["expected_outcome"] in ("quarantined", "duplicate"):
            not_accepted[d["file_name"]] = not_accepted.get(d["file_name"], 0) + 1
    with _warehouse(sample) as con:
        counts = con.execute(
            "select file_name, rows_read, accepted, quarantined + duplicate "
            "from ingest_data_quality where file_outcome = 'loaded'"
        ).fetchall()
    # Consequential quarantines (a member of a quarantined household) are listed as defects too.
    wrong = [
        (name, rejected, not_accepted.get(name, 0))
        for name, _, _, rejected in counts
        if rejected != not_accepted.get(name, 0)
    ]
    assert wrong == []


def test_city_row_is_near_the_realism_targets(sample):
    out = sample["settings"].restricted_dir
    with duckdb.connect() as con:
        rows = con.execute(
            f"select p0, p1, p2, population from '{out}/kelurahan_poverty.parquet' "
            "where area_level = 'kota'"
        ).fetchall()
        kel = con.execute(
            f"select period, count(*) from '{out}/kelurahan_poverty.parquet' "
            "where area_level = 'kelurahan' group by period"
        ).fetchall()
    assert rows
    for p0, p1, p2, population in rows:
        assert 0.04 < p0 < 0.10
        assert 0 <= p2 <= p1 <= p0
        assert population > 0
    assert {n for _, n in kel} == {27}


def test_renamed_copy_and_unreadable_file_next_to_good_ones(sample, prefect_harness):
    from flows.nightly import run_nightly

    settings: Settings = sample["settings"]
    root: Path = sample["root"]
    copy = Settings().with_paths(
        raw=root / "raw2", out=root / "curated2", db=root / "warehouse2.duckdb"
    )
    shutil.copytree(settings.raw_dir, copy.raw_dir)
    first = sorted(p for p in copy.raw_dir.iterdir() if p.name.startswith("salur_"))[0]
    shutil.copy(first, copy.raw_dir / ("salur_zz_copy_" + first.name[len("salur_") :]))
    (copy.raw_dir / "pbi_jk_209912.xlsx").write_bytes(b"PK\x03\x04 truncated")
    assert run_nightly(copy)
    with duckdb.connect(str(copy.warehouse), read_only=True) as con:
        reasons = dict(
            con.execute(
                "select file_name, file_reason from ingest_data_quality "
                "where file_outcome = 'quarantined'"
            ).fetchall()
        )
    assert reasons["salur_zz_copy_" + first.name[len("salur_") :]] == "file_duplicate"
    assert reasons["pbi_jk_209912.xlsx"] == "file_unreadable"
    manifest = json.loads((copy.restricted_dir / "manifest.json").read_text())
    assert manifest["tables"]


def test_no_personal_data_in_any_export(sample):
    settings: Settings = sample["settings"]
    with _warehouse(sample) as con:
        needles = [
            r[0]
            for r in con.execute(
                # 300 of each, picked by hash (the same rows in every run, unlike USING SAMPLE)
                "(select nik from registry_members order by hash(nik), nik limit 300) "
                "union all (select nama from registry_members order by hash(nik), nik "
                "limit 300) union all (select no_kk from registry_households "
                "where no_kk is not null order by hash(no_kk), no_kk limit 300) "
                "union all (select alamat from registry_households "
                "order by hash(id_keluarga), id_keluarga limit 300)"
            ).fetchall()
            if r[0] and len(r[0]) >= 6
        ]
    texts = []
    with duckdb.connect() as reader:
        for path in settings.curated_dir.resolve().rglob("*"):
            if not path.is_file():
                continue
            if path.suffix == ".parquet":  # compressed: scan the decoded values
                texts.append(reader.execute(f"select * from '{path}'").df().to_csv())
            else:
                texts.append(path.read_bytes().decode("utf-8", errors="replace"))
    leaked = [n for n in needles if any(n in text for text in texts)]
    assert leaked == []


def _cli_run(settings: Settings):
    """``tkpk run`` on the settings' folders through the CLI (its exit code and output)."""
    from typer.testing import CliRunner

    from tkpk.cli import app

    argv = ["run", "--raw", str(settings.raw_dir), "--out", str(settings.curated_dir),
            "--db", str(settings.warehouse)]
    return CliRunner().invoke(app, argv)


def test_empty_first_run_publishes_nothing_says_what_to_do_and_fails(tmp_path, prefect_harness):
    from flows.nightly import run_nightly

    settings = Settings().with_paths(
        raw=tmp_path / "raw", out=tmp_path / "curated", db=tmp_path / "warehouse.duckdb"
    )
    settings.raw_dir.mkdir()
    (settings.raw_dir / ".gitkeep").write_text("")
    result = _cli_run(settings)
    assert result.exit_code == 1, result.output
    said = " ".join(result.output.split())  # the console wraps lines by the folder's length
    assert "no raw extract has been loaded yet" in said
    assert "tkpk synth" in said
    assert not (settings.curated_dir / "restricted").exists()
    assert not (settings.curated_dir / "bappeda").exists()
    assert run_nightly(settings) is False  # and again on the next night


def test_a_quiet_night_exits_0_and_a_failed_run_is_not_completed(
    sample, tmp_path, prefect_harness, monkeypatch
):
    from flows.nightly import run_nightly

    base: Path = sample["root"]
    copy = Settings().with_paths(
        raw=tmp_path / "raw", out=tmp_path / "curated", db=tmp_path / "warehouse.duckdb"
    )
    shutil.copytree(sample["settings"].raw_dir, copy.raw_dir)
    shutil.copytree(base / "curated", copy.curated_dir, symlinks=True)
    shutil.copy(sample["settings"].warehouse, copy.warehouse)
    quiet = _cli_run(copy)
    assert quiet.exit_code == 0, quiet.output
    assert "nothing new: packs unchanged" in quiet.output
    assert _pack_checksums(copy.curated_dir) == sample["first_sums"]

    def broken(*args, **kwargs):
        raise RuntimeError("planted failure")

    monkeypatch.setattr("tkpk.ingest.accept.process_loads", broken)
    assert run_nightly(copy) is False
    failed = _cli_run(copy)
    assert failed.exit_code == 1, failed.output
    assert "the nightly run failed (" in failed.output  # the error type only
    assert _pack_checksums(copy.curated_dir) == sample["first_sums"]
