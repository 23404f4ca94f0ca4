"""Remote folders through fsspec: open a source's file system, list its matching files, classify
failures.

Backends (pinned in pyproject.toml): the local file system for ``file://``, ``sshfs`` (asyncssh)
for ``sftp://``, ``s3fs`` for ``s3://`` and fsspec's SMB file system (``smbprotocol``) for
``smb://``. Each file system is opened for one pull of one source and never cached (a stale
connection is not reused). Host keys are checked: an ``sftp://`` source verifies the server
against ``known_hosts`` (``~/.ssh/known_hosts`` unless the source's options name another file).
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

from tkpk.pull.sources import Source, SourceConfigError, resolved_options


@dataclass(frozen=True)
class RemoteFile:
    """A matching file of a source's folder, as listed."""

    #: the path the file system opens it by
    path: str
    #: its file name (the name it lands under in the raw folder)
    name: str
    size: int
    #: modification time (UTC, naive; None when the server does not say)
    modified: datetime | None
    #: its URL without user name or password (what the warehouse records)
    public_path: str


def open_filesystem(source: Source, timeout: float) -> tuple[object, str]:
    """(file system, folder path) of ``source``, with its secrets from the environment and
    bounded connect/read timeouts (the source's options override the defaults)."""
    parts = urlsplit(source.url)
    options = resolved_options(source)
    path = unquote(parts.path)
    if source.scheme == "file":
        from fsspec.implementations.local import LocalFileSystem

        return LocalFileSystem(), path
    if source.scheme == "sftp":
        from sshfs import SSHFileSystem

        options.setdefault("known_hosts", os.path.expanduser("~/.ssh/known_hosts"))
        known_hosts = options["known_hosts"]
        if isinstance(known_hosts, str) and not os.path.isfile(known_hosts):
            raise SourceConfigError(
                f"source '{source.name}': known_hosts file {known_hosts} not found: put the "
                "server's host key there (ssh-keyscan, checked by hand) or name another file "
                "in options.known_hosts"
            )
        options.setdefault("connect_timeout", timeout)
        options.setdefault("login_timeout", timeout)
        options.setdefault("timeout", timeout)
        if parts.username:
            options.setdefault("username", unquote(parts.username))
        if parts.port:
            options.setdefault("port", parts.port)
        return SSHFileSystem(parts.hostname, skip_instance_cache=True, **options), path
    if source.scheme == "s3":
        from s3fs import S3FileSystem

        config = dict(options.pop("config_kwargs", {}))
        config.setdefault("connect_timeout", timeout)
        config.setdefault("read_timeout", timeout)
        config.setdefault("retries", {"max_attempts": 1})
        filesystem = S3FileSystem(skip_instance_cache=True, config_kwargs=config, **options)
        return filesystem, f"{parts.hostname}{path}"
    if source.scheme == "smb":
        from fsspec.implementations.smb import SMBFileSystem

        if parts.username:
            options.setdefault("username", unquote(parts.username))
        options.setdefault("timeout", timeout)
        options.setdefault("register_session_retries", 1)
        filesystem = SMBFileSystem(
            parts.hostname, port=parts.port or 445, skip_instance_cache=True, **options
        )
        return filesystem, path
    raise SourceConfigError(f"source '{source.name}': unsupported URL scheme {source.scheme!r}")


def _modified(entry: dict) -> datetime | None:
    """The modification time of a listing entry, as naive UTC (backends name it differently)."""
    for key in ("mtime", "LastModified", "last_modified", "modified", "time"):
        value = entry.get(key)
        if value is None:
            continue
        if isinstance(value, datetime):
            stamp = value if value.tzinfo else value.replace(tzinfo=UTC)
        else:
            stamp = datetime.fromtimestamp(float(value), UTC)
        return stamp.astimezone(UTC).replace(tzinfo=None)
    return None


def _base_name(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def matches(name: str, pattern: str) -> bool:
    """Whether a file name matches the source's glob (case-insensitive, like the file kinds);
    hidden names (a leading dot, Office's ``~$`` lock files) never match."""
    if name.startswith((".", "~$")):
        return False
    return fnmatch.fnmatchcase(name.lower(), pattern.lower())


def list_matching(filesystem, folder: str, source: Source) -> list[RemoteFile]:
    """The regular files directly in ``folder`` whose names match the source's pattern, by name.

    Only the source's own folder is listed (no recursion); nothing else of the server is read.
    """
    entries = filesystem.ls(folder, detail=True)
    found = []
    base = source.public_url.rstrip("/")
    for entry in entries:
        if entry.get("type") != "file":
            continue
        name = _base_name(entry["name"])
        if not matches(name, source.pattern):
            continue
        found.append(
            RemoteFile(
                path=entry["name"],
                name=name,
                size=int(entry.get("size") or 0),
                modified=_modified(entry),
                public_path=f"{base}/{name}",
            )
        )
    return sorted(found, key=lambda f: f.name)


def stat(filesystem, remote: RemoteFile) -> tuple[int, datetime | None]:
    """(size, modification time) of ``remote`` now (after its download)."""
    if hasattr(filesystem, "invalidate_cache"):
        filesystem.invalidate_cache(remote.path)
    entry = filesystem.info(remote.path)
    return int(entry.get("size") or 0), _modified(entry)


def close_filesystem(filesystem) -> None:
    """Close the file system's connection where the backend has one to close."""
    try:
        pool = getattr(filesystem, "_pool", None)
        stack = getattr(filesystem, "_stack", None)
        if pool is not None and stack is not None:  # sshfs
            filesystem._finalize(filesystem.loop, pool, stack)
    except Exception:  # noqa: BLE001  (closing a broken connection must not mask the outcome)
        pass


# --------------------------------------------------------------------------- failures

#: (class names anywhere in an exception's MRO, category, transient): the first row that matches
#: any exception of the chain decides. Names, not imports: each backend has its own classes.
_CATEGORIES: tuple[tuple[frozenset[str], str, bool], ...] = (
    (frozenset({"SourceConfigError"}), "configuration", False),
    (
        frozenset({"PermissionDenied", "PermissionError", "SMBAuthenticationError",
                   "LogonFailure", "SpnegoError", "AccessDenied", "NoCredentialsError",
                   "HostKeyNotVerifiable", "KeyImportError"}),
        "credentials refused",
        False,
    ),
    (
        frozenset({"FileNotFoundError", "NotADirectoryError", "NoSuchBucket", "BadShareName"}),
        "remote folder or file not found",
        False,
    ),
    (
        frozenset({"ConnectionRefusedError", "EndpointConnectionError", "ClientConnectorError",
                   "gaierror", "ConnectionUnreachable"}),
        "server unreachable",
        True,
    ),
    (
        frozenset({"TimeoutError", "ConnectTimeoutError", "ReadTimeoutError", "FSTimeoutError",
                   "ServerTimeoutError", "timeout"}),
        "timed out",
        True,
    ),
    (
        frozenset({"ConnectionLost", "ConnectionResetError", "BrokenPipeError",
                   "ConnectionAbortedError", "DisconnectError", "ServerDisconnectedError",
                   "ClientPayloadError", "ResponseStreamingError", "IncompleteRead",
                   "IncompleteReadError", "ChannelOpenError", "SFTPConnectionLost",
                   "SMBConnectionClosed"}),
        "connection dropped",
        True,
    ),
    (frozenset({"RemoteFileChanged"}), "file changed during download", True),
    (frozenset({"OSError", "HTTPClientError", "ClientError"}), "I/O error", True),
)


def _chain(error: BaseException) -> list[BaseException]:
    """``error`` and the exceptions it was raised from or while handling."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def classify(error: BaseException) -> tuple[str, bool]:
    """(category, transient) of a pull failure: transient ones (I/O: refused connection,
    time-out, dropped connection, the warehouse locked by another process) are retried;
    credentials, configuration and missing folders are not."""
    chain = _chain(error)
    if any(type(link).__name__ == "IOException" and "lock" in str(link).lower() for link in chain):
        return "warehouse busy", True
    for names, category, transient in _CATEGORIES:
        for link in chain:
            if names & {cls.__name__ for cls in type(link).__mro__}:
                return category, transient
    return "error", False


def cause(error: BaseException) -> str:
    """A short cause for the warehouse, the summary and the logs: the category and the
    exception's class, never its message (messages can carry user names, secrets or listings).
    A configuration error's own message is kept: it names only the source and the variable."""
    category, _ = classify(error)
    if category == "configuration":
        for link in _chain(error):
            if isinstance(link, SourceConfigError):
                return f"configuration: {link}"
    return f"{category} ({type(error).__name__})"
