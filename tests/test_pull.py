"""``tkpk pull`` against real servers on loopback: a local folder, an SFTP server (asyncssh) and
an S3-compatible server (moto), with the faults a night meets: a server down, a connection dropped
mid-download, wrong credentials, a file rewritten between listing and download, and a second pull
that has nothing to do.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest
from pull_servers import (
    S3_KEY,
    S3_SECRET,
    SFTP_PASSWORD,
    SFTP_USER,
    closed_port,
    s3_client,
    s3_server,
    s3_user_key,
    sftp_server,
)
from typer.testing import CliRunner

from tkpk.config import Settings
from tkpk.ingest.files import parse_file_name
from tkpk.pull import load_sources, pull_all
from tkpk.pull.sources import SourceConfigError, public_url
from tkpk.pull.transfer import pull_source, revision_name

DISBURSEMENT = "salur_pkh_bri_202606_tahap2.csv"
CONTENT = b"NIK;TANGGAL_SALUR;NOMINAL;STATUS\n3375010101800001;2026-06-10;600000;SUKSES\n"


@pytest.fixture
def pull_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings with fast retries and the test servers' secrets in the environment."""
    monkeypatch.setenv("TKPK_TEST_SFTP_PASSWORD", SFTP_PASSWORD)
    monkeypatch.setenv("TKPK_TEST_S3_KEY", S3_KEY)
    monkeypatch.setenv("TKPK_TEST_S3_SECRET", S3_SECRET)
    return replace(
        settings, sources_file=settings.temp_dir.parent / "sources.toml",
        pull_retries=1, pull_retry_delay=0.05, pull_timeout=5,
    )


def toml_value(value) -> str:
    """A TOML literal of a string, number or (inline) table."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def write_sources(path: Path, *sources: dict) -> Path:
    """A sources file with one [[source]] table per dict."""
    blocks = [
        "[[source]]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in source.items())
        for source in sources
    ]
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


def sftp_source(server, name: str = "bank", **extra) -> dict:
    return {
        "name": name, "url": server.url(), "pattern": "salur_*.csv",
        "options": {"known_hosts": str(server.known_hosts)},
        "secrets": {"password": "TKPK_TEST_SFTP_PASSWORD"}, **extra,
    }


def s3_source(endpoint: str, name: str = "province", bucket: str = "salur-bri") -> dict:
    return {
        "name": name, "url": f"s3://{bucket}/exports/", "pattern": "*.csv",
        "options": {"endpoint_url": endpoint, "client_kwargs": {"region_name": "us-east-1"}},
        "secrets": {"key": "TKPK_TEST_S3_KEY", "secret": "TKPK_TEST_S3_SECRET"},
    }


def pull_log(settings: Settings) -> list[tuple]:
    """(source, file name of remote_path, outcome, local_name) of every recorded pull."""
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        rows = con.execute(
            "select source, remote_path, outcome, local_name, reason from source_pull_log "
            "order by pulled_at"
        ).fetchall()
    finally:
        con.close()
    return rows


def raw_files(settings: Settings) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(settings.raw_dir.iterdir())}


def assert_no_leak(settings: Settings, *needles: str) -> None:
    """No secret or user name in the warehouse's pull records (every text column)."""
    for row in pull_log(settings):
        text = " ".join(str(v) for v in row)
        for needle in needles:
            assert needle not in text, f"{needle!r} leaked into source_pull_log: {row}"


# --------------------------------------------------------------------------- sources file


def test_sources_file(tmp_path):
    path = write_sources(
        tmp_path / "sources.toml",
        {"name": "bri", "url": "s3://salur-bri/exports/", "pattern": "salur_*.csv",
         "options": {"endpoint_url": "http://127.0.0.1:9000"},
         "secrets": {"key": "TKPK_BRI_KEY", "secret": "TKPK_BRI_SECRET"}},
        {"name": "dinsos", "url": "file:///srv/exports/"},
    )
    bri, dinsos = load_sources(path)
    assert (bri.name, bri.scheme, bri.pattern) == ("bri", "s3", "salur_*.csv")
    assert bri.options == {"endpoint_url": "http://127.0.0.1:9000"}
    assert bri.secrets == {"key": "TKPK_BRI_KEY", "secret": "TKPK_BRI_SECRET"}
    assert (dinsos.pattern, dinsos.options, dinsos.secrets) == ("*", {}, {})
    assert load_sources(tmp_path / "absent.toml") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[source]]\nname = "bri"\nurl = "ftp://host/x"\n', "source 'bri', key 'url'"),
        ('[[source]]\nname = "bri"\nurl = "sftp://u:pw@host/x"\n', "holds a password"),
        ('[[source]]\nname = "bri"\nurl = "s3://b/"\nsecrets = { key = "abc def" }\n',
         "source 'bri', key 'secrets'"),
        ('[[source]]\nname = "bri"\nurl = "s3://b/"\npattern = "a/*.csv"\n',
         "source 'bri', key 'pattern'"),
        ('[[source]]\nname = "bri"\nurl = "s3://b/"\nsecret = "x"\n',
         "source 'bri', key 'secret': unknown key"),
        ('[[source]]\nurl = "s3://b/"\n', "source #1, key 'name'"),
        ('[[source]]\nname = "a"\nurl = "s3://b/"\n[[source]]\nname = "a"\nurl = "s3://c/"\n',
         "used more than once"),
        ('[[source]\nname = "a"\n', "not valid TOML"),
    ],
)
def test_bad_sources_file_names_the_source_and_key(tmp_path, text, message):
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SourceConfigError, match=message.replace("(", r"\(")):
        load_sources(path)


def test_public_url_drops_user_and_password():
    assert public_url("sftp://bob@10.0.0.5:2222/out/") == "sftp://10.0.0.5:2222/out/"
    assert public_url("smb://dom;bob:pw@files/share/x") == "smb://files/share/x"
    assert public_url("s3://bucket/prefix/") == "s3://bucket/prefix/"


def test_revision_names_stay_parseable_and_sort_after_the_original():
    renamed = revision_name(DISBURSEMENT, 2)
    assert renamed == "salur_pkh_bri_202606_tahap2__r02.csv"
    original, revised = parse_file_name(DISBURSEMENT), parse_file_name(renamed)
    assert (revised.kind, revised.period, revised.stage) == ("disbursements", original.period, 2)
    assert revised.program_candidates == original.program_candidates
    snapshot = parse_file_name(revision_name("dtsen_keluarga_3375_202606.csv", 3))
    assert (snapshot.kind, str(snapshot.period), snapshot.problem) == (
        "households", "2026-06-01", None)
    assert sorted([revision_name(DISBURSEMENT, 10), renamed, DISBURSEMENT]) == [
        DISBURSEMENT, renamed, revision_name(DISBURSEMENT, 10)]


# --------------------------------------------------------------------------- local folder


def test_local_folder_pull_second_pull_and_changed_bytes(pull_settings, tmp_path):
    remote = tmp_path / "share"
    remote.mkdir()
    (remote / DISBURSEMENT).write_bytes(CONTENT)
    (remote / "notes.txt").write_text("not an extract")
    (remote / ".salur_hidden_202606.csv").write_bytes(b"x")
    write_sources(pull_settings.sources_file,
                  {"name": "dinsos", "url": remote.as_uri() + "/", "pattern": "salur_*.csv"})
    [first] = pull_all(pull_settings, "run-1")
    assert (first.ok, first.landed) == (True, [DISBURSEMENT])
    assert raw_files(pull_settings) == {DISBURSEMENT: CONTENT}
    assert list(pull_settings.pull_temp_dir.iterdir()) == []

    [second] = pull_all(pull_settings, "run-2")
    assert (second.landed, second.outcomes) == ([], {})

    # same name, other bytes: append-only, lands under a revision name; the original stays
    changed = CONTENT + b"3375010101800002;2026-06-11;600000;SUKSES\n"
    (remote / DISBURSEMENT).write_bytes(changed)
    os.utime(remote / DISBURSEMENT, (time.time() + 5, time.time() + 5))
    [third] = pull_all(pull_settings, "run-3")
    assert third.landed == ["salur_pkh_bri_202606_tahap2__r02.csv"]
    assert raw_files(pull_settings) == {
        DISBURSEMENT: CONTENT, "salur_pkh_bri_202606_tahap2__r02.csv": changed}

    # touched, same bytes: recorded as unchanged, nothing lands
    os.utime(remote / DISBURSEMENT, (time.time() + 9, time.time() + 9))
    [fourth] = pull_all(pull_settings, "run-4")
    assert (fourth.landed, fourth.outcomes) == ([], {"unchanged": 1})
    outcomes = [(r[2], r[3]) for r in pull_log(pull_settings)]
    assert outcomes == [
        ("pulled", DISBURSEMENT),
        ("renamed", "salur_pkh_bri_202606_tahap2__r02.csv"),
        ("unchanged", "salur_pkh_bri_202606_tahap2__r02.csv"),
    ]


def test_a_file_already_in_raw_is_not_landed_twice(pull_settings, tmp_path):
    """A file copied by hand earlier (or landed by a pull that crashed before its record)."""
    remote = tmp_path / "share"
    remote.mkdir()
    (remote / DISBURSEMENT).write_bytes(CONTENT)
    pull_settings.raw_dir.mkdir(parents=True)
    (pull_settings.raw_dir / DISBURSEMENT).write_bytes(CONTENT)
    write_sources(pull_settings.sources_file, {"name": "dinsos", "url": remote.as_uri()})
    [result] = pull_all(pull_settings, "run-1")
    assert (result.landed, result.outcomes) == ([], {"already_present": 1})
    assert raw_files(pull_settings) == {DISBURSEMENT: CONTENT}


def test_a_file_over_the_size_limit_is_not_downloaded(pull_settings, tmp_path):
    from tkpk.config import Limits

    remote = tmp_path / "share"
    remote.mkdir()
    (remote / DISBURSEMENT).write_bytes(CONTENT)
    (remote / "pbi_jk_202606.csv").write_bytes(b"x")
    write_sources(pull_settings.sources_file, {"name": "dinsos", "url": remote.as_uri()})
    limited = replace(pull_settings, limits=Limits(max_file_bytes=len(CONTENT) - 1))
    [result] = pull_all(limited, "run-1")
    assert (result.ok, result.landed, result.outcomes) == (
        True, ["pbi_jk_202606.csv"], {"failed": 1, "pulled": 1})
    assert [(r[2], r[4]) for r in pull_log(limited) if r[2] == "failed"] == [
        ("failed", "file too large (over TKPK_MAX_FILE_BYTES)")]


def test_rewritten_between_listing_and_download(pull_settings, tmp_path):
    """A file rewritten after the listing is not landed (unstable); the next pull takes it."""
    remote = tmp_path / "share"
    remote.mkdir()
    (remote / DISBURSEMENT).write_bytes(CONTENT)
    write_sources(pull_settings.sources_file, {"name": "dinsos", "url": remote.as_uri()})
    [source] = load_sources(pull_settings.sources_file)
    rewritten = CONTENT * 3

    def rewrite(listing):
        assert [f.name for f in listing] == [DISBURSEMENT]
        (remote / DISBURSEMENT).write_bytes(rewritten)

    from tkpk.db import connect

    con = connect(pull_settings)
    try:
        [record] = pull_source(source, pull_settings, "run-1", con, on_listed=rewrite)
    finally:
        con.close()
    assert (record.outcome, record.local_name) == ("unstable", None)
    assert record.reason.startswith("file changed during download")
    assert not pull_settings.raw_dir.exists() or raw_files(pull_settings) == {}
    [result] = pull_all(pull_settings, "run-2")
    assert result.landed == [DISBURSEMENT]
    assert raw_files(pull_settings) == {DISBURSEMENT: rewritten}


# --------------------------------------------------------------------------- SFTP


def test_sftp_pull_then_nothing(pull_settings, tmp_path):
    root = tmp_path / "sftp"
    (root / "exports").mkdir(parents=True)
    (root / "exports" / DISBURSEMENT).write_bytes(CONTENT)
    (root / "exports" / "salur_bpnt_pos_202606.csv").write_bytes(CONTENT * 50)
    (root / "other").mkdir()
    (root / "other" / "salur_secret_202606.csv").write_bytes(b"elsewhere")
    with sftp_server(root, tmp_path) as server:
        write_sources(pull_settings.sources_file, sftp_source(server))
        [first] = pull_all(pull_settings, "run-1")
        [second] = pull_all(pull_settings, "run-2")
    assert first.ok and sorted(first.landed) == ["salur_bpnt_pos_202606.csv", DISBURSEMENT]
    assert raw_files(pull_settings) == {
        "salur_bpnt_pos_202606.csv": CONTENT * 50, DISBURSEMENT: CONTENT}
    assert (second.ok, second.landed, second.outcomes) == (True, [], {})
    remote_paths = sorted(r[1] for r in pull_log(pull_settings))
    assert remote_paths == [
        f"sftp://127.0.0.1:{server.port}/exports/salur_bpnt_pos_202606.csv",
        f"sftp://127.0.0.1:{server.port}/exports/{DISBURSEMENT}",
    ]
    assert_no_leak(pull_settings, SFTP_USER, SFTP_PASSWORD)


def test_sftp_wrong_credentials_fail_at_once(pull_settings, tmp_path, monkeypatch):
    root = tmp_path / "sftp"
    (root / "exports").mkdir(parents=True)
    (root / "exports" / DISBURSEMENT).write_bytes(CONTENT)
    monkeypatch.setenv("TKPK_TEST_SFTP_PASSWORD", "wrong-password-0000")
    retrying = replace(pull_settings, pull_retries=3, pull_retry_delay=30)
    with sftp_server(root, tmp_path) as server:
        write_sources(pull_settings.sources_file, sftp_source(server))
        started = time.monotonic()
        [result] = pull_all(retrying, "run-1")
        elapsed = time.monotonic() - started
    assert not result.ok
    assert result.cause.startswith("credentials refused")
    assert elapsed < 10, "refused credentials are not retried"
    assert {ok for _, ok in server.state.logins} == {False}
    [(source, path, outcome, local, reason)] = pull_log(pull_settings)
    assert (source, path, outcome, local) == (
        "bank", f"sftp://127.0.0.1:{server.port}/exports/", "failed", None)
    assert_no_leak(pull_settings, SFTP_USER, "wrong-password-0000")
    assert not pull_settings.raw_dir.exists()


def test_sftp_missing_secret_names_the_variable(pull_settings, tmp_path, monkeypatch):
    monkeypatch.delenv("TKPK_TEST_SFTP_PASSWORD")
    root = tmp_path / "sftp"
    (root / "exports").mkdir(parents=True)
    with sftp_server(root, tmp_path) as server:
        write_sources(pull_settings.sources_file, sftp_source(server))
        [result] = pull_all(pull_settings, "run-1")
    assert not result.ok
    assert "TKPK_TEST_SFTP_PASSWORD" in result.cause and "is not set" in result.cause


def test_sftp_connection_dropped_mid_download(pull_settings, tmp_path):
    """A drop is retried (the file then lands whole); a source that keeps dropping fails
    without leaving a partial file anywhere, and the other source still lands its file."""
    root = tmp_path / "sftp"
    (root / "exports").mkdir(parents=True)
    big = bytes(range(256)) * 8192  # 2 MiB: read in several chunks
    (root / "exports" / DISBURSEMENT).write_bytes(big)
    share = tmp_path / "share"
    share.mkdir()
    (share / "pbi_jk_202606.csv").write_bytes(CONTENT)
    with sftp_server(root, tmp_path) as server:
        write_sources(pull_settings.sources_file, sftp_source(server))
        server.state.drops = 1
        [once] = pull_all(pull_settings, "run-1")
        assert once.ok and once.landed == [DISBURSEMENT]
        assert raw_files(pull_settings) == {DISBURSEMENT: big}

        (root / "exports" / "salur_bpnt_pos_202606.csv").write_bytes(big[::-1])
        write_sources(pull_settings.sources_file, sftp_source(server),
                      {"name": "dinsos", "url": share.as_uri(), "pattern": "pbi_*.csv"})
        server.state.drops = 100
        always, local = pull_all(pull_settings, "run-2")
    assert (always.ok, always.cause.split(" (")[0]) == (False, "connection dropped")
    assert local.ok and local.landed == ["pbi_jk_202606.csv"]
    assert set(raw_files(pull_settings)) == {DISBURSEMENT, "pbi_jk_202606.csv"}
    assert list(pull_settings.pull_temp_dir.iterdir()) == []


# --------------------------------------------------------------------------- S3 and server down


def test_s3_pull_then_nothing(pull_settings, tmp_path):
    with s3_server() as endpoint:
        client = s3_client(endpoint)
        client.create_bucket(Bucket="salur-bri")
        client.put_object(Bucket="salur-bri", Key=f"exports/{DISBURSEMENT}", Body=CONTENT)
        client.put_object(Bucket="salur-bri", Key="exports/readme.txt", Body=b"no")
        client.put_object(Bucket="salur-bri", Key="elsewhere/salur_x_202606.csv", Body=b"no")
        write_sources(pull_settings.sources_file, s3_source(endpoint))
        [first] = pull_all(pull_settings, "run-1")
        [second] = pull_all(pull_settings, "run-2")
    assert first.ok and first.landed == [DISBURSEMENT]
    assert raw_files(pull_settings) == {DISBURSEMENT: CONTENT}
    assert (second.landed, second.outcomes) == ([], {})
    [(_, path, outcome, local, _)] = pull_log(pull_settings)
    assert (path, outcome, local) == (f"s3://salur-bri/exports/{DISBURSEMENT}", "pulled",
                                      DISBURSEMENT)
    assert_no_leak(pull_settings, S3_KEY, S3_SECRET)


def test_s3_wrong_credentials_fail_at_once(pull_settings, tmp_path, monkeypatch):
    """The store checks signatures (moto with IAM auth on): the right key pulls, a wrong
    secret is refused at once, not retried, and neither key nor secret is recorded."""
    import moto.settings

    with s3_server() as endpoint:
        key, secret = s3_user_key(endpoint)
        client = s3_client(endpoint)
        client.create_bucket(Bucket="salur-bri")
        client.put_object(Bucket="salur-bri", Key=f"exports/{DISBURSEMENT}", Body=CONTENT)
        monkeypatch.setattr(moto.settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
        write_sources(pull_settings.sources_file, s3_source(endpoint))
        monkeypatch.setenv("TKPK_TEST_S3_KEY", key)
        monkeypatch.setenv("TKPK_TEST_S3_SECRET", "wrong-secret-value-000")
        retrying = replace(pull_settings, pull_retries=3, pull_retry_delay=30)
        started = time.monotonic()
        [refused] = pull_all(retrying, "run-1")
        assert time.monotonic() - started < 10, "refused credentials are not retried"
        monkeypatch.setenv("TKPK_TEST_S3_SECRET", secret)
        [accepted] = pull_all(pull_settings, "run-2")
    assert (refused.ok, refused.cause) == (False, "credentials refused (PermissionError)")
    assert accepted.ok and accepted.landed == [DISBURSEMENT]
    assert [r[2] for r in pull_log(pull_settings)] == ["failed", "pulled"]
    assert_no_leak(pull_settings, key, secret, "wrong-secret-value-000")


def test_servers_down_do_not_stop_the_other_sources(pull_settings, tmp_path):
    share = tmp_path / "share"
    share.mkdir()
    (share / DISBURSEMENT).write_bytes(CONTENT)
    port = closed_port()
    write_sources(
        pull_settings.sources_file,
        {"name": "bank", "url": f"sftp://{SFTP_USER}@127.0.0.1:{port}/exports/",
         "options": {"known_hosts": str(tmp_path / "known_hosts")},
         "secrets": {"password": "TKPK_TEST_SFTP_PASSWORD"}},
        s3_source(f"http://127.0.0.1:{closed_port()}"),
        {"name": "pos", "url": f"smb://{SFTP_USER}@127.0.0.1:{closed_port()}/salur/pos/",
         "secrets": {"password": "TKPK_TEST_SFTP_PASSWORD"}},
        {"name": "dinsos", "url": share.as_uri()},
    )
    (tmp_path / "known_hosts").write_text("")
    started = time.monotonic()
    sftp, s3, smb, local = pull_all(pull_settings, "run-1")
    assert time.monotonic() - started < 30
    assert (sftp.ok, sftp.cause.split(" (")[0]) == (False, "server unreachable")
    assert (s3.ok, s3.cause.split(" (")[0]) == (False, "server unreachable")
    assert (smb.ok, smb.cause.split(" (")[0]) == (False, "server unreachable")
    assert local.ok and local.landed == [DISBURSEMENT]
    failed = [(r[0], r[1], r[2]) for r in pull_log(pull_settings) if r[2] == "failed"]
    assert failed == [
        ("bank", f"sftp://127.0.0.1:{port}/exports/", "failed"),
        ("province", "s3://salur-bri/exports/", "failed"),
        ("pos", failed[2][1], "failed"),
    ]
    assert failed[2][1].startswith("smb://127.0.0.1:") and "@" not in failed[2][1]
    assert_no_leak(pull_settings, SFTP_USER, SFTP_PASSWORD, S3_KEY, S3_SECRET)


# --------------------------------------------------------------------------- the command


def test_cli_pull(pull_settings, tmp_path, monkeypatch):
    from tkpk.cli import app

    share = tmp_path / "share"
    share.mkdir()
    (share / DISBURSEMENT).write_bytes(CONTENT)
    sources = write_sources(tmp_path / "mine.toml", {"name": "dinsos", "url": share.as_uri()})
    monkeypatch.setenv("TKPK_TEMP", str(pull_settings.temp_dir))
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    args = ["pull", "--sources", str(sources), "--raw", str(raw), "--db", str(db)]
    runner = CliRunner()
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "dinsos: 1 new file(s)" in first.output and DISBURSEMENT in first.output
    assert (raw / DISBURSEMENT).read_bytes() == CONTENT
    second = runner.invoke(app, args)
    assert second.exit_code == 0 and "dinsos: 0 new file(s)" in second.output

    (tmp_path / "bad.toml").write_text('[[source]]\nname = "x"\nurl = "gopher://h/"\n')
    bad = runner.invoke(app, ["pull", "--sources", str(tmp_path / "bad.toml"), "--raw", str(raw),
                              "--db", str(db)])
    assert bad.exit_code == 2 and "source 'x', key 'url'" in bad.output
    none = runner.invoke(app, ["pull", "--sources", str(tmp_path / "absent.toml"), "--db",
                               str(db), "--raw", str(raw)])
    assert none.exit_code == 0 and "no source configured" in none.output


def test_warehouse_locked_by_another_process(pull_settings, tmp_path):
    """The warehouse held by another process: retried as I/O, then the source fails with the
    cause 'warehouse busy' and nothing lands (the pull record could not be written)."""
    import subprocess
    import sys

    share = tmp_path / "share"
    share.mkdir()
    (share / DISBURSEMENT).write_bytes(CONTENT)
    write_sources(pull_settings.sources_file, {"name": "dinsos", "url": share.as_uri()})
    pull_settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
         "sys.stdin.read()", str(pull_settings.warehouse)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        [result] = pull_all(pull_settings, "run-1")
    finally:
        holder.communicate("", timeout=30)
    assert (result.ok, result.cause.split(" (")[0]) == (False, "warehouse busy")
    assert not pull_settings.raw_dir.exists()


def test_landing_without_hard_links_copies_then_renames(pull_settings, tmp_path, monkeypatch):
    """Raw folder on another file system (os.link fails with EXDEV): the file is copied to a
    hidden name, synced and renamed; an existing name is never replaced."""
    import errno

    from tkpk.pull import transfer

    def no_links(source, target):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(transfer.os, "link", no_links)
    raw = pull_settings.raw_dir
    raw.mkdir(parents=True)
    (raw / DISBURSEMENT).write_bytes(b"earlier bytes")
    temp = tmp_path / "download.part"
    temp.write_bytes(CONTENT)
    from tkpk.ingest.files import sha256_of

    outcome, name = transfer.land(temp, sha256_of(temp), DISBURSEMENT, raw)
    assert (outcome, name) == ("renamed", "salur_pkh_bri_202606_tahap2__r02.csv")
    assert raw_files(pull_settings) == {DISBURSEMENT: b"earlier bytes", name: CONTENT}
    assert not temp.exists()


def test_summary_lines_of_the_pull_step():
    from flows.summary import RunSummary, summary_lines

    pulls = [
        {"source": "bri", "url": "s3://b/x/", "ok": True, "cause": None,
         "outcomes": {"pulled": 2, "renamed": 1, "unstable": 1}, "landed": ["a", "b", "c"]},
        {"source": "pos", "url": "sftp://h:22/x/", "ok": False,
         "cause": "credentials refused (PermissionDenied)", "outcomes": {}, "landed": []},
    ]
    lines = summary_lines(RunSummary(run_id="r", pulls=pulls))
    assert lines[1:3] == [
        "pull bri: 3 new file(s) (1 under a revision name), 1 unstable",
        "pull pos FAILED: credentials refused (PermissionDenied)",
    ]


def test_the_ingest_loads_a_revision_like_its_original(pull_settings, con, tmp_path):
    """The raw load reads ``<name>__r02.csv`` with the original's kind and loads its rows."""
    from tkpk.ingest.raw import load_new_files

    remote = tmp_path / "share"
    remote.mkdir()
    (remote / DISBURSEMENT).write_bytes(CONTENT)
    write_sources(pull_settings.sources_file, {"name": "dinsos", "url": remote.as_uri()})
    pull_all(pull_settings, "run-1")
    (remote / DISBURSEMENT).write_bytes(CONTENT + CONTENT.splitlines(keepends=True)[1])
    os.utime(remote / DISBURSEMENT, (time.time() + 5, time.time() + 5))
    pull_all(pull_settings, "run-2")
    outcomes = load_new_files(con, pull_settings, "run-3")
    assert [(o.file_name, o.kind, o.outcome, o.rows_read) for o in outcomes] == [
        (DISBURSEMENT, "disbursements", "loaded", 1),
        ("salur_pkh_bri_202606_tahap2__r02.csv", "disbursements", "loaded", 2),
    ]
