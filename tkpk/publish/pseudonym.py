"""Pseudonyms: HMAC-SHA256 of the registry id with a secret key, computed set-based in DuckDB.

The key comes from the environment (``TKPK_PSEUDONYM_KEY``). In development mode a random local
key is created once at ``settings.local_key_file`` (outside the repository, mode 0600) and every
run warns; in production mode a run without the environment key refuses to start. The key is
never written into any output, log line or SQL text: DuckDB receives only the two padded key
blocks as query parameters.

HMAC (RFC 2104): ``H((K ⊕ opad) || H((K ⊕ ipad) || m))`` with SHA-256 (block size 64 bytes);
DuckDB's ``sha256`` hashes a BLOB's bytes, so the whole computation runs inside one query.

The pseudonyms computed are kept in the warehouse (``cache_pseudonyms``: table ``CACHE``,
registry id -> pseudonym, with the id of the key they were computed with in ``CACHE_KEY``; never
the key), so a publish computes HMACs only for registry ids it has not seen with the same key.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path

import duckdb

from tkpk.config import PROJECT_ROOT, PSEUDONYM_KEY_ENV, Settings
from tkpk.suite_sql import quote

log = logging.getLogger(__name__)

BLOCK_SIZE = 64
#: Minimum key length accepted in production mode (bytes of the UTF-8 text).
MIN_PRODUCTION_KEY_BYTES = 16
PRODUCTION = "production"


class PseudonymKeyError(RuntimeError):
    """The pseudonym key is missing or unusable; the run must not publish."""


class LocalKeyWarning(UserWarning):
    """A development run uses the local key file instead of the environment key."""


@dataclass(frozen=True, repr=False)
class PseudonymKey:
    """The secret key and where it came from (the repr never shows the key)."""

    secret: bytes
    source: str  # "environment" or "local development key"

    def __repr__(self) -> str:
        return f"PseudonymKey(source={self.source!r}, key_id={self.key_id!r})"

    @property
    def key_id(self) -> str:
        """A public fingerprint of the key: equal ids mean comparable pseudonyms across runs."""
        return hmac.new(self.secret, b"tkpk pseudonym key id", hashlib.sha256).hexdigest()[:16]

    def pads(self) -> tuple[bytes, bytes]:
        """The inner and outer padded key blocks ``K ⊕ ipad`` and ``K ⊕ opad``."""
        key = self.secret
        if len(key) > BLOCK_SIZE:
            key = hashlib.sha256(key).digest()
        key = key.ljust(BLOCK_SIZE, b"\0")
        return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def _inside_repository(path: Path) -> bool:
    """Whether ``path`` lies inside the project checkout."""
    try:
        path.resolve().relative_to(PROJECT_ROOT)
    except ValueError:
        return False
    return True


def _local_key(path: Path) -> bytes:
    """Read the local development key, creating it once (mode 0600) when absent."""
    if _inside_repository(path):
        raise PseudonymKeyError(
            f"the local pseudonym key file {path} lies inside the repository {PROJECT_ROOT}; "
            "set TKPK_LOCAL_KEY_FILE to a path outside it (default ~/.config/tkpk/pseudonym.key)"
        )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            os.chmod(path, 0o600)
            log.warning("local pseudonym key %s had mode %o; tightened to 0600", path, mode)
        secret = path.read_text(encoding="ascii").strip()
        if not secret:
            raise PseudonymKeyError(f"the local pseudonym key file {path} is empty") from None
        return secret.encode("ascii")
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    log.warning("created a local pseudonym key at %s (mode 0600)", path)
    return path.read_text(encoding="ascii").strip().encode("ascii")


def load_key(settings: Settings) -> PseudonymKey:
    """The pseudonym key for this run.

    Raises ``PseudonymKeyError`` in production mode without ``TKPK_PSEUDONYM_KEY`` (or with a key
    shorter than 16 bytes). Call it when a run starts, so that a production run refuses to start
    rather than failing after hours of work.
    """
    value = os.environ.get(PSEUDONYM_KEY_ENV, "")
    if value.strip():
        secret = value.encode("utf-8")
        if settings.mode == PRODUCTION and len(secret) < MIN_PRODUCTION_KEY_BYTES:
            raise PseudonymKeyError(
                f"{PSEUDONYM_KEY_ENV} is shorter than {MIN_PRODUCTION_KEY_BYTES} bytes; "
                "production runs need a strong key (e.g. `openssl rand -hex 32`)"
            )
        return PseudonymKey(secret, "environment")
    if settings.mode == PRODUCTION:
        raise PseudonymKeyError(
            f"production mode: {PSEUDONYM_KEY_ENV} is not set. The run refuses to start: set the "
            "pseudonym key in the service's environment (never in the repository)."
        )
    secret = _local_key(settings.local_key_file)
    message = (
        f"{PSEUDONYM_KEY_ENV} is not set: using the local development key "
        f"{settings.local_key_file}; pseudonyms differ from production ones"
    )
    warnings.warn(message, LocalKeyWarning, stacklevel=2)
    log.warning(message)
    return PseudonymKey(secret, "local development key")


def hmac_sql(value_sql: str) -> str:
    """SQL computing the hex HMAC-SHA256 of VARCHAR ``value_sql``.

    Uses the query parameters ``$hmac_ipad`` and ``$hmac_opad`` (BLOBs, see ``key_parameters``).
    """
    return (
        "sha256($hmac_opad::blob || unhex(sha256($hmac_ipad::blob || "
        f"encode(cast({value_sql} as varchar)))))"
    )


def key_parameters(key: PseudonymKey) -> dict[str, bytes]:
    """The query parameters ``hmac_sql`` needs."""
    ipad, opad = key.pads()
    return {"hmac_ipad": ipad, "hmac_opad": opad}


#: The warehouse's pseudonyms already computed: ``registry_id`` (the id as text, as ``hmac_sql``
#: reads it) -> ``pseudonym``, all computed with the key whose ``key_id`` ``CACHE_KEY`` holds.
CACHE = "publish_pseudonym"
CACHE_KEY = "publish_pseudonym_key"


def cache_pseudonyms(
    con: duckdb.DuckDBPyConnection, key: PseudonymKey, sources: list[tuple[str, str]]
) -> bool:
    """Bring the warehouse's pseudonym cache (``CACHE``) up to date for the registry ids in
    ``sources`` ((table, column) pairs): the HMAC of every id not cached yet is computed and added
    (a cache of another key is emptied first: key rotation). One transaction, so the cache never
    holds a pseudonym of another key than ``CACHE_KEY``'s. True when the cache then holds a
    pseudonym for every non-null id of the sources; False when it cannot be written (a read-only
    warehouse, a transaction of the caller's already open): compute the HMACs in the query then.
    """
    ids = " union all ".join(
        f"select cast({quote(column)} as varchar) as registry_id from {quote(table)}"
        for table, column in sources
    )
    try:
        con.execute("begin transaction")
    except duckdb.Error:
        return False
    try:
        con.execute(f"create table if not exists {CACHE_KEY} (key_id varchar)")
        stored = con.execute(f"select key_id from {CACHE_KEY}").fetchall()
        if stored != [(key.key_id,)]:
            con.execute(f"create or replace table {CACHE} (registry_id varchar, pseudonym varchar)")
            con.execute(f"delete from {CACHE_KEY}")
            con.execute(f"insert into {CACHE_KEY} values (?)", [key.key_id])
        con.execute(
            f"""
            insert into {CACHE}
            select registry_id, {hmac_sql("registry_id")} from (
                select distinct registry_id from ({ids}) where registry_id is not null
            ) ids
            where not exists (select 1 from {CACHE} c where c.registry_id = ids.registry_id)
            """,
            key_parameters(key),
        )
        con.execute("commit")
    except duckdb.Error:
        with contextlib.suppress(duckdb.Error):
            con.execute("rollback")
        return False
    return True


def cached_source(table: str, column: str, alias: str = "_pseudonym") -> str:
    """FROM item: ``table`` with its ids' cached pseudonyms (``alias.pseudonym``; null for a null
    id), after ``cache_pseudonyms`` returned True for (``table``, ``column``)."""
    return (
        f"{quote(table)} left join {CACHE} {alias} "
        f"on {alias}.registry_id = cast({quote(table)}.{quote(column)} as varchar)"
    )


def pseudonymise(con: duckdb.DuckDBPyConnection, key: PseudonymKey, values: list[str]) -> list[str]:
    """Pseudonyms of ``values`` (small lists; tests and look-ups), computed in DuckDB."""
    frame = con.execute(
        f"select {hmac_sql('v')} as p from unnest($values) with ordinality as t(v, i) order by i",
        {"values": values, **key_parameters(key)},
    ).fetchall()
    return [row[0] for row in frame]


def python_hmac(key: PseudonymKey, value: str) -> str:
    """The reference HMAC-SHA256 hex digest (Python's ``hmac``), for tests and audits."""
    return hmac.new(key.secret, value.encode("utf-8"), hashlib.sha256).hexdigest()
