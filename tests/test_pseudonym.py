"""Pseudonyms: HMAC-SHA256 in DuckDB equals Python's hmac; key handling by mode."""

from __future__ import annotations

import hashlib
import hmac
import stat
from dataclasses import replace

import pytest
from test_publish_fixtures import PEOPLE, build_curated, publish

from tkpk.config import PSEUDONYM_KEY_ENV
from tkpk.publish.pseudonym import (
    CACHE,
    CACHE_KEY,
    LocalKeyWarning,
    PseudonymKey,
    PseudonymKeyError,
    cache_pseudonyms,
    key_parameters,
    load_key,
    pseudonymise,
    python_hmac,
)

IDS = ["KLG-TEST-000101", "3375010101000001", "ünïcödé-id", "", "x" * 200]


@pytest.mark.parametrize(
    "secret",
    [b"test-key-not-secret", b"k", b"a" * 64, b"b" * 65, "kunci-rahasia-ü".encode()],
)
def test_duckdb_hmac_equals_python_hmac(con, secret: bytes) -> None:
    key = PseudonymKey(secret, "test")
    assert pseudonymise(con, key, IDS) == [
        hmac.new(secret, v.encode(), hashlib.sha256).hexdigest() for v in IDS
    ]


def test_same_key_same_pseudonym_other_key_other(con) -> None:
    one = PseudonymKey(b"key-one-for-tests", "test")
    again = PseudonymKey(b"key-one-for-tests", "test")
    other = PseudonymKey(b"key-two-for-tests", "test")
    assert pseudonymise(con, one, IDS) == pseudonymise(con, again, IDS)
    assert set(pseudonymise(con, one, IDS)).isdisjoint(pseudonymise(con, other, IDS))
    assert one.key_id == again.key_id != other.key_id
    assert "key-one" not in repr(one)


def test_the_cache_holds_each_ids_hmac_of_its_key_only(con) -> None:
    """The warehouse's pseudonym cache adds the ids it has not seen, holds Python's HMAC of each
    with the key whose id it records (never the key), and starts again for another key."""
    one = PseudonymKey(b"key-one-for-tests", "test")
    other = PseudonymKey(b"key-two-for-tests", "test")
    con.execute("create table ids_a as select unnest(?::varchar[]) as id", [IDS[:3] + [None]])
    con.execute("create table ids_b as select unnest(?::varchar[]) as id", [IDS])

    def cached() -> dict[str, str]:
        return dict(con.execute(f"select registry_id, pseudonym from {CACHE}").fetchall())

    assert cache_pseudonyms(con, one, [("ids_a", "id")])
    assert cached() == {v: python_hmac(one, v) for v in IDS[:3]}
    assert cache_pseudonyms(con, one, [("ids_a", "id"), ("ids_b", "id")])
    assert cached() == {v: python_hmac(one, v) for v in IDS}
    assert con.execute(f"select count(*) from {CACHE}").fetchone()[0] == len(IDS)
    assert con.execute(f"select key_id from {CACHE_KEY}").fetchall() == [(one.key_id,)]
    assert cache_pseudonyms(con, other, [("ids_a", "id")])  # key rotation: the cache restarts
    assert cached() == {v: python_hmac(other, v) for v in IDS[:3]}
    assert con.execute(f"select key_id from {CACHE_KEY}").fetchall() == [(other.key_id,)]
    stored = repr(con.execute(f"select * from {CACHE}, {CACHE_KEY}").fetchall()).encode()
    assert other.secret not in stored
    assert not any(pad.hex().encode() in stored for pad in key_parameters(other).values())
    con.execute("begin transaction")  # a caller's open transaction: no cache, HMACs in the query
    assert not cache_pseudonyms(con, one, [("ids_a", "id")])
    con.execute("rollback")


def _pseudonyms(con, settings, run_id: str) -> dict[str, str]:
    result = publish(con, settings, run_id)
    rows = con.execute(
        f"select household_pseudonym, rt from read_parquet('{result.restricted_dir}/"
        "households.parquet')"
    ).fetchall()
    return {rt: p for p, rt in rows}


def test_published_pseudonyms_stable_across_runs(con, settings, monkeypatch) -> None:
    build_curated(con)
    first = _pseudonyms(con, settings, "run-1")
    second = _pseudonyms(con, settings, "run-2")
    assert first == second and len(first) == len(PEOPLE)
    key = load_key(settings)
    # rt = n + 1 in the fixture: the pseudonym of person n's household is HMAC(key, id_keluarga)
    assert first == {n + 1: python_hmac(key, p[0]) for n, p in enumerate(PEOPLE)}
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, "another-key-entirely")
    third = _pseudonyms(con, settings, "run-3")
    assert set(third.values()).isdisjoint(first.values())


def test_production_mode_without_key_refuses(con, settings, monkeypatch) -> None:
    build_curated(con)
    monkeypatch.delenv(PSEUDONYM_KEY_ENV)
    production = replace(settings, mode="production")
    with pytest.raises(PseudonymKeyError, match="production mode"):
        publish(con, production)
    assert not settings.curated_dir.exists() or not any(settings.curated_dir.iterdir())
    assert not settings.local_key_file.exists()
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, "short")
    with pytest.raises(PseudonymKeyError, match="shorter"):
        load_key(production)
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, "a-production-strength-key-0123456789")
    assert load_key(production).source == "environment"


def test_development_mode_creates_a_local_key_once(settings, monkeypatch) -> None:
    monkeypatch.delenv(PSEUDONYM_KEY_ENV)
    with pytest.warns(LocalKeyWarning):
        first = load_key(settings)
    assert first.source == "local development key"
    assert stat.S_IMODE(settings.local_key_file.stat().st_mode) == 0o600
    with pytest.warns(LocalKeyWarning):
        second = load_key(settings)
    assert first.secret == second.secret and len(first.secret) == 64


def test_local_key_inside_the_repository_is_refused(settings, monkeypatch) -> None:
    from tkpk.config import PROJECT_ROOT

    monkeypatch.delenv(PSEUDONYM_KEY_ENV)
    inside = replace(settings, local_key_file=PROJECT_ROOT / "data" / "pseudonym.key")
    with pytest.raises(PseudonymKeyError, match="inside the repository"):
        load_key(inside)
    assert not inside.local_key_file.exists()


def test_key_never_written_to_outputs(con, settings) -> None:
    build_curated(con)
    result = publish(con, settings)
    secret = load_key(settings).secret
    for path in result.version_dir.rglob("*"):
        if path.is_file():
            assert secret not in path.read_bytes(), path
