"""Acceptance of issue 17: ``tkpk pull`` against an S3-compatible server on loopback (moto),
then the nightly flow, against a run on the same files copied by hand.

A small generated drop is uploaded; ``tkpk pull`` brings every matching object into the raw folder
byte for byte; a second pull brings nothing; the nightly run (its pull step finds nothing new and
one source down) then publishes the same packs as a run on the copied files. Only the run ids and
the pull record itself differ. No secret reaches any file, the summary or the Prefect artifact.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pytest
from pull_servers import S3_KEY, S3_SECRET, closed_port, s3_client, s3_server
from typer.testing import CliRunner

from tkpk.config import Settings

pytestmark = pytest.mark.slow

BUCKET = "tkpk-drop"
#: Columns that legitimately differ between two runs on the same files.
RUN_COLUMNS = {"run_id"}


@pytest.fixture(scope="module")
def prefect_harness():
    """A temporary Prefect API for this module."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def _pack_tables(pack: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(pack.resolve().glob("*.parquet"))}


def _rows(con: duckdb.DuckDBPyConnection, path: Path) -> list[tuple]:
    """Every row of a Parquet file without the run columns, sorted."""
    described = con.execute(f"describe select * from read_parquet('{path}')").fetchall()
    columns = [r[0] for r in described]
    keep = ", ".join(f'"{c}"' for c in columns if c not in RUN_COLUMNS)
    return sorted(
        con.execute(f"select {keep} from read_parquet('{path}')").fetchall(), key=repr
    )


def _environment(root: Path, sources: Path) -> dict[str, str]:
    return {
        "TKPK_PSEUDONYM_KEY": "pull-accept-test-key",
        "TKPK_TEMP": str(root / "tmp"),
        "TKPK_LOCAL_KEY_FILE": str(root / "local.key"),
        "TKPK_SOURCES": str(sources),
        "TKPK_PULL_RETRIES": "1",
        "TKPK_PULL_RETRY_DELAY": "0.1",
        "TKPK_PULL_TIMEOUT": "5",
        "TKPK_ACCEPT_S3_KEY": S3_KEY,
        "TKPK_ACCEPT_S3_SECRET": S3_SECRET,
    }


def test_pull_from_s3_then_run_publishes_the_same_packs(tmp_path, prefect_harness, monkeypatch):
    from flows.nightly import nightly
    from flows.summary import RunSummary, render_markdown
    from tkpk.cli import app
    from tkpk.synth import generate

    drop = tmp_path / "drop"
    generate(out_dir=drop, side_dir=tmp_path / "synth", households=300,
             months="2026-05:2026-10", seed=17, region="33.75", messiness=0.02)
    files = {p.name: p.read_bytes() for p in sorted(drop.iterdir())}
    assert len(files) > 5

    with s3_server() as endpoint:
        client = s3_client(endpoint)
        client.create_bucket(Bucket=BUCKET)
        for name, body in files.items():
            client.put_object(Bucket=BUCKET, Key=f"exports/{name}", Body=body)
        client.put_object(Bucket=BUCKET, Key="exports/CHECKSUMS", Body=b"not an extract")
        client.put_object(Bucket=BUCKET, Key="archive/salur_pkh_bri_202001.csv", Body=b"old")

        sources = tmp_path / "sources.toml"
        known_hosts = tmp_path / "known_hosts"
        known_hosts.write_text("")
        sources.write_text(
            f"""
[[source]]
name = "province"
url = "s3://{BUCKET}/exports/"
pattern = "*.*"
options = {{ endpoint_url = "{endpoint}", client_kwargs = {{ region_name = "us-east-1" }} }}
secrets = {{ key = "TKPK_ACCEPT_S3_KEY", secret = "TKPK_ACCEPT_S3_SECRET" }}

[[source]]
name = "bank"
url = "sftp://bankuser@127.0.0.1:{closed_port()}/exports/"
pattern = "salur_*.csv"
options = {{ known_hosts = "{known_hosts}" }}
""",
            encoding="utf-8",
        )
        for key, value in _environment(tmp_path, sources).items():
            monkeypatch.setenv(key, value)
        pulled = Settings().with_paths(
            raw=tmp_path / "a" / "raw", out=tmp_path / "a" / "curated",
            db=tmp_path / "a" / "warehouse.duckdb",
        )
        args = ["pull", "--raw", str(pulled.raw_dir), "--db", str(pulled.warehouse)]
        runner = CliRunner()
        first = runner.invoke(app, args)
        # the bank's server is down: the command says so (exit 1), the province's files landed
        assert first.exit_code == 1, first.output
        assert f"province: {len(files)} new file(s)" in first.output
        assert "bank: failed: server unreachable" in first.output
        assert {p.name: p.read_bytes() for p in pulled.raw_dir.iterdir()} == files
        second = runner.invoke(app, args)
        assert "province: 0 new file(s)" in second.output
        assert {p.name: p.read_bytes() for p in pulled.raw_dir.iterdir()} == files

        result_a = nightly(raw_dir=str(pulled.raw_dir), out_dir=str(pulled.curated_dir),
                           db_path=str(pulled.warehouse))

    monkeypatch.setenv("TKPK_SOURCES", str(tmp_path / "absent.toml"))
    copied = Settings().with_paths(
        raw=tmp_path / "b" / "raw", out=tmp_path / "b" / "curated",
        db=tmp_path / "b" / "warehouse.duckdb",
    )
    shutil.copytree(drop, copied.raw_dir)
    result_b = nightly(raw_dir=str(copied.raw_dir), out_dir=str(copied.curated_dir),
                       db_path=str(copied.warehouse))

    summary_a = RunSummary.from_dict(result_a)
    assert summary_a.completed and summary_a.published
    assert [(p["source"], p["ok"], len(p["landed"])) for p in summary_a.pulls] == [
        ("province", True, 0), ("bank", False, 0)]
    markdown = render_markdown(summary_a)
    assert "pull bank FAILED: server unreachable" in markdown
    assert RunSummary.from_dict(result_b).pulls == []

    con = duckdb.connect()
    for pack in ("restricted", "bappeda"):
        a_tables = _pack_tables(pulled.curated_dir / pack)
        b_tables = _pack_tables(copied.curated_dir / pack)
        assert set(a_tables) == set(b_tables) and "source_pulls" in a_tables
        for table in sorted(set(a_tables) - {"source_pulls"}):
            assert _rows(con, a_tables[table]) == _rows(con, b_tables[table]), f"{pack}/{table}"
        assert _rows(con, b_tables["source_pulls"]) == []
        pulls = con.execute(
            "select source, outcome, count(*) from read_parquet(?) group by all order by all",
            [str(a_tables["source_pulls"])],
        ).fetchall()
        assert pulls == [("bank", "failed", 3), ("province", "pulled", len(files))]
        landed = con.execute(
            "select local_name, remote_path from read_parquet(?) where outcome = 'pulled' "
            "order by local_name", [str(a_tables["source_pulls"])],
        ).fetchall()
        assert landed == [(n, f"s3://{BUCKET}/exports/{n}") for n in sorted(files)]

    _assert_no_secret(tmp_path, markdown, _artifact_text())


def _artifact_text() -> str:
    """Every markdown artifact and log line the runs recorded on the Prefect API."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts()
        logs, batch = [], [None]
        while batch:
            batch = client.read_logs(limit=200, offset=len(logs))
            logs += batch
    texts = [str(a.data) for a in artifacts]
    assert any("pull bank FAILED: server unreachable" in t for t in texts)
    messages = [log.message for log in logs]
    assert any("pull bank failed: server unreachable" in m for m in messages)
    return "\n".join(texts + messages)


def _assert_no_secret(root: Path, *texts: str) -> None:
    """The secrets and the user name are in no file under ``root`` and in no text."""
    needles = [S3_SECRET.encode(), S3_KEY.encode(), b"bankuser"]
    for text in texts:
        for needle in needles:
            assert needle.decode() not in text
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink() and path.name != "sources.toml":
            data = path.read_bytes()
            for needle in needles:
                assert needle not in data, f"{needle!r} found in {path}"
    assert os.environ["TKPK_ACCEPT_S3_SECRET"] == S3_SECRET


def test_nightly_pull_step_goes_on_after_a_malformed_sources_file(tmp_path, prefect_harness):
    """The flow's pull step names the bad key and returns; the run then ingests as usual."""
    from prefect import flow

    from flows.nightly import pull_sources
    from flows.summary import pull_lines

    bad = tmp_path / "sources.toml"
    bad.write_text('[[source]]\nname = "bri"\nurl = "ftp://host/exports/"\n', encoding="utf-8")
    settings = Settings(raw_dir=tmp_path / "raw", warehouse=tmp_path / "w.duckdb",
                        temp_dir=tmp_path / "tmp", sources_file=bad)

    @flow
    def pull_step() -> list[dict]:
        return pull_sources(settings, "run-1")

    [line] = pull_lines(pull_step())
    assert line.startswith("pull sources.toml FAILED: ")
    assert "source 'bri', key 'url'" in line
