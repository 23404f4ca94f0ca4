"""The sources file (``sources.toml``): where the offices publish their extracts.

One ``[[source]]`` table per source::

    [[source]]
    name = "bri"                                  # letters, digits, '-' and '_'
    url = "s3://salur-bri/exports/"               # file://, sftp://user@host:port/path,
                                                  # s3://bucket/prefix, smb://host/share/path
    pattern = "salur_*.csv"                       # glob on the file names in that folder
    options = { endpoint_url = "http://127.0.0.1:9000" }   # passed to the file system
    secrets = { key = "TKPK_BRI_KEY", secret = "TKPK_BRI_SECRET" }  # option -> env variable

Secrets are named by environment variable and read only when the source is opened
(:func:`resolved_options`); the file never holds one, and a URL with a password is refused. A
file that does not follow this shape raises :class:`SourceConfigError` naming the source and key.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

#: URL schemes a source may use, with the fsspec backend that reads them.
SCHEMES = {"file": "local folder", "sftp": "sshfs", "s3": "s3fs", "smb": "smbprotocol"}
SOURCE_KEYS = ("name", "url", "pattern", "options", "secrets")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_OPTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SourceConfigError(ValueError):
    """The sources file is malformed, or a source's secret is not in the environment."""


@dataclass(frozen=True)
class Source:
    """One configured source (no secret values: only the environment variables' names)."""

    name: str
    url: str
    pattern: str = "*"
    options: dict = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)

    @property
    def scheme(self) -> str:
        """``file``, ``sftp``, ``s3`` or ``smb``."""
        return urlsplit(self.url).scheme

    @property
    def public_url(self) -> str:
        """The URL without user name or password (safe for logs, warehouse and summary)."""
        return public_url(self.url)


def public_url(url: str) -> str:
    """``url`` without ``user@`` / ``user:password@`` (host and port kept)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def load_sources(path: Path) -> list[Source]:
    """The sources of ``path``; an absent file configures no source."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SourceConfigError(f"{path}: not valid TOML: {error}") from None
    unknown = sorted(set(document) - {"source"})
    if unknown:
        raise SourceConfigError(
            f"{path}: unknown top-level key(s) {unknown}; each source is a [[source]] table"
        )
    tables = document.get("source", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise SourceConfigError(f"{path}: 'source' must be [[source]] tables")
    sources = [_parse_source(path, index, table) for index, table in enumerate(tables, start=1)]
    names = [s.name for s in sources]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SourceConfigError(f"{path}: source name(s) {duplicates} used more than once")
    return sources


def _parse_source(path: Path, index: int, table: dict) -> Source:
    """One ``[[source]]`` table, checked key by key."""
    name = table.get("name")
    label = f"source '{name}'" if isinstance(name, str) else f"source #{index}"

    def fail(key: str, problem: str) -> SourceConfigError:
        return SourceConfigError(f"{path}: {label}, key '{key}': {problem}")

    unknown = sorted(set(table) - set(SOURCE_KEYS))
    if unknown:
        raise fail(unknown[0], f"unknown key (expected {', '.join(SOURCE_KEYS)})")
    if not isinstance(name, str) or not _NAME.match(name):
        raise fail("name", "required: 1-64 letters, digits, '-' or '_'")
    url = table.get("url")
    if not isinstance(url, str) or not url:
        raise fail("url", "required: a URL such as s3://bucket/prefix/")
    _check_url(url, fail)
    pattern = table.get("pattern", "*")
    if not isinstance(pattern, str) or not pattern or "/" in pattern or "\\" in pattern:
        raise fail("pattern", "a glob on file names within the URL's folder (no '/')")
    options = table.get("options", {})
    if not isinstance(options, dict):
        raise fail("options", "must be a table, e.g. { endpoint_url = \"http://…\" }")
    for option in options:
        if not _OPTION_NAME.match(option):
            raise fail("options", f"invalid option name {option!r}")
    secrets = table.get("secrets", {})
    if not isinstance(secrets, dict):
        raise fail("secrets", "must be a table of option = \"ENVIRONMENT_VARIABLE\"")
    for option, variable in secrets.items():
        if not _OPTION_NAME.match(option):
            raise fail("secrets", f"invalid option name {option!r}")
        if not isinstance(variable, str) or not _ENV_NAME.match(variable):
            raise fail(
                "secrets",
                f"option {option!r} must name an environment variable (the secret itself "
                "never goes in this file)",
            )
        if option in options:
            raise fail("secrets", f"option {option!r} is also in 'options'")
    return Source(name=name, url=url, pattern=pattern, options=dict(options), secrets=dict(secrets))


def _check_url(url: str, fail) -> None:
    """A supported scheme, a host where one is needed, and no password in the URL."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise fail("url", f"scheme must be one of {', '.join(s + '://' for s in SCHEMES)}")
    try:
        parts.port  # noqa: B018  (validates the port)
    except ValueError:
        raise fail("url", "invalid port") from None
    if parts.password is not None:
        raise fail("url", "holds a password: name its environment variable under 'secrets'")
    if parts.query or parts.fragment:
        raise fail("url", "must not have a query or fragment")
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise fail("url", "file:// URLs take an absolute path (file:///srv/exports/)")
    elif not parts.hostname:
        raise fail("url", "needs a host (and, for s3://, a bucket)")
    if parts.scheme == "smb" and len([p for p in parts.path.split("/") if p]) < 1:
        raise fail("url", "smb:// URLs need a share: smb://host/share/path")


def resolved_options(source: Source) -> dict:
    """The source's options with its secrets read from the environment (at open time only)."""
    options = dict(source.options)
    for option, variable in source.secrets.items():
        value = os.environ.get(variable)
        if value is None or value == "":
            raise SourceConfigError(
                f"source '{source.name}': environment variable {variable} (secret {option!r}) "
                "is not set"
            )
        options[option] = value
    return options


def secret_values(source: Source) -> list[str]:
    """The secret values of ``source`` currently in the environment (to scrub from messages)."""
    values = [os.environ.get(variable) or "" for variable in source.secrets.values()]
    return [v for v in values if v]
