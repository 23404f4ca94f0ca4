"""Real servers on loopback for the pull tests: an SFTP server (asyncssh's server, password
login, chrooted to a folder) and an S3-compatible server (moto's ThreadedMotoServer).

Both listen on 127.0.0.1 on a free port the system picks, run in a daemon thread and stop when
the test's context ends. The SFTP server can drop the connection in the middle of a download
(``drops``: how many reads to abort) to test a partial transfer.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh

SFTP_USER = "bankuser"
SFTP_PASSWORD = "s3cret-sftp-Passw0rd"
S3_KEY = "AKIAPULLTESTKEY00001"
S3_SECRET = "pull-test-secret-value-0123456789"
REGION = "us-east-1"


@dataclass
class SFTPState:
    """What the SFTP server does and saw."""

    #: reads still to abort by closing the connection (each after the first chunk of a file)
    drops: int = 0
    logins: list[tuple[str, bool]] = field(default_factory=list)


def _server_class(state: SFTPState):
    class PasswordServer(asyncssh.SSHServer):
        """Password login for one user."""

        def begin_auth(self, username: str) -> bool:
            return True

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, password: str) -> bool:
            ok = username == SFTP_USER and password == SFTP_PASSWORD
            state.logins.append((username, ok))
            return ok

    return PasswordServer


def _sftp_class(root: Path, state: SFTPState):
    class DroppingSFTPServer(asyncssh.SFTPServer):
        """Chrooted SFTP; aborts the connection on a read past the first bytes while
        ``state.drops`` is positive."""

        def __init__(self, chan):
            super().__init__(chan, chroot=str(root).encode())

        def read(self, file_obj, offset, size):
            if offset > 0 and state.drops > 0:
                state.drops -= 1
                self.connection.abort()
                raise asyncssh.SFTPConnectionLost("dropped by the test server")
            return super().read(file_obj, offset, size)

    return DroppingSFTPServer


@dataclass
class SFTPServer:
    """A running SFTP server: its port, host key line and state."""

    port: int
    known_hosts: Path
    state: SFTPState

    def url(self, path: str = "/exports/", user: str = SFTP_USER) -> str:
        return f"sftp://{user}@127.0.0.1:{self.port}{path}"


@contextmanager
def sftp_server(root: Path, work: Path) -> Iterator[SFTPServer]:
    """An SFTP server on 127.0.0.1 serving ``root`` as ``/``."""
    state = SFTPState()
    loop = asyncio.new_event_loop()
    key = asyncssh.generate_private_key("ssh-ed25519")
    started = threading.Event()
    holder: dict = {}

    def run() -> None:
        asyncio.set_event_loop(loop)

        async def start():
            return await asyncssh.create_server(
                _server_class(state), "127.0.0.1", 0, server_host_keys=[key],
                sftp_factory=_sftp_class(root, state), allow_scp=False,
            )

        holder["server"] = loop.run_until_complete(start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10), "SFTP server did not start"
    server = holder["server"]
    port = server.sockets[0].getsockname()[1]
    known_hosts = work / "known_hosts"
    known_hosts.write_text(
        f"[127.0.0.1]:{port} {key.export_public_key().decode().strip()}\n", encoding="utf-8"
    )
    try:
        yield SFTPServer(port=port, known_hosts=known_hosts, state=state)
    finally:
        async def stop():
            server.close()
            await server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


@contextmanager
def s3_server() -> Iterator[str]:
    """A moto S3 server on 127.0.0.1; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def s3_client(endpoint: str):
    """A boto3 client of the test server (to create buckets and upload)."""
    import boto3

    return boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=S3_KEY,
        aws_secret_access_key=S3_SECRET, region_name=REGION,
    )


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def s3_user_key(endpoint: str) -> tuple[str, str]:
    """An IAM user allowed s3:* on the test server: (access key id, secret). Enforced once
    ``moto.settings.INITIAL_NO_AUTH_ACTION_COUNT`` is set to 0."""
    import json

    import boto3

    iam = boto3.client(
        "iam", endpoint_url=endpoint, aws_access_key_id=S3_KEY,
        aws_secret_access_key=S3_SECRET, region_name=REGION,
    )
    iam.create_user(UserName="puller")
    policy = {"Version": "2012-10-17",
              "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    iam.put_user_policy(UserName="puller", PolicyName="s3", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="puller")["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]
